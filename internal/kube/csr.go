package kube

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	certv1beta1 "k8s.io/api/certificates/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/pager"

	"github.com/day2ops/day2/model"
)

// csrEntry is what the CSR cache holds: the metadata the store keys on and
// the request as the pane shows it, decoded once when it arrives; the PEM
// request and the issued certificate are dropped.
type csrEntry struct {
	metav1.ObjectMeta
	csr model.CSR
}

// trimCSR is the CSR informer's transform, for either API version.
// Anything else (tombstones, an entry already trimmed) passes through.
func trimCSR(obj any) (any, error) {
	var o csrObject
	switch c := obj.(type) {
	case *certv1.CertificateSigningRequest:
		o = fromV1(c)
	case *certv1beta1.CertificateSigningRequest:
		o = fromV1beta1(c)
	default:
		return obj, nil
	}
	return &csrEntry{
		ObjectMeta: metav1.ObjectMeta{Name: o.meta.Name, UID: o.meta.UID, ResourceVersion: o.meta.ResourceVersion},
		csr:        csrModel(o),
	}, nil
}

// csrObject is a request as both API versions carry it.
type csrObject struct {
	meta                 metav1.ObjectMeta
	username, signer     string
	groups, usages       []string
	request, certificate []byte
	conditions           []csrCondition
}

type csrCondition struct{ typ, status, reason, message string }

func fromV1(c *certv1.CertificateSigningRequest) csrObject {
	o := csrObject{meta: c.ObjectMeta, username: c.Spec.Username, signer: c.Spec.SignerName, groups: c.Spec.Groups,
		request: c.Spec.Request, certificate: c.Status.Certificate}
	for _, u := range c.Spec.Usages {
		o.usages = append(o.usages, string(u))
	}
	for _, cond := range c.Status.Conditions {
		o.conditions = append(o.conditions, csrCondition{string(cond.Type), string(cond.Status), cond.Reason, cond.Message})
	}
	return o
}

// fromV1beta1 reads certificates.k8s.io/v1beta1, the only version before
// Kubernetes 1.19 (OpenShift 3.11), where the signer may be absent.
func fromV1beta1(c *certv1beta1.CertificateSigningRequest) csrObject {
	o := csrObject{meta: c.ObjectMeta, username: c.Spec.Username, groups: c.Spec.Groups, request: c.Spec.Request, certificate: c.Status.Certificate}
	if c.Spec.SignerName != nil {
		o.signer = *c.Spec.SignerName
	}
	for _, u := range c.Spec.Usages {
		o.usages = append(o.usages, string(u))
	}
	for _, cond := range c.Status.Conditions {
		status := cond.Status
		if status == "" { // v1beta1 before 1.19 had no status: a condition listed was in force
			status = corev1.ConditionTrue
		}
		o.conditions = append(o.conditions, csrCondition{string(cond.Type), string(status), cond.Reason, cond.Message})
	}
	return o
}

// csrModel decodes a request (without its verdict).
func csrModel(o csrObject) model.CSR {
	m := model.CSR{
		Name: o.meta.Name, Requester: o.username, Groups: slices.Clone(o.groups), Signer: o.signer,
		Created: o.meta.CreationTimestamp.Time, Usages: slices.Clone(o.usages), Issued: len(o.certificate) > 0,
	}
	if req, err := model.ParseCSRRequest(o.request); err != nil {
		m.RequestErr = err.Error()
	} else {
		m.Request = req
	}
	if m.Signer == "" || m.Signer == model.SignerLegacyUnknown {
		m.Signer, m.SignerInferred = model.InferSigner(m.Request, m.Usages), true
	}
	for _, cond := range o.conditions {
		if cond.status == string(corev1.ConditionFalse) {
			continue
		}
		switch certv1.RequestConditionType(cond.typ) {
		case certv1.CertificateApproved:
			m.Approved = true
		case certv1.CertificateDenied:
			m.Denied = true
		case certv1.CertificateFailed:
			m.Failed = true
		default:
			continue
		}
		m.Message = joinNonEmpty(cond.reason, cond.message)
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
// the NodeWatcher's cache, so no second node watch is opened. It watches
// certificates.k8s.io/v1, or v1beta1 where v1 is not served (Kubernetes
// before 1.19: OpenShift 3.11).
type CSRWatcher struct {
	client kubernetes.Interface
	nodes  *NodeWatcher
	// MinInterval bounds how often snapshots are rebuilt.
	MinInterval time.Duration

	changes *changes
	mu      sync.Mutex
	csrs    cache.SharedIndexInformer // set by Run
}

// NewCSRWatcher prepares a watcher; Run starts it. nodes must be running
// (its Run) for verdicts to be made.
func NewCSRWatcher(client kubernetes.Interface, nodes *NodeWatcher) *CSRWatcher {
	return &CSRWatcher{client: client, nodes: nodes, MinInterval: 200 * time.Millisecond, changes: newChanges()}
}

var csrV1 = schema.GroupVersionResource{Group: "certificates.k8s.io", Version: "v1", Resource: "certificatesigningrequests"}

// csrInformer is the informer of the version the server serves: v1 unless
// discovery says it is absent (an unreachable API gets v1, and says why).
func csrInformer(client kubernetes.Interface, f informers.SharedInformerFactory) cache.SharedIndexInformer {
	if served, err := resourceServed(client, csrV1); err == nil && !served {
		return f.Certificates().V1beta1().CertificateSigningRequests().Informer()
	}
	return f.Certificates().V1().CertificateSigningRequests().Informer()
}

// Run starts the informer and hands snapshots to publish until ctx ends.
func (w *CSRWatcher) Run(ctx context.Context, publish func(model.CSRs)) error {
	f := informers.NewSharedInformerFactoryWithOptions(w.client, 0, informers.WithTransform(trimCSR))
	csrs := csrInformer(w.client, f)
	if err := w.changes.watch(csrs, "certificatesigningrequests"); err != nil {
		return err
	}
	// Nodes appearing, going or changing addresses change verdicts; the
	// kubelets' status heartbeats do not.
	reg, err := w.nodes.nodes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { w.changes.mark("") },
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(*corev1.Node)
			n, ok2 := cur.(*corev1.Node)
			if !ok1 || !ok2 || !slices.Equal(o.Status.Addresses, n.Status.Addresses) {
				w.changes.mark("")
			}
		},
		DeleteFunc: func(any) { w.changes.mark("") },
	})
	if err != nil {
		return err
	}
	defer func() { _ = w.nodes.nodes.RemoveEventHandler(reg) }()
	w.mu.Lock()
	w.csrs = csrs
	w.mu.Unlock()
	f.Start(ctx.Done())
	defer f.Shutdown()
	w.changes.publishLoop(ctx, w.MinInterval, func() { publish(w.Snapshot()) })
	return nil
}

