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

	// The second table: CertificateSigningRequests with a verdict each;
	// showCSRs switches the pane to it (c).
	csrTable Table
	csrs     model.CSRs
	csrSeen  bool
	showCSRs bool
}

func newCertsPane() certsPane {
	return certsPane{thresholds: model.DefaultCertThresholds, table: NewTable(
		Column{Title: "DAYS", Right: true},
		Column{Title: "SEVERITY", Width: len("critical")},
		Column{Title: "SOURCE", Flex: true, Max: 50},
		Column{Title: "SUBJECT CN", Priority: 1, Max: 30},
		Column{Title: "KIND", Priority: 2},
		Column{Title: "NOT AFTER", Priority: 3},
		Column{Title: "ISSUER", Priority: 4, Max: 40},
	), csrTable: NewTable(
		Column{Title: "NAME", Flex: true},
		Column{Title: "AGE", Width: 5, Priority: 2},
		Column{Title: "REQUESTER", Priority: 3},
		Column{Title: "SIGNER", Priority: 4},
		Column{Title: "CONDITION"},
		Column{Title: "VERDICT", Width: len("new node?")},
	)}
}

func csrLevel(c model.CSR) Level {
	switch {
	case !c.Pending():
		return LevelDim
	case c.Verdict.Kind == model.CSRInvalid:
		return LevelBad
	case c.Verdict.Kind == model.CSRValid:
		return LevelNormal
	}
	return LevelWarn
}

func (p *certsPane) setCSRs(cs model.CSRs, now time.Time) {
	p.csrs, p.csrSeen = cs, true
	rows := make([]Row, 0, len(cs.Items))
	for _, c := range cs.Items {
		age := now.Sub(c.Created)
		rows = append(rows, Row{Key: c.Name, Level: csrLevel(c), Cells: []string{
			c.Name, model.HumanAge(age), c.Requester, c.Signer, c.Condition(), c.Verdict.Kind.String(),
		}, Sort: []string{1: strconv.FormatInt(int64(age.Seconds()), 10)}})
	}
	p.csrTable.SetRows(rows)
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
			strconv.Itoa(c.DaysLeft(now)), sev.String(), certSource(c), c.SubjectCN, string(c.Kind), c.NotAfter.UTC().Format("2006-01-02"), c.Issuer,
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

func (p *certsPane) tbl() *Table {
	if p.showCSRs {
		return &p.csrTable
	}
	return &p.table
}

func (p *certsPane) status(now time.Time) (string, Level) {
	if p.showCSRs {
		return p.csrStatus()
	}
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

func (p *certsPane) csrStatus() (string, Level) {
	switch {
	case p.csrs.Err != "":
		return "CSRs: " + p.csrs.Err, LevelBad
	case !p.csrSeen || !p.csrs.Synced:
		return "listing CertificateSigningRequests…", LevelDim
	}
	pending, invalid := p.csrs.PendingCount()
	level := LevelNormal
	switch {
	case invalid > 0:
		level = LevelBad
	case pending > 0:
		level = LevelWarn
	}
	return fmt.Sprintf("%d CSRs · %d pending · %d invalid (c: certificates)", len(p.csrs.Items), pending, invalid), level
}

// switcher is the line that says which of the pane's two tables shows.
func (p *certsPane) switcher(st Styles) string {
	certs, csrs := fmt.Sprintf("certificates %d", len(p.report.Certs)), "CSRs"
	if p.csrSeen {
		pending, invalid := p.csrs.PendingCount()
		csrs = fmt.Sprintf("CSRs %d (%d pending, %d invalid)", len(p.csrs.Items), pending, invalid)
	}
	if p.showCSRs {
		return st.Label.Render(certs) + " | " + st.TabActive.Render(csrs) + st.Label.Render("  c switches")
	}
	return st.TabActive.Render(certs) + " | " + st.Label.Render(csrs+"  c switches")
}

func (p *certsPane) view(width, height int, st Styles, now time.Time) string {
	if p.showCSRs {
		return truncate(p.switcher(st), width) + "\n" + p.csrView(width, height-1, st)
	}
	if !p.loaded {
		return truncate(p.switcher(st), width) + "\n" + st.Level(LevelDim).Render("Scanning the host's certificates, kubeconfigs and the cluster's TLS secrets…")
	}
	top := []string{p.switcher(st)}
	for i, pr := range p.report.Problems {
		if i == 2 {
			top = append(top, fmt.Sprintf("… %d more problems (see the log)", len(p.report.Problems)-2))
			break
		}
		top = append(top, st.Level(LevelBad).Render("problem: "+pr))
	}
	return tableWithDetail(&p.table, top, p.detail(st, now), width, height, st)
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

func (p *certsPane) csrView(width, height int, st Styles) string {
	if !p.csrSeen || (!p.csrs.Synced && p.csrs.Err == "") {
		return st.Level(LevelDim).Render("Listing CertificateSigningRequests…")
	}
	if len(p.csrs.Items) == 0 {
		msg := "No CertificateSigningRequests."
		if p.csrs.Err != "" {
			msg = "Cannot list CSRs: " + p.csrs.Err
		}
		return st.Level(LevelDim).Render(msg)
	}
	return tableWithDetail(&p.csrTable, nil, p.csrDetail(st), width, height, st)
}

// csrDetail is what an approver checks: who asked, for which identity and
// addresses, with which usages, and why the verdict is what it is.
func (p *certsPane) csrDetail(st Styles) []string {
	c, ok := selectedItem(&p.csrTable, p.csrs.Items, func(c model.CSR) string { return c.Name })
	if !ok {
		return nil
	}
	r := c.Request
	lines := []string{
		st.Label.Render("request   ") + fmt.Sprintf("CN %s  O %s", r.CommonName, strings.Join(r.Organizations, ",")),
		st.Label.Render("requester ") + c.Requester + "   " + st.Label.Render("signer ") + c.Signer,
		st.Label.Render("usages    ") + strings.Join(c.Usages, ", "),
	}
	if sans := append(append([]string{}, r.DNSNames...), r.IPAddresses...); len(sans) > 0 {
		lines = append(lines, st.Label.Render("SANs      ")+strings.Join(sans, ", "))
	}
	if c.RequestErr != "" {
		lines = append(lines, st.Level(LevelBad).Render("request unreadable: "+c.RequestErr))
	}
	if c.Message != "" {
		lines = append(lines, st.Label.Render("decision  ")+c.Message)
	}
	level := LevelNormal
	if c.Verdict.Kind == model.CSRInvalid {
		level = LevelBad
	}
	lines = append(lines, st.Level(level).Render("verdict   "+c.Verdict.Kind.String()))
	for _, reason := range c.Verdict.Reasons {
		lines = append(lines, st.Level(level).Render("  - "+reason))
	}
	return lines
}
