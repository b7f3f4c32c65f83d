// Package project backs a namespace (an OpenShift project) up and restores
// it through the Kubernetes API (seed 003 §4.7, §6.1, §6.2): every
// namespaced type discovery lists, read with the dynamic client, stripped
// by model's rules, one YAML file per kind in a tar.gz with a manifest; and
// back, dry run first, in dependency order.
package project

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/day2ops/day2/model"
)

// Client reads and writes a cluster's namespaced objects.
type Client struct {
	disc discovery.DiscoveryInterface
	dyn  dynamic.Interface
}

// New reads with client's discovery and reads and writes objects with dyn
// (a dynamic client on a JSON connection: custom resources and OpenShift's
// APIs speak no protobuf).
func New(client kubernetes.Interface, dyn dynamic.Interface) *Client {
	return &Client{disc: client.Discovery(), dyn: dyn}
}

// Types are the namespaced types the API serves, in the preferred version
// of each group: those a backup reads, and those it leaves out with why
// (including groups discovery could not list, such as an aggregated API
// that is down).
func (c *Client) Types() ([]model.ResourceType, []model.Skipped, error) {
	lists, err := c.disc.ServerPreferredNamespacedResources()
	var skipped []model.Skipped
	var failed *discovery.ErrGroupDiscoveryFailed
	if errors.As(err, &failed) {
		for gv, gerr := range failed.Groups {
			skipped = append(skipped, model.Skipped{Resource: gv.String(), Reason: "discovery failed: " + gerr.Error()})
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("API discovery: %w", err)
	}
	var keep []model.ResourceType
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			return nil, nil, fmt.Errorf("API discovery: %w", err)
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue // a subresource
			}
			t := model.ResourceType{Group: gv.Group, Version: gv.Version, Resource: r.Name, Kind: r.Kind, Verbs: r.Verbs}
			if why, skip := model.SkipType(t); skip {
				skipped = append(skipped, model.Skipped{Resource: t.GroupResource(), Reason: why})
				continue
			}
			keep = append(keep, t)
		}
	}
	sort.Slice(keep, func(i, j int) bool { return keep[i].GroupResource() < keep[j].GroupResource() })
	sort.Slice(skipped, func(i, j int) bool { return skipped[i].Resource < skipped[j].Resource })
	return keep, skipped, nil
}

// ServerVersion is the API server's version.
func (c *Client) ServerVersion() (string, error) {
	v, err := c.disc.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("server version: %w", err)
	}
	return v.GitVersion, nil
}

func gvr(t model.ResourceType) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: t.Group, Version: t.Version, Resource: t.Resource}
}

var namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// Namespace is the namespace's object, nil when it does not exist.
func (c *Client) Namespace(ctx context.Context, ns string) (*unstructured.Unstructured, error) {
	o, err := c.dyn.Resource(namespaces).Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", ns, err)
	}
	return o, nil
}

