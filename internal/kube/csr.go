package kube

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/day2ops/day2/model"
)

// csrEntry is what the CSR cache holds: the metadata the store keys on and
// the request as the pane shows it, decoded once when it arrives; the PEM
// request and the issued certificate are dropped.
type csrEntry struct {
	metav1.ObjectMeta
	csr model.CSR
}

// trimCSR is the CSR informer's transform. Anything else (tombstones, an
// entry already trimmed) passes through.
func trimCSR(obj any) (any, error) {
	c, ok := obj.(*certv1.CertificateSigningRequest)
	if !ok {
		return obj, nil
	}
	return &csrEntry{
		ObjectMeta: metav1.ObjectMeta{Name: c.Name, UID: c.UID, ResourceVersion: c.ResourceVersion},
		csr:        csrModel(c),
	}, nil
}

// csrModel decodes a request (without its verdict).
func csrModel(c *certv1.CertificateSigningRequest) model.CSR {
	m := model.CSR{
		Name: c.Name, Requester: c.Spec.Username, Groups: slices.Clone(c.Spec.Groups), Signer: c.Spec.SignerName,
		Created: c.CreationTimestamp.Time, Issued: len(c.Status.Certificate) > 0,
	}
	for _, u := range c.Spec.Usages {
		m.Usages = append(m.Usages, string(u))
	}
	if req, err := model.ParseCSRRequest(c.Spec.Request); err != nil {
		m.RequestErr = err.Error()
	} else {
		m.Request = req
	}
	for _, cond := range c.Status.Conditions {
		if cond.Status == corev1.ConditionFalse {
			continue
		}
		switch cond.Type {
		case certv1.CertificateApproved:
			m.Approved = true
		case certv1.CertificateDenied:
			m.Denied = true
		case certv1.CertificateFailed:
			m.Failed = true
		default:
			continue
		}
		m.Message = joinNonEmpty(cond.Reason, cond.Message)
	}
	return m
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// nodeAddresses sorts a node's addresses into what a serving certificate
// may name.
func nodeAddresses(n *corev1.Node) model.NodeAddresses {
	var a model.NodeAddresses
	for _, addr := range n.Status.Addresses {
		switch addr.Type {
		case corev1.NodeInternalIP, corev1.NodeExternalIP:
			a.IPs = append(a.IPs, addr.Address)
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			a.DNSNames = append(a.DNSNames, addr.Address)
		}
	}
	return a
}

// sortCSRs orders requests oldest first, as `oc get csr` does not but an
// operator reading a queue does; ties by name.
func sortCSRs(items []model.CSR) {
	sort.SliceStable(items, func(i, j int) bool {
		if !items[i].Created.Equal(items[j].Created) {
			return items[i].Created.Before(items[j].Created)
		}
		return items[i].Name < items[j].Name
	})
}

// CSRWatcher keeps a CertificateSigningRequest informer (trimmed: the
// request decoded, the PEM dropped) and publishes model.CSRs whenever the
// requests, or the nodes they are checked against, change. Nodes come from
// the NodeWatcher's cache, so no second node watch is opened.
type CSRWatcher struct {
	factory informers.SharedInformerFactory
	csrs    cache.SharedIndexInformer
	nodes   *NodeWatcher
	// MinInterval bounds how often snapshots are rebuilt.
	MinInterval time.Duration

	dirty chan struct{}
	mu    sync.Mutex
	err   string
}

// NewCSRWatcher prepares the informer; Run starts it. nodes must be running
// (its Run) for verdicts to be made.
func NewCSRWatcher(client kubernetes.Interface, nodes *NodeWatcher) (*CSRWatcher, error) {
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trimCSR))
	w := &CSRWatcher{
		factory: f, csrs: f.Certificates().V1().CertificateSigningRequests().Informer(), nodes: nodes,
		MinInterval: 200 * time.Millisecond, dirty: make(chan struct{}, 1),
	}
	if _, err := w.csrs.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.markDirty("") },
		UpdateFunc: func(any, any) { w.markDirty("") },
		DeleteFunc: func(any) { w.markDirty("") },
	}); err != nil {
		return nil, err
	}
	if err := w.csrs.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		slog.Warn("watch failed", "resource", "certificatesigningrequests", "err", err)
		w.markDirty("watch certificatesigningrequests: " + err.Error())
	}); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *CSRWatcher) markDirty(errText string) {
	w.mu.Lock()
	w.err = errText
	w.mu.Unlock()
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

// Run starts the informer and hands snapshots to publish until ctx ends.
func (w *CSRWatcher) Run(ctx context.Context, publish func(model.CSRs)) {
	// Nodes appearing, going or changing addresses change verdicts; the
	// kubelets' status heartbeats do not.
	reg, err := w.nodes.nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { w.markDirty("") },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Node)
			n, ok2 := cur.(*corev1.Node)
			if !ok1 || !ok2 || !slices.Equal(o.Status.Addresses, n.Status.Addresses) {
				w.markDirty("")
			}
		},
		DeleteFunc: func(any) { w.markDirty("") },
	})
	if err == nil {
		defer func() { _ = w.nodes.nodes.RemoveEventHandler(reg) }()
	}
	w.factory.Start(ctx.Done())
	defer w.factory.Shutdown()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.dirty:
		}
		publish(w.Snapshot())
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.MinInterval):
		}
	}
}

