package ops

import (
	"context"
)

// Plan is what a step will do, exactly, one line per action: API calls with
// their objects, files it will touch, commands for the operator to run on
// another host. Showing it without running is the dry run.
type Plan []string

// Step is one step of a procedure. Check, Plan and Verify are read-only;
// only Run changes anything.
type Step struct {
	ID    string
	Title string
	// Explain is the step's explanation for the operator (markdown, citing
	// the seed section it implements).
	Explain string
	// Destructive steps run only after the operator types Confirm (the node
	// name, the member ID) — never on a bare "yes".
	Destructive bool
	Confirm     string
	// Manual steps are done by the operator elsewhere (Run is nil); the
	// runner waits for their word and then runs Verify.
	Manual bool
	// Skippable steps may be skipped by the operator.
	Skippable bool

	// Applies, when set, decides whether the step concerns this target at
	// all (an infra-only step on a worker); one that does not is skipped,
	// with the reason journaled.
	Applies func(ctx context.Context) (bool, string)

	Check func(ctx context.Context) error
	// Plan runs after Check even when Check failed, so it must say what it
	// can from whatever Check learned.
	Plan func(ctx context.Context) (Plan, error)
	Run  func(ctx context.Context, progress func(string)) error
	// Verify must stand on its own: on resume it runs before Check, to tell
	// whether an interrupted Run finished, with only the parameters and the
	// journaled run state (Procedure.State) to go by.
	Verify func(ctx context.Context) error
}

// Procedure is an ordered list of steps over one set of parameters.
type Procedure struct {
	Name   string
	Title  string
	Params map[string]string
	Steps  []*Step
	// State is the run's explicit state (see RunState): journaled with
	// every record and restored before any step on resume.
	State *RunState
	// Precheck, when set, runs before the first step that runs (also on
	// resume) until it passes: the operator's rights, etcd accepting our
	// certificate. A failure blocks that step, so nothing starts that
	// would fail halfway.
	Precheck func(ctx context.Context) error
}
