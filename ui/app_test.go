package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/day2ops/day2/model"
	"github.com/day2ops/day2/ops"
)

var fixedNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// keyMsg is the message for a key as the terminal sends it.
func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	}
	return tea.KeyPressMsg{Code: rune(k[0]), Text: k}
}

// paneKey is the number key of pane i.
func paneKey(i int) string { return fmt.Sprint(i + 1) }

// settle applies msg and then, in turn, what the commands it returns
// answer (a procedure build), as the runtime would; ticks are left out.
func settle(m *Model, msg tea.Msg) {
	_, cmd := m.Update(msg)
	for cmd != nil {
		switch next := cmd().(type) {
		case nil, tickMsg, tea.BatchMsg:
			return
		default:
			_, cmd = m.Update(next)
		}
	}
}

func press(m *Model, keys ...string) {
	for _, k := range keys {
		m.Update(keyMsg(k))
	}
}

func sized(w, h int) *Model {
	m := New(model.ClusterInfo{Server: "https://api.example.com:8443", Context: "admin", Version: "v1.35.4"}, WithClock(func() time.Time { return fixedNow }))
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// checkShape asserts the screen is exactly h lines of at most w cells.
func checkShape(t *testing.T, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) != h {
		t.Errorf("screen has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			t.Errorf("line %d is %d wide (> %d): %q", i, lw, w, l)
		}
	}
}

func etcdSnapshot(healthy ...bool) model.EtcdCluster {
	c := model.EtcdCluster{Source: "/etc/etcd/etcd.conf"}
	for i, h := range healthy {
		c.Members = append(c.Members, model.EtcdMember{
			ID: 0xa1b2c3d4e5f60000 + uint64(i), Name: []string{"master-0", "master-1", "master-2"}[i],
			PeerURLs: []string{"https://10.0.0.1:2380"}, ClientURLs: []string{"https://10.0.0.1:2379"},
			Reached: h || i == 0, Healthy: h, LeaderID: 0xa1b2c3d4e5f60000, Version: "3.6.16", DBSize: 2 << 20,
		})
	}
	return c
}

func TestShapesAtEverySize(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 15}, {10, 3}} {
		m := sized(size[0], size[1])
		m.Update(model.Nodes{Synced: true, PodsSynced: true, Items: []model.Node{{Name: "n1", Readiness: model.NodeReady, Created: fixedNow.Add(-time.Hour)}}})
		m.Update(etcdSnapshot(true, true, true))
		checkShape(t, screen(m), size[0], size[1])
		press(m, "2")
		checkShape(t, screen(m), size[0], size[1])
		press(m, paneKey(paneCerts))
		m.Update(certsLoaded{report: certReport()})
		checkShape(t, screen(m), size[0], size[1])
		press(m, paneKey(paneRegistries))
		m.Update(registriesLoaded{report: registryReport()})
		checkShape(t, screen(m), size[0], size[1])
		press(m, paneKey(paneHealth))
		m.Update(healthLoaded{report: healthReport()})
		checkShape(t, screen(m), size[0], size[1])
		press(m, paneKey(paneJournal))
		m.Update(journalLoaded{runs: []model.RunSummary{unfinishedRun()}})
		checkShape(t, screen(m), size[0], size[1])
		press(m, "?")
		checkShape(t, screen(m), size[0], size[1])
	}
}

func TestNoQuorumBanner(t *testing.T) {
	m := sized(80, 24)
	press(m, "2")
	// Quorum lost: master-0 still answers its status but cannot serve a
	// linearizable read; the other two are gone.
	m.Update(etcdSnapshot(false, false, false))
	got := screen(m)
	for _, want := range []string{"NO QUORUM: 0 of 3 voting members healthy, 2 needed", "answering: master-0", "[etcd NO QUORUM 0/3]", "master-0 leader    unhealthy", "unreachable"} {
		if !strings.Contains(got, want) {
			t.Errorf("screen lacks %q:\n%s", want, got)
		}
	}
}

