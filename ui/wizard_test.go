package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/day2ops/day2/model"
	"github.com/day2ops/day2/ops"
)

// scriptedActions builds procedures from a table and runs them by asking
// each prompt in prompts (a fake runner: the wizard is under test, not the
// runner). Procedure blocks until gate is closed when gate is set.
type scriptedActions struct {
	procs   map[string]*ops.Procedure
	prompts []ops.Prompt
	gate    chan struct{}
	answers chan ops.Answer
}

func (a *scriptedActions) Procedure(name string, _ map[string]string) (*ops.Procedure, error) {
	if a.gate != nil {
		<-a.gate
	}
	if p, ok := a.procs[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("no procedure %q", name)
}

func (a *scriptedActions) Start(ctx context.Context, p *ops.Procedure, op ops.Operator, _ *model.RunSummary) <-chan error {
	done := make(chan error, 1)
	go func() {
		for _, pr := range a.prompts {
			pr.Procedure = p
			ans, err := op.Ask(ctx, pr)
			if err != nil {
				done <- err
				return
			}
			a.answers <- ans
		}
		done <- nil
	}()
	return done
}

// longProcedure has 18 steps, like etcd-restore.
func longProcedure() *ops.Procedure {
	p := &ops.Procedure{Name: "etcd-restore", Title: "Restore etcd from a snapshot: the WHOLE cluster returns to the snapshot's point in time"}
	for i := range 18 {
		p.Steps = append(p.Steps, &ops.Step{ID: fmt.Sprint("s", i), Title: fmt.Sprintf("Step number %d of the restore", i+1), Explain: "Why this step.\n\nMore about it."})
	}
	p.Steps[6].Destructive, p.Steps[6].Confirm = true, "master-0.example.com"
	return p
}

const warning = "WARNING: this returns the WHOLE cluster to the snapshot's point in time: as it was at 2026-11-21T12:00:00Z (revision 4242, from master-0.example.com). Every change made after it is lost, and every client sees a conflicting, parallel history (seed 001 §5.3.2.1): restore only as a last resort."

func longPlan() ops.Plan {
	plan := ops.Plan{warning}
	for i := range 12 {
		plan = append(plan, fmt.Sprintf("plan line %d: move /var/lib/etcd aside to /var/lib/etcd.day2-20261121T120000Z on https://127.0.0.1:23790/v3/maintenance/snapshot-and-more-%d", i+1, i+1))
	}
	return plan
}

// wizardModel is a console whose wizard waits on the given prompts.
func wizardModel(t *testing.T, prompts ...ops.Prompt) (*Model, *scriptedActions, *time.Time) {
	t.Helper()
	clock := fixedNow
	m := New(model.ClusterInfo{Server: "https://api.example.com:8443"}, WithClock(func() time.Time { return clock }))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	a := &scriptedActions{procs: map[string]*ops.Procedure{"etcd-restore": longProcedure()}, prompts: prompts, answers: make(chan ops.Answer, 8)}
	WithActions(context.Background(), a)(m)
	_, listen := m.Update(m.launchRun("etcd-restore", nil, nil)()) // the build
	m.Update(listen())                                             // the first prompt
	if m.wiz == nil || m.wiz.prompt == nil {
		t.Fatalf("the wizard should ask:\n%s", screen(m))
	}
	return m, a, &clock
}

// unwrap joins the rows of the screen, so text wrapped over rows can be
// searched whole (a row broken after a hyphen joins without a space).
func unwrap(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		b.WriteString(l)
		if !strings.HasSuffix(l, "-") {
			b.WriteString(" ")
		}
	}
	return b.String()
}

func TestWizardKeepsTheDecisionLineAndWrapsThePlan(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {200, 60}} {
		m, _, _ := wizardModel(t, ops.Prompt{Index: 9, Step: longProcedure().Steps[9], Plan: longPlan(), Choices: []ops.Decision{ops.Proceed, ops.Skip, ops.Abort}})
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		s := screen(m)
		checkShape(t, m.Render(), size[0], size[1])
		if last := lastRow(s); !strings.Contains(last, "[y] proceed  [s] skip  [a] abort") {
			t.Errorf("%dx%d: the decision line must be the wizard's last row, got %q:\n%s", size[0], size[1], last, s)
		}
		if !strings.Contains(unwrap(s), warning) {
			t.Errorf("%dx%d: the whole warning must be readable:\n%s", size[0], size[1], s)
		}
		if !strings.Contains(s, "10 Step number 10") {
			t.Errorf("%dx%d: the current step must be listed:\n%s", size[0], size[1], s)
		}
		if size[1] == 24 {
			for _, want := range []string{"… 7 more above", "… 7 more below", "pgup/pgdn ↑/↓ scroll"} {
				if !strings.Contains(s, want) {
					t.Errorf("80x24 lacks %q:\n%s", want, s)
				}
			}
		}
	}
}

