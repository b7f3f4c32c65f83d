package ui

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/day2ops/day2/model"
)

type registriesLoaded struct {
	report model.RegistryReport
	// probes delivers the report's probe results (nil: no probing).
	probes <-chan model.RegistryProbe
}

type registryProbed struct {
	probe  model.RegistryProbe
	probes <-chan model.RegistryProbe
}

// readRegistries reads the report, starts its probes, and hands both over.
func readRegistries(ctx context.Context, read func(context.Context) model.RegistryReport,
	probe func(context.Context, model.RegistryReport) <-chan model.RegistryProbe) tea.Cmd {
	return func() tea.Msg {
		r := read(ctx)
		return registriesLoaded{report: r, probes: probe(ctx, r)}
	}
}

// nextProbe waits for the next probe result; nil when the probes are over.
func nextProbe(ch <-chan model.RegistryProbe) tea.Cmd {
	return func() tea.Msg {
		p, ok := <-ch
		if !ok {
			return nil
		}
		return registryProbed{probe: p, probes: ch}
	}
}

// registriesPane shows the integrated registry and the router (seed 003
// §3.4: DESIRED = CURRENT), this host's registries.conf and trust (§7.2,
// §7.3) and every registry probed with /healthz and /v2/.
type registriesPane struct {
	table   Table
	report  model.RegistryReport
	loaded  bool
	reading bool
	// cancel stops the current report's probes (a rescan starts anew).
	cancel context.CancelFunc
}

func newRegistriesPane() registriesPane {
	return registriesPane{table: NewTable(
		Column{Title: "REGISTRY", Flex: true, Max: 40},
		Column{Title: "ROLE", Priority: 3, Max: 24},
		Column{Title: "/healthz", Width: len("timed out"), Max: 28},
		Column{Title: "/v2/", Width: len("timed out"), Max: 28},
		Column{Title: "LATENCY", Right: true, Priority: 2},
		Column{Title: "TLS", Priority: 1, Width: len("verified")},
		Column{Title: "CERT DAYS", Right: true, Priority: 2},
		Column{Title: "API", Priority: 4},
	)}
}

func (p *registriesPane) set(r model.RegistryReport, now time.Time) {
	p.report, p.loaded, p.reading = r, true, false
	p.rows(now)
}

func (p *registriesPane) merge(pr model.RegistryProbe, now time.Time) {
	p.report = p.report.WithProbe(pr)
	p.rows(now)
}

func (p *registriesPane) rows(now time.Time) {
	rows := make([]Row, 0, len(p.report.Targets))
	for i, t := range p.report.Targets {
		var pr model.RegistryProbe
		if i < len(p.report.Probes) {
			pr = p.report.Probes[i]
		}
		health, v2, latency, tls, days, api := "probing…", "", "", "", "", ""
		level := LevelDim
		if pr.Done {
			health, v2 = resultCell(pr, 0), resultCell(pr, 1)
			latency, api = probeLatency(pr), probeAPI(pr)
			tls, level = probeTLS(t, pr)
			if na := pr.CertNotAfter(); !na.IsZero() {
				days = strconv.Itoa(int(na.Sub(now).Hours() / 24))
				if na.Sub(now) < 30*24*time.Hour && level == LevelNormal {
					level = LevelWarn
				}
			}
		}
		rows = append(rows, Row{Key: t.HostPort, Level: level, Cells: []string{
			t.HostPort, strings.Join(t.Roles, ","), health, v2, latency, tls, days, api,
		}})
	}
	p.table.SetRows(rows)
}

// resultCell is one probe result as "401 alive, wants auth".
func resultCell(pr model.RegistryProbe, i int) string {
	if i >= len(pr.Results) {
		if pr.Err != "" {
			return pr.Err
		}
		return ""
	}
	return statusText(pr.Results[i])
}

// statusText is a result's status with its meaning ("401 alive, wants
// auth"), or why no response came.
func statusText(r model.ProbeResult) string {
	if r.Status == 0 {
		return r.Meaning
	}
	return fmt.Sprintf("%d %s", r.Status, r.Meaning)
}

func probeLatency(pr model.RegistryProbe) string {
	for _, r := range pr.Results {
		if r.Status != 0 {
			return model.HumanLatency(r.Latency)
		}
	}
	return ""
}

