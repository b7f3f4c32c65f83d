package model

import (
	"testing"
	"time"
)

// timedatectl of RHEL 7 (systemd 219), as seed 003 §2.1 prints it, and of
// systemd 239+ (RHEL 8).
const (
	timedatectlRHEL7 = `      Local time: Thu 2017-12-21 14:58:34 UTC
  Universal time: Thu 2017-12-21 14:58:34 UTC
        RTC time: Thu 2017-12-21 14:58:34
       Time zone: Etc/UTC (UTC, +0000)
     NTP enabled: yes
NTP synchronized: yes
 RTC in local TZ: no
      DST active: n/a
`
	timedatectlRHEL8 = `               Local time: Fri 2026-12-04 21:00:00 UTC
           Universal time: Fri 2026-12-04 21:00:00 UTC
                 RTC time: Fri 2026-12-04 21:00:00
                Time zone: UTC (UTC, +0000)
System clock synchronized: no
              NTP service: active
          RTC in local TZ: no
`
	chronyTracking = `Reference ID    : A9FEA97B (169.254.169.123)
Stratum         : 4
Ref time (UTC)  : Fri Dec 04 20:59:41 2026
System time     : 0.000012345 seconds slow of NTP time
Last offset     : -0.000002153 seconds
RMS offset      : 0.000018311 seconds
Frequency       : 12.345 ppm fast
Residual freq   : -0.000 ppm
Skew            : 0.012 ppm
Root delay      : 0.000325000 seconds
Root dispersion : 0.000283 seconds
Update interval : 16.1 seconds
Leap status     : Normal
`
	procNetRoute = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth1\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n" +
		"eth0\t00000000\t0102000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
		"eth0\t0002000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n" +
		"tun0\t0000800A\t00000000\t0001\t0\t0\t0\t0000FCFF\t0\t0\t0\n"
	// node-config.yaml as openshift-ansible 3.11 renders the node group's
	// config map.
	nodeConfig = `kind: NodeConfig
apiVersion: v1
authConfig:
  authenticationCacheSize: 1000
  authenticationCacheTTL: 5m
dnsBindAddress: 127.0.0.1:53
dnsDomain: cluster.local
dnsIP: 0.0.0.0
iptablesSyncPeriod: 30s
networkConfig:
  mtu: 1450
  networkPluginName: redhat/openshift-ovs-subnet
nodeName: ${node_name}
servingInfo:
  bindAddress: 0.0.0.0:10250
  clientCA: client-ca.crt
`
	xfsInfo = `meta-data=/dev/sdb               isize=512    agcount=4, agsize=1638400 blks
         =                       sectsz=512   attr=2, projid32bit=1
         =                       crc=1        finobt=0 spinodes=0
data     =                       bsize=4096   blocks=6553600, imaxpct=25
         =                       sunit=0      swidth=0 blks
naming   =version 2              bsize=4096   ascii-ci=0 ftype=1
log      =internal               bsize=4096   blocks=3200, version=2
         =                       sectsz=512   sunit=0 blks, lazy-count=1
realtime =none                   extsz=4096   blocks=0, rtextents=0
`
	// lvs with LVSThinPoolCommand's options on a docker-storage-setup host.
	lvsOut = "  rhel,root,-wi-ao----,,\n  docker-vg,docker-pool,twi-a-t---,45.23,3.10\n"
	// docker-storage-setup's devicemapper output.
	dockerStorageDM = `DOCKER_STORAGE_OPTIONS="--storage-driver devicemapper --storage-opt dm.fs=xfs --storage-opt dm.thinpooldev=/dev/mapper/docker--vg-docker--pool --storage-opt dm.use_deferred_removal=true --storage-opt dm.use_deferred_deletion=true "
`
	procMounts = `/dev/sda1 / xfs rw,seclabel,relatime,attr2,inode64,noquota 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
/dev/sdb /var/lib/docker xfs rw,seclabel,relatime,attr2,inode64,prjquota 0 0
overlay /var/lib/docker/overlay2/abc/merged overlay rw,lowerdir=x 0 0
/dev/sdc /var/lib/origin/openshift\040local xfs rw 0 0
`
)

