package ui

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
	"github.com/day2ops/day2/ops"
)

var (
	cluster = (*localcluster.Cluster)(nil)
	update  = flag.Bool("update", false, "rewrite the golden screens in testdata/")
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// The pure tests need no cluster.
		os.Exit(m.Run())
	}
	os.Exit(localcluster.Main(m, localcluster.Options{}, func(c *localcluster.Cluster) { cluster = c }))
}

// console is the root model fed by a real session on master-0 of the local
// cluster, as `day2 demo` opens it.
type console struct {
	m    *Model
	msgs chan any
	// rewrite, when set, changes each message before the model sees it.
	rewrite func(tea.Msg) tea.Msg
	// clock is the model's time; tests move it past the prompt grace.
	clock time.Time
}

func newConsole(t *testing.T, w, h int) *console { return newConsoleWith(t, w, h, false) }

// newConsoleWith optionally enables actions (procedures journaled in a
// temporary directory).
func newConsoleWith(t *testing.T, w, h int, actions bool) *console {
	t.Helper()
	return newConsoleOn(t, w, h, actions, func(*ops.SessionOptions) {})
}

// newConsoleOn is newConsoleWith on a session whose options edit changes.
func newConsoleOn(t *testing.T, w, h int, actions bool, edit func(*ops.SessionOptions)) *console {
	t.Helper()
	if cluster == nil {
		t.Skip("needs the local cluster (not in -short mode)")
	}
	return newConsoleOnCluster(t, cluster, w, h, actions, edit)
}

// newConsoleOnCluster is newConsoleOn on cluster c.
func newConsoleOnCluster(t *testing.T, cluster *localcluster.Cluster, w, h int, actions bool, edit func(*ops.SessionOptions)) *console {
	t.Helper()
	o := ops.SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   cluster.HostRoot(0),
		Getenv:     func(string) string { return "" },
		JournalDir: t.TempDir(), User: "tester", Host: "master-0",
	}
	edit(&o)
	sess, err := ops.NewSession(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); sess.Wait() })
	c := &console{msgs: make(chan any, 64), clock: time.Now()}
	opts := append(ForSession(sess), WithClock(func() time.Time { return c.clock }))
	if actions {
		opts = append(opts, WithActions(ctx, sess))
	}
	c.m = New(sess.Info(), opts...)
	c.m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	go sess.Run(ctx, func(msg any) {
		select {
		case c.msgs <- msg:
		case <-ctx.Done():
		}
	})
	return c
}

// until applies the session's messages to the model until the plain-text
// screen satisfies cond, and fails after timeout.
func (c *console) until(t *testing.T, what string, timeout time.Duration, cond func(string) bool) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s := screen(c.m)
		if cond(s) {
			return s
		}
		select {
		case msg := <-c.msgs:
			c.apply(msg)
		case <-deadline:
			t.Fatalf("%s: not within %s; screen:\n%s", what, timeout, s)
		}
	}
}

// apply runs a message through the model and its command (a procedure's
// next event) in the background, as the bubbletea runtime would.
func (c *console) apply(msg tea.Msg) {
	if c.rewrite != nil {
		msg = c.rewrite(msg)
	}
	_, cmd := c.m.Update(msg)
	c.run(cmd)
}

func (c *console) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		switch msg := cmd().(type) {
		case nil, tickMsg:
		case tea.BatchMsg:
			for _, cmd := range msg {
				c.run(cmd)
			}
		default:
			c.msgs <- msg
		}
	}()
}

// key presses a key as the operator, at the console's clock.
func (c *console) key(k string) {
	_, cmd := c.m.Update(keyMsg(k))
	c.run(cmd)
}

func (c *console) typeText(s string) {
	for _, r := range s {
		c.key(string(r))
	}
}

