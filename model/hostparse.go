package model

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"sigs.k8s.io/yaml"
)

// Parsers of what the host checks read on a host: command output and
// configuration files, as the tools that write them write them.

// ParseTimedatectl reads timedatectl's status: "NTP synchronized: yes"
// (RHEL 7's systemd 219, as seed 003 §2.1 shows it) or "System clock
// synchronized: yes" (systemd 239 and later), and returns that line
// trimmed. ok is false when neither line is there.
func ParseTimedatectl(out string) (synced bool, line string, ok bool) {
	for _, l := range strings.Split(out, "\n") {
		k, v, found := strings.Cut(l, ":")
		if !found {
			continue
		}
		switch k = strings.TrimSpace(k); k {
		case "NTP synchronized", "System clock synchronized":
			v = strings.TrimSpace(v)
			return v == "yes", k + ": " + v, true
		}
	}
	return false, "", false
}

// ParseChronyTracking reads `chronyc tracking`: its "Leap status" is
// "Normal" (or an announced leap second) while chronyd is synchronised and
// "Not synchronised" when it is not. ok is false without that line.
func ParseChronyTracking(out string) (synced bool, status string, ok bool) {
	for _, line := range strings.Split(out, "\n") {
		k, v, found := strings.Cut(line, ":")
		if found && strings.TrimSpace(k) == "Leap status" {
			status = strings.TrimSpace(v)
			return status != "Not synchronised" && status != "", status, true
		}
	}
	return false, "", false
}

// ParseEpoch reads `date +%s.%N` (seconds since the epoch, nanoseconds).
func ParseEpoch(out string) (time.Time, error) {
	s := strings.TrimSpace(out)
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("date +%%s.%%N said %q: not seconds since the epoch", s)
	}
	var ns int64
	if frac != "" {
		// %N is nine digits; a date without %N support prints "N".
		digits := (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(digits, 10, 64); err != nil || ns < 0 {
			ns = 0
		}
	}
	return time.Unix(n, ns), nil
}

// ParseUptime reads /proc/uptime ("350735.47 234388.90": seconds up, then
// idle).
func ParseUptime(data string) (time.Duration, error) {
	f := strings.Fields(data)
	if len(f) == 0 {
		return 0, fmt.Errorf("/proc/uptime is empty")
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	if err != nil || !(secs >= 0 && secs < 1e12) { // NaN too
		return 0, fmt.Errorf("/proc/uptime: %q is not a number of seconds", f[0])
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// ParseDefaultRoute reads /proc/net/route and names the interface of the
// IPv4 default route (destination and mask 0), the one with the lowest
// metric when there are several.
func ParseDefaultRoute(data string) (string, error) {
	best, bestMetric := "", int64(-1)
	for i, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 8 {
			continue // the header, or not a route
		}
		if f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		metric, err := strconv.ParseInt(f[6], 10, 64)
		if err != nil {
			continue
		}
		if bestMetric < 0 || metric < bestMetric {
			best, bestMetric = f[0], metric
		}
	}
	if best == "" {
		return "", fmt.Errorf("/proc/net/route has no default route")
	}
	return best, nil
}

// ParseMTU reads /sys/class/net/<if>/mtu.
func ParseMTU(data string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(data))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not an MTU", strings.TrimSpace(data))
	}
	return n, nil
}

