package main

import (
	"strings"
	"testing"
)

// The SSH flags are read before anything runs; --no-ssh leaves them unused.
func TestSSHFlags(t *testing.T) {
	node := cluster.Workers[0]
	out, err := day2(t, t.TempDir(), "run", "uncordon", "--node", node, "--dry-run", "--ssh-key", "/nonexistent/id_ed25519").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--ssh-key: stat /nonexistent/id_ed25519") {
		t.Errorf("a missing --ssh-key: %v\n%s", err, out)
	}
	out, err = day2(t, t.TempDir(), "run", "uncordon", "--node", node, "--dry-run", "--no-ssh", "--ssh-key", "/nonexistent/id_ed25519").CombinedOutput()
	if err != nil || !strings.Contains(string(out), node) {
		t.Errorf("--no-ssh: %v\n%s", err, out)
	}
	out, err = day2(t, t.TempDir(), "run", "uncordon", "--node", node, "--dry-run", "--ssh-config", "/nonexistent/config").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ssh config: open /nonexistent/config") {
		t.Errorf("a missing --ssh-config: %v\n%s", err, out)
	}
}