var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
	// The temporary dir's name varies in length, so where an 80-column
	// screen cuts the etcd.conf path varies too.
	{regexp.MustCompile(`source /\S*/day2-cluster-\d+/\S*`), "source <dir>/hosts/master-0.example.com/etc/etcd/etcd.conf"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "<sha256>"},
	{regexp.MustCompile(`\b[0-9a-f]{10,16}\b`), "<id>"},
	{regexp.MustCompile(`\b\d{8}T\d{6}Z\b`), "<stamp>"},
	{regexp.MustCompile(`T\d{2}:\d{2}:\d{2}Z\b`), "T<time>Z"},
	{regexp.MustCompile(`\b(snapshot_\d{4}-\d{2}-\d{2}_)\d{6}`), "${1}<time>"},
	{regexp.MustCompile(`\brevision \d+`), "revision N"},
	// What the internet's registries answer depends on the machine's network.
	{regexp.MustCompile(`(?m)^((?:registry\.redhat\.io|docker\.io|quay\.io|registry\.example\.com:5000)\S*) .*$`), "$1 <external>"},
	{regexp.MustCompile(`\d+ warnings(,| ·) \d+ failures`), "N warnings$1 N failures"},
	// How many elections the members went through at start varies.
	{regexp.MustCompile(`leader changes seen \d+ \(members' counter\)`), "leader changes seen N (members' counter)"},
	// Service ClusterIPs are allocated at random.
	{regexp.MustCompile(`\b172\.30\.\d+\.\d+`), "<cluster-ip>"},
	// Certificates are issued relative to the cluster's start.
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?`), "<date>"},
	// A lease holder is the machine's hostname and a UUID.
	{regexp.MustCompile(`\S+, renewed`), "<holder>, renewed"},
	// A latency of a second or more ("1.2s") is not an age.
	{regexp.MustCompile(`\b\d+\.\d+s\b`), "<lat>"},
	{regexp.MustCompile(`\b(\d+[smhdy])+\b`), "<age>"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(µs|ms|s)\b`), "<lat>"},
	{regexp.MustCompile(`\d+(\.\d+)? (B|KiB|MiB|GiB)\b`), "<size>"},
	{regexp.MustCompile(`\b(term|index|applied) \d+`), "$1 N"},
	// Which member leads varies between runs.
	{regexp.MustCompile(`leader master-\d[.\w]*…?`), "leader <member>"},
	{regexp.MustCompile(`\b(leader|follower)( +)(healthy|unhealthy|unreachable)\b`), "<role>$2$3"},
	{regexp.MustCompile(` {2,}`), " "},
	// Rows carry a raft index after the size; how the scheduler spread the
	// compute pods varies between runs.
	{regexp.MustCompile(`(<size>) \d+`), "$1 N"},
	{regexp.MustCompile(`(node-\d\.example\.com Ready compute <age>(?: kwok-\S+)?) \d+ \d+% \d+%`), "$1 N N% N%"},
}

// normalize makes a screen comparable across runs: ports, paths, IDs,
// ages, latencies, sizes and raft indexes vary; runs of spaces collapse
// (column widths follow the values); trailing spaces go.
func normalize(s string) string {
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	got = normalize(got)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", name, path, got, want)
	}
}

// ready: the header shows the server version and a healthy etcd.
func ready(s string) bool {
	return strings.Contains(s, "[etcd 3/3 healthy · ft 1]") && strings.Contains(s, "v1.35.4")
}

// healthyRow matches an etcd member row that is healthy.
var healthyRow = regexp.MustCompile(`(?m)^\S+ +master-\d\.example\.com +(leader|follower) +healthy`)

// probedAll reads the Registries pane's "probed n/m".
var probedAll = regexp.MustCompile(`probed (\d+)/(\d+)`)

// nodeRow matches a Ready node's row.
var nodeRow = regexp.MustCompile(`(?m)^\S+\.example\.com +Ready`)

// unknownPods matches a node row whose pod count is not known yet.
var unknownPods = regexp.MustCompile(`(?m)\.example\.com .* \?( |$)`)