// Snapshot builds model.CSRs from the caches, each request with its
// verdict.
func (w *CSRWatcher) Snapshot() model.CSRs {
	w.mu.Lock()
	errText := w.err
	w.mu.Unlock()
	nodesSynced := w.nodes.nodes.HasSynced()
	snap := model.CSRs{Synced: w.csrs.HasSynced() && nodesSynced, Err: errText}
	lookup := func(name string) (model.NodeAddresses, bool) {
		obj, ok, err := w.nodes.nodes.GetStore().GetByKey(name)
		if err != nil || !ok {
			return model.NodeAddresses{}, false
		}
		n, ok := obj.(*corev1.Node)
		if !ok {
			return model.NodeAddresses{}, false
		}
		return nodeAddresses(n), true
	}
	for _, obj := range w.csrs.GetStore().List() {
		e, ok := obj.(*csrEntry)
		if !ok {
			continue
		}
		c := e.csr
		if nodesSynced {
			c.Verdict = model.ValidateCSR(c, lookup)
		} else {
			c.Verdict = model.CSRVerdict{Kind: model.CSRUnchecked, Reasons: []string{"nodes not listed yet"}}
		}
		snap.Items = append(snap.Items, c)
	}
	sortCSRs(snap.Items)
	return snap
}

// ListCSRs reads every request once (paged) and checks each against the
// node it names, read on demand: for a one-off look such as a health run,
// without keeping a watch.
func ListCSRs(ctx context.Context, client kubernetes.Interface) model.CSRs {
	var snap model.CSRs
	var items []certv1.CertificateSigningRequest
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := client.CertificatesV1().CertificateSigningRequests().List(ctx, opts)
		if err != nil {
			snap.Err = fmt.Sprintf("list certificatesigningrequests: %v", err)
			return snap
		}
		items = append(items, list.Items...)
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	nodes := map[string]*model.NodeAddresses{} // nil: no such node
	failed := map[string]error{}
	lookup := func(name string) (model.NodeAddresses, bool) {
		if a, seen := nodes[name]; seen {
			return derefAddresses(a)
		}
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			a := nodeAddresses(n)
			nodes[name] = &a
		case apierrors.IsNotFound(err):
			nodes[name] = nil
		default:
			nodes[name], failed[name] = nil, err
		}
		return derefAddresses(nodes[name])
	}
	for i := range items {
		c := csrModel(&items[i])
		c.Verdict = model.ValidateCSR(c, lookup)
		if err, ok := failed[c.NodeName()]; ok {
			// Not knowing the node is not "no such node": the verdict would lie.
			c.Verdict = model.CSRVerdict{Kind: model.CSRUnchecked, Reasons: []string{fmt.Sprintf("get node %s: %v", c.NodeName(), err)}}
			snap.Err = c.Verdict.Reasons[0]
		}
		snap.Items = append(snap.Items, c)
	}
	sortCSRs(snap.Items)
	snap.Synced = true
	return snap
}

func derefAddresses(a *model.NodeAddresses) (model.NodeAddresses, bool) {
	if a == nil {
		return model.NodeAddresses{}, false
	}
	return *a, true
}