func TestKeysSwitchPanesAndHelp(t *testing.T) {
	m := sized(80, 24)
	m.Update(etcdSnapshot(true, true, true))
	if !strings.Contains(screen(m), "Waiting for the node list") {
		t.Fatal("nodes pane should be first and say it is waiting")
	}
	press(m, "2")
	if !strings.Contains(screen(m), "fault tolerance 1") {
		t.Fatal("2 should open the etcd pane")
	}
	press(m, "tab")
	if !strings.Contains(screen(m), "Reading the registry and router") {
		t.Fatal("tab should go on to the registries")
	}
	press(m, "tab")
	if !strings.Contains(screen(m), "Scanning the host's certificates") {
		t.Fatal("tab should go on to the certificates")
	}
	press(m, "tab")
	if !strings.Contains(screen(m), "Running the health checks") {
		t.Fatal("tab should go on to the health checks")
	}
	press(m, "tab")
	if !strings.Contains(screen(m), "No procedure has run yet") && !strings.Contains(screen(m), "Reading the journal") {
		t.Fatal("tab should go on to the journal")
	}
	press(m, "tab")
	if !strings.Contains(screen(m), "Listing the hosts") {
		t.Fatal("tab should go on to the hosts")
	}
	press(m, "tab")
	if !strings.Contains(screen(m), "Waiting for the node list") {
		t.Fatal("tab should cycle back to nodes")
	}
	press(m, "?")
	help := screen(m)
	for _, k := range []string{"nodes pane", "etcd pane", "journal of procedure runs", "next pane", "first row", "page down", "quit"} {
		if !strings.Contains(help, k) {
			t.Errorf("help lacks %q", k)
		}
	}
	press(m, "esc")
	if strings.Contains(screen(m), "closes this help") {
		t.Fatal("esc should close help")
	}
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'q', Text: "q"})
	if cmd == nil {
		t.Fatal("q should quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q should return tea.Quit")
	}
}

func TestErrorsShowInPaneAndStatusBar(t *testing.T) {
	m := sized(80, 24)
	m.Update(model.Nodes{Err: "watch nodes: nodes is forbidden: User \"bob\" cannot list resource \"nodes\""})
	m.Update(model.ClusterInfo{Server: "https://api:6443", Err: "server version: dial tcp: connection refused"})
	got := screen(m)
	for _, want := range []string{"Cannot list nodes: watch nodes: nodes is forbidden", "API unreachable"} {
		if !strings.Contains(got, want) {
			t.Errorf("screen lacks %q:\n%s", want, got)
		}
	}
	press(m, "2")
	m.Update(model.EtcdCluster{Err: "member list: no endpoint answered", Source: "flags"})
	if s := screen(m); !strings.Contains(s, "etcd unreachable: member list: no endpoint answered") || !strings.Contains(s, "[etcd unreachable]") {
		t.Errorf("etcd error not shown:\n%s", s)
	}
}

// screen is the rendered screen as plain text.
func screen(m *Model) string { return ansi.Strip(m.Render()) }

func unfinishedRun() model.RunSummary {
	return model.RunSummary{
		RunID: "ab12cd34", Procedure: "drain", Params: map[string]string{"node": "node-0.example.com", "timeout": "5m"},
		User: "alice", Host: "master-0", Path: "/var/lib/day2/journal/x.jsonl", Started: fixedNow.Add(-time.Hour), Last: fixedNow,
		Sessions: 1, StoppedAt: "evict",
		Steps: []model.StepSummary{{ID: "preflight", Outcome: model.OutcomeOK}, {ID: "cordon", Outcome: model.OutcomeOK}, {ID: "evict", Started: true}},
	}
}