func TestConsoleGoldenScreens(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		c := newConsole(t, w, h)
		nodes := c.until(t, "nodes and etcd live", 30*time.Second, func(s string) bool {
			return ready(s) && strings.Contains(s, "9 nodes · 9 Ready") && len(nodeRow.FindAllString(s, -1)) == 9 && !unknownPods.MatchString(s)
		})
		checkShape(t, c.m.Render(), w, h)
		golden(t, "nodes-"+sizeName(w, h), nodes)
		press(c.m, paneKey(paneEtcd))
		etcd := c.until(t, "etcd pane with three members", 10*time.Second, func(s string) bool {
			return len(healthyRow.FindAllString(s, -1)) == 3
		})
		checkShape(t, c.m.Render(), w, h)
		golden(t, "etcd-"+sizeName(w, h), etcd)

		c.key(paneKey(paneRegistries))
		regs := c.until(t, "registries probed", 60*time.Second, func(s string) bool {
			m := probedAll.FindStringSubmatch(s)
			return m != nil && m[1] == m[2] && strings.Contains(s, "401 alive")
		})
		checkShape(t, c.m.Render(), w, h)
		golden(t, "registries-"+sizeName(w, h), regs)

		c.key(paneKey(paneCerts))
		certs := c.until(t, "certificates scanned", 30*time.Second, func(s string) bool { return strings.Contains(s, "certificates · ") })
		checkShape(t, c.m.Render(), w, h)
		golden(t, "certs-"+sizeName(w, h), certs)
		c.key("c")
		c.until(t, "CSRs listed", 30*time.Second, func(s string) bool { return strings.Contains(s, "CSRs · ") && strings.Contains(s, "INVALID") })
		// The seeded requests may share a creation second: order by name.
		c.key("s")
		c.key("g")
		csrs := c.until(t, "CSRs by name", 5*time.Second, func(s string) bool { return strings.Contains(s, "NAME↑") })
		checkShape(t, c.m.Render(), w, h)
		golden(t, "csrs-"+sizeName(w, h), csrs)

		c.key(paneKey(paneHealth))
		health := c.until(t, "health checked", 30*time.Second, func(s string) bool { return strings.Contains(s, " pass · ") })
		checkShape(t, c.m.Render(), w, h)
		golden(t, "health-"+sizeName(w, h), health)
	}
}

func sizeName(w, h int) string { return fmt.Sprintf("%dx%d", w, h) }

func TestConsoleShowsKilledMemberWithinThreeSeconds(t *testing.T) {
	c := newConsole(t, 80, 24)
	press(c.m, paneKey(paneEtcd))
	c.until(t, "healthy cluster", 30*time.Second, ready)
	victim := cluster.Masters[1].Name
	cluster.StopMember(1)
	t.Cleanup(func() { cluster.StartMember(1) })
	s := c.until(t, "killed member shown", 3*time.Second, func(s string) bool {
		return strings.Contains(s, "[etcd 2/3 degraded · ft 0]") && rowHas(s, victim, "unreachable")
	})
	if !strings.Contains(s, "fault tolerance 0") {
		t.Errorf("summary should show the reduced fault tolerance:\n%s", s)
	}

	// A second member down: quorum is lost, the members are still listed
	// (serializable list) under the banner, naming the one that answers.
	cluster.StopMember(2)
	t.Cleanup(func() { cluster.StartMember(2) })
	c.until(t, "quorum lost shown", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "NO QUORUM: 0 of 3 voting members healthy, 2 needed") &&
			strings.Contains(s, "answering: "+cluster.Masters[0].Name) && strings.Contains(s, "[etcd NO QUORUM 0/3]") &&
			rowHas(s, cluster.Masters[0].Name, "unhealthy") && rowHas(s, cluster.Masters[2].Name, "unreachable")
	})
	cluster.StartMember(1)
	cluster.StartMember(2)
	c.until(t, "members back", 30*time.Second, func(s string) bool {
		return rowHas(s, victim, "healthy") && rowHas(s, cluster.Masters[2].Name, "healthy")
	})
}

// rowHas reports whether the table row of name contains text.
func rowHas(screen, name, text string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, " "+name+" ") && strings.Contains(l, text) {
			return true
		}
	}
	return false
}

