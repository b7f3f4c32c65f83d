// Package hostcheck reads what the host checks of the Health pane need from
// the host day2 runs on, under a host root: clock synchronisation, available
// entropy, the kernel release and the space on /var (seed 003 §2.1, §2.2,
// §3.6). It only reads.
package hostcheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// Host paths read.
const (
	EntropyPath   = "/proc/sys/kernel/random/entropy_avail"
	OSReleasePath = "/proc/sys/kernel/osrelease"
	VarDir        = "/var"
	// TimesyncMarker is touched by systemd-timesyncd each time it
	// synchronises the clock.
	TimesyncMarker = "/run/systemd/timesync/synchronized"
)

// driftFiles are written by chronyd and ntpd once they have estimated the
// clock's drift: proof that the daemon has run, not that it is in sync now.
var driftFiles = []string{"/var/lib/chrony/drift", "/var/lib/chrony/chrony.drift", "/var/lib/ntp/drift", "/var/lib/ntp/ntp.drift"}

// masterMarkers make a host a master: OpenShift 3.11's /etc/origin/master,
// or a kube-apiserver static pod (kubeadm, OpenShift 4).
var masterMarkers = []string{"/etc/origin/master", "/etc/kubernetes/manifests/kube-apiserver*"}

// Gather reads the host's facts under root ("" or "/" is this machine; then
// the kernel's own clock state is asked, as timedatectl does).
func Gather(root string) model.HostFacts {
	h := hostfs.New(root)
	facts := model.HostFacts{Root: h.Root, Master: isMaster(h)}
	facts.TimeSync = timeSync(h, time.Now())
	facts.Entropy, facts.EntropyErr = readEntropy(h)
	if b, err := readHost(h, OSReleasePath); err == nil {
		facts.Kernel = strings.TrimSpace(string(b))
	}
	facts.Var = diskSpace(h, VarDir)
	return facts
}

func readHost(h hostfs.FS, hostPath string) ([]byte, error) {
	p, err := h.Path(hostPath)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

func isMaster(h hostfs.FS) bool {
	for _, m := range masterMarkers {
		p, err := h.Path(m)
		if err != nil {
			continue
		}
		if matches, _ := filepath.Glob(p); len(matches) > 0 {
			return true
		}
	}
	return false
}

func readEntropy(h hostfs.FS) (int, string) {
	b, err := readHost(h, EntropyPath)
	if err != nil {
		return 0, fmt.Sprintf("read %s: %v", EntropyPath, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Sprintf("%s: %q is not a number", EntropyPath, strings.TrimSpace(string(b)))
	}
	return n, ""
}

func diskSpace(h hostfs.FS, hostPath string) model.DiskSpace {
	d := model.DiskSpace{Path: hostPath}
	p, err := h.Path(hostPath)
	if err == nil {
		var st unix.Statfs_t
		if err = unix.Statfs(p, &st); err == nil {
			d.Size = st.Blocks * uint64(st.Bsize)
			d.Free = st.Bavail * uint64(st.Bsize)
			return d
		}
	}
	d.Err = fmt.Sprintf("statfs %s: %v", p, err)
	return d
}

// maxSyncedError is the kernel's maximum error below which systemd (and so
// timedatectl's "synchronized: yes") counts the clock as synchronised.
const maxSyncedError = 16 * time.Second

func timeSync(h hostfs.FS, now time.Time) model.TimeSync {
	if h.Root == "/" {
		return kernelTimeSync()
	}
	marker, err := modTime(h, TimesyncMarker)
	switch {
	case err == nil:
		return model.TimeSync{State: model.TimeSynced, Source: fmt.Sprintf("%s (systemd-timesyncd, %s ago)", TimesyncMarker, model.HumanAge(now.Sub(marker)))}
	case !errors.Is(err, fs.ErrNotExist):
		return model.TimeSync{Err: err.Error()}
	}
	for _, f := range driftFiles {
		if t, err := modTime(h, f); err == nil {
			return model.TimeSync{State: model.TimeNoEvidence, Source: fmt.Sprintf(
				"%s was written %s ago, so chronyd or ntpd has run, but whether it is in sync cannot be read under %s: run timedatectl there", f, model.HumanAge(now.Sub(t)), h.Root)}
		}
	}
	return model.TimeSync{State: model.TimeNoEvidence, Source: fmt.Sprintf("no %s and no chrony or ntpd drift file under %s", TimesyncMarker, h.Root)}
}

func modTime(h hostfs.FS, hostPath string) (time.Time, error) {
	p, err := h.Path(hostPath)
	if err != nil {
		return time.Time{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// kernelTimeSync asks the kernel (adjtimex with no modes only reads) and
// judges like systemd's ntp_synced(): synchronised while the maximum error
// is under 16 s.
func kernelTimeSync() model.TimeSync {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return model.TimeSync{Err: fmt.Sprintf("adjtimex: %v", err)}
	}
	maxErr := time.Duration(tx.Maxerror) * time.Microsecond
	src := fmt.Sprintf("kernel clock (adjtimex, as timedatectl reads it): max error %s", model.HumanLatency(maxErr))
	if state == unix.TIME_ERROR {
		src += ", state TIME_ERROR"
	}
	if maxErr >= maxSyncedError {
		return model.TimeSync{State: model.TimeNotSynced, Source: src}
	}
	return model.TimeSync{State: model.TimeSynced, Source: src}
}
