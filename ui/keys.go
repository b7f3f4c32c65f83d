package ui

import (
	"slices"

	"charm.land/bubbles/v2/key"
)

// KeyMap is the one keymap of the program; every binding appears in `?`.
type KeyMap struct {
	// Panes switch panes, in number-key order.
	Panes                 []key.Binding
	NextPane              key.Binding
	Rescan, Filter, CSRs  key.Binding
	Sort, Reverse         key.Binding
	Details, Command      key.Binding
	Up, Down, Top, Bottom key.Binding
	PageUp, PageDown      key.Binding
	Help, Close, Quit     key.Binding
	// Actions on the selected node; absent with --readonly.
	Drain, Cordon, Decommission, Deprecate, Resume key.Binding
	// Actions on the selected CSR (the certificates pane's CSR table).
	Approve, ApproveAll, Deny key.Binding
	actions                   bool
}

// DefaultKeys are k9s-familiar.
func DefaultKeys() KeyMap {
	return KeyMap{
		Panes: []key.Binding{
			key.NewBinding(key.WithKeys("1"), key.WithHelp("1", "nodes pane")),
			key.NewBinding(key.WithKeys("2"), key.WithHelp("2", "etcd pane")),
			key.NewBinding(key.WithKeys("3"), key.WithHelp("3", "registries and router")),
			key.NewBinding(key.WithKeys("4"), key.WithHelp("4", "certificates pane")),
			key.NewBinding(key.WithKeys("5"), key.WithHelp("5", "health checks")),
			key.NewBinding(key.WithKeys("6"), key.WithHelp("6", "journal of procedure runs")),
			key.NewBinding(key.WithKeys("7"), key.WithHelp("7", "hosts: every host's checks")),
		},
		Rescan:       key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "read again (registries, certs, health, hosts…)")),
		Filter:       key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter the table (esc clears)")),
		CSRs:         key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "certificates: switch to CSRs / back")),
		Sort:         key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort by the next column")),
		Reverse:      key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse the sort")),
		Details:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details: node / member / host")),
		Command:      key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "jump to a pane or node by name; start :project-…")),
		NextPane:     key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		Up:           key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/↑", "up")),
		Down:         key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/↓", "down")),
		Top:          key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/home", "first row")),
		Bottom:       key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "last row")),
		PageUp:       key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup/ctrl+b", "page up")),
		PageDown:     key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn/ctrl+f", "page down")),
		Help:         key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Close:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help / back")),
		Quit:         key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q/ctrl+c", "quit")),
		Drain:        key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "drain node")),
		Cordon:       key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "cordon/uncordon node")),
		Decommission: key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "decommission node")),
		Deprecate:    key.NewBinding(key.WithKeys("M"), key.WithHelp("M", "deprecate master")),
		Resume:       key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "resume selected unfinished run")),
		Approve:      key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "CSRs: approve the selected request")),
		ApproveAll:   key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "CSRs: approve all valid, watch what follows")),
		Deny:         key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "CSRs: deny the selected request")),
	}
}

// ShortHelp is what the status bar shows.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Help, k.Quit} }

// FullHelp is the `?` overlay, one group per column.
func (k KeyMap) FullHelp() [][]key.Binding {
	groups := [][]key.Binding{
		append(append([]key.Binding{}, k.Panes...), k.NextPane, k.Rescan, k.CSRs),
		{k.Up, k.Down, k.Top, k.Bottom, k.PageUp, k.PageDown},
		{k.Filter, k.Sort, k.Reverse, k.Details, k.Command},
		{k.Help, k.Close, k.Quit},
	}
	if k.actions {
		groups = append(groups, slices.Concat(bindings(etcdActions), bindings(healthActions), commandBindings()), slices.Concat(bindings(nodeHostActions), bindings(registryActions)), []key.Binding{k.Drain, k.Cordon, k.Decommission, k.Deprecate, k.Resume, k.Approve, k.ApproveAll, k.Deny,
			key.NewBinding(key.WithKeys("y"), key.WithHelp("y/s/r/a", "wizard: proceed/skip/retry/abort")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "wizard: abort, interrupt or close")),
			key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgup/pgdn ↑/↓", "wizard: scroll the plan"))})
	}
	return groups
}
