package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/day2ops/day2/internal/journal"
	"github.com/day2ops/day2/model"
)

// StepState is where a step is in the runner.
type StepState string

const (
	StateChecking    StepState = "checking"
	StateBlocked     StepState = "blocked"
	StateWaiting     StepState = "waiting"
	StateRunning     StepState = "running"
	StateVerifying   StepState = "verifying"
	StateDone        StepState = "done"
	StateSkipped     StepState = "skipped"
	StateFailed      StepState = "failed"
	StatePlanned     StepState = "planned"
	StateInterrupted StepState = "interrupted"
)

// Event is progress the runner reports to the operator.
type Event struct {
	Time      time.Time `json:"time"`
	RunID     string    `json:"run"`
	Procedure string    `json:"procedure"`
	Index     int       `json:"index"`
	Step      string    `json:"step"`
	State     StepState `json:"state,omitempty"`
	Message   string    `json:"message,omitempty"`
	Plan      Plan      `json:"plan,omitempty"`
}

// Decision is the operator's answer to a prompt.
type Decision string

const (
	Proceed Decision = "proceed"
	Skip    Decision = "skip"
	Retry   Decision = "retry"
	Abort   Decision = "abort"
)

// Prompt asks the operator what to do with a step.
type Prompt struct {
	Procedure *Procedure
	Index     int
	Step      *Step
	Plan      Plan
	// Problem says why the runner is asking again (a failed check or step,
	// a mistyped confirmation); empty on the first ask.
	Problem string
	Choices []Decision
}

// Answer is the operator's decision; Typed carries the typed confirmation
// of a destructive step.
type Answer struct {
	Decision Decision
	Typed    string
}

// Operator is whoever drives a run: the console's wizard or the CLI.
type Operator interface {
	Ask(ctx context.Context, p Prompt) (Answer, error)
	Notify(e Event)
}

// RunOptions configure a run.
type RunOptions struct {
	DryRun  bool
	Journal *journal.Journal
	User    string
	Host    string
	// Resume continues an unfinished run from its journal.
	Resume *model.RunSummary
	Now    func() time.Time
}

var (
	// ErrAborted: the operator aborted the run.
	ErrAborted = errors.New("aborted by the operator")
	// ErrInterrupted: the run was stopped (signal, lost terminal) and can be resumed.
	ErrInterrupted = errors.New("interrupted")
)

// runner carries one run's state.
type runner struct {
	proc    *Procedure
	op      Operator
	opts    RunOptions
	log     *journal.Run
	runID   string
	session int
	// prechecked: the procedure's Precheck passed (or a dry run showed it).
	prechecked bool
}

