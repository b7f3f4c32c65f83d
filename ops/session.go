// Package ops is day2's application layer: it owns the adapters for one
// cluster and hands the UI their snapshots (and, later, runs procedures over
// them). The UI talks to ops, never to client-go or the etcd client.
package ops

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/day2ops/day2/internal/certs"
	"github.com/day2ops/day2/internal/etcd"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/journal"
	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/internal/logging"
	"github.com/day2ops/day2/model"
)

// SessionOptions say where the cluster is; empty fields are discovered.
type SessionOptions struct {
	Kubeconfig string
	Context    string
	// HostRoot is the root for host files ("/" in production, a master's
	// host root in the demo and tests).
	HostRoot string

	EtcdEndpoints                 []string
	EtcdCACert, EtcdCert, EtcdKey string
	// Getenv reads ETCDCTL_* (os.Getenv when nil).
	Getenv func(string) string

	// RegistryAddress is host:port to probe the integrated registry at
	// instead of its Service's ClusterIP (a NodePort or load balancer when
	// day2 runs off the cluster network); it wins over the Service's
	// probe-address annotation.
	RegistryAddress string

	// JournalDir is where procedure runs are journaled; User and Host are
	// recorded with every record.
	JournalDir string
	User, Host string

	// HostAccess reaches the cluster's other hosts (internal/hostssh); nil
	// means this host only (--no-ssh).
	HostAccess HostAccess
	// Inventory is the Ansible inventory naming the hosts (--inventory);
	// "" reads /etc/ansible/hosts under HostRoot when it exists.
	Inventory string
}

// HostAccess opens the cluster's hosts for host steps and checks.
type HostAccess interface {
	// Open connects to a host (bounded by ctx); the result is shared and
	// stays open until Close.
	Open(ctx context.Context, h model.Host) (hostfs.Host, error)
	Close() error
}

// Session is one console's connection to one cluster.
type Session struct {
	info   model.ClusterInfo
	client kubernetes.Interface
	// dynamic writes objects of any type (a project restore); JSON, as
	// custom resources need.
	dynamic dynamic.Interface
	nodes   *kube.NodeWatcher
	poller  *etcd.Poller
	// etcdErr is why etcd could not be set up (no endpoints, unreadable
	// certificates); the etcd pane shows it instead of members.
	etcdErr error
	etcdSrc string

	opts SessionOptions
	runs sync.WaitGroup
	// granted caches the access reviews (access.go).
	granted granted
}

// NewSession resolves the kubeconfig and the etcd endpoints. A missing
// kubeconfig is an error; etcd that cannot be found is not (the console is
// still useful without it, and says why).
func NewSession(o SessionOptions) (*Session, error) {
	target, err := kube.LoadConfig(kube.ConfigOptions{Kubeconfig: o.Kubeconfig, Context: o.Context, HostRoot: o.HostRoot})
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(target.Config)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", target.Config.Host, err)
	}
	s := &Session{
		info:   model.ClusterInfo{Server: target.Config.Host, Context: target.Context, ConfigSource: target.Source},
		client: client, opts: o,
	}
	if s.dynamic, err = dynamic.NewForConfig(target.Config); err != nil {
		return nil, fmt.Errorf("dynamic client for %s: %w", target.Config.Host, err)
	}
	watchClient, err := kubernetes.NewForConfig(kube.Protobuf(target.Config))
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", target.Config.Host, err)
	}
	if s.nodes, err = kube.NewNodeWatcher(watchClient); err != nil {
		return nil, err
	}
	cfg, err := etcd.Discover(etcd.DiscoverOptions{
		Endpoints: o.EtcdEndpoints, CACert: o.EtcdCACert, Cert: o.EtcdCert, Key: o.EtcdKey, HostRoot: o.HostRoot, Getenv: o.Getenv,
	})
	if err == nil {
		s.etcdSrc = cfg.Source
		s.poller, err = etcd.NewPoller(cfg, logging.Zap())
	}
	if err != nil {
		slog.Warn("etcd unavailable", "err", err)
		s.etcdErr = err
	}
	return s, nil
}

// Info is what is known about the cluster before Run.
func (s *Session) Info() model.ClusterInfo { return s.info }

// Run feeds send with snapshots (model.Nodes, model.EtcdCluster,
// model.CSRs, model.ClusterInfo, once model.ProcedureAccess) until ctx ends. send may block; adapters
// coalesce.
func (s *Session) Run(ctx context.Context, send func(any)) {
	freed := false
	go s.nodes.Run(ctx, func(n model.Nodes) {
		if n.PodsSynced && !freed {
			// The initial pod list held every pod untrimmed for a moment;
			// give that memory back now rather than carry it for hours.
			freed = true
			debug.FreeOSMemory()
		}
		send(n)
	})
	go func() {
		if err := s.WatchCSRs(ctx, func(c model.CSRs) { send(c) }); err != nil {
			send(model.CSRs{Err: err.Error()})
		}
	}()
	if s.poller != nil {
		go s.poller.Run(ctx, func(c model.EtcdCluster) { send(c) })
	} else {
		send(model.EtcdCluster{Err: s.etcdErr.Error(), Source: s.etcdSrc})
	}
	go s.watchVersion(ctx, send)
	go func() { send(s.ProcedureAccess(ctx)) }()
}

// watchVersion reads the server version, retrying while the API is down.
func (s *Session) watchVersion(ctx context.Context, send func(any)) {
	for {
		info := s.info
		v, err := s.client.Discovery().ServerVersion()
		if err == nil {
			info.Version = v.GitVersion
			send(info)
			return
		}
		info.Err = "server version: " + err.Error()
		send(info)
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
}

// Start runs proc in the background with op, journaled in the session's
// journal directory, and reports its end on the returned channel; resume,
// when set, continues that unfinished run. Cancel ctx to interrupt it (the
// journal records where); Wait waits for it.
func (s *Session) Start(ctx context.Context, proc *Procedure, op Operator, resume *model.RunSummary) <-chan error {
	done := make(chan error, 1)
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		j, err := journal.Open(s.opts.JournalDir)
		if err == nil {
			err = Run(ctx, proc, op, RunOptions{Journal: j, User: s.opts.User, Host: s.opts.Host, Resume: resume})
		}
		done <- err
	}()
	return done
}

// Runs lists the journaled runs, newest first.
func (s *Session) Runs() ([]model.RunSummary, error) {
	j, err := journal.Open(s.opts.JournalDir)
	if err != nil {
		return nil, err
	}
	return j.Runs()
}

// Wait waits for every run Start began to end (after an interruption, until
// the journal has recorded it).
func (s *Session) Wait() { s.runs.Wait() }

// Certificates scans the host's certificate files and kubeconfigs (under the
// host root) and the cluster's TLS secrets, soonest expiry first.
func (s *Session) Certificates(ctx context.Context) model.CertReport {
	found, problems := certs.ScanHost(s.opts.HostRoot)
	secrets, errs := certs.ListTLSSecrets(ctx, s.client, 200)
	r := model.CertReport{Certs: append(found, secrets...), At: time.Now()}
	for _, err := range append(problems, errs...) {
		r.Problems = append(r.Problems, err.Error())
	}
	model.SortCertsByExpiry(r.Certs)
	return r
}

// NodeDetail is the detail view of one node: from the caches, plus its
// events and its pods' disruption budgets read on demand.
func (s *Session) NodeDetail(ctx context.Context, name string) (model.NodeDetail, error) {
	return s.nodes.Detail(ctx, s.client, name)
}
