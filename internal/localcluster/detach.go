package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	pidsFile = "pids"
	// staticPodsFile records the etcd static pods of a released cluster:
	// each master's host root, etcd binary and log, and its member's process
	// group — kept current by the kubelet left behind, read by StopDetached.
	staticPodsFile = "staticpods.json"
)

// staticPodRecord is one master's etcd static pod in staticPodsFile.
type staticPodRecord struct {
	Name string `json:"name"`
	Root string `json:"root"`
	Bin  string `json:"bin"`
	Log  string `json:"log"`
	// PID is the member's process group, 0 while it is stopped.
	PID int `json:"pid"`
}

// Release leaves a detached cluster running: it ends this process's own
// loops without stopping anything, records the process groups in Dir/pids
// and the etcd static pods in Dir/staticpods.json, and starts kubelet (a
// command that runs RunKubelet on the directory, given as its last
// argument) detached, so moving a master's etcd.yaml still stops and
// starts that member after this process has gone. Without kubelet the
// members keep running but no longer follow their manifests. The hosts'
// sshd keep running too; a shutdown run on a host is still recorded
// (ShutdownRequested) but no longer carried out.
func (c *Cluster) Release(kubelet ...string) error {
	if c.background != nil {
		c.background()
	}
	var pgids []string
	for _, p := range c.procs {
		if p.running() {
			pgids = append(pgids, strconv.Itoa(p.cmd.Process.Pid))
		}
	}
	for _, h := range c.hosts {
		if h.sshd != nil && h.sshd.running() {
			pgids = append(pgids, strconv.Itoa(h.sshd.cmd.Process.Pid))
		}
	}
	pods := make([]*staticEtcd, len(c.Masters))
	for i, m := range c.Masters {
		m.etcd.detach()
		pods[i] = m.etcd
	}
	if err := writeStaticPods(c.Dir, pods); err != nil {
		return err
	}
	if len(kubelet) > 0 {
		args := append(append([]string{}, kubelet[1:]...), c.Dir)
		p, err := startProc("kubelet", kubelet[0], args, os.Environ(), c.logFile("kubelet"), true)
		if err != nil {
			return fmt.Errorf("release: %w", err)
		}
		// First in the list: StopDetached ends it before anything else, so
		// it restarts no member while they are stopped.
		pgids = append([]string{strconv.Itoa(p.cmd.Process.Pid)}, pgids...)
	}
	return os.WriteFile(filepath.Join(c.Dir, pidsFile), []byte(strings.Join(pgids, "\n")+"\n"), 0o600)
}

var staticPodsMu sync.Mutex

// writeStaticPods records the pods and their members' process groups.
func writeStaticPods(dir string, pods []*staticEtcd) error {
	staticPodsMu.Lock()
	defer staticPodsMu.Unlock()
	recs := make([]staticPodRecord, len(pods))
	for i, s := range pods {
		recs[i] = staticPodRecord{Name: s.name, Root: s.root, Bin: s.bin, Log: s.logPath, PID: s.pid()}
	}
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, staticPodsFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("record the static pods: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, staticPodsFile))
}

func readStaticPods(dir string) ([]staticPodRecord, error) {
	data, err := os.ReadFile(filepath.Join(dir, staticPodsFile))
	if err != nil {
		return nil, err
	}
	var recs []staticPodRecord
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, staticPodsFile), err)
	}
	return recs, nil
}

// RunKubelet is the etcd static-pod imitation of a cluster released by
// Release, in a process of its own (`day2 demo kubelet DIR`): it adopts the
// members left running and, until ctx ends, starts and stops each as its
// etcd.yaml comes and goes, recording the members' process groups in
// Dir/staticpods.json. When ctx ends the members are left running.
func RunKubelet(ctx context.Context, dir string) error {
	recs, err := readStaticPods(dir)
	if err != nil {
		return fmt.Errorf("kubelet: %s is not a released local cluster: %w", dir, err)
	}
	pods := make([]*staticEtcd, len(recs))
	changed := func() {
		if err := writeStaticPods(dir, pods); err != nil {
			fmt.Fprintln(os.Stderr, "kubelet:", err)
		}
	}
	for i, r := range recs {
		s := newStaticEtcd(r.Name, r.Root, r.Bin, r.Log)
		s.detached, s.changed = true, changed
		if r.PID > 0 && alive(r.PID) {
			s.proc = adopt("etcd "+r.Name, r.PID)
		}
		pods[i] = s
	}
	for _, s := range pods {
		go s.run()
	}
	<-ctx.Done()
	for _, s := range pods {
		s.detach()
	}
	return writeStaticPods(dir, pods)
}

// adopt watches a process this one did not start (it cannot wait for it):
// it is done when it is gone or a zombie.
func adopt(name string, pid int) *proc {
	process, _ := os.FindProcess(pid) // never fails on Unix
	p := &proc{name: name, cmd: &exec.Cmd{Process: process}, done: make(chan struct{})}
	go func() {
		for alive(pid) {
			time.Sleep(kubeletSync)
		}
		close(p.done)
	}()
	return p
}

// alive reports whether pid runs (exists and is not a zombie).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses: "pid (comm) S …".
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// StopDetached stops a cluster left running by Release and removes its dir:
// the kubelet first, then the control plane and the hosts' sshd, then the
// members where the kubelet last recorded them, then the hosts' mounts.
func StopDetached(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, pidsFile))
	if err != nil {
		return fmt.Errorf("%s is not a detached local cluster: %w", dir, err)
	}
	var errs []error
	for _, f := range strings.Fields(string(data)) {
		if pgid, err := strconv.Atoi(f); err == nil {
			errs = append(errs, stopGroup(pgid))
		}
	}
	recs, err := readStaticPods(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, r := range recs {
		if r.PID > 0 {
			errs = append(errs, stopGroup(r.PID))
		}
	}
	// The simulated hosts' sessions, then their chroots' mounts.
	killChrooted(dir)
	if err := removeClusterDir(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stopGroup ends process group pgid: SIGTERM, then SIGKILL after 5 s.
func stopGroup(pgid int) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	for i := 0; i < 50 && syscall.Kill(-pgid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if syscall.Kill(-pgid, 0) == nil {
		if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill process group %d: %w", pgid, err)
		}
	}
	return nil
}
