package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/day2ops/day2/model"
	"github.com/day2ops/day2/ops"
)

// Actions is what the console can start; nil in read-only mode.
// *ops.Session implements it.
type Actions interface {
	Procedure(name string, params map[string]string) (*ops.Procedure, error)
	Start(ctx context.Context, p *ops.Procedure, op ops.Operator, resume *model.RunSummary) <-chan error
}

// promptGrace is how long keys are ignored after a prompt opens, so keys
// typed ahead can never confirm a step the operator has not seen.
const promptGrace = 600 * time.Millisecond

// Messages from a running procedure to the wizard.
type (
	wizardEvent  struct{ ev ops.Event }
	wizardPrompt struct {
		p     ops.Prompt
		reply chan ops.Answer
	}
	wizardDone struct{ err error }
)

// wizardOperator is the runner's Operator for the console: it turns events
// and prompts into messages and waits for the wizard's answers.
type wizardOperator struct{ ch chan tea.Msg }

func (o wizardOperator) Notify(e ops.Event) {
	select {
	case o.ch <- wizardEvent{e}:
	default: // the console is gone or far behind; the journal has it all
	}
}

func (o wizardOperator) Ask(ctx context.Context, p ops.Prompt) (ops.Answer, error) {
	reply := make(chan ops.Answer, 1)
	select {
	case o.ch <- wizardPrompt{p, reply}:
	case <-ctx.Done():
		return ops.Answer{}, context.Cause(ctx)
	}
	select {
	case a := <-reply:
		return a, nil
	case <-ctx.Done():
		return ops.Answer{}, context.Cause(ctx)
	}
}

func listen(ch chan tea.Msg) tea.Cmd { return func() tea.Msg { return <-ch } }

// wizard is the procedure overlay: the steps with their states, the current
// step's explanation and plan, live progress, and the prompt.
type wizard struct {
	proc     *ops.Procedure
	ch       chan tea.Msg
	cancel   context.CancelFunc
	runID    string
	states   map[string]ops.StepState
	current  int
	plan     ops.Plan
	progress []string
	prompt   *wizardPrompt
	openedAt time.Time
	typed    string
	finished bool
	result   error
	notice   string
	// lastProblem is the last prompt's problem; pendingRestart a consent
	// granted, to apply when this run has ended.
	lastProblem    string
	pendingRestart string
}

func startWizard(parent context.Context, a Actions, proc *ops.Procedure, resume *model.RunSummary) (*wizard, tea.Cmd) {
	ctx, cancel := context.WithCancel(parent)
	w := &wizard{proc: proc, ch: make(chan tea.Msg, 256), cancel: cancel, states: map[string]ops.StepState{}}
	done := a.Start(ctx, proc, wizardOperator{w.ch}, resume)
	go func() { w.ch <- wizardDone{<-done} }()
	return w, listen(w.ch)
}

// update applies a message from the run; it returns the command that
// listens for the next one.
func (w *wizard) update(msg tea.Msg, now time.Time) tea.Cmd {
	switch msg := msg.(type) {
	case wizardEvent:
		e := msg.ev
		w.runID = e.RunID
		if e.Index != w.current {
			w.current, w.plan, w.progress = e.Index, nil, nil
		}
		w.states[e.Step] = e.State
		if len(e.Plan) > 0 {
			w.plan = e.Plan
		}
		if e.Message != "" && (e.State == ops.StateRunning || e.State == ops.StateVerifying || e.State == ops.StateDone) {
			w.progress = append(w.progress, e.Message)
		}
	case wizardPrompt:
		w.prompt, w.openedAt, w.typed, w.notice = &msg, now, "", ""
		w.lastProblem = msg.p.Problem
		w.current, w.plan = msg.p.Index, msg.p.Plan
	case wizardDone:
		w.finished, w.result, w.prompt = true, msg.err, nil
		w.cancel()
		return nil
	}
	return listen(w.ch)
}

// consents are the drain parameters the wizard can grant with a key when
// the pre-flight asks for them (the CLI's --delete-emptydir-data, --force).
var consents = map[string]string{"e": "delete-emptydir-data", "f": "force"}

// wizardOutcome is what a key asks of the console.
type wizardOutcome struct {
	close bool
	// restart: run the procedure again with this extra parameter.
	restart string
}

// key handles a key while the wizard is open.
func (w *wizard) key(k tea.KeyPressMsg, now time.Time) wizardOutcome {
	s := k.String()
	switch {
	case w.finished:
		if param, ok := consents[s]; ok && w.wantsConsent(param) {
			return wizardOutcome{close: true, restart: param}
		}
		return wizardOutcome{close: s == "esc" || s == "enter" || s == "q"}
	case w.prompt == nil:
		if s == "esc" {
			// Interrupt the step in progress; the journal records where.
			w.cancel()
			w.notice = "interrupting…"
		}
		return wizardOutcome{}
	case now.Sub(w.openedAt) < promptGrace:
		w.notice = "keys are ignored for a moment after a prompt opens"
		return wizardOutcome{}
	}
	p := w.prompt.p
	if param, ok := consents[s]; ok && w.wantsConsent(param) && !p.Step.Destructive {
		// Granting a consent restarts the run: end this one (journaled as
		// aborted before anything changed) and start again with it.
		w.answer(ops.Answer{Decision: ops.Abort})
		w.pendingRestart = param
		return wizardOutcome{}
	}
	if p.Step.Destructive && hasChoice(p, ops.Proceed) {
		switch s {
		case "enter":
			if a, ok := ops.ParseAnswer(w.typed, p); ok {
				w.answer(a)
			}
		case "esc":
			w.answer(ops.Answer{Decision: ops.Abort})
		case "backspace":
			if w.typed != "" {
				w.typed = w.typed[:len(w.typed)-1]
			}
		default:
			w.typed += k.Text
		}
		return wizardOutcome{}
	}
	d := map[string]ops.Decision{"y": ops.Proceed, "s": ops.Skip, "r": ops.Retry, "a": ops.Abort, "esc": ops.Abort}[s]
	if d != "" && hasChoice(p, d) {
		w.answer(ops.Answer{Decision: d})
	}
	return wizardOutcome{}
}

