// Package localcluster runs a real, reproducible cluster on this machine for
// the demo, the integration tests and the benchmarks: a three-member etcd
// cluster with TLS and client-certificate auth, kube-apiserver, controller-
// manager and scheduler, and kwok playing the nodes, seeded like the OpenShift
// 3.11 cluster of seed 003 (3 masters, 3 infra, N compute nodes). Every
// process listens on 127.0.0.1 only and is stopped by Stop.
package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options configure Start.
type Options struct {
	// Workers is the number of compute nodes (default 3).
	Workers int
	// ToolsDir holds the control-plane binaries (default: FindTools).
	ToolsDir string
	// Dir is where certificates, host roots, data and logs go (default: a new
	// temporary directory).
	Dir string
	// Keep leaves Dir in place after Stop.
	Keep bool
	// Detach lets the processes outlive this one (the demo's --keep): their
	// process groups are listed in Dir/pids for StopDetached. Release hands
	// the etcd static-pod imitation to a process of its own.
	Detach bool
	// Progress receives one line per bring-up stage (default: discarded).
	Progress io.Writer
	// EtcdVersion is the etcd release the members run, with its own etcdctl
	// and etcdutl: "3.3" (OpenShift 3.11), "3.5" (OpenShift 4) or "3.6"
	// (the default).
	EtcdVersion string
	// NoSSH leaves the hosts as directories: no sshd, no chroot mounts.
	// Without it (the default) Start needs root and OpenSSH's sshd, and an
	// empty Dir is made under SSHBaseDir, where sshd accepts a chroot.
	NoSSH bool
}

// Master is one imitated master host.
type Master struct {
	Name      string
	IP        string // the node's InternalIP (data only)
	Root      string // host root directory laid out like a 3.11 master
	ClientURL string // its etcd member's client URL
	PeerURL   string
	etcd      *staticEtcd
}

// Cluster is a running local cluster.
type Cluster struct {
	Dir        string
	ToolsDir   string
	APIServer  string // https://127.0.0.1:<port>
	Kubeconfig string // harness admin kubeconfig (outside the host roots)
	AuditLog   string // kube-apiserver audit log, JSON lines
	Masters    []*Master
	// Infra and Workers are the other node names.
	Infra   []string
	Workers []string
	// hosts are every host (masters, infra, compute), simulated (sshd.go).
	hosts []*simHost

	// EtcdCA, EtcdCert and EtcdKey are a client identity for etcd.
	EtcdCA, EtcdCert, EtcdKey string

	Client     kubernetes.Interface
	RestConfig *rest.Config

	opts     Options
	procs    []*proc // apiserver, controller-manager, scheduler, kwok
	stopOnce sync.Once
	// background ends the harness's own loops (the endpoint reconciler).
	background context.CancelFunc
	// cleanups run when the processes are gone (loop-device unmounts).
	cleanups []func()
}

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = 3
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.EtcdVersion == "" {
		o.EtcdVersion = DefaultEtcdVersion
	}
}