func TestWizardDrainsNodeFromTheConsole(t *testing.T) {
	c := newConsoleWith(t, 80, 24, true)
	// A node that surely has a pod to evict: where a frontend pod runs.
	node, err := cluster.NodeOf(context.Background(), localcluster.AppNamespace, "app=frontend")
	if err != nil {
		t.Fatal(err)
	}
	c.until(t, "nodes listed", 30*time.Second, func(s string) bool { return strings.Contains(s, "9 nodes · 9 Ready") })
	for i := 0; i < 20; i++ {
		if r, _ := c.m.nodes.table.Selected(); r.Key == node {
			break
		}
		c.key("j")
	}
	c.key("d")
	c.until(t, "pre-flight prompt", 20*time.Second, func(s string) bool {
		return strings.Contains(s, "Look at what the drain will do to "+node) && c.m.wiz != nil && c.m.wiz.prompt != nil
	})
	// Typed-ahead keys are ignored while the prompt is new.
	c.key("y")
	if s := screen(c.m); !strings.Contains(s, "keys are ignored for a moment") {
		t.Fatalf("a key right after the prompt opened must be ignored:\n%s", s)
	}
	if c.m.wiz.prompt == nil {
		t.Fatal("the ignored key answered the prompt")
	}

	answered := map[string]bool{}
	final := c.until(t, "drain finished", 90*time.Second, func(s string) bool {
		if strings.Contains(s, "Done.") || strings.Contains(s, "aborted") {
			return true
		}
		w := c.m.wiz
		if w == nil || w.prompt == nil {
			return false
		}
		c.clock = c.clock.Add(time.Second) // past the grace period
		p := w.prompt.p
		switch {
		case strings.Contains(s, "[e] allow") && !answered["e"]:
			answered["e"] = true
			c.key("e")
		case strings.Contains(s, "[f] allow") && !answered["f"]:
			answered["f"] = true
			c.key("f")
		case p.Step.Destructive:
			// Which pods the plan lists depends on the scheduler, so this
			// screen is checked by content; the cordon one is golden.
			for _, want := range []string{"? 3 Evict the pods of " + node + " (destructive)", "/eviction", `Type "` + node + `" and enter`} {
				if !strings.Contains(s, want) {
					t.Errorf("evict prompt lacks %q:\n%s", want, s)
				}
			}
			checkShape(t, c.m.Render(), 80, 24)
			if !answered["mistyped"] {
				// A wrong word is refused and the runner asks again.
				answered["mistyped"] = true
				c.typeText(node[:4])
				c.key("enter")
				return false
			}
			if !strings.Contains(p.Problem, `got "`+node[:4]+`"`) {
				t.Errorf("a mistyped confirmation must be explained, got %q", p.Problem)
			}
			c.typeText(node)
			c.key("enter")
		case p.Step.ID == "cordon":
			golden(t, "wizard-cordon-80x24", strings.ReplaceAll(s, node, "<node>"))
			c.key("y")
		default:
			c.key("y")
		}
		return false
	})
	if !strings.Contains(final, "Done.") {
		t.Fatalf("drain did not finish:\n%s", final)
	}
	n, err := cluster.Client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil || !n.Spec.Unschedulable {
		t.Fatalf("node must be cordoned after the drain: %v", err)
	}
	t.Cleanup(func() {
		_, _ = cluster.Client.CoreV1().Nodes().Patch(context.Background(), node, types.MergePatchType,
			[]byte(`{"spec":{"unschedulable":false}}`), metav1.PatchOptions{})
	})
	c.key("esc")
	if c.m.wiz != nil {
		t.Fatal("esc closes a finished wizard")
	}
	c.key(paneKey(paneJournal))
	c.until(t, "the run in the Journal pane", 10*time.Second, func(s string) bool {
		if !rowHas(s, node, "done") || !strings.Contains(s, "tester@master-0") {
			return false
		}
		c.key("g") // the newest run, whatever was selected before
		return regexp.MustCompile(`evict +ok`).MatchString(screen(c.m))
	})
}

func TestReadonlyHidesActions(t *testing.T) {
	m := sized(80, 24)
	press(m, "?")
	if s := screen(m); strings.Contains(s, "drain node") {
		t.Fatalf("read-only help must not offer actions:\n%s", s)
	}
	m.Update(model.Nodes{Synced: true, Items: []model.Node{{Name: "n1", Readiness: model.NodeReady}}})
	press(m, "esc", "d")
	if m.wiz != nil {
		t.Fatal("d must do nothing without actions")
	}
}

