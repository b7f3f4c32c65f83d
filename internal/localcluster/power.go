package localcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Power of the simulated hosts. A shutdown, reboot, poweroff or halt run on
// a host (over SSH, or chrooted) is recorded by its simulated systemd; the
// cluster carries it out when due, as the machine would: the host's sshd and
// every command in it end, a master's etcd member stops, and its Node turns
// NotReady as when a kubelet goes silent. PowerOn boots it again.

// ShutdownRequest is a shutdown a host's simulated systemd recorded.
type ShutdownRequest struct {
	Action string // "poweroff", "reboot" or "halt"
	Due    time.Time
}

// ShutdownRequested reports host name's pending shutdown, if any (one
// scheduled for later, or one the cluster has not carried out yet).
func (c *Cluster) ShutdownRequested(name string) (ShutdownRequest, bool) {
	h, err := c.host(name)
	if err != nil {
		return ShutdownRequest{}, false
	}
	r, err := readShutdown(h.Root)
	return r, err == nil
}

func readShutdown(root string) (ShutdownRequest, error) {
	data, err := os.ReadFile(filepath.Join(root, SimShutdown))
	if err != nil {
		return ShutdownRequest{}, err
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return ShutdownRequest{}, fmt.Errorf("%s: %q is not \"<action> <epoch>\"", SimShutdown, data)
	}
	due, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return ShutdownRequest{}, fmt.Errorf("%s: %w", SimShutdown, err)
	}
	return ShutdownRequest{Action: f[0], Due: time.Unix(due, 0)}, nil
}

// PoweredOff reports whether host name is down.
func (c *Cluster) PoweredOff(name string) bool {
	h, err := c.host(name)
	if err != nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.poweredOff
}

// PowerOff turns host name off now, whatever its simulated systemd says.
func (c *Cluster) PowerOff(ctx context.Context, name string) error {
	h, err := c.host(name)
	if err != nil {
		return err
	}
	h.mu.Lock()
	if h.poweredOff {
		h.mu.Unlock()
		return nil
	}
	h.poweredOff = true
	if h.sshd != nil {
		h.sshd.stop(5 * time.Second)
		h.sshd = nil
	}
	h.mu.Unlock()
	killChrooted(h.Root)
	// What was pending is done; a host boots with no shutdown scheduled.
	_ = os.Remove(filepath.Join(h.Root, SimShutdown))
	if i := c.masterIndex(name); i >= 0 {
		c.StopMember(i)
	}
	if err := c.nodeUnreachable(ctx, h.Node); err != nil {
		return fmt.Errorf("power off %s: %w", name, err)
	}
	return nil
}

// PowerOn boots host name: its units start as enabled (a reboot forgets
// what was started or stopped by hand), its sshd listens again, a master's
// etcd member runs, and kwok plays its Node again, Ready.
func (c *Cluster) PowerOn(ctx context.Context, name string) error {
	h, err := c.host(name)
	if err != nil {
		return err
	}
	h.mu.Lock()
	if !h.poweredOff {
		h.mu.Unlock()
		return nil
	}
	h.poweredOff = false
	h.mu.Unlock()
	if err := bootUnits(h.Root); err != nil {
		return fmt.Errorf("power on %s: %w", name, err)
	}
	if i := c.masterIndex(name); i >= 0 {
		c.StartMember(i)
	}
	if !c.opts.NoSSH {
		if err := c.StartSSHD(name); err != nil {
			return fmt.Errorf("power on %s: %w", name, err)
		}
	}
	if err := c.nodeReachable(ctx, h.Node); err != nil {
		return fmt.Errorf("power on %s: %w", name, err)
	}
	return nil
}

func (c *Cluster) masterIndex(name string) int {
	for i, m := range c.Masters {
		if m.Name == name {
			return i
		}
	}
	return -1
}

// bootUnits sets every unit active if enabled, inactive otherwise.
func bootUnits(root string) error {
	entries, err := os.ReadDir(filepath.Join(root, SimUnitsDir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		state := "inactive\n"
		if _, err := os.Stat(filepath.Join(root, simEnabledDir, e.Name())); err == nil {
			state = "active\n"
		}
		if err := os.WriteFile(filepath.Join(root, SimUnitsDir, e.Name()), []byte(state), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// unreachableTaint is what the node controller puts on a silent node.
var unreachableTaint = corev1.Taint{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoExecute}

// nodeUnreachable makes a Node look like one whose machine stopped: kwok
// stops playing it, it gets the unreachable taint and Ready turns Unknown,
// as the node controller marks a node whose kubelet went silent.
func (c *Cluster) nodeUnreachable(ctx context.Context, name string) error {
	nodes := c.Client.CoreV1().Nodes()
	n, err := nodes.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	delete(n.Annotations, kwokNodeAnnotation)
	if !hasTaint(n, unreachableTaint) {
		n.Spec.Taints = append(n.Spec.Taints, unreachableTaint)
	}
	if n, err = nodes.Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		return err
	}
	for j := range n.Status.Conditions {
		if n.Status.Conditions[j].Type == corev1.NodeReady {
			n.Status.Conditions[j].Status, n.Status.Conditions[j].Reason = corev1.ConditionUnknown, "NodeStatusUnknown"
			n.Status.Conditions[j].Message = "Kubelet stopped posting node status."
			n.Status.Conditions[j].LastTransitionTime = metav1.Now()
		}
	}
	_, err = nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{})
	return err
}

// nodeReachable hands a Node back to kwok, which reports it Ready again.
func (c *Cluster) nodeReachable(ctx context.Context, name string) error {
	nodes := c.Client.CoreV1().Nodes()
	n, err := nodes.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[kwokNodeAnnotation] = "fake"
	var taints []corev1.Taint
	for _, t := range n.Spec.Taints {
		if t.Key != unreachableTaint.Key {
			taints = append(taints, t)
		}
	}
	n.Spec.Taints = taints
	if _, err := nodes.Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		return err
	}
	return c.waitNodeReady(ctx, name)
}

func hasTaint(n *corev1.Node, t corev1.Taint) bool {
	for _, x := range n.Spec.Taints {
		if x.Key == t.Key && x.Effect == t.Effect {
			return true
		}
	}
	return false
}

// watchShutdowns carries out the hosts' shutdowns when due, until ctx ends;
// a reboot powers the host on again after a moment.
func (c *Cluster) watchShutdowns(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	logf, err := os.OpenFile(c.logFile("power"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer logf.Close()
	report := func(format string, args ...any) {
		fmt.Fprintf(logf, time.Now().UTC().Format(time.RFC3339)+" "+format+"\n", args...)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, h := range c.hosts {
			r, err := readShutdown(h.Root)
			if err != nil {
				if !errors.Is(err, os.ErrNotExist) {
					report("%s: %v", h.Name, err)
				}
				continue
			}
			if time.Now().Before(r.Due) || c.PoweredOff(h.Name) {
				continue
			}
			report("%s: %s", h.Name, r.Action)
			if err := c.PowerOff(ctx, h.Name); err != nil {
				report("%s: %v", h.Name, err)
				continue
			}
			if r.Action == "reboot" {
				go func() {
					select {
					case <-ctx.Done():
						return
					case <-time.After(2 * time.Second):
					}
					if err := c.PowerOn(ctx, h.Name); err != nil {
						report("%s: %v", h.Name, err)
					}
				}()
			}
		}
	}
}
