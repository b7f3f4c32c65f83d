package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
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

// wizard is the procedure overlay: a window of the steps around the
// current one, the current step's explanation, its plan (wrapped, and
// scrolled when longer than the room), live progress, and the decision
// line, always on the last rows.
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
	// input is the confirmation line of a destructive step.
	input    textinput.Model
	finished bool
	result   error
	notice   string
	// planOffset is the first plan row shown; planPage how many rows the
	// last view had for the plan (a page for pgup/pgdn).
	planOffset, planPage int
	// lastProblem is the last prompt's problem; pendingRestart a consent
	// granted, to apply when this run has ended.
	lastProblem    string
	pendingRestart string
}

func startWizard(parent context.Context, a Actions, proc *ops.Procedure, resume *model.RunSummary) (*wizard, tea.Cmd) {
	ctx, cancel := context.WithCancel(parent)
	w := &wizard{proc: proc, ch: make(chan tea.Msg, 256), cancel: cancel, states: map[string]ops.StepState{}, input: newField("")}
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
			w.current, w.plan, w.progress, w.planOffset = e.Index, nil, nil, 0
		}
		w.states[e.Step] = e.State
		if len(e.Plan) > 0 {
			w.plan = e.Plan
		}
		if e.Message != "" && (e.State == ops.StateRunning || e.State == ops.StateVerifying || e.State == ops.StateDone) {
			w.progress = append(w.progress, e.Message)
		}
	case wizardPrompt:
		w.prompt, w.openedAt, w.notice = &msg, now, ""
		w.input = newField("")
		w.lastProblem = msg.p.Problem
		if msg.p.Index != w.current {
			w.planOffset = 0
		}
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

// key handles a key, or a paste (tea.PasteMsg), while the wizard is open.
func (w *wizard) key(msg tea.Msg, now time.Time) wizardOutcome {
	k, _ := msg.(tea.KeyPressMsg)
	s := k.String()
	typing := w.prompt != nil && w.prompt.p.Step.Destructive && hasChoice(w.prompt.p, ops.Proceed)
	if w.scroll(s, typing) {
		return wizardOutcome{}
	}
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
		// Typed-ahead keys and pastes alike: nothing reaches the prompt.
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
	if typing {
		switch s {
		case "enter":
			if a, ok := ops.ParseAnswer(w.input.Value(), p); ok {
				w.answer(a)
			}
		case "esc":
			w.answer(ops.Answer{Decision: ops.Abort})
		default:
			// Only enter confirms: a paste (newlines become spaces) never does.
			w.input, _ = w.input.Update(msg)
		}
		return wizardOutcome{}
	}
	d := map[string]ops.Decision{"y": ops.Proceed, "s": ops.Skip, "r": ops.Retry, "a": ops.Abort, "esc": ops.Abort}[s]
	if d != "" && hasChoice(p, d) {
		w.answer(ops.Answer{Decision: d})
	}
	return wizardOutcome{}
}