func TestJournalPaneShowsRunsAndOffersResume(t *testing.T) {
	m := sized(80, 24)
	done := unfinishedRun()
	done.RunID, done.Finished, done.Outcome, done.StoppedAt = "ee00ff11", true, model.OutcomeOK, ""
	m.Update(journalLoaded{runs: []model.RunSummary{unfinishedRun(), done}})
	press(m, paneKey(paneJournal))
	got := screen(m)
	for _, want := range []string{"UNFINISHED at evict", "alice@master-0", "evict        started, not ended", "params node=node-0.example.com timeout=5m", "2 runs · 1 unfinished"} {
		if !strings.Contains(got, want) {
			t.Errorf("journal pane lacks %q:\n%s", want, got)
		}
	}
	// Read-only: R starts nothing.
	press(m, "R")
	if m.wiz != nil {
		t.Fatal("R must not resume without actions")
	}
}

func certReport() model.CertReport {
	cert := func(src, cn string, left time.Duration) model.Certificate {
		return model.Certificate{Source: src, SubjectCN: cn, Subject: "CN=" + cn, Issuer: "CN=openshift-signer", Kind: model.CertServer,
			NotBefore: fixedNow.Add(-time.Hour), NotAfter: fixedNow.Add(left)}
	}
	r := model.CertReport{Certs: []model.Certificate{
		cert("/etc/origin/master/master.server.crt", "master-0", 300*24*time.Hour),
		cert("/etc/origin/master/openshift-router.crt", "*.apps.example.com", -3*24*time.Hour),
		cert("/etc/origin/master/registry.crt", "docker-registry.default.svc", 5*24*time.Hour+time.Hour),
		cert("default/router-certs", "router", 25*24*time.Hour+time.Hour),
	}, Problems: []string{"/etc/origin/master/broken.crt: malformed PEM"}}
	model.SortCertsByExpiry(r.Certs)
	return r
}

func TestCertificatesPane(t *testing.T) {
	m := sized(80, 24)
	press(m, paneKey(paneCerts))
	m.Update(certsLoaded{report: certReport()})
	got := screen(m)
	for _, want := range []string{
		"4 certificates · 1 expired · 1 ≤7 d · 1 ≤30 d · 1 problems",
		"problem: /etc/origin/master/broken.crt: malformed PEM",
		"subject CN=*.apps.example.com", // the soonest is selected first
	} {
		if !strings.Contains(got, want) {
			t.Errorf("certificates pane lacks %q:\n%s", want, got)
		}
	}
	var order []string
	for _, l := range strings.Split(got, "\n") {
		for _, sev := range []string{"expired", "critical", "warning", "ok"} {
			if f := strings.Fields(l); len(f) > 2 && f[1] == sev {
				order = append(order, sev)
			}
		}
	}
	if strings.Join(order, ",") != "expired,critical,warning,ok" {
		t.Errorf("rows must go soonest first, got %v:\n%s", order, got)
	}
	checkShape(t, m.Render(), 80, 24)
}

func TestSlashFiltersTheActiveTable(t *testing.T) {
	m := sized(80, 24)
	m.Update(model.Nodes{Synced: true, PodsSynced: true, Items: []model.Node{
		{Name: "infra-0.example.com", Readiness: model.NodeReady, Roles: []string{"infra"}},
		{Name: "node-0.example.com", Readiness: model.NodeReady, Roles: []string{"compute"}},
		{Name: "node-1.example.com", Readiness: model.NodeNotReady, Roles: []string{"compute"}},
	}})
	press(m, "/", "N", "o", "t")
	got := screen(m)
	if !strings.Contains(got, "node-1.example.com") || strings.Contains(got, "node-0.example.com") || !strings.Contains(got, "/Not") || !strings.Contains(got, "(1 of 3 rows)") {
		t.Fatalf("filter NotReady:\n%s", got)
	}
	press(m, "enter", "q")
	if m.typing {
		t.Fatal("enter ends typing")
	}
	press(m, "esc")
	if got := screen(m); !strings.Contains(got, "infra-0.example.com") || strings.Contains(got, "rows)") {
		t.Fatalf("esc clears the filter:\n%s", got)
	}
}

// typeCommand types a : command line and enter.
func typeCommand(m *Model, s string) {
	press(m, ":")
	for _, r := range s {
		press(m, string(r))
	}
	m.Update(keyMsg("enter"))
}

