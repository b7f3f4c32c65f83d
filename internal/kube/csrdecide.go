package kube

import (
	"context"
	"fmt"

	certv1 "k8s.io/api/certificates/v1"
	certv1beta1 "k8s.io/api/certificates/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/day2ops/day2/model"
)

// CSRAPI reads and decides single CertificateSigningRequests in the
// version the server serves: certificates.k8s.io/v1, or v1beta1 where v1 is
// not served (Kubernetes before 1.19: OpenShift 3.11).
type CSRAPI struct {
	client kubernetes.Interface
	v1     bool
}

// NewCSRAPI asks discovery once which version to use.
func NewCSRAPI(client kubernetes.Interface) (*CSRAPI, error) {
	served, err := resourceServed(client, csrV1)
	if err != nil {
		return nil, err
	}
	return &CSRAPI{client: client, v1: served}, nil
}

// Version is the API version in use, as plans name it.
func (a *CSRAPI) Version() string {
	if a.v1 {
		return "certificates.k8s.io/v1"
	}
	return "certificates.k8s.io/v1beta1"
}

// fetched is one request as read, with the object to write a decision on.
type fetched struct {
	obj  csrObject
	v1   *certv1.CertificateSigningRequest
	beta *certv1beta1.CertificateSigningRequest
}

func (a *CSRAPI) fetch(ctx context.Context, name string) (fetched, error) {
	if a.v1 {
		c, err := a.client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fetched{}, fmt.Errorf("get csr %s: %w", name, err)
		}
		return fetched{obj: fromV1(c), v1: c}, nil
	}
	c, err := a.client.CertificatesV1beta1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fetched{}, fmt.Errorf("get csr %s: %w", name, err)
	}
	return fetched{obj: fromV1beta1(c), beta: c}, nil
}

// Get reads one request and checks it against the node it names, now.
func (a *CSRAPI) Get(ctx context.Context, name string) (model.CSR, error) {
	f, err := a.fetch(ctx, name)
	if err != nil {
		return model.CSR{}, err
	}
	lookup, failed := nodeLookup(ctx, a.client)
	return validate(csrModel(f.obj), lookup, failed), nil
}

// List reads every request with its verdict (ListCSRs).
func (a *CSRAPI) List(ctx context.Context) model.CSRs { return ListCSRs(ctx, a.client) }

// Decide approves (or denies) a request through its /approval subresource,
// the way `oc adm certificate approve` does, with reason Day2Approved (or
// Day2Denied) and a message naming user and day2's verdict. The request is
// read and validated anew right before, and guard (nil: none) may refuse it
// as it is now: a request the operator saw valid may have changed or its
// node gone. The write carries the resourceVersion read, so a change in
// between is a conflict rather than a decision on something unseen. A
// request already decided the same way is left alone. It returns the
// request as it was decided on.
func (a *CSRAPI) Decide(ctx context.Context, name string, approve bool, user string, guard func(model.CSR) error) (model.CSR, error) {
	f, err := a.fetch(ctx, name)
	if err != nil {
		return model.CSR{}, err
	}
	lookup, failed := nodeLookup(ctx, a.client)
	c := validate(csrModel(f.obj), lookup, failed)
	if guard != nil {
		if err := guard(c); err != nil {
			return c, err
		}
	}
	if (approve && c.Approved) || (!approve && c.Denied) {
		return c, nil
	}
	if !c.Pending() {
		return c, fmt.Errorf("csr %s is %s already", name, c.Condition())
	}
	typ, reason := certv1.CertificateApproved, model.CSRApprovedReason
	if !approve {
		typ, reason = certv1.CertificateDenied, model.CSRDeniedReason
	}
	msg := model.DecisionMessage(approve, user, c.Verdict)
	now := metav1.Now()
	if f.v1 != nil {
		f.v1.Status.Conditions = append(f.v1.Status.Conditions, certv1.CertificateSigningRequestCondition{
			Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now,
		})
		_, err = a.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, f.v1, metav1.UpdateOptions{})
	} else {
		f.beta.Status.Conditions = append(f.beta.Status.Conditions, certv1beta1.CertificateSigningRequestCondition{
			Type: certv1beta1.RequestConditionType(typ), Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastUpdateTime: now, LastTransitionTime: now,
		})
		_, err = a.client.CertificatesV1beta1().CertificateSigningRequests().UpdateApproval(ctx, f.beta, metav1.UpdateOptions{})
	}
	if err != nil {
		verb := "approve"
		if !approve {
			verb = "deny"
		}
		return c, fmt.Errorf("%s csr %s: %w", verb, name, err)
	}
	return c, nil
}

// Issued checks that an approved request got its certificate: present in
// status.certificate, parseable, for the identity asked. The kubelet
// signers are the controller-manager's, which signs within a moment of the
// approval; callers poll.
func (a *CSRAPI) Issued(ctx context.Context, name string) error {
	f, err := a.fetch(ctx, name)
	if err != nil {
		return err
	}
	c := csrModel(f.obj)
	switch {
	case c.Failed:
		return fmt.Errorf("csr %s: the signer failed it: %s", name, c.Message)
	case c.RequestErr != "":
		return fmt.Errorf("csr %s: %s", name, c.RequestErr)
	}
	if err := model.CheckIssuedCertificate(f.obj.certificate, c.Request); err != nil {
		return fmt.Errorf("csr %s: %w", name, err)
	}
	return nil
}
