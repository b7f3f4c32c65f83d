package kube

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// mirrorPodAnnotation marks a static pod's mirror in the API.
const mirrorPodAnnotation = "kubernetes.io/config.mirror"

// trim is the informers' transform: it keeps only what day2 renders or
// reasons about, so a cache of 100k pods stays small. Anything that is not
// a node or a pod (tombstones included) passes through unchanged.
func trim(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Node:
		return trimNode(o), nil
	case *corev1.Pod:
		return trimPod(o), nil
	}
	return obj, nil
}

func trimMeta(m metav1.ObjectMeta, keepAnnotations ...string) metav1.ObjectMeta {
	out := metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Labels: m.Labels, OwnerReferences: m.OwnerReferences,
		CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp,
	}
	for _, k := range keepAnnotations {
		if v, ok := m.Annotations[k]; ok {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = v
		}
	}
	return out
}

// nodeAnnotations are the node annotations an operator acts on: which
// machine backs the node, its machine-config state, and the volume attach
// mode; the rest (often large) is dropped from the cache.
var nodeAnnotations = []string{
	"machine.openshift.io/machine",
	"machineconfiguration.openshift.io/state",
	"machineconfiguration.openshift.io/currentConfig",
	"machineconfiguration.openshift.io/desiredConfig",
	"volumes.kubernetes.io/controller-managed-attach-detach",
	"node.alpha.kubernetes.io/ttl",
}

func trimNode(n *corev1.Node) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: trimMeta(n.ObjectMeta, nodeAnnotations...),
		Spec:       corev1.NodeSpec{Unschedulable: n.Spec.Unschedulable, Taints: n.Spec.Taints, PodCIDR: n.Spec.PodCIDR},
		Status: corev1.NodeStatus{
			Capacity: n.Status.Capacity, Allocatable: n.Status.Allocatable, Conditions: n.Status.Conditions,
			Addresses: n.Status.Addresses, NodeInfo: n.Status.NodeInfo,
			// Images and volumes lists are the bulk of a node object; never shown.
		},
	}
}

func trimPod(p *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{
		ObjectMeta: trimMeta(p.ObjectMeta, mirrorPodAnnotation),
		Spec:       corev1.PodSpec{NodeName: p.Spec.NodeName},
		Status:     corev1.PodStatus{Phase: p.Status.Phase},
	}
	for _, v := range p.Spec.Volumes {
		if v.EmptyDir != nil {
			out.Spec.Volumes = append(out.Spec.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		}
	}
	for _, c := range p.Spec.Containers {
		out.Spec.Containers = append(out.Spec.Containers, corev1.Container{Name: c.Name, Resources: corev1.ResourceRequirements{Requests: c.Resources.Requests}})
	}
	for _, s := range p.Status.ContainerStatuses {
		out.Status.ContainerStatuses = append(out.Status.ContainerStatuses, corev1.ContainerStatus{Name: s.Name, Ready: s.Ready, RestartCount: s.RestartCount})
	}
	return out
}
