package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/day2ops/day2/model"
)

// RegistryMirrorConf is the registries.conf.d drop-in of every master
// (read where CRI-O runs, master-0): registry.redhat.io's openshift3 images
// are blocked at the source and pulled from the local registry, reached
// directly, as their mirror; quay.io is blocked.
const RegistryMirrorConf = RegistriesConfD + "/50-local-mirror.conf"

// RegistriesConfD is where containers/image reads drop-ins, relative to a
// host root.
const RegistriesConfD = "etc/containers/registries.conf.d"

// startOpenShift begins adding what the registry, certificate and health
// views read beyond the workloads; the returned function finishes it while
// wait (the wait for the seeded pods) runs, and returns every error. It
// adds OpenShift 4's ClusterOperator API with a few operators, one Degraded
// (started at once: the API server takes about two seconds to accept the
// first write of a new resource), and, once the workloads are seeded, the
// real registry behind the docker-registry Service (its address in the
// Service's day2ops.io/probe-address annotation, since a ClusterIP cannot
// be routed here), the masters' registry drop-in and certs.d for it, and
// TLS secrets with a spread of expiry. The cluster otherwise stays a 3.11
// one.
func (c *Cluster) startOpenShift(ctx context.Context) func(wait func() error) error {
	operators := make(chan error, 1)
	go func() { operators <- c.seedClusterOperators(ctx) }()
	return func(wait func() error) error {
		registry := make(chan error, 1)
		go func() { registry <- c.seedRegistry(ctx) }()
		err := wait()
		return errors.Join(err, <-registry, <-operators)
	}
}

// seedRegistry starts the registry, points the Service at it, makes the
// masters trust and mirror it, and creates the TLS secrets.
func (c *Cluster) seedRegistry(ctx context.Context) error {
	cas, err := c.loadCAs()
	if err != nil {
		return err
	}
	masterCA := cas.master
	now := time.Now()
	svc, err := c.Client.CoreV1().Services("default").Get(ctx, "docker-registry", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("registry service: %w", err)
	}
	// As in seed 003 §3.5.2, the registry certificate's CN is its ClusterIP.
	serving, err := masterCA.issue(certSpec{
		cn: svc.Spec.ClusterIP, server: true, notAfter: now.Add(25*24*time.Hour + time.Hour),
		dns: []string{"docker-registry.default.svc", "docker-registry.default.svc.cluster.local"},
		ips: []net.IP{loopback, net.ParseIP(svc.Spec.ClusterIP)},
	})
	if err != nil {
		return err
	}
	addr, err := c.startRegistry(ctx, serving, masterCA.certPEM)
	if err != nil {
		return err
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{model.RegistryProbeAddressAnnotation: addr}}})
	if _, err := c.Client.CoreV1().Services("default").Patch(ctx, "docker-registry", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("annotate registry service: %w", err)
	}
	for _, m := range c.Masters {
		fs := newFileSet(m.Root)
		fs.add("etc/docker/certs.d/"+addr+"/ca.crt", masterCA.certPEM)
		fs.add(RegistryMirrorConf, []byte(registryMirrorConf(addr)))
		if err := fs.write(); err != nil {
			return err
		}
	}
	return c.seedTLSSecrets(ctx, masterCA, serving, now)
}

func registryMirrorConf(addr string) string {
	return fmt.Sprintf(`# The OpenShift images of registry.redhat.io are pulled only from the local
# registry, reached directly: the source is blocked, its mirrors are not
# (the second mirror is inside blocked quay.io: never contacted). Drop-ins
# must be v2.
[[registry]]
prefix = "registry.redhat.io/openshift3"
location = "registry.redhat.io/openshift3"
blocked = true

[[registry.mirror]]
location = "%s/openshift3"

[[registry.mirror]]
location = "quay.io/openshift3-mirror"

[[registry]]
location = "quay.io"
blocked = true
`, addr)
}