// Run runs proc step by step with op, writing the journal before and after
// every step. It returns ErrAborted or ErrInterrupted (wrapped) when the run
// stops early; the journal then says where.
func Run(ctx context.Context, proc *Procedure, op Operator, opts RunOptions) error {
	if opts.Journal == nil {
		return errors.New("run " + proc.Name + ": no journal")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &runner{proc: proc, op: op, opts: opts, runID: journal.NewRunID(), session: 1}
	if proc.State == nil {
		proc.State = NewRunState()
	}
	var err error
	if res := opts.Resume; res != nil {
		if !res.Resumable() || res.Procedure != proc.Name {
			return fmt.Errorf("run %s %s cannot be resumed as %s", res.Procedure, res.RunID, proc.Name)
		}
		r.runID, r.session = res.RunID, res.Sessions+1
		// Before any step: what the first session decided stands.
		proc.State.restore(res.State)
		if r.log, err = opts.Journal.Reopen(res.Path); err == nil {
			err = r.record(model.JournalRecord{Event: model.EventResumed})
		}
	} else if r.log, err = opts.Journal.Create(r.runID, proc.Name, opts.Now()); err == nil {
		err = r.record(model.JournalRecord{Event: model.EventRunStart})
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", proc.Name, err)
	}
	defer r.log.Close()
	proc.State.onChange(func() {
		// A failed write shows on the step's own end record.
		_ = r.record(model.JournalRecord{Event: model.EventState})
	})
	defer proc.State.onChange(nil)

	for i, st := range proc.Steps {
		if r.alreadyDone(ctx, i, st) {
			continue
		}
		if err := r.step(ctx, i, st); err != nil {
			return fmt.Errorf("run %s %s: step %s: %w", proc.Name, r.runID, st.ID, err)
		}
	}
	outcome := model.OutcomeOK
	if opts.DryRun {
		outcome = model.OutcomePlanned
	}
	return r.record(model.JournalRecord{Event: model.EventRunEnd, Outcome: outcome})
}

func (r *runner) record(rec model.JournalRecord) error {
	rec.Time, rec.RunID, rec.Session = r.opts.Now(), r.runID, r.session
	rec.User, rec.Host, rec.Procedure = r.opts.User, r.opts.Host, r.proc.Name
	rec.Params, rec.DryRun = model.RedactParams(r.proc.Params), r.opts.DryRun
	rec.State = r.proc.State.Snapshot()
	return r.log.Append(rec)
}

func (r *runner) notify(i int, st *Step, state StepState, msg string, plan Plan) {
	r.op.Notify(Event{Time: r.opts.Now(), RunID: r.runID, Procedure: r.proc.Name, Index: i, Step: st.ID, State: state, Message: msg, Plan: plan})
}

// alreadyDone reports steps an earlier session finished, and settles a step
// it was interrupted in by asking the step's Verify whether it completed.
func (r *runner) alreadyDone(ctx context.Context, i int, st *Step) bool {
	res := r.opts.Resume
	if res == nil {
		return false
	}
	sum, ok := res.Step(st.ID)
	if !ok {
		return false
	}
	if sum.Done() {
		r.notify(i, st, StateDone, "done in an earlier session", nil)
		return true
	}
	if !sum.Started || st.Verify == nil {
		return false
	}
	r.notify(i, st, StateVerifying, "interrupted in an earlier session: verifying", nil)
	if err := st.Verify(ctx); err != nil {
		r.notify(i, st, StateWaiting, "not complete ("+err.Error()+"): it runs again", nil)
		return false
	}
	if err := r.record(model.JournalRecord{Event: model.EventStepEnd, Step: st.ID, Outcome: model.OutcomeVerified}); err != nil {
		return false
	}
	r.notify(i, st, StateDone, "verified complete", nil)
	return true
}

// step drives one step to done, skipped, or an error that ends the run.
func (r *runner) step(ctx context.Context, i int, st *Step) error {
	if st.Applies != nil {
		// Said first: deciding may take a while (a CSR follow-up round
		// watches for new requests before it knows).
		r.notify(i, st, StateChecking, "deciding whether it is needed", nil)
		if ok, why := st.Applies(ctx); !ok {
			r.notify(i, st, StateSkipped, "not needed: "+why, nil)
			return r.record(model.JournalRecord{Event: model.EventStepEnd, Step: st.ID, Outcome: model.OutcomeSkipped, Error: "not needed: " + why})
		}
	}
	for {
		r.notify(i, st, StateChecking, "", nil)
		problem := ""
		var plan Plan
		err := r.precheck(ctx)
		if err == nil {
			err = call(ctx, st.Check)
		}
		if st.Plan != nil {
			// The plan is shown even when the check fails: what would happen
			// is part of why it is blocked.
			p, perr := st.Plan(ctx)
			plan = p
			if err == nil {
				err = perr
			}
		}
		if err == nil && st.Destructive && st.Confirm == "" {
			// A typed confirmation that can never match: refuse here rather
			// than ask for a word nobody can type.
			err = errors.New("this destructive step has no confirmation word (what it acts on is not known yet): retry once it is, or abort")
		}
		if err != nil {
			problem = "check: " + err.Error()
		}
		if err != nil && !r.opts.DryRun {
			r.notify(i, st, StateBlocked, problem, plan)
			if jerr := r.record(model.JournalRecord{Event: model.EventStepEnd, Step: st.ID, Outcome: model.OutcomeBlocked, Error: problem}); jerr != nil {
				return jerr
			}
		}
		if r.opts.DryRun {
			// A dry run shows every plan, blocked or not, and changes nothing.
			r.notify(i, st, StatePlanned, problem, plan)
			return r.record(model.JournalRecord{Event: model.EventStepEnd, Step: st.ID, Plan: plan, Outcome: model.OutcomePlanned, Error: problem})
		}
		choices := []Decision{Proceed}
		if problem != "" {
			choices = []Decision{Retry}
		}
		d, err := r.decide(ctx, i, st, plan, problem, choices)
		if err != nil || d == Skip {
			return err
		}
		if d == Retry {
			continue
		}
		if err := r.execute(ctx, i, st, plan); err != nil {
			if errors.Is(err, ErrInterrupted) {
				return err
			}
			r.notify(i, st, StateFailed, err.Error(), nil)
			d, err := r.decide(ctx, i, st, plan, err.Error(), []Decision{Retry})
			if err != nil || d == Skip {
				return err
			}
			continue
		}
		return nil
	}
}

// decide asks the operator until the answer is usable: a destructive step
// proceeds only on the exact typed confirmation. Skip and Abort are
// journaled here.
func (r *runner) decide(ctx context.Context, i int, st *Step, plan Plan, problem string, choices []Decision) (Decision, error) {
	if st.Skippable {
		choices = append(choices, Skip)
	}
	choices = append(choices, Abort)
	for {
		r.notify(i, st, StateWaiting, problem, plan)
		ans, err := r.op.Ask(ctx, Prompt{Procedure: r.proc, Index: i, Step: st, Plan: plan, Problem: problem, Choices: choices})
		if err != nil {
			return "", r.interrupted(i, st, false, err)
		}
		if !allowed(ans.Decision, choices) {
			problem = fmt.Sprintf("%q is not a choice here", ans.Decision)
			continue
		}
		switch ans.Decision {
		case Proceed:
			if st.Destructive && ans.Typed != st.Confirm {
				problem = fmt.Sprintf("type %q to run this destructive step (got %q)", st.Confirm, ans.Typed)
				continue
			}
		case Skip:
			r.notify(i, st, StateSkipped, "", nil)
			return Skip, r.record(model.JournalRecord{Event: model.EventStepEnd, Step: st.ID, Outcome: model.OutcomeSkipped})
		case Abort:
			if err := r.record(model.JournalRecord{Event: model.EventRunEnd, Step: st.ID, Outcome: model.OutcomeAborted}); err != nil {
				return "", err
			}
			return "", ErrAborted
		}
		return ans.Decision, nil
	}
}

func allowed(d Decision, choices []Decision) bool {
	for _, c := range choices {
		if c == d {
			return true
		}
	}
	return false
}

// execute journals the start, runs and verifies the step, and journals the
// end. Nothing runs unless its start record is on disk.
func (r *runner) execute(ctx context.Context, i int, st *Step, plan Plan) error {
	if err := r.record(model.JournalRecord{Event: model.EventStepStart, Step: st.ID, Plan: plan}); err != nil {
		return fmt.Errorf("not run, the journal cannot be written: %w", err)
	}
	start := r.opts.Now()
	r.notify(i, st, StateRunning, "", nil)
	var err error
	if st.Run != nil {
		err = st.Run(ctx, func(msg string) {
			// Journaled as it happens: what a step did on a host is part of
			// the audit, even if the run dies before the step's end.
			_ = r.record(model.JournalRecord{Event: model.EventProgress, Step: st.ID, Message: msg})
			r.notify(i, st, StateRunning, msg, nil)
		})
	}
	if ctx.Err() != nil {
		return r.interrupted(i, st, true, context.Cause(ctx))
	}
	if err == nil && st.Verify != nil {
		r.notify(i, st, StateVerifying, "", nil)
		if err = st.Verify(ctx); err != nil {
			err = fmt.Errorf("verify: %w", err)
		}
	}
	rec := model.JournalRecord{Event: model.EventStepEnd, Step: st.ID, Outcome: model.OutcomeOK, DurationMS: r.opts.Now().Sub(start).Milliseconds()}
	if err != nil {
		rec.Outcome, rec.Error = model.OutcomeFailed, err.Error()
	}
	if jerr := r.record(rec); jerr != nil {
		return errors.Join(err, jerr)
	}
	if err == nil {
		r.notify(i, st, StateDone, "", nil)
	}
	return err
}

// interrupted journals where the run stopped: inside a step (started) or
// while waiting for the operator.
func (r *runner) interrupted(i int, st *Step, started bool, cause error) error {
	r.notify(i, st, StateInterrupted, cause.Error(), nil)
	rec := model.JournalRecord{Event: model.EventInterrupted, Error: cause.Error()}
	if started {
		rec.Step = st.ID
	}
	if err := r.record(rec); err != nil {
		return errors.Join(ErrInterrupted, err)
	}
	return fmt.Errorf("%w: %v", ErrInterrupted, cause)
}

// precheck runs the procedure's Precheck until it passes once.
func (r *runner) precheck(ctx context.Context) error {
	if r.prechecked || r.proc.Precheck == nil {
		return nil
	}
	err := r.proc.Precheck(ctx)
	r.prechecked = err == nil || r.opts.DryRun
	return err
}

func call(ctx context.Context, f func(context.Context) error) error {
	if f == nil {
		return nil
	}
	return f(ctx)
}