func probeAPI(pr model.RegistryProbe) string {
	for _, r := range pr.Results {
		if r.APIVersion != "" {
			return r.APIVersion
		}
	}
	return ""
}

// probeTLS says how the registry was reached, and how worried to be: a v2
// registry that answered over verified TLS is fine; anything that did not
// answer, or answered without trust, is not.
func probeTLS(t model.ProbeTarget, pr model.RegistryProbe) (string, Level) {
	answered := false
	for _, r := range pr.Results {
		answered = answered || r.Status != 0
	}
	switch {
	case !answered:
		return "no answer", LevelBad
	case pr.Verified:
		return "verified", LevelNormal
	case t.Insecure:
		return "insecure", LevelWarn
	}
	return "untrusted", LevelBad
}

func (p *registriesPane) title() string { return "Registries" }

func (p *registriesPane) tbl() *Table { return &p.table }

func (p *registriesPane) status(time.Time) (string, Level) {
	if !p.loaded {
		return "reading the registry, the router and registries.conf…", LevelDim
	}
	r := p.report
	warn, fail := countFindings(r.Findings())
	for _, w := range r.Workloads {
		if !w.Settled() {
			fail++
		}
	}
	text := fmt.Sprintf("%d registries · probed %d/%d · %d warnings · %d failures (r rereads)", len(r.Targets), r.ProbesDone(), len(r.Probes), warn, fail)
	level := LevelNormal
	switch {
	case fail > 0:
		level = LevelBad
	case warn > 0:
		level = LevelWarn
	}
	return text, level
}

func (p *registriesPane) view(width, height int, st Styles, now time.Time) string {
	if !p.loaded {
		return st.Level(LevelDim).Render("Reading the registry and router workloads, registries.conf and the import policy…")
	}
	return tableWithDetail(&p.table, p.summary(st), p.detail(st, now), width, height, st)
}

// summary: the workloads with the seed's DESIRED = CURRENT rule, the
// configuration read, and what it asks the operator to look at.
func (p *registriesPane) summary(st Styles) []string {
	r := p.report
	var lines []string
	for _, w := range r.Workloads {
		role := padRight(w.Role, len("registry"))
		if !w.Found() {
			lines = append(lines, st.Level(LevelBad).Render(role+"  not found: "+w.Err))
			continue
		}
		state, level := "DESIRED = CURRENT", LevelGood
		if !w.Settled() {
			state, level = "NOT settled", LevelBad
		}
		line := st.Level(level).Render(fmt.Sprintf("%s  %s %s/%s  desired %d current %d ready %d  %s", role, w.Kind, w.Namespace, w.Name,
			w.Desired, w.Current, w.Ready, state))
		if nodes := slices.Sorted(slices.Values(w.Nodes())); len(nodes) > 0 {
			line += st.Label.Render("  on " + strings.Join(nodes, ","))
		}
		lines = append(lines, line)
	}
	c := r.Config
	if r.ConfigErr != "" {
		lines = append(lines, st.Level(LevelBad).Render("registries.conf: "+r.ConfigErr))
	} else {
		lines = append(lines, fmt.Sprintf("%s v%d %s  %s %s  %s %s  %s %s", st.Label.Render("conf"), c.Version, strings.Join(c.Sources, " + "),
			st.Label.Render("search"), orNone(c.Search), st.Label.Render("insecure"), orNone(c.Insecure), st.Label.Render("blocked"), orNone(c.Blocked)))
		if c.Reading != "" {
			lines = append(lines, st.Label.Render("read as ")+c.Reading+" — "+c.ReadingWhy)
		}
		if c.Reading == model.ReadingContainers {
			var as []string
			for _, a := range c.Aliases {
				as = append(as, a.Name+"="+a.Value)
			}
			lines = append(lines, st.Label.Render("short-name-mode ")+c.ShortNameMode+st.Label.Render("  aliases ")+orNone(as))
		}
		if len(c.Ignored) > 0 {
			lines = append(lines, st.Label.Render("not read by docker ")+strings.Join(c.Ignored, ", "))
		}
		if len(c.InsecureRanges) > 0 {
			lines = append(lines, st.Label.Render("insecure ranges ")+strings.Join(c.InsecureRanges, ", ")+" (addresses, not probed)")
		}
		for _, e := range c.Registries {
			for _, m := range e.Mirrors {
				var notes []string
				switch {
				case c.BlockedScope(m.Location):
					notes = append(notes, "blocked: never contacted")
				case e.Blocked:
					notes = append(notes, "source blocked: pulled from mirrors only")
				}
				if e.MirrorByDigestOnly {
					notes = append(notes, "digest pulls only")
				} else if m.PullFromMirror != "" && m.PullFromMirror != "all" {
					notes = append(notes, m.PullFromMirror)
				}
				line := st.Label.Render("mirror ") + fmt.Sprintf("%s → %s", e.Prefix, m.Location)
				if len(notes) > 0 {
					line += " (" + strings.Join(notes, "; ") + ")"
				}
				lines = append(lines, line)
			}
		}
	}
	switch {
	case r.ImportErr != "":
		lines = append(lines, st.Level(LevelBad).Render("import policy: "+r.ImportErr))
	case len(r.ImportPolicy) > 0:
		var names []string
		for _, ir := range r.ImportPolicy {
			n := ir.DomainName
			if ir.Insecure {
				n += " (insecure)"
			}
			names = append(names, n)
		}
		lines = append(lines, st.Label.Render("allowedRegistriesForImport ")+strings.Join(names, ", "))
	}
	if warn, fail := countFindings(r.Findings()); warn+fail > 0 {
		level := LevelWarn
		if fail > 0 {
			level = LevelBad
		}
		lines = append(lines, st.Level(level).Render(fmt.Sprintf("%d warnings, %d failures: insecure or untrusted registries (each under its row)", warn, fail)))
	}
	return lines
}

