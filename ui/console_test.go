package ui

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/day2ops/day2/internal/localcluster"
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
}

func newConsole(t *testing.T, w, h int) *console {
	t.Helper()
	if cluster == nil {
		t.Skip("needs the local cluster (not in -short mode)")
	}
	sess, err := ops.NewSession(ops.SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   cluster.HostRoot(0),
		Getenv:     func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := &console{m: New(sess.Info()), msgs: make(chan any, 64)}
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
			c.m.Update(msg)
		case <-deadline:
			t.Fatalf("%s: not within %s; screen:\n%s", what, timeout, s)
		}
	}
}

var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`https://127\.0\.0\.1:\d+`), "https://127.0.0.1:PORT"},
	// The temporary dir's name varies in length, so where an 80-column
	// screen cuts the etcd.conf path varies too.
	{regexp.MustCompile(`source /\S*/day2-cluster-\d+/\S*`), "source <dir>/hosts/master-0.example.com/etc/etcd/etcd.conf"},
	{regexp.MustCompile(`\b[0-9a-f]{10,16}\b`), "<id>"},
	{regexp.MustCompile(`\b(\d+[smhdy])+\b`), "<age>"},
	{regexp.MustCompile(`\b\d+(\.\d+)?(µs|ms|s)\b`), "<lat>"},
	{regexp.MustCompile(`\d+(\.\d+)? (B|KiB|MiB|GiB)\b`), "<size>"},
	{regexp.MustCompile(`\b(term|index|applied) \d+`), "$1 N"},
	// Which member leads varies between runs.
	{regexp.MustCompile(`leader master-\d\.example\.com`), "leader <member>"},
	{regexp.MustCompile(`\b(leader|follower)( +)(healthy|unhealthy|unreachable)\b`), "<role>$2$3"},
	{regexp.MustCompile(` {2,}`), " "},
	// Rows carry a raft index after the size; how the scheduler spread the
	// compute pods varies between runs.
	{regexp.MustCompile(`(<size>) \d+`), "$1 N"},
	{regexp.MustCompile(`(node-\d\.example\.com Ready compute <age> kwok-\S+) \d+`), "$1 N"},
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

// unknownPods matches a node row whose pod count is not known yet.
var unknownPods = regexp.MustCompile(`kwok-\S+\s+\?`)

func TestConsoleGoldenScreens(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		c := newConsole(t, w, h)
		nodes := c.until(t, "nodes and etcd live", 30*time.Second, func(s string) bool {
			return ready(s) && strings.Contains(s, "9 nodes · 9 Ready") && strings.Count(s, "kwok-") == 9 && !unknownPods.MatchString(s)
		})
		checkShape(t, c.m.Render(), w, h)
		golden(t, "nodes-"+sizeName(w, h), nodes)
		press(c.m, "2")
		etcd := c.until(t, "etcd pane with three members", 10*time.Second, func(s string) bool {
			return len(healthyRow.FindAllString(s, -1)) == 3
		})
		checkShape(t, c.m.Render(), w, h)
		golden(t, "etcd-"+sizeName(w, h), etcd)
	}
}

func sizeName(w, h int) string { return fmt.Sprintf("%dx%d", w, h) }

func TestConsoleShowsKilledMemberWithinThreeSeconds(t *testing.T) {
	c := newConsole(t, 80, 24)
	press(c.m, "2")
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
	cluster.StartMember(1)
	c.until(t, "member back", 30*time.Second, func(s string) bool { return rowHas(s, victim, "healthy") })
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