// Start brings the cluster up and returns once every node is Ready and every
// seeded pod is Running. On error everything started so far is stopped.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	opts.defaults()
	if _, ok := etcdToolDirs[opts.EtcdVersion]; !ok {
		return nil, fmt.Errorf("local cluster: etcd %q is not offered (have %s)", opts.EtcdVersion, strings.Join(EtcdVersions, ", "))
	}
	begin := time.Now()
	if opts.ToolsDir == "" {
		if opts.ToolsDir, err = FindTools(opts.Progress); err != nil {
			return nil, err
		}
	} else if err := checkTools(opts.ToolsDir); err != nil {
		return nil, err
	}
	switch {
	case !opts.NoSSH:
		if err := checkSSHPossible(); err != nil {
			return nil, fmt.Errorf("local cluster: %w", err)
		}
		if opts.Dir == "" {
			if opts.Dir, err = sshClusterDir(); err != nil {
				return nil, err
			}
		} else if err := checkChrootable(opts.Dir); err != nil {
			return nil, err
		}
	case opts.Dir == "":
		if opts.Dir, err = os.MkdirTemp("", "day2-cluster-"); err != nil {
			return nil, fmt.Errorf("local cluster dir: %w", err)
		}
	}
	c = &Cluster{Dir: opts.Dir, ToolsDir: opts.ToolsDir, opts: opts}
	defer func() {
		if err != nil {
			c.Stop()
			c = nil
		}
	}()
	for _, d := range []string{"pki", "logs", "hosts"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o700); err != nil {
			return c, fmt.Errorf("local cluster dir: %w", err)
		}
	}

	nHosts := 3 + 3 + opts.Workers
	ports, err := freePorts(7 + nHosts)
	if err != nil {
		return c, err
	}
	c.APIServer = "https://127.0.0.1:" + strconv.Itoa(ports[6])
	hosts := make([]hostInfo, 3)
	for i := range hosts {
		hosts[i] = hostInfo{
			// Masters' InternalIPs are in TEST-NET-1 (RFC 5737), because the
			// kubernetes Service lists them and endpoints may not be loopback
			// addresses; like every node address here they are data only:
			// nothing connects to them.
			index: i, role: RoleMaster, name: fmt.Sprintf("master-%d.example.com", i), ip: fmt.Sprintf("192.0.2.%d", 11+i),
			clientURL: fmt.Sprintf("https://127.0.0.1:%d", ports[2*i]),
			peerURL:   fmt.Sprintf("https://127.0.0.1:%d", ports[2*i+1]),
		}
	}
	infra := make([]hostInfo, 3)
	for i := range infra {
		infra[i] = hostInfo{index: i, role: RoleInfra, name: fmt.Sprintf("infra-%d.example.com", i), ip: fmt.Sprintf("127.0.20.%d", i+1)}
		c.Infra = append(c.Infra, infra[i].name)
	}
	workers := make([]hostInfo, opts.Workers)
	for i := range workers {
		workers[i] = hostInfo{index: i, role: RoleCompute, name: fmt.Sprintf("node-%d.example.com", i), ip: workerIP(i)}
		c.Workers = append(c.Workers, workers[i].name)
	}
	for i, h := range append(append(append([]hostInfo{}, hosts...), infra...), workers...) {
		sh := &simHost{SSHHost: SSHHost{Name: h.name, Role: h.role, Root: filepath.Join(c.Dir, "hosts", h.name), Node: h.name}, info: h}
		if !opts.NoSSH {
			sh.Port = ports[7+i]
		}
		c.hosts = append(c.hosts, sh)
	}

	pki, err := c.writePKI(hosts, infra)
	if err != nil {
		return c, err
	}
	fmt.Fprintf(c.opts.Progress, "localcluster: certificates and host roots written (%s)\n", since(begin))
	if !opts.NoSSH {
		if err := c.writeSSHFiles(); err != nil {
			return c, fmt.Errorf("local cluster ssh files: %w", err)
		}
		if err := c.startAllSSHD(); err != nil {
			return c, err
		}
	}

	for _, h := range hosts {
		m := &Master{Name: h.name, IP: h.ip, Root: filepath.Join(c.Dir, "hosts", h.name), ClientURL: h.clientURL, PeerURL: h.peerURL}
		m.etcd = newStaticEtcd(h.name, m.Root, c.EtcdTool("etcd"), filepath.Join(c.Dir, "logs", "etcd-"+h.name+".log"))
		m.etcd.detached = opts.Detach
		c.Masters = append(c.Masters, m)
		go m.etcd.run()
	}
	if err := c.waitEtcd(ctx, pki.etcdClient); err != nil {
		return c, err
	}
	if !opts.NoSSH {
		if err := c.waitAllSSHD(); err != nil {
			return c, err
		}
		fmt.Fprintf(c.opts.Progress, "localcluster: %d hosts serve sshd (%s)\n", len(c.hosts), since(begin))
	}
	fmt.Fprintf(c.opts.Progress, "localcluster: etcd 3 members healthy (%s)\n", since(begin))

	if err := c.startAPIServer(ctx, ports[6]); err != nil {
		return c, err
	}
	fmt.Fprintf(c.opts.Progress, "localcluster: kube-apiserver ready at %s (%s)\n", c.APIServer, since(begin))
	if err := c.startControllers(); err != nil {
		return c, err
	}
	bg, cancel := context.WithCancel(context.Background())
	c.background = cancel
	go c.reconcileAPIEndpoints(bg)
	if err := c.seed(ctx, hosts, infra); err != nil {
		return c, err
	}
	go c.watchShutdowns(bg)
	fmt.Fprintf(c.opts.Progress, "localcluster: %d nodes Ready, %d pods Running (%s)\n", len(hosts)+len(infra)+opts.Workers, c.ExpectedPods(), since(begin))
	return c, nil
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// freePorts reserves n distinct loopback ports. They are released before the
// components bind them; the window is short and the kernel does not hand out
// a just-freed ephemeral port again at once.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve a loopback port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// pkiPaths are the control-plane credentials outside the host roots.
type pkiPaths struct {
	etcdClient tlsFiles
}

