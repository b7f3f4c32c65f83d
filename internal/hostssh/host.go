package hostssh

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/day2ops/day2/internal/hostfs"
)

// Host is one host reached over SSH.
type Host struct {
	p *Pool
	t target

	mu sync.Mutex
	c  *conn
}

var (
	_ hostfs.Host   = (*Host)(nil)
	_ hostfs.Opener = (*Host)(nil)
)

// conn is one live connection to a host: the SSH client, the jump hosts'
// clients it goes through and the SFTP client over it.
type conn struct {
	client *ssh.Client
	hops   []*ssh.Client
	sftp   *sftp.Client
	// sudo is the session running sftp-server through sudo -n (non-root
	// users).
	sudo *ssh.Session
	// dead is closed when the SSH connection ends: the next call redials.
	dead chan struct{}
}

func (c *conn) close() {
	c.sftp.Close()
	if c.sudo != nil {
		c.sudo.Close()
	}
	c.client.Close()
	closeAll(c.hops)
}

func (c *conn) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

// Name is the host as the inventory or the cluster names it.
func (h *Host) Name() string { return h.t.name }

// Where is "on <host>".
func (h *Host) Where() string { return "on " + h.t.name }

// Root reports whether commands and files run as root without sudo.
func (h *Host) root() bool { return h.t.user == "root" }

// conn returns the live connection, dialling it when there is none or the
// last one dropped (once per call: a host that stays down fails each call
// within the dial timeout).
func (h *Host) conn(ctx context.Context) (*conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c != nil && h.c.alive() {
		return h.c, nil
	}
	if h.c != nil {
		h.c.close()
		h.c = nil
	}
	client, hops, err := h.p.dial(ctx, h.t)
	if err != nil {
		return nil, err
	}
	c := &conn{client: client, hops: hops, dead: make(chan struct{})}
	go func() {
		client.Wait()
		close(c.dead)
	}()
	go keepalive(client, c.dead, h.t.timeout)
	if err := h.openSFTP(c); err != nil {
		client.Close()
		closeAll(hops)
		return nil, err
	}
	h.c = c
	return c, nil
}

// keepalive asks the server for an answer every interval and closes the
// connection when none comes within the next one: a host that vanished
// without closing the TCP connection (powered off, cable pulled) then fails
// calls within about two intervals instead of hanging them.
func keepalive(c *ssh.Client, dead <-chan struct{}, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-dead:
			return
		case <-tick.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case err := <-reply:
			if err != nil {
				c.Close()
				return
			}
		case <-time.After(every):
			c.Close()
			return
		case <-dead:
			return
		}
	}
}

func (h *Host) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c != nil {
		h.c.close()
		h.c = nil
	}
}

// sftpServer starts the first sftp-server binary found (Debian's and
// RHEL's places) for a non-root user through sudo -n.
const sftpServer = `for p in /usr/libexec/openssh/sftp-server /usr/lib/openssh/sftp-server /usr/lib/ssh/sftp-server /usr/libexec/sftp-server; do [ -x "$p" ] && exec "$p"; done; echo "day2: no sftp-server on this host" >&2; exit 127`

// openSFTP opens the SFTP channel: the sftp subsystem as root, else
// sftp-server run through sudo -n, so a non-root user with passwordless
// sudo reads and writes root's files (/etc/origin, /etc/etcd) the same way.
func (h *Host) openSFTP(c *conn) error {
	if h.root() {
		s, err := sftp.NewClient(c.client)
		if err != nil {
			return fmt.Errorf("sftp on %s: %w", h.t.name, err)
		}
		c.sftp = s
		return nil
	}
	sess, err := c.client.NewSession()
	if err != nil {
		return fmt.Errorf("sftp on %s: %w", h.t.name, err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return err
	}
	stderr := &bounded{max: 4096}
	sess.Stderr = stderr
	if err := sess.Start(sudo(sftpServer)); err != nil {
		sess.Close()
		return fmt.Errorf("sudo sftp-server on %s: %w", h.t.name, err)
	}
	s, err := sftp.NewClientPipe(stdout, stdin)
	if err != nil {
		sess.Wait()
		sess.Close()
		return fmt.Errorf("files on %s as %s through sudo -n sftp-server: %w", h.t.name, h.t.user, sudoError(stderr.String(), err))
	}
	c.sftp, c.sudo = s, sess
	return nil
}

// sudo wraps a command line for a non-root user: sudo -n never prompts,
// so a sudo that wants a password fails at once instead of hanging.
func sudo(line string) string { return "sudo -n -- sh -c " + shellQuote(line) }

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ErrSudo means the SSH user is not root and sudo -n would not run a
// command for it.
var ErrSudo = errors.New("sudo -n refused: the SSH user needs passwordless sudo (NOPASSWD in sudoers), or connect as root (--ssh-user root / ansible_user=root)")

func sudoError(stderr string, err error) error {
	for _, s := range []string{"a password is required", "a terminal is required", "not in the sudoers", "not allowed to", "sudo: not found", "sudo: command not found"} {
		if strings.Contains(stderr, s) {
			return fmt.Errorf("%w: %s", ErrSudo, strings.TrimSpace(stderr))
		}
	}
	if stderr != "" {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr))
	}
	return err
}

