package ops

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/project"
	"github.com/day2ops/day2/model"
)

// projectBackupDir is where project-backup writes by default (a host path).
const projectBackupDir = "/backup/projects"

// projectRights are the rights both project procedures take for granted;
// the rights on each type they read or create depend on what the API
// serves and what the archive holds, and are asked by their first step.
var projectRights = model.Rights("", "namespaces", "", "", "get")

// project-backup's run state: the archive's host path, decided once, so a
// resumed run verifies this run's file.
var projectArchiveKey = stateKey[string]("project-archive")

// project-restore's run state: what the restore did, object by object.
var restoreReportKey = stateKey[model.RestoreReport]("restore-report")

// projectBackup is what the steps of one project-backup run share.
type projectBackup struct {
	s     *Session
	c     *project.Client
	host  hostfs.Host
	ns    string
	dir   string // host path
	state *RunState

	// What this session's look found (for the plans).
	types   []model.ResourceType
	skipped []model.Skipped
}

func buildProjectBackup(s *Session, p params) (*Procedure, error) {
	if !path.IsAbs(p["backup-dir"]) {
		return nil, fmt.Errorf("--backup-dir %q: want an absolute host path", p["backup-dir"])
	}
	b := &projectBackup{s: s, c: project.New(s.client, s.dynamic), host: hostfs.New(s.opts.HostRoot), ns: p["namespace"],
		dir: path.Clean(p["backup-dir"]), state: NewRunState()}
	return &Procedure{State: b.state, Steps: []*Step{b.preflightStep(), b.exportStep()}}, nil
}

// look finds the namespace and the types to read, checks the operator may
// list each of them there, and decides the archive's name.
func (b *projectBackup) look(ctx context.Context) error {
	ns, err := b.c.Namespace(ctx, b.ns)
	if err != nil {
		return err
	}
	if ns == nil {
		return fmt.Errorf("no namespace %s", b.ns)
	}
	if b.types, b.skipped, err = b.c.Types(); err != nil {
		return err
	}
	var rights []model.Right
	for _, t := range b.types {
		rights = append(rights, model.Rights(t.Group, t.Resource, "", b.ns, "list")...)
	}
	missing, err := b.s.missingRights(ctx, model.UniqueRights(rights))
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return errors.New(model.MissingRightsText(missing) + ": a backup without them would be incomplete")
	}
	projectArchiveKey.Decide(b.state, func() string {
		return path.Join(b.dir, model.ProjectBackupName(b.ns, time.Now()))
	})
	return nil
}

func (b *projectBackup) archive() string { f, _ := projectArchiveKey.Get(b.state); return f }

func (b *projectBackup) preflightStep() *Step {
	return &Step{
		ID: "preflight", Title: "Find every namespaced type the API serves",
		Check: b.look,
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{fmt.Sprintf("read only: API discovery (preferred version of each group), namespace %s", b.ns)}
			if len(b.types) == 0 {
				return plan, nil
			}
			names := make([]string, len(b.types))
			for i, t := range b.types {
				names[i] = t.GroupResource()
			}
			plan = append(plan, fmt.Sprintf("back up %d types: %s", len(names), strings.Join(names, ", ")))
			plan = append(plan, "leave out:")
			for _, sk := range b.skipped {
				plan = append(plan, fmt.Sprintf("  %s: %s", sk.Resource, sk.Reason))
			}
			return append(plan, fmt.Sprintf("archive: %s %s", b.archive(), b.host.Where())), nil
		},
	}
}

