package etcd

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

const (
	benchDBSize = 1 << 30 // fill etcd to at least this
	benchValue  = 1 << 20 // bytes per key (etcd takes up to 1.5 MiB a request)
	benchRounds = 5
)

// BenchmarkSnapshot1GB fills an etcd of its own (one member on 127.0.0.1,
// started from the tools dir) to more than 1 GiB, then snapshots it with
// day2 (SaveSnapshot, what etcd-backup's snapshot step runs) and with
// `etcdctl snapshot save`, alternating which goes first, benchRounds each.
// It reports the median throughputs and their ratio (target day2/etcdctl ≥
// 0.95) and the median time of day2's verification (SHA-256 trailer and
// bbolt check). Run it with `make bench`.
func BenchmarkSnapshot1GB(b *testing.B) {
	dir := b.TempDir()
	url := startBenchEtcd(b, dir)
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	size := fillBenchEtcd(b, c, url)
	fmt.Printf("snapshot bench: etcd filled to %.2f GiB in %s\n", float64(size)/(1<<30), time.Since(start).Round(time.Second))
	// The fill ran without fsync: let the kernel write it back now, not
	// during the first measured snapshot.
	syscall.Sync()

	p, err := NewPoller(Config{Endpoints: []string{url}}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	etcdctl := filepath.Join(cluster.ToolsDir, "etcdctl")
	var day2, ctl, verify []time.Duration
	var bytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < benchRounds; r++ {
			runDay2 := func() {
				dest := filepath.Join(dir, fmt.Sprintf("day2-%d-%d.db", i, r))
				t0 := time.Now()
				m, err := p.SaveSnapshot(context.Background(), url, dest, nil)
				if err != nil {
					b.Fatal(err)
				}
				day2 = append(day2, time.Since(t0))
				t0 = time.Now()
				if _, err := VerifySnapshot(dest, false); err != nil {
					b.Fatal(err)
				}
				verify = append(verify, time.Since(t0))
				bytes = m.DBSize + trailer
				os.Remove(dest)
			}
			runCtl := func() {
				dest := filepath.Join(dir, fmt.Sprintf("etcdctl-%d-%d.db", i, r))
				t0 := time.Now()
				if out, err := exec.Command(etcdctl, "--endpoints", url, "snapshot", "save", dest).CombinedOutput(); err != nil {
					b.Fatalf("etcdctl snapshot save: %v\n%s", err, out)
				}
				ctl = append(ctl, time.Since(t0))
				os.Remove(dest)
			}
			if r%2 == 0 {
				runDay2()
				runCtl()
			} else {
				runCtl()
				runDay2()
			}
		}
	}
	b.StopTimer()
	d, e, v := medianOf(day2), medianOf(ctl), medianOf(verify)
	mb := float64(bytes) / (1 << 20)
	ratio := e.Seconds() / d.Seconds() // throughput ratio: same bytes
	b.ReportMetric(mb/d.Seconds(), "day2-MiB/s")
	b.ReportMetric(mb/e.Seconds(), "etcdctl-MiB/s")
	b.ReportMetric(ratio, "day2/etcdctl-throughput")
	b.ReportMetric(v.Seconds(), "day2-verify-s")
	fmt.Printf("snapshot of %.0f MiB: day2 %v (%.0f MiB/s), etcdctl %v (%.0f MiB/s): throughput ratio %.2f (target ≥ 0.95); day2 verification %v (medians of %d alternating runs)\n",
		mb, d.Round(time.Millisecond), mb/d.Seconds(), e.Round(time.Millisecond), mb/e.Seconds(), ratio, v.Round(time.Millisecond), len(day2))
	fmt.Printf("  each run: day2 %v, etcdctl %v, verification %v\n", rounded(day2), rounded(ctl), rounded(verify))
}

func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(10 * time.Millisecond)
	}
	return out
}

func medianOf(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// startBenchEtcd runs one etcd member on loopback ports with its data in
// dir, fsync off (filling it is not what is measured), and stops it when
// the benchmark ends (or with this process).
func startBenchEtcd(b *testing.B, dir string) string {
	ports := make([]int, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	client, peer := fmt.Sprintf("http://127.0.0.1:%d", ports[0]), fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	log, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(cluster.ToolsDir, "etcd"),
		"--name", "bench", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "bench="+peer,
		"--quota-backend-bytes", fmt.Sprint(8<<30), "--unsafe-no-fsync", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log.Close()
	})
	if !pollAnswers(client, 30*time.Second) {
		b.Fatalf("bench etcd did not start: see %s", log.Name())
	}
	return client
}

func pollAnswers(url string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if Answers(context.Background(), url) {
			return true
		}
	}
	return false
}

// fillBenchEtcd writes 1 MiB random values under /bench/ until the
// database is at least benchDBSize, and returns its size.
func fillBenchEtcd(b *testing.B, c *clientv3.Client, url string) int64 {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	value := make([]byte, benchValue)
	if _, err := rand.Read(value); err != nil {
		b.Fatal(err)
	}
	keys := int64(benchDBSize/benchValue + benchDBSize/benchValue/16)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > keys {
					return
				}
				// A different value per key: the database must really hold it.
				v := append([]byte(fmt.Sprintf("%08d", i)), value[8:]...)
				if _, err := c.Put(ctx, fmt.Sprintf("/bench/%08d", i), string(v)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	st, err := c.Status(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	if st.DbSize < benchDBSize {
		b.Fatalf("etcd holds %d bytes, want ≥ %d", st.DbSize, benchDBSize)
	}
	return st.DbSize
}
