package ui

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/day2ops/day2/model"
	"github.com/day2ops/day2/ops"
)

// pane indexes, in number-key order.
const (
	paneNodes = iota
	paneEtcd
	paneRegistries
	paneCerts
	paneHealth
	paneJournal
	paneHosts
	paneCount
)

// pane is what the root model asks of every pane: panes render their own
// state, the root owns layout, keys and the status bar.
type pane interface {
	title() string
	status(now time.Time) (string, Level)
	view(width, height int, st Styles, now time.Time) string
	tbl() *Table
}

// panes in number-key order.
func (m *Model) panes() [paneCount]pane {
	return [paneCount]pane{&m.nodes, &m.etcd, &m.registries, &m.certs, &m.health, &m.journal, &m.hosts}
}

type tickMsg time.Time

// Model is the root model: it owns the layout, the active pane, the header,
// the status bar and the help overlay.
type Model struct {
	st    Styles
	keys  KeyMap
	help  help.Model
	now   func() time.Time
	width int
	high  int

	info    model.ClusterInfo
	nodes   nodesPane
	etcd    etcdPane
	journal journalPane
	certs   certsPane
	health  healthPane
	hosts   hostsPane

	registries registriesPane
	// readRegistries and probeRegistries back the Registries pane.
	readRegistries  func(context.Context) model.RegistryReport
	probeRegistries func(context.Context, model.RegistryReport) <-chan model.RegistryProbe
	// scanCerts reads the certificates (nil: the pane cannot scan).
	scanCerts func(context.Context) model.CertReport
	// readJournal lists the journaled runs (nil: no journal view data).
	readJournal func() ([]model.RunSummary, error)
	// checkHealth runs the health checks (nil: the pane cannot run them).
	checkHealth func(context.Context, model.HealthSnapshots) model.HealthReport
	// checkHosts starts the host checks (nil: the Hosts pane cannot run
	// them).
	checkHosts func(context.Context) ([]model.Host, <-chan model.HostReport, error)
	// diagnose explains an etcd member's health (nil: enter does nothing).
	diagnose func(context.Context, uint64) (model.MemberDiagnosis, error)
	// readNode reads one node's detail view (nil: enter does nothing).
	readNode func(context.Context, string) (model.NodeDetail, error)
	active   int
	showHelp bool
	// helpOffset scrolls the help when it does not fit.
	helpOffset int
	// fault is an internal error caught in Update or View, shown until quit.
	fault string
	// notice is a transient message for the status bar (a refused action).
	notice string
	// typing is true while the operator types a / filter for the table,
	// commanding while they type a : command; line is the text field of
	// either.
	typing, commanding bool
	line               textinput.Model

	actions Actions         // nil: read-only
	runCtx  context.Context // parent of procedure runs
	wiz     *wizard
	// form asks for a procedure's parameters before its wizard opens.
	form *paramForm
	// preparing is the procedure being built: building asks the cluster
	// (up to the build timeout on a degraded one), so it runs in a command
	// and the console keeps answering; buildSeq tells a cancelled build's
	// late result from the current one.
	preparing *pendingBuild
	buildSeq  int
	// access says which procedures the operator's rights rule out.
	access model.ProcedureAccess
}

// pendingBuild is a procedure being built in the background.
type pendingBuild struct {
	name string
	seq  int
}

// procedureBuilt is a build's result.
type procedureBuilt struct {
	seq    int
	name   string
	proc   *ops.Procedure
	err    error
	resume *model.RunSummary
}

// Option configures the model.
type Option func(*Model)

// WithClock replaces time.Now (tests use it to pin ages).
func WithClock(now func() time.Time) Option { return func(m *Model) { m.now = now } }

// WithActions enables procedures, run under ctx (cancelled when the console
// ends, which interrupts a run cleanly).
func WithActions(ctx context.Context, a Actions) Option {
	return func(m *Model) { m.runCtx, m.actions, m.keys.actions = ctx, a, true }
}

// WithJournal lets the Journal pane read past runs (read-only mode too).
func WithJournal(read func() ([]model.RunSummary, error)) Option {
	return func(m *Model) { m.readJournal = read }
}

// WithCertificates lets the Certificates pane scan.
func WithCertificates(scan func(context.Context) model.CertReport) Option {
	return func(m *Model) { m.scanCerts = scan }
}

// WithHealth lets the Health pane run its checks.
func WithHealth(check func(context.Context, model.HealthSnapshots) model.HealthReport) Option {
	return func(m *Model) { m.checkHealth = check }
}

// WithHosts lets the Hosts pane check the hosts.
func WithHosts(check func(context.Context) ([]model.Host, <-chan model.HostReport, error)) Option {
	return func(m *Model) { m.checkHosts = check }
}

