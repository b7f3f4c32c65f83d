package ui

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/model"
)

// Actions the operator's rights rule out are marked in `?`, and pressing
// their key says why in the status bar instead of starting anything.
func TestActionsWithoutRightsAreMarkedAndRefused(t *testing.T) {
	m := sized(120, 40)
	rec := &recordingActions{}
	WithActions(context.Background(), rec)(m)
	m.Update(model.Nodes{Synced: true, PodsSynced: true, Items: []model.Node{{Name: "node-0", Readiness: model.NodeReady, Created: fixedNow.Add(-time.Hour)}}})
	m.Update(etcdSnapshot(true, true, true))
	press(m, "?")
	if s := screen(m); strings.Contains(s, deniedMark) {
		t.Fatalf("marked before any review answered:\n%s", s)
	}
	press(m, "?")
	m.Update(model.ProcedureAccess{Missing: map[string][]model.Right{
		"drain":       {{Verb: "create", Resource: "pods", Subresource: "eviction"}},
		"etcd-backup": {{Verb: "list", Group: "config.openshift.io", Resource: "clusteroperators"}},
	}})
	marked := map[string]bool{}
	press(m, "?")
	for range 20 { // scroll through all of the help
		for _, l := range strings.Split(screen(m), "\n") {
			if strings.Contains(l, deniedMark) {
				marked[strings.Join(strings.Fields(l), " ")] = true
			}
		}
		press(m, "j")
	}
	if len(marked) != 2 || !marked["d drain node"+deniedMark] || !marked["b etcd: back up the selected member"+deniedMark] {
		t.Errorf("want exactly drain and etcd-backup marked: %v", marked)
	}
	press(m, "?")

	press(m, "d")
	if rec.name != "" || m.wiz != nil {
		t.Errorf("drain was started (%q)", rec.name)
	}
	if s := screen(m); !strings.Contains(s, "drain: your credentials may not create pods/eviction in all namespaces") {
		t.Errorf("status bar does not say why:\n%s", s)
	}
	// cordon is allowed: its build starts (in a command, as the console runs it).
	if _, cmd := m.Update(keyMsg("u")); cmd != nil {
		cmd()
	}
	if rec.name != "cordon" {
		t.Errorf("cordon is allowed, yet %q was asked for", rec.name)
	}

	rec.name = ""
	press(m, paneKey(paneEtcd), "b")
	if m.form != nil || rec.name != "" || !strings.Contains(m.notice, "etcd-backup: your credentials may not list clusteroperators.config.openshift.io") {
		t.Errorf("etcd-backup: form %v, started %q, notice %q", m.form, rec.name, m.notice)
	}
}

// On the CSR table, a and x start csr-approve and csr-deny on the selected
// request (whose wizard asks what its verdict takes); without the rights,
// `?` marks them and the key says why instead.
func TestCSRKeysApproveAndDeny(t *testing.T) {
	m := sized(120, 40)
	rec := &recordingActions{}
	WithActions(context.Background(), rec)(m)
	press(m, paneKey(paneCerts))
	m.Update(certsLoaded{report: certReport()})
	m.Update(model.CSRs{Synced: true, Items: []model.CSR{
		{Name: "csr-good", Signer: model.SignerKubeletServing, Created: fixedNow.Add(-5 * time.Minute), Verdict: model.CSRVerdict{Kind: model.CSRValid}},
		{Name: "csr-bad", Signer: model.SignerKubeletClient, Created: fixedNow.Add(-time.Minute), Verdict: model.CSRVerdict{Kind: model.CSRInvalid}},
	}})
	launch := func(k string) {
		t.Helper()
		rec.name, rec.params = "", nil
		if _, cmd := m.Update(keyMsg(k)); cmd != nil {
			m.Update(cmd()) // the build's answer clears the pending launch
		}
	}
	launch("a") // the certificates table: no CSR action there
	if rec.name != "" {
		t.Fatalf("a on the certificates table started %q", rec.name)
	}
	press(m, "c")
	launch("a")
	if rec.name != "csr-approve" || rec.params["csr"] != "csr-good" || rec.params["watch"] != "0" {
		t.Errorf("a started %q %v", rec.name, rec.params)
	}
	launch("A")
	if rec.name != "csr-approve" || rec.params["all-valid"] != "true" || rec.params["csr"] != "" {
		t.Errorf("A started %q %v", rec.name, rec.params)
	}
	press(m, "j")
	launch("x")
	if rec.name != "csr-deny" || rec.params["csr"] != "csr-bad" {
		t.Errorf("x started %q %v", rec.name, rec.params)
	}

	m.Update(model.ProcedureAccess{Missing: map[string][]model.Right{
		"csr-approve": {{Verb: "approve", Group: "certificates.k8s.io", Resource: "signers"}},
	}})
	launch("a")
	if rec.name != "" || !strings.Contains(m.notice, "csr-approve: your credentials may not approve signers.certificates.k8s.io") {
		t.Errorf("started %q, notice %q", rec.name, m.notice)
	}
	press(m, "?")
	var marked []string
	for range 20 {
		for _, l := range strings.Split(screen(m), "\n") {
			if strings.Contains(l, deniedMark) {
				marked = append(marked, strings.Join(strings.Fields(l), " "))
			}
		}
		press(m, "j")
	}
	slices.Sort(marked)
	if marked = slices.Compact(marked); len(marked) != 2 || marked[0] != "A CSRs: approve all valid, watch what follows"+deniedMark ||
		marked[1] != "a CSRs: approve the selected request"+deniedMark {
		t.Errorf("want only the CSR approval marked (not etcd's a): %q", marked)
	}
}

// The host procedures open their forms from the Nodes pane (the selected
// node's host) and the Registries pane.
func TestHostActionsOpenTheirForms(t *testing.T) {
	m := sized(120, 40)
	WithActions(context.Background(), &recordingActions{})(m)
	m.Update(model.Nodes{Synced: true, PodsSynced: true, Items: []model.Node{{Name: "node-0", Readiness: model.NodeReady, Created: fixedNow.Add(-time.Hour)}}})
	for _, c := range []struct {
		pane                  int
		key, proc, host, asks string
	}{
		{paneNodes, "B", "host-backup", "node-0", "backup-dir"},
		{paneNodes, "H", "host-restore", "node-0", "backup"},
		{paneRegistries, "t", "registry-trust", "", "registry"},
		{paneRegistries, "e", "registries-edit", "", "add-search"},
	} {
		press(m, paneKey(c.pane), c.key)
		if m.form == nil || m.form.proc != c.proc || m.form.params["host"] != c.host {
			t.Fatalf("%s: form %+v", c.key, m.form)
		}
		if s := screen(m); !strings.Contains(s, c.asks) {
			t.Errorf("%s: the form does not ask --%s:\n%s", c.proc, c.asks, s)
		}
		press(m, "esc")
		if m.form != nil {
			t.Fatalf("%s: esc left the form open", c.proc)
		}
	}
}