// Snapshot builds model.CSRs from the caches, each request with its
// verdict.
func (w *CSRWatcher) Snapshot() model.CSRs {
	w.mu.Lock()
	csrs := w.csrs
	w.mu.Unlock()
	errText := w.changes.lastErr()
	if csrs == nil {
		return model.CSRs{Err: errText} // not running yet
	}
	nodesSynced := w.nodes.nodes.HasSynced()
	snap := model.CSRs{Synced: csrs.HasSynced() && nodesSynced, Err: errText}
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
	for _, obj := range csrs.GetStore().List() {
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

// ListCSRs reads every request once (paged; v1, or v1beta1 where v1 is not
// served) and checks each against the node it names, read on demand: for a
// one-off look such as a health run, without keeping a watch.
func ListCSRs(ctx context.Context, client kubernetes.Interface) model.CSRs {
	var snap model.CSRs
	var objs []csrObject
	collect := func(list func(metav1.ListOptions) (runtime.Object, error)) error {
		return pager.New(pager.SimplePageFunc(list)).EachListItem(ctx, metav1.ListOptions{Limit: 500}, func(obj runtime.Object) error {
			switch c := obj.(type) {
			case *certv1.CertificateSigningRequest:
				objs = append(objs, fromV1(c))
			case *certv1beta1.CertificateSigningRequest:
				objs = append(objs, fromV1beta1(c))
			}
			return nil
		})
	}
	err := collect(func(o metav1.ListOptions) (runtime.Object, error) {
		return client.CertificatesV1().CertificateSigningRequests().List(ctx, o)
	})
	if apierrors.IsNotFound(err) {
		objs = nil
		err = collect(func(o metav1.ListOptions) (runtime.Object, error) {
			return client.CertificatesV1beta1().CertificateSigningRequests().List(ctx, o)
		})
	}
	if err != nil {
		snap.Err = fmt.Sprintf("list certificatesigningrequests: %v", err)
		return snap
	}
	lookup, failed := nodeLookup(ctx, client)
	for _, o := range objs {
		c := validate(csrModel(o), lookup, failed)
		if _, ok := failed[c.NodeName()]; ok {
			snap.Err = c.Verdict.Reasons[0]
		}
		snap.Items = append(snap.Items, c)
	}
	sortCSRs(snap.Items)
	snap.Synced = true
	return snap
}

// nodeLookup looks nodes up by name on demand, each once; failed holds the
// lookups that could not be made (not "no such node").
func nodeLookup(ctx context.Context, client kubernetes.Interface) (lookup func(string) (model.NodeAddresses, bool), failed map[string]error) {
	nodes := map[string]*model.NodeAddresses{} // nil: no such node
	failed = map[string]error{}
	lookup = func(name string) (model.NodeAddresses, bool) {
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
	return lookup, failed
}

// validate gives c its verdict; a node that could not be looked up leaves
// it unchecked: not knowing the node is not "no such node", and the verdict
// would lie.
func validate(c model.CSR, lookup func(string) (model.NodeAddresses, bool), failed map[string]error) model.CSR {
	c.Verdict = model.ValidateCSR(c, lookup)
	if err, ok := failed[c.NodeName()]; ok {
		c.Verdict = model.CSRVerdict{Kind: model.CSRUnchecked, Reasons: []string{fmt.Sprintf("get node %s: %v", c.NodeName(), err)}}
	}
	return c
}

func derefAddresses(a *model.NodeAddresses) (model.NodeAddresses, bool) {
	if a == nil {
		return model.NodeAddresses{}, false
	}
	return *a, true
}