// ParseNodeConfigMTU reads networkConfig.mtu of an OpenShift 3.11
// node-config.yaml (the node group's config map, as openshift-ansible
// lays it down). 0 with no error means the key is absent (the SDN then
// uses 1450).
func ParseNodeConfigMTU(data []byte) (int, error) {
	var cfg struct {
		NetworkConfig struct {
			MTU int `json:"mtu"`
		} `json:"networkConfig"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return 0, fmt.Errorf("node-config.yaml: %w", err)
	}
	if cfg.NetworkConfig.MTU < 0 {
		return 0, fmt.Errorf("node-config.yaml: networkConfig.mtu %d", cfg.NetworkConfig.MTU)
	}
	return cfg.NetworkConfig.MTU, nil
}

// DockerStorageOptions is what /etc/sysconfig/docker-storage (written by
// docker-storage-setup) or /etc/docker/daemon.json says about storage.
type DockerStorageOptions struct {
	Driver string
	// ThinPoolDev is dm.thinpooldev ("/dev/mapper/docker--vg-docker--pool");
	// "" with devicemapper means loop-lvm.
	ThinPoolDev string
}

// ParseDockerStorage reads /etc/sysconfig/docker-storage:
// DOCKER_STORAGE_OPTIONS="--storage-driver overlay2" (seed 003 §3.7) or
// docker-storage-setup's devicemapper form "--storage-driver devicemapper
// --storage-opt dm.fs=xfs --storage-opt dm.thinpooldev=/dev/mapper/…".
// Flags may be written --flag value or --flag=value, and -s for the driver.
func ParseDockerStorage(data []byte) (DockerStorageOptions, error) {
	env, err := ParseEnvFile(data)
	if err != nil {
		return DockerStorageOptions{}, fmt.Errorf("docker-storage: %w", err)
	}
	args := strings.Fields(env["DOCKER_STORAGE_OPTIONS"])
	var o DockerStorageOptions
	for i := 0; i < len(args); i++ {
		flag, val, inline := strings.Cut(args[i], "=")
		if !inline && i+1 < len(args) && (flag == "--storage-driver" || flag == "-s" || flag == "--storage-opt") {
			i++
			val = args[i]
		}
		switch flag {
		case "--storage-driver", "-s":
			o.Driver = val
		case "--storage-opt":
			if k, v, ok := strings.Cut(val, "="); ok && k == "dm.thinpooldev" {
				o.ThinPoolDev = v
			}
		}
	}
	return o, nil
}

// ParseDaemonJSON reads /etc/docker/daemon.json's "storage-driver" and
// "storage-opts".
func ParseDaemonJSON(data []byte) (DockerStorageOptions, error) {
	var d struct {
		Driver string   `json:"storage-driver"`
		Opts   []string `json:"storage-opts"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return DockerStorageOptions{}, fmt.Errorf("daemon.json: %w", err)
	}
	o := DockerStorageOptions{Driver: d.Driver}
	for _, opt := range d.Opts {
		if k, v, ok := strings.Cut(opt, "="); ok && k == "dm.thinpooldev" {
			o.ThinPoolDev = v
		}
	}
	return o, nil
}

// ParseStorageConf reads the [storage] driver of containers/storage's
// storage.conf (CRI-O's).
func ParseStorageConf(data []byte) (string, error) {
	var c struct {
		Storage struct {
			Driver string `toml:"driver"`
		} `toml:"storage"`
	}
	if _, err := toml.Decode(string(data), &c); err != nil {
		return "", fmt.Errorf("storage.conf: %w", err)
	}
	return c.Storage.Driver, nil
}

// MountOf finds the filesystem holding path in /proc/mounts: the longest
// mount point that is path or one of its parents (the last one mounted
// when several share it). Octal escapes (\040 for a space) are decoded.
func MountOf(mounts, path string) (mountPoint, fsType string, ok bool) {
	for _, line := range strings.Split(mounts, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mp := unescapeMount(f[1])
		if !under(path, mp) || len(mp) < len(mountPoint) {
			continue
		}
		mountPoint, fsType, ok = mp, f[2], true
	}
	return mountPoint, fsType, ok
}

func under(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

var mountEscape = regexp.MustCompile(`\\[0-7]{3}`)

func unescapeMount(s string) string {
	return mountEscape.ReplaceAllStringFunc(s, func(e string) string {
		n, _ := strconv.ParseUint(e[1:], 8, 8)
		return string(rune(n))
	})
}

var ftypeRE = regexp.MustCompile(`\bftype=(\d)`)

// ParseXFSFtype reads ftype from xfs_info's "naming =version 2 bsize=4096
// ascii-ci=0, ftype=1" line. ok is false when xfs_info printed no ftype
// (xfsprogs before 3.2 did not, and such a filesystem has ftype=0).
func ParseXFSFtype(out string) (ftype int, ok bool) {
	m := ftypeRE.FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	return int(m[1][0] - '0'), true
}

// ThinPool is an LVM thin pool's use, in percent.
type ThinPool struct {
	VG, LV         string
	Data, Metadata float64
}

// LVSThinPoolCommand lists the thin pools with their use, in the form
// ParseLVSThinPools reads.
const LVSThinPoolCommand = "lvs --noheadings --nosuffix --separator , -o vg_name,lv_name,lv_attr,data_percent,metadata_percent"

// ParseLVSThinPools reads LVSThinPoolCommand's output: the logical volumes
// whose attributes start with "t" (thin pool).
func ParseLVSThinPools(out string) []ThinPool {
	var pools []ThinPool
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) != 5 || !strings.HasPrefix(f[2], "t") {
			continue
		}
		data, err1 := strconv.ParseFloat(strings.TrimSpace(f[3]), 64)
		meta, err2 := strconv.ParseFloat(strings.TrimSpace(f[4]), 64)
		if err1 != nil || err2 != nil {
			continue
		}
		pools = append(pools, ThinPool{VG: strings.TrimSpace(f[0]), LV: strings.TrimSpace(f[1]), Data: data, Metadata: meta})
	}
	return pools
}