func TestCommandLineJumpsToPanesAndNodes(t *testing.T) {
	m := sized(80, 24)
	m.Update(model.Nodes{Synced: true, PodsSynced: true, Items: []model.Node{
		{Name: "master-0", Readiness: model.NodeReady}, {Name: "worker-0", Readiness: model.NodeReady}, {Name: "worker-1", Readiness: model.NodeReady},
	}})
	typeCommand(m, "etc")
	if m.active != paneEtcd {
		t.Fatalf(":etc went to pane %d, want etcd", m.active)
	}
	typeCommand(m, "worker")
	if m.active != paneEtcd || !strings.Contains(m.notice, "matches 2 nodes") {
		t.Errorf("ambiguous :worker: pane %d notice %q", m.active, m.notice)
	}
	typeCommand(m, "worker-1")
	if m.active != paneNodes || m.nodes.detail == nil || m.nodes.detail.name != "worker-1" {
		t.Fatalf(":worker-1 did not open the node's details (pane %d)", m.active)
	}
	if r, _ := m.nodes.table.Selected(); r.Key != "worker-1" {
		t.Errorf("selected %s, want worker-1", r.Key)
	}
	m.Update(nodeDetailLoaded{name: "worker-1", detail: model.NodeDetail{
		Node:       model.Node{Name: "worker-1", Readiness: model.NodeReady, Roles: []string{"compute"}},
		Conditions: []model.NodeCondition{{Type: "Ready", Status: "True", Reason: "KubeletReady"}, {Type: "DiskPressure", Status: "True", Reason: "KubeletHasDiskPressure", Message: "disk 91% full"}},
		Pods:       []model.NodePod{{Namespace: "myapp", Name: "cache-1", OwnerKind: "ReplicaSet", Phase: "Running", LocalStorage: true}, {Namespace: "myapp", Name: "frontend-1", OwnerKind: "ReplicaSet", PDB: "frontend"}, {Namespace: "myapp", Name: "debug"}},
	}})
	s := screen(m)
	for _, want := range []string{"node worker-1", "DiskPressure", "disk 91% full", "esc back"} {
		if !strings.Contains(s, want) {
			t.Errorf("detail view lacks %q:\n%s", want, s)
		}
	}
	checkShape(t, s, 80, 24)
	press(m, "G") // the pods are further down the page
	s = screen(m)
	for _, want := range []string{"cache-1", "local-storage", "pdb:frontend", "none (bare)", "Events (0"} {
		if !strings.Contains(s, want) {
			t.Errorf("detail view, scrolled, lacks %q:\n%s", want, s)
		}
	}
	checkShape(t, s, 80, 24)
	press(m, "esc")
	if m.nodes.detail != nil {
		t.Error("esc did not close the details")
	}
	typeCommand(m, "nosuch")
	if !strings.Contains(m.notice, "no pane or node") {
		t.Errorf("notice %q", m.notice)
	}
}

func TestEtcdPaneExplainsAlarmsAndLeaderChanges(t *testing.T) {
	m := sized(120, 40)
	c := etcdSnapshot(true, true, true)
	c.Members[1].Alarms = []string{"NOSPACE"}
	c.Members[2].Alarms = []string{"CORRUPT"}
	c.LeaderChanges = 4
	c.Members[0].LeaderChanges, c.Members[1].LeaderChanges, c.Members[2].LeaderChanges = 7, 9, -1
	m.Update(c)
	press(m, "2")
	s := screen(m)
	for _, want := range []string{"leader changes seen 9 (members' counter) · 4 while watched", "alarm NOSPACE on master-1", "disarms NOSPACE", "alarm CORRUPT on master-2: ", "needs investigation", "ALARMS"} {
		if !strings.Contains(s, want) {
			t.Errorf("etcd pane lacks %q:\n%s", want, s)
		}
	}
	checkShape(t, s, 120, 40)
}