func countFindings(fs []model.RegistryFinding) (warn, fail int) {
	for _, f := range fs {
		if f.Level == model.FindingFail {
			fail++
		} else {
			warn++
		}
	}
	return warn, fail
}

// findingLines are the findings about one registry (configured by prefix,
// so a namespace under the host counts).
func findingLines(st Styles, fs []model.RegistryFinding, hostPort string) []string {
	var out []string
	for _, f := range fs {
		if f.Registry != hostPort && !strings.HasPrefix(f.Registry, hostPort+"/") {
			continue
		}
		level := LevelWarn
		if f.Level == model.FindingFail {
			level = LevelBad
		}
		text := f.Level + ": " + f.Message
		if !strings.Contains(f.Message, f.Registry) {
			text = f.Level + ": " + f.Registry + ": " + f.Message
		}
		out = append(out, st.Level(level).Render(text))
	}
	return out
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// detail is the selected registry's probes in full.
func (p *registriesPane) detail(st Styles, now time.Time) []string {
	row, ok := p.table.Selected()
	if !ok {
		return nil
	}
	for i, t := range p.report.Targets {
		if t.HostPort != row.Key || i >= len(p.report.Probes) {
			continue
		}
		pr := p.report.Probes[i]
		via := ""
		if t.Via != "" {
			via = "  " + st.Label.Render("via ") + t.Via
		}
		cas := "system roots only"
		if len(t.CAs) > 0 {
			cas = strings.Join(t.CAs, ", ")
		}
		lines := []string{st.Label.Render("url   ") + t.URL + via, st.Label.Render("trust ") + cas}
		for _, r := range pr.Results {
			line := fmt.Sprintf("GET %s → %s", r.URL, resultText(r))
			if r.Err != "" {
				line += " (" + r.Err + ")"
			}
			lines = append(lines, line)
			if r.APIVersion != "" {
				lines = append(lines, st.Label.Render("      Docker-Distribution-API-Version ")+r.APIVersion)
			}
		}
		if na := pr.CertNotAfter(); !na.IsZero() {
			lines = append(lines, st.Label.Render("cert  ")+fmt.Sprintf("expires %s (%d days)", na.UTC().Format(time.DateOnly), int(na.Sub(now).Hours()/24)))
		}
		return append(lines, findingLines(st, p.report.Findings(), t.HostPort)...)
	}
	return nil
}

func resultText(r model.ProbeResult) string {
	if r.Status == 0 {
		return statusText(r)
	}
	return statusText(r) + " in " + model.HumanLatency(r.Latency)
}