func TestWizardPlanScrollsWithoutDeciding(t *testing.T) {
	m, a, clock := wizardModel(t, ops.Prompt{Index: 9, Step: longProcedure().Steps[9], Plan: longPlan(), Choices: []ops.Decision{ops.Proceed, ops.Abort}})
	*clock = clock.Add(time.Second)
	if strings.Contains(screen(m), "plan line 12:") {
		t.Fatalf("the plan should not fit at 80x24:\n%s", screen(m))
	}
	for range 10 {
		press(m, "pgdown")
	}
	s := screen(m)
	if !strings.Contains(s, "plan line 12:") || !strings.Contains(s, "[y] proceed") {
		t.Errorf("pgdn should reach the plan's end, the decision line still shown:\n%s", s)
	}
	press(m, "k", "up", "pgup", "j")
	if m.wiz.prompt == nil || len(a.answers) != 0 {
		t.Fatal("scrolling must never answer the prompt")
	}
	for range 10 {
		press(m, "pgup")
	}
	if !strings.Contains(unwrap(screen(m)), warning) {
		t.Errorf("pgup should come back to the top:\n%s", screen(m))
	}
}

func TestWizardConfirmationTakesPasteButOnlyEnterConfirms(t *testing.T) {
	step := longProcedure().Steps[6]
	m, a, clock := wizardModel(t, ops.Prompt{Index: 6, Step: step, Plan: longPlan(), Choices: []ops.Decision{ops.Proceed, ops.Skip, ops.Abort}})
	// During the grace a paste and typed keys are ignored.
	m.Update(tea.PasteMsg{Content: "master-0.example.com\n"})
	press(m, "enter")
	if m.wiz.prompt == nil || len(a.answers) != 0 || m.wiz.input.Value() != "" {
		t.Fatalf("nothing may reach the prompt in its first moment: %q", m.wiz.input.Value())
	}
	s := screen(m)
	if !strings.Contains(s, "keys are ignored for a moment") || !strings.Contains(s, `Type "master-0.example.com" and enter`) {
		t.Errorf("the grace should be explained under the question:\n%s", s)
	}
	if !strings.HasPrefix(lastRow(s), "> ") {
		t.Errorf("the confirmation field must be the last row:\n%s", s)
	}
	*clock = clock.Add(time.Second)
	// A paste fills the field (its newline is no enter); scroll keys do
	// not type.
	m.Update(tea.PasteMsg{Content: "master-0.exämple.com\n"})
	press(m, "up", "down", "pgdown")
	if got := m.wiz.input.Value(); got != "master-0.exämple.com " || len(a.answers) != 0 {
		t.Fatalf("pasted %q, answers %d", got, len(a.answers))
	}
	if !strings.Contains(screen(m), "> master-0.exämple.com") {
		t.Errorf("the field shows the paste:\n%s", screen(m))
	}
	// Edit it as runes: 12 backspaces leave "master-0." of 21 runes.
	for range 12 {
		m.Update(namedKey("backspace"))
	}
	m.Update(tea.PasteMsg{Content: "example.com"})
	settle(m, keyMsg("enter"))
	if got := <-a.answers; got.Decision != ops.Proceed || got.Typed != "master-0.example.com" {
		t.Errorf("answer %+v", got)
	}
}

// lastRow is the body's last row that is not blank (the status bar is
// not the body).
func lastRow(screen string) string {
	lines := strings.Split(screen, "\n")
	for i := len(lines) - 2; i > 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			return lines[i]
		}
	}
	return ""
}

// namedKey is a special key as the terminal sends it.
func namedKey(k string) tea.KeyPressMsg {
	switch k {
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	}
	return keyMsg(k)
}