// WithRegistries lets the Registries pane read its report and probe.
func WithRegistries(read func(context.Context) model.RegistryReport, probe func(context.Context, model.RegistryReport) <-chan model.RegistryProbe) Option {
	return func(m *Model) { m.readRegistries, m.probeRegistries = read, probe }
}

// WithMemberDiagnosis lets enter on the etcd pane diagnose a member.
func WithMemberDiagnosis(diagnose func(context.Context, uint64) (model.MemberDiagnosis, error)) Option {
	return func(m *Model) { m.diagnose = diagnose }
}

// WithNodeDetail lets enter open a node's detail view.
func WithNodeDetail(read func(context.Context, string) (model.NodeDetail, error)) Option {
	return func(m *Model) { m.readNode = read }
}

// ForSession is every read-side option a session backs: the journal,
// certificate scans, node details and health checks.
func ForSession(s *ops.Session) []Option {
	probe := func(ctx context.Context, r model.RegistryReport) <-chan model.RegistryProbe {
		return s.ProbeRegistries(ctx, r, ops.RegistryProbeOptions{})
	}
	checkHosts := func(ctx context.Context) ([]model.Host, <-chan model.HostReport, error) {
		return s.HostChecks(ctx, ops.HostCheckOptions{})
	}
	return []Option{WithJournal(s.Runs), WithCertificates(s.Certificates), WithNodeDetail(s.NodeDetail), WithHealth(s.Health),
		WithRegistries(s.Registries, probe), WithMemberDiagnosis(s.DiagnoseEtcdMember), WithHosts(checkHosts)}
}

// New makes the console for a cluster.
func New(info model.ClusterInfo, opts ...Option) *Model {
	st := DefaultStyles()
	m := &Model{
		st: st, keys: DefaultKeys(), help: st.helpModel(), now: time.Now,
		width: 80, high: 24, info: info, nodes: newNodesPane(), etcd: newEtcdPane(), journal: newJournalPane(), certs: newCertsPane(), health: newHealthPane(), registries: newRegistriesPane(), hosts: newHostsPane(),
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init starts the clock that keeps ages current and reads the journal, so
// unfinished runs are offered at once.
func (m *Model) Init() tea.Cmd { return tea.Batch(tick(), m.reloadJournal()) }

func (m *Model) reloadJournal() tea.Cmd {
	if m.readJournal == nil {
		return nil
	}
	return loadJournal(m.readJournal)
}

// Update applies one message. A panic here is caught, logged and shown:
// the console must never crash out of the operator's terminal.
func (m *Model) Update(msg tea.Msg) (_ tea.Model, cmd tea.Cmd) {
	defer func() {
		if r := recover(); r != nil {
			slog.Error("panic in Update", "panic", r, "msg", fmt.Sprintf("%T", msg), "stack", string(debug.Stack()))
			m.fault = fmt.Sprintf("internal error: %v (details in the log)", r)
			cmd = m.keepAlive(msg)
		}
	}()
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.high = msg.Width, msg.Height
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.PasteMsg:
		return m, m.paste(msg)
	case procedureBuilt:
		return m, m.built(msg)
	case certsLoaded:
		m.certs.set(msg.report, m.now())
		if m.health.awaitCerts {
			// The health run waited for this scan.
			m.health.awaitCerts, m.health.running = false, false
			return m, m.recheckHealth()
		}
	case healthLoaded:
		m.health.set(msg.report)
	case hostsStarted:
		if msg.seq != m.hosts.seq {
			return m, nil
		}
		m.hosts.start(msg, m.now())
		return m, nextHost(msg.seq, msg.ch)
	case hostChecked:
		if msg.seq != m.hosts.seq {
			return m, nil
		}
		m.hosts.merge(msg.report)
		return m, nextHost(msg.seq, msg.ch)
	case hostsDone:
		if msg.seq == m.hosts.seq {
			m.hosts.done()
		}
	case registriesLoaded:
		m.registries.set(msg.report, m.now())
		if msg.probes != nil {
			return m, nextProbe(msg.probes)
		}
	case registryProbed:
		m.registries.merge(msg.probe, m.now())
		return m, nextProbe(msg.probes)
	case journalLoaded:
		m.journal.set(msg)
		if n := len(m.journal.unfinished()); n > 0 && m.actions != nil && m.wiz == nil {
			r := m.journal.unfinished()[0]
			m.notice = fmt.Sprintf("unfinished run: %s %s stopped at %s (%d shows it, R resumes)", r.Procedure, r.Target(), r.StoppedAt, paneJournal+1)
		}
	case wizardEvent, wizardPrompt, wizardDone:
		if m.wiz == nil {
			return m, nil
		}
		cmd := m.wiz.update(msg, m.now())
		if _, done := msg.(wizardDone); done {
			cmd = m.reloadJournal()
		}
		if param := m.wiz.pendingRestart; param != "" && m.wiz.finished {
			return m, tea.Batch(cmd, m.restart(param))
		}
		return m, cmd
	case tickMsg:
		m.nodes.refresh(m.now())
		if d := m.nodes.detail; d != nil {
			d.build(m.st, m.now())
		}
		if m.certs.csrSeen {
			m.certs.setCSRs(m.certs.csrs, m.now())
		}
		if m.active == paneHealth && m.health.due(m.now()) {
			return m, tea.Batch(tick(), m.recheckHealth())
		}
		return m, tick()
	case nodeDetailLoaded:
		if d := m.nodes.detail; d != nil && d.name == msg.name {
			d.set(msg, m.st, m.now())
		}
	case model.Nodes:
		m.nodes.set(msg, m.now())
	case model.EtcdCluster:
		m.etcd.set(msg)
	case memberDiagnosed:
		m.etcd.setDiagnosis(msg)
	case model.CSRs:
		m.certs.setCSRs(msg, m.now())
	case model.ClusterInfo:
		m.info = msg
	case model.ProcedureAccess:
		m.access = msg
	}
	return m, nil
}

// keepAlive is what handling msg would have re-issued to keep the
// console's loops going: after a recovered panic the clock must tick on, a
// running wizard must hear its run, probes must keep arriving.
func (m *Model) keepAlive(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tickMsg:
		return tick()
	case wizardEvent, wizardPrompt:
		if m.wiz != nil && !m.wiz.finished {
			return listen(m.wiz.ch)
		}
	case registryProbed:
		return nextProbe(msg.probes)
	case hostChecked:
		return nextHost(msg.seq, msg.ch)
	case registriesLoaded:
		if msg.probes != nil {
			return nextProbe(msg.probes)
		}
	}
	return nil
}

