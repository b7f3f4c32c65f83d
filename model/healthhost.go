package model

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
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
	KernelErr  string
	Var        DiskSpace
	// NodeConfig: /etc/origin/node/node-config.yaml exists (the host runs
	// an OpenShift node).
	NodeConfig bool
	Skew       ClockSkew
	Storage    ContainerStorage
	MTU        MTUFacts
	// Services are the node and runtime units' states (ServicesErr: why
	// systemctl could not tell).
	Services    []UnitState
	ServicesErr string
	Uptime      time.Duration
	UptimeErr   string
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

// hostChecks sum the Hosts pane's checks up, one line per check: the worst
// verdict over the hosts reached, with the hosts that fail or warn named
// first. One host alone (--no-ssh) shows its own finding as it is.
func hostChecks(reports []HostReport) []HealthCheck {
	reach := HealthCheck{ID: "hosts-reached", Title: "Hosts reached", Seed: "003 §3.3", Scope: ScopeHost,
		Hint: "see the Hosts pane: each unreachable host's row says why (ssh, known_hosts, timeout)"}
	var unreached []string
	for _, r := range reports {
		if !r.Reached {
			unreached = append(unreached, r.Host.Name+": "+r.Err)
		}
	}
	switch {
	case len(reports) == 0:
		reach.Detail = "hosts not checked yet"
	case len(unreached) > 0:
		reach.Level, reach.Detail = HealthFail, fmt.Sprintf("%d of %d unreachable: %s", len(unreached), len(reports), listSome(unreached, 3))
	default:
		reach.Level, reach.Detail = HealthPass, fmt.Sprintf("%d of %d", len(reports), len(reports))
	}
	out := []HealthCheck{reach}
	for _, id := range HostCheckIDs {
		c := HealthCheck{ID: id, Title: hostCheckTitles[id], Seed: hostCheckSeeds[id], Scope: ScopeHost}
		type finding struct {
			host string
			HostCheck
		}
		var fs []finding
		for _, r := range reports {
			if hc, ok := r.Check(id); ok && r.Reached {
				fs = append(fs, finding{r.Host.Name, hc})
			}
		}
		if len(fs) == 0 {
			c.Detail = "hosts not checked yet"
			if len(reports) > 0 {
				c.Detail = "no host reached"
			}
			out = append(out, c)
			continue
		}
		slices.SortStableFunc(fs, func(a, b finding) int { return levelRank(b.Level) - levelRank(a.Level) })
		c.Level, c.Hint = fs[0].Level, fs[0].Hint
		if len(fs) == 1 && len(reports) == 1 {
			c.Detail = fs[0].Why
			out = append(out, c)
			continue
		}
		n := map[HealthLevel]int{}
		var named []string
		for _, f := range fs {
			n[f.Level]++
			if f.Level != HealthPass {
				named = append(named, f.host+": "+f.Why)
			}
		}
		if len(named) == 0 {
			c.Detail = fmt.Sprintf("all %d hosts pass", len(fs))
		} else {
			var counts []string
			for _, l := range []HealthLevel{HealthFail, HealthWarn, HealthUnknown} {
				if n[l] > 0 {
					counts = append(counts, fmt.Sprintf("%d %s", n[l], l))
				}
			}
			c.Detail = fmt.Sprintf("%s of %d hosts: %s", strings.Join(counts, ", "), len(fs), listSome(named, 3))
		}
		out = append(out, c)
	}
	return out
}