// Export reads every object of types in ns and strips it for a re-create;
// the backup's manifest says what it holds and what it left out.
func (c *Client) Export(ctx context.Context, ns string, types []model.ResourceType, skipped []model.Skipped, now time.Time) (*Backup, error) {
	nsObj, err := c.Namespace(ctx, ns)
	if err != nil {
		return nil, err
	}
	if nsObj == nil {
		return nil, fmt.Errorf("no namespace %s", ns)
	}
	version, err := c.ServerVersion()
	if err != nil {
		return nil, err
	}
	model.StripNamespace(nsObj.Object)
	b := &Backup{Manifest: model.ProjectManifest{
		Namespace: ns, TakenAt: now.UTC(), KubernetesVersion: version, NamespaceFile: model.ProjectNamespaceFile,
		SkippedTypes: skipped, Stripped: model.StrippedFields,
	}, Files: map[string][]byte{}}
	if err := b.add(model.ProjectNamespaceFile, nsObj.Object); err != nil {
		return nil, err
	}
	kept := make([][]any, len(types))
	dropped := map[string]bool{} // secrets left out, by name
	for i, t := range types {
		if t.Group == "apps.openshift.io" || t.Group == "route.openshift.io" {
			b.Manifest.OpenShift = true
		}
		items, err := c.list(ctx, t, ns)
		if err != nil {
			return nil, err
		}
		for _, o := range items {
			if why, keep := model.StripObject(o.Object); !keep {
				b.Manifest.Dropped = append(b.Manifest.Dropped, model.Dropped{Kind: o.GetKind(), Name: o.GetName(), Reason: why})
				if o.GetKind() == "Secret" {
					dropped[o.GetName()] = true
				}
				continue
			}
			kept[i] = append(kept[i], o.Object)
		}
	}
	selected := map[string]bool{} // Services with a selector
	for i, t := range types {
		if t.Group == "" && t.Kind == "Service" {
			for _, o := range kept[i] {
				u := unstructured.Unstructured{Object: o.(map[string]any)}
				if sel, _, _ := unstructured.NestedMap(u.Object, "spec", "selector"); len(sel) > 0 {
					selected[u.GetName()] = true
				}
			}
		}
	}
	for i, t := range types {
		var own []any
		for _, o := range kept[i] {
			u := unstructured.Unstructured{Object: o.(map[string]any)}
			if why, ctl := model.ControllerKept(u.Object, selected); ctl {
				b.Manifest.Dropped = append(b.Manifest.Dropped, model.Dropped{Kind: u.GetKind(), Name: u.GetName(), Reason: why})
				continue
			}
			own = append(own, o)
		}
		if kept[i] = own; len(kept[i]) == 0 {
			continue
		}
		if t.Group == "" && t.Kind == "ServiceAccount" {
			for _, sa := range kept[i] {
				model.DropSecretRefs(sa.(map[string]any), dropped)
			}
		}
		list := map[string]any{"apiVersion": "v1", "kind": "List", "items": kept[i]}
		if err := b.add(t.FileName(), list); err != nil {
			return nil, err
		}
		b.Manifest.Files = append(b.Manifest.Files, model.ProjectFile{File: t.FileName(), ResourceType: t, Count: len(kept[i]), SHA256: sha(b.Files[t.FileName()])})
	}
	return b, nil
}

// list lists every object of one type in ns, page by page.
func (c *Client) list(ctx context.Context, t model.ResourceType, ns string) ([]unstructured.Unstructured, error) {
	var out []unstructured.Unstructured
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := c.dyn.Resource(gvr(t)).Namespace(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", t.GroupResource(), ns, err)
		}
		for _, o := range l.Items {
			// The list's items carry no apiVersion/kind of their own in
			// some servers' answers; a re-create needs them.
			o.SetAPIVersion(t.APIVersion())
			o.SetKind(t.Kind)
			out = append(out, o)
		}
		if opts.Continue = l.GetContinue(); opts.Continue == "" {
			return out, nil
		}
	}
}

// RestoreOptions steer a restore.
type RestoreOptions struct {
	// Namespace is the target; "" restores under the backup's own name.
	Namespace string
	// DryRun asks the API server to validate and admit every object
	// without persisting it (dryRun=All).
	DryRun bool
	// Replace updates objects that exist (as `oc replace`); without it
	// they are skipped.
	Replace bool
	// Progress hears each object's outcome as it happens.
	Progress func(model.RestoreResult)
}

// EnsureNamespace creates the target namespace from the backup's object
// when it does not exist. It says whether it created it.
func (c *Client) EnsureNamespace(ctx context.Context, b *Backup, to string) (bool, error) {
	ns, err := c.Namespace(ctx, to)
	if err != nil {
		return false, err
	}
	if ns != nil {
		if ns.GetDeletionTimestamp() != nil {
			return false, fmt.Errorf("namespace %s is being deleted: wait until it is gone", to)
		}
		return false, nil
	}
	obj, err := b.NamespaceObject()
	if err != nil {
		return false, err
	}
	if to != b.Manifest.Namespace {
		model.RenameNamespace(obj, to)
	}
	if _, err := c.dyn.Resource(namespaces).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
		return false, fmt.Errorf("create namespace %s: %w", to, err)
	}
	return true, nil
}