type tlsFiles struct{ ca, cert, key string }

func (c *Cluster) pki(name string) string { return filepath.Join(c.Dir, "pki", name) }

// writePKI creates the CAs, the host roots of the masters and the control
// plane's own certificates and kubeconfigs.
func (c *Cluster) writePKI(hosts, infra []hostInfo) (pkiPaths, error) {
	now := time.Now()
	fiveYears := now.Add(5 * 365 * 24 * time.Hour)
	masterCA, err := newCA(fmt.Sprintf("openshift-signer@%d", now.Unix()), fiveYears)
	if err != nil {
		return pkiPaths{}, err
	}
	etcdCA, err := newCA(fmt.Sprintf("etcd-signer@%d", now.Unix()), fiveYears)
	if err != nil {
		return pkiPaths{}, err
	}
	cas := certAuthorities{master: masterCA, etcd: etcdCA}
	if err := c.writeHostRoots(hosts, infra, cas, now); err != nil {
		return pkiPaths{}, err
	}

	year := now.Add(365 * 24 * time.Hour)
	fs := newFileSet(filepath.Join(c.Dir, "pki"))
	fs.add("ca.crt", masterCA.certPEM)
	fs.add("ca.key", masterCA.keyPEM)
	fs.add("etcd-ca.crt", etcdCA.certPEM)
	serving, err := masterCA.issue(certSpec{
		cn: "kube-apiserver", server: true, notAfter: year, ips: []net.IP{loopback, net.ParseIP("172.30.0.1")},
		dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
	})
	if err != nil {
		return pkiPaths{}, err
	}
	fs.addPair("apiserver", serving)
	etcdClient, err := etcdCA.issue(certSpec{cn: "kube-apiserver-etcd-client", client: true, notAfter: year})
	if err != nil {
		return pkiPaths{}, err
	}
	fs.addPair("etcd-client", etcdClient)
	saKey, saPriv, err := newKey()
	if err != nil {
		return pkiPaths{}, err
	}
	saPub, err := publicKeyPEM(saKey)
	if err != nil {
		return pkiPaths{}, err
	}
	fs.add("sa.key", saPriv)
	fs.add("sa.pub", saPub)
	// One identity per component, so the audit log tells day2's calls
	// (made with a master's admin.kubeconfig) from the harness's own.
	for _, id := range []struct{ file, cn, org string }{
		{"admin.kubeconfig", "day2-localcluster", "system:masters"},
		{"controller-manager.kubeconfig", "system:kube-controller-manager", ""},
		{"scheduler.kubeconfig", "system:kube-scheduler", ""},
		{"kwok.kubeconfig", "kwok-controller", "system:masters"},
	} {
		var orgs []string
		if id.org != "" {
			orgs = []string{id.org}
		}
		kp, err := masterCA.issue(certSpec{cn: id.cn, orgs: orgs, client: true, notAfter: year})
		if err != nil {
			return pkiPaths{}, err
		}
		kc, err := kubeconfig(c.APIServer, "localcluster", id.cn, masterCA.certPEM, kp)
		if err != nil {
			return pkiPaths{}, err
		}
		fs.add(id.file, kc)
	}
	fs.add("audit-policy.yaml", []byte(auditPolicy))
	if err := fs.write(); err != nil {
		return pkiPaths{}, err
	}
	c.Kubeconfig = c.pki("admin.kubeconfig")
	c.AuditLog = filepath.Join(c.Dir, "logs", "audit.log")
	c.EtcdCA, c.EtcdCert, c.EtcdKey = c.pki("etcd-ca.crt"), c.pki("etcd-client.crt"), c.pki("etcd-client.key")
	return pkiPaths{etcdClient: tlsFiles{ca: c.EtcdCA, cert: c.EtcdCert, key: c.EtcdKey}}, nil
}

