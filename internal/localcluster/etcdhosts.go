package localcluster

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// StoppedPodsDir is where seed 003 §5.4.4.2 parks static pod manifests to
// keep a prepared host's etcd from running ("mv /etc/origin/node/pods/*
// /etc/origin/node/pods-stopped/").
const StoppedPodsDir = "etc/origin/node/pods-stopped"

// AddMasterHost lays out one more master host root named name, prepared
// the way seed 003 §5.4.4.2 prepares a new etcd host: its own etcd server
// and peer certificates signed by the cluster's etcd CA, an etcd.conf that
// names only itself (joining the cluster means editing it, as day2's
// etcd-add-member does) and its etcd.yaml parked in pods-stopped. Its
// imitation kubelet runs from now on: the member starts as soon as etcd.yaml
// is in its static pods dir. The host is not a Node and not in Masters;
// call its Stop when done (Cluster.Stop does not know it).
func (c *Cluster) AddMasterHost(name string) (*Master, error) {
	entries, err := os.ReadDir(filepath.Join(c.Dir, "hosts"))
	if err != nil {
		return nil, fmt.Errorf("add master host %s: %w", name, err)
	}
	root := filepath.Join(c.Dir, "hosts", name)
	if _, err := os.Stat(root); err == nil {
		return nil, fmt.Errorf("add master host %s: %s exists", name, root)
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	h := hostInfo{
		index: len(entries), role: RoleMaster, name: name, ip: fmt.Sprintf("192.0.2.%d", 11+len(entries)),
		clientURL: fmt.Sprintf("https://127.0.0.1:%d", ports[0]), peerURL: fmt.Sprintf("https://127.0.0.1:%d", ports[1]),
	}
	cas, err := c.loadCAs()
	if err != nil {
		return nil, fmt.Errorf("add master host %s: %w", name, err)
	}
	fs, err := hostRoot(root, h, []hostInfo{h}, nil, cas, c.APIServer, time.Now())
	if err != nil {
		return nil, fmt.Errorf("add master host %s: %w", name, err)
	}
	fs.files[StoppedPodsDir+"/etcd.yaml"] = fs.files[EtcdManifest]
	delete(fs.files, EtcdManifest)
	if err := fs.write(); err != nil {
		return nil, err
	}
	m := &Master{Name: name, IP: h.ip, Root: root, ClientURL: h.clientURL, PeerURL: h.peerURL}
	m.etcd = newStaticEtcd(name, root, c.EtcdTool("etcd"), c.logFile("etcd-"+name))
	go m.etcd.run()
	return m, nil
}

// Stop ends an added host's kubelet imitation and kills its member.
func (m *Master) Stop() { m.etcd.shutdown() }

// Running reports whether the host's etcd process is running.
func (m *Master) Running() bool { return m.etcd.running() }

// loadCAs reads the CAs back from the first master, which holds both keys
// (it is the CA host, seed 003 §5.2.1.3).
func (c *Cluster) loadCAs() (certAuthorities, error) {
	root := c.HostRoot(0)
	etcdCA, err := loadCA(filepath.Join(root, "etc/etcd/ca/ca.crt"), filepath.Join(root, "etc/etcd/ca/ca.key"))
	if err != nil {
		return certAuthorities{}, err
	}
	masterCA, err := loadCA(filepath.Join(root, "etc/origin/master/ca.crt"), filepath.Join(root, "etc/origin/master/ca.key"))
	if err != nil {
		return certAuthorities{}, err
	}
	return certAuthorities{master: masterCA, etcd: etcdCA}, nil
}

func loadCA(certPath, keyPath string) (*ca, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("%s or %s: no PEM block", certPath, keyPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: not a signing key", keyPath)
	}
	return &ca{cert: cert, key: signer, certPEM: certPEM, keyPEM: keyPEM}, nil
}

// CorruptMember overwrites master i's etcd database with garbage, so the
// member crashes at every start (a crashlooping etcd pod, seed 001
// §5.2.4.2). The member must be stopped (StopMember).
func (c *Cluster) CorruptMember(i int) error {
	if c.MemberRunning(i) {
		return fmt.Errorf("corrupt member %s: it is running", c.Masters[i].Name)
	}
	db := filepath.Join(c.Masters[i].Root, EtcdDataDir, "member/snap/db")
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("corrupt member %s: %w", c.Masters[i].Name, err)
	}
	return os.WriteFile(db, []byte("day2 test: this is no bbolt database\n"), 0o600)
}