// files runs f with the SFTP client, dialling when needed.
func (h *Host) files(op, p string, f func(*sftp.Client) error) error {
	if !path.IsAbs(p) {
		return &fs.PathError{Op: op, Path: h.t.name + ":" + p, Err: errors.New("host path is not absolute")}
	}
	ctx, cancel := h.t.dialContext()
	defer cancel()
	c, err := h.conn(ctx)
	if err != nil {
		return &fs.PathError{Op: op, Path: h.t.name + ":" + p, Err: err}
	}
	if err := f(c.sftp); err != nil {
		return &fs.PathError{Op: op, Path: h.t.name + ":" + p, Err: unwrapPath(err)}
	}
	return nil
}

// unwrapPath drops sftp's own PathError so the host is named once.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ReadFile reads a host file.
func (h *Host) ReadFile(p string) ([]byte, error) {
	var buf bytes.Buffer
	err := h.files("read", p, func(c *sftp.Client) error {
		f, err := c.Open(path.Clean(p))
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(&buf, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Open opens a host file for reading (hostfs.Opener: backups stream it).
func (h *Host) Open(p string) (io.ReadCloser, error) {
	var f *sftp.File
	err := h.files("open", p, func(c *sftp.Client) (err error) {
		f, err = c.Open(path.Clean(p))
		return err
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Stat stats a host file, following links.
func (h *Host) Stat(p string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := h.files("stat", p, func(c *sftp.Client) (err error) {
		fi, err = c.Stat(path.Clean(p))
		return err
	})
	return owned(fi), err
}

// Lstat stats a host file without following a link.
func (h *Host) Lstat(p string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := h.files("lstat", p, func(c *sftp.Client) (err error) {
		fi, err = c.Lstat(path.Clean(p))
		return err
	})
	return owned(fi), err
}

// ReadDir lists a host directory, sorted by name.
func (h *Host) ReadDir(p string) ([]fs.FileInfo, error) {
	var out []fs.FileInfo
	err := h.files("readdir", p, func(c *sftp.Client) error {
		list, err := c.ReadDir(path.Clean(p))
		for _, fi := range list {
			out = append(out, owned(fi))
		}
		return err
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, err
}

// Readlink reads a host symbolic link.
func (h *Host) Readlink(p string) (string, error) {
	var target string
	err := h.files("readlink", p, func(c *sftp.Client) (err error) {
		target, err = c.ReadLink(path.Clean(p))
		return err
	})
	return target, err
}

// WriteFile replaces a host file atomically: a temporary file beside it,
// written, chmod'ed, fsync'ed (fsync@openssh.com) and renamed over the file
// (posix-rename@openssh.com), creating its directory. SFTP cannot fsync a
// directory, so the rename's durability is the host filesystem's.
func (h *Host) WriteFile(p string, data []byte, mode fs.FileMode) error {
	p = path.Clean(p)
	return h.files("write", p, func(c *sftp.Client) error {
		if err := mkdirAll(c, path.Dir(p), 0o755); err != nil {
			return err
		}
		var rnd [6]byte
		rand.Read(rnd[:])
		tmp := path.Join(path.Dir(p), "."+path.Base(p)+".day2-"+hex.EncodeToString(rnd[:]))
		f, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		if err != nil {
			return err
		}
		err = writeSync(c, f, data, mode)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = c.PosixRename(tmp, p)
		}
		if err != nil {
			c.Remove(tmp)
		}
		return err
	})
}

func writeSync(c *sftp.Client, f *sftp.File, data []byte, mode fs.FileMode) error {
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if v, ok := c.HasExtension("fsync@openssh.com"); ok && v == "1" {
		return f.Sync()
	}
	return nil
}

// MkdirAll creates a host directory and its missing parents with mode.
func (h *Host) MkdirAll(p string, mode fs.FileMode) error {
	return h.files("mkdir", p, func(c *sftp.Client) error { return mkdirAll(c, path.Clean(p), mode) })
}

func mkdirAll(c *sftp.Client, p string, mode fs.FileMode) error {
	fi, err := c.Stat(p)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("%s is not a directory", p)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if p != "/" {
		if err := mkdirAll(c, path.Dir(p), mode); err != nil {
			return err
		}
	}
	if err := c.Mkdir(p); err != nil {
		return err
	}
	return c.Chmod(p, mode)
}

// Rename renames a host file or directory, replacing a file at to as
// rename(2) does.
func (h *Host) Rename(from, to string) error {
	if !path.IsAbs(to) {
		return &fs.PathError{Op: "rename", Path: h.t.name + ":" + to, Err: errors.New("host path is not absolute")}
	}
	return h.files("rename", from, func(c *sftp.Client) error { return c.PosixRename(path.Clean(from), path.Clean(to)) })
}

// Remove removes a host file or empty directory.
func (h *Host) Remove(p string) error {
	return h.files("remove", p, func(c *sftp.Client) error { return c.Remove(path.Clean(p)) })
}

// StatFS describes the filesystem holding a host path (statvfs@openssh.com).
func (h *Host) StatFS(p string) (hostfs.FSStat, error) {
	var st hostfs.FSStat
	err := h.files("statvfs", p, func(c *sftp.Client) error {
		v, err := c.StatVFS(path.Clean(p))
		if err != nil {
			return err
		}
		bs := v.Frsize
		if bs == 0 {
			bs = v.Bsize
		}
		st = hostfs.FSStat{Size: v.Blocks * bs, Free: v.Bavail * bs}
		return nil
	})
	return st, err
}

// owned gives a remote file's owner to archive/tar by numeric id only: the
// names on this machine are not the host's.
func owned(fi fs.FileInfo) fs.FileInfo {
	if fi == nil {
		return nil
	}
	st, ok := fi.Sys().(*sftp.FileStat)
	if !ok {
		return fi
	}
	return ownedInfo{FileInfo: fi, sys: &syscall.Stat_t{Uid: st.UID, Gid: st.GID}}
}

type ownedInfo struct {
	fs.FileInfo
	sys *syscall.Stat_t
}

func (o ownedInfo) Sys() any               { return o.sys }
func (o ownedInfo) Uname() (string, error) { return "", nil }
func (o ownedInfo) Gname() (string, error) { return "", nil }

// MaxOutput bounds what Run keeps of a command's stdout and of its stderr.
const MaxOutput = 1 << 20

// Run runs a command line in its own SSH session (through sudo -n when the
// user is not root) and waits for it at most c.Timeout, closing the
// session when the time is up.
func (h *Host) Run(ctx context.Context, c hostfs.Command) (hostfs.Result, error) {
	r := hostfs.Result{Host: h.t.name, Line: c.Line}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = hostfs.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cn, err := h.conn(ctx)
	if err != nil {
		return r, fmt.Errorf("%s on %s: %w", c.Line, h.t.name, err)
	}
	sess, err := cn.client.NewSession()
	if err != nil {
		return r, fmt.Errorf("%s on %s: %w", c.Line, h.t.name, err)
	}
	defer sess.Close()
	stdout, stderr := &bounded{max: MaxOutput}, &bounded{max: MaxOutput}
	sess.Stdin, sess.Stdout, sess.Stderr = bytes.NewReader(c.Stdin), stdout, stderr
	line := c.Line
	if !h.root() {
		line = sudo(line)
	}
	start := time.Now()
	if err := sess.Start(line); err != nil {
		return r, fmt.Errorf("%s on %s: %w", c.Line, h.t.name, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		r.Stdout, r.Stderr, r.Took = stdout.String(), stderr.String(), time.Since(start)
		return r, fmt.Errorf("%s on %s: no answer within %s", c.Line, h.t.name, timeout)
	}
	r.Stdout, r.Stderr, r.Took = stdout.String(), stderr.String(), time.Since(start)
	var exit *ssh.ExitError
	switch {
	case errors.As(err, &exit):
		r.Exit = exit.ExitStatus()
		if !h.root() && (r.Exit == 1 || r.Exit == 127) {
			if serr := sudoError(r.Stderr, nil); errors.Is(serr, ErrSudo) {
				return r, fmt.Errorf("%s on %s as %s: %w", c.Line, h.t.name, h.t.user, serr)
			}
		}
		return r, nil
	case err != nil:
		return r, fmt.Errorf("%s on %s: %w", c.Line, h.t.name, err)
	}
	return r, nil
}

// bounded keeps the first max bytes written to it and notes the rest.
type bounded struct {
	mu      sync.Mutex
	max     int
	buf     bytes.Buffer
	dropped int
}

func (b *bounded) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	keep := min(len(p), b.max-b.buf.Len())
	b.buf.Write(p[:keep])
	b.dropped += len(p) - keep
	return len(p), nil
}

func (b *bounded) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped > 0 {
		return b.buf.String() + fmt.Sprintf("\n[day2: %d more bytes not kept]", b.dropped)
	}
	return b.buf.String()
}