// The Certificates pane scans master-0's host root (as if on that master)
// and finds the seeded expiry spread, soonest first.
func TestCertificatesPaneOnLocalCluster(t *testing.T) {
	c := newConsole(t, 120, 40)
	c.key(paneKey(paneCerts))
	s := c.until(t, "certificates scanned", 30*time.Second, func(s string) bool { return strings.Contains(s, "certificates ·") })
	// Line 3 is the certificates/CSRs switcher, line 4 the header.
	lines := strings.Split(s, "\n")
	if !strings.Contains(lines[4], "expired") || !strings.Contains(lines[4], "/etc/origin/master/openshift-router.crt") {
		t.Errorf("the expired router certificate must come first:\n%s", s)
	}
	flat := normalize(s) // runs of spaces collapsed
	for _, want := range []string{"critical /etc/origin/master/registry.crt", "warning /etc/origin/master/master.proxy-client.crt",
		"/etc/origin/master/admin.kubeconfig (user system:", "/etc/etcd/peer.crt"} {
		if !strings.Contains(flat, want) {
			t.Errorf("pane lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "problems") {
		t.Errorf("the seeded host has no broken file:\n%s", s)
	}
	checkShape(t, c.m.Render(), 120, 40)
}

// waitWizard answers the wizard's prompts with y (past the grace) until
// the run ends, and returns the last screen.
func (c *console) finishWizard(t *testing.T, what string) string {
	t.Helper()
	return c.until(t, what, 60*time.Second, func(s string) bool {
		w := c.m.wiz
		if w != nil && w.finished {
			return true
		}
		if w != nil && w.prompt != nil {
			c.clock = c.clock.Add(time.Second)
			c.key("y")
		}
		return false
	})
}

// normalizePlan replaces what varies between runs in a wizard message's
// plan (revisions, sizes, times, ports, hashes) before the wizard wraps it,
// so a golden of the wrapped screen is stable.
func normalizePlan(msg tea.Msg) tea.Msg {
	plan := func(p ops.Plan) ops.Plan {
		out := make(ops.Plan, len(p))
		for i, l := range p {
			out[i] = strings.TrimSuffix(normalize(l), "\n")
		}
		return out
	}
	switch m := msg.(type) {
	case wizardPrompt:
		m.p.Plan = plan(m.p.Plan)
		return m
	case wizardEvent:
		m.ev.Plan = plan(m.ev.Plan)
		return m
	}
	return msg
}

// The restore wizard at 80x24 on a real snapshot of the local cluster:
// a window of its 18 steps, the whole WARNING, the plan wrapped (and
// scrolled), and the decision line on the wizard's last row. The snapshot
// path is pasted into the form. Nothing is restored: the run is aborted at
// its first step.
func TestRestoreWizardAt80x24(t *testing.T) {
	c := newConsoleWith(t, 80, 24, true)
	c.until(t, "etcd live", 30*time.Second, ready)
	c.key(paneKey(paneEtcd))
	c.until(t, "members listed", 10*time.Second, func(s string) bool { return len(healthyRow.FindAllString(s, -1)) == 3 })
	c.key("b")
	c.key("enter") // backup dir: the default
	c.key("enter") // keep: all
	// The seeded operators are Progressing: only a forced backup is taken.
	c.m.Update(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	c.typeText("yes")
	c.key("enter")
	c.finishWizard(t, "backup taken")
	if err := c.m.wiz.result; err != nil {
		t.Fatalf("backup: %v", err)
	}
	c.key("esc")
	snaps, _ := filepath.Glob(filepath.Join(cluster.HostRoot(0), "backup/etcd/snapshot_*.db"))
	if len(snaps) == 0 {
		t.Fatal("the backup wrote no snapshot")
	}
	snapshot := strings.TrimPrefix(snaps[len(snaps)-1], cluster.HostRoot(0))

	c.key("O")
	c.m.Update(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	c.apply(tea.PasteMsg{Content: snapshot})
	if s := screen(c.m); !strings.Contains(s, "> --snapshot "+snapshot) {
		t.Fatalf("the pasted snapshot path should be in the form:\n%s", s)
	}
	c.key("enter")
	c.key("enter") // no config backup
	c.key("enter") // member roots: none (starting the others would be manual)
	c.rewrite = normalizePlan
	s := c.until(t, "the restore's first question", 30*time.Second, func(s string) bool {
		w := c.m.wiz
		return w != nil && w.prompt != nil && len(w.plan) > 0
	})
	checkShape(t, c.m.Render(), 80, 24)
	golden(t, "wizard-restore-80x24", s)
	w := c.m.wiz
	if len(w.proc.Steps) < 18 {
		t.Errorf("etcd-restore has %d steps, want 18 or more", len(w.proc.Steps))
	}
	if !strings.Contains(unwrap(s), w.plan[0]) || !strings.HasPrefix(w.plan[0], "WARNING: this returns the WHOLE cluster") {
		t.Errorf("the whole warning %q must be readable:\n%s", w.plan[0], s)
	}
	if !strings.Contains(lastRow(s), "[y] proceed") || !strings.Contains(s, "more below") {
		t.Errorf("the decision line must close the wizard and the steps be windowed:\n%s", s)
	}
	// The plan scrolls to its end; the question stays.
	for range 10 {
		c.key("pgdown")
	}
	end := screen(c.m)
	if !strings.Contains(unwrap(end), w.plan[len(w.plan)-1]) || !strings.Contains(lastRow(end), "[y] proceed") {
		t.Errorf("pgdn should show the plan's last line above the decision line:\n%s", end)
	}
	c.clock = c.clock.Add(time.Second)
	c.key("a")
	final := c.until(t, "aborted", 30*time.Second, func(string) bool { return c.m.wiz.finished })
	if !strings.Contains(final, "abort") {
		t.Errorf("the run should end aborted:\n%s", final)
	}
	c.key("esc")
}

// A procedure built against an unreachable etcd — a loopback port that
// takes connections and never answers, as a hung member does — waits for
// the build's timeouts; the console answers keys meanwhile, esc cancels the
// launch, and a build that ends after its cancel is dropped.
func TestConsoleAnswersWhileBuildingAgainstUnreachableEtcd(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn // never answered, closed with the listener's test
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, conn)
		}
	}()
	c := newConsoleOn(t, 80, 24, true, func(o *ops.SessionOptions) {
		o.EtcdEndpoints = []string{"https://" + l.Addr().String()}
		o.EtcdCACert, o.EtcdCert, o.EtcdKey = cluster.EtcdCA, cluster.EtcdCert, cluster.EtcdKey
	})
	c.until(t, "nodes listed", 30*time.Second, func(s string) bool { return strings.Contains(s, "9 nodes") })
	launch := func() {
		c.key(paneKey(paneEtcd))
		c.key("O")
		c.typeText("/backup/etcd/snapshot_none.db")
		c.key("enter")
		c.key("enter")
		c.key("enter")
	}
	var builtAt time.Time
	c.rewrite = func(msg tea.Msg) tea.Msg {
		if _, ok := msg.(procedureBuilt); ok {
			builtAt = time.Now()
		}
		return msg
	}
	start := time.Now()
	launch()
	if s := screen(c.m); !strings.Contains(s, "preparing etcd-restore… (esc cancels)") {
		t.Fatalf("the status bar should say a procedure is prepared:\n%s", s)
	}
	c.key(paneKey(paneNodes))
	c.key("?")
	answered := time.Now()
	if s := screen(c.m); c.m.active != paneNodes || !strings.Contains(s, "closes this help") {
		t.Errorf("keys must work while the procedure is built:\n%s", s)
	}
	c.key("?")
	c.until(t, "the build's end", 60*time.Second, func(string) bool { return !builtAt.IsZero() && c.m.wiz != nil })
	t.Logf("built in %s against the unreachable etcd; keys answered %s after the launch", builtAt.Sub(start).Round(time.Millisecond), answered.Sub(start).Round(time.Millisecond))
	if !answered.Before(builtAt) {
		t.Error("the keys were answered only after the build")
	}
	c.clock = c.clock.Add(time.Second) // past the prompt's grace
	c.key("esc")                       // the wizard is asking: esc aborts the run
	c.until(t, "run aborted", 30*time.Second, func(string) bool { return c.m.wiz.finished })
	c.key("esc")

	// Again, cancelled: the build that ends after it opens nothing.
	builtAt = time.Time{}
	launch()
	c.key("esc")
	if s := screen(c.m); !strings.Contains(s, "cancelled: etcd-restore was not started") {
		t.Errorf("esc should cancel the launch:\n%s", s)
	}
	c.until(t, "the cancelled build's end", 60*time.Second, func(string) bool { return !builtAt.IsZero() })
	if c.m.wiz != nil || c.m.preparing != nil {
		t.Errorf("a cancelled build must not open its wizard:\n%s", screen(c.m))
	}
}

// The etcd pane on etcd 3.3 (OpenShift 3.11), on a cluster of its own: the
// header names the version; the member's detail shows "—" for what 3.3
// does not report (applied index, size in use), never 0; NO QUORUM reads as
// on any version.
func TestConsoleOnEtcd33(t *testing.T) {
	if cluster == nil {
		t.Skip("needs the local cluster (not in -short mode)")
	}
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	c33, err := localcluster.Start(ctx, localcluster.Options{Workers: 1, EtcdVersion: "3.3"})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c33.Stop)
	c := newConsoleOnCluster(t, c33, 120, 40, false, func(*ops.SessionOptions) {})
	press(c.m, paneKey(paneEtcd))
	s := c.until(t, "etcd 3.3 pane", 30*time.Second, func(s string) bool {
		return len(healthyRow.FindAllString(s, -1)) == 3 && strings.Contains(s, "applied —")
	})
	for _, want := range []string{"(in use —)", "[etcd 3/3 healthy · ft 1]"} {
		if !strings.Contains(s, want) {
			t.Errorf("etcd 3.3 pane lacks %q:\n%s", want, s)
		}
	}
	if !regexp.MustCompile(`etcd 3\.3\.27\s+members 3`).MatchString(s) {
		t.Errorf("the header must name the cluster's version:\n%s", s)
	}
	c33.StopMember(1)
	c33.StopMember(2)
	c.until(t, "quorum lost on 3.3", 15*time.Second, func(s string) bool {
		return strings.Contains(s, "NO QUORUM: 0 of 3 voting members healthy, 2 needed") && strings.Contains(s, "answering: "+c33.Masters[0].Name)
	})
	t.Logf("etcd 3.3 console: %s", time.Since(begin).Round(time.Second))
}