// wantsConsent reports whether the pre-flight is blocked on a consent the
// run does not have yet (the problem text names the flag).
func (w *wizard) wantsConsent(param string) bool {
	if w.proc.Params[param] == "true" || !takesParam(w.proc.Name, param) {
		return false
	}
	problem := w.lastProblem
	if w.prompt != nil {
		problem = w.prompt.p.Problem
	}
	return strings.Contains(problem, "--"+param)
}

func (w *wizard) answer(a ops.Answer) {
	w.prompt.reply <- a
	w.prompt, w.typed, w.notice = nil, "", ""
}

func hasChoice(p ops.Prompt, d ops.Decision) bool {
	for _, c := range p.Choices {
		if c == d {
			return true
		}
	}
	return false
}

var stateMark = map[ops.StepState]string{
	ops.StateChecking: "…", ops.StateBlocked: "!", ops.StateWaiting: "?", ops.StateRunning: "▶",
	ops.StateVerifying: "~", ops.StateDone: "✓", ops.StateSkipped: "-", ops.StateFailed: "✗",
	ops.StatePlanned: "·", ops.StateInterrupted: "‖",
}

func stateLevel(s ops.StepState) Level {
	switch s {
	case ops.StateDone:
		return LevelGood
	case ops.StateBlocked, ops.StateFailed, ops.StateInterrupted:
		return LevelBad
	case ops.StateWaiting, ops.StateRunning, ops.StateVerifying:
		return LevelWarn
	}
	return LevelNormal
}

func (w *wizard) view(width, height int, st Styles) string {
	var out []string
	head := st.Label.Render(w.proc.Title)
	if w.runID != "" {
		head = spread(head, st.StatusBar.Render("run "+w.runID), width)
	}
	out = append(out, head)
	for i, step := range w.proc.Steps {
		state := w.states[step.ID]
		mark := stateMark[state]
		if mark == "" {
			mark = " "
		}
		line := fmt.Sprintf(" %s %d %s", mark, i+1, step.Title)
		if step.Destructive {
			line += " (destructive)"
		}
		if state != "" {
			line += "  " + string(state)
		}
		if i == w.current {
			line = st.Label.Render(line)
		}
		out = append(out, st.Level(stateLevel(state)).Render(line))
	}
	var rest []string
	if len(w.plan) > 0 {
		rest = append(rest, st.Label.Render("Plan:"))
		for _, l := range lastLines(w.plan, 6) {
			rest = append(rest, "  "+l)
		}
	}
	if len(w.progress) > 0 {
		rest = append(rest, st.Label.Render("Progress:"))
		for _, l := range lastLines(w.progress, 5) {
			rest = append(rest, "  "+l)
		}
	}
	rest = append(rest, w.promptLines(st)...)
	// The explanation gets the lines left over, so the plan, the progress
	// and above all the question stay on screen.
	if room := height - len(out) - len(rest) - 1; room > 1 {
		step := w.proc.Steps[min(w.current, len(w.proc.Steps)-1)]
		explain := lipgloss.NewStyle().Width(width).Render(strings.TrimSpace(step.Explain))
		out = append(append(out, ""), firstLines(explain, room)...)
	}
	return strings.Join(append(out, rest...), "\n")
}

func (w *wizard) promptLines(st Styles) []string {
	var out []string
	if w.notice != "" {
		out = append(out, st.Level(LevelDim).Render(w.notice))
	}
	switch {
	case w.finished:
		msg, level := "Done.", LevelGood
		if w.result != nil {
			msg, level = w.result.Error(), LevelBad
		}
		out = append(out, st.Level(level).Render(msg), st.StatusBar.Render("esc closes; the journal has every step"))
	case w.prompt != nil:
		p := w.prompt.p
		if p.Problem != "" {
			out = append(out, st.Level(LevelBad).Render("Problem: "+p.Problem))
		}
		for _, key := range []string{"e", "f"} {
			if param := consents[key]; w.wantsConsent(param) {
				out = append(out, st.Level(LevelWarn).Render(fmt.Sprintf("[%s] allow and start again (--%s)", key, param)))
			}
		}
		if p.Step.Destructive && hasChoice(p, ops.Proceed) {
			out = append(out, st.Level(LevelWarn).Render(fmt.Sprintf("Type %q and enter to run it (or skip/abort; esc aborts): ", p.Step.Confirm))+w.typed+"█")
		} else {
			var keys []string
			for _, c := range p.Choices {
				keys = append(keys, fmt.Sprintf("[%s] %s", map[ops.Decision]string{ops.Proceed: "y", ops.Skip: "s", ops.Retry: "r", ops.Abort: "a"}[c], c))
			}
			out = append(out, st.Level(LevelWarn).Render(strings.Join(keys, "  ")+"   (default: nothing happens)"))
		}
	default:
		out = append(out, st.StatusBar.Render("working… esc interrupts (the journal records where)"))
	}
	return out
}

func firstLines(s string, n int) []string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n-1], "…")
	}
	return lines
}

func lastLines(lines []string, n int) []string {
	if len(lines) > n {
		return append([]string{fmt.Sprintf("… %d more", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return lines
}

func takesParam(procedure, param string) bool {
	for _, p := range ops.ProcedureParams(procedure) {
		if p.Name == param {
			return true
		}
	}
	return false
}
