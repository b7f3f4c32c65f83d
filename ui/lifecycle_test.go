package ui

import (
	"context"
	"strings"
	"testing"
)

// The Health pane starts the whole-cluster procedures: H asks the expected
// downtime and the backup directory, then launches cluster-shutdown; B
// launches cluster-restart, which asks nothing.
func TestHealthPaneStartsShutdownAndRestart(t *testing.T) {
	m := sized(80, 24)
	rec := &recordingActions{}
	WithActions(context.Background(), rec)(m)
	press(m, paneKey(paneHealth), "H")
	s := screen(m)
	for _, want := range []string{"cluster-shutdown", "> --expected-downtime", "esc cancels"} {
		if !strings.Contains(s, want) {
			t.Errorf("form lacks %q:\n%s", want, s)
		}
	}
	checkShape(t, s, 80, 24)
	press(m, "7", "2", "h")
	m.Update(keyMsg("enter"))
	if !strings.Contains(screen(m), "> --backup-dir") {
		t.Errorf("the backup directory should be asked next:\n%s", screen(m))
	}
	settle(m, keyMsg("enter")) // keeps the default
	if rec.name != "cluster-shutdown" || rec.params["expected-downtime"] != "72h" || rec.params["backup-dir"] != "/backup/etcd" {
		t.Errorf("launched %s %v", rec.name, rec.params)
	}
	rec.name = ""
	settle(m, keyMsg("B"))
	if rec.name != "cluster-restart" || m.form != nil {
		t.Errorf("B launched %q (form %v)", rec.name, m.form)
	}
	// Elsewhere the keys do nothing of the sort.
	rec.name = ""
	press(m, paneKey(paneNodes), "H")
	if rec.name != "" || m.form != nil {
		t.Errorf("H on the Nodes pane launched %q", rec.name)
	}
}
