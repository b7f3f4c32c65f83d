package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/day2ops/day2/internal/journal"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

var (
	cluster *localcluster.Cluster
	day2Bin string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "day2-bin-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	day2Bin = filepath.Join(dir, "day2")
	if out, err := exec.Command("go", "build", "-o", day2Bin, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		os.Exit(1)
	}
	os.Exit(localcluster.Main(m, localcluster.Options{}, func(c *localcluster.Cluster) { cluster = c }))
}

// day2 prepares the binary as an operator on master-0 would run it.
func day2(t *testing.T, journalDir string, args ...string) *exec.Cmd {
	base := []string{"--kubeconfig", filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig), "--host-root", cluster.HostRoot(0), "--journal-dir", journalDir}
	cmd := exec.Command(day2Bin, append(args, base...)...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "XDG_STATE_HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
	return cmd
}

func setMinAvailable(t *testing.T, n string) {
	if _, err := cluster.Client.PolicyV1().PodDisruptionBudgets(localcluster.AppNamespace).Patch(context.Background(), "frontend",
		types.MergePatchType, []byte(`{"spec":{"minAvailable":`+n+`}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func onlyRun(t *testing.T, dir string) model.RunSummary {
	t.Helper()
	j, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := j.Runs()
	if err != nil || len(runs) != 1 {
		t.Fatalf("want exactly one run journal: %v %v", runs, err)
	}
	return runs[0]
}

// A drain killed with SIGKILL mid-eviction leaves a journal that says where
// it stopped; running it again offers to resume, finishes, and the same
// journal shows both sessions.
func TestKilledDrainResumes(t *testing.T) {
	node, err := cluster.NodeOf(context.Background(), localcluster.AppNamespace, "app=frontend")
	if err != nil {
		t.Fatal(err)
	}
	// A budget that allows nothing holds the drain in its evict step.
	setMinAvailable(t, "3")
	t.Cleanup(func() { setMinAvailable(t, "2") })
	dir := t.TempDir()

	first := day2(t, dir, "run", "drain", "--node", node, "--delete-emptydir-data", "--force", "--yes", "--confirm", node)
	var out1 syncBuffer
	first.Stdout, first.Stderr = &out1, &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the drain to be blocked in its evict step", func() bool {
		return strings.Contains(out1.String(), "blocked by PodDisruptionBudget myapp/frontend")
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	sum := onlyRun(t, dir)
	if !sum.Resumable() || sum.StoppedAt != "evict" || sum.Sessions != 1 {
		t.Fatalf("after SIGKILL the journal must say the run stopped in evict: %+v", sum)
	}
	if st, _ := sum.Step("evict"); !st.Started || st.Done() {
		t.Fatalf("evict started, not ended: %+v", st)
	}

	setMinAvailable(t, "2")
	second := day2(t, dir, "run", "drain", "--node", node, "--delete-emptydir-data", "--force", "--confirm", node, "--timeout", "2m")
	second.Stdin = strings.NewReader("y\n")
	out2, err := second.CombinedOutput()
	t.Cleanup(func() {
		if out, err := day2(t, t.TempDir(), "run", "uncordon", "--node", node, "--yes").CombinedOutput(); err != nil {
			t.Errorf("uncordon: %v\n%s", err, out)
		}
	})
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out2)
	}
	for _, want := range []string{"Unfinished run " + sum.RunID, `stopped at step "evict"`, "preflight: done: done in an earlier session", "evict: done"} {
		if !strings.Contains(string(out2), want) {
			t.Errorf("resumed run output lacks %q:\n%s", want, out2)
		}
	}
	sum = onlyRun(t, dir)
	if !sum.Finished || sum.Outcome != model.OutcomeOK || sum.Sessions != 2 {
		t.Fatalf("one journal, two sessions, finished ok: %+v", sum)
	}
}

func TestRunRefusesWithoutConsentAndOnBadInput(t *testing.T) {
	dir := t.TempDir()
	out, err := day2(t, dir, "run", "drain", "--node", "no-such-node.example.com", "--yes").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitAborted {
		t.Fatalf("drain of a missing node: want exit %d, got %v\n%s", exitAborted, err, out)
	}
	if !strings.Contains(string(out), `nodes "no-such-node.example.com" not found`) {
		t.Errorf("the reason must be shown:\n%s", out)
	}
	out, err = day2(t, dir, "run", "drain").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "drain needs --node") {
		t.Errorf("missing --node: %v\n%s", err, out)
	}
	// A flag of another procedure is refused, not ignored: --all is
	// host-backup's, and a drain of one node must not look like more.
	out, err = day2(t, dir, "run", "drain", "--node", cluster.Workers[0], "--all").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "drain takes no --all (its parameters: --node --delete-emptydir-data --force --timeout)") {
		t.Errorf("another procedure's flag: %v\n%s", err, out)
	}
	if n, _ := cluster.Client.CoreV1().Nodes().Get(context.Background(), cluster.Workers[0], metav1.GetOptions{}); n == nil || n.Spec.Unschedulable {
		t.Errorf("a refused run cordoned %s", cluster.Workers[0])
	}
	out, err = day2(t, dir, "run", "drain", "--node", cluster.Workers[0], "--timeout", "soon").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `--timeout "soon"`) {
		t.Errorf("bad --timeout: %v\n%s", err, out)
	}
}

// syncBuffer is a bytes.Buffer safe to read while the child writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A dropped SSH session (SIGHUP) or SIGTERM ends a run cleanly: exit code
// 3 and a journal record saying which step was interrupted.
func TestSignalEndsRunWithJournalRecord(t *testing.T) {
	node, err := cluster.NodeOf(context.Background(), localcluster.AppNamespace, "app=frontend")
	if err != nil {
		t.Fatal(err)
	}
	setMinAvailable(t, "3")
	t.Cleanup(func() { setMinAvailable(t, "2") })
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM} {
		dir := t.TempDir()
		cmd := day2(t, dir, "run", "drain", "--node", node, "--delete-emptydir-data", "--force", "--yes", "--confirm", node)
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the drain to be blocked", func() bool { return strings.Contains(out.String(), "blocked by PodDisruptionBudget") })
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
			t.Fatalf("%v: want exit %d, got %v\n%s", sig, exitInterrupted, err, out.String())
		}
		sum := onlyRun(t, dir)
		if st, _ := sum.Step("evict"); st.Outcome != model.OutcomeInterrupted || !sum.Resumable() {
			t.Errorf("%v: journal must record the interrupted evict step: %+v", sig, sum)
		}
	}
	if out, err := day2(t, t.TempDir(), "run", "uncordon", "--node", node, "--yes").CombinedOutput(); err != nil {
		t.Errorf("uncordon: %v\n%s", err, out)
	}
}

// -o json: one JSON object per line, events and prompts, for scripts.
func TestRunJSONOutput(t *testing.T) {
	node := cluster.Workers[0]
	out, err := day2(t, t.TempDir(), "run", "cordon", "--node", node, "--yes", "-o", "json").Output()
	t.Cleanup(func() { _, _ = day2(t, t.TempDir(), "run", "uncordon", "--node", node, "--yes").CombinedOutput() })
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var states []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var ev struct {
			Step   string `json:"step"`
			State  string `json:"state"`
			Prompt string `json:"prompt"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON line: %q (%v)", line, err)
		}
		if ev.State != "" {
			states = append(states, ev.State)
		}
	}
	if got := strings.Join(states, ","); got != "checking,waiting,running,verifying,done" {
		t.Errorf("states = %s", got)
	}
}

