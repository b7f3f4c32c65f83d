package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The simulated hosts' systemd. Like kwok playing the kubelets, one shell
// script plays systemctl, shutdown, reboot, poweroff, halt, timedatectl,
// chronyc and docker (info) on every host root, with their real output
// formats (RHEL 7's systemd 219, chrony, docker 1.13). It runs inside the host's chroot and keeps its
// state there, in /run/day2-sim: nothing it does can reach the systemd of the
// machine the cluster runs on. A shutdown it records is carried out by the
// cluster (power.go).

// simulatedCommands are the commands the simulator plays, by the name it
// was run as.
var simulatedCommands = []string{"systemctl", "shutdown", "reboot", "poweroff", "halt", "timedatectl", "chronyc", "docker"}

// SimStateDir is the simulators' state directory in a host root.
const SimStateDir = "run/day2-sim"

// Files of the simulators' state, relative to SimStateDir: units/<unit>
// holds a unit's ActiveState, enabled/<unit> exists for an enabled unit,
// fail/<unit> makes its next start fail, log records every action
// ("<epoch> <command line>"), shutdown a pending shutdown ("<action>
// <due epoch>").
const (
	SimUnitsDir    = SimStateDir + "/units"
	SimFailDir     = SimStateDir + "/fail"
	SimLog         = SimStateDir + "/log"
	SimShutdown    = SimStateDir + "/shutdown"
	simEnabledDir  = SimStateDir + "/enabled"
	simTimedate    = SimStateDir + "/timedatectl"
	simChronyTrack = SimStateDir + "/chronyc-tracking"
	simThinPool    = SimStateDir + "/docker-thinpool"
)

