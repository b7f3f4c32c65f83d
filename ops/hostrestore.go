package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// The run state of host-restore: when it restores (the backups' names) and
// what it has restored, which restorecon and the restarts act on.
var (
	restoreTimeKey = stateKey[string]("restore-time")
	restoredKey    = stateKey[[]string]("restored")
)

// selectChanged is the --files value that chooses every file that differs.
const selectChanged = "changed"

type hostRestore struct {
	s       *Session
	mh      model.Host
	archive string
	files   []string // as the operator chose them, or [selectChanged]
	state   *RunState
}

// archived is one regular file of a host backup.
type archived struct {
	path string
	data []byte
	mode fs.FileMode
	uid  int
	gid  int
}

// fileStatus is how a host's file compares with its archived copy.
type fileStatus struct {
	archived
	state string // "unchanged", "changed", "missing"
	diff  string
}

// buildHostRestore is seed 003 §5.2.3 / §5.3.3: a host-backup archive,
// verified first; the diff of every file that would change; only the files
// the operator selects restored (each replaced file backed up beside
// itself), restorecon where SELinux is enabled, the restarts the guide names
// for those files one at a time, and the files read back.
func buildHostRestore(s *Session, p params) (*Procedure, error) {
	hosts, err := s.chooseHosts(params{"host": p["host"]})
	if err != nil {
		return nil, err
	}
	if !path.IsAbs(p["backup"]) {
		return nil, fmt.Errorf("--backup %q: want the archive's absolute host path on this host", p["backup"])
	}
	r := &hostRestore{s: s, mh: hosts[0], archive: path.Clean(p["backup"]), state: NewRunState()}
	for _, f := range strings.Split(p["files"], ",") {
		if f = strings.TrimSpace(f); f != "" {
			if f != selectChanged {
				f = path.Clean("/" + strings.TrimPrefix(f, "/"))
			}
			r.files = append(r.files, f)
		}
	}
	return &Procedure{State: r.state, Steps: []*Step{
		r.verifyArchiveStep(), r.diffStep(), r.restoreStep(), r.restoreconStep(), r.restartStep(), r.rebootStep(), r.verifyStep(),
	}}, nil
}

// load reads and verifies the archive: checksum, members, a manifest of
// this host. It returns the regular files by host path.
func (r *hostRestore) load() (map[string]archived, model.HostBackupManifest, error) {
	var m model.HostBackupManifest
	entries, err := r.s.here().ReadBackup(r.archive)
	if err != nil {
		return nil, m, err
	}
	files := map[string]archived{}
	found := false
	for _, e := range entries {
		switch {
		case e.Header.Name == model.ManifestFile:
			if err := json.Unmarshal(e.Data, &m); err != nil {
				return nil, m, fmt.Errorf("%s: %s: %w", r.archive, model.ManifestFile, err)
			}
			found = true
		case e.Header.Name == model.PackagesFile:
		case e.Header.Typeflag == 0 || e.Header.Typeflag == '0':
			p := "/" + strings.TrimPrefix(e.Header.Name, "/")
			files[p] = archived{path: p, data: e.Data, mode: fs.FileMode(e.Header.Mode).Perm(), uid: e.Header.Uid, gid: e.Header.Gid}
		}
	}
	switch {
	case !found:
		return nil, m, fmt.Errorf("%s has no %s: not a host-backup archive", r.archive, model.ManifestFile)
	case m.Host != r.mh.Name:
		return nil, m, fmt.Errorf("%s is a backup of %s, not of %s", r.archive, m.Host, r.mh.Name)
	}
	return files, m, nil
}

