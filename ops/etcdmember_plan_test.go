package ops

import (
	"context"
	"strings"
	"testing"

	"github.com/day2ops/day2/model"
)

func stepOf(t *testing.T, p *Procedure, id string) *Step {
	t.Helper()
	for _, st := range p.Steps {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("%s has no step %s", p.Name, id)
	return nil
}

// add-learner's Verify accepts only a learner with the peer URL: a voting
// member there is not what the step adds (it changed the quorum).
func TestAddLearnerVerifyWantsALearner(t *testing.T) {
	s := session(t)
	voter := s.poller.Poll(context.Background()).Members[0]
	p, err := s.Procedure("etcd-add-member", map[string]string{"name": "new-host", "peer-url": first(voter.PeerURLs), "client-url": "https://127.0.0.1:59979"})
	if err != nil {
		t.Fatal(err)
	}
	err = stepOf(t, p, "add-learner").Verify(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is a voting member, not the learner this step adds") {
		t.Fatalf("add-learner verified a voting member with the peer URL: %v", err)
	}
}

// The operator's instructions move a data dir aside the way the automated
// steps do (under /var/lib/etcd-backup, stamped), never rm or /tmp.
func TestManualDataDirInstructionsKeepTheData(t *testing.T) {
	s := session(t)
	p, err := s.Procedure("etcd-add-member", map[string]string{"name": "new-host", "peer-url": "https://127.0.0.1:59980", "client-url": "https://127.0.0.1:59979"})
	if err != nil {
		t.Fatal(err)
	}
	start, err := stepOf(t, p, "start-member").Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	old := model.EtcdMember{ID: 1, Name: "master-9", ClientURLs: []string{"https://127.0.0.1:59979"}}
	var plans []string
	for _, ocp4 := range []bool{false, true} {
		pl, err := stopMemberStep(s, old, nil, model.FaultCrashlooping.String(), ocp4).Plan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, strings.Join(pl, "\n"))
	}
	want := "mkdir -p /var/lib/etcd-backup && mv /var/lib/etcd /var/lib/etcd-backup/etcd-$(date -u +%Y%m%dT%H%M%SZ)"
	for i, plan := range append(plans, strings.Join(start, "\n")) {
		if strings.Contains(plan, "rm -") || strings.Contains(plan, "/tmp") || !strings.Contains(plan, want) {
			t.Errorf("plan %d must move the data aside with %q:\n%s", i, want, plan)
		}
	}
	if got := dataAsideDest("/var/lib/etcd", "20240101T000000Z"); got != "/var/lib/etcd-backup/etcd-20240101T000000Z" {
		t.Errorf("the automated move goes to %s", got)
	}
}
