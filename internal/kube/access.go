package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/day2ops/day2/model"
)

// MissingRights asks the API server which of rights the current user lacks:
// one SelfSubjectAccessReview per right, all at once (any authenticated user
// may ask about themselves). Rights in an API group the server does not
// serve are not asked: no step can use them on this cluster (OpenShift's
// DeploymentConfigs on plain Kubernetes). The answer keeps rights' order.
func MissingRights(ctx context.Context, client kubernetes.Interface, rights []model.Right) ([]model.Right, error) {
	served, err := servedGroups(client, rights)
	if err != nil {
		return nil, err
	}
	allowed := make([]bool, len(rights))
	errs := make([]error, len(rights))
	var wg sync.WaitGroup
	for i, r := range rights {
		if !served[r.Group] {
			allowed[i] = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: r.Namespace, Verb: r.Verb, Group: r.Group, Resource: r.Resource, Subresource: r.Subresource,
				},
			}}
			got, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				errs[i] = fmt.Errorf("access review %q: %w", r, err)
				return
			}
			allowed[i] = got.Status.Allowed
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var missing []model.Right
	for i, r := range rights {
		if !allowed[i] {
			missing = append(missing, r)
		}
	}
	return missing, nil
}

// servedGroups are the API groups of rights the server serves (the core
// group always); discovery is asked only when a right names another group.
func servedGroups(client kubernetes.Interface, rights []model.Right) (map[string]bool, error) {
	served := map[string]bool{"": true}
	for _, r := range rights {
		if r.Group == "" {
			continue
		}
		groups, err := client.Discovery().ServerGroups()
		if err != nil {
			return nil, fmt.Errorf("API groups: %w", err)
		}
		for _, g := range groups.Groups {
			served[g.Name] = true
		}
		break
	}
	return served, nil
}
