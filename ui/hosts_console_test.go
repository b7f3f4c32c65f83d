package ui

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/hostssh"
	"github.com/day2ops/day2/ops"
)

// newSSHConsole is the console on master-0 reaching every host of the
// local cluster over its real sshd, with the cluster's key, known_hosts and
// inventory, and nothing of this machine's own SSH setup.
func newSSHConsole(t *testing.T, w, h int) *console {
	t.Helper()
	if cluster == nil {
		t.Skip("needs the local cluster (not in -short mode)")
	}
	if !cluster.SSHEnabled() {
		t.Fatal("the local cluster runs without sshd")
	}
	pool, err := hostssh.New(hostssh.Config{
		KeyFiles: []string{cluster.SSHKeyPath()}, KnownHosts: []string{cluster.SSHKnownHostsPath()},
		ConfigFile: os.DevNull, AgentSocket: "none", Home: t.TempDir(), DialTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return newConsoleOn(t, w, h, false, func(o *ops.SessionOptions) {
		o.HostAccess, o.Inventory = pool, cluster.InventoryPath()
	})
}

// hostsChecked reads the Hosts pane's status once every host has reported.
var hostsChecked = regexp.MustCompile(`(\d+) hosts · .* · checked `)

func TestConsoleHostsGoldenOverSSH(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		w, h := size[0], size[1]
		c := newSSHConsole(t, w, h)
		c.key(paneKey(paneHosts))
		s := c.until(t, "every host checked over SSH", 60*time.Second, func(s string) bool { return hostsChecked.MatchString(s) })
		checkShape(t, c.m.Render(), w, h)
		golden(t, "hosts-"+sizeName(w, h), s)
		if m := hostsChecked.FindStringSubmatch(s); m[1] != "9" || strings.Contains(s, "unreachable)") && !strings.Contains(s, "(0 unreachable)") {
			t.Errorf("every host should be reached:\n%s", s)
		}
		// The fixture's spread shows as verdicts: master-2's entropy under
		// 800, infra-1's devicemapper, infra-2's tun0 MTU, node-0's small /var.
		for host, want := range map[string]string{"master-2": "✗640", "infra-2": "✗1450/1400", "node-0": "✗10G"} {
			if !hostRowHas(s, host, want) {
				t.Errorf("%s's row lacks %q:\n%s", host, want, s)
			}
		}
		if w == 120 {
			c.key("G")
			for c.m.hosts.table.cursor > 0 {
				if r, _ := c.m.hosts.table.Selected(); strings.HasPrefix(r.Key, "infra-1") {
					break
				}
				c.key("k")
			}
			c.key("enter")
			d := c.until(t, "infra-1's checks", 5*time.Second, func(s string) bool { return strings.Contains(s, "Container storage driver") })
			checkShape(t, c.m.Render(), w, h)
			golden(t, "host-detail-"+sizeName(w, h), strings.ReplaceAll(d, cluster.Dir, "<dir>"))
			// The Health pane sums the same rows up, host by host.
			c.key("esc")
			c.key(paneKey(paneHealth))
			hs := normalize(c.until(t, "health over every host", 60*time.Second, func(s string) bool { return strings.Contains(s, " pass · ") }))
			for _, want := range []string{"Hosts reached 9 of 9", "Entropy available 1 fail, 1 warn of 9 hosts: master-2.example.com: 640 availa",
				"MTU 1 fail of 9 hosts: infra-2.example.com", "Space on /var 1 fail of 9 hosts: node-0.example.com"} {
				if !strings.Contains(hs, want) {
					t.Errorf("health lacks %q:\n%s", want, hs)
				}
			}
		}
	}
}

// hostRowHas reports whether the row of the host whose name begins with
// short contains text.
func hostRowHas(screen, short, text string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, short) && strings.Contains(l, text) {
			return true
		}
	}
	return false
}

// One host's sshd stopped: its row says it is unreachable, and why, within
// the dial timeout; every other host is checked as before.
func TestConsoleHostsSSHDStopped(t *testing.T) {
	c := newSSHConsole(t, 120, 40)
	victim := cluster.SSHHosts()[4].Name
	if err := cluster.StopSSHD(victim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.StartSSHD(victim); err != nil {
			t.Error(err)
		}
	})
	start := time.Now()
	c.key(paneKey(paneHosts))
	s := c.until(t, "hosts checked with one sshd down", 30*time.Second, func(s string) bool { return hostsChecked.MatchString(s) })
	took := time.Since(start)
	if !strings.Contains(s, "(1 unreachable)") || !hostRowHas(s, victim, "✗refused") {
		t.Fatalf("%s's row must say it is unreachable:\n%s", victim, s)
	}
	if took > ops.HostCheckTimeout {
		t.Errorf("the checks took %s, more than the per-host timeout %s", took, ops.HostCheckTimeout)
	}
	for _, r := range c.m.hosts.rows {
		if r.Host.Name != victim && (!r.Reached || r.Err != "") {
			t.Errorf("%s affected: %+v", r.Host.Name, r.Err)
		}
	}
	// Its reason, in full, under the table.
	for c.m.hosts.table.cursor < c.m.hosts.table.Len()-1 {
		if r, _ := c.m.hosts.table.Selected(); r.Key == victim {
			break
		}
		c.key("j")
	}
	if s := screen(c.m); !strings.Contains(s, "unreachable ") || !strings.Contains(s, "connection refused") {
		t.Errorf("the reason is not shown:\n%s", s)
	}
}