// Restore creates the backup's objects in dependency order in the target
// namespace, skipping (or with Replace, updating) those that exist, and
// reports each object's outcome. Objects that fail do not stop the others.
// An error means the restore could not go on at all.
func (c *Client) Restore(ctx context.Context, b *Backup, o RestoreOptions) (model.RestoreReport, error) {
	to := o.Namespace
	if to == "" {
		to = b.Manifest.Namespace
	}
	files := append([]model.ProjectFile(nil), b.Manifest.Files...)
	model.SortForRestore(files)
	var dry []string
	if o.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	var report model.RestoreReport
	for _, f := range files {
		objs, err := b.Objects(f.File)
		if err != nil {
			return report, err
		}
		r := c.dyn.Resource(gvr(f.ResourceType)).Namespace(to)
		for _, obj := range objs {
			if err := ctx.Err(); err != nil {
				return report, err
			}
			model.Renamespace(obj, b.Manifest.Namespace, to)
			u := &unstructured.Unstructured{Object: obj}
			res := model.RestoreResult{Kind: f.Kind, Name: u.GetName()}
			live, err := r.Get(ctx, u.GetName(), metav1.GetOptions{})
			switch {
			case err == nil && !o.Replace:
				res.Outcome, res.Detail = model.RestoreSkipped, "exists (--replace replaces it)"
			case err == nil:
				model.KeepAllocated(obj, live.Object)
				u.SetResourceVersion(live.GetResourceVersion())
				_, err = r.Update(ctx, u, metav1.UpdateOptions{DryRun: dry})
				res.Outcome = outcome(model.RestoreReplaced, err, &res)
			case apierrors.IsNotFound(err):
				_, err = r.Create(ctx, u, metav1.CreateOptions{DryRun: dry})
				if apierrors.IsAlreadyExists(err) {
					// A controller made it meanwhile (the default ServiceAccount).
					res.Outcome, res.Detail = model.RestoreSkipped, "created meanwhile by the cluster"
					break
				}
				res.Outcome = outcome(model.RestoreCreated, err, &res)
			default:
				res.Outcome, res.Detail = model.RestoreFailed, err.Error()
			}
			report = append(report, res)
			if o.Progress != nil {
				o.Progress(res)
			}
		}
	}
	return report, nil
}

func outcome(ok model.RestoreOutcome, err error, res *model.RestoreResult) model.RestoreOutcome {
	if err != nil {
		res.Detail = err.Error()
		return model.RestoreFailed
	}
	return ok
}

// Missing lists the backup's objects that do not exist in the target
// namespace (a restore's verify).
func (c *Client) Missing(ctx context.Context, b *Backup, to string) ([]string, error) {
	var missing []string
	for _, f := range b.Manifest.Files {
		objs, err := b.Objects(f.File)
		if err != nil {
			return nil, err
		}
		for _, obj := range objs {
			name := (&unstructured.Unstructured{Object: obj}).GetName()
			_, err := c.dyn.Resource(gvr(f.ResourceType)).Namespace(to).Get(ctx, name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				missing = append(missing, f.Kind+" "+name)
			case err != nil:
				return nil, fmt.Errorf("get %s %s/%s: %w", f.Kind, to, name, err)
			}
		}
	}
	return missing, nil
}

// Get reads one object of the backup's type in a namespace (tests compare
// what a restore made).
func (c *Client) Get(ctx context.Context, t model.ResourceType, ns, name string) (map[string]any, error) {
	o, err := c.dyn.Resource(gvr(t)).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return o.Object, nil
}