// From the CSR table: `a` on the bootstrap request for a node not in the
// cluster opens the wizard asking for that node's name, which approves it
// (issued by the controller-manager); `a` on the INVALID request shows its
// failed rules and no way to proceed.
func TestCSRApproveFromTheConsole(t *testing.T) {
	c := newConsoleWith(t, 80, 24, true)
	c.key(paneKey(paneCerts))
	c.key("c")
	c.until(t, "CSRs listed", 30*time.Second, func(s string) bool { return strings.Contains(s, "new node?") })
	selectCSR := func(name string) {
		t.Helper()
		c.key("g")
		for i := 0; i < 20; i++ {
			if r, _ := c.m.certs.csrTable.Selected(); r.Key == name {
				return
			}
			c.key("j")
		}
		t.Fatalf("no row %s", name)
	}

	selectCSR(localcluster.WrongCNCSR)
	c.key("a")
	s := c.until(t, "INVALID prompt", 20*time.Second, func(string) bool { return c.m.wiz != nil && c.m.wiz.prompt != nil })
	if p := c.m.wiz.prompt.p; slices.Contains(p.Choices, ops.Proceed) || !strings.Contains(p.Problem, "INVALID") {
		t.Fatalf("the INVALID request was offered: %+v\n%s", p, s)
	}
	c.clock = c.clock.Add(time.Second)
	c.key("a") // abort
	c.until(t, "wizard ended", 10*time.Second, func(string) bool { return c.m.wiz == nil || c.m.wiz.finished })
	c.key("esc")

	selectCSR(localcluster.NewNodeCSR)
	c.key("a")
	c.until(t, "typed-name prompt", 20*time.Second, func(s string) bool {
		return c.m.wiz != nil && c.m.wiz.prompt != nil && strings.Contains(normalize(s), `Type "`+localcluster.NewNodeName+`"`)
	})
	c.clock = c.clock.Add(time.Second)
	c.typeText(localcluster.NewNodeName)
	c.key("enter")
	final := c.until(t, "approved", 60*time.Second, func(s string) bool { return strings.Contains(s, "Done.") || strings.Contains(s, "aborted") })
	if !strings.Contains(final, "Done.") {
		t.Fatalf("approval did not finish:\n%s", final)
	}
	csr, err := cluster.Client.CertificatesV1().CertificateSigningRequests().Get(context.Background(), localcluster.NewNodeCSR, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(csr.Status.Certificate) == 0 || len(csr.Status.Conditions) == 0 || csr.Status.Conditions[0].Reason != model.CSRApprovedReason {
		t.Fatalf("not approved and issued: %+v", csr.Status.Conditions)
	}
}