// paste delivers a bracketed paste to the text field on top, if any.
func (m *Model) paste(msg tea.PasteMsg) tea.Cmd {
	switch {
	case m.typing:
		m.filterKey(msg)
	case m.commanding:
		return m.commandKey(msg)
	case m.form != nil:
		m.form.key(msg)
	case m.wiz != nil:
		m.wiz.key(msg, m.now())
	}
	return nil
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	m.notice = ""
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.preparing != nil && msg.String() == "esc" {
		m.notice = "cancelled: " + m.preparing.name + " was not started"
		m.preparing = nil
		return nil
	}
	if m.typing {
		m.filterKey(msg)
		return nil
	}
	if m.commanding {
		return m.commandKey(msg)
	}
	if m.form != nil {
		switch m.form.key(msg) {
		case formCancelled:
			m.form, m.notice = nil, "cancelled: nothing was started"
		case formDone:
			f := m.form
			m.form = nil
			return m.launch(f.proc, f.params)
		}
		return nil
	}
	if m.wiz != nil {
		out := m.wiz.key(msg, m.now())
		switch {
		case out.restart != "":
			return m.restart(out.restart)
		case out.close:
			m.wiz = nil
		}
		return nil
	}
	if d := m.nodes.detail; d != nil && m.active == paneNodes && !m.showHelp {
		if cmd, handled := m.detailKey(d, msg); handled {
			return cmd
		}
	}
	if m.hosts.detail != "" && m.active == paneHosts && !m.showHelp {
		if cmd, handled := m.hostDetailKey(msg); handled {
			return cmd
		}
	}
	switch {
	case key.Matches(msg, k.Command) && !m.showHelp:
		m.commanding, m.line = true, newField("")
		return nil
	case key.Matches(msg, k.Filter) && !m.showHelp:
		m.typing, m.line = true, newField(m.activeTable().Filter())
		return nil
	case msg.String() == "esc" && !m.showHelp && m.activeTable().Filter() != "":
		m.activeTable().SetFilter("")
		return nil
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case m.actions != nil && m.active == paneNodes && !m.showHelp && key.Matches(msg, k.Drain, k.Cordon, k.Decommission, k.Deprecate):
		return m.nodeAction(msg)
	case m.actions != nil && m.active == paneNodes && !m.showHelp && key.Matches(msg, bindings(nodeHostActions)...):
		return m.paneAction(msg, nodeHostActions, &m.nodes.table, "node")
	case m.actions != nil && m.active == paneEtcd && !m.showHelp && key.Matches(msg, bindings(etcdActions)...):
		return m.paneAction(msg, etcdActions, &m.etcd.table, "member")
	case m.actions != nil && m.active == paneRegistries && !m.showHelp && key.Matches(msg, bindings(registryActions)...):
		return m.paneAction(msg, registryActions, nil, "")
	case m.actions != nil && m.active == paneHealth && !m.showHelp && key.Matches(msg, bindings(healthActions)...):
		return m.paneAction(msg, healthActions, nil, "")
	case m.actions != nil && m.active == paneCerts && m.certs.showCSRs && !m.showHelp && key.Matches(msg, k.Approve, k.ApproveAll, k.Deny):
		return m.csrAction(msg)
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
		return nil
	case m.showHelp && key.Matches(msg, k.Close):
		m.showHelp = false
		return nil
	case m.showHelp && key.Matches(msg, k.Down):
		m.helpOffset++
		return nil
	case m.showHelp && key.Matches(msg, k.Up):
		m.helpOffset = max(0, m.helpOffset-1)
		return nil
	case key.Matches(msg, k.Panes...):
		for i, b := range k.Panes {
			if key.Matches(msg, b) {
				return m.show(i)
			}
		}
	case m.active == paneCerts && !m.showHelp && key.Matches(msg, k.Rescan):
		return m.rescanCerts()
	case m.active == paneHealth && !m.showHelp && key.Matches(msg, k.Rescan):
		return m.recheckHealth()
	case m.active == paneRegistries && !m.showHelp && key.Matches(msg, k.Rescan):
		return m.rereadRegistries()
	case m.active == paneHosts && !m.showHelp && key.Matches(msg, k.Rescan):
		return m.recheckHosts()
	case m.active == paneHosts && !m.showHelp && key.Matches(msg, k.Details):
		if row, ok := m.hosts.table.Selected(); ok {
			m.hosts.detail, m.hosts.offset = row.Key, 0
		}
		return nil
	case m.active == paneCerts && !m.showHelp && key.Matches(msg, k.CSRs):
		m.certs.showCSRs = !m.certs.showCSRs
		return nil
	case m.actions != nil && m.active == paneJournal && !m.showHelp && key.Matches(msg, k.Resume):
		return m.resumeSelected()
	case key.Matches(msg, k.NextPane):
		return m.show((m.active + 1) % paneCount)
	case m.active == paneEtcd && !m.showHelp && key.Matches(msg, k.Details):
		if row, ok := m.etcd.table.Selected(); ok && m.diagnose != nil {
			return diagnoseMember(m.context(), row.Key, m.diagnose)
		}
		return nil
	case m.active == paneNodes && !m.showHelp && key.Matches(msg, k.Details):
		if row, ok := m.nodes.table.Selected(); ok {
			return m.openNode(row.Key)
		}
		return nil
	case !m.showHelp && key.Matches(msg, k.Sort):
		m.activeTable().CycleSort()
		return nil
	case !m.showHelp && key.Matches(msg, k.Reverse):
		m.activeTable().ReverseSort()
		return nil
	}
	t := m.activeTable()
	page := max(m.bodyHeight()-2, 1)
	switch {
	case key.Matches(msg, k.Up):
		t.Move(-1)
	case key.Matches(msg, k.Down):
		t.Move(1)
	case key.Matches(msg, k.PageUp):
		t.Move(-page)
	case key.Matches(msg, k.PageDown):
		t.Move(page)
	case key.Matches(msg, k.Top):
		t.Top()
	case key.Matches(msg, k.Bottom):
		t.Bottom()
	}
	return nil
}