func TestPasteIntoFormFilterAndCommandLine(t *testing.T) {
	m := sized(80, 24)
	rec := &recordingActions{}
	WithActions(context.Background(), rec)(m)
	m.Update(etcdSnapshot(true, true, true))
	press(m, paneKey(paneEtcd), "v")
	m.Update(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	m.Update(tea.PasteMsg{Content: "/backup/etcd/snapshot-ü.db"})
	if s := screen(m); !strings.Contains(s, "> --snapshot /backup/etcd/snapshot-ü.db") {
		t.Errorf("the form should show the paste:\n%s", s)
	}
	settle(m, keyMsg("enter"))
	if rec.name != "etcd-verify-snapshot" || rec.params["snapshot"] != "/backup/etcd/snapshot-ü.db" {
		t.Errorf("launched %s %v", rec.name, rec.params)
	}

	m.Update(model.Nodes{Synced: true, Items: []model.Node{{Name: "infra-0.example.com"}, {Name: "node-0.example.com"}}})
	press(m, paneKey(paneNodes), "/")
	m.Update(tea.PasteMsg{Content: "infra"})
	if s := screen(m); !strings.Contains(s, "(1 of 2 rows)") || strings.Contains(s, "node-0.example.com") {
		t.Errorf("the filter should take the paste:\n%s", s)
	}
	press(m, "enter", ":")
	m.Update(tea.PasteMsg{Content: "node-0"})
	press(m, "enter")
	if m.nodes.detail == nil || m.nodes.detail.name != "node-0.example.com" {
		t.Errorf("the command line should take the paste and open node-0:\n%s", screen(m))
	}
}

func TestConsoleAnswersWhileAProcedureIsPrepared(t *testing.T) {
	m := sized(80, 24)
	a := &scriptedActions{procs: map[string]*ops.Procedure{"etcd-restore": longProcedure()}, gate: make(chan struct{}), answers: make(chan ops.Answer, 1)}
	WithActions(context.Background(), a)(m)
	build := m.launchRun("etcd-restore", nil, nil)
	result := make(chan tea.Msg, 1)
	go func() { result <- build() }()
	if s := screen(m); !strings.Contains(s, "preparing etcd-restore… (esc cancels)") {
		t.Errorf("the status bar should say what is prepared:\n%s", s)
	}
	press(m, paneKey(paneEtcd))
	if m.active != paneEtcd {
		t.Error("keys must work while a procedure is prepared")
	}
	if settle(m, keyMsg("F")); m.preparing == nil || m.preparing.name != "etcd-restore" || !strings.Contains(m.notice, "still preparing etcd-restore") {
		t.Errorf("a second launch waits for the first: %+v %q", m.preparing, m.notice)
	}
	press(m, "esc")
	if m.preparing != nil || !strings.Contains(screen(m), "cancelled: etcd-restore was not started") {
		t.Errorf("esc cancels the build:\n%s", screen(m))
	}
	close(a.gate)
	m.Update(<-result)
	if m.wiz != nil {
		t.Error("a build that ends after its cancel must be dropped")
	}
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("ctrl+c quits")
	}
}

func TestRecoveredPanicKeepsTickAndWizardAlive(t *testing.T) {
	m, a, clock := wizardModel(t,
		ops.Prompt{Index: 0, Step: longProcedure().Steps[0], Choices: []ops.Decision{ops.Proceed, ops.Abort}},
		ops.Prompt{Index: 1, Step: longProcedure().Steps[1], Choices: []ops.Decision{ops.Proceed, ops.Abort}})
	boom := true
	now := func() time.Time {
		if boom {
			boom = false
			panic("injected")
		}
		return *clock
	}
	m.now = now
	_, cmd := m.Update(tickMsg(fixedNow))
	if !strings.Contains(m.fault, "internal error: injected") {
		t.Fatalf("the panic should be shown, fault %q", m.fault)
	}
	if cmd == nil {
		t.Fatal("the tick must go on after a panic in its handling")
	}
	if _, ok := cmd().(tickMsg); !ok {
		t.Fatal("the re-issued command must tick")
	}

	// A panic while the wizard hears its run: the listener goes on, and
	// the next prompt still arrives.
	*clock = clock.Add(time.Second)
	press(m, "y")
	<-a.answers
	boom = true
	_, cmd = m.Update(wizardEvent{ops.Event{Index: 0, Step: "s0", State: ops.StateDone}})
	if cmd == nil {
		t.Fatal("the wizard's listener must be re-issued after a panic")
	}
	for m.wiz.prompt == nil || m.wiz.prompt.p.Index != 1 {
		_, next := m.Update(cmd())
		if next == nil {
			t.Fatalf("the wizard stopped listening:\n%s", screen(m))
		}
		cmd = next
	}
}