// day2 run project-backup writes its archive under --host-root's default
// /backup/projects; project-restore --dry-run plans from it and creates
// nothing; restored over the live project, every object is skipped.
func TestRunProjectBackupAndRestore(t *testing.T) {
	out, err := day2(t, t.TempDir(), "run", "project-backup", "--namespace", localcluster.AppNamespace, "--yes").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(cluster.HostRoot(0), "backup/projects/project-myapp-*.tar.gz"))
	if len(matches) != 1 || !strings.Contains(string(out), "sha256") {
		t.Fatalf("archives %v\n%s", matches, out)
	}
	archive := "/" + strings.TrimPrefix(matches[0], cluster.HostRoot(0)+"/")
	out, err = day2(t, t.TempDir(), "run", "project-restore", "--backup", archive, "--namespace", "myapp-cli", "--dry-run").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "backup of namespace myapp") || !strings.Contains(string(out), "restore into myapp-cli") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if _, err := cluster.Client.CoreV1().Namespaces().Get(context.Background(), "myapp-cli", metav1.GetOptions{}); err == nil {
		t.Fatal("a dry run created the namespace")
	}
	out, err = day2(t, t.TempDir(), "run", "project-restore", "--backup", archive, "--yes").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "skipped Deployment frontend") || !strings.Contains(string(out), "created 0, replaced 0, skipped") {
		t.Fatalf("restore over the live project: %v\n%s", err, out)
	}
}
