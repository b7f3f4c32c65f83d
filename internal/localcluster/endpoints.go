package localcluster

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// APIServerManifest is a master's API server static pod.
const APIServerManifest = StaticPodsDir + "/apiserver.yaml"

// reconcileAPIEndpoints imitates the API servers' endpoint reconciler of a
// multi-master cluster (there is one real API server here): the kubernetes
// Service lists, at port 8443, the masters whose apiserver.yaml static pod is
// in place, so deprecating a master shows in `oc describe svc kubernetes` as
// in seed 003 §5.2.1.3. It runs until ctx ends.
func (c *Cluster) reconcileAPIEndpoints(ctx context.Context) {
	for {
		c.syncAPIEndpoints(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (c *Cluster) syncAPIEndpoints(ctx context.Context) {
	var addrs []corev1.EndpointAddress
	for _, m := range c.Masters {
		if _, err := os.Stat(filepath.Join(m.Root, APIServerManifest)); err == nil {
			addrs = append(addrs, corev1.EndpointAddress{IP: m.IP})
		}
	}
	want := []corev1.EndpointSubset{{Addresses: addrs, Ports: []corev1.EndpointPort{{Name: "https", Port: 8443, Protocol: corev1.ProtocolTCP}}}}
	if len(addrs) == 0 {
		want = nil
	}
	eps := c.Client.CoreV1().Endpoints("default")
	cur, err := eps.Get(ctx, "kubernetes", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, _ = eps.Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"}, Subsets: want}, metav1.CreateOptions{})
	case err == nil && !reflect.DeepEqual(cur.Subsets, want):
		cur.Subsets = want
		_, _ = eps.Update(ctx, cur, metav1.UpdateOptions{})
	}
}
