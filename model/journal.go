package model

import (
	"encoding/json"
	"regexp"
	"time"
)

// JournalEvent is what a journal record marks.
type JournalEvent string

const (
	EventRunStart    JournalEvent = "run-start"
	EventStepStart   JournalEvent = "step-start"
	EventStepEnd     JournalEvent = "step-end"
	EventInterrupted JournalEvent = "interrupted"
	EventResumed     JournalEvent = "resumed"
	// EventState records run state decided inside a step (a file a backup
	// wrote, a member ID), so it survives a crash before the step's end.
	EventState  JournalEvent = "state"
	EventRunEnd JournalEvent = "run-end"
)

// Outcome is how a step or run ended.
type Outcome string

const (
	OutcomeOK          Outcome = "ok"
	OutcomeFailed      Outcome = "failed"
	OutcomeSkipped     Outcome = "skipped"
	OutcomeBlocked     Outcome = "blocked"
	OutcomeAborted     Outcome = "aborted"
	OutcomeInterrupted Outcome = "interrupted"
	// OutcomePlanned: a dry run showed the step's plan and did nothing.
	OutcomePlanned Outcome = "planned"
	// OutcomeVerified: a step interrupted in an earlier session was found
	// done by its Verify on resume.
	OutcomeVerified Outcome = "verified"
)

// JournalRecord is one line of a run's audit journal. A record is written
// before a step runs and after it ends, so an interrupted run says exactly
// where it stopped.
type JournalRecord struct {
	Time       time.Time         `json:"time"`
	RunID      string            `json:"run"`
	Session    int               `json:"session"`
	User       string            `json:"user"`
	Host       string            `json:"host"`
	Procedure  string            `json:"procedure"`
	Params     map[string]string `json:"params,omitempty"`
	Event      JournalEvent      `json:"event"`
	Step       string            `json:"step,omitempty"`
	Plan       []string          `json:"plan,omitempty"`
	Outcome    Outcome           `json:"outcome,omitempty"`
	Error      string            `json:"error,omitempty"`
	DurationMS int64             `json:"duration_ms,omitempty"`
	DryRun     bool              `json:"dry_run,omitempty"`
	// State is the run's explicit state as it stood when the record was
	// written (values later steps, plans and verifies need); see RunState.
	State map[string]json.RawMessage `json:"state,omitempty"`
}

// secretParam matches parameter names whose values never go in a journal.
var secretParam = regexp.MustCompile(`(?i)(password|passwd|token|secret|key|credential)`)

// RedactParams copies params with secret-looking values replaced.
func RedactParams(params map[string]string) map[string]string {
	out := make(map[string]string, len(params))
	for k, v := range params {
		if secretParam.MatchString(k) {
			v = "<redacted>"
		}
		out[k] = v
	}
	return out
}

// StepSummary is the last word of a run's journal on one step.
type StepSummary struct {
	ID      string
	Outcome Outcome // empty while the step has started but not ended
	Error   string
	Started bool
}

// Done reports whether the step needs nothing more on resume.
func (s StepSummary) Done() bool {
	return s.Outcome == OutcomeOK || s.Outcome == OutcomeSkipped || s.Outcome == OutcomeVerified
}

// RunSummary condenses one run's journal.
type RunSummary struct {
	RunID     string
	Procedure string
	Params    map[string]string
	User      string
	Host      string
	Path      string
	Started   time.Time
	Last      time.Time
	Sessions  int
	DryRun    bool
	Finished  bool
	Outcome   Outcome // of the run, once Finished
	// StoppedAt is the step an unfinished run was in or about to start.
	StoppedAt string
	Steps     []StepSummary // in the order they first appear
	// State is the run state the journal last recorded: a resume restores
	// it before any step.
	State map[string]json.RawMessage
}

// SummarizeRun folds a run's records, in file order.
func SummarizeRun(recs []JournalRecord) RunSummary {
	var s RunSummary
	index := map[string]int{}
	step := func(id string) *StepSummary {
		i, ok := index[id]
		if !ok {
			i = len(s.Steps)
			index[id] = i
			s.Steps = append(s.Steps, StepSummary{ID: id})
		}
		return &s.Steps[i]
	}
	for i, r := range recs {
		if i == 0 {
			s.RunID, s.Procedure, s.Params, s.User, s.Host, s.Started, s.DryRun = r.RunID, r.Procedure, r.Params, r.User, r.Host, r.Time, r.DryRun
		}
		s.Last = r.Time
		if r.State != nil {
			s.State = r.State
		}
		s.Sessions = max(s.Sessions, r.Session)
		switch r.Event {
		case EventStepStart:
			st := step(r.Step)
			st.Started, st.Outcome, st.Error = true, "", ""
			s.StoppedAt = r.Step
		case EventStepEnd, EventInterrupted:
			if r.Step == "" {
				continue
			}
			st := step(r.Step)
			st.Outcome, st.Error = r.Outcome, r.Error
			if r.Event == EventInterrupted {
				st.Outcome = OutcomeInterrupted
			}
			s.StoppedAt = r.Step
		case EventRunEnd:
			s.Finished, s.Outcome = true, r.Outcome
		}
	}
	return s
}

// Resumable reports whether the run stopped before its end and can be
// picked up again.
func (s RunSummary) Resumable() bool { return !s.Finished && !s.DryRun }

// Step returns the summary of one step, if the journal mentions it.
func (s RunSummary) Step(id string) (StepSummary, bool) {
	for _, st := range s.Steps {
		if st.ID == id {
			return st, true
		}
	}
	return StepSummary{}, false
}

// Target is what the run acts on: its node, else its etcd member (hex ID),
// else the member it adds, else its namespace (a project backup or restore)
// or the archive it restores; "" for a cluster-wide run (a backup, a defrag).
func (r RunSummary) Target() string {
	for _, k := range []string{"node", "member", "name", "namespace", "backup"} {
		if v := r.Params[k]; v != "" {
			return v
		}
	}
	return ""
}
