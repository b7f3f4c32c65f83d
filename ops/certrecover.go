package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/certs"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/model"
)

// kubeletClientCertPaths are where a kubelet keeps its current client
// certificate, a link to the newest one it was issued: kubeadm and
// OpenShift 4, then OpenShift 3.11.
var kubeletClientCertPaths = []string{
	"/var/lib/kubelet/pki/kubelet-client-current.pem",
	"/etc/origin/node/certificates/kubelet-client-current.pem",
}

// notReadyKey is the nodes detect found NotReady: the last step waits for
// them to be Ready.
var notReadyKey = stateKey[[]string]("recover-not-ready")

// recoverRights: the CSR decisions, and the node list the detection and the
// final check read.
var recoverRights = model.UniqueRights(csrRights, model.Rights("", "nodes", "", "", "list"))

// buildRecoverExpiredCerts is seed 001 §5.3.3: the control plane renews
// its own expired certificates, but the kubelets' new client certificates
// wait for an approval (node-bootstrapper CSRs), and on user-provisioned
// installations so do their serving ones.
func buildRecoverExpiredCerts(s *Session, p params) (*Procedure, error) {
	watch, err := watchParam(p)
	if err != nil {
		return nil, err
	}
	timeout, err := p.duration("timeout")
	if err != nil {
		return nil, err
	}
	state := NewRunState()
	steps := []*Step{s.detectExpiredCertsStep(state)}
	client, err := s.ApproveValidCSRSteps(state, CSRApproval{Prefix: "client-", What: "the pending kubelet client CSRs",
		Select: func(c model.CSR) bool { return c.Signer == model.SignerKubeletClient }})
	if err != nil {
		return nil, err
	}
	serving, err := s.ApproveValidCSRSteps(state, CSRApproval{Prefix: "serving-", What: "the kubelet serving CSRs", Watch: watch,
		Select: func(c model.CSR) bool { return c.Signer == model.SignerKubeletServing }})
	if err != nil {
		return nil, err
	}
	steps = slices.Concat(steps, client, serving, []*Step{s.nodesReadyStep(state, timeout)})
	return &Procedure{Steps: steps, State: state}, nil
}

// kubeletCert is what detect learned of one kubelet client certificate.
type kubeletCert struct {
	path     string
	cn       string
	notAfter time.Time
	err      error
}

