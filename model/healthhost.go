package model

import (
	"fmt"
	"strconv"
	"strings"
)

// HostFacts are what the host checks read on the host day2 runs on, under
// --host-root.
type HostFacts struct {
	Root string
	// Master: the host has /etc/origin/master (3.11) or a kube-apiserver
	// static pod manifest in /etc/kubernetes/manifests (kubeadm, OpenShift 4).
	Master   bool
	TimeSync TimeSync
	// Entropy is /proc/sys/kernel/random/entropy_avail; Kernel is
	// /proc/sys/kernel/osrelease ("" when unreadable).
	Entropy    int
	EntropyErr string
	Kernel     string
	Var        DiskSpace
}

// TimeSyncState is what could be learned about clock synchronisation.
type TimeSyncState int

const (
	// TimeSyncUnknown: reading failed (Err says why).
	TimeSyncUnknown TimeSyncState = iota
	// TimeSynced: the kernel says so, or systemd-timesyncd's marker exists.
	TimeSynced
	// TimeNotSynced: the kernel's clock is not synchronised.
	TimeNotSynced
	// TimeNoEvidence: nothing under the host root shows synchronisation.
	TimeNoEvidence
)

// TimeSync is the NTP check's input.
type TimeSync struct {
	State TimeSyncState
	// Source says what was read: "kernel (adjtimex): max error 4ms", or
	// "/run/systemd/timesync/synchronized (2m ago)".
	Source string
	Err    string
}

// DiskSpace is a statfs of a directory.
type DiskSpace struct {
	Path       string
	Size, Free uint64 // bytes; Free is what an unprivileged user may use
	Err        string
}

// Entropy thresholds of seed 003 §2.2: "ideally above 1000", alert "under 800".
const (
	EntropyWarnBelow = 1000
	EntropyFailBelow = 800
)

// /var sizes of seed 003 §3.6, in bytes (df -h's units).
const (
	VarMinMaster uint64 = 40 << 30
	VarMinNode   uint64 = 15 << 30
)

// fixedEntropyKernel is the first kernel whose entropy_avail always reads
// 256: since 5.18 the random pool never runs low, so the guide's thresholds
// (written for RHEL 7's 3.10 kernel) no longer apply.
var fixedEntropyKernel = [2]int{5, 18}

// EntropyLevel applies seed 003 §2.2 to entropy_avail on a kernel.
func EntropyLevel(avail int, kernel string) (HealthLevel, string) {
	if v, ok := kernelVersion(kernel); ok && (v[0] > fixedEntropyKernel[0] || v[0] == fixedEntropyKernel[0] && v[1] >= fixedEntropyKernel[1]) {
		return HealthPass, fmt.Sprintf("%d on kernel %s: since 5.18 the random pool never runs low and the value is fixed", avail, kernel)
	}
	d := fmt.Sprintf("%d available", avail)
	switch {
	case avail < EntropyFailBelow:
		return HealthFail, d + fmt.Sprintf(" (alert under %d)", EntropyFailBelow)
	case avail < EntropyWarnBelow:
		return HealthWarn, d + fmt.Sprintf(" (should be above %d)", EntropyWarnBelow)
	default:
		return HealthPass, d
	}
}

// kernelVersion reads major.minor from an osrelease like
// "3.10.0-957.el7.x86_64".
func kernelVersion(release string) ([2]int, bool) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return [2]int{}, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minorDigits := strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
	minor, err2 := strconv.Atoi(minorDigits)
	if err1 != nil || err2 != nil {
		return [2]int{}, false
	}
	return [2]int{major, minor}, true
}

// VarLevel applies seed 003 §3.6 to /var: a master needs 40 GB, a node 15
// GB. A filesystem smaller than that is misprovisioned (fail); one that is
// big enough but has less free than that is filling up (warn).
func VarLevel(d DiskSpace, master bool) (HealthLevel, string) {
	min, role := VarMinNode, "node"
	if master {
		min, role = VarMinMaster, "master"
	}
	detail := fmt.Sprintf("%s free of %s on %s; a %s needs %s", HumanBytes(int64(d.Free)), HumanBytes(int64(d.Size)), d.Path, role, HumanBytes(int64(min)))
	switch {
	case d.Size < min:
		return HealthFail, detail
	case d.Free < min:
		return HealthWarn, detail
	default:
		return HealthPass, detail
	}
}

func hostChecks(h HostFacts) []HealthCheck {
	ntp := HealthCheck{ID: "ntp", Title: "NTP synchronised", Seed: "003 §2.1", Scope: ScopeHost,
		Hint: "timedatectl: NTP enabled and synchronized must be yes; timedatectl set-ntp true, or yum install chrony && systemctl enable chronyd --now"}
	switch h.TimeSync.State {
	case TimeSynced:
		ntp.Level, ntp.Detail = HealthPass, h.TimeSync.Source
	case TimeNotSynced:
		ntp.Level, ntp.Detail = HealthFail, "not synchronised: "+h.TimeSync.Source
	case TimeNoEvidence:
		ntp.Level, ntp.Detail = HealthWarn, "no sign of synchronisation: "+h.TimeSync.Source
	default:
		ntp.Detail = h.TimeSync.Err
	}

	entropy := HealthCheck{ID: "entropy", Title: "Entropy available", Seed: "003 §2.2", Scope: ScopeHost,
		Hint: "yum install rng-tools && systemctl enable --now rngd"}
	if h.EntropyErr != "" {
		entropy.Detail = h.EntropyErr
	} else {
		entropy.Level, entropy.Detail = EntropyLevel(h.Entropy, h.Kernel)
	}

	space := HealthCheck{ID: "var-space", Title: "Space on /var", Seed: "003 §3.6", Scope: ScopeHost,
		Hint: "df -hT /var; free space or grow the filesystem (nodes: another 15 GB for /var/lib/docker)"}
	if h.Var.Err != "" {
		space.Detail = h.Var.Err
	} else {
		space.Level, space.Detail = VarLevel(h.Var, h.Master)
	}
	checks := []HealthCheck{ntp, entropy, space}
	if h.Root == "" { // not gathered: nothing to judge
		for i := range checks {
			checks[i].Level, checks[i].Detail = HealthUnknown, "host not read"
		}
	}
	return checks
}
