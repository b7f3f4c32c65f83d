package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/day2ops/day2/internal/journal"
	"github.com/day2ops/day2/model"
)

// scripted answers prompts from a list and records every event.
type scripted struct {
	answers []Answer
	prompts []Prompt
	events  []Event
}

func (s *scripted) Ask(ctx context.Context, p Prompt) (Answer, error) {
	s.prompts = append(s.prompts, p)
	if len(s.answers) == 0 {
		return Answer{}, errors.New("no more answers")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

func (s *scripted) Notify(e Event) { s.events = append(s.events, e) }

// world is what the test steps act on.
type world struct {
	ran      []string
	checkErr error
	runErr   map[string]error
	verified map[string]bool
}

func (w *world) proc() *Procedure {
	mk := func(id string) *Step {
		return &Step{ID: id, Title: id,
			Check: func(context.Context) error { return w.checkErr },
			Plan:  func(context.Context) (Plan, error) { return Plan{"do " + id}, nil },
			Run: func(ctx context.Context, progress func(string)) error {
				w.ran = append(w.ran, id)
				progress(id + " progress")
				return w.runErr[id]
			},
			Verify: func(context.Context) error {
				if !w.verified[id] {
					return errors.New(id + " not verified")
				}
				return nil
			},
		}
	}
	danger := mk("delete")
	danger.Destructive, danger.Confirm = true, "node-1"
	opt := mk("optional")
	opt.Skippable = true
	return &Procedure{Name: "test", Params: map[string]string{"node": "node-1", "token": "s3cret"}, Steps: []*Step{mk("first"), opt, danger}}
}

func newWorld() *world {
	return &world{runErr: map[string]error{}, verified: map[string]bool{"first": true, "optional": true, "delete": true}}
}

func readOnly(t *testing.T, j *journal.Journal) ([]model.JournalRecord, model.RunSummary) {
	t.Helper()
	runs, err := j.Runs()
	if err != nil || len(runs) != 1 {
		t.Fatalf("want one run in the journal: %v %v", runs, err)
	}
	recs, err := journal.ReadRun(runs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	return recs, runs[0]
}

func openJournal(t testing.TB) *journal.Journal {
	j, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestRunJournalsEveryStepBeforeAndAfter(t *testing.T) {
	w, j := newWorld(), openJournal(t)
	op := &scripted{answers: []Answer{{Decision: Proceed}, {Decision: Skip}, {Decision: Proceed, Typed: "node-1"}}}
	if err := Run(context.Background(), w.proc(), op, RunOptions{Journal: j, User: "alice", Host: "master-0"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(w.ran, ",") != "first,delete" {
		t.Fatalf("ran %v, want first and delete (optional skipped)", w.ran)
	}
	recs, sum := readOnly(t, j)
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Event)+":"+r.Step+":"+string(r.Outcome))
		if r.User != "alice" || r.Host != "master-0" || r.Params["token"] != "<redacted>" {
			t.Errorf("record identity or redaction wrong: %+v", r)
		}
	}
	// Each step's progress is journaled between its start and its end.
	want := "run-start::,step-start:first:,progress:first:,step-end:first:ok,step-end:optional:skipped,step-start:delete:,progress:delete:,step-end:delete:ok,run-end::ok"
	if strings.Join(got, ",") != want {
		t.Fatalf("journal:\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
	if sum.Resumable() || sum.Outcome != model.OutcomeOK {
		t.Fatalf("summary %+v", sum)
	}
	if recs[1].Plan[0] != "do first" {
		t.Errorf("step-start must carry the plan: %+v", recs[1])
	}
}

func TestDestructiveStepNeedsExactTypedConfirmation(t *testing.T) {
	w, j := newWorld(), openJournal(t)
	op := &scripted{answers: []Answer{
		{Decision: Proceed}, {Decision: Proceed},
		{Decision: Proceed}, {Decision: Proceed, Typed: "node-2"}, {Decision: Proceed, Typed: "node-1"},
	}}
	if err := Run(context.Background(), w.proc(), op, RunOptions{Journal: j}); err != nil {
		t.Fatal(err)
	}
	last := op.prompts[len(op.prompts)-1]
	if !strings.Contains(last.Problem, `type "node-1"`) || !strings.Contains(last.Problem, `got "node-2"`) {
		t.Fatalf("mistyped confirmation must be explained, got %q", last.Problem)
	}
	if strings.Count(strings.Join(w.ran, ","), "delete") != 1 {
		t.Fatalf("delete must run once, after the right word: %v", w.ran)
	}
}

// A destructive step whose confirmation word was never set (its target
// could not be looked up) is refused at the step, before any typed word is
// asked for, with Proceed not among the choices; the refusal is journaled.
func TestDestructiveStepWithoutConfirmWordIsRefused(t *testing.T) {
	w, j := newWorld(), openJournal(t)
	p := w.proc()
	p.Steps[2].Confirm = ""
	op := &scripted{answers: []Answer{{Decision: Proceed}, {Decision: Proceed}, {Decision: Proceed, Typed: ""}, {Decision: Abort}}}
	if err := Run(context.Background(), p, op, RunOptions{Journal: j}); !errors.Is(err, ErrAborted) {
		t.Fatalf("want aborted, got %v", err)
	}
	ask := op.prompts[2]
	if ask.Step.ID != "delete" || !strings.Contains(ask.Problem, "no confirmation word") || allowed(Proceed, ask.Choices) {
		t.Fatalf("the step must be refused before asking for a word: %+v", ask)
	}
	if strings.Contains(strings.Join(w.ran, ","), "delete") {
		t.Fatalf("the destructive step ran: %v", w.ran)
	}
	if _, sum := readOnly(t, j); stepOutcomeOf(sum, "delete") != model.OutcomeBlocked {
		t.Errorf("the refusal must be journaled as blocked: %+v", sum.Steps)
	}
}

func stepOutcomeOf(sum model.RunSummary, id string) model.Outcome {
	st, _ := sum.Step(id)
	return st.Outcome
}

func TestFailedCheckBlocksAndFailedStepOffersRetry(t *testing.T) {
	w, j := newWorld(), openJournal(t)
	w.checkErr = errors.New("PDB frontend allows 0 disruptions")
	op := &scripted{answers: []Answer{{Decision: Proceed}, {Decision: Abort}}}
	err := Run(context.Background(), w.proc(), op, RunOptions{Journal: j})
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("want aborted, got %v", err)
	}
	if len(w.ran) != 0 {
		t.Fatalf("nothing may run past a failed check: %v", w.ran)
	}
	if p := op.prompts[0]; !strings.Contains(p.Problem, "PDB frontend") || allowed(Proceed, p.Choices) {
		t.Fatalf("blocked prompt must give the reason and not offer proceed: %+v", p)
	}
	if _, sum := readOnly(t, j); !sum.Finished || sum.Outcome != model.OutcomeAborted {
		t.Fatalf("abort must end the run in the journal: %+v", sum)
	}

	w, j = newWorld(), openJournal(t)
	w.runErr["first"] = errors.New("eviction timed out")
	op = &scripted{answers: []Answer{{Decision: Proceed}, {Decision: Retry}, {Decision: Proceed}, {Decision: Abort}}}
	_ = Run(context.Background(), w.proc(), op, RunOptions{Journal: j})
	if len(w.ran) != 2 || !strings.Contains(op.prompts[1].Problem, "eviction timed out") {
		t.Fatalf("failure must be shown and retry must rerun: ran %v prompts %+v", w.ran, op.prompts)
	}
	w2 := newWorld()
	w2.verified["first"] = false
	op = &scripted{answers: []Answer{{Decision: Proceed}, {Decision: Abort}}}
	_ = Run(context.Background(), w2.proc(), op, RunOptions{Journal: openJournal(t)})
	if !strings.Contains(op.prompts[1].Problem, "verify: first not verified") {
		t.Fatalf("a failed verify is a failed step: %+v", op.prompts[1])
	}
}

func TestDryRunPlansEveryStepAndRunsNothing(t *testing.T) {
	w, j := newWorld(), openJournal(t)
	w.checkErr = errors.New("blocked")
	op := &scripted{}
	if err := Run(context.Background(), w.proc(), op, RunOptions{Journal: j, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if len(w.ran) != 0 || len(op.prompts) != 0 {
		t.Fatalf("dry run ran %v and asked %d times", w.ran, len(op.prompts))
	}
	planned := 0
	for _, e := range op.events {
		if e.State == StatePlanned {
			planned++
		}
	}
	if planned != 3 {
		t.Fatalf("want 3 planned steps, got %d", planned)
	}
	if _, sum := readOnly(t, j); sum.Resumable() || !sum.DryRun || sum.Outcome != model.OutcomePlanned {
		t.Fatalf("dry run summary %+v", sum)
	}
}

// The second step's Run cancels the context, as SIGHUP does mid-step.
func TestInterruptedRunResumesFromFirstUnverifiedStep(t *testing.T) {
	w, j := newWorld(), openJournal(t)
	ctx, cancel := context.WithCancel(context.Background())
	p := w.proc()
	p.Steps[1].Run = func(context.Context, func(string)) error { cancel(); return context.Canceled }
	op := &scripted{answers: []Answer{{Decision: Proceed}, {Decision: Proceed}}}
	err := Run(ctx, p, op, RunOptions{Journal: j})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("want interrupted, got %v", err)
	}
	_, sum := readOnly(t, j)
	if !sum.Resumable() || sum.StoppedAt != "optional" {
		t.Fatalf("journal must say where it stopped: %+v", sum)
	}

	// Session 2: "optional" did complete (its Verify passes), so only
	// "delete" runs.
	w2 := newWorld()
	op = &scripted{answers: []Answer{{Decision: Proceed, Typed: "node-1"}}}
	if err := Run(context.Background(), w2.proc(), op, RunOptions{Journal: j, Resume: &sum}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(w2.ran, ",") != "delete" {
		t.Fatalf("resume ran %v, want only delete", w2.ran)
	}
	recs, sum := readOnly(t, j)
	if sum.Sessions != 2 || !sum.Finished {
		t.Fatalf("one journal, two sessions, finished: %+v", sum)
	}
	if st, _ := sum.Step("optional"); st.Outcome != model.OutcomeVerified {
		t.Fatalf("interrupted step settled by Verify: %+v", st)
	}
	if recs[0].RunID != recs[len(recs)-1].RunID {
		t.Fatal("resume must keep the run ID")
	}
}

// A value decided in the first session (here from a counter standing in
// for the clock) is journaled the moment it is decided and restored before
// any step of the resumed session: the resumed Verify checks the first
// session's value, and a fresh decision never replaces it.
func TestRunStateIsJournaledAndRestored(t *testing.T) {
	key := stateKey[string]("file")
	decisions := 0
	written := map[string]bool{}
	build := func() *Procedure {
		state := NewRunState()
		file := func() string {
			return key.Decide(state, func() string { decisions++; return fmt.Sprintf("backup-%d", decisions) })
		}
		return &Procedure{Name: "test", State: state, Steps: []*Step{{
			ID: "write", Title: "write",
			Plan: func(context.Context) (Plan, error) { return Plan{"write " + file()}, nil },
			Run: func(ctx context.Context, progress func(string)) error {
				written[file()] = true
				return nil
			},
			Verify: func(context.Context) error {
				if !written[file()] {
					return errors.New(file() + " not written")
				}
				return nil
			},
		}}}
	}
	j := openJournal(t)
	ctx, cancel := context.WithCancel(context.Background())
	p := build()
	run := p.Steps[0].Run
	p.Steps[0].Run = func(ctx context.Context, progress func(string)) error {
		err := run(ctx, progress)
		cancel()
		return err
	}
	if err := Run(ctx, p, &scripted{answers: []Answer{{Decision: Proceed}}}, RunOptions{Journal: j}); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("want interrupted, got %v", err)
	}
	recs, sum := readOnly(t, j)
	if got, ok := key.Get(&RunState{values: sum.State}); !ok || got != "backup-1" {
		t.Fatalf("journaled state %v", sum.State)
	}
	var events []string
	for _, r := range recs {
		events = append(events, string(r.Event)+"="+string(r.State["file"]))
	}
	// Decided by the plan: journaled at once, and with every record after.
	if got := strings.Join(events, " "); got != `run-start= state="backup-1" step-start="backup-1" interrupted="backup-1"` {
		t.Fatalf("journal: %s", got)
	}

	op := &scripted{}
	if err := Run(context.Background(), build(), op, RunOptions{Journal: j, Resume: &sum}); err != nil {
		t.Fatalf("resume: %v (%d prompts)", err, len(op.prompts))
	}
	if _, sum = readOnly(t, j); !sum.Finished || decisions != 1 || len(written) != 1 {
		t.Fatalf("resumed: %+v, %d decisions, written %v", sum, decisions, written)
	}
	if st, _ := sum.Step("write"); st.Outcome != model.OutcomeVerified {
		t.Errorf("the interrupted step must be verified with the first session's value: %+v", st)
	}
}