func TestParseTimeSync(t *testing.T) {
	if s, l, ok := ParseTimedatectl(timedatectlRHEL7); !s || !ok || l != "NTP synchronized: yes" {
		t.Error("RHEL 7 timedatectl")
	}
	if s, l, ok := ParseTimedatectl(timedatectlRHEL8); s || !ok || l != "System clock synchronized: no" {
		t.Error("RHEL 8 timedatectl")
	}
	if _, _, ok := ParseTimedatectl("Failed to create bus connection: No such file or directory\n"); ok {
		t.Error("an error is not a status")
	}
	if s, st, ok := ParseChronyTracking(chronyTracking); !s || st != "Normal" || !ok {
		t.Error("chronyc tracking")
	}
	if s, _, ok := ParseChronyTracking("Leap status     : Not synchronised\n"); s || !ok {
		t.Error("chronyc not synchronised")
	}
}

func TestParseEpochAndUptime(t *testing.T) {
	ts, err := ParseEpoch("1764882000.123456789\n")
	if err != nil || ts.Unix() != 1764882000 || ts.Nanosecond() != 123456789 {
		t.Fatalf("%v %v", ts, err)
	}
	if ts, err := ParseEpoch("1764882000.N\n"); err != nil || ts.Nanosecond() != 0 {
		t.Fatalf("busybox date: %v %v", ts, err)
	}
	if _, err := ParseEpoch("sh: date: not found"); err == nil {
		t.Fatal("garbage parsed")
	}
	if d, err := ParseUptime("350735.47 234388.90\n"); err != nil || d.Round(time.Second) != 350735*time.Second {
		t.Fatalf("%v %v", d, err)
	}
	if _, err := ParseUptime("NaN 1"); err == nil {
		t.Fatal("NaN uptime")
	}
}

func TestParseNetwork(t *testing.T) {
	if i, err := ParseDefaultRoute(procNetRoute); err != nil || i != "eth0" {
		t.Fatalf("%q %v", i, err)
	}
	if _, err := ParseDefaultRoute(procNetRoute[:80]); err == nil {
		t.Fatal("no default route found one")
	}
	if m, err := ParseMTU("1450\n"); err != nil || m != 1450 {
		t.Fatal(m, err)
	}
	if m, err := ParseNodeConfigMTU([]byte(nodeConfig)); err != nil || m != 1450 {
		t.Fatal(m, err)
	}
	if m, err := ParseNodeConfigMTU([]byte("kind: NodeConfig\n")); err != nil || m != 0 {
		t.Fatal(m, err)
	}
	if _, err := ParseNodeConfigMTU([]byte("networkConfig: [")); err == nil {
		t.Fatal("bad yaml")
	}
}

func TestParseStorage(t *testing.T) {
	o, err := ParseDockerStorage([]byte("DOCKER_STORAGE_OPTIONS='--storage-driver overlay2'\n"))
	if err != nil || o.Driver != "overlay2" || o.ThinPoolDev != "" {
		t.Fatalf("%+v %v", o, err)
	}
	o, err = ParseDockerStorage([]byte(dockerStorageDM))
	if err != nil || o.Driver != "devicemapper" || o.ThinPoolDev != "/dev/mapper/docker--vg-docker--pool" {
		t.Fatalf("%+v %v", o, err)
	}
	if o, _ := ParseDockerStorage([]byte("DOCKER_STORAGE_OPTIONS=-s=overlay2\n")); o.Driver != "overlay2" {
		t.Fatalf("%+v", o)
	}
	o, err = ParseDaemonJSON([]byte(`{"storage-driver": "devicemapper", "storage-opts": ["dm.thinpooldev=/dev/mapper/docker-thinpool"]}`))
	if err != nil || o.Driver != "devicemapper" || o.ThinPoolDev != "/dev/mapper/docker-thinpool" {
		t.Fatalf("%+v %v", o, err)
	}
	d, err := ParseStorageConf([]byte("[storage]\ndriver = \"overlay\"\nrunroot = \"/var/run/containers/storage\"\ngraphroot = \"/var/lib/containers/storage\"\n[storage.options]\nadditionalimagestores = []\n"))
	if err != nil || d != "overlay" {
		t.Fatal(d, err)
	}
	if mp, fst, ok := MountOf(procMounts, "/var/lib/docker"); !ok || mp != "/var/lib/docker" || fst != "xfs" {
		t.Fatal(mp, fst)
	}
	if mp, fst, _ := MountOf(procMounts, "/var"); mp != "/" || fst != "xfs" {
		t.Fatal(mp, fst)
	}
	if mp, _, _ := MountOf(procMounts, "/var/lib/origin/openshift local/x"); mp != "/var/lib/origin/openshift local" {
		t.Fatal(mp)
	}
	if f, ok := ParseXFSFtype(xfsInfo); !ok || f != 1 {
		t.Fatal(f, ok)
	}
	if _, ok := ParseXFSFtype("naming =version 2 bsize=4096 ascii-ci=0\n"); ok {
		t.Fatal("old xfs_info without ftype")
	}
	pools := ParseLVSThinPools(lvsOut)
	if len(pools) != 1 || pools[0].Data != 45.23 || pools[0].Metadata != 3.1 || pools[0].MapperName() != "docker--vg-docker--pool" {
		t.Fatalf("%+v", pools)
	}
}

