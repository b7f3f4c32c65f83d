// Package hostcheck reads what the guides' host checks need from one host,
// through hostfs.Host (this machine under a host root, or another one over
// SSH): clock synchronisation and skew, entropy, kernel and uptime, space
// on /var and on the container storage, the storage driver and its
// filesystem, the MTUs and the node and runtime services (seed 003 ch. 2
// and 3). It only reads: files, statfs, and read-only commands with short
// timeouts. A fact it cannot read says why; it never guesses.
package hostcheck

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// Host paths read.
const (
	EntropyPath    = "/proc/sys/kernel/random/entropy_avail"
	OSReleasePath  = "/proc/sys/kernel/osrelease"
	UptimePath     = "/proc/uptime"
	RoutePath      = "/proc/net/route"
	MountsPath     = "/proc/mounts"
	NodeConfigPath = "/etc/origin/node/node-config.yaml"
	DockerStorage  = "/etc/sysconfig/docker-storage"
	DaemonJSON     = "/etc/docker/daemon.json"
	StorageConf    = "/etc/containers/storage.conf"
	VarDir         = "/var"
	// TimesyncMarker is touched by systemd-timesyncd each time it
	// synchronises the clock.
	TimesyncMarker = "/run/systemd/timesync/synchronized"
)

// Storage directories of the runtimes (seed 003 §3.6).
var storageDirs = map[string]string{"docker": "/var/lib/docker", "crio": "/var/lib/containers"}

// driftFiles are written by chronyd and ntpd once they have estimated the
// clock's drift: proof that the daemon has run, not that it is in sync now.
var driftFiles = []string{"/var/lib/chrony/drift", "/var/lib/chrony/chrony.drift", "/var/lib/ntp/drift", "/var/lib/ntp/ntp.drift"}

// CommandTimeout bounds each command a gathering runs.
const CommandTimeout = 5 * time.Second

// Options tune a gathering; the zero value is what the console uses.
type Options struct {
	// Now is this host's clock, the skew's reference (time.Now when nil).
	Now func() time.Time
	// CommandTimeout bounds each command (CommandTimeout when zero).
	CommandTimeout time.Duration
}

type gatherer struct {
	ctx context.Context
	h   hostfs.Host
	o   Options
}

// Gather reads one host's facts. It returns when every read is done or
// ctx ends (reads not done by then say so).
func Gather(ctx context.Context, h hostfs.Host, o Options) model.HostFacts {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = CommandTimeout
	}
	g := gatherer{ctx: ctx, h: h, o: o}
	f := model.HostFacts{Root: rootOf(h), Master: g.isMaster()}
	f.Skew = g.skew()
	f.TimeSync = g.timeSync()
	f.Entropy, f.EntropyErr = g.entropy()
	if b, err := g.read(OSReleasePath); err == nil {
		f.Kernel = strings.TrimSpace(string(b))
	} else {
		f.KernelErr = err.Error()
	}
	if b, err := g.read(UptimePath); err != nil {
		f.UptimeErr = err.Error()
	} else if f.Uptime, err = model.ParseUptime(string(b)); err != nil {
		f.UptimeErr = err.Error()
	}
	f.Var = g.space(VarDir)
	_, err := h.Stat(NodeConfigPath)
	f.NodeConfig = err == nil
	f.Storage = g.storage()
	f.MTU = g.mtu()
	f.Services, f.ServicesErr = g.services()
	return f
}

// Where is "under <root>" for this machine's files (hostfs.FS, or a host
// wrapping one) and "on <host>" for another host.
const localWhere = "under "

// local tells a host that is this machine's files: its clock is this
// host's, whatever its root.
func local(h hostfs.Host) bool { return strings.HasPrefix(h.Where(), localWhere) }

// thisMachine tells this machine's own root: its kernel can be asked
// directly.
func thisMachine(h hostfs.Host) bool { return h.Where() == localWhere+"/" }

