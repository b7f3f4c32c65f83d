package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/day2ops/day2/model"
)

// hostsPane is one row per host of the cluster with the guides' host
// checks (seed 003 ch. 2 and 3); rows fill in as hosts answer, and an
// unreachable host's row says why. enter opens one host's every check.
type hostsPane struct {
	table   Table
	hosts   []model.Host
	reports map[string]model.HostReport
	// rows are the reports in host order, with the rules across hosts.
	rows    []model.HostReport
	running bool
	loaded  bool
	started time.Time
	// seq tells the current run's messages from a cancelled one's.
	seq    int
	cancel context.CancelFunc
	// listErr is what went wrong listing the hosts.
	listErr string
	// detail is the host whose checks are open (enter), "" for none.
	detail string
	offset int
}

type hostsStarted struct {
	seq   int
	hosts []model.Host
	ch    <-chan model.HostReport
	err   error
}

type hostChecked struct {
	seq    int
	report model.HostReport
	ch     <-chan model.HostReport
}

type hostsDone struct{ seq int }

// The columns: name and SSH never go; at 80 columns the checks the guide
// stresses most (time, entropy, space, then driver and MTU) stay longest.
func newHostsPane() hostsPane {
	return hostsPane{table: NewTable(
		Column{Title: "HOST", Flex: true},
		Column{Title: "ROLE", Priority: 4},
		Column{Title: "SSH", Width: len("timeout")},
		Column{Title: "NTP", Priority: 1},
		Column{Title: "SKEW", Priority: 3},
		Column{Title: "ENTROPY", Priority: 1},
		Column{Title: "/VAR", Priority: 1},
		Column{Title: "STORAGE", Priority: 4},
		Column{Title: "DRIVER", Priority: 2},
		Column{Title: "MTU", Priority: 2},
		Column{Title: "SERVICES", Priority: 3},
		Column{Title: "KERNEL", Priority: 5},
	), reports: map[string]model.HostReport{}}
}

func startHostChecks(ctx context.Context, seq int, check func(context.Context) ([]model.Host, <-chan model.HostReport, error)) tea.Cmd {
	return func() tea.Msg {
		hosts, ch, err := check(ctx)
		return hostsStarted{seq: seq, hosts: hosts, ch: ch, err: err}
	}
}

func nextHost(seq int, ch <-chan model.HostReport) tea.Cmd {
	return func() tea.Msg {
		r, ok := <-ch
		if !ok {
			return hostsDone{seq}
		}
		return hostChecked{seq: seq, report: r, ch: ch}
	}
}

func (p *hostsPane) start(msg hostsStarted, now time.Time) {
	p.hosts, p.reports, p.started, p.listErr = msg.hosts, map[string]model.HostReport{}, now, ""
	if msg.err != nil {
		p.listErr = msg.err.Error()
	}
	p.rebuild()
}

func (p *hostsPane) merge(r model.HostReport) {
	p.reports[r.Host.Name] = r
	p.rebuild()
}

func (p *hostsPane) done() { p.running, p.loaded = false, true }

// complete is every host's report, when the last run finished (nil while
// one runs): what the Health pane sums up.
func (p *hostsPane) complete() []model.HostReport {
	if !p.loaded || p.running || len(p.rows) != len(p.hosts) {
		return nil
	}
	return p.rows
}

func (p *hostsPane) rebuild() {
	var got []model.HostReport
	for _, h := range p.hosts {
		if r, ok := p.reports[h.Name]; ok {
			got = append(got, r)
		}
	}
	p.rows = model.ApplyClusterRules(got)
	byName := map[string]model.HostReport{}
	for _, r := range p.rows {
		byName[r.Host.Name] = r
	}
	rows := make([]Row, 0, len(p.hosts))
	for _, h := range p.hosts {
		r, ok := byName[h.Name]
		if !ok {
			cells := []string{h.Name, h.Role(), "…"}
			for range model.HostCheckIDs {
				cells = append(cells, "…")
			}
			rows = append(rows, Row{Key: h.Name, Level: LevelDim, Cells: cells})
			continue
		}
		cells := []string{h.Name, r.Host.Role(), sshCell(r)}
		for _, id := range model.HostCheckIDs {
			c, _ := r.Check(id)
			cells = append(cells, checkCell(c))
		}
		rows = append(rows, Row{Key: h.Name, Level: healthLevel(r.Worst()), Cells: cells})
	}
	p.table.SetRows(rows)
}

// checkCell is a verdict in a cell, readable without colour: the figure,
// marked ✗ when it fails, ! when it warns, ? when unknown.
func checkCell(c model.HostCheck) string {
	switch c.Level {
	case model.HealthFail:
		return "✗" + c.Figure
	case model.HealthWarn:
		return "!" + c.Figure
	case model.HealthUnknown:
		if c.Figure == "?" || c.Figure == "-" {
			return c.Figure
		}
		return "?" + c.Figure
	}
	return c.Figure
}