func TestCertsPaneSwitchesToCSRs(t *testing.T) {
	m := sized(80, 24)
	press(m, paneKey(paneCerts))
	m.Update(certsLoaded{report: certReport()})
	m.Update(model.CSRs{Synced: true, Items: []model.CSR{
		{Name: "csr-good", Requester: "system:node:node-0.example.com", Signer: model.SignerKubeletServing, Created: fixedNow.Add(-5 * time.Minute),
			Request: model.CSRRequest{CommonName: "system:node:node-0.example.com"}, Verdict: model.CSRVerdict{Kind: model.CSRValid}},
		{Name: "csr-bad", Requester: "system:node:node-1.example.com", Signer: model.SignerKubeletClient, Created: fixedNow.Add(-time.Minute),
			Request: model.CSRRequest{CommonName: "system:node:intruder"}, Verdict: model.CSRVerdict{Kind: model.CSRInvalid, Reasons: []string{`CN "system:node:intruder" names no node`}}},
	}})
	if s := screen(m); !strings.Contains(s, "CSRs 2 (2 pending, 1 invalid)") {
		t.Errorf("certificates view should tell of the CSRs:\n%s", s)
	}
	press(m, "c", "j")
	s := screen(m)
	for _, want := range []string{"csr-good", "csr-bad", "INVALID", "names no node", "2 CSRs · 2 pending · 1 invalid"} {
		if !strings.Contains(s, want) {
			t.Errorf("CSR view lacks %q:\n%s", want, s)
		}
	}
	checkShape(t, s, 80, 24)
	press(m, "c")
	if m.certs.showCSRs {
		t.Error("c did not switch back")
	}
}

func healthReport() model.HealthReport {
	return model.HealthReport{At: fixedNow.Add(-10 * time.Second), HostRoot: "/", Checks: []model.HealthCheck{
		{ID: "nodes-ready", Title: "Nodes Ready", Seed: "003 §3.5.2", Scope: model.ScopeCluster, Level: model.HealthPass, Detail: "9 of 9 nodes Ready"},
		{ID: "entropy", Title: "Entropy available", Seed: "003 §2.2", Scope: model.ScopeHost, Level: model.HealthFail,
			Detail: "entropy_avail is 612, under 800", Hint: "install and start rngd so that entropy is replenished; the API and the router block on a starved pool"},
		{ID: "storageclass", Title: "Default StorageClass", Seed: "003 §2.3", Scope: model.ScopeCluster, Level: model.HealthWarn, Detail: "no StorageClass is marked default"},
		{ID: "clusteroperators", Title: "ClusterOperators", Seed: "001 §2.2", Scope: model.ScopeCluster, Level: model.HealthUnknown, Detail: "not an OpenShift 4 cluster"},
	}}
}

func TestHealthPaneShowsChecksWithTheirSeeds(t *testing.T) {
	m := sized(80, 24)
	ran := 0
	m.checkHealth = func(context.Context, model.HealthSnapshots) model.HealthReport { ran++; return healthReport() }
	cmd := m.show(paneHealth)
	if cmd == nil {
		t.Fatal("showing the Health pane should run the checks")
	}
	m.Update(cmd())
	press(m, "j") // the entropy check: its hint shows below the table
	s := screen(m)
	for _, want := range []string{"fail", "Entropy available", "(seed 003 §2.2)", "do ", "rngd", "1 pass · 1 warn · 1 fail · 1 unknown", "Hosts pane (7"} {
		if !strings.Contains(s, want) {
			t.Errorf("health pane lacks %q:\n%s", want, s)
		}
	}
	checkShape(t, s, 80, 24)
	if cmd := m.show(paneHealth); cmd != nil {
		t.Error("checks that just ran should not run again on switching back")
	}
	m.Update(keyMsg("r"))
	if ran != 1 || !m.health.running {
		t.Errorf("r should start a rerun (ran %d, running %v)", ran, m.health.running)
	}
}

