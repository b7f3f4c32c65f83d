package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// hostBackupDir is where the seed keeps host backups: /backup/$(hostname)-$(date).tar.gz.
const hostBackupDir = "/backup"

// hostBackupTimeKey is the time in the archives' names, decided once per
// run: a resumed run verifies or finishes those archives, never starts
// others.
var hostBackupTimeKey = stateKey[string]("host-backup-time")

type hostBackup struct {
	s     *Session
	hosts []model.Host
	dir   string
	state *RunState
}

// buildHostBackup is seed 003 §4.1-4.3 for one host or all: each host's
// file set (a master's or a node's, with /etc/docker/certs.d) and its
// `rpm -qa` list, read over host access and written here into
// <backup-dir>/<host>-<time>.tar.gz (mode 0600) with its .sha256, then
// re-read to verify.
func buildHostBackup(s *Session, p params) (*Procedure, error) {
	hosts, err := s.chooseHosts(p)
	if err != nil {
		return nil, err
	}
	if !path.IsAbs(p["backup-dir"]) {
		return nil, fmt.Errorf("--backup-dir %q: want an absolute host path", p["backup-dir"])
	}
	b := &hostBackup{s: s, hosts: hosts, dir: path.Clean(p["backup-dir"]), state: NewRunState()}
	return &Procedure{State: b.state, Steps: []*Step{b.preflightStep(), b.backupStep()}}, nil
}

func hostRole(h model.Host) string {
	if h.In("masters") || h.In("master") {
		return "master"
	}
	return "node"
}

func (b *hostBackup) archive(h model.Host) string {
	t := hostBackupTimeKey.Decide(b.state, func() string { return time.Now().UTC().Format("20060102T150405Z") })
	return fmt.Sprintf("%s/%s-%s.tar.gz", b.dir, h.Name, t)
}

// hostFiles expands a host's file set (a "docker-*" pattern lists its
// directory) into the paths it has and those it has not.
func hostFiles(h hostfs.Host, set []string) (have, missing []string, err error) {
	for _, p := range set {
		if !strings.Contains(p, "*") {
			switch _, err := h.Lstat(p); {
			case err == nil:
				have = append(have, p)
			case errors.Is(err, fs.ErrNotExist):
				missing = append(missing, p)
			default:
				return nil, nil, fmt.Errorf("%s on %s: %w", p, h.Name(), err)
			}
			continue
		}
		entries, err := h.ReadDir(path.Dir(p))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s on %s: %w", path.Dir(p), h.Name(), err)
		}
		n := len(have)
		for _, e := range entries {
			if ok, _ := path.Match(path.Base(p), e.Name()); ok {
				have = append(have, path.Join(path.Dir(p), e.Name()))
			}
		}
		if len(have) == n {
			missing = append(missing, p)
		}
	}
	return have, missing, nil
}

