package localcluster

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Host files the Health pane's host checks read (seed 003 §2.1, §2.2), so
// the demo and the tests see each outcome: master-0 (the demo's host) has
// entropy below the guide's 1000 and no sign of time synchronisation (two
// warnings), master-1 is healthy (the guide's own 2683), and master-2 is
// synchronised but has entropy below the 800 alert level (a failure). The
// kernel is RHEL 7's, whose entropy count the guide's thresholds were
// written for.
const demoKernelRelease = "3.10.0-957.el7.x86_64"

// DemoEntropy is each master's entropy_avail; DemoTimesynced says which
// masters carry systemd-timesyncd's synchronized marker.
var (
	DemoEntropy    = []int{912, 2683, 640}
	DemoTimesynced = []bool{false, true, true}
)

// hostHealthFiles adds host h's health files to its host root, in the
// forms the kernel and the daemons write them.
func hostHealthFiles(fs *fileSet, h hostInfo, p hostProfile) {
	fs.add("proc/sys/kernel/random/entropy_avail", []byte(strconv.Itoa(p.entropy)+"\n"))
	fs.add("proc/sys/kernel/osrelease", []byte(demoKernelRelease+"\n"))
	// Up 12 days and some hours, a little more on each host.
	up := 1040000 + 3607*(h.index+1)
	fs.add("proc/uptime", []byte(fmt.Sprintf("%d.%02d %d.%02d\n", up, h.index*7%100, 2*up, h.index*3%100)))
	fs.add("proc/net/route", []byte(procNetRoute))
	for dev, mtu := range map[string]int{"eth0": p.eth0MTU, "tun0": p.tun0MTU} {
		fs.add("sys/class/net/"+dev+"/mtu", []byte(strconv.Itoa(mtu)+"\n"))
		fs.add("sys/class/net/"+dev+"/operstate", []byte("up\n"))
	}
	tracking := ""
	switch p.timesync {
	case "timesyncd":
		fs.add("run/systemd/timesync/synchronized", nil)
	case "chrony":
		fs.add("var/lib/chrony/drift", []byte("           12.533             0.021\n"))
		tracking = chronyTracking("C0000201 (192.0.2.1)", "0.000004210")
	}
	simTime(fs, p.timesync != "", p.timesync != "", tracking)
	simUnits(fs, h, p.crio)
	fs.add("var/log/messages", nil)
	// The runtimes' own files: docker's image store in its driver's
	// directory, CRI-O's containers/storage.
	driver := "overlay2"
	if p.dockerStorage == dockerStorageDM {
		driver = "devicemapper"
	}
	fs.add("var/lib/docker/image/"+driver+"/repositories.json", []byte(`{"Repositories":{}}`))
	if driver == "devicemapper" {
		fs.add(simThinPool, []byte(simThinPoolUse))
	}
	if p.crio {
		fs.add("var/lib/containers/storage/overlay-images/images.json", []byte("[]"))
	}
	mounts, mountinfo := mountTable(p, fs.root)
	fs.add("proc/self/mounts", []byte(mounts))
	fs.add("proc/mounts", []byte(mounts))
	fs.add("proc/self/mountinfo", []byte(mountinfo))
	fs.add("etc/hostname", []byte(h.name+"\n"))
	fs.add("etc/passwd", []byte("root:x:0:0:root:/root:/bin/bash\n"))
	fs.add("etc/group", []byte("root:x:0:\n"))
	fs.add("etc/redhat-release", []byte("Red Hat Enterprise Linux Server release 7.9 (Maipo)\n"))
}

// mountTable is the host's /proc/self/mounts and mountinfo, so df (seed 003
// §3.6's df -hT) and findmnt (xfs_info) find its filesystems: the types and
// device numbers are those of the chroot's real mounts under root, whose
// sizes statfs reports.
func mountTable(p hostProfile, root string) (mounts, mountinfo string) {
	type m struct{ src, dir, typ, opts string }
	table := []m{
		{"/dev/mapper/rhel-root", "/", "xfs", "rw,relatime,attr2,inode64,noquota"},
		{"tmpfs", "/var", "tmpfs", fmt.Sprintf("rw,nosuid,nodev,size=%dk,mode=755", p.varSize>>10)},
	}
	if p.dockerXFS {
		// The loop device it really is (bound into the chroot's /dev).
		dev, err := mountSource(filepath.Join(root, "var/lib/docker"))
		if err != nil {
			dev = "/dev/mapper/docker--vg-dockerlv"
		}
		table = append(table, m{dev, "/var/lib/docker", "xfs", "rw,relatime,attr2,inode64,noquota"})
	}
	var a, b strings.Builder
	for i, e := range table {
		dev := "0:0"
		var st unix.Stat_t
		if unix.Stat(filepath.Join(root, e.dir), &st) == nil {
			dev = fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
		}
		parent := 60 // the root's, itself below the namespace's first mount
		if i == 0 {
			parent = 1
		}
		fmt.Fprintf(&a, "%s %s %s %s 0 0\n", e.src, e.dir, e.typ, e.opts)
		fmt.Fprintf(&b, "%d %d %s / %s %s - %s %s %s\n", 60+i, parent, dev, e.dir, e.opts, e.typ, e.src, e.opts)
	}
	return a.String(), b.String()
}

// procNetRoute is /proc/net/route of a node: the default route and the
// node's subnet on eth0, the cluster network on tun0.
var procNetRoute = func() string {
	var b strings.Builder
	for _, l := range []string{
		"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
		"eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
		"eth0\t000200C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0",
		"tun0\t0000800A\t00000000\t0001\t0\t0\t0\t0000FCFF\t0\t0\t0",
	} {
		fmt.Fprintf(&b, "%-127s\n", l)
	}
	return b.String()
}()
