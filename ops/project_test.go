package ops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// dropNamespace deletes a namespace a test restored into and waits until
// it is gone, so its pods no longer count on the nodes other tests drain.
func dropNamespace(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	err := cluster.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Error(err)
		return
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := cluster.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("namespace %s still there after 60 s", ns)
}

func planOf(recs []model.JournalRecord, step string) string {
	for _, r := range recs {
		if r.Step == step && len(r.Plan) > 0 {
			return strings.Join(r.Plan, "\n")
		}
	}
	return ""
}

// project-backup of myapp, then project-restore of it under a new name:
// a dry run first creates nothing, the restore creates every object in
// dependency order, a second restore skips them all; archives with a
// flipped byte, truncated, or with a wrong checksum are refused before a
// namespace is created.
func TestProjectBackupAndRestore(t *testing.T) {
	s := session(t)
	root, dir := cluster.HostRoot(0), "/backup/projects-test"
	ctx := context.Background()

	// myapp holds a Secret, a Service, two Deployments and a PDB, plus the
	// bare debug pod unless the drain tests evicted it (bare pods are kept,
	// pods of a controller are not).
	wantCreated := 5
	pods, err := cluster.Client.CoreV1().Pods(localcluster.AppNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if len(p.OwnerReferences) == 0 {
			wantCreated++
		}
	}

	err, recs, sum := runJournaled(t, s, "project-backup", map[string]string{"namespace": localcluster.AppNamespace, "backup-dir": dir}, &auto{})
	if err != nil || sum.Outcome != model.OutcomeOK {
		t.Fatalf("backup: %v %+v", err, sum)
	}
	archive, ok := projectArchiveKey.Get(&RunState{values: sum.State})
	if !ok || !strings.HasPrefix(archive, dir+"/project-myapp-") {
		t.Fatalf("archive in the run state: %q", archive)
	}
	if p := planOf(recs, "preflight"); !strings.Contains(p, "deployments.apps") || !strings.Contains(p, "events: records of what happened") {
		t.Errorf("preflight plan:\n%s", p)
	}
	fi, err := os.Stat(filepath.Join(root, archive))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(root, archive+".sha256")); err != nil {
		t.Fatal(err)
	}

	to := "myapp-restored"
	t.Cleanup(func() { dropNamespace(t, to) })
	restore := map[string]string{"backup": archive, "namespace": to}

	// The dry run reads the archive and plans; nothing is created.
	p, err := s.Procedure("project-restore", restore)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, p, &auto{}, RunOptions{Journal: openJournal(t), DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client.CoreV1().Namespaces().Get(ctx, to, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a dry run created namespace %s: %v", to, err)
	}

	err, recs, sum = runJournaled(t, s, "project-restore", restore, &auto{})
	if err != nil || sum.Outcome != model.OutcomeOK {
		t.Fatalf("restore: %v %+v\n%v", err, sum, stepEnds(recs))
	}
	if p := planOf(recs, "verify-archive"); !strings.Contains(p, "backup of namespace myapp") || !strings.Contains(p, "restore into myapp-restored") {
		t.Errorf("verify-archive plan:\n%s", p)
	}
	// The default ServiceAccount is the controller-manager's: skipped when
	// it made it before the plan, created (then "created meanwhile") if not.
	dry := "server-side dry run (dryRun=All: admitted and validated, nothing stored): "
	if p := planOf(recs, "create"); !(strings.Contains(p, dry+fmt.Sprintf("would create %d, replace 0, skip 1, fail 0", wantCreated)) ||
		strings.Contains(p, dry+fmt.Sprintf("would create %d, replace 0, skip 0, fail 0", wantCreated+1))) || !strings.Contains(p, "would be created Deployment frontend") {
		t.Errorf("create plan:\n%s", p)
	}
	report, _ := restoreReportKey.Get(&RunState{values: sum.State})
	if report.Count(model.RestoreFailed) > 0 || (report.Count(model.RestoreCreated) != wantCreated && report.Count(model.RestoreCreated) != wantCreated+1) {
		t.Fatalf("restore report: %s\n%s", report.Summary(false), strings.Join(report.Lines(false), "\n"))
	}
	for _, get := range []func() error{
		func() error {
			_, err := cluster.Client.AppsV1().Deployments(to).Get(ctx, "frontend", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := cluster.Client.CoreV1().Services(to).Get(ctx, "frontend", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := cluster.Client.CoreV1().Secrets(to).Get(ctx, "frontend-cert", metav1.GetOptions{})
			return err
		},
	} {
		if err := get(); err != nil {
			t.Error(err)
		}
	}

	// Again: the namespace exists (skipped), every object is skipped.
	err, recs, sum = runJournaled(t, s, "project-restore", restore, &auto{})
	ends := stepEnds(recs)
	if err != nil || ends["namespace"].Outcome != model.OutcomeSkipped || ends["create"].Outcome != model.OutcomeOK {
		t.Fatalf("second restore: %v %v", err, ends)
	}
	report, _ = restoreReportKey.Get(&RunState{values: sum.State})
	if report.Count(model.RestoreSkipped) != len(report) || len(report) == 0 {
		t.Errorf("second restore: %s", report.Summary(false))
	}

	// Corrupted copies: refused at verify-archive, nothing created.
	data, err := os.ReadFile(filepath.Join(root, archive))
	if err != nil {
		t.Fatal(err)
	}
	line, err := os.ReadFile(filepath.Join(root, archive+".sha256"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)/3] ^= 0x20
	for name, c := range map[string]struct {
		data []byte
		sum  string
		why  string
	}{
		"flipped":   {flipped, string(line), "does not match the checksum file"},
		"truncated": {data[:len(data)/2], string(line), "does not match the checksum file"},
		"wrongsum":  {data, strings.Repeat("1", 64) + "  x\n", "does not match the checksum file"},
	} {
		file := filepath.Join(dir, "bad-"+name+".tar.gz")
		if err := os.WriteFile(filepath.Join(root, file), c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, file+".sha256"), []byte(c.sum), 0o600); err != nil {
			t.Fatal(err)
		}
		target := "myapp-bad-" + name
		err, recs, _ := runJournaled(t, s, "project-restore", map[string]string{"backup": file, "namespace": target}, &auto{})
		e := stepEnds(recs)["verify-archive"]
		if err == nil || e.Outcome != model.OutcomeBlocked || !strings.Contains(e.Error, "refused") || !strings.Contains(e.Error, c.why) {
			t.Errorf("%s: %v %+v", name, err, e)
		}
		if _, err := cluster.Client.CoreV1().Namespaces().Get(ctx, target, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: namespace %s created: %v", name, target, err)
		}
	}
}

// The view role may not read Secrets: a project backup as such a user is
// blocked at its first step, naming the rights, and writes nothing.
func TestProjectBackupNeedsListOnEveryType(t *testing.T) {
	grant(t, "day2-project-viewer", "view", nil)
	s := sessionAs(t, "day2-project-viewer")
	dir := "/backup/projects-viewer"
	err, recs, _ := runJournaled(t, s, "project-backup", map[string]string{"namespace": localcluster.AppNamespace, "backup-dir": dir}, &auto{})
	e := stepEnds(recs)["preflight"]
	if err == nil || e.Outcome != model.OutcomeBlocked || !strings.Contains(e.Error, "list secrets in myapp") || !strings.Contains(e.Error, "incomplete") {
		t.Fatalf("backup as a viewer: %v %+v", err, e)
	}
	if _, err := os.Stat(filepath.Join(cluster.HostRoot(0), dir)); !os.IsNotExist(err) {
		t.Errorf("a refused backup wrote %s: %v", dir, err)
	}
}

// project-backup and project-restore interrupted in every step and
// resumed: the backup keeps the archive its first session named (one file,
// though the sessions are seconds apart), the restore's verifies tell a
// created namespace and created objects from missing ones.
func TestProjectResumeAfterEveryStep(t *testing.T) {
	dir := "/backup/projects-resume"
	r := &resumer{t: t, s: session(t), pause: 1100 * time.Millisecond}
	out := r.run("project-backup", map[string]string{"namespace": localcluster.AppNamespace, "backup-dir": dir})
	out.complete(t, "project-backup")
	archive, _ := projectArchiveKey.Get(&RunState{values: out.sum.State})
	matches, _ := filepath.Glob(filepath.Join(cluster.HostRoot(0), dir, "*.tar.gz"))
	if len(matches) != 1 || matches[0] != filepath.Join(cluster.HostRoot(0), archive) {
		t.Fatalf("archives %v, the run's %s", matches, archive)
	}

	to := "myapp-resumed"
	t.Cleanup(func() { dropNamespace(t, to) })
	r = &resumer{t: t, s: session(t)}
	out = r.run("project-restore", map[string]string{"backup": archive, "namespace": to})
	out.complete(t, "project-restore")
	if _, err := cluster.Client.AppsV1().Deployments(to).Get(context.Background(), "frontend", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
}