// rootOf is where the facts come from: the host root of this machine's
// files, else "on <host>".
func rootOf(h hostfs.Host) string {
	if local(h) {
		return strings.TrimPrefix(h.Where(), localWhere)
	}
	return h.Where()
}

// read reads a host file; its error names the path (and not the local
// root prefix, which says nothing on another host).
func (g gatherer) read(hostPath string) ([]byte, error) {
	if err := g.ctx.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", hostPath, err)
	}
	b, err := g.h.ReadFile(hostPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no %s", hostPath)
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", hostPath, err)
	}
	return b, nil
}

func (g gatherer) exists(hostPath string) bool {
	_, err := g.h.Stat(hostPath)
	return err == nil
}

// run runs a read-only command. why is "" when it ran (whatever its exit
// code: is-active and lvs say useful things on stdout with a non-zero
// one), else why not: the host cannot run commands, the command is not
// installed (sh's 127), it did not answer in time.
func (g gatherer) run(line string) (r hostfs.Result, why string) {
	r, err := g.h.Run(g.ctx, hostfs.Command{Line: line, Timeout: g.o.CommandTimeout})
	switch {
	case err != nil:
		return r, err.Error()
	case r.Exit == 127:
		return r, strings.Fields(line)[0] + ": command not found on the host"
	}
	return r, ""
}

// failed is a command's non-zero exit as a reason.
func failed(r hostfs.Result) string {
	msg := strings.TrimSpace(r.Stderr)
	if msg == "" {
		msg = strings.TrimSpace(r.Stdout)
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Sprintf("%s: exit %d: %s", r.Line, r.Exit, msg)
}

// masterMarkers make a host a master: OpenShift 3.11's /etc/origin/master,
// or a kube-apiserver static pod (kubeadm, OpenShift 4).
func (g gatherer) isMaster() bool {
	if g.exists("/etc/origin/master") {
		return true
	}
	entries, err := g.h.ReadDir("/etc/kubernetes/manifests")
	if err != nil {
		return false
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "kube-apiserver") {
			return true
		}
	}
	return false
}

func (g gatherer) entropy() (int, string) {
	b, err := g.read(EntropyPath)
	if err != nil {
		return 0, err.Error()
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Sprintf("%s: %q is not a number", EntropyPath, strings.TrimSpace(string(b)))
	}
	return n, ""
}

func (g gatherer) space(hostPath string) model.DiskSpace {
	d := model.DiskSpace{Path: hostPath}
	st, err := g.h.StatFS(hostPath)
	if err != nil {
		d.Err = fmt.Sprintf("statfs %s: %v", hostPath, unwrapPathError(err))
		return d
	}
	d.Size, d.Free = st.Size, st.Free
	return d
}

// unwrapPathError drops a local *PathError's path (the root prefix).
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// skew asks the host for its clock and compares it with this host's at
// the midpoint of the round trip.
func (g gatherer) skew() model.ClockSkew {
	if local(g.h) {
		return model.ClockSkew{Same: true}
	}
	before := g.o.Now()
	r, why := g.run("date +%s.%N")
	after := g.o.Now()
	if why != "" {
		return model.ClockSkew{Err: why}
	}
	if r.Exit != 0 {
		return model.ClockSkew{Err: failed(r)}
	}
	theirs, err := model.ParseEpoch(r.Stdout)
	if err != nil {
		return model.ClockSkew{Err: err.Error()}
	}
	// The command's own run time counts as doubt, not as skew.
	half := after.Sub(before) / 2
	return model.ClockSkew{Offset: theirs.Sub(before.Add(half)), Uncertainty: half}
}

// maxSyncedError is the kernel's maximum error below which systemd (and so
// timedatectl's "synchronized: yes") counts the clock as synchronised.
const maxSyncedError = 16 * time.Second