func (b *hostBackup) preflightStep() *Step {
	var plan Plan
	return &Step{
		ID: "preflight", Title: "Reach each host and list its backup file set (seed 003 §4.1, §4.2, §4.3)",
		Check: func(ctx context.Context) error {
			var mu sync.Mutex
			lines := make(map[string][]string, len(b.hosts))
			errs := eachHost(ctx, b.hosts, func(ctx context.Context, mh model.Host, _ func(string)) error {
				h, err := b.s.accessHost(ctx, mh)
				if err != nil {
					return err
				}
				have, missing, err := hostFiles(h, model.HostBackupPaths(hostRole(mh) == "master"))
				if err != nil {
					return err
				}
				l := []string{fmt.Sprintf("%s (%s, %s): %d paths to %s", mh.Name, hostRole(mh), h.Where(), len(have), b.archive(mh))}
				if len(missing) > 0 {
					l = append(l, "  not on "+mh.Name+" (optional, listed in the manifest): "+strings.Join(missing, " "))
				}
				if slices.Contains(missing, model.HostBackupRequired) {
					return fmt.Errorf("%s has no %s: not an OpenShift 3.11 host", mh.Name, model.HostBackupRequired)
				}
				mu.Lock()
				lines[mh.Name] = l
				mu.Unlock()
				return nil
			}, nil)
			plan = Plan{fmt.Sprintf("read only here; then %s on each host, the files copied here into %s (mode 0600, with .sha256)", "`rpm -qa | sort`", b.dir)}
			for _, mh := range b.hosts {
				if err := errs[mh.Name]; err != nil {
					plan = append(plan, mh.Name+": CANNOT BACK UP: "+err.Error())
				} else {
					plan = append(plan, lines[mh.Name]...)
				}
			}
			if len(b.hosts) == 1 {
				return errs[b.hosts[0].Name]
			}
			// With several hosts one that cannot be reached does not hold up
			// the others: the backup step fails for it alone.
			return nil
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
	}
}

func (b *hostBackup) backupStep() *Step {
	return &Step{
		ID: "backup", Title: "Back up each host's files into this host's backup directory", Skippable: len(b.hosts) > 1,
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{fmt.Sprintf("%d host(s), %d at a time; each archive re-read (sha256, every member) before it counts", len(b.hosts), hostFanOut)}
			for _, h := range b.hosts {
				plan = append(plan, fmt.Sprintf("%s: %s (%s set) + %s + %s", h.Name, b.archive(h), hostRole(h), model.PackagesFile, model.ManifestFile))
			}
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			errs := eachHost(ctx, b.hosts, b.backupHost, progress)
			return failedHosts(b.hosts, errs)
		},
		Verify: func(context.Context) error {
			var problems []string
			for _, h := range b.hosts {
				if err := b.verify(h); err != nil {
					problems = append(problems, err.Error())
				}
			}
			if len(problems) > 0 {
				return errors.New(strings.Join(problems, "; "))
			}
			return nil
		},
	}
}

// verify re-reads a host's archive: checksum, every member, and a manifest
// that names the host.
func (b *hostBackup) verify(mh model.Host) error {
	entries, err := b.s.here().ReadBackup(b.archive(mh))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Header.Name != model.ManifestFile {
			continue
		}
		var m model.HostBackupManifest
		if err := json.Unmarshal(e.Data, &m); err != nil || m.Host != mh.Name {
			return fmt.Errorf("%s: manifest of %q (%v), want %s", b.archive(mh), m.Host, err, mh.Name)
		}
		return nil
	}
	return fmt.Errorf("%s: no %s in it", b.archive(mh), model.ManifestFile)
}

func (b *hostBackup) backupHost(ctx context.Context, mh model.Host, progress func(string)) error {
	dest := b.archive(mh)
	here := b.s.here()
	if b.verify(mh) == nil {
		progress(mh.Name + ": " + dest + " already written and verified")
		return nil
	}
	// An archive of this run that does not verify is a crash's leftover.
	for _, f := range []string{dest, dest + ".sha256"} {
		if err := here.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	h, err := b.s.accessHost(ctx, mh)
	if err != nil {
		return err
	}
	set := model.HostBackupPaths(hostRole(mh) == "master")
	have, missing, err := hostFiles(h, set)
	if err != nil {
		return err
	}
	m := model.HostBackupManifest{Host: mh.Name, Role: hostRole(mh), Created: time.Now().UTC().Format(time.RFC3339), Paths: set, Missing: missing}
	extra := map[string][]byte{}
	m.Packages = model.PackagesFile
	if out, why := packageList(ctx, h); why != "" {
		m.Packages = "no package list: " + why
	} else {
		extra[model.PackagesFile] = out
	}
	if extra[model.ManifestFile], err = json.MarshalIndent(m, "", "  "); err != nil {
		return err
	}
	local, err := here.Path(dest)
	if err != nil {
		return err
	}
	a, err := hostfs.Backup(h, have, extra, local)
	if err != nil {
		return err
	}
	if err := b.verify(mh); err != nil {
		return fmt.Errorf("re-reading what was written: %w", err)
	}
	msg := fmt.Sprintf("%s: %s, %d files, sha256 %s, verified", mh.Name, dest, a.Files, a.SHA256)
	if len(missing) > 0 {
		msg += "; not on the host: " + strings.Join(missing, " ")
	}
	if m.Packages != model.PackagesFile {
		msg += "; " + m.Packages
	}
	progress(msg)
	return nil
}