func (b *projectBackup) exportStep() *Step {
	return &Step{
		ID: "export", Title: "Export the project's objects into a verified archive",
		Check: b.look,
		Plan: func(context.Context) (Plan, error) {
			return Plan{
				fmt.Sprintf("list every object of those types in %s (paged), as `oc get -o yaml` per type does (seed 003 §4.7)", b.ns),
				"strip what a re-create cannot carry: " + strings.Join(model.StrippedFields, ", "),
				"leave out objects a controller owns (pods of ReplicaSets, ReplicaSets of Deployments...), the Endpoints of Services with a selector and managed EndpointSlices, service-account tokens, the CA ConfigMaps controllers publish",
				fmt.Sprintf("write %s %s: tar.gz, mode 0600 (it holds Secrets), one YAML List per kind, namespace.yaml and manifest.json (API versions, counts, cluster version, time); %s.sha256 beside it", b.archive(), b.host.Where(), path.Base(b.archive())),
				"re-read it: sha256, manifest, every file parses",
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			file := b.archive()
			if file == "" {
				return errors.New("this run has not chosen its archive yet")
			}
			bk, err := b.c.Export(ctx, b.ns, b.types, b.skipped, time.Now())
			if err != nil {
				return err
			}
			bk.Manifest.Host = b.s.opts.Host
			for _, f := range bk.Manifest.Files {
				progress(fmt.Sprintf("%s: %d %s", f.File, f.Count, f.APIVersion()))
			}
			if n := len(bk.Manifest.Dropped); n > 0 {
				progress(fmt.Sprintf("left out %d objects (kept by controllers, tokens, CA ConfigMaps); the manifest names each with why", n))
			}
			sum, err := bk.Write(b.host, file)
			if err == nil {
				progress(fmt.Sprintf("%s: %d objects, sha256 %s", file, bk.Manifest.Objects(), sum))
			}
			return err
		},
		Verify: func(context.Context) error {
			file := b.archive()
			if file == "" {
				return errors.New("this run has not chosen its archive yet")
			}
			bk, err := project.Read(b.host, file)
			if err != nil {
				return err
			}
			if bk.Manifest.Namespace != b.ns {
				return fmt.Errorf("%s holds namespace %s, not %s", file, bk.Manifest.Namespace, b.ns)
			}
			fi, err := b.host.Stat(file)
			if err != nil {
				return err
			}
			if fi.Mode().Perm() != 0o600 {
				return fmt.Errorf("%s is mode %v, not 0600: it holds Secrets", file, fi.Mode().Perm())
			}
			return nil
		},
	}
}

// projectRestore is what the steps of one project-restore run share.
type projectRestore struct {
	s       *Session
	c       *project.Client
	host    hostfs.Host
	file    string // host path
	to      string // --namespace; "" = the backup's
	replace bool
	state   *RunState

	backup *project.Backup // read and verified by this session
}

func buildProjectRestore(s *Session, p params) (*Procedure, error) {
	if !path.IsAbs(p["backup"]) {
		return nil, fmt.Errorf("--backup %q: want an absolute host path", p["backup"])
	}
	r := &projectRestore{s: s, c: project.New(s.client, s.dynamic), host: hostfs.New(s.opts.HostRoot), file: path.Clean(p["backup"]),
		to: p["namespace"], replace: p.bool("replace"), state: NewRunState()}
	return &Procedure{State: r.state, Steps: []*Step{r.verifyStep(), r.namespaceStep(), r.createStep()}}, nil
}

// load reads and verifies the archive once per session: every step works
// from a backup that passed Verify.
func (r *projectRestore) load() (*project.Backup, error) {
	if r.backup != nil {
		return r.backup, nil
	}
	b, err := project.Read(r.host, r.file)
	if err != nil {
		return nil, fmt.Errorf("refused: %w", err)
	}
	r.backup = b
	return b, nil
}

// target is the namespace restored into.
func (r *projectRestore) target() string {
	if r.to != "" {
		return r.to
	}
	if r.backup != nil {
		return r.backup.Manifest.Namespace
	}
	return ""
}

func (r *projectRestore) verifyStep() *Step {
	return &Step{
		ID: "verify-archive", Title: "Verify the archive and the rights to restore it",
		Check: func(ctx context.Context) error {
			b, err := r.load()
			if err != nil {
				return err
			}
			verbs := []string{"get", "create"}
			if r.replace {
				verbs = append(verbs, "update")
			}
			var rights []model.Right
			for _, f := range b.Manifest.Files {
				rights = append(rights, model.Rights(f.Group, f.Resource, "", r.target(), verbs...)...)
			}
			missing, err := r.s.missingRights(ctx, model.UniqueRights(rights))
			if err != nil {
				return err
			}
			if len(missing) > 0 {
				return errors.New(model.MissingRightsText(missing))
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{fmt.Sprintf("read only: %s %s and its .sha256: the checksum, the manifest, every file's sha256 and that it parses", r.file, r.host.Where())}
			b := r.backup
			if b == nil {
				return plan, nil
			}
			m := b.Manifest
			plan = append(plan, fmt.Sprintf("backup of namespace %s taken %s from Kubernetes %s, %d objects:", m.Namespace, m.TakenAt.Format(time.RFC3339), m.KubernetesVersion, m.Objects()))
			files := append([]model.ProjectFile(nil), m.Files...)
			model.SortForRestore(files)
			for _, f := range files {
				plan = append(plan, fmt.Sprintf("  %d %s (%s)", f.Count, f.Kind, f.APIVersion()))
			}
			if r.target() != m.Namespace {
				plan = append(plan, fmt.Sprintf("restore into %s: metadata.namespace and RoleBinding subjects naming %s are rewritten", r.target(), m.Namespace))
			}
			if pinned := b.PinnedImages(); len(pinned) > 0 {
				plan = append(plan, "WARNING (seed 003 §4.7): DeploymentConfig images pinned by digest; one built or pushed into the internal registry does not exist in a restored environment until built or pushed again, and its pods will not start:")
				for _, p := range pinned {
					plan = append(plan, "  "+p)
				}
			}
			return append(plan, model.PVCDataPlan(b.Claims(), r.target())...), nil
		},
	}
}

func (r *projectRestore) namespaceStep() *Step {
	return &Step{
		ID: "namespace", Title: "Create the namespace",
		Applies: func(ctx context.Context) (bool, string) {
			if _, err := r.load(); err != nil {
				return true, "" // its check says why
			}
			ns, err := r.c.Namespace(ctx, r.target())
			if err == nil && ns != nil && ns.GetDeletionTimestamp() == nil {
				return false, "namespace " + r.target() + " exists"
			}
			return true, ""
		},
		Check: func(ctx context.Context) error {
			if _, err := r.load(); err != nil {
				return err
			}
			ns, err := r.c.Namespace(ctx, r.target())
			if err != nil {
				return err
			}
			if ns != nil && ns.GetDeletionTimestamp() != nil {
				return fmt.Errorf("namespace %s is being deleted: retry once it is gone", r.target())
			}
			missing, err := r.s.missingRights(ctx, model.Rights("", "namespaces", "", "", "create"))
			if err == nil && len(missing) > 0 {
				err = errors.New(model.MissingRightsText(missing))
			}
			return err
		},
		Plan: func(context.Context) (Plan, error) {
			if r.backup == nil {
				return Plan{"create the namespace the archive names (or --namespace)"}, nil
			}
			obj, err := r.backup.NamespaceObject()
			if err != nil {
				return nil, err
			}
			if r.target() != r.backup.Manifest.Namespace {
				model.RenameNamespace(obj, r.target())
			}
			meta, _ := obj["metadata"].(map[string]any)
			return Plan{fmt.Sprintf("create namespace %s with the backup's labels (%s) and annotations (%s)", r.target(), keyValues(meta["labels"]), keyValues(meta["annotations"]))}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			b, err := r.load()
			if err != nil {
				return err
			}
			created, err := r.c.EnsureNamespace(ctx, b, r.target())
			if created {
				progress("created namespace " + r.target())
			}
			return err
		},
		Verify: func(ctx context.Context) error {
			if _, err := r.load(); err != nil {
				return err
			}
			ns, err := r.c.Namespace(ctx, r.target())
			switch {
			case err != nil:
				return err
			case ns == nil:
				return fmt.Errorf("no namespace %s", r.target())
			case ns.GetDeletionTimestamp() != nil:
				return fmt.Errorf("namespace %s is being deleted", r.target())
			}
			return nil
		},
	}
}

func (r *projectRestore) createStep() *Step {
	return &Step{
		ID: "create", Title: "Create the objects in dependency order",
		Check: func(context.Context) error { _, err := r.load(); return err },
		Plan: func(ctx context.Context) (Plan, error) {
			b := r.backup
			if b == nil {
				return Plan{"create every object of the archive in dependency order"}, nil
			}
			ns, err := r.c.Namespace(ctx, r.target())
			if err != nil {
				return nil, err
			}
			exists := "skipped (--replace replaces them)"
			if r.replace {
				exists = "replaced (PUT, as `oc replace`)"
			}
			plan := Plan{fmt.Sprintf("in %s, in order ServiceAccounts, Secrets, ConfigMaps, PVCs, Roles, RoleBindings, Services, ImageStreams, workloads, then Routes and the rest; objects that exist are %s", r.target(), exists)}
			if ns == nil {
				// A dry run of objects in a namespace that does not exist
				// yet cannot be made: the API refuses them all.
				return append(plan, fmt.Sprintf("server-side dry run: once namespace %s exists (the step before creates it)", r.target())), nil
			}
			report, err := r.c.Restore(ctx, b, project.RestoreOptions{Namespace: r.target(), DryRun: true, Replace: r.replace})
			if err != nil {
				return plan, err
			}
			plan = append(plan, "server-side dry run (dryRun=All: admitted and validated, nothing stored): "+report.Summary(true))
			if report.Count(model.RestoreFailed) > 0 {
				plan = append(plan, "  (a dry run cannot see objects the restore creates before the one it checks: a ServiceAccount a pod runs as is only there once created)")
			}
			for _, l := range report.Lines(true) {
				plan = append(plan, "  "+l)
			}
			return append(plan, model.PVCDataPlan(b.Claims(), r.target())...), nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			b, err := r.load()
			if err != nil {
				return err
			}
			report, err := r.c.Restore(ctx, b, project.RestoreOptions{Namespace: r.target(), Replace: r.replace, Progress: func(x model.RestoreResult) {
				progress(model.RestoreReport{x}.Lines(false)[0])
			}})
			restoreReportKey.Set(r.state, report)
			if err != nil {
				return err
			}
			progress(report.Summary(false))
			if n := report.Count(model.RestoreFailed); n > 0 {
				var failed []string
				for _, x := range report {
					if x.Outcome == model.RestoreFailed {
						failed = append(failed, fmt.Sprintf("%s %s: %s", x.Kind, x.Name, x.Detail))
					}
				}
				return fmt.Errorf("%s; failed: %s (retry creates what is missing)", report.Summary(false), strings.Join(failed, "; "))
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			b, err := r.load()
			if err != nil {
				return err
			}
			missing, err := r.c.Missing(ctx, b, r.target())
			if err != nil {
				return err
			}
			if len(missing) > 0 {
				return fmt.Errorf("not in %s: %s", r.target(), strings.Join(missing, ", "))
			}
			return nil
		},
	}
}

// keyValues says a labels or annotations map as k=v, sorted; "none" when
// empty.
func keyValues(v any) string {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return "none"
	}
	out := make([]string, 0, len(m))
	for k, x := range m {
		out = append(out, fmt.Sprintf("%s=%v", k, x))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