// show makes pane i the active one and loads what it shows on demand.
func (m *Model) show(i int) tea.Cmd {
	m.active, m.showHelp = i, false
	switch {
	case i == paneJournal:
		return m.reloadJournal()
	case i == paneCerts && !m.certs.loaded:
		return m.rescanCerts()
	case i == paneHealth && m.health.due(m.now()):
		return m.recheckHealth()
	case i == paneRegistries && !m.registries.loaded:
		return m.rereadRegistries()
	case i == paneHosts && !m.hosts.loaded && !m.hosts.running:
		return m.recheckHosts()
	}
	return nil
}

// rereadRegistries reads the registries report again and probes anew; the
// previous report's probes are cancelled.
func (m *Model) rereadRegistries() tea.Cmd {
	if m.readRegistries == nil || m.registries.reading {
		return nil
	}
	if m.registries.cancel != nil {
		m.registries.cancel()
	}
	ctx, cancel := context.WithCancel(m.context())
	m.registries.cancel, m.registries.reading = cancel, true
	return readRegistries(ctx, m.readRegistries, m.probeRegistries)
}

// recheckHealth runs the health checks with the snapshots the console
// holds (what is not known yet shows as unknown).
func (m *Model) recheckHealth() tea.Cmd {
	if m.checkHealth == nil || m.health.running {
		return nil
	}
	m.health.running = true
	if !m.certs.loaded && m.scanCerts != nil {
		// The expiry check needs a scan: run one first.
		m.health.awaitCerts = true
		if cmd := m.rescanCerts(); cmd != nil {
			return cmd
		}
		return nil // a scan is under way; its result restarts the run
	}
	snaps := model.HealthSnapshots{Nodes: m.nodes.snap, Etcd: m.etcd.snap, Certs: m.certs.report}
	if m.registries.loaded {
		snaps.Workloads = m.registries.report.Workloads
	}
	snaps.Hosts = m.hosts.complete()
	return runHealth(m.context(), snaps, m.checkHealth)
}