// timeSync asks, in order: the kernel itself on this machine's own root;
// timedatectl; chronyc tracking; then the files time daemons leave.
func (g gatherer) timeSync() model.TimeSync {
	if thisMachine(g.h) {
		return kernelTimeSync()
	}
	var tried []string
	r, why := g.run("timedatectl")
	if why == "" {
		if synced, line, ok := model.ParseTimedatectl(r.Stdout); ok {
			return stateOf(synced, "timedatectl: "+line)
		}
		why = failed(r)
	}
	tried = append(tried, why)
	r, why = g.run("chronyc tracking")
	if why == "" {
		if synced, status, ok := model.ParseChronyTracking(r.Stdout); ok {
			return stateOf(synced, "chronyc tracking: leap status "+status)
		}
		why = failed(r)
	}
	tried = append(tried, why)
	ts := g.timeSyncFiles()
	if ts.State == model.TimeNoEvidence {
		ts.Source += " (" + strings.Join(tried, "; ") + ")"
	}
	return ts
}

func stateOf(synced bool, source string) model.TimeSync {
	if synced {
		return model.TimeSync{State: model.TimeSynced, Source: source}
	}
	return model.TimeSync{State: model.TimeNotSynced, Source: source}
}

func (g gatherer) timeSyncFiles() model.TimeSync {
	now := g.o.Now()
	fi, err := g.h.Stat(TimesyncMarker)
	switch {
	case err == nil:
		return model.TimeSync{State: model.TimeSynced, Source: fmt.Sprintf("%s (systemd-timesyncd, %s ago)", TimesyncMarker, model.HumanAge(now.Sub(fi.ModTime())))}
	case !errors.Is(err, fs.ErrNotExist):
		return model.TimeSync{Err: fmt.Sprintf("stat %s: %v", TimesyncMarker, unwrapPathError(err))}
	}
	for _, f := range driftFiles {
		if fi, err := g.h.Stat(f); err == nil {
			return model.TimeSync{State: model.TimeNoEvidence, Source: fmt.Sprintf(
				"%s was written %s ago, so chronyd or ntpd has run, but whether it is in sync cannot be read %s", f, model.HumanAge(now.Sub(fi.ModTime())), g.h.Where())}
		}
	}
	return model.TimeSync{State: model.TimeNoEvidence, Source: fmt.Sprintf("no %s and no chrony or ntpd drift file %s", TimesyncMarker, g.h.Where())}
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

// storage finds the runtime's storage configuration (docker's
// docker-storage, then daemon.json; CRI-O's storage.conf), its directory's
// space and filesystem, and a devicemapper thin pool's use.
func (g gatherer) storage() model.ContainerStorage {
	s := g.storageConfig()
	dir := storageDirs[s.Runtime]
	if dir == "" || !g.exists(dir) {
		dir = ""
		for _, rt := range []string{"docker", "crio"} {
			if g.exists(storageDirs[rt]) {
				dir = storageDirs[rt]
				break
			}
		}
	}
	if s.Driver == "devicemapper" && s.ThinPoolDev != "" {
		s.Pool, s.PoolErr = g.thinPool(s.ThinPoolDev)
	}
	s.FType = -1
	if dir == "" {
		s.BackingErr = "neither /var/lib/docker nor /var/lib/containers exists"
		return s
	}
	s.Space = g.space(dir)
	mounts, err := g.read(MountsPath)
	if err != nil {
		s.BackingErr = err.Error()
	} else if mp, fsType, ok := model.MountOf(string(mounts), dir); !ok {
		s.BackingErr = MountsPath + " lists no filesystem holding " + dir
	} else {
		s.BackingFS = fsType
		if fsType == "xfs" {
			s.FType, s.FTypeErr = g.ftype(mp)
		}
	}
	return s
}

// storageSources are where the runtimes configure storage, in the order
// read: docker-storage-setup's file, docker's daemon.json, CRI-O's
// storage.conf.
var storageSources = []struct {
	path, runtime string
	parse         func([]byte) (model.DockerStorageOptions, error)
}{
	{DockerStorage, "docker", model.ParseDockerStorage},
	{DaemonJSON, "docker", model.ParseDaemonJSON},
	{StorageConf, "crio", func(b []byte) (model.DockerStorageOptions, error) {
		d, err := model.ParseStorageConf(b)
		return model.DockerStorageOptions{Driver: d}, err
	}},
}

func (g gatherer) storageConfig() model.ContainerStorage {
	var errs []string
	for _, src := range storageSources {
		b, err := g.read(src.path)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		o, err := src.parse(b)
		if err != nil {
			return model.ContainerStorage{Runtime: src.runtime, Source: src.path, Err: err.Error()}
		}
		if o.Driver != "" {
			return model.ContainerStorage{Runtime: src.runtime, Driver: o.Driver, ThinPoolDev: o.ThinPoolDev, Source: src.path}
		}
		errs = append(errs, src.path+" sets no storage driver")
	}
	return model.ContainerStorage{Err: "no storage driver configured: " + strings.Join(errs, "; ")}
}

func (g gatherer) ftype(mountPoint string) (int, string) {
	r, why := g.run("xfs_info " + shellQuote(mountPoint))
	switch {
	case why != "":
		return -1, why
	case r.Exit != 0:
		return -1, failed(r)
	}
	if ft, ok := model.ParseXFSFtype(r.Stdout); ok {
		return ft, ""
	}
	// xfsprogs before 3.2 printed no ftype, and could not make ftype=1.
	return 0, ""
}

// thinPool reads the pool's use with lvs, else from docker info (seed 003
// §3.7's check, which needs docker running).
func (g gatherer) thinPool(dev string) (*model.ThinPool, string) {
	r, why := g.run(model.LVSThinPoolCommand)
	switch {
	case why != "":
		info, infoWhy := g.run("docker info")
		switch {
		case infoWhy != "":
			return nil, why + "; " + infoWhy
		case info.Exit != 0:
			return nil, why + "; " + failed(info)
		}
		if p, ok := model.ParseDockerInfoPool(info.Stdout); ok {
			return &p, ""
		}
		return nil, why + "; docker info shows no thin pool"
	case r.Exit != 0:
		return nil, failed(r)
	}
	pools := model.ParseLVSThinPools(r.Stdout)
	for i, p := range pools {
		if path.Base(dev) == p.MapperName() || dev == "/dev/"+p.VG+"/"+p.LV {
			return &pools[i], ""
		}
	}
	return nil, fmt.Sprintf("lvs lists no thin pool %s (%d thin pools)", dev, len(pools))
}

func (g gatherer) mtu() model.MTUFacts {
	var m model.MTUFacts
	if b, err := g.read(NodeConfigPath); err != nil {
		m.ConfigErr = err.Error()
	} else if m.Config, err = model.ParseNodeConfigMTU(b); err != nil {
		m.ConfigErr = err.Error()
	} else if m.Config == 0 {
		m.ConfigErr = NodeConfigPath + " sets no networkConfig.mtu"
	}
	if b, err := g.read(RoutePath); err != nil {
		m.DefaultErr = err.Error()
	} else if m.DefaultIf, err = model.ParseDefaultRoute(string(b)); err != nil {
		m.DefaultErr = err.Error()
	} else {
		m.Default, m.DefaultErr = g.ifMTU(m.DefaultIf)
	}
	if g.exists("/sys/class/net/tun0") {
		m.Tun0, m.Tun0Err = g.ifMTU("tun0")
	}
	return m
}

func (g gatherer) ifMTU(ifname string) (int, string) {
	p := "/sys/class/net/" + ifname + "/mtu"
	b, err := g.read(p)
	if err != nil {
		return 0, err.Error()
	}
	n, err := model.ParseMTU(string(b))
	if err != nil {
		return 0, p + ": " + err.Error()
	}
	return n, ""
}

func (g gatherer) services() ([]model.UnitState, string) {
	units := append(append([]string{}, model.NodeUnits...), model.RuntimeUnits...)
	r, why := g.run(model.ServicesCommand())
	if why != "" {
		return nil, why
	}
	states, err := model.ParseIsActive(r.Stdout, units)
	if err != nil {
		return nil, failed(r)
	}
	return states, ""
}

// shellQuote quotes a word for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