// compare reads each archived file's current copy on the host.
func (r *hostRestore) compare(h hostfs.Host, files map[string]archived) ([]fileStatus, error) {
	var out []fileStatus
	for _, p := range slices.Sorted(maps.Keys(files)) {
		a := files[p]
		st := fileStatus{archived: a, state: "unchanged"}
		e, err := hostfs.PlanEdit(h, p, func([]byte) ([]byte, error) { return a.data, nil })
		switch {
		case errors.Is(err, fs.ErrNotExist):
			st.state = "missing"
		case err != nil:
			return nil, err
		case e.Changes():
			st.state = "changed"
			st.diff = e.Diff
			if bytes.IndexByte(e.Old, 0) >= 0 || bytes.IndexByte(a.data, 0) >= 0 {
				st.diff = fmt.Sprintf("binary: %d bytes on the host, %d in the backup", len(e.Old), len(a.data))
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// chosen is what the operator selected among the archived files; a
// selected file the archive does not hold is an error.
func (r *hostRestore) chosen(statuses []fileStatus) ([]fileStatus, error) {
	var out []fileStatus
	for _, f := range r.files {
		if f == selectChanged {
			for _, st := range statuses {
				if st.state != "unchanged" {
					out = append(out, st)
				}
			}
			continue
		}
		i := slices.IndexFunc(statuses, func(st fileStatus) bool { return st.path == f })
		if i < 0 {
			return nil, fmt.Errorf("%s is not in %s", f, r.archive)
		}
		out = append(out, statuses[i])
	}
	return out, nil
}

func (r *hostRestore) verifyArchiveStep() *Step {
	var plan Plan
	return &Step{
		ID: "verify-archive", Title: "Verify the backup archive",
		Check: func(context.Context) error {
			files, m, err := r.load()
			plan = Plan{"read only: " + r.archive + " and its .sha256 (every member read)"}
			if err != nil {
				return err
			}
			plan = append(plan, fmt.Sprintf("a %s backup of %s made %s: %d files, checksum matches", m.Role, m.Host, m.Created, len(files)))
			if m.Packages != model.PackagesFile {
				plan = append(plan, m.Packages)
			}
			if len(m.Missing) > 0 {
				plan = append(plan, "not on the host when backed up: "+strings.Join(m.Missing, " "))
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
	}
}

func (r *hostRestore) diffStep() *Step {
	var plan Plan
	return &Step{
		ID: "diff", Title: "Compare the archived files with " + r.mh.Name + "'s",
		Check: func(ctx context.Context) error {
			plan = Plan{"read only: every archived file against its copy on " + r.mh.Name}
			files, _, err := r.load()
			if err != nil {
				return err
			}
			h, err := r.s.accessHost(ctx, r.mh)
			if err != nil {
				return err
			}
			statuses, err := r.compare(h, files)
			if err != nil {
				return err
			}
			for _, st := range statuses {
				plan = append(plan, fmt.Sprintf("%-9s %s", st.state, st.path))
				for _, l := range strings.Split(strings.TrimRight(st.diff, "\n"), "\n") {
					if l != "" {
						plan = append(plan, "    "+l)
					}
				}
			}
			chosen, err := r.chosen(statuses)
			if err != nil {
				return err
			}
			if len(chosen) == 0 {
				return fmt.Errorf("no file selected: choose the files to restore with --files /etc/a,/etc/b (the plan lists them, changed first), or --files %s for every file that differs", selectChanged)
			}
			for _, st := range chosen {
				plan = append(plan, fmt.Sprintf("selected: %s (%s)", st.path, st.state))
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
	}
}

// toRestore is what the run restores now: the selected files that differ
// from the archive.
func (r *hostRestore) toRestore(ctx context.Context) (hostfs.Host, []fileStatus, error) {
	files, _, err := r.load()
	if err != nil {
		return nil, nil, err
	}
	h, err := r.s.accessHost(ctx, r.mh)
	if err != nil {
		return nil, nil, err
	}
	statuses, err := r.compare(h, files)
	if err != nil {
		return nil, nil, err
	}
	chosen, err := r.chosen(statuses)
	if err != nil {
		return nil, nil, err
	}
	return h, slices.DeleteFunc(chosen, func(st fileStatus) bool { return st.state == "unchanged" }), nil
}

func (r *hostRestore) when() time.Time {
	t, _ := time.Parse(time.RFC3339, restoreTimeKey.Decide(r.state, func() string { return time.Now().UTC().Format(time.RFC3339) }))
	return t
}

func (r *hostRestore) restoreStep() *Step {
	return &Step{
		ID: "restore", Title: "Restore the selected files on " + r.mh.Name, Destructive: true, Confirm: r.mh.Name,
		Check: func(ctx context.Context) error {
			_, _, err := r.toRestore(ctx)
			return err
		},
		Plan: func(ctx context.Context) (Plan, error) {
			_, todo, err := r.toRestore(ctx)
			if err != nil {
				return nil, err
			}
			if len(todo) == 0 {
				return Plan{"nothing to write: every selected file already holds the archived content"}, nil
			}
			var plan Plan
			for _, st := range todo {
				line := fmt.Sprintf("on %s: write %s from the archive (mode %04o", r.mh.Name, st.path, st.mode)
				if st.uid != 0 || st.gid != 0 {
					line += fmt.Sprintf(", then chown %d:%d", st.uid, st.gid)
				}
				line += ")"
				if st.state == "changed" {
					line += ", the current file kept as " + hostfs.BackupName(st.path, r.when())
				}
				plan = append(plan, line)
			}
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			h, todo, err := r.toRestore(ctx)
			if err != nil {
				return err
			}
			for _, st := range todo {
				if err := r.restoreFile(ctx, h, st, progress); err != nil {
					return err
				}
			}
			return nil
		},
		Verify: r.verifyFiles,
	}
}

func (r *hostRestore) restoreFile(ctx context.Context, h hostfs.Host, st fileStatus, progress func(string)) error {
	if st.state == "changed" {
		cur, err := h.ReadFile(st.path)
		if err != nil {
			return err
		}
		fi, err := h.Stat(st.path)
		if err != nil {
			return err
		}
		bak := hostfs.BackupName(st.path, r.when())
		if err := h.WriteFile(bak, cur, fi.Mode().Perm()); err != nil {
			return fmt.Errorf("back up %s on %s: %w", st.path, r.mh.Name, err)
		}
		progress(fmt.Sprintf("%s: %s kept as %s", r.mh.Name, st.path, bak))
	}
	if err := h.WriteFile(st.path, st.data, st.mode); err != nil {
		return fmt.Errorf("restore %s on %s: %w", st.path, r.mh.Name, err)
	}
	restored, _ := restoredKey.Get(r.state)
	if !slices.Contains(restored, st.path) {
		restoredKey.Set(r.state, append(restored, st.path))
	}
	progress(fmt.Sprintf("%s: %s restored (%d bytes, mode %04o)", r.mh.Name, st.path, len(st.data), st.mode))
	if st.uid != 0 || st.gid != 0 {
		// The guide: "ensure the user ID and group ID are restored".
		if _, err := runOn(ctx, h, fmt.Sprintf("chown %d:%d %s", st.uid, st.gid, shellQuote(st.path)), progress); err != nil {
			return err
		}
	}
	return nil
}

// verifyFiles reads every selected file back: it must hold the archived
// content.
func (r *hostRestore) verifyFiles(ctx context.Context) error {
	_, todo, err := r.toRestore(ctx)
	if err != nil {
		return err
	}
	if len(todo) > 0 {
		var names []string
		for _, st := range todo {
			names = append(names, st.path+" ("+st.state+")")
		}
		return fmt.Errorf("on %s these do not hold the archived content: %s", r.mh.Name, strings.Join(names, ", "))
	}
	return nil
}

// selinux reports whether SELinux is enabled on a host, and why it says
// so: /sys/fs/selinux/enforce exists exactly when it is (libselinux's own
// test), else getenforce is asked.
func selinux(ctx context.Context, h hostfs.Host) (bool, string) {
	const enforce = "/sys/fs/selinux/enforce"
	data, err := h.ReadFile(enforce)
	if err == nil {
		mode := "permissive"
		if strings.TrimSpace(string(data)) == "1" {
			mode = "enforcing"
		}
		return true, fmt.Sprintf("SELinux is enabled on %s (%s: %s)", h.Name(), enforce, mode)
	}
	why := fmt.Sprintf("no %s on %s", enforce, h.Name())
	if !errors.Is(err, fs.ErrNotExist) {
		why = fmt.Sprintf("%s unreadable on %s: %v", enforce, h.Name(), err)
	}
	switch res, err := h.Run(ctx, hostfs.Command{Line: "getenforce"}); {
	case err != nil:
		why += "; getenforce could not run: " + err.Error()
	case res.Exit != 0:
		why += fmt.Sprintf("; getenforce exit %d", res.Exit)
	case strings.TrimSpace(res.Stdout) != "Disabled":
		return true, fmt.Sprintf("SELinux is enabled on %s (getenforce: %s)", h.Name(), strings.TrimSpace(res.Stdout))
	default:
		why += "; getenforce: Disabled"
	}
	return false, "SELinux is not enabled: " + why
}

func (r *hostRestore) restored() []string {
	p, _ := restoredKey.Get(r.state)
	return p
}

func (r *hostRestore) restoreconStep() *Step {
	return &Step{
		ID: "restorecon", Title: "Restore the SELinux contexts of the restored files",
		Applies: func(ctx context.Context) (bool, string) {
			if len(r.restored()) == 0 {
				return false, "no file was restored"
			}
			h, err := r.s.accessHost(ctx, r.mh)
			if err != nil {
				return true, "" // the check says why
			}
			on, why := selinux(ctx, h)
			return on, why + ": restorecon skipped"
		},
		Check: func(ctx context.Context) error {
			_, err := r.s.accessHost(ctx, r.mh)
			return err
		},
		Plan: func(context.Context) (Plan, error) {
			return Plan{"on " + r.mh.Name + ": " + r.restoreconLine()}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			h, err := r.s.accessHost(ctx, r.mh)
			if err != nil {
				return err
			}
			_, err = runOn(ctx, h, r.restoreconLine(), progress)
			return err
		},
	}
}

func (r *hostRestore) restoreconLine() string {
	q := make([]string, 0, len(r.restored()))
	for _, p := range r.restored() {
		q = append(q, shellQuote(p))
	}
	return "restorecon -v " + strings.Join(q, " ")
}

func (r *hostRestore) actions(manual bool) ([]model.RestoreAction, []string) {
	all, unhandled := model.RestoreActions(r.restored())
	return slices.DeleteFunc(all, func(a model.RestoreAction) bool { return a.Manual != manual }), unhandled
}

func (r *hostRestore) restartStep() *Step {
	return &Step{
		ID: "restart", Title: "Restart the services that read the restored files, one at a time", Skippable: true,
		Applies: func(context.Context) (bool, string) {
			if a, _ := r.actions(false); len(a) == 0 {
				return false, "the guide names no service for the restored files " + orNone(strings.Join(r.restored(), " "))
			}
			return true, ""
		},
		Plan: func(context.Context) (Plan, error) {
			acts, unhandled := r.actions(false)
			var plan Plan
			for _, a := range acts {
				plan = append(plan, fmt.Sprintf("on %s: %s  (%s)", r.mh.Name, a.Command, a.Why))
			}
			if len(unhandled) > 0 {
				plan = append(plan, "no restart named for: "+strings.Join(unhandled, " "))
			}
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			h, err := r.s.accessHost(ctx, r.mh)
			if err != nil {
				return err
			}
			acts, _ := r.actions(false)
			for _, a := range acts {
				if _, err := runOn(ctx, h, a.Command, progress); err != nil {
					return err
				}
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			h, err := r.s.accessHost(ctx, r.mh)
			if err != nil {
				return err
			}
			acts, _ := r.actions(false)
			for _, a := range acts {
				if a.Unit == "" {
					continue // master-restart and update-ca-trust are judged by their exit code
				}
				if _, err := runOn(ctx, h, "systemctl is-active "+a.Unit, nil); err != nil {
					return fmt.Errorf("%s is not active on %s: %w", a.Unit, r.mh.Name, err)
				}
			}
			return nil
		},
	}
}

func (r *hostRestore) rebootStep() *Step {
	return &Step{
		ID: "reboot", Title: "Reboot " + r.mh.Name, Manual: true,
		Applies: func(context.Context) (bool, string) {
			if a, _ := r.actions(true); len(a) == 0 {
				return false, "no restored file needs a reboot"
			}
			return true, ""
		},
		Plan: func(context.Context) (Plan, error) {
			acts, _ := r.actions(true)
			plan := Plan{"manual, on " + r.mh.Name + ": drain it first (day2 run drain --node " + orNone(r.mh.Node) + "), then: sudo systemctl reboot"}
			for _, a := range acts {
				plan = append(plan, "why: "+a.Why)
			}
			return plan, nil
		},
		Verify: r.verifyFiles,
	}
}

func (r *hostRestore) verifyStep() *Step {
	return &Step{
		ID: "verify", Title: "Read the restored files back",
		Plan: func(context.Context) (Plan, error) {
			return Plan{"read only: every selected file on " + r.mh.Name + " against the archive"}, nil
		},
		Verify: r.verifyFiles,
	}
}

// shellQuote quotes a path for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