func TestHealthWaitsForTheCertificateScan(t *testing.T) {
	m := sized(80, 24)
	var got model.HealthSnapshots
	m.scanCerts = func(context.Context) model.CertReport { return certReport() }
	m.checkHealth = func(_ context.Context, s model.HealthSnapshots) model.HealthReport { got = s; return healthReport() }
	msg := m.show(paneHealth)() // the scan comes first
	if _, ok := msg.(certsLoaded); !ok {
		t.Fatalf("first command gave %T, want the certificate scan", msg)
	}
	_, cmd := m.Update(msg)
	if cmd == nil {
		t.Fatal("the scan's result should start the health run")
	}
	m.Update(cmd())
	if len(got.Certs.Certs) != 4 || !m.health.loaded {
		t.Errorf("health ran without the scan (%d certificates, loaded %v)", len(got.Certs.Certs), m.health.loaded)
	}
}

// recordingActions notes which procedure the console asked for and refuses
// to build it (the form is under test, not the procedure).
type recordingActions struct {
	name   string
	params map[string]string
}

func (r *recordingActions) Procedure(name string, params map[string]string) (*ops.Procedure, error) {
	r.name, r.params = name, params
	return nil, fmt.Errorf("not built in this test")
}

func (r *recordingActions) Start(context.Context, *ops.Procedure, ops.Operator, *model.RunSummary) <-chan error {
	return nil
}