// docker info of docker 1.13 on a docker-storage-setup thin pool.
const dockerInfoDM = `Containers: 4
Server Version: 1.13.1
Storage Driver: devicemapper
 Pool Name: docker--vg-docker--pool
 Pool Blocksize: 524.3 kB
 Base Device Size: 10.74 GB
 Backing Filesystem: xfs
 Data Space Used: 27.08 GB
 Data Space Total: 31.86 GB
 Data Space Available: 4.78 GB
 Metadata Space Used: 2.15 MB
 Metadata Space Total: 33.55 MB
 Metadata Space Available: 31.4 MB
Logging Driver: journald
`

func TestParseDockerInfoPool(t *testing.T) {
	p, ok := ParseDockerInfoPool(dockerInfoDM)
	if !ok || p.LV != "docker--vg-docker--pool" || int(p.Data) != 84 || int(p.Metadata) != 6 {
		t.Fatalf("%+v %v", p, ok)
	}
	if _, ok := ParseDockerInfoPool("Storage Driver: overlay2\n Backing Filesystem: xfs\n"); ok {
		t.Fatal("overlay2 has no pool")
	}
}

func TestParseIsActive(t *testing.T) {
	units := append(append([]string{}, NodeUnits...), RuntimeUnits...)
	s, err := ParseIsActive("active\ninactive\ninactive\nactive\nunknown\n", units)
	if err != nil || s[0] != (UnitState{"atomic-openshift-node", "active"}) || s[4].State != "unknown" {
		t.Fatal(s, err)
	}
	if _, err := ParseIsActive("System has not been booted with systemd as init system (PID 1). Can't operate.\n", units); err == nil {
		t.Fatal("an error message read as states")
	}
}

func FuzzHostParsers(f *testing.F) {
	for _, s := range []string{timedatectlRHEL7, timedatectlRHEL8, chronyTracking, procNetRoute, nodeConfig, xfsInfo, lvsOut, dockerStorageDM, procMounts,
		dockerInfoDM, "1764882000.123456789", "350735.47 234388.90", `{"storage-driver":"overlay2"}`, "[storage]\ndriver=\"overlay\"", "active\ninactive"} {
		f.Add(s)
	}
	units := append(append([]string{}, NodeUnits...), RuntimeUnits...)
	f.Fuzz(func(t *testing.T, s string) {
		ParseTimedatectl(s)
		ParseChronyTracking(s)
		_, _ = ParseEpoch(s)
		if d, err := ParseUptime(s); err == nil && d < 0 {
			t.Fatalf("negative uptime %v", d)
		}
		if i, err := ParseDefaultRoute(s); err == nil && i == "" {
			t.Fatal("empty interface without error")
		}
		if m, err := ParseMTU(s); err == nil && m <= 0 {
			t.Fatal("non-positive MTU")
		}
		if m, err := ParseNodeConfigMTU([]byte(s)); err == nil && m < 0 {
			t.Fatal("negative MTU")
		}
		_, _ = ParseDockerStorage([]byte(s))
		_, _ = ParseDaemonJSON([]byte(s))
		_, _ = ParseStorageConf([]byte(s))
		if mp, _, ok := MountOf(s, "/var/lib/docker"); ok && !under("/var/lib/docker", mp) {
			t.Fatalf("mount %q does not hold the path", mp)
		}
		if ft, ok := ParseXFSFtype(s); ok && (ft < 0 || ft > 9) {
			t.Fatal(ft)
		}
		if p, ok := ParseDockerInfoPool(s); ok && (p.Data < 0 || p.Metadata < 0) {
			t.Fatalf("negative use %+v", p)
		}
		for _, p := range ParseLVSThinPools(s) {
			_ = p.MapperName()
		}
		if st, err := ParseIsActive(s, units); err == nil && len(st) != len(units) {
			t.Fatal("states do not match units")
		}
	})
}
