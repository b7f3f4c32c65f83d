package ui

// actionProcedures maps each action key (as help shows it) to the
// procedures it may start, so `?` can mark those the operator's
// credentials cannot run.
func (m *Model) actionProcedures() map[string][]string {
	k := m.keys
	out := map[string][]string{
		k.Drain.Help().Key: {"drain"}, k.Cordon.Help().Key: {"cordon", "uncordon"},
		k.Decommission.Help().Key: {"decommission"}, k.Deprecate.Help().Key: {"deprecate-master"},
	}
	for _, a := range etcdActions {
		out[a.key.Help().Key] = []string{a.proc}
	}
	for _, a := range commandActions {
		out[a.key.Help().Key] = []string{a.proc}
	}
	return out
}

// deniedMark is what `?` adds to an action the operator may not run.
const deniedMark = " (not allowed)"

// helpDesc is a binding's help text, marked when every procedure behind
// the key is refused (the status bar says why when it is pressed).
func (m *Model) helpDesc(key, desc string) string {
	procs := m.actionProcedures()[key]
	if m.actions == nil || len(procs) == 0 {
		return desc
	}
	for _, p := range procs {
		if m.access.Refusal(p) == "" {
			return desc
		}
	}
	return desc + deniedMark
}

// refuse puts why procedure cannot run in the status bar, and reports
// whether it did: the access reviews said the operator lacks a right its
// steps use. Nothing is built or started then.
func (m *Model) refuse(procedure string) bool {
	why := m.access.Refusal(procedure)
	if why != "" {
		m.notice = why
	}
	return why != ""
}