// recheckHosts runs the host checks anew; a run under way is cancelled
// and its late reports are dropped.
func (m *Model) recheckHosts() tea.Cmd {
	if m.checkHosts == nil {
		return nil
	}
	if m.hosts.cancel != nil {
		m.hosts.cancel()
	}
	ctx, cancel := context.WithCancel(m.context())
	m.hosts.seq++
	m.hosts.cancel, m.hosts.running = cancel, true
	return startHostChecks(ctx, m.hosts.seq, m.checkHosts)
}

// hostDetailKey handles the keys of one host's page; other keys fall
// through to the global ones.
func (m *Model) hostDetailKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k, page := m.keys, max(m.bodyHeight()-2, 1)
	switch {
	case msg.String() == "esc":
		m.hosts.detail = ""
	case key.Matches(msg, k.Up):
		m.hosts.offset = max(0, m.hosts.offset-1)
	case key.Matches(msg, k.Down):
		m.hosts.offset++
	case key.Matches(msg, k.PageUp):
		m.hosts.offset = max(0, m.hosts.offset-page)
	case key.Matches(msg, k.PageDown):
		m.hosts.offset += page
	case key.Matches(msg, k.Top):
		m.hosts.offset = 0
	case key.Matches(msg, k.Bottom):
		m.hosts.offset = 1 << 20 // view clamps it
	case key.Matches(msg, k.Rescan):
		return m.recheckHosts(), true
	case key.Matches(msg, k.Details, k.Sort, k.Reverse, k.Filter):
	default:
		return nil, false
	}
	return nil, true
}

// context is the parent of the console's background reads.
func (m *Model) context() context.Context {
	if m.runCtx == nil {
		return context.Background()
	}
	return m.runCtx
}

// detailKey handles the keys of the node detail view; other keys fall
// through to the global ones (panes, help, quit, node actions).
func (m *Model) detailKey(d *nodeDetail, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k, page := m.keys, max(m.bodyHeight()-2, 1)
	switch {
	case msg.String() == "esc":
		m.nodes.detail = nil
	case key.Matches(msg, k.Up):
		d.scroll(-1, m.bodyHeight())
	case key.Matches(msg, k.Down):
		d.scroll(1, m.bodyHeight())
	case key.Matches(msg, k.PageUp):
		d.scroll(-page, m.bodyHeight())
	case key.Matches(msg, k.PageDown):
		d.scroll(page, m.bodyHeight())
	case key.Matches(msg, k.Top):
		d.offset = 0
	case key.Matches(msg, k.Bottom):
		d.scroll(len(d.lines), m.bodyHeight())
	case key.Matches(msg, k.Rescan):
		return m.openNode(d.name), true
	case key.Matches(msg, k.Details, k.Sort, k.Reverse, k.Filter):
	default:
		return nil, false
	}
	return nil, true
}

// openNode selects the node and opens its detail view.
func (m *Model) openNode(name string) tea.Cmd {
	m.nodes.table.SetFilter("")
	m.nodes.table.Select(name)
	keep := m.nodes.detail
	m.nodes.detail = &nodeDetail{name: name}
	if keep != nil && keep.name == name {
		m.nodes.detail.data, m.nodes.detail.offset = keep.data, keep.offset
	}
	if m.readNode == nil {
		return nil
	}
	return loadNodeDetail(m.context(), name, m.readNode)
}

// commandKey edits the : command line (a key or a paste); enter runs it,
// esc cancels.
func (m *Model) commandKey(msg tea.Msg) tea.Cmd {
	switch keyString(msg) {
	case "enter":
		m.commanding = false
		return m.runCommand(strings.TrimSpace(m.line.Value()))
	case "esc":
		m.commanding = false
	default:
		m.line, _ = m.line.Update(msg)
	}
	return nil
}