// StopMachine imitates a master whose machine stopped (seed 001 §5.2.3): its
// etcd member is killed and held down, and its Node turns NotReady with the
// node.kubernetes.io/unreachable taint, as the node controller marks a node
// whose kubelet went silent (kwok stops playing it first, so nothing
// renews its status).
func (c *Cluster) StopMachine(ctx context.Context, i int) error {
	c.StopMember(i)
	if err := c.nodeUnreachable(ctx, c.Masters[i].Name); err != nil {
		return fmt.Errorf("stop machine %s: %w", c.Masters[i].Name, err)
	}
	return nil
}

// OpenShift 4's etcd operator API (operator.openshift.io/v1 Etcd), as much of
// it as day2 reads and patches.
var (
	EtcdOperatorGVR = schema.GroupVersionResource{Group: "operator.openshift.io", Version: "v1", Resource: "etcds"}
	crdGVR          = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// EtcdNamespace is OpenShift 4's etcd namespace.
const EtcdNamespace = "openshift-etcd"

const etcdOperatorCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: etcds.operator.openshift.io
spec:
  group: operator.openshift.io
  scope: Cluster
  names: {kind: Etcd, listKind: EtcdList, plural: etcds, singular: etcd}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
            properties:
              managementState: {type: string}
              forceRedeploymentReason: {type: string}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`

// InstallEtcdOperatorAPI gives the cluster the OpenShift 4 objects seed 001
// §5.2 works with: the etcds.operator.openshift.io CRD with its "cluster"
// object, and in openshift-etcd each master's etcd-peer-<node>,
// etcd-serving-<node> and etcd-serving-metrics-<node> TLS secrets (from the
// host roots' certificates). Nothing acts on them: there is no operator.
func (c *Cluster) InstallEtcdOperatorAPI(ctx context.Context) error {
	dyn, err := dynamic.NewForConfig(c.RestConfig)
	if err != nil {
		return err
	}
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(etcdOperatorCRD), &crd.Object); err != nil {
		return fmt.Errorf("etcd operator CRD: %w", err)
	}
	if err := c.create(ctx, "CRD etcds.operator.openshift.io", func() error {
		_, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	cluster := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "operator.openshift.io/v1", "kind": "Etcd",
		"metadata": map[string]any{"name": "cluster"},
		"spec":     map[string]any{"managementState": "Managed"},
	}}
	// The CRD takes a moment to be served: create retries until it is.
	if err := c.create(ctx, "etcd.operator.openshift.io cluster", func() error {
		_, err := dyn.Resource(EtcdOperatorGVR).Create(ctx, cluster, metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: EtcdNamespace}}
	if err := createObject(ctx, c, "namespace "+EtcdNamespace, c.Client.CoreV1().Namespaces().Create, ns); err != nil {
		return err
	}
	for _, m := range c.Masters {
		for _, s := range []struct{ prefix, pair string }{{"etcd-peer-", "peer"}, {"etcd-serving-", "server"}, {"etcd-serving-metrics-", "server"}} {
			crt, err1 := os.ReadFile(filepath.Join(m.Root, "etc/etcd", s.pair+".crt"))
			key, err2 := os.ReadFile(filepath.Join(m.Root, "etc/etcd", s.pair+".key"))
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			sec := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: s.prefix + m.Name, Namespace: EtcdNamespace},
				Type:       corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": crt, "tls.key": key},
			}
			if err := createObject(ctx, c, "secret "+sec.Name, c.Client.CoreV1().Secrets(EtcdNamespace).Create, sec); err != nil {
				return err
			}
		}
	}
	return nil
}

// EtcdOperatorSpec reads the spec of etcd.operator.openshift.io "cluster".
func (c *Cluster) EtcdOperatorSpec(ctx context.Context) (map[string]any, error) {
	dyn, err := dynamic.NewForConfig(c.RestConfig)
	if err != nil {
		return nil, err
	}
	u, err := dyn.Resource(EtcdOperatorGVR).Get(ctx, "cluster", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	spec, _, _ := unstructured.NestedMap(u.Object, "spec")
	return spec, nil
}

// SecretExists reports whether namespace/name exists.
func (c *Cluster) SecretExists(ctx context.Context, namespace, name string) (bool, error) {
	_, err := c.Client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
