package certs

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/day2ops/day2/model"
)

// defaultPageSize is client-go's pager default.
const defaultPageSize = 500

// tlsCAKey is where cert-manager and OpenShift's service CA put the issuing
// CA in a TLS secret; Kubernetes itself does not define it.
const tlsCAKey = "ca.crt"

// SecretCertificates returns the certificates of a kubernetes.io/tls secret:
// its tls.crt (chain included) with Source "namespace/name", and its ca.crt,
// when present, with Source "namespace/name (ca.crt)". tls.key is never read.
func SecretCertificates(secret *corev1.Secret) ([]model.Certificate, error) {
	name := secret.Namespace + "/" + secret.Name
	if secret.Type != corev1.SecretTypeTLS {
		return nil, fmt.Errorf("secret %s: type %q, not %s", name, secret.Type, corev1.SecretTypeTLS)
	}
	certs, err := ParsePEM(name, secret.Data[corev1.TLSCertKey])
	errs := []error{err}
	if ca, ok := secret.Data[tlsCAKey]; ok {
		found, err := ParsePEM(name+" ("+tlsCAKey+")", ca)
		certs = append(certs, found...)
		errs = append(errs, err)
	}
	return certs, errors.Join(errs...)
}

// ListTLSSecrets returns the certificates of every kubernetes.io/tls secret
// in the cluster, listed pageSize at a time (500 when pageSize <= 0) so a
// large cluster is never held in one response. A secret that does not parse
// is a problem and the listing goes on; a failed list call ends it with what
// was found so far.
func ListTLSSecrets(ctx context.Context, client kubernetes.Interface, pageSize int64) ([]model.Certificate, []error) {
	if pageSize <= 0 {
		pageSize = defaultPageSize
	}
	opts := metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeTLS), Limit: pageSize}
	var certs []model.Certificate
	var problems []error
	for {
		list, err := client.CoreV1().Secrets(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return certs, append(problems, fmt.Errorf("list %s secrets: %w", corev1.SecretTypeTLS, err))
		}
		for i := range list.Items {
			found, err := SecretCertificates(&list.Items[i])
			certs = append(certs, found...)
			if err != nil {
				problems = append(problems, err)
			}
		}
		if list.Continue == "" {
			return certs, problems
		}
		opts.Continue = list.Continue
	}
}