// keyString names a key press; other messages (a paste) have no name.
func keyString(msg tea.Msg) string {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		return k.String()
	}
	return ""
}

// runCommand starts a procedure by name (commandActions: its form opens),
// jumps to a pane (by number or name prefix: "etcd", "cert") or to a node
// (by exact name or a unique prefix), opening its details.
func (m *Model) runCommand(cmd string) tea.Cmd {
	if cmd == "" {
		return nil
	}
	lc := strings.ToLower(cmd)
	if lc == "q" || lc == "quit" {
		return tea.Quit
	}
	for _, a := range commandActions {
		if lc == a.proc && m.actions != nil {
			if m.refuse(a.proc) {
				return nil
			}
			if m.form = newParamForm(a.proc, nil, a.ask); m.form == nil {
				return m.launch(a.proc, nil)
			}
			return nil
		}
	}
	for i, p := range m.panes() {
		title := strings.ToLower(p.title())
		if lc == fmt.Sprint(i+1) || strings.HasPrefix(title, lc) {
			m.nodes.detail = nil
			return m.show(i)
		}
	}
	var matches []string
	for _, n := range m.nodes.snap.Items {
		if n.Name == cmd {
			matches = []string{n.Name}
			break
		}
		if strings.HasPrefix(n.Name, cmd) {
			matches = append(matches, n.Name)
		}
	}
	switch len(matches) {
	case 0:
		m.notice = fmt.Sprintf(":%s: no pane or node of that name", cmd)
		return nil
	case 1:
		m.show(paneNodes)
		return m.openNode(matches[0])
	}
	m.notice = fmt.Sprintf(":%s matches %d nodes (%s…); type more", cmd, len(matches), strings.Join(matches[:min(3, len(matches))], ", "))
	return nil
}

// filterKey edits the active table's filter (a key or a paste), applied
// as it is typed: enter keeps it, esc clears it.
func (m *Model) filterKey(msg tea.Msg) {
	t := m.activeTable()
	switch keyString(msg) {
	case "enter":
		m.typing = false
	case "esc":
		m.typing = false
		t.SetFilter("")
	default:
		m.line, _ = m.line.Update(msg)
		t.SetFilter(m.line.Value())
	}
}

// nodeAction starts drain, decommission, or cordon/uncordon on the
// selected node.
func (m *Model) nodeAction(msg tea.KeyPressMsg) tea.Cmd {
	row, ok := m.nodes.table.Selected()
	if !ok {
		m.notice = "no node selected"
		return nil
	}
	name := "drain"
	switch {
	case key.Matches(msg, m.keys.Decommission):
		name = "decommission"
	case key.Matches(msg, m.keys.Deprecate):
		name = "deprecate-master"
	case key.Matches(msg, m.keys.Cordon):
		name = "cordon"
		for _, n := range m.nodes.snap.Items {
			if n.Name == row.Key && n.Unschedulable {
				name = "uncordon"
			}
		}
	}
	return m.launch(name, map[string]string{"node": row.Key})
}

// csrAction approves or denies the selected CSR through csr-approve or
// csr-deny (the wizard shows its verdict and asks what its guard takes),
// or approves every valid one. One request's approval does not watch for
// what follows: the table shows it live. Approving all does, each new
// request a new decision in the wizard.
func (m *Model) csrAction(msg tea.KeyPressMsg) tea.Cmd {
	if key.Matches(msg, m.keys.ApproveAll) {
		return m.launch("csr-approve", map[string]string{"all-valid": "true"})
	}
	row, ok := m.certs.csrTable.Selected()
	if !ok {
		m.notice = "no CSR selected"
		return nil
	}
	if key.Matches(msg, m.keys.Deny) {
		return m.launch("csr-deny", map[string]string{"csr": row.Key})
	}
	return m.launch("csr-approve", map[string]string{"csr": row.Key, "watch": "0"})
}

// paneAction opens the parameter form of one of a pane's procedures (or
// its wizard when it asks nothing), with the selected row where it takes
// one.
func (m *Model) paneAction(msg tea.KeyPressMsg, actions []paneAction, t *Table, what string) tea.Cmd {
	for _, a := range actions {
		if !key.Matches(msg, a.key) {
			continue
		}
		if m.refuse(a.proc) {
			return nil
		}
		given := map[string]string{}
		if a.selected != "" {
			row, ok := t.Selected()
			if !ok {
				m.notice = "no " + what + " selected"
				return nil
			}
			given[a.selected] = row.Key
		}
		if m.form = newParamForm(a.proc, given, a.ask); m.form == nil {
			return m.launch(a.proc, given)
		}
		return nil
	}
	return nil
}