// auditPolicy records every request at Metadata level except the control
// plane's own chatter, so tests can assert which calls day2 made.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  users: ["system:kube-controller-manager", "system:kube-scheduler", "kwok-controller", "system:apiserver"]
- level: None
  userGroups: ["system:serviceaccounts"]
- level: Metadata
`

func tlsClient(f tlsFiles) (*http.Client, error) {
	pair, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(f.ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12,
	}}}, nil
}

// poll calls cond every interval until it reports done, returns an error, or
// the timeout passes; the last "not yet" reason is in the timeout error.
func poll(ctx context.Context, what string, timeout, interval time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		done, err := cond()
		if done {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%s: timed out after %s: %w", what, timeout, last)
			}
			return fmt.Errorf("%s: timed out after %s", what, timeout)
		case <-time.After(interval):
		}
	}
}

func (c *Cluster) waitEtcd(ctx context.Context, f tlsFiles) error {
	hc, err := tlsClient(f)
	if err != nil {
		return fmt.Errorf("etcd client credentials: %w", err)
	}
	defer hc.CloseIdleConnections()
	return poll(ctx, "etcd members healthy", 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		for _, m := range c.Masters {
			if err := etcdHealthy(hc, m.ClientURL); err != nil {
				return false, fmt.Errorf("%s: %w (log %s)", m.Name, err, m.etcd.logPath)
			}
		}
		return true, nil
	})
}

func etcdHealthy(hc *http.Client, url string) error {
	resp, err := hc.Get(url + "/health")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("health %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.ToolsDir, name) }

// EtcdVersion is the etcd release the members run ("3.3", "3.5", "3.6").
func (c *Cluster) EtcdVersion() string { return c.opts.EtcdVersion }

// EtcdTool is the path of the cluster's own etcd, etcdctl or etcdutl: the
// binaries of the release its members run. etcd 3.3 has no etcdutl (its
// etcdctl restores snapshots) and its etcdctl speaks the v2 API unless
// ETCDCTL_API=3 is set.
func (c *Cluster) EtcdTool(name string) string {
	return filepath.Join(c.ToolsDir, etcdToolDirs[c.opts.EtcdVersion], name)
}

func (c *Cluster) logFile(name string) string { return filepath.Join(c.Dir, "logs", name+".log") }

func (c *Cluster) launch(name string, args ...string) (*proc, error) {
	p, err := startProc(name, c.bin(name), args, []string{"PATH=/usr/bin:/bin", "HOME=" + c.Dir}, c.logFile(name), c.opts.Detach)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

func (c *Cluster) startAPIServer(ctx context.Context, port int) error {
	var etcdServers []string
	for _, m := range c.Masters {
		etcdServers = append(etcdServers, m.ClientURL)
	}
	p, err := c.launch("kube-apiserver",
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--etcd-servers="+strings.Join(etcdServers, ","),
		"--etcd-cafile="+c.EtcdCA, "--etcd-certfile="+c.EtcdCert, "--etcd-keyfile="+c.EtcdKey,
		"--tls-cert-file="+c.pki("apiserver.crt"), "--tls-private-key-file="+c.pki("apiserver.key"),
		"--client-ca-file="+c.pki("ca.crt"),
		"--service-account-key-file="+c.pki("sa.pub"), "--service-account-signing-key-file="+c.pki("sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=172.30.0.0/16",
		"--authorization-mode=RBAC",
		"--endpoint-reconciler-type=none",
		"--audit-policy-file="+c.pki("audit-policy.yaml"), "--audit-log-path="+c.AuditLog,
		"--audit-log-maxsize=200", "--audit-log-mode=blocking",
		"--max-requests-inflight=800", "--max-mutating-requests-inflight=400",
	)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("harness kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	cfg.WarningHandler = rest.NoWarnings{}
	c.RestConfig = cfg
	if c.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	return poll(ctx, "kube-apiserver ready", 90*time.Second, 250*time.Millisecond, func() (bool, error) {
		if err := p.exitErr(); err != nil {
			return false, fmt.Errorf("%w (log %s)", err, c.logFile("kube-apiserver"))
		}
		body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return false, err
		}
		return string(body) == "ok", nil
	})
}

func (c *Cluster) startControllers() error {
	if _, err := c.launch("kube-controller-manager",
		"--kubeconfig="+c.pki("controller-manager.kubeconfig"),
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--service-account-private-key-file="+c.pki("sa.key"), "--root-ca-file="+c.pki("ca.crt"),
		"--use-service-account-credentials=true",
		"--cluster-signing-cert-file="+c.pki("ca.crt"), "--cluster-signing-key-file="+c.pki("ca.key"),
		"--service-cluster-ip-range=172.30.0.0/16",
		"--kube-api-qps=200", "--kube-api-burst=400",
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
	); err != nil {
		return err
	}
	if _, err := c.launch("kube-scheduler",
		"--kubeconfig="+c.pki("scheduler.kubeconfig"),
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--kube-api-qps=200", "--kube-api-burst=400",
	); err != nil {
		return err
	}
	kwokConf := filepath.Join(c.Dir, "pki", "kwok.yaml")
	if err := writeKwokConfig(kwokConf); err != nil {
		return err
	}
	_, err := c.launch("kwok",
		"--kubeconfig="+c.pki("kwok.kubeconfig"),
		"--config="+kwokConf,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+kwokNodeAnnotation+"=fake",
	)
	return err
}

// HostRoot is master i's host root directory.
func (c *Cluster) HostRoot(i int) string { return c.Masters[i].Root }

// EtcdEndpoints lists the members' client URLs.
func (c *Cluster) EtcdEndpoints() []string {
	var eps []string
	for _, m := range c.Masters {
		eps = append(eps, m.ClientURL)
	}
	return eps
}

// StopMember kills master i's etcd member abruptly (SIGKILL), as if the
// machine lost power, and keeps it down until StartMember.
func (c *Cluster) StopMember(i int) { c.Masters[i].etcd.hold() }

// StartMember lets master i's member run again on its data dir (while its
// static pod manifest is in place).
func (c *Cluster) StartMember(i int) { c.Masters[i].etcd.release() }

// MemberRunning reports whether master i's etcd process is running.
func (c *Cluster) MemberRunning(i int) bool { return c.Masters[i].etcd.running() }

// WipeMember deletes master i's etcd data dir. The member must be stopped.
func (c *Cluster) WipeMember(i int) error {
	if c.MemberRunning(i) {
		return fmt.Errorf("wipe member %s: it is running", c.Masters[i].Name)
	}
	return os.RemoveAll(filepath.Join(c.Masters[i].Root, EtcdDataDir))
}

// Env is the environment that points kubectl and etcdctl at the cluster, as
// on master-0: its admin kubeconfig and its etcd peer certificate.
func (c *Cluster) Env() []string {
	root := c.HostRoot(0)
	return []string{
		"KUBECONFIG=" + filepath.Join(root, AdminKubeconfig),
		"ETCDCTL_ENDPOINTS=" + strings.Join(c.EtcdEndpoints(), ","),
		"ETCDCTL_CACERT=" + filepath.Join(root, "etc/etcd/ca.crt"),
		"ETCDCTL_CERT=" + filepath.Join(root, "etc/etcd/peer.crt"),
		"ETCDCTL_KEY=" + filepath.Join(root, "etc/etcd/peer.key"),
	}
}

// Stop ends every process the cluster started and removes its directory
// unless Options.Keep. It is safe to call more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		if c.background != nil {
			c.background()
		}
		for i := len(c.procs) - 1; i >= 0; i-- {
			c.procs[i].stop(5 * time.Second)
		}
		var wg sync.WaitGroup
		for _, m := range c.Masters {
			wg.Add(1)
			go func() { defer wg.Done(); m.etcd.shutdown() }()
		}
		c.stopAllSSHD()
		wg.Wait()
		for _, f := range c.cleanups {
			f()
		}
		if c.Dir == "" {
			return
		}
		if c.opts.Keep {
			if err := unmountUnder(c.Dir); err != nil {
				fmt.Fprintln(os.Stderr, "local cluster:", err)
			}
		} else if err := removeClusterDir(c.Dir); err != nil {
			fmt.Fprintln(os.Stderr, "local cluster:", err)
		}
	})
}
