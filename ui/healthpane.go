package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/day2ops/day2/model"
)

// healthEvery is how often the Health pane re-runs its checks while shown.
const healthEvery = 30 * time.Second

type healthLoaded struct{ report model.HealthReport }

// healthPane is one screen of pass/warn/fail checks, each citing the seed
// section it comes from (seed 003 ch. 2 and 3, seed 001 ch. 2).
type healthPane struct {
	table   Table
	report  model.HealthReport
	loaded  bool
	running bool
	// awaitCerts: a run waits for the certificate scan it needs.
	awaitCerts bool
}

func newHealthPane() healthPane {
	return healthPane{table: NewTable(
		Column{Title: "RESULT", Width: len("unknown")},
		Column{Title: "CHECK"},
		Column{Title: "DETAIL", Flex: true, Max: 60},
		Column{Title: "SCOPE", Priority: 2},
		Column{Title: "SEED", Priority: 1},
	)}
}

func runHealth(ctx context.Context, snaps model.HealthSnapshots, check func(context.Context, model.HealthSnapshots) model.HealthReport) tea.Cmd {
	return func() tea.Msg { return healthLoaded{check(ctx, snaps)} }
}

func healthLevel(l model.HealthLevel) Level {
	switch l {
	case model.HealthPass:
		return LevelGood
	case model.HealthWarn:
		return LevelWarn
	case model.HealthFail:
		return LevelBad
	}
	return LevelDim
}

func (p *healthPane) set(r model.HealthReport) {
	p.report, p.loaded, p.running = r, true, false
	rows := make([]Row, 0, len(r.Checks))
	for _, c := range r.Checks {
		rows = append(rows, Row{Key: c.ID, Level: healthLevel(c.Level), Cells: []string{
			c.Level.String(), c.Title, c.Detail, string(c.Scope), c.Seed,
		}})
	}
	p.table.SetRows(rows)
}

// due reports whether the checks should run again.
func (p *healthPane) due(now time.Time) bool {
	return !p.running && (!p.loaded || now.Sub(p.report.At) >= healthEvery)
}

func (p *healthPane) title() string { return "Health" }

func (p *healthPane) tbl() *Table { return &p.table }

func (p *healthPane) status(now time.Time) (string, Level) {
	if !p.loaded {
		return "running health checks…", LevelDim
	}
	n := p.report.Count()
	text := fmt.Sprintf("%d pass · %d warn · %d fail · %d unknown · checked %s ago (r reruns)",
		n[model.HealthPass], n[model.HealthWarn], n[model.HealthFail], n[model.HealthUnknown], model.HumanAge(now.Sub(p.report.At)))
	return text, healthLevel(p.report.Worst())
}

func (p *healthPane) view(width, height int, st Styles, _ time.Time) string {
	if !p.loaded {
		return st.Level(LevelDim).Render("Running the health checks (API, etcd, nodes, router and registry, certificates, hosts)…")
	}
	return tableWithDetail(&p.table, nil, p.detail(st, width), width, height, st)
}

// detail is the selected check in full: what was found, what the guide
// says to do, and where the host checks read from.
func (p *healthPane) detail(st Styles, width int) []string {
	c, ok := selectedItem(&p.table, p.report.Checks, func(c model.HealthCheck) string { return c.ID })
	if !ok {
		return nil
	}
	lines := []string{st.Level(healthLevel(c.Level)).Render(c.Level.String()) + "  " + c.Title + "  " + st.Label.Render("(seed "+c.Seed+")")}
	lines = append(lines, labelled(st, "found ", c.Detail, width)...)
	if c.Hint != "" && c.Level != model.HealthPass {
		lines = append(lines, labelled(st, "do    ", c.Hint, width)...)
	}
	if c.Scope == model.ScopeHost {
		lines = append(lines, labelled(st, "hosts ", fmt.Sprintf("each host's figure is in the Hosts pane (%d, enter on a host)", paneHosts+1), width)...)
	}
	return lines
}

// labelled wraps text to width behind a label, continuation lines
// indented under the text.
func labelled(st Styles, label, text string, width int) []string {
	return hang(text, width, st.Label.Render(label), strings.Repeat(" ", len(label)))
}

// hang wraps text to width behind first, continuation rows behind rest;
// words longer than a row (URLs, paths) are broken, never cut off.
func hang(text string, width int, first, rest string) []string {
	lines := strings.Split(ansi.Wrap(text, max(width-lipgloss.Width(rest), 10), ""), "\n")
	for i := range lines {
		if i == 0 {
			lines[i] = first + lines[i]
		} else {
			lines[i] = rest + lines[i]
		}
	}
	return lines
}
