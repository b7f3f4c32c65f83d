package localcluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// AddPods fills namespace with n pods spread over the compute nodes, bound
// directly (the scheduler would take minutes for a benchmark's 10,000), and
// waits until kwok reports them all Running.
func (c *Cluster) AddPods(ctx context.Context, namespace string, n int) error {
	cfg := *c.RestConfig
	cfg.QPS, cfg.Burst = 2000, 4000
	client, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if err := createObject(ctx, c, "namespace "+namespace, client.CoreV1().Namespaces().Create, ns); err != nil {
		return err
	}
	tmpl := podTemplate("scale", "registry.example.com:5000/scale/app:1.0", "compute", "10m", "16Mi")
	work := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: fmt.Sprintf("scale-%05d", i), Labels: tmpl.Labels}, Spec: tmpl.Spec}
				p.Spec.NodeSelector = nil
				p.Spec.NodeName = c.Workers[i%len(c.Workers)]
				if _, err := client.CoreV1().Pods(namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
					select {
					case errs <- fmt.Errorf("create pod %s: %w", p.Name, err):
					default:
					}
					return
				}
			}
		}()
	}
	for i := range n {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return poll(ctx, fmt.Sprintf("%d pods Running in %s", n, namespace), 10*time.Minute, 2*time.Second, func() (bool, error) {
		list, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		if running < n {
			return false, fmt.Errorf("%d/%d Running", running, n)
		}
		return true, nil
	})
}
