package hostssh

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pkg/sftp"
)

// shWithSudo runs line with sh, a fake sudo (script) first in PATH.
func shWithSudo(t *testing.T, script, line string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "HOME=/root"}
	stdout, stderr := &bounded{max: MaxOutput}, &bounded{max: MaxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// A command line keeps its meaning inside sudo -n -- sh -c '...': quotes,
// variables, pipes and the exit code.
func TestSudoWrapsTheLineWhole(t *testing.T) {
	const passwordless = "[ \"$1\" = -n ] && [ \"$2\" = -- ] || exit 99\nshift 2\nexec \"$@\"\n"
	line := `printf '%s\n' "it's" "$HOME" 'a "b"' | tr a-z A-Z; exit 3`
	direct, _, dexit := shWithSudo(t, passwordless, line)
	wrapped, _, wexit := shWithSudo(t, passwordless, sudo(line))
	if direct != "IT'S\n/ROOT\nA \"B\"\n" || wrapped != direct || wexit != dexit || dexit != 3 {
		t.Errorf("direct %q (exit %d), through sudo %q (exit %d)", direct, dexit, wrapped, wexit)
	}
}

// A sudo that wants a password fails at once, and says what to do.
func TestSudoAskingForAPasswordIsClear(t *testing.T) {
	_, stderr, exit := shWithSudo(t, "echo 'sudo: a password is required' >&2; exit 1\n", sudo("cat /etc/origin/master/master-config.yaml"))
	err := sudoError(stderr, nil)
	if exit != 1 || !errors.Is(err, ErrSudo) {
		t.Fatalf("exit %d, %v", exit, err)
	}
	_, stderr, _ = shWithSudo(t, "echo 'day2: no sftp-server on this host' >&2; exit 127\n", sudo(sftpServer))
	if err := sudoError(stderr, errors.New("EOF")); errors.Is(err, ErrSudo) || err.Error() != "EOF: day2: no sftp-server on this host" {
		t.Errorf("another failure: %v", err)
	}
}

// A non-root user's files go through sudo -n and the host's sftp-server.
func TestSudoSFTPServer(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sudo"), []byte("#!/bin/sh\nshift 2\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", sudo(sftpServer))
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin"}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	c, err := sftp.NewClientPipe(stdout, stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want, _ := os.Stat("/etc/hostname")
	if fi, err := c.Stat("/etc/hostname"); err != nil || fi.Size() != want.Size() {
		t.Errorf("stat through sudo sftp-server: %v, %v", fi, err)
	}
}
