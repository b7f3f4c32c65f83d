package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// etcdClient is a client of every member of c, with the harness's identity.
func etcdClient(t *testing.T, c *localcluster.Cluster) *clientv3.Client {
	t.Helper()
	tlsCfg, err := transport.TLSInfo{CertFile: c.EtcdCert, KeyFile: c.EtcdKey, TrustedCAFile: c.EtcdCA}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.EtcdEndpoints(), TLS: tlsCfg, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// setQuota sets every member's ETCD_QUOTA_BACKEND_BYTES and restarts the
// members one at a time.
func setQuota(t *testing.T, c *localcluster.Cluster, s *Session, quota int64) {
	t.Helper()
	for i, m := range c.Masters {
		conf := filepath.Join(m.Root, localcluster.EtcdConfPath)
		data, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(conf, model.SetEnvFileValues(data, model.EnvVar{Key: "ETCD_QUOTA_BACKEND_BYTES", Value: fmt.Sprint(quota)}), 0o644); err != nil {
			t.Fatal(err)
		}
		c.StopMember(i)
		c.StartMember(i)
		if err := waitFor(context.Background(), 30*time.Second, 300*time.Millisecond, func() (bool, string) {
			m, _ := s.poller.Poll(context.Background()).Member(m.Name)
			return m.Reached, m.Name + " does not answer: " + m.Err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// A small quota filled up: every member raises NOSPACE. With the quota then
// lowered under what the data needs, etcd-defrag compacts and defragments
// but refuses to disarm; once the data is deleted (deletes are allowed
// under NOSPACE) it disarms NOSPACE, and etcd takes writes again. On every
// etcd version: before 3.6 the members do not report their quota, and it
// comes from etcd.conf.
func TestEtcdDefragDisarmsNoSpace(t *testing.T) { eachEtcdVersion(t, testEtcdDefragDisarmsNoSpace) }

func testEtcdDefragDisarmsNoSpace(t *testing.T, version string) {
	c := ownClusterOf(t, version)
	s := sessionOn(t, c)
	ctx := context.Background()
	setQuota(t, c, s, 24<<20)
	waitHealthy(t, s)

	cli := etcdClient(t, c)
	value := strings.Repeat("x", 512<<10)
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = cli.Put(wctx, fmt.Sprintf("/day2-fill/%03d", i), value)
		cancel()
	}
	if !errors.Is(err, rpctypes.ErrNoSpace) {
		t.Fatalf("filling the database must end in NOSPACE, got %v", err)
	}
	setQuota(t, c, s, 16<<20) // the alarm is kept in the database across restarts
	if as := s.poller.Poll(ctx).Alarms(); len(as) == 0 || as[0].Alarm != model.AlarmNoSpace {
		t.Fatalf("want NOSPACE listed: %+v", as)
	}

	op, sum, _ := runProc(t, s, "etcd-defrag", map[string]string{"timeout": "2m"})
	if step, problem := lastProblem(op.prompts); step != "disarm-nospace" || !strings.Contains(problem, "still not under its quota of 16.0 MiB") {
		t.Fatalf("NOSPACE must stay while over quota: %s: %s", step, problem)
	}
	if stepOutcome(t, sum, "compact") != model.OutcomeOK || stepOutcome(t, sum, "defragment") != model.OutcomeOK || stepOutcome(t, sum, "disarm-nospace") != model.OutcomeBlocked {
		t.Errorf("journal over quota: %+v", sum)
	}
	if p := strings.Join(disarmPlan(op.prompts), "\n"); model.ReportsQuota(s.poller.Poll(ctx).Version) != strings.Contains(p, "quota 16.0 MiB (reported by the member)") ||
		!strings.Contains(p, "quota 16.0 MiB") {
		t.Errorf("disarm plan on etcd %s: the quota and where it comes from:\n%s", version, p)
	}
	if len(running(op.events, "defragment", "defragmenting ")) != 3 {
		t.Errorf("members with only NOSPACE are defragmented: %q", messages(op.events, "defragment"))
	}

	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = cli.Delete(dctx, "/day2-fill/", clientv3.WithPrefix())
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	op, sum, err = runProc(t, s, "etcd-defrag", map[string]string{"timeout": "2m"})
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("defrag after freeing space: %v (%s: %s)", err, step, problem)
	}
	if !sum.Finished || sum.Outcome != model.OutcomeOK || stepOutcome(t, sum, "disarm-nospace") != model.OutcomeOK {
		t.Errorf("journal: %+v", sum)
	}
	if len(running(op.events, "disarm-nospace", "disarmed NOSPACE of ")) == 0 {
		t.Error("no NOSPACE disarmed")
	}
	snap := waitHealthy(t, s)
	if as := snap.Alarms(); len(as) != 0 {
		t.Errorf("alarms left: %+v", as)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Put(pctx, "/day2-after", "ok"); err != nil {
		t.Errorf("etcd must take writes again: %v", err)
	}
}

func disarmPlan(prompts []Prompt) []string {
	for _, p := range prompts {
		if p.Step.ID == "disarm-nospace" {
			return p.Plan
		}
	}
	return nil
}