// scroll moves the plan: pgup/pgdn by a page, ↑/↓ (and j/k unless the
// confirmation line takes letters) by a row. None of them is a decision.
func (w *wizard) scroll(key string, typing bool) bool {
	page := max(w.planPage-1, 1)
	switch {
	case key == "pgup":
		w.planOffset -= page
	case key == "pgdown":
		w.planOffset += page
	case key == "up" || (key == "k" && !typing):
		w.planOffset--
	case key == "down" || (key == "j" && !typing):
		w.planOffset++
	default:
		return false
	}
	w.planOffset = max(w.planOffset, 0) // the view clamps the other end
	return true
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
	w.prompt, w.notice = nil, ""
	w.input.Reset()
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

// view lays the wizard out in exactly width x height at most: the title,
// then the decision line and what goes with it at the bottom (always
// shown), the plan and the progress wrapped in the room left (the plan
// scrolls when it does not fit), a window of steps around the current one,
// and the explanation only in rows nobody else needs.
func (w *wizard) view(width, height int, st Styles) string {
	head := st.Label.Render(w.proc.Title)
	if w.runID != "" {
		head = spread(head, st.StatusBar.Render("run "+w.runID), width)
	}
	bottom := w.promptLines(width, height, st)
	avail := height - 1 - len(bottom)
	if avail < 1 {
		return strings.Join(bottom[max(len(bottom)-height, 0):], "\n")
	}
	var plan, progress []string
	for _, l := range w.plan {
		plan = append(plan, hang(l, width, "  ", "    ")...)
	}
	for _, l := range lastLines(w.progress, 20) {
		progress = append(progress, hang(l, width, "  ", "    ")...)
	}
	stepRows := min(len(w.proc.Steps), max(3, avail/3))
	room := avail - stepRows
	if len(plan) > 0 {
		room-- // its header
	}
	if len(progress) > 0 {
		room--
	}
	progShow := min(len(progress), 6)
	if len(plan)+progShow > room {
		progShow = min(progShow, max(2, room/3))
	}
	planShow := min(len(plan), max(room-progShow, 1))
	progShow = min(progShow, max(room-planShow, 0))

	var mid []string
	if len(plan) > 0 {
		w.planPage = planShow
		w.planOffset = min(w.planOffset, len(plan)-planShow)
		label := "Plan:"
		if planShow < len(plan) {
			label = fmt.Sprintf("Plan (rows %d–%d of %d; pgup/pgdn ↑/↓ scroll):", w.planOffset+1, w.planOffset+planShow, len(plan))
		}
		mid = append(mid, st.Label.Render(truncate(label, width)))
		mid = append(mid, plan[w.planOffset:w.planOffset+planShow]...)
	}
	if progShow > 0 {
		shown := progress[len(progress)-progShow:]
		if progShow < len(progress) {
			shown = append([]string{fmt.Sprintf("  … %d rows before", len(progress)-progShow)}, shown[1:]...)
		}
		mid = append(append(mid, st.Label.Render("Progress:")), shown...)
	}
	steps := w.stepLines(width, max(avail-len(mid), 0), st)
	out := append([]string{head}, steps...)
	// The explanation gets the rows left over.
	if left := avail - len(steps) - len(mid); left > 2 {
		step := w.proc.Steps[min(w.current, len(w.proc.Steps)-1)]
		explain := lipgloss.NewStyle().Width(width).Render(strings.TrimSpace(step.Explain))
		out = append(append(out, ""), firstLines(explain, left-1)...)
	}
	out = append(append(out, mid...), bottom...)
	return strings.Join(out[max(len(out)-height, 0):], "\n")
}

// stepLines is a window of at most rows steps around the current one, with
// "… n more" markers for the steps outside it.
func (w *wizard) stepLines(width, rows int, st Styles) []string {
	n := len(w.proc.Steps)
	from, to := 0, n
	if n > rows {
		// Room for both markers; an end the window touches needs none.
		k := max(rows-2, 1)
		from = max(0, min(w.current-k/2, n-k))
		switch {
		case from == 0:
			k = max(rows-1, 1)
		case from+k == n:
			k = max(rows-1, 1)
			from = n - k
		}
		to = min(from+k, n)
	}
	var out []string
	if from > 0 {
		out = append(out, st.Level(LevelDim).Render(fmt.Sprintf("   … %d more above", from)))
	}
	for i := from; i < to; i++ {
		step := w.proc.Steps[i]
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
		line = truncate(line, width)
		if i == w.current {
			line = st.Label.Render(line)
		}
		out = append(out, st.Level(stateLevel(state)).Render(line))
	}
	if to < n {
		out = append(out, st.Level(LevelDim).Render(fmt.Sprintf("   … %d more below", n-to)))
	}
	return out
}

// promptLines are the bottom rows: the notice, the outcome or the
// question with its problem, and the decision line, wrapped to width.
func (w *wizard) promptLines(width, height int, st Styles) []string {
	var out []string
	add := func(level Level, text string) {
		for _, l := range hang(text, width, "", "") {
			out = append(out, st.Level(level).Render(l))
		}
	}
	if w.notice != "" {
		add(LevelDim, w.notice)
	}
	switch {
	case w.finished:
		if w.result != nil {
			add(LevelBad, w.result.Error())
		} else {
			add(LevelGood, "Done.")
		}
		out = append(out, st.StatusBar.Render(truncate("esc closes; the journal has every step", width)))
	case w.prompt != nil:
		p := w.prompt.p
		if p.Problem != "" {
			// A long problem keeps to a third of the screen: the decision
			// line below it must stay.
			problem := hang("Problem: "+p.Problem, width, "", "")
			if limit := max(height/3, 2); len(problem) > limit {
				problem = append(problem[:limit-1], "… (the journal has the whole message)")
			}
			for _, l := range problem {
				out = append(out, st.Level(LevelBad).Render(l))
			}
		}
		for _, key := range []string{"e", "f"} {
			if param := consents[key]; w.wantsConsent(param) {
				add(LevelWarn, fmt.Sprintf("[%s] allow and start again (--%s)", key, param))
			}
		}
		if p.Step.Destructive && hasChoice(p, ops.Proceed) {
			add(LevelWarn, fmt.Sprintf("Type %q and enter to run it (or skip/abort; esc aborts):", p.Step.Confirm))
			out = append(out, st.Level(LevelWarn).Render("> ")+w.input.View())
		} else {
			var keys []string
			for _, c := range p.Choices {
				keys = append(keys, fmt.Sprintf("[%s] %s", map[ops.Decision]string{ops.Proceed: "y", ops.Skip: "s", ops.Retry: "r", ops.Abort: "a"}[c], c))
			}
			add(LevelWarn, strings.Join(keys, "  ")+"   (default: nothing happens)")
		}
	default:
		add(LevelDim, "working… esc interrupts (the journal records where)")
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

// lastLines keeps the last n lines, saying how many went before.
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