// readKubeletClientCerts reads the kubelet client certificates a host has,
// following their links within the host (the files behind them are named
// by absolute host paths).
func readKubeletClientCerts(h hostfs.Host) []kubeletCert {
	var out []kubeletCert
	for _, p := range kubeletClientCertPaths {
		target, err := resolveLink(h, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		kc := kubeletCert{path: p}
		var data []byte
		if err == nil {
			data, err = h.ReadFile(target)
		}
		if err == nil {
			var found []model.Certificate
			found, err = certs.ParsePEM(p, data)
			if err == nil && len(found) == 0 {
				err = errors.New("no certificate in it")
			}
			if len(found) > 0 {
				kc.cn, kc.notAfter = found[0].SubjectCN, found[0].NotAfter
			}
		}
		kc.err = err
		out = append(out, kc)
	}
	return out
}

// resolveLink follows a file's symbolic links on the host.
func resolveLink(h hostfs.Host, p string) (string, error) {
	for range 40 {
		fi, err := h.Lstat(p)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		target, err := h.Readlink(p)
		if err != nil {
			return "", err
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = path.Clean(target)
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", p)
}

// detectExpiredCertsStep is the diagnosis: nodes NotReady, pending kubelet
// CSRs with their verdicts, this host's kubelet client certificate. Other
// hosts' certificates are read only where host access reaches them.
func (s *Session) detectExpiredCertsStep(state *RunState) *Step {
	var plan Plan
	st := &Step{ID: "detect", Title: "Find what expired certificates left behind: NotReady nodes, pending kubelet CSRs, expired kubelet client certificates"}
	st.Check = func(ctx context.Context) error {
		plan = nil
		now := time.Now()
		nodes, err := s.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("list nodes: %w", err)
		}
		var notReady []string
		for _, n := range nodes.Items {
			if !kube.NodeReady(&n) {
				notReady = append(notReady, n.Name)
			}
		}
		notReadyKey.Set(state, notReady)
		if len(notReady) > 0 {
			plan = append(plan, "nodes NotReady: "+strings.Join(notReady, ", "))
		} else {
			plan = append(plan, "every node is Ready")
		}

		api, err := kube.NewCSRAPI(s.client)
		if err != nil {
			return err
		}
		snap := api.List(ctx)
		if snap.Err != "" {
			return errors.New(snap.Err)
		}
		pending := 0
		for _, c := range snap.Items {
			if c.Pending() && (c.Signer == model.SignerKubeletClient || c.Signer == model.SignerKubeletServing) {
				pending++
				plan = append(plan, csrLines(c)...)
			}
		}
		if pending == 0 {
			plan = append(plan, "no pending kubelet CSR")
		}

		hosts, notes := s.kubeletHosts(ctx)
		plan = append(plan, notes...)
		expired := 0
		for _, h := range hosts {
			found := readKubeletClientCerts(h)
			for _, kc := range found {
				switch {
				case kc.err != nil:
					plan = append(plan, fmt.Sprintf("%s %s: unreadable: %v", kc.path, h.Where(), kc.err))
				case !kc.notAfter.After(now):
					expired++
					plan = append(plan, fmt.Sprintf("%s %s (%s): EXPIRED %s", kc.path, h.Where(), kc.cn, kc.notAfter.UTC().Format(time.RFC3339)))
				default:
					plan = append(plan, fmt.Sprintf("%s %s (%s): valid until %s", kc.path, h.Where(), kc.cn, kc.notAfter.UTC().Format(time.RFC3339)))
				}
			}
			if len(found) == 0 {
				plan = append(plan, "no kubelet client certificate "+h.Where()+" ("+strings.Join(kubeletClientCertPaths, ", ")+")")
			}
		}
		if len(notReady) == 0 && pending == 0 && expired == 0 {
			return errors.New("nothing to recover: every node is Ready, no kubelet CSR is pending and no kubelet client certificate read here has expired")
		}
		return nil
	}
	st.Plan = func(context.Context) (Plan, error) { return plan, nil }
	return st
}

// kubeletHosts are the hosts whose kubelet certificates detect reads: every
// node host through the session's host access, or this host alone (under
// --host-root) without one; notes say what could not be reached.
func (s *Session) kubeletHosts(ctx context.Context) ([]hostfs.Host, []string) {
	if s.opts.HostAccess == nil {
		return []hostfs.Host{hostfs.New(s.opts.HostRoot)}, []string{
			"other hosts' kubelet client certificates are not read (no host access): on each, openssl x509 -noout -enddate -in " +
				kubeletClientCertPaths[0] + " (3.11: " + kubeletClientCertPaths[1] + ")"}
	}
	all, err := s.Hosts(ctx)
	var notes []string
	if err != nil {
		notes = append(notes, "hosts: "+err.Error())
	}
	var out []hostfs.Host
	for _, h := range all {
		if h.Node == "" {
			continue // no kubelet there
		}
		host, err := s.accessHost(ctx, h)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: not reached, its kubelet certificate not read: %v", h.Name, whyUnreached(err)))
			continue
		}
		out = append(out, host)
	}
	return out, notes
}

// nodesReadyStep waits for the nodes detect found NotReady to be Ready with
// their new certificates.
func (s *Session) nodesReadyStep(state *RunState, timeout time.Duration) *Step {
	st := &Step{ID: "nodes-ready", Title: "Verify the nodes are Ready"}
	st.Plan = func(context.Context) (Plan, error) {
		nodes, _ := notReadyKey.Get(state)
		if len(nodes) == 0 {
			return Plan{"every node was Ready when detected: check they still are"}, nil
		}
		return Plan{fmt.Sprintf("wait up to %s until %s are Ready", timeout, strings.Join(nodes, ", "))}, nil
	}
	st.Verify = func(ctx context.Context) error {
		wanted, _ := notReadyKey.Get(state)
		return waitFor(ctx, timeout, 2*time.Second, func() (bool, string) {
			nodes, err := s.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, fmt.Sprintf("list nodes: %v", err)
			}
			var still []string
			for _, n := range nodes.Items {
				if !kube.NodeReady(&n) && (len(wanted) == 0 || slices.Contains(wanted, n.Name)) {
					still = append(still, n.Name)
				}
			}
			if len(still) > 0 {
				return false, "not Ready: " + strings.Join(still, ", ")
			}
			return true, ""
		})
	}
	return st
}