// sshCell is how the host was reached: its latency, "local" for this
// host's own files, or in a word why not (the detail says it in full).
func sshCell(r model.HostReport) string {
	if r.Reached {
		if strings.HasPrefix(r.Where, "under ") {
			return "local"
		}
		return model.HumanLatency(r.Latency)
	}
	e := strings.ToLower(r.Err)
	for _, k := range []struct{ has, say string }{
		{"no answer within", "timeout"}, {"i/o timeout", "timeout"}, {"connection refused", "refused"},
		{"host key", "hostkey"}, {"knownhosts", "hostkey"}, {"known_hosts", "hostkey"},
		{"unable to authenticate", "auth"}, {"permission denied", "auth"}, {"no such host", "dns"},
		{"no route to host", "noroute"}, {"context canceled", "stopped"},
	} {
		if strings.Contains(e, k.has) {
			return "✗" + k.say
		}
	}
	return "✗error"
}

func (p *hostsPane) title() string { return "Hosts" }

func (p *hostsPane) tbl() *Table { return &p.table }

func (p *hostsPane) status(now time.Time) (string, Level) {
	if p.detail != "" {
		return fmt.Sprintf("host %s · j/k scroll · r check again · esc back", p.detail), LevelNormal
	}
	if len(p.hosts) == 0 {
		return "listing hosts…", LevelDim
	}
	n := map[model.HealthLevel]int{}
	unreached := 0
	for _, r := range p.rows {
		n[r.Worst()]++
		if !r.Reached {
			unreached++
		}
	}
	text := fmt.Sprintf("%d hosts · %d ok · %d warn · %d fail (%d unreachable)", len(p.hosts), n[model.HealthPass], n[model.HealthWarn], n[model.HealthFail], unreached)
	if n[model.HealthUnknown] > 0 {
		text += fmt.Sprintf(" · %d unknown", n[model.HealthUnknown])
	}
	level := LevelGood
	switch {
	case n[model.HealthFail] > 0:
		level = LevelBad
	case n[model.HealthWarn] > 0 || n[model.HealthUnknown] > 0:
		level = LevelWarn
	}
	if p.running {
		return text + fmt.Sprintf(" · checking %d/%d…", len(p.rows), len(p.hosts)), level
	}
	return text + fmt.Sprintf(" · checked %s ago (r reruns)", model.HumanAge(now.Sub(p.started))), level
}

func (p *hostsPane) view(width, height int, st Styles, _ time.Time) string {
	if len(p.hosts) == 0 && p.listErr != "" {
		return st.Level(LevelBad).Render("No hosts to check: " + p.listErr)
	}
	if len(p.hosts) == 0 {
		return st.Level(LevelDim).Render("Listing the hosts (inventory, else the nodes; this host alone without SSH)…")
	}
	if p.detail != "" {
		lines := p.detailLines(st, width)
		p.offset = max(0, min(p.offset, len(lines)-height))
		return strings.Join(lines[p.offset:min(len(lines), p.offset+height)], "\n")
	}
	var top []string
	if p.listErr != "" {
		top = []string{st.Level(LevelWarn).Render(p.listErr)}
	}
	return tableWithDetail(&p.table, top, p.summary(st, width), width, height, st)
}

func (p *hostsPane) selected() (model.HostReport, bool) {
	return selectedItem(&p.table, p.rows, func(r model.HostReport) string { return r.Host.Name })
}

// summary is the selected host's checks that do not pass, below the table.
func (p *hostsPane) summary(st Styles, width int) []string {
	r, ok := p.selected()
	if !ok {
		return nil
	}
	if !r.Reached {
		return labelled(st, "unreachable ", r.Err, width)
	}
	var lines []string
	for _, c := range r.Checks {
		if c.Level != model.HealthPass {
			lines = append(lines, truncate(st.Level(healthLevel(c.Level)).Render(fmt.Sprintf("%-7s", c.Level))+" "+c.Title+": "+c.Why, width))
		}
	}
	if len(lines) == 0 {
		lines = []string{r.Host.Name + ": every check passes (enter shows the figures)"}
	}
	return lines
}

// detailLines is one host's page: how it was reached, then every check
// with its figure, reason, guide section and, when it does not pass, what
// the guide says to do.
func (p *hostsPane) detailLines(st Styles, width int) []string {
	r, ok := p.reports[p.detail]
	for _, row := range p.rows {
		if row.Host.Name == p.detail {
			r, ok = row, true
		}
	}
	if !ok {
		return []string{"checking " + p.detail + "…"}
	}
	h := r.Host
	lines := []string{st.HelpTitle.Render(h.Name) + "  " + st.Label.Render(h.Role())}
	if h.Source != "" {
		lines = append(lines, truncate(st.Label.Render("from   ")+h.Source, width))
	}
	if r.Reached {
		lines = append(lines, labelled(st, "read   ", fmt.Sprintf("%s (opened in %s)", r.Where, model.HumanLatency(r.Latency)), width)...)
	} else {
		lines = append(lines, labelled(st, "error  ", r.Err, width)...)
	}
	for _, c := range r.Checks {
		lines = append(lines, "", st.Level(healthLevel(c.Level)).Render(fmt.Sprintf("%-7s", c.Level))+" "+c.Title+"  "+st.Label.Render("(seed "+c.Seed+")"))
		lines = append(lines, labelled(st, "  found ", c.Figure+": "+c.Why, width)...)
		if c.Hint != "" && c.Level != model.HealthPass {
			lines = append(lines, labelled(st, "  do    ", c.Hint, width)...)
		}
	}
	return lines
}
