package scalebench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/localcluster"
)

// The scale the console must stay fast at, and its targets (issue 3).
const (
	nodes = 1000
	pods  = 10000

	targetFirstFrame = time.Second
	targetRSSMB      = 150
)

// settle is how long the informers get before RSS is read.
const settle = 10 * time.Second

// BenchmarkConsoleAtScale starts day2 in a 120x40 tmux terminal on the
// scale cluster and measures the time to the first frame that shows every
// node, the time until pod counts are known, and the process's RSS once
// the informers have settled.
func BenchmarkConsoleAtScale(b *testing.B) {
	if _, err := exec.LookPath("tmux"); err != nil {
		b.Fatal("the scale benchmark drives day2 in tmux: install tmux")
	}
	ctx := context.Background()
	bin := filepath.Join(b.TempDir(), "day2")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/day2").CombinedOutput(); err != nil {
		b.Fatalf("build day2: %v\n%s", err, out)
	}
	begin := time.Now()
	// 3 masters and 3 infra nodes come with the cluster.
	c, err := localcluster.Start(ctx, localcluster.Options{Workers: nodes - 6, Progress: os.Stderr})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	if err := c.AddPods(ctx, "scale", pods-c.ExpectedPods()); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "scalebench: %d nodes, %d pods running (%s)\n", nodes, pods, time.Since(begin).Round(time.Second))

	for i := 0; i < b.N; i++ {
		r := runConsole(b, bin, c)
		b.ReportMetric(r.firstFrame.Seconds(), "first-frame-s")
		b.ReportMetric(r.podsKnown.Seconds(), "pods-known-s")
		b.ReportMetric(r.rssMB, "rss-MB")
		fmt.Printf("scale %d nodes / %d pods: first frame with all nodes %s (target ≤ %s), pod counts known %s, RSS after %s %.0f MB (target ≤ %d MB)\n",
			nodes, pods, r.firstFrame.Round(time.Millisecond), targetFirstFrame, r.podsKnown.Round(time.Millisecond), settle, r.rssMB, targetRSSMB)
	}
}

var unknownPods = regexp.MustCompile(`\? +\? +\?`)

type result struct {
	firstFrame, podsKnown time.Duration
	rssMB                 float64
}

func runConsole(b *testing.B, bin string, c *localcluster.Cluster) result {
	session := fmt.Sprintf("day2-scalebench-%d", os.Getpid())
	home := b.TempDir()
	cmd := fmt.Sprintf("exec env HOME=%s XDG_STATE_HOME=%s %s --readonly --kubeconfig %s --host-root %s",
		home, home, bin, filepath.Join(c.HostRoot(0), localcluster.AdminKubeconfig), c.HostRoot(0))
	start := time.Now()
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", cmd).CombinedOutput(); err != nil {
		b.Fatalf("tmux: %v\n%s", err, out)
	}
	defer exec.Command("tmux", "kill-session", "-t", session).Run()
	pid := panePID(b, session)

	var r result
	all := fmt.Sprintf("%d nodes · %d Ready", nodes, nodes)
	r.firstFrame = waitScreen(b, session, start, all, func(string) bool { return true })
	// Pod counts are known when no row shows "?" for pods, CPU and memory.
	r.podsKnown = waitScreen(b, session, start, all, func(s string) bool { return !unknownPods.MatchString(s) })
	time.Sleep(settle)
	r.rssMB = rssMB(b, pid)
	return r
}

func panePID(b *testing.B, session string) int {
	out, err := exec.Command("tmux", "list-panes", "-t", session, "-F", "#{pane_pid}").Output()
	if err != nil {
		b.Fatalf("tmux list-panes: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		b.Fatalf("pane pid %q: %v", out, err)
	}
	return pid
}

// waitScreen polls the terminal until it shows want and cond holds, and
// returns the time since start.
func waitScreen(b *testing.B, session string, start time.Time, want string, cond func(string) bool) time.Duration {
	deadline := start.Add(2 * time.Minute)
	var screen string
	for time.Now().Before(deadline) {
		out, err := exec.Command("tmux", "capture-pane", "-p", "-t", session).Output()
		if err != nil {
			b.Fatalf("capture-pane: %v", err)
		}
		screen = string(out)
		if strings.Contains(screen, want) && cond(screen) {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("screen never showed %q:\n%s", want, screen)
	return 0
}

func rssMB(b *testing.B, pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("day2 process: %v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatalf("VmRSS %q: %v", rest, err)
			}
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS in /proc status")
	return 0
}