func (m *Model) launch(name string, params map[string]string) tea.Cmd {
	return m.launchRun(name, params, nil)
}

func (m *Model) rescanCerts() tea.Cmd {
	if m.scanCerts == nil || m.certs.scanning {
		return nil
	}
	m.certs.scanning = true
	return scanCerts(m.context(), m.scanCerts)
}

// resumeSelected continues the unfinished run selected in the Journal pane.
func (m *Model) resumeSelected() tea.Cmd {
	r, ok := m.journal.selected()
	if !ok || !r.Resumable() {
		m.notice = "select an unfinished run to resume"
		return nil
	}
	return m.launchRun(r.Procedure, r.Params, &r)
}

// launchRun builds the procedure in the background ("preparing…"); its
// wizard opens when the build is done.
func (m *Model) launchRun(name string, params map[string]string, resume *model.RunSummary) tea.Cmd {
	if m.refuse(name) {
		return nil
	}
	if m.preparing != nil {
		m.notice = "still preparing " + m.preparing.name + "… (esc cancels it)"
		return nil
	}
	m.buildSeq++
	m.preparing = &pendingBuild{name: name, seq: m.buildSeq}
	a, seq := m.actions, m.buildSeq
	return func() tea.Msg {
		proc, err := a.Procedure(name, params)
		return procedureBuilt{seq: seq, name: name, proc: proc, err: err, resume: resume}
	}
}

// built opens the wizard of a finished build, unless it was cancelled.
func (m *Model) built(msg procedureBuilt) tea.Cmd {
	if m.preparing == nil || m.preparing.seq != msg.seq {
		slog.Info("procedure built after its launch was cancelled: dropped", "procedure", msg.name)
		return nil
	}
	m.preparing = nil
	if msg.err != nil {
		m.notice = msg.err.Error()
		return nil
	}
	var cmd tea.Cmd
	m.wiz, cmd = startWizard(m.runCtx, m.actions, msg.proc, msg.resume)
	return cmd
}

// restart runs the wizard's procedure again with one more consent granted;
// the finished wizard closes while the new run is prepared.
func (m *Model) restart(param string) tea.Cmd {
	params := map[string]string{}
	for k, v := range m.wiz.proc.Params {
		params[k] = v
	}
	params[param] = "true"
	name := m.wiz.proc.Name
	m.wiz = nil
	return m.launch(name, params)
}

func (m *Model) activeTable() *Table { return m.panes()[m.active].tbl() }

// header, tabs and status bar take one line each.
func (m *Model) bodyHeight() int { return m.high - 3 }

// View renders the whole screen: exactly the terminal's height, no line
// wider than it.
func (m *Model) View() (v tea.View) {
	v.AltScreen = true
	defer func() {
		if r := recover(); r != nil {
			slog.Error("panic in View", "panic", r, "stack", string(debug.Stack()))
			m.fault = fmt.Sprintf("internal error: %v (details in the log)", r)
			v.SetContent(m.fault)
		}
	}()
	v.SetContent(m.Render())
	return v
}

// Render is the screen as text (View's content; tests read it).
func (m *Model) Render() string {
	w, h := m.width, m.high
	if w < 20 || h < 5 {
		return strings.Join(fitLines(fmt.Sprintf("day2: terminal %dx%d is too small (80x24 or more)", w, h), w, h), "\n")
	}
	var body string
	if m.form != nil {
		body = m.form.view(w, m.st)
	} else if m.wiz != nil {
		body = m.wiz.view(w, m.bodyHeight(), m.st)
	} else if m.showHelp {
		body = m.helpView()
	} else {
		body = m.panes()[m.active].view(w, m.bodyHeight(), m.st, m.now())
	}
	lines := []string{m.headerLine(), m.tabsLine()}
	lines = append(lines, fitLines(body, w, m.bodyHeight())...)
	lines = append(lines, m.statusLine())
	return strings.Join(lines, "\n")
}

func (m *Model) headerLine() string {
	left := m.st.Title.Render("day2") + "  " + m.info.Server
	if m.info.Version != "" {
		left += "  " + m.info.Version
	} else if m.info.Err != "" {
		left += "  " + m.st.Level(LevelBad).Render("API unreachable")
	}
	badge := "etcd …"
	level := LevelDim
	if m.etcd.seen {
		badge, level = m.etcd.snap.Badge(), badgeLevel(m.etcd.snap)
	}
	return spread(left, m.st.Level(level).Render("["+badge+"]"), m.width)
}

