package hostfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Host is one machine's files and commands. FS is this machine (under a
// root prefix); internal/hostssh reaches another one over SSH. Host steps
// are written against Host so they run the same way on either, with the
// host named in plans and in the journal.
type Host interface {
	// Name is the host as the operator knows it: the inventory or node
	// name, "localhost" for this machine.
	Name() string
	// Where completes "edit /etc/x ..." in plans: "under /" or "on master-1".
	Where() string
	ReadFile(hostPath string) ([]byte, error)
	// Stat follows symbolic links; Lstat does not.
	Stat(hostPath string) (fs.FileInfo, error)
	Lstat(hostPath string) (fs.FileInfo, error)
	// ReadDir lists a directory, sorted by name.
	ReadDir(hostPath string) ([]fs.FileInfo, error)
	Readlink(hostPath string) (string, error)
	// WriteFile replaces a file atomically (temporary file beside it, fsync,
	// rename) with the given mode, creating its directory.
	WriteFile(hostPath string, data []byte, mode fs.FileMode) error
	MkdirAll(hostPath string, mode fs.FileMode) error
	// Rename moves a file or directory within the host.
	Rename(from, to string) error
	// Remove removes a file or an empty directory.
	Remove(hostPath string) error
	// StatFS describes the filesystem holding hostPath.
	StatFS(hostPath string) (FSStat, error)
	// Run runs a shell command line on the host and waits for it, at most
	// Command.Timeout (DefaultTimeout when zero). A command that ran and
	// exited non-zero is a Result with its exit code and no error; the error
	// is for a command that could not be run or did not finish.
	Run(ctx context.Context, c Command) (Result, error)
}

// FSStat is the size and free space (for unprivileged users, as df shows
// it) of a filesystem, in bytes.
type FSStat struct{ Size, Free uint64 }

// DefaultTimeout bounds a host command given no timeout of its own.
const DefaultTimeout = 30 * time.Second

// Command is a shell command line to run on a host.
type Command struct {
	Line    string
	Stdin   []byte
	Timeout time.Duration
}

// Result is what a command did on a host: what the journal records.
type Result struct {
	Host   string        `json:"host"`
	Line   string        `json:"command"`
	Exit   int           `json:"exit"`
	Stdout string        `json:"stdout,omitempty"`
	Stderr string        `json:"stderr,omitempty"`
	Took   time.Duration `json:"took"`
}

// Err is nil for exit code 0, else an error naming the host, the command,
// the code and the first line of stderr.
func (r Result) Err() error {
	if r.Exit == 0 {
		return nil
	}
	msg := strings.TrimSpace(r.Stderr)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("%s on %s: exit %d: %s", r.Line, r.Host, r.Exit, msg)
}

// ErrNoCommands means commands cannot run on a host root: it is not "/"
// and this process cannot chroot into it.
var ErrNoCommands = errors.New("commands run only on a real host: this host root is a directory and day2 is not root")

var _ Host = FS{}

// Name is "localhost": FS is the machine day2 runs on.
func (f FS) Name() string { return "localhost" }

// Where is "under <root>".
func (f FS) Where() string { return "under " + f.Root }

// Stat stats a host file.
func (f FS) Stat(hostPath string) (fs.FileInfo, error) {
	p, err := f.Path(hostPath)
	if err != nil {
		return nil, err
	}
	return os.Stat(p)
}

// Lstat stats a host file without following a link.
func (f FS) Lstat(hostPath string) (fs.FileInfo, error) {
	p, err := f.Path(hostPath)
	if err != nil {
		return nil, err
	}
	return os.Lstat(p)
}

// ReadDir lists a host directory.
func (f FS) ReadDir(hostPath string) ([]fs.FileInfo, error) {
	p, err := f.Path(hostPath)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	out := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, fi)
	}
	return out, nil
}

// Readlink reads a host symbolic link.
func (f FS) Readlink(hostPath string) (string, error) {
	p, err := f.Path(hostPath)
	if err != nil {
		return "", err
	}
	return os.Readlink(p)
}

// WriteFile writes a host file atomically, creating its directory.
func (f FS) WriteFile(hostPath string, data []byte, mode fs.FileMode) error {
	p, err := f.Path(hostPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dirOf(p), 0o755); err != nil {
		return err
	}
	return writeAtomic(p, data, mode)
}

// MkdirAll creates a host directory and its parents.
func (f FS) MkdirAll(hostPath string, mode fs.FileMode) error {
	p, err := f.Path(hostPath)
	if err != nil {
		return err
	}
	return os.MkdirAll(p, mode)
}

// Rename renames a host file or directory.
func (f FS) Rename(from, to string) error {
	src, err := f.Path(from)
	if err != nil {
		return err
	}
	dst, err := f.Path(to)
	if err != nil {
		return err
	}
	return os.Rename(src, dst)
}

// Remove removes a host file or empty directory.
func (f FS) Remove(hostPath string) error {
	p, err := f.Path(hostPath)
	if err != nil {
		return err
	}
	return os.Remove(p)
}

// StatFS statfs's the filesystem holding a host path.
func (f FS) StatFS(hostPath string) (FSStat, error) {
	p, err := f.Path(hostPath)
	if err != nil {
		return FSStat{}, err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return FSStat{}, fmt.Errorf("statfs %s: %w", hostPath, err)
	}
	bs := uint64(st.Bsize) //nolint:unconvert // uint32 on s390x
	return FSStat{Size: st.Blocks * bs, Free: st.Bavail * bs}, nil
}

// Run runs a command line with sh on this machine; under a host root other
// than "/" it runs chrooted there (root only), so a fixture host root with
// the system's /usr mounted in it answers commands like the host it plays.
func (f FS) Run(ctx context.Context, c Command) (Result, error) {
	argv := []string{"/bin/sh", "-c", c.Line}
	if f.Root != "/" {
		if os.Geteuid() != 0 {
			return Result{Host: f.Name(), Line: c.Line}, fmt.Errorf("%s %s: %w", c.Line, f.Where(), ErrNoCommands)
		}
		argv = append([]string{"chroot", f.Root}, argv...)
	}
	return runLocal(ctx, f.Name(), argv, c)
}

func runLocal(ctx context.Context, host string, argv []string, c Command) (Result, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(c.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	r := Result{Host: host, Line: c.Line, Stdout: stdout.String(), Stderr: stderr.String(), Took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("%s on %s: no answer within %s", c.Line, host, timeout)
	case errors.As(err, &exit):
		r.Exit = exit.ExitCode()
		return r, nil
	case err != nil:
		return r, fmt.Errorf("%s on %s: %w", c.Line, host, err)
	}
	return r, nil
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "/"
}

// Exists reports whether a host file exists (any Host; FS has its own).
func Exists(h Host, hostPath string) bool {
	_, err := h.Stat(hostPath)
	return err == nil
}
