package ops

import (
	"encoding/json"
	"fmt"
	"maps"
	"sync"
)

// RunState is the explicit state of one run: every value that a later step,
// a Plan or a Verify needs and that is not a parameter (the file a backup
// writes, a new cluster token, a timestamp, the member a name resolved to).
// Steps never share such values through captured variables filled by Check:
// on resume Verify runs before Check, and those would be empty.
//
// A value is decided once (stateKey.Decide) and recorded at once: the
// runner journals the whole state with every record, and with a "state"
// record whenever a value changes inside a step, so a crash right after Run
// keeps it. On resume the runner restores the journaled state before any
// step, so a value decided in the first session is the one every later
// session sees. Values are read lazily, never at build time: the build
// comes before the restore.
type RunState struct {
	mu     sync.Mutex
	values map[string]json.RawMessage
	// changed, set by the runner, journals a change.
	changed func()
}

// NewRunState is an empty state.
func NewRunState() *RunState { return &RunState{values: map[string]json.RawMessage{}} }

// Snapshot copies the state for the journal; nil when empty.
func (s *RunState) Snapshot() map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.values) == 0 {
		return nil
	}
	return maps.Clone(s.values)
}

// restore replaces the state by a journaled one (resume).
func (s *RunState) restore(v map[string]json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values = maps.Clone(v)
	if s.values == nil {
		s.values = map[string]json.RawMessage{}
	}
}

// onChange sets (nil: clears) what journals a change.
func (s *RunState) onChange(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed = f
}

func (s *RunState) get(key string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	return v, ok
}

// set stores a value and journals the change; unchanged values are not
// journaled again.
func (s *RunState) set(key string, v json.RawMessage) {
	s.mu.Lock()
	same := string(s.values[key]) == string(v)
	s.values[key] = v
	changed := s.changed
	s.mu.Unlock()
	if !same && changed != nil {
		changed()
	}
}

// stateKey names one typed value of a run's state; each procedure family
// declares its keys beside its steps.
type stateKey[T any] string

// Get is the value the run holds, if any.
func (k stateKey[T]) Get(s *RunState) (T, bool) {
	var v T
	raw, ok := s.get(string(k))
	if !ok {
		return v, false
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		// Only our own encoding is ever stored; a journal edited by hand
		// that breaks it counts as not decided.
		return v, false
	}
	return v, true
}

// Set records v.
func (k stateKey[T]) Set(s *RunState, v T) {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("run state %s: %v", k, err)) // our own types always encode
	}
	s.set(string(k), raw)
}

// Decide is the value the run holds, deciding and recording it with decide
// when it holds none: a resumed run keeps the first session's value.
func (k stateKey[T]) Decide(s *RunState, decide func() T) T {
	if v, ok := k.Get(s); ok {
		return v
	}
	v := decide()
	k.Set(s, v)
	return v
}
