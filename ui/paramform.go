package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/day2ops/day2/ops"
)

// paramForm asks for a procedure's parameters before its wizard opens:
// one field at a time, prefilled with the parameter's default; enter
// accepts a field, esc cancels the whole launch.
type paramForm struct {
	proc   string
	params map[string]string // given, and accepted so far
	fields []ops.Param
	i      int
	input  textinput.Model
	err    string
}

// newParamForm asks for the named parameters of proc; given values are
// kept (and not asked). Nil when there is nothing to ask.
func newParamForm(proc string, given map[string]string, ask []string) *paramForm {
	f := &paramForm{proc: proc, params: map[string]string{}}
	for k, v := range given {
		f.params[k] = v
	}
	for _, p := range ops.ProcedureParams(proc) {
		for _, name := range ask {
			if p.Name == name && f.params[name] == "" {
				f.fields = append(f.fields, p)
			}
		}
	}
	if len(f.fields) == 0 {
		return nil
	}
	f.ask(0)
	return f
}

// ask opens field i, prefilled with its default.
func (f *paramForm) ask(i int) {
	f.i = i
	v := f.fields[i].Default
	if f.fields[i].Bool && v == "" {
		v = "false"
	}
	f.input = newField(v)
}

// formOutcome says what a key did to the form.
type formOutcome int

const (
	formEditing formOutcome = iota
	formDone
	formCancelled
)

// key handles a key or a paste (tea.PasteMsg) while the form is open.
func (f *paramForm) key(msg tea.Msg) formOutcome {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch k.String() {
		case "esc":
			return formCancelled
		case "enter":
			return f.accept()
		}
	}
	f.input, _ = f.input.Update(msg)
	return formEditing
}

func (f *paramForm) accept() formOutcome {
	p, v := f.fields[f.i], strings.TrimSpace(f.input.Value())
	if p.Required && v == "" {
		f.err = "--" + p.Name + " is required"
		return formEditing
	}
	if p.Bool && v != "" {
		switch strings.ToLower(v) {
		case "y", "yes", "true":
			v = "true"
		case "n", "no", "false":
			v = "false"
		default:
			f.err = "answer yes or no"
			return formEditing
		}
	}
	f.err = ""
	f.params[p.Name] = v
	if f.i+1 == len(f.fields) {
		return formDone
	}
	f.ask(f.i + 1)
	return formEditing
}

func (f *paramForm) view(width int, st Styles) string {
	lines := []string{
		st.HelpTitle.Render(f.proc) + "  " + st.Label.Render(ops.ProcedureTitle(f.proc)), "",
	}
	for _, k := range sortedKeys(f.params) {
		if v := f.params[k]; !f.asked(k) && v != "" {
			lines = append(lines, fmt.Sprintf("  --%s %s", k, v))
		}
	}
	for i, p := range f.fields {
		switch {
		case i < f.i:
			lines = append(lines, fmt.Sprintf("  --%s %s", p.Name, f.params[p.Name]))
		case i == f.i:
			// The value wraps rather than being cut: a pasted path is seen whole.
			field := ansi.Wrap(st.Label.Render(fmt.Sprintf("> --%s ", p.Name))+f.input.View(), width, "")
			lines = append(lines, "", field)
			lines = append(lines, labelled(st, "    ", p.Help+requirement(p), width)...)
			if f.err != "" {
				lines = append(lines, st.Level(LevelBad).Render("    "+f.err))
			}
		}
	}
	lines = append(lines, "", st.StatusBar.Render("enter accepts · ctrl+u clears · esc cancels; the procedure then shows its plan before anything runs"))
	return strings.Join(lines, "\n")
}

func (f *paramForm) asked(name string) bool {
	for _, p := range f.fields {
		if p.Name == name {
			return true
		}
	}
	return false
}

func requirement(p ops.Param) string {
	switch {
	case p.Required:
		return " (required)"
	case p.Bool:
		return " (yes/no)"
	case p.Default != "":
		return " (enter keeps the default)"
	}
	return " (optional: enter leaves it empty)"
}

// etcdAction is a procedure the etcd pane starts with one key.
type etcdAction struct {
	key  key.Binding
	proc string
	// member passes the selected member's hex ID as --member.
	member bool
	// ask are the parameters the form asks for before the wizard opens.
	ask []string
}

// etcdActions are the etcd pane's procedures (seed 003 §5.4, seeds 001 and 004).
var etcdActions = []etcdAction{
	{key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "etcd: back up the selected member")), "etcd-backup", true, []string{"backup-dir", "keep", "force"}},
	{key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "etcd: verify a snapshot file")), "etcd-verify-snapshot", false, []string{"snapshot"}},
	{key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "etcd: add a member (learner first)")), "etcd-add-member", false, []string{"name", "peer-url", "client-url", "member-root"}},
	{key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "etcd: remove the selected member")), "etcd-remove-member", true, []string{"member-root", "allow-two-members"}},
	{key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "etcd: replace the selected member")), "etcd-replace-member", true, []string{"member-root", "new-name", "new-peer-url", "new-client-url", "new-root"}},
	{key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "etcd: compact + defrag, leader last")), "etcd-defrag", false, nil},
	{key.NewBinding(key.WithKeys("O"), key.WithHelp("O", "etcd: restore cluster from snapshot")), "etcd-restore", false, []string{"snapshot", "config-backup", "member-roots"}},
	{key.NewBinding(key.WithKeys("Q"), key.WithHelp("Q", "etcd: recover lost quorum, this host")), "etcd-recover-quorum", false, []string{"snapshot", "from-member-data", "member-roots"}},
}

func etcdBindings() []key.Binding {
	out := make([]key.Binding, len(etcdActions))
	for i, a := range etcdActions {
		out[i] = a.key
	}
	return out
}

// commandAction is a procedure the : command line starts by its name: a
// cluster-wide one that no pane's selection belongs to.
type commandAction struct {
	key  key.Binding // for `?` only: typed after ":"
	proc string
	ask  []string
}

// commandActions are the project procedures (seed 003 §4.7, §6.2).
var commandActions = []commandAction{
	{key.NewBinding(key.WithKeys(":project-backup"), key.WithHelp(":project-backup", "back up a namespace (project)")), "project-backup", []string{"namespace", "backup-dir"}},
	{key.NewBinding(key.WithKeys(":project-restore"), key.WithHelp(":project-restore", "restore a project backup")), "project-restore", []string{"backup", "namespace", "replace"}},
}

func commandBindings() []key.Binding {
	out := make([]key.Binding, len(commandActions))
	for i, a := range commandActions {
		out[i] = a.key
	}
	return out
}