// writeSimulators writes the script once under dir, hard-linked under every
// name it plays.
func writeSimulators(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	first := filepath.Join(dir, simulatedCommands[0])
	if err := os.WriteFile(first, []byte(simScript), 0o755); err != nil {
		return err
	}
	for _, name := range simulatedCommands[1:] {
		if err := os.Link(first, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// simUnits gives a host's units and whether each runs, in the simulator's
// state files.
func simUnits(fs *fileSet, h hostInfo, crio bool) {
	units := map[string]bool{
		"atomic-openshift-node": true, "docker": true, "crio": crio, "dnsmasq": true,
		"NetworkManager": true, "sshd": true, "chronyd": true, "rngd": false, "firewalld": false,
		"iptables": true, "haproxy": false,
	}
	if h.role == RoleMaster {
		units["etcd"] = true
		units["atomic-openshift-master-api"] = true
		units["atomic-openshift-master-controllers"] = true
		units["haproxy"] = h.index < 2 // master-0 and master-1 carry a haproxy.cfg
	}
	for u, active := range units {
		state := "inactive"
		if active {
			state = "active"
			fs.add(simEnabledDir+"/"+u, nil)
		}
		fs.add(SimUnitsDir+"/"+u, []byte(state+"\n"))
	}
}

// simTime writes what timedatectl and chronyc answer on a host: NTP enabled
// and synchronised or not, and chronyc tracking's report on chrony hosts.
func simTime(fs *fileSet, ntp, synced bool, chronyTracking string) {
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	fs.add(simTimedate, []byte(fmt.Sprintf("ntp=%s\nsynced=%s\n", yn(ntp), yn(synced))))
	if chronyTracking != "" {
		fs.add(simChronyTrack, []byte(chronyTracking))
	}
}

// simThinPoolUse is a devicemapper host's thin pool use, as docker info
// reports it: data 85% used (above docker-storage-setup's default 60%
// auto-extend threshold), metadata 6%.
const simThinPoolUse = `data_used="27.08 GB"
data_total="31.86 GB"
data_avail="4.78 GB"
meta_used="2.15 MB"
meta_total="33.55 MB"
meta_avail="31.4 MB"
`

// chronyTracking is `chronyc tracking` of a synchronised chrony.
func chronyTracking(refID string, offset string) string {
	return strings.TrimLeft(fmt.Sprintf(`
Reference ID    : %s
Stratum         : 3
Ref time (UTC)  : Fri Dec 04 20:58:12 2026
System time     : %s seconds slow of NTP time
Last offset     : -0.000012034 seconds
RMS offset      : 0.000043111 seconds
Frequency       : 12.533 ppm fast
Residual freq   : -0.001 ppm
Skew            : 0.021 ppm
Root delay      : 0.021563126 seconds
Root dispersion : 0.001226437 seconds
Update interval : 1025.3 seconds
Leap status     : Normal
`, refID, offset), "\n")
}

const simScript = `#!/bin/sh
# day2 local cluster: a simulated host's systemd (internal/localcluster), like
# kwok's simulated kubelets. It plays systemctl, shutdown, reboot, poweroff,
# halt, timedatectl and chronyc by the name it is run as, inside the host's
# chroot, and keeps its state in /run/day2-sim there: it never reaches the
# systemd of the machine the cluster runs on.
sim=/run/day2-sim
mkdir -p "$sim/units" "$sim/enabled" "$sim/since"
prog=${0##*/}
now() { date +%s; }
log() { printf '%s %s\n' "$(date +%s.%N)" "$*" >>"$sim/log"; }
unit() { printf '%s' "${1%.service}"; }
known() { [ -f "$sim/units/$1" ]; }
state() { cat "$sim/units/$1" 2>/dev/null || echo inactive; }
set_state() { printf '%s\n' "$2" >"$sim/units/$1"; date '+%a %Y-%m-%d %H:%M:%S %Z' >"$sim/since/$1"; }

request() { # action due-epoch
	printf '%s %s\n' "$1" "$2" >"$sim/shutdown.tmp" && mv "$sim/shutdown.tmp" "$sim/shutdown"
}

do_shutdown() {
	action=poweroff when=now
	while [ $# -gt 0 ]; do
		case $1 in
		-h|-P|--poweroff) action=poweroff ;;
		-r|--reboot) action=reboot ;;
		-H|--halt) action=halt ;;
		-c) rm -f "$sim/shutdown"; log "shutdown -c"; return 0 ;;
		-k) return 0 ;;
		--no-wall|-f|-F|-n|-t) ;;
		-*) echo "shutdown: invalid option -- '$1'" >&2; return 1 ;;
		*) when=$1; break ;;
		esac
		shift
	done
	case $when in
	now) due=$(now) ;;
	*:*) due=$(date -d "$when" +%s) || { echo "Failed to parse time specification: $when" >&2; return 1; } ;;
	*) m=${when#+}
	   case $m in ''|*[!0-9]*) echo "Failed to parse time specification: $when" >&2; return 1 ;; esac
	   due=$(( $(now) + m * 60 )) ;;
	esac
	request "$action" "$due"
	log "shutdown $action $when"
	if [ "$due" -gt "$(now)" ]; then
		echo "Shutdown scheduled for $(date -d "@$due" '+%a %Y-%m-%d %H:%M:%S %Z'), use 'shutdown -c' to cancel."
	fi
}

status_of() {
	u=$1
	if ! known "$u"; then echo "Unit $u.service could not be found."; return 4; fi
	s=$(state "$u")
	en=disabled; [ -e "$sim/enabled/$u" ] && en=enabled
	sub=dead; [ "$s" = active ] && sub=running; [ "$s" = failed ] && sub=failed
	since=$(cat "$sim/since/$u" 2>/dev/null || echo 'Fri 2026-12-04 08:00:00 UTC')
	echo "● $u.service - $u"
	echo "   Loaded: loaded (/usr/lib/systemd/system/$u.service; $en; vendor preset: disabled)"
	echo "   Active: $s ($sub) since $since"
	[ "$s" = active ]
}

do_systemctl() {
	verb= quiet=0 nowflag=0 props= units=
	while [ $# -gt 0 ]; do
		case $1 in
		-q|--quiet) quiet=1 ;;
		--now) nowflag=1 ;;
		-p|--property) shift; props="$props ${1:-}" ;;
		--property=*) props="$props ${1#--property=}" ;;
		-*) ;;
		*) if [ -z "$verb" ]; then verb=$1; else units="$units $(unit "$1")"; fi ;;
		esac
		shift
	done
	rc=0
	case $verb in
	is-active|is-failed)
		want=active; [ "$verb" = is-failed ] && want=failed
		for u in $units; do
			s=$(state "$u"); [ $quiet = 1 ] || echo "$s"
			[ "$s" = "$want" ] || rc=3
		done
		[ "$verb" = is-failed ] && [ $rc = 3 ] && rc=1
		return $rc ;;
	is-enabled)
		for u in $units; do
			if ! known "$u"; then echo "Failed to get unit file state for $u.service: No such file or directory" >&2; rc=1
			elif [ -e "$sim/enabled/$u" ]; then [ $quiet = 1 ] || echo enabled
			else [ $quiet = 1 ] || echo disabled; rc=1; fi
		done
		return $rc ;;
	status)
		for u in $units; do status_of "$u" || rc=$?; done
		return $rc ;;
	show)
		for u in $units; do
			[ -n "$props" ] || props="ActiveState SubState UnitFileState"
			for p in $(echo "$props" | tr ',' ' '); do
				case $p in
				ActiveState) echo "ActiveState=$(state "$u")" ;;
				SubState) s=$(state "$u"); sub=dead; [ "$s" = active ] && sub=running; echo "SubState=$sub" ;;
				UnitFileState) en=disabled; [ -e "$sim/enabled/$u" ] && en=enabled; echo "UnitFileState=$en" ;;
				*) echo "$p=" ;;
				esac
			done
		done ;;
	start|restart|try-restart|reload|reload-or-restart|condrestart|stop)
		for u in $units; do
			if ! known "$u"; then echo "Failed to $verb $u.service: Unit not found." >&2; rc=5; continue; fi
			log "systemctl $verb $u"
			if [ "$verb" = stop ]; then set_state "$u" inactive; continue; fi
			if [ "$verb" = try-restart ] || [ "$verb" = condrestart ]; then [ "$(state "$u")" = active ] || continue; fi
			if [ -e "$sim/fail/$u" ]; then
				set_state "$u" failed
				echo "Job for $u.service failed because the control process exited with error code. See \"systemctl status $u.service\" and \"journalctl -xe\" for details." >&2
				rc=1
			else
				set_state "$u" active
			fi
		done
		return $rc ;;
	enable|disable)
		for u in $units; do
			if ! known "$u"; then echo "Failed to $verb unit: Unit file $u.service does not exist." >&2; rc=1; continue; fi
			log "systemctl $verb $u"
			if [ "$verb" = enable ]; then
				[ -e "$sim/enabled/$u" ] || echo "Created symlink from /etc/systemd/system/multi-user.target.wants/$u.service to /usr/lib/systemd/system/$u.service."
				: >"$sim/enabled/$u"
				[ $nowflag = 1 ] && set_state "$u" active
			else
				[ -e "$sim/enabled/$u" ] && echo "Removed symlink /etc/systemd/system/multi-user.target.wants/$u.service."
				rm -f "$sim/enabled/$u"
				[ $nowflag = 1 ] && set_state "$u" inactive
			fi
		done
		return $rc ;;
	daemon-reload) log "systemctl daemon-reload" ;;
	list-units)
		for f in "$sim"/units/*; do u=${f##*/}; s=$(cat "$f"); sub=dead; [ "$s" = active ] && sub=running
			printf '%-40s loaded %-8s %-7s %s\n' "$u.service" "$s" "$sub" "$u"; done ;;
	poweroff|reboot|halt) request "$verb" "$(now)"; log "systemctl $verb" ;;
	'') echo "systemctl: this simulated host lists no units without a command" >&2; return 1 ;;
	*) echo "Unknown operation '$verb'." >&2; return 1 ;;
	esac
}

do_timedatectl() {
	ntp=no synced=no
	[ -f "$sim/timedatectl" ] && . "$sim/timedatectl"
	case ${1:-status} in
	status)
		t=$(date -u '+%a %Y-%m-%d %H:%M:%S')
		echo "      Local time: $t UTC"
		echo "  Universal time: $t UTC"
		echo "        RTC time: $t"
		echo "       Time zone: UTC (UTC, +0000)"
		echo "     NTP enabled: $ntp"
		echo "NTP synchronized: $synced"
		echo " RTC in local TZ: no"
		echo "      DST active: n/a" ;;
	set-ntp)
		case ${2:-} in
		true|yes|1|on) printf 'ntp=yes\nsynced=yes\n' >"$sim/timedatectl"
			mkdir -p /run/systemd/timesync && : >/run/systemd/timesync/synchronized ;;
		false|no|0|off) printf 'ntp=no\nsynced=no\n' >"$sim/timedatectl" ;;
		*) echo "Failed to parse argument: ${2:-}" >&2; return 1 ;;
		esac
		log "timedatectl set-ntp $2" ;;
	*) echo "Unknown operation ${1}" >&2; return 1 ;;
	esac
}

do_chronyc() {
	case ${1:-} in
	tracking) [ -f "$sim/chronyc-tracking" ] || { echo "506 Cannot talk to daemon"; return 1; }
		cat "$sim/chronyc-tracking" ;;
	*) echo "506 Cannot talk to daemon"; return 1 ;;
	esac
}

do_docker() {
	if [ "$(state docker)" != active ]; then
		echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2
		return 1
	fi
	case ${1:-} in
	info) ;;
	ps|images) echo "CONTAINER ID        IMAGE               COMMAND             CREATED             STATUS              PORTS               NAMES"; return 0 ;;
	version|--version|-v) echo "Docker version 1.13.1, build 7d71120/1.13.1"; return 0 ;;
	*) echo "docker: '${1:-}' is not simulated on this host (docker info, ps, version are)" >&2; return 1 ;;
	esac
	. /etc/sysconfig/docker-storage 2>/dev/null
	driver=overlay2
	case ${DOCKER_STORAGE_OPTIONS:-} in *devicemapper*) driver=devicemapper ;; esac
	backing=$(stat -f -c %T /var/lib/docker 2>/dev/null || echo unknown)
	echo "Containers: 0"
	echo " Running: 0"
	echo " Paused: 0"
	echo " Stopped: 0"
	echo "Images: 0"
	echo "Server Version: 1.13.1"
	echo "Storage Driver: $driver"
	if [ "$driver" = devicemapper ]; then
		[ -f "$sim/docker-thinpool" ] && . "$sim/docker-thinpool"
		echo " Pool Name: docker--vg-docker--pool"
		echo " Pool Blocksize: 524.3 kB"
		echo " Base Device Size: 10.74 GB"
		echo " Backing Filesystem: xfs"
		echo " Data file: "
		echo " Metadata file: "
		echo " Data Space Used: ${data_used:-}"
		echo " Data Space Total: ${data_total:-}"
		echo " Data Space Available: ${data_avail:-}"
		echo " Metadata Space Used: ${meta_used:-}"
		echo " Metadata Space Total: ${meta_total:-}"
		echo " Metadata Space Available: ${meta_avail:-}"
		echo " Thin Pool Minimum Free Space: 3.186 GB"
		echo " Udev Sync Supported: true"
		echo " Deferred Removal Enabled: true"
		echo " Deferred Deletion Enabled: true"
		echo " Deferred Deleted Device Count: 0"
		echo " Library Version: 1.02.149-RHEL7 (2018-07-20)"
	else
		dtype=true
		[ "$backing" = xfs ] && ! xfs_info /var/lib/docker 2>/dev/null | grep -q 'ftype=1' && dtype=false
		echo " Backing Filesystem: $backing"
		echo " Supports d_type: $dtype"
		echo " Native Overlay Diff: true"
	fi
	echo "Logging Driver: journald"
	echo "Cgroup Driver: systemd"
	echo "Plugins: "
	echo " Volume: local"
	echo " Network: bridge host macvlan null overlay"
	echo "Swarm: inactive"
	echo "Runtimes: docker-runc runc"
	echo "Default Runtime: docker-runc"
	echo "Security Options: seccomp selinux"
	echo "Kernel Version: $(cat /proc/sys/kernel/osrelease)"
	echo "Operating System: Red Hat Enterprise Linux Server 7.9 (Maipo)"
	echo "OSType: linux"
	echo "Architecture: x86_64"
	echo "Name: $(cat /etc/hostname)"
	echo "Docker Root Dir: /var/lib/docker"
	echo "Debug Mode (client): false"
	echo "Debug Mode (server): false"
	echo "Registry: https://registry.redhat.io/v1/"
	echo "Insecure Registries:"
	echo " 127.0.0.0/8"
	echo "Live Restore Enabled: false"
	echo "Registries: registry.redhat.io (secure), docker.io (secure)"
}

case $prog in
systemctl) do_systemctl "$@" ;;
shutdown) do_shutdown "$@" ;;
reboot|poweroff|halt) request "$prog" "$(now)"; log "$prog" ;;
timedatectl) do_timedatectl "$@" ;;
chronyc) do_chronyc "$@" ;;
docker) do_docker "$@" ;;
*) echo "$prog: not simulated on this host" >&2; exit 1 ;;
esac
`