func TestEtcdPaneFormAsksThenLaunches(t *testing.T) {
	m := sized(80, 24)
	rec := &recordingActions{}
	WithActions(context.Background(), rec)(m)
	m.Update(etcdSnapshot(true, true, true))
	press(m, paneKey(paneEtcd), "j", "x") // remove the second member
	s := screen(m)
	for _, want := range []string{"etcd-remove-member", "--member a1b2c3d4e5f60001", "> --allow-two-members false", "(yes/no)", "esc cancels"} {
		if !strings.Contains(s, want) {
			t.Errorf("form lacks %q:\n%s", want, s)
		}
	}
	checkShape(t, s, 80, 24)
	m.Update(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	press(m, "m", "a", "y", "b", "e")
	m.Update(keyMsg("enter"))
	if !strings.Contains(screen(m), "answer yes or no") {
		t.Errorf("a bool field should refuse %q:\n%s", "maybe", screen(m))
	}
	m.Update(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	press(m, "n")
	m.Update(keyMsg("enter"))
	if !strings.Contains(screen(m), "> --member-root") {
		t.Errorf("the member root should be asked next:\n%s", screen(m))
	}
	settle(m, keyMsg("enter")) // optional: left empty; the build runs in a command
	if rec.name != "etcd-remove-member" || rec.params["member"] != "a1b2c3d4e5f60001" || rec.params["allow-two-members"] != "false" || rec.params["member-root"] != "" {
		t.Errorf("launched %s %v", rec.name, rec.params)
	}
	if m.form != nil || !strings.Contains(m.notice, "not built in this test") {
		t.Errorf("after the form: form %v, notice %q", m.form, m.notice)
	}
	// esc cancels without starting anything.
	rec.name = ""
	press(m, "v")
	m.Update(keyMsg("esc"))
	if m.form != nil || rec.name != "" || !strings.Contains(m.notice, "nothing was started") {
		t.Errorf("esc: form %v, launched %q, notice %q", m.form, rec.name, m.notice)
	}
}

// :project-backup and :project-restore open their procedure's form; with
// --readonly (no actions) they are no command at all.
func TestCommandLineStartsProjectProcedures(t *testing.T) {
	m := sized(80, 24)
	typeCommand(m, "project-backup")
	if m.form != nil || !strings.Contains(m.notice, "no pane or node") {
		t.Fatalf("read-only console: form %v notice %q", m.form, m.notice)
	}
	rec := &recordingActions{}
	WithActions(context.Background(), rec)(m)
	typeCommand(m, "project-backup")
	s := screen(m)
	for _, want := range []string{"project-backup", "> --namespace", "(required)"} {
		if !strings.Contains(s, want) {
			t.Errorf("form lacks %q:\n%s", want, s)
		}
	}
	checkShape(t, s, 80, 24)
	press(m, "m", "y", "a", "p", "p")
	m.Update(keyMsg("enter"))
	if !strings.Contains(screen(m), "> --backup-dir /backup/projects") {
		t.Errorf("the backup dir should be asked next, with its default:\n%s", screen(m))
	}
	settle(m, keyMsg("enter"))
	if rec.name != "project-backup" || rec.params["namespace"] != "myapp" || rec.params["backup-dir"] != "/backup/projects" {
		t.Errorf("launched %s %v", rec.name, rec.params)
	}
	rec.name = ""
	typeCommand(m, "project-restore")
	if s := screen(m); !strings.Contains(s, "> --backup") {
		t.Errorf("restore form:\n%s", s)
	}
	m.Update(keyMsg("esc"))
	if m.form != nil || rec.name != "" {
		t.Errorf("esc: form %v, launched %q", m.form, rec.name)
	}
}

func TestHelpListsEveryKeyAt80x24(t *testing.T) {
	m := sized(80, 24)
	WithActions(context.Background(), &recordingActions{})(m)
	press(m, "?")
	seen := ""
	for range 40 {
		seen += screen(m)
		press(m, "j")
	}
	for _, g := range m.keys.FullHelp() {
		for _, b := range g {
			if !strings.Contains(seen, b.Help().Desc) {
				t.Errorf("help never shows %q (%s)", b.Help().Desc, b.Help().Key)
			}
		}
	}
}

func registryReport() model.RegistryReport {
	r := model.RegistryReport{ID: 7, At: fixedNow,
		Workloads: []model.Workload{
			{Role: "registry", Kind: "DeploymentConfig", Namespace: "default", Name: "docker-registry", Desired: 3, Current: 3, Ready: 3,
				Pods: []model.WorkloadPod{{Name: "docker-registry-1-a", Node: "infra-0", Ready: true}}},
			{Role: "router", Kind: "DeploymentConfig", Namespace: "default", Name: "router", Desired: 3, Current: 2, Ready: 2},
		},
		Config: model.RegistriesConfig{Version: 1, Search: []string{"registry.redhat.io", "docker.io"}, Insecure: []string{"registry.example.com:5000"},
			Sources:    []string{"/etc/containers/registries.conf"},
			Registries: []model.RegistryEntry{{Prefix: "registry.example.com:5000", Location: "registry.example.com:5000", Insecure: true}}},
		Targets: []model.ProbeTarget{
			{HostPort: "docker-registry.default.svc:5000", Roles: []string{model.RoleIntegrated}, URL: "https://docker-registry.default.svc:5000", Via: "172.30.1.1:5000"},
			{HostPort: "registry.example.com:5000", Roles: []string{model.RoleRegistry}, URL: "https://registry.example.com:5000", Insecure: true},
		},
	}
	r.Probes = make([]model.RegistryProbe, len(r.Targets))
	return r
}

func TestRegistriesPaneMergesProbesAsTheyArrive(t *testing.T) {
	m := sized(120, 40)
	press(m, paneKey(paneRegistries))
	r := registryReport()
	ch := make(chan model.RegistryProbe, 2)
	_, cmd := m.Update(registriesLoaded{report: r, probes: ch})
	s := screen(m)
	for _, want := range []string{"DeploymentConfig default/docker-registry", "DESIRED = CURRENT", "router    DeploymentConfig default/router  desired 3 current 2 ready 2  NOT settled",
		"search registry.redhat.io,docker.io", "insecure registry.example.com:5000", "probing…", "probed 0/2"} {
		if !strings.Contains(s, want) {
			t.Errorf("before the probes, pane lacks %q:\n%s", want, s)
		}
	}
	ch <- model.RegistryProbe{ReportID: 7, Index: 0, Done: true, Verified: true, Results: []model.ProbeResult{
		{URL: "https://docker-registry.default.svc:5000/healthz", Status: 200, Meaning: "healthy", Latency: 3 * time.Millisecond, CertNotAfter: fixedNow.Add(25 * 24 * time.Hour)},
		{URL: "https://docker-registry.default.svc:5000/v2/", Status: 401, Meaning: "alive, wants authentication", APIVersion: "registry/2.0"},
	}}
	ch <- model.RegistryProbe{ReportID: 6, Index: 1, Done: true} // an older report's: ignored
	close(ch)
	for cmd != nil {
		msg := cmd()
		if msg == nil {
			break
		}
		_, cmd = m.Update(msg)
	}
	s = screen(m)
	for _, want := range []string{"200 healthy", "401 alive, wants authentication", "verified", "registry/2.0", "probed 1/2", "via 172.30.1.1:5000", "expires"} {
		if !strings.Contains(s, want) {
			t.Errorf("after a probe, pane lacks %q:\n%s", want, s)
		}
	}
	checkShape(t, s, 120, 40)
}

func TestEnterDiagnosesTheSelectedMember(t *testing.T) {
	m := sized(120, 40)
	var asked uint64
	m.diagnose = func(_ context.Context, id uint64) (model.MemberDiagnosis, error) {
		asked = id
		return model.MemberDiagnosis{Fault: model.FaultNodeNotReady, Path: model.PathReplaceFailed,
			Reasons: []string{"node master-1 is NotReady (unreachable taint)"}}, nil
	}
	m.Update(etcdSnapshot(true, false, true))
	press(m, paneKey(paneEtcd), "j")
	if !strings.Contains(screen(m), "enter diagnoses this member") {
		t.Errorf("the detail should offer the diagnosis:\n%s", screen(m))
	}
	_, cmd := m.Update(keyMsg("enter"))
	if cmd == nil {
		t.Fatal("enter should diagnose")
	}
	m.Update(cmd())
	s := screen(m)
	if asked != 0xa1b2c3d4e5f60001 || !strings.Contains(s, "node NotReady → replace-failed") || !strings.Contains(s, "node master-1 is NotReady") {
		t.Errorf("diagnosis of %x:\n%s", asked, s)
	}
}

// The etcd pane on each etcd version: the header names the cluster's
// version; what a version does not report (before 3.4 the applied index
// and the database in use) shows as "—", never 0; NO QUORUM reads the same.
func TestEtcdPaneByVersion(t *testing.T) {
	for _, tc := range []struct{ version, applied, inUse string }{
		{"3.3.27", "applied —", "(in use —)"}, {"3.5.21", "applied 41", "(in use 1.0 MiB)"}, {"3.6.16", "applied 41", "(in use 1.0 MiB)"},
	} {
		t.Run(tc.version, func(t *testing.T) {
			m := sized(120, 40)
			press(m, "2")
			snap := etcdSnapshot(true, true, true)
			for i := range snap.Members {
				snap.Members[i].Version, snap.Members[i].RaftIndex, snap.Members[i].RaftAppliedIndex, snap.Members[i].DBSizeInUse = tc.version, 42, 41, 1<<20
			}
			snap.Version = tc.version
			m.Update(snap)
			got := screen(m)
			for _, want := range []string{"etcd " + tc.version + "  members 3", tc.applied, tc.inUse} {
				if !strings.Contains(got, want) {
					t.Errorf("screen lacks %q:\n%s", want, got)
				}
			}
			lost := etcdSnapshot(false, false, false)
			lost.Members[0].Version, lost.Version = tc.version, tc.version
			m.Update(lost)
			if got := screen(m); !strings.Contains(got, "NO QUORUM: 0 of 3 voting members healthy, 2 needed") || !strings.Contains(got, "etcd "+tc.version) {
				t.Errorf("no quorum on %s:\n%s", tc.version, got)
			}
		})
	}
	m := sized(120, 40)
	press(m, "2")
	m.Update(etcdSnapshot(false, false, false)) // nothing reported a version
	if got := screen(m); !strings.Contains(got, "etcd —  members 3") {
		t.Errorf("an unknown version shows as —:\n%s", got)
	}
}