// seedTLSSecrets creates kubernetes.io/tls secrets in two namespaces: the
// registry's serving pair (25 days left), an expired router certificate
// and an application's certificate with 5 days left.
func (c *Cluster) seedTLSSecrets(ctx context.Context, masterCA *ca, registry keyPair, now time.Time) error {
	router, err := masterCA.issue(certSpec{cn: "*.apps.example.com", dns: []string{"*.apps.example.com"}, server: true, notAfter: now.Add(-3 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	app, err := masterCA.issue(certSpec{cn: "frontend.apps.example.com", dns: []string{"frontend.apps.example.com"}, server: true, notAfter: now.Add(5*24*time.Hour + time.Hour)})
	if err != nil {
		return err
	}
	for _, s := range []struct {
		ns, name string
		kp       keyPair
	}{
		{"default", "docker-registry-tls", registry},
		{"default", "router-certs", router},
		{AppNamespace, "frontend-cert", app},
	} {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: s.name},
			Type:       corev1.SecretTypeTLS,
			Data: map[string][]byte{
				corev1.TLSCertKey: append(append([]byte{}, s.kp.certPEM...), masterCA.certPEM...), corev1.TLSPrivateKeyKey: s.kp.keyPEM,
			},
		}
		if err := createObject(ctx, c, "secret "+s.ns+"/"+s.name, c.Client.CoreV1().Secrets(s.ns).Create, secret); err != nil {
			return err
		}
	}
	return nil
}

// clusterOperators are OpenShift 4 operators as `oc get co` lists them:
// name, then the Available, Progressing and Degraded conditions with the
// reason and message of the one that is not as it should be.
var clusterOperators = []struct {
	name                             string
	available, progressing, degraded string
	reason, message                  string
}{
	{"dns", "True", "False", "False", "", ""},
	{"etcd", "True", "False", "False", "", ""},
	{"image-registry", "True", "False", "False", "", ""},
	{"ingress", "True", "False", "True", "IngressControllersDegraded",
		"The \"default\" ingress controller reports Degraded=True: DeploymentReplicasNotAvailable: 1/2 of replicas are available"},
	{"kube-apiserver", "True", "True", "False", "NodeInstaller",
		"NodeInstallerProgressing: 1 node is at revision 7; 2 nodes are at revision 8"},
}

// seedClusterOperators serves the ClusterOperator API and creates the
// operators with their conditions.
func (c *Cluster) seedClusterOperators(ctx context.Context) error {
	if err := c.installAPI(ctx, clusterOperatorAPI); err != nil {
		return err
	}
	dyn, err := c.dynamic()
	if err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	for _, co := range clusterOperators {
		cond := func(typ, status string, bad bool) any {
			m := map[string]any{"type": typ, "status": status, "lastTransitionTime": now, "reason": "AsExpected"}
			if bad {
				m["reason"], m["message"] = co.reason, co.message
			}
			return m
		}
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "config.openshift.io/v1", "kind": "ClusterOperator",
			"metadata": map[string]any{"name": co.name},
			"spec":     map[string]any{},
			"status": map[string]any{
				"conditions": []any{
					cond("Available", co.available, co.available != "True"),
					cond("Progressing", co.progressing, co.progressing == "True"),
					cond("Degraded", co.degraded, co.degraded == "True"),
				},
				"versions": []any{map[string]any{"name": "operator", "version": "4.14.12"}},
			},
		}}
		if err := c.createWithStatus(ctx, dyn, clusterOperatorAPI, obj); err != nil {
			return err
		}
	}
	return nil
}

// RegistryAddress is the host:port of the local registry, as the
// docker-registry Service's probe address annotation records it.
func (c *Cluster) RegistryAddress(ctx context.Context) (string, error) {
	svc, err := c.Client.CoreV1().Services("default").Get(ctx, "docker-registry", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	addr := svc.Annotations[model.RegistryProbeAddressAnnotation]
	if addr == "" {
		return "", fmt.Errorf("service default/docker-registry has no %s annotation", model.RegistryProbeAddressAnnotation)
	}
	return addr, nil
}
