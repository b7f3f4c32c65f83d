package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/day2ops/day2/model"
)

// certsLoaded carries a certificate scan, made off the UI goroutine.
type certsLoaded struct{ report model.CertReport }

// certsPane lists every certificate day2 can see, soonest expiry first
// (seed 003 ch. 8, 001 ch. 2): what the openshift-ansible cert-expiry
// playbook reports, live.
type certsPane struct {
	table      Table
	report     model.CertReport
	loaded     bool
	scanning   bool
	thresholds model.CertThresholds
}

func newCertsPane() certsPane {
	return certsPane{thresholds: model.DefaultCertThresholds, table: NewTable(
		Column{Title: "DAYS", Right: true},
		Column{Title: "SEVERITY", Width: len("critical")},
		Column{Title: "SOURCE", Flex: true},
		Column{Title: "SUBJECT CN", Priority: 1},
		Column{Title: "KIND", Priority: 2},
		Column{Title: "NOT AFTER", Priority: 3},
	)}
}

func scanCerts(ctx context.Context, scan func(context.Context) model.CertReport) tea.Cmd {
	return func() tea.Msg { return certsLoaded{scan(ctx)} }
}

func certLevel(s model.CertSeverity) Level {
	switch s {
	case model.CertExpired, model.CertCritical:
		return LevelBad
	case model.CertWarning:
		return LevelWarn
	}
	return LevelNormal
}

func (p *certsPane) set(r model.CertReport, now time.Time) {
	p.report, p.loaded, p.scanning = r, true, false
	rows := make([]Row, 0, len(r.Certs))
	for i, c := range r.Certs {
		sev := p.thresholds.Classify(c.NotAfter, now)
		rows = append(rows, Row{Key: strconv.Itoa(i), Level: certLevel(sev), Cells: []string{
			strconv.Itoa(c.DaysLeft(now)), sev.String(), certSource(c), c.SubjectCN, string(c.Kind), c.NotAfter.UTC().Format("2006-01-02"),
		}})
	}
	p.table.SetRows(rows)
}

// certSource names a bundle's block when the file holds several.
func certSource(c model.Certificate) string {
	if c.Block > 0 {
		return fmt.Sprintf("%s [%d]", c.Source, c.Block)
	}
	return c.Source
}

func (p *certsPane) title() string { return "Certificates" }

func (p *certsPane) tbl() *Table { return &p.table }

func (p *certsPane) status(now time.Time) (string, Level) {
	switch {
	case p.scanning && !p.loaded:
		return "scanning certificates…", LevelDim
	case !p.loaded:
		return "certificates not scanned yet", LevelDim
	}
	t := p.report.Tally(p.thresholds, now)
	text := fmt.Sprintf("%d certificates · %d expired · %d ≤7 d · %d ≤30 d", len(p.report.Certs), t[model.CertExpired], t[model.CertCritical], t[model.CertWarning])
	if n := len(p.report.Problems); n > 0 {
		text += fmt.Sprintf(" · %d problems", n)
	}
	level := LevelNormal
	switch {
	case t[model.CertExpired]+t[model.CertCritical] > 0:
		level = LevelBad
	case t[model.CertWarning] > 0:
		level = LevelWarn
	}
	return text + " (r rescans)", level
}

func (p *certsPane) view(width, height int, st Styles, now time.Time) string {
	if !p.loaded {
		return st.Level(LevelDim).Render("Scanning the host's certificates, kubeconfigs and the cluster's TLS secrets…")
	}
	var problems []string
	for i, pr := range p.report.Problems {
		if i == 2 {
			problems = append(problems, fmt.Sprintf("… %d more problems (see the log)", len(p.report.Problems)-2))
			break
		}
		problems = append(problems, st.Level(LevelBad).Render("problem: "+pr))
	}
	detail := p.detail(st, now)
	tableHeight := max(min(height-len(detail)-len(problems)-1, p.table.Len()+1), 2)
	out := []string{}
	if len(problems) > 0 {
		out = append(out, wrapLines(problems, width))
	}
	out = append(out, p.table.View(width, tableHeight, st))
	if height-tableHeight-len(problems) > len(detail) {
		out = append(out, "", wrapLines(detail, width))
	}
	return strings.Join(out, "\n")
}

func (p *certsPane) detail(st Styles, now time.Time) []string {
	row, ok := p.table.Selected()
	if !ok {
		return nil
	}
	i, _ := strconv.Atoi(row.Key)
	if i >= len(p.report.Certs) {
		return nil
	}
	c := p.report.Certs[i]
	lines := []string{
		st.Label.Render("subject ") + c.Subject + "   " + st.Label.Render("kind ") + string(c.Kind),
		st.Label.Render("issuer  ") + c.Issuer,
		fmt.Sprintf("%s %s → %s (%d days left, %s)", st.Label.Render("valid  "), c.NotBefore.UTC().Format(time.DateTime), c.NotAfter.UTC().Format(time.DateTime),
			c.DaysLeft(now), p.thresholds.Classify(c.NotAfter, now)),
		st.Label.Render("source  ") + certSource(c),
	}
	if sans := append(append([]string{}, c.DNSNames...), c.IPAddresses...); len(sans) > 0 {
		lines = append(lines, st.Label.Render("SANs    ")+strings.Join(sans, ", "))
	}
	return lines
}
