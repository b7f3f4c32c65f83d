package localcluster

import "strconv"

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

// hostHealthFiles adds master h's health files to its host root.
func hostHealthFiles(fs *fileSet, h hostInfo) {
	fs.add("proc/sys/kernel/random/entropy_avail", []byte(strconv.Itoa(DemoEntropy[h.index%len(DemoEntropy)])+"\n"))
	fs.add("proc/sys/kernel/osrelease", []byte(demoKernelRelease+"\n"))
	if DemoTimesynced[h.index%len(DemoTimesynced)] {
		fs.add("run/systemd/timesync/synchronized", nil)
	}
	// /var exists on every host; statfs reads the space of the disk below.
	fs.add("var/log/messages", nil)
}
