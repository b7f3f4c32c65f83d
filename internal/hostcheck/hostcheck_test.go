package hostcheck

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

func write(t *testing.T, root, hostPath, data string) {
	t.Helper()
	p := filepath.Join(root, hostPath)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// scripted is a host root whose commands answer as a RHEL 7 host's do
// (outputs in the tools' own forms); a command it does not know is not
// installed (sh's exit 127).
type scripted struct {
	hostfs.FS
	answers map[string]hostfs.Result
	ran     []string
}

func (s *scripted) Run(_ context.Context, c hostfs.Command) (hostfs.Result, error) {
	s.ran = append(s.ran, c.Line)
	if r, ok := s.answers[c.Line]; ok {
		r.Line, r.Host = c.Line, "node-1"
		return r, nil
	}
	for prefix, r := range s.answers {
		if strings.HasSuffix(prefix, "*") && strings.HasPrefix(c.Line, strings.TrimSuffix(prefix, "*")) {
			r.Line, r.Host = c.Line, "node-1"
			return r, nil
		}
	}
	return hostfs.Result{Line: c.Line, Exit: 127, Stderr: "sh: " + strings.Fields(c.Line)[0] + ": command not found"}, nil
}

func (s *scripted) Where() string { return "on node-1" }

var clock = time.Unix(1764882000, 0)

// rhel7Node lays out a 3.11 compute node: the guide's files, overlay2 on
// an xfs /var/lib/docker, eth0 1500, networkConfig.mtu 1450, tun0 1450.
func rhel7Node(t *testing.T) string {
	root := t.TempDir()
	write(t, root, EntropyPath, "2683\n")
	write(t, root, OSReleasePath, "3.10.0-957.el7.x86_64\n")
	write(t, root, UptimePath, "350735.47 234388.90\n")
	write(t, root, RoutePath, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0102000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n")
	write(t, root, "/sys/class/net/eth0/mtu", "1500\n")
	write(t, root, "/sys/class/net/tun0/mtu", "1450\n")
	write(t, root, MountsPath, "/dev/sda1 / xfs rw,relatime 0 0\n/dev/sdb /var/lib/docker xfs rw,relatime,prjquota 0 0\n")
	write(t, root, NodeConfigPath, "kind: NodeConfig\napiVersion: v1\nnetworkConfig:\n  mtu: 1450\n  networkPluginName: redhat/openshift-ovs-subnet\n")
	write(t, root, DockerStorage, "DOCKER_STORAGE_OPTIONS='--storage-driver overlay2'\n")
	write(t, root, "/var/lib/docker/overlay2/l/.keep", "")
	return root
}

func rhel7Answers() map[string]hostfs.Result {
	return map[string]hostfs.Result{
		"date +%s.%N":           {Stdout: "1764882001.500000000\n"},
		"timedatectl":           {Stdout: "     NTP enabled: yes\nNTP synchronized: yes\n"},
		"xfs_info *":            {Stdout: "naming   =version 2              bsize=4096   ascii-ci=0 ftype=1\n"},
		model.ServicesCommand(): {Exit: 3, Stdout: "active\ninactive\ninactive\nactive\ninactive\n"},
	}
}

func levels(f model.HostFacts) map[string]model.HostCheck {
	out := map[string]model.HostCheck{}
	for _, c := range model.EvaluateHost(model.Host{Name: "node-1", Groups: []string{"nodes"}}, f) {
		out[c.ID] = c
	}
	return out
}

func TestGatherNodeOverSomeHost(t *testing.T) {
	root := rhel7Node(t)
	h := &scripted{FS: hostfs.New(root), answers: rhel7Answers()}
	// The host's date answers 1.5 s after this host's clock, which stood
	// still: a skew of +1.5 s.
	f := Gather(context.Background(), h, Options{Now: func() time.Time { return clock }})
	if f.Master || !f.NodeConfig || f.Entropy != 2683 || f.Kernel != "3.10.0-957.el7.x86_64" || f.Uptime.Round(time.Second) != 350735*time.Second {
		t.Fatalf("facts %+v", f)
	}
	if f.Skew.Offset != 1500*time.Millisecond || f.Skew.Uncertainty != 0 {
		t.Fatalf("skew %+v", f.Skew)
	}
	if f.TimeSync.State != model.TimeSynced || f.TimeSync.Source != "timedatectl: NTP synchronized: yes" {
		t.Fatalf("time sync %+v", f.TimeSync)
	}
	s := f.Storage
	if s.Runtime != "docker" || s.Driver != "overlay2" || s.Source != DockerStorage || s.BackingFS != "xfs" || s.FType != 1 || s.Space.Path != "/var/lib/docker" || s.Space.Size == 0 {
		t.Fatalf("storage %+v", s)
	}
	if !slicesContain(h.ran, "xfs_info '/var/lib/docker'") {
		t.Fatalf("xfs_info not asked of the mount point: %q", h.ran)
	}
	if f.MTU != (model.MTUFacts{Config: 1450, DefaultIf: "eth0", Default: 1500, Tun0: 1450}) {
		t.Fatalf("mtu %+v", f.MTU)
	}
	if f.ServicesErr != "" || len(f.Services) != 5 || f.Services[3] != (model.UnitState{Unit: "docker", State: "active"}) {
		t.Fatalf("services %+v %q", f.Services, f.ServicesErr)
	}
	cs := levels(f)
	for id, want := range map[string]model.HealthLevel{model.CheckNTP: model.HealthPass, model.CheckSkew: model.HealthWarn, model.CheckEntropy: model.HealthPass,
		model.CheckDriver: model.HealthPass, model.CheckMTU: model.HealthPass, model.CheckServices: model.HealthPass, model.CheckKernel: model.HealthPass} {
		if cs[id].Level != want {
			t.Errorf("%s: %s (%s), want %s", id, cs[id].Level, cs[id].Why, want)
		}
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// docker-storage-setup's devicemapper thin pool, read with lvs; chrony
// instead of timedatectl.
func TestGatherDevicemapperAndChrony(t *testing.T) {
	root := rhel7Node(t)
	write(t, root, DockerStorage, `DOCKER_STORAGE_OPTIONS="--storage-driver devicemapper --storage-opt dm.fs=xfs --storage-opt dm.thinpooldev=/dev/mapper/docker--vg-docker--pool --storage-opt dm.use_deferred_removal=true "`+"\n")
	a := rhel7Answers()
	delete(a, "timedatectl")
	a["chronyc tracking"] = hostfs.Result{Stdout: "Reference ID    : A9FEA97B (169.254.169.123)\nLeap status     : Not synchronised\n"}
	a[model.LVSThinPoolCommand] = hostfs.Result{Stdout: "  rhel,root,-wi-ao----,,\n  docker-vg,docker-pool,twi-a-t---,91.50,12.00\n"}
	f := Gather(context.Background(), &scripted{FS: hostfs.New(root), answers: a}, Options{Now: func() time.Time { return clock }})
	if f.TimeSync.State != model.TimeNotSynced || !strings.Contains(f.TimeSync.Source, "chronyc tracking: leap status Not synchronised") {
		t.Fatalf("time sync %+v", f.TimeSync)
	}
	if f.Storage.Pool == nil || f.Storage.Pool.Data != 91.5 {
		t.Fatalf("pool %+v %q", f.Storage.Pool, f.Storage.PoolErr)
	}
	cs := levels(f)
	if c := cs[model.CheckDriver]; c.Level != model.HealthFail || c.Figure != "dm 92%" {
		t.Fatalf("driver %+v", c)
	}
	if c := cs[model.CheckNTP]; c.Level != model.HealthFail {
		t.Fatalf("ntp %+v", c)
	}
}

// A host without the tools: every fact that needs one says which is
// missing; nothing is guessed.
func TestGatherWithoutCommands(t *testing.T) {
	root := rhel7Node(t)
	write(t, root, DockerStorage, `DOCKER_STORAGE_OPTIONS="--storage-driver devicemapper --storage-opt dm.thinpooldev=/dev/mapper/docker--vg-docker--pool"`+"\n")
	write(t, root, TimesyncMarker, "")
	f := Gather(context.Background(), &scripted{FS: hostfs.New(root)}, Options{Now: func() time.Time { return clock }})
	if f.Skew.Err != "date: command not found on the host" {
		t.Fatalf("skew %+v", f.Skew)
	}
	if f.TimeSync.State != model.TimeSynced || !strings.Contains(f.TimeSync.Source, "systemd-timesyncd") {
		t.Fatalf("time sync falls back to the marker: %+v", f.TimeSync)
	}
	if f.Storage.Pool != nil || f.Storage.PoolErr != "lvs: command not found on the host; docker: command not found on the host" {
		t.Fatalf("pool %+v", f.Storage)
	}
	if f.ServicesErr != "systemctl: command not found on the host" {
		t.Fatalf("services %q", f.ServicesErr)
	}
	cs := levels(f)
	for _, id := range []string{model.CheckSkew, model.CheckDriver, model.CheckServices} {
		if cs[id].Level != model.HealthUnknown || !strings.Contains(cs[id].Why, "command not found") {
			t.Errorf("%s: %+v", id, cs[id])
		}
	}
}

// A bare root: each file-based fact names what is missing.
func TestGatherEmptyRoot(t *testing.T) {
	f := Gather(context.Background(), &scripted{FS: hostfs.New(t.TempDir())}, Options{})
	if f.Master || f.NodeConfig {
		t.Fatal("an empty root is a master or node")
	}
	for what, got := range map[string]string{"entropy": f.EntropyErr, "kernel": f.KernelErr, "uptime": f.UptimeErr, "var": f.Var.Err,
		"mtu": f.MTU.ConfigErr, "route": f.MTU.DefaultErr, "storage": f.Storage.Err} {
		if got == "" || strings.Contains(got, os.TempDir()) {
			t.Errorf("%s: %q (must say why, without the local root)", what, got)
		}
	}
	if !strings.Contains(f.TimeSync.Source, "no /run/systemd/timesync/synchronized") || !strings.Contains(f.TimeSync.Source, "timedatectl: command not found") {
		t.Fatalf("time sync %+v", f.TimeSync)
	}
}

func TestGatherKubeadmMasterAndCRIO(t *testing.T) {
	root := t.TempDir()
	write(t, root, "/etc/kubernetes/manifests/kube-apiserver.yaml", "kind: Pod\n")
	write(t, root, StorageConf, "[storage]\ndriver = \"overlay\"\ngraphroot = \"/var/lib/containers/storage\"\n")
	write(t, root, "/var/lib/containers/storage/.keep", "")
	write(t, root, MountsPath, "/dev/vda4 / ext4 rw 0 0\n")
	write(t, root, EntropyPath, "many")
	f := Gather(context.Background(), &scripted{FS: hostfs.New(root)}, Options{})
	if !f.Master {
		t.Fatal("a kube-apiserver static pod does not make a master")
	}
	if s := f.Storage; s.Runtime != "crio" || s.Driver != "overlay" || s.Space.Path != "/var/lib/containers" || s.BackingFS != "ext4" {
		t.Fatalf("storage %+v", s)
	}
	if !strings.Contains(f.EntropyErr, `"many" is not a number`) {
		t.Fatalf("entropy error %q", f.EntropyErr)
	}
}

// noSystemctl is this machine, refusing systemctl: tests run as root on
// the CI machine itself and must not ask its systemd anything.
type noSystemctl struct{ hostfs.FS }

var errRefused = errors.New("systemctl refused in tests on this machine")

func (n noSystemctl) Run(ctx context.Context, c hostfs.Command) (hostfs.Result, error) {
	if strings.HasPrefix(c.Line, "systemctl") {
		return hostfs.Result{}, errRefused
	}
	return n.FS.Run(ctx, c)
}

// On this machine's own root the kernel is asked about time, as
// timedatectl does, and date's skew is about nothing.
func TestGatherThisHost(t *testing.T) {
	f := Gather(context.Background(), noSystemctl{hostfs.New("/")}, Options{})
	if f.TimeSync.State != model.TimeSynced && f.TimeSync.State != model.TimeNotSynced {
		t.Fatalf("kernel clock state not read: %+v", f.TimeSync)
	}
	if !strings.Contains(f.TimeSync.Source, "adjtimex") {
		t.Fatalf("source %q", f.TimeSync.Source)
	}
	if f.EntropyErr != "" || f.Entropy <= 0 || f.Kernel == "" || f.Var.Err != "" || f.Var.Size == 0 || f.UptimeErr != "" {
		t.Fatalf("facts %+v", f)
	}
	if f.Skew.Err != "" || f.Skew.Offset > time.Second || f.Skew.Offset < -time.Second {
		t.Fatalf("skew of this machine against itself: %+v", f.Skew)
	}
	if f.ServicesErr != errRefused.Error() {
		t.Fatalf("services %q", f.ServicesErr)
	}
}

// Without lvs, the thin pool's use comes from docker info, as seed 003
// §3.7 checks storage.
func TestGatherThinPoolFromDockerInfo(t *testing.T) {
	root := rhel7Node(t)
	write(t, root, DockerStorage, `DOCKER_STORAGE_OPTIONS="--storage-driver devicemapper --storage-opt dm.thinpooldev=/dev/mapper/docker--vg-docker--pool"`+"\n")
	a := rhel7Answers()
	a["docker info"] = hostfs.Result{Stdout: "Storage Driver: devicemapper\n Pool Name: docker--vg-docker--pool\n Data Space Used: 27.08 GB\n Data Space Total: 31.86 GB\n Metadata Space Used: 2.15 MB\n Metadata Space Total: 33.55 MB\n"}
	f := Gather(context.Background(), &scripted{FS: hostfs.New(root), answers: a}, Options{})
	if f.Storage.Pool == nil || int(f.Storage.Pool.Data) != 84 {
		t.Fatalf("pool %+v %q", f.Storage.Pool, f.Storage.PoolErr)
	}
	if c := levels(f)[model.CheckDriver]; c.Level != model.HealthWarn || c.Figure != "dm 85%" {
		t.Fatalf("driver %+v", c)
	}
}
