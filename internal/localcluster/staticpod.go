package localcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/day2ops/day2/model"
)

// staticEtcd imitates the kubelet of one master for its etcd static pod: the
// member runs while etcd.yaml is in the host root's static pods dir and stops
// when the file is moved out, with its environment sourced from the host
// root's /etc/etcd/etcd.conf as the 3.11 static pod does. A member that
// exits is restarted with a crash-loop backoff, as a kubelet would.
type staticEtcd struct {
	name    string
	root    string
	bin     string
	logPath string
	// detached members outlive this process (demo --keep).
	detached bool
	// changed, when set, hears that the member started or stopped (the
	// kubelet left behind records its process group).
	changed func()

	mu       sync.Mutex
	proc     *proc
	held     bool // the "machine" is down (StopMember): never start
	lastErr  error
	failures int
	notUntil time.Time

	stop chan struct{}
	done chan struct{}
}

const kubeletSync = 100 * time.Millisecond

func newStaticEtcd(name, root, bin, logPath string) *staticEtcd {
	return &staticEtcd{name: name, root: root, bin: bin, logPath: logPath, stop: make(chan struct{}), done: make(chan struct{})}
}

func (s *staticEtcd) run() {
	defer close(s.done)
	t := time.NewTicker(kubeletSync)
	defer t.Stop()
	last := s.pid()
	for {
		s.reconcile()
		if pid := s.pid(); pid != last && s.changed != nil {
			last = pid
			s.changed()
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

func (s *staticEtcd) manifestPresent() bool {
	_, err := os.Stat(filepath.Join(s.root, EtcdManifest))
	return err == nil
}

func (s *staticEtcd) reconcile() {
	want := s.manifestPresent()
	s.mu.Lock()
	defer s.mu.Unlock()
	running := s.proc != nil && s.proc.running()
	if s.proc != nil && !running && s.lastErr == nil {
		// It ended without being asked to: back off before the restart.
		s.lastErr = s.proc.exitErr()
		s.failures++
		s.notUntil = time.Now().Add(crashBackoff(s.failures))
	}
	switch {
	case want && !s.held && !running:
		if time.Now().Before(s.notUntil) {
			return
		}
		p, err := s.start()
		if err != nil {
			s.lastErr = err
			s.failures++
			s.notUntil = time.Now().Add(crashBackoff(s.failures))
			return
		}
		s.proc, s.lastErr = p, nil
	case !want && running:
		// The manifest was moved out: the kubelet stops the pod gracefully.
		s.proc.stop(10 * time.Second)
		s.lastErr, s.failures = errStoppedByKubelet, 0
	}
}

var (
	errStoppedByKubelet = errors.New("static pod manifest removed")
	errHeld             = errors.New("stopped by the test harness")
)

func crashBackoff(failures int) time.Duration {
	d := 500 * time.Millisecond << min(failures, 5)
	return min(d, 10*time.Second)
}

// start launches etcd with the environment etcd.conf defines, host paths
// mapped under the host root the way the static pod's hostPath mounts do.
func (s *staticEtcd) start() (*proc, error) {
	data, err := os.ReadFile(filepath.Join(s.root, EtcdConfPath))
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", s.name, err)
	}
	conf, err := model.ParseEnvFile(data)
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %s: %w", s.name, EtcdConfPath, err)
	}
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + s.root}
	for k, v := range conf {
		if strings.HasPrefix(k, "ETCD_") && (strings.HasSuffix(k, "_FILE") || strings.HasSuffix(k, "_DIR")) && filepath.IsAbs(v) {
			v = filepath.Join(s.root, v)
		}
		env = append(env, k+"="+v)
	}
	return startProc("etcd "+s.name, s.bin, nil, env, s.logPath, s.detached)
}

// hold stops the member abruptly (SIGKILL) and keeps it down until release.
func (s *staticEtcd) hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = true
	if s.proc != nil && s.proc.running() {
		s.proc.kill()
	}
	s.lastErr = errHeld
}

// release lets the kubelet start the member again at its next sync.
func (s *staticEtcd) release() {
	s.mu.Lock()
	s.held, s.failures, s.notUntil = false, 0, time.Time{}
	s.mu.Unlock()
	s.reconcile()
}

func (s *staticEtcd) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && s.proc.running()
}

// shutdown ends the kubelet loop and kills the member.
func (s *staticEtcd) shutdown() {
	s.detach()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil && s.proc.running() {
		s.proc.kill()
	}
}

// detach ends the kubelet loop but leaves the member running.
func (s *staticEtcd) detach() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

// pid is the member's process (group) id, 0 when it is not running.
func (s *staticEtcd) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil && s.proc.running() {
		return s.proc.cmd.Process.Pid
	}
	return 0
}