func (m *Model) tabsLine() string {
	var tabs []string
	for i, p := range m.panes() {
		label := fmt.Sprintf(" %d %s ", i+1, p.title())
		if i == m.active && !m.showHelp {
			tabs = append(tabs, m.st.TabActive.Render(label))
		} else {
			tabs = append(tabs, m.st.TabInactive.Render(label))
		}
	}
	line := strings.Join(tabs, " ")
	if lipgloss.Width(line) > m.width {
		// Each label is padded already: drop the gaps before any tab.
		line = strings.Join(tabs, "")
	}
	return spread(line, m.st.StatusBar.Render("context "+m.info.Context), m.width)
}

func (m *Model) statusLine() string {
	text, level := m.panes()[m.active].status(m.now())
	if m.info.Err != "" && level != LevelBad {
		text, level = m.info.Err, LevelBad
	}
	if m.active == paneNodes && m.nodes.detail != nil {
		text, level = m.nodes.detail.status()
	}
	warn := m.st.Level(LevelWarn)
	if t := m.activeTable(); m.typing || t.Filter() != "" {
		filter := warn.Render(t.Filter())
		if m.typing {
			filter = m.line.View()
		}
		text, level = warn.Render("/")+filter+warn.Render(fmt.Sprintf("  (%d of %d rows)", t.Len(), t.Total())), LevelNormal
		if m.typing {
			text += warn.Render("  enter keeps, esc clears")
		}
	}
	if m.commanding {
		text, level = warn.Render(":")+m.line.View()+warn.Render("  enter jumps (pane or node), esc cancels"), LevelNormal
	}
	if m.preparing != nil && !m.typing && !m.commanding {
		text, level = "preparing "+m.preparing.name+"… (esc cancels)", LevelWarn
	}
	if m.notice != "" {
		text, level = m.notice, LevelWarn
	}
	if m.fault != "" {
		text, level = m.fault, LevelBad
	}
	m.help.SetWidth(m.width / 2)
	return spread(m.st.Level(level).Render(text), m.help.ShortHelpView(m.keys.ShortHelp()), m.width)
}

// helpView lists every key: as many columns as the width allows, scrolled
// with j/k when even those do not fit (bubbles' full help cuts columns off
// on a narrow terminal).
func (m *Model) helpView() string {
	var items []string
	keyWidth, descWidth := 0, 0
	for _, g := range m.keys.FullHelp() {
		for _, b := range g {
			keyWidth = max(keyWidth, len([]rune(b.Help().Key)))
			descWidth = max(descWidth, len([]rune(m.helpDesc(b.Help().Desc))))
		}
	}
	for i, g := range m.keys.FullHelp() {
		if i > 0 {
			items = append(items, "")
		}
		for _, b := range g {
			items = append(items, m.st.HelpKey.Render(padRight(b.Help().Key, keyWidth))+" "+m.helpDesc(b.Help().Desc))
		}
	}
	height := max(m.bodyHeight()-2, 1)
	cols := max(1, min(m.width/(keyWidth+descWidth+3), (len(items)+height-1)/height))
	rows := (len(items) + cols - 1) / cols
	colWidth := m.width / cols
	lines := make([]string, rows)
	for i, it := range items {
		r, c := i%rows, i/rows
		cell := truncate(it, colWidth-1)
		if c < cols-1 {
			cell = padRight(cell, colWidth)
		}
		lines[r] += cell
	}
	m.helpOffset = max(0, min(m.helpOffset, rows-height))
	lines = lines[m.helpOffset:min(rows, m.helpOffset+height)]
	footer := "esc or ? closes this help"
	if rows > height {
		footer += fmt.Sprintf(" · j/k scroll (%d–%d of %d)", m.helpOffset+1, m.helpOffset+len(lines), rows)
	}
	return m.st.HelpTitle.Render("Keys") + "\n" + strings.Join(lines, "\n") + "\n" + m.st.StatusBar.Render(footer)
}

// spread puts left and right on one line of width w, the right part
// dropped first and the left truncated if they cannot both fit.
func spread(left, right string, w int) string {
	lw, rw := lipgloss.Width(left), lipgloss.Width(right)
	if lw+1+rw > w {
		return truncate(left, w)
	}
	return left + strings.Repeat(" ", w-lw-rw) + right
}

func truncate(s string, w int) string { return ansi.Truncate(s, w, "…") }

// wrapLines joins lines, each cut to width.
func wrapLines(lines []string, w int) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = truncate(l, w)
	}
	return strings.Join(out, "\n")
}

// fitLines cuts body to exactly h lines of at most w cells.
func fitLines(body string, w, h int) []string {
	lines := strings.Split(body, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i := range lines {
		lines[i] = truncate(lines[i], w)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lines
}