// ParseDockerInfoPool reads a devicemapper thin pool's use from `docker
// info` (seed 003 §3.7's own check): " Pool Name: docker--vg-docker--pool",
// " Data Space Used: 27.08 GB", " Data Space Total: 31.86 GB" and the
// Metadata lines, in docker's decimal units (kB, MB, GB, TB). ok is false
// when docker info shows no pool.
func ParseDockerInfoPool(out string) (p ThinPool, ok bool) {
	v := map[string]float64{}
	for _, line := range strings.Split(out, "\n") {
		k, val, found := strings.Cut(strings.TrimSpace(line), ":")
		if !found {
			continue
		}
		switch k {
		case "Pool Name":
			p.LV = strings.TrimSpace(val)
		case "Data Space Used", "Data Space Total", "Metadata Space Used", "Metadata Space Total":
			if n, err := parseDecimalSize(strings.TrimSpace(val)); err == nil {
				v[k] = n
			}
		}
	}
	if p.LV == "" || v["Data Space Total"] <= 0 || v["Metadata Space Total"] <= 0 {
		return ThinPool{}, false
	}
	p.Data = 100 * v["Data Space Used"] / v["Data Space Total"]
	p.Metadata = 100 * v["Metadata Space Used"] / v["Metadata Space Total"]
	return p, true
}

// parseDecimalSize reads docker's HumanSize ("27.08 GB", "524.3 kB", "0 B").
func parseDecimalSize(s string) (float64, error) {
	num, unit, _ := strings.Cut(s, " ")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || !(n >= 0 && n < 1e30) {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	mult, ok := map[string]float64{"B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15}[unit]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit", s)
	}
	return n * mult, nil
}

// MapperName is the device-mapper name of an LVM volume: its VG and LV
// with their hyphens doubled, joined by one ("docker--vg-docker--pool").
func (p ThinPool) MapperName() string {
	return strings.ReplaceAll(p.VG, "-", "--") + "-" + strings.ReplaceAll(p.LV, "-", "--")
}

// ServiceUnits are the units the services check asks systemctl about, in
// the order of ServicesCommand: the node service (3.11 Enterprise, Origin,
// plain Kubernetes) and the container runtimes.
var (
	NodeUnits    = []string{"atomic-openshift-node", "origin-node", "kubelet"}
	RuntimeUnits = []string{"docker", "crio"}
)

// ServicesCommand asks systemd for every unit's state, one line each.
func ServicesCommand() string {
	return "systemctl is-active " + strings.Join(append(append([]string{}, NodeUnits...), RuntimeUnits...), " ")
}

// ParseIsActive reads `systemctl is-active u1 u2 …`: one state per unit,
// in order ("active", "inactive", "failed", "activating", "unknown").
func ParseIsActive(out string, units []string) ([]UnitState, error) {
	var states []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			states = append(states, l)
		}
	}
	if len(states) != len(units) {
		return nil, fmt.Errorf("systemctl is-active printed %d states for %d units", len(states), len(units))
	}
	out2 := make([]UnitState, len(units))
	for i, u := range units {
		if strings.ContainsAny(states[i], " \t:") {
			return nil, fmt.Errorf("systemctl is-active: %q is not a unit state", states[i])
		}
		out2[i] = UnitState{Unit: u, State: states[i]}
	}
	return out2, nil
}
