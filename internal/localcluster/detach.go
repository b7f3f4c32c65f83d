package localcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const pidsFile = "pids"

// Release leaves a detached cluster running: it records the process groups
// in Dir/pids and ends the static-pod imitation, without stopping anything.
func (c *Cluster) Release() error {
	if c.background != nil {
		c.background()
	}
	var pgids []string
	for _, p := range c.procs {
		if p.running() {
			pgids = append(pgids, strconv.Itoa(p.cmd.Process.Pid))
		}
	}
	for _, m := range c.Masters {
		m.etcd.detach()
		if pid := m.etcd.pid(); pid > 0 {
			pgids = append(pgids, strconv.Itoa(pid))
		}
	}
	return os.WriteFile(filepath.Join(c.Dir, pidsFile), []byte(strings.Join(pgids, "\n")+"\n"), 0o600)
}

// StopDetached stops a cluster left running by Release and removes its dir.
func StopDetached(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, pidsFile))
	if err != nil {
		return fmt.Errorf("%s is not a detached local cluster: %w", dir, err)
	}
	var errs []error
	for _, f := range strings.Fields(string(data)) {
		pgid, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		for i := 0; i < 50 && syscall.Kill(-pgid, 0) == nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if syscall.Kill(-pgid, 0) == nil {
			if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
				errs = append(errs, fmt.Errorf("kill process group %d: %w", pgid, err))
			}
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
