package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"time"

	"github.com/day2ops/day2/assets"
)

// kwokNodeAnnotation marks the nodes kwok plays.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// Namespaces of the seeded workloads.
const (
	AppNamespace = "myapp"
	SDNNamespace = "openshift-sdn"
)

func writeKwokConfig(path string) error {
	var b bytes.Buffer
	b.WriteString(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: 10.128.0.0/14
  nodeIP: 127.0.0.1
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 16
  nodePlayStageParallelism: 16
  podPlayStageParallelism: 16
  podsOnNodeSyncParallelism: 16
  enablePodsOnNodeSyncListPager: true
  enablePodsOnNodeSyncStreamWatch: false
`)
	stages, err := assets.KwokStages()
	if err != nil {
		return fmt.Errorf("kwok stages: %w", err)
	}
	for _, s := range stages {
		b.WriteString("---\n")
		b.Write(s)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// node builds a kwok-played node. Addresses and capacity are set on create
// (nodes accept status then) and kept by kwok's node-initialize stage;
// nodeInfo is left to kwok.
func node(name, ip, role string, unschedulable bool) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	allocatable := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("3500m"), corev1.ResourceMemory: resource.MustParse("15Gi"), corev1.ResourcePods: resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
				"node-role.kubernetes.io/" + role: "true", "type": "kwok",
			},
			Annotations: map[string]string{kwokNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
		},
		Spec: corev1.NodeSpec{Unschedulable: unschedulable},
		Status: corev1.NodeStatus{
			Capacity: capacity, Allocatable: allocatable,
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}},
		},
	}
}

func workerIP(i int) string { return fmt.Sprintf("127.1.%d.%d", i/250, i%250+1) }

func podTemplate(app, image string, nodeRole string, cpu, mem string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"node-role.kubernetes.io/" + nodeRole: "true"},
			Containers: []corev1.Container{{
				Name: app, Image: image,
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem),
				}},
			}},
		},
	}
}

// spreadOverHosts keeps replicas on distinct nodes, as the 3.11 router and
// registry run one per infra node.
func spreadOverHosts(t *corev1.PodTemplateSpec) {
	t.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: t.Labels}, TopologyKey: "kubernetes.io/hostname",
		}},
	}}
}

func deployment(ns, name string, replicas int32, tmpl corev1.PodTemplateSpec) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: tmpl.Labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: tmpl,
		},
	}
}

// ExpectedPods is how many pods the seed runs: router and registry (3 each),
// the sdn DaemonSet (one per node), the frontend (3), the cache (1) and the
// bare debug pod (1).
func (c *Cluster) ExpectedPods() int {
	return 3 + 3 + (len(c.Masters) + len(c.Infra) + len(c.Workers)) + 3 + 1 + 1
}

// seed creates the nodes and workloads of seed 003's example cluster and
// waits until every node is Ready and every pod Running.
func (c *Cluster) seed(ctx context.Context, masters, infra []hostInfo) error {
	openshift := c.startOpenShift(ctx)
	var nodes []*corev1.Node
	for _, m := range masters {
		nodes = append(nodes, node(m.name, m.ip, "master", true))
	}
	for _, n := range infra {
		nodes = append(nodes, node(n.name, n.ip, "infra", false))
	}
	for i, w := range c.Workers {
		nodes = append(nodes, node(w, workerIP(i), "compute", false))
	}
	for _, n := range nodes {
		if err := createObject(ctx, c, "node "+n.Name, c.Client.CoreV1().Nodes().Create, n); err != nil {
			return err
		}
	}
	for _, ns := range []string{AppNamespace, SDNNamespace} {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if err := createObject(ctx, c, "namespace "+ns, c.Client.CoreV1().Namespaces().Create, obj); err != nil {
			return err
		}
	}

	router := podTemplate("router", "registry.redhat.io/openshift3/ose-haproxy-router:v3.11", "infra", "100m", "256Mi")
	spreadOverHosts(&router)
	registry := podTemplate("docker-registry", "registry.redhat.io/openshift3/ose-docker-registry:v3.11", "infra", "100m", "256Mi")
	spreadOverHosts(&registry)
	frontend := podTemplate("frontend", "registry.example.com:5000/myapp/frontend:1.4", "compute", "250m", "512Mi")
	cache := podTemplate("cache", "registry.example.com:5000/myapp/cache:2.0", "compute", "100m", "1Gi")
	cache.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	cache.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/var/cache"}}
	for _, d := range []*appsv1.Deployment{
		deployment("default", "router", 3, router),
		deployment("default", "docker-registry", 3, registry),
		deployment(AppNamespace, "frontend", 3, frontend),
		deployment(AppNamespace, "cache", 1, cache),
	} {
		if err := createObject(ctx, c, "deployment "+d.Namespace+"/"+d.Name, c.Client.AppsV1().Deployments(d.Namespace).Create, d); err != nil {
			return err
		}
	}
	for _, s := range []*corev1.Service{
		service("default", "router", "router", 80, 443),
		service("default", "docker-registry", "docker-registry", 5000),
		service(AppNamespace, "frontend", "frontend", 8080),
	} {
		if err := createObject(ctx, c, "service "+s.Namespace+"/"+s.Name, c.Client.CoreV1().Services(s.Namespace).Create, s); err != nil {
			return err
		}
	}
	minAvailable := intstr.FromInt32(2)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: AppNamespace, Name: "frontend"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable, Selector: &metav1.LabelSelector{MatchLabels: frontend.Labels}},
	}
	if err := createObject(ctx, c, "pdb frontend", c.Client.PolicyV1().PodDisruptionBudgets(AppNamespace).Create, pdb); err != nil {
		return err
	}
	sdn := podTemplate("sdn", "registry.redhat.io/openshift3/ose-node:v3.11", "", "100m", "200Mi")
	sdn.Spec.NodeSelector = nil
	sdn.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: SDNNamespace, Name: "sdn", Labels: sdn.Labels},
		Spec:       appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: sdn.Labels}, Template: sdn},
	}
	if err := createObject(ctx, c, "daemonset sdn", c.Client.AppsV1().DaemonSets(SDNNamespace).Create, ds); err != nil {
		return err
	}
	// A bare pod (no controller: it will not come back once evicted).
	debug := podTemplate("debug", "registry.redhat.io/rhel7/support-tools:latest", "compute", "10m", "32Mi")
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: AppNamespace, Name: "debug", Labels: debug.Labels}, Spec: debug.Spec}
	if err := createObject(ctx, c, "pod debug", c.Client.CoreV1().Pods(AppNamespace).Create, bare); err != nil {
		return err
	}
	if err := c.seedCSRs(ctx); err != nil {
		return err
	}
	return openshift(func() error { return c.WaitReady(ctx, 2*time.Minute) })
}

func service(ns, name, app string, ports ...int32) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": app}},
	}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("%d-tcp", p), Port: p, TargetPort: intstr.FromInt32(p)})
	}
	return s
}

// createObject creates obj with a typed client's Create, retried by create.
func createObject[T any](ctx context.Context, c *Cluster, what string, fn func(context.Context, T, metav1.CreateOptions) (T, error), obj T) error {
	return c.create(ctx, what, func() error {
		_, err := fn(ctx, obj, metav1.CreateOptions{})
		return err
	})
}

// create retries a create while the control plane is still settling (the
// namespace's default service account not yet made, a webhook-free API
// briefly refusing); an object that already exists counts as created.
func (c *Cluster) create(ctx context.Context, what string, fn func() error) error {
	return poll(ctx, "create "+what, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		err := fn()
		if err == nil || apierrors.IsAlreadyExists(err) {
			return true, nil
		}
		return false, err
	})
}

// WaitReady waits until every node is Ready and ExpectedPods pods are Running
// and Ready.
func (c *Cluster) WaitReady(ctx context.Context, timeout time.Duration) error {
	wantNodes := len(c.Masters) + len(c.Infra) + len(c.Workers)
	return poll(ctx, "nodes Ready and pods Running", timeout, 250*time.Millisecond, func() (bool, error) {
		nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, n := range nodes.Items {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if ready < wantNodes {
			return false, fmt.Errorf("%d/%d nodes Ready", ready, wantNodes)
		}
		pods, err := c.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && podReady(&p) {
				running++
			}
		}
		if running < c.ExpectedPods() {
			return false, fmt.Errorf("%d/%d pods Running", running, c.ExpectedPods())
		}
		return true, nil
	})
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// AddNode adds a kwok-played node with one role and waits until it is
// Ready (benchmarks and tests that need a node of their own).
func (c *Cluster) AddNode(ctx context.Context, name, role, ip string) error {
	if err := createObject(ctx, c, "node "+name, c.Client.CoreV1().Nodes().Create, node(name, ip, role, false)); err != nil {
		return err
	}
	return c.waitNodeReady(ctx, name)
}

// waitNodeReady waits up to a minute for node name to be Ready.
func (c *Cluster) waitNodeReady(ctx context.Context, name string) error {
	return poll(ctx, "node "+name+" Ready", time.Minute, 200*time.Millisecond, func() (bool, error) {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

// NodeOf is the node a pod matching selector in namespace runs on, so a test
// can pick a node that surely carries such a pod (where the scheduler put
// pods varies between runs).
func (c *Cluster) NodeOf(ctx context.Context, namespace, selector string) (string, error) {
	pods, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "", err
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
			return p.Spec.NodeName, nil
		}
	}
	return "", fmt.Errorf("no scheduled pod %s in %s", selector, namespace)
}
