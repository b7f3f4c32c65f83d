package ops

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

const (
	staticPods    = "/etc/origin/node/pods"
	etcdConfPath  = "/etc/etcd/etcd.conf"
	caSerial      = "/etc/origin/master/ca.serial.txt"
	etcdCADir     = "/etc/etcd/ca"
	disabledPods  = staticPods + "/disabled"
	masterBackups = "/backup"
)

// buildDeprecateMaster is seed 003 §5.2.1: back the master up, guard the CA
// files, take it out of the load balancer, disable its API and controllers,
// drain it, remove its etcd member only while quorum stays safe, update
// ETCD_INITIAL_CLUSTER, check the kubernetes Service, delete the Node.
// Files of the master itself are edited under master-root when given (day2
// runs on another master, or the master's root is mounted); otherwise those
// steps are manual, with the exact commands.
func buildDeprecateMaster(s *Session, p params) (*Procedure, error) {
	node := p["node"]
	here := hostfs.New(s.opts.HostRoot)
	var master hostfs.Host
	switch r := p["master-root"]; {
	case r != "":
		master = hostfs.New(r)
	case thisHostIs(here, node):
		// day2 runs on the master being deprecated: its files are here.
		master = here
	default:
		master = s.openHost(hostNamed(node))
	}
	lb := s.loadBalancer()
	drain, err := buildDrain(s, p)
	if err != nil {
		return nil, err
	}
	always := func(context.Context) (bool, string) { return true, "" }
	state := NewRunState()
	member := &memberRef{host: masterIdentity(s, node, master), state: state}
	backup, err := backupFirstStep(s, p, state, false)
	if err != nil {
		return nil, err
	}
	steps := []*Step{
		masterPreflightStep(s, node, member),
		backup,
		masterBackupStep(master, here, node, state),
		caHostStep(master),
		haproxyStep(s, lb, node, "haproxy", model.HAProxyAPIPorts, always),
		haproxyRestartStep(lb, always),
		moveManifestsStep(master, "disable-master-pods", "Disable the API and controllers static pods", "apiserver.yaml", "controller.yaml"),
	}
	steps = append(steps, drain.Steps[1:]...) // cordon, evict; the master pre-flight covered the look
	disable := moveManifestsStep(master, "disable-etcd", "Stop the removed member's etcd static pod", "etcd.yaml")
	disable.Check = func(ctx context.Context) error {
		// Stopping a member still listed takes a voter away without
		// changing the quorum: only a removed member is stopped.
		snap, err := s.pollEtcd(ctx)
		if err != nil {
			return fmt.Errorf("cannot tell whether the member is still listed: %w", err)
		}
		if m, ok := member.find(snap); ok {
			return fmt.Errorf("etcd member %s (%s) is still listed: remove it first (etcd-remove); stopping it would take a voter away", m.IDHex(), m.DisplayName())
		}
		return nil
	}
	steps = append(steps,
		etcdRemoveStep(s, member, p.bool("allow-two-members")),
		disable,
		etcdConfStep(s, here),
		etcdClientsStep(s, here, removedClientURLs(member, master)),
		endpointsStep(s, node),
		deleteNodeStep(s, node),
	)
	return &Procedure{State: state, Steps: steps}, nil
}

func (s *Session) etcdReady() error {
	if s.poller == nil {
		return fmt.Errorf("etcd is not reachable from this session: %w", s.etcdErr)
	}
	return nil
}

// masterIdentity is what finds the master's etcd member whatever its name:
// the ETCD_NAME and peer URLs of its etcd.conf when its files are here, and
// the node's addresses.
func masterIdentity(s *Session, node string, master hostfs.Host) model.HostIdentity {
	h := model.HostIdentity{Node: node}
	if master != nil {
		if c, err := etcdHere(master); err == nil {
			h.EtcdName, h.PeerURLs = c.Name, c.PeerURLs
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if n, err := s.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); err == nil {
		for _, a := range n.Status.Addresses {
			h.Addresses = append(h.Addresses, a.Address)
		}
	}
	return h
}

func masterPreflightStep(s *Session, node string, member *memberRef) *Step {
	var plan Plan
	return &Step{
		ID: "master-preflight", Title: "Look at the master " + node,
		Check: func(ctx context.Context) error {
			plan = nil
			n, err := s.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			if err != nil {
				return err
			}
			roles := model.RolesFromLabels(n.Labels)
			plan = append(plan, fmt.Sprintf("read only: node %s, roles %s", node, strings.Join(roles, ",")))
			if !strings.Contains(","+strings.Join(roles, ",")+",", ",master,") {
				return fmt.Errorf("%s is not a master (roles %v)", node, roles)
			}
			if err := s.etcdReady(); err != nil {
				return err
			}
			snap := s.poller.Poll(ctx)
			if m, how, ok := snap.HostMember(member.host); ok {
				plan = append(plan, fmt.Sprintf("etcd member %s (%s, peer %s, found by %s) — cluster %d/%d healthy", m.IDHex(), m.Name, first(m.PeerURLs), how, snap.HealthyVoters(), snap.Voters()))
			} else {
				plan = append(plan, member.notFound()+": etcd runs elsewhere, nothing to remove")
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// masterBackupKey is the file the master backup writes, decided once per
// run: a resumed run verifies that file and never writes a second one.
var masterBackupKey = stateKey[string]("master-backup")

// masterBackupStep writes the backup on this host (here), never only on
// the master it describes, which is about to be taken out.
func masterBackupStep(master hostfs.Host, here hostfs.FS, node string, state *RunState) *Step {
	dest := func() string {
		return masterBackupKey.Decide(state, func() string {
			return fmt.Sprintf("%s/%s-%s.tar.gz", masterBackups, node, time.Now().UTC().Format("20060102T150405Z"))
		})
	}
	return &Step{
		ID: "backup", Title: "Back up the master's configuration (seed 003 §4.1)", Manual: master == nil,
		Plan: func(context.Context) (Plan, error) {
			if master == nil {
				return Plan{
					"manual, on " + node + ":",
					"  MYBACKUPDIR=/backup/$(hostname)/$(date +%Y%m%d); sudo mkdir -p ${MYBACKUPDIR}/etc/sysconfig",
					"  sudo cp -aR /etc/origin ${MYBACKUPDIR}/etc; sudo cp -aR /etc/sysconfig/ ${MYBACKUPDIR}/etc/sysconfig/",
					"  sudo cp -aR /etc/dnsmasq* /etc/cni ${MYBACKUPDIR}/etc/; rpm -qa | sort | sudo tee $MYBACKUPDIR/packages.txt",
					"  sudo tar -zcvf /backup/$(hostname)-$(date +%Y%m%d).tar.gz $MYBACKUPDIR && sha256sum it",
				}, nil
			}
			return Plan{fmt.Sprintf("write %s %s (mode 0600, with a .sha256) from %s's files %s: %s, and its rpm -qa package list where rpm exists",
				dest(), here.Where(), node, master.Where(), strings.Join(model.MasterBackupPaths, " "))}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			if master == nil {
				return nil
			}
			extra := map[string][]byte{}
			if out, why := packageList(ctx, master); why != "" {
				progress("no package list: " + why)
			} else {
				extra["packages.txt"] = out
			}
			local, err := here.Path(dest())
			if err != nil {
				return err
			}
			a, err := hostfs.Backup(master, model.MasterBackupPaths, extra, local)
			if err != nil {
				return err
			}
			progress(fmt.Sprintf("%s: %d files, sha256 %s", dest(), a.Files, a.SHA256))
			if len(a.Missing) > 0 {
				progress("not on " + node + " (skipped): " + strings.Join(a.Missing, " "))
			}
			return nil
		},
		Verify: func(context.Context) error {
			if master == nil {
				return nil
			}
			return here.VerifyBackup(dest())
		},
	}
}

// caHostStep guards the files only the first master or the CA host has
// (seed 003 §5.2.1.3 warning and important note).
func caHostStep(master hostfs.Host) *Step {
	return &Step{
		ID: "ca-host", Title: "Keep the CA files the other masters need", Manual: true,
		Applies: func(context.Context) (bool, string) {
			if master == nil {
				return true, "" // cannot look: ask
			}
			if hostfs.Exists(master, caSerial) || hostfs.Exists(master, etcdCADir) {
				return true, ""
			}
			return false, "this master holds neither ca.serial.txt nor the etcd CA"
		},
		Plan: func(context.Context) (Plan, error) {
			return Plan{
				"manual: if this master is the first one of the inventory, copy " + caSerial + " to every other master",
				"manual: if it is the CA host, restore /etc/origin/master, /etc/etcd/ca and /etc/etcd/generated_certs on another master",
				"(they are in the backup of the previous step)",
			}, nil
		},
	}
}

// haproxyRestartStep restarts haproxy on the load balancer host when day2
// reaches it over SSH (and checks it is active again); on this host's files
// alone it is the operator's, as before.
func haproxyRestartStep(lb hostfs.Host, applies func(context.Context) (bool, string)) *Step {
	const restart = "systemctl restart haproxy"
	if _, local := lb.(hostfs.FS); local {
		return &Step{ID: "haproxy-restart", Title: "Restart haproxy on the load balancer", Manual: true, Applies: applies,
			Plan: func(context.Context) (Plan, error) {
				return Plan{"on the load balancer host: sudo " + restart}, nil
			}}
	}
	return &Step{ID: "haproxy-restart", Title: "Restart haproxy on " + lb.Name(), Applies: applies,
		Plan: func(context.Context) (Plan, error) {
			return Plan{fmt.Sprintf("%s %s, then systemctl is-active haproxy", restart, lb.Where())}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			r, err := lb.Run(ctx, hostfs.Command{Line: restart, Timeout: 2 * time.Minute})
			if err == nil {
				err = r.Err()
			}
			if err != nil {
				return err
			}
			progress(fmt.Sprintf("%s %s: exit 0 in %s", restart, lb.Where(), r.Took.Round(time.Millisecond)))
			return nil
		},
		Verify: func(ctx context.Context) error {
			r, err := lb.Run(ctx, hostfs.Command{Line: "systemctl is-active haproxy", Timeout: 30 * time.Second})
			if err != nil {
				return err
			}
			if state := strings.TrimSpace(r.Stdout); state != "active" {
				return fmt.Errorf("haproxy is %q %s: %s", state, lb.Where(), strings.TrimSpace(r.Stderr))
			}
			return nil
		},
	}
}

// moveManifestsStep moves static pod manifests into pods/disabled, which
// stops their pods (seed 003 §5.2.1.3), or says how when the master's files
// are not here.
func moveManifestsStep(master hostfs.Host, id, title string, names ...string) *Step {
	moves := func() (todo []string, done bool) {
		for _, n := range names {
			if hostfs.Exists(master, path.Join(staticPods, n)) {
				todo = append(todo, n)
			}
		}
		return todo, len(todo) == 0
	}
	return &Step{
		ID: id, Title: title, Manual: master == nil,
		Applies: func(context.Context) (bool, string) {
			if master == nil {
				return true, ""
			}
			if _, done := moves(); done {
				return false, "already moved to " + disabledPods
			}
			return true, ""
		},
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{}
			if master == nil {
				plan = append(plan, "manual, on the master: mkdir -p "+disabledPods)
			}
			for _, n := range names {
				plan = append(plan, fmt.Sprintf("mv %s/%s %s/", staticPods, n, disabledPods))
			}
			return plan, nil
		},
		Run: func(context.Context, func(string)) error {
			if master == nil {
				return nil
			}
			todo, _ := moves()
			for _, n := range todo {
				if err := hostfs.Move(master, path.Join(staticPods, n), path.Join(disabledPods, n)); err != nil {
					return err
				}
			}
			return nil
		},
		Verify: func(context.Context) error {
			if master == nil {
				return nil
			}
			if todo, _ := moves(); len(todo) > 0 {
				return fmt.Errorf("still in %s: %v", staticPods, todo)
			}
			return nil
		},
	}
}

// endpointsStep checks that the kubernetes Service no longer sends API
// traffic to the master (seed 003 §5.2.1.3, `oc describe svc kubernetes`).
func endpointsStep(s *Session, node string) *Step {
	return &Step{
		ID: "verify-endpoints", Title: "Check the kubernetes Service no longer lists " + node,
		Check: func(ctx context.Context) error {
			n, err := s.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			if err != nil {
				return err
			}
			ep, err := s.client.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("endpoints default/kubernetes: %w", err)
			}
			for _, a := range n.Status.Addresses {
				for _, sub := range ep.Subsets {
					for _, ea := range sub.Addresses {
						if ea.IP == a.Address {
							return fmt.Errorf("the kubernetes Service still lists %s (%s): is its API server stopped?", node, a.Address)
						}
					}
				}
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) {
			return Plan{"read only: GET /api/v1/namespaces/default/endpoints/kubernetes"}, nil
		},
	}
}

// thisHostIs reports whether the host's etcd.conf names it as node's member.
func thisHostIs(here hostfs.FS, node string) bool {
	data, err := here.ReadFile(etcdConfPath)
	if err != nil {
		return false
	}
	env, err := model.ParseEnvFile(data)
	return err == nil && env["ETCD_NAME"] == node
}

// packageList is the host's `rpm -qa | sort` (seed 003 §4.1), or why there
// is none (no rpm there, commands cannot run there).
func packageList(ctx context.Context, h hostfs.Host) ([]byte, string) {
	// The marker tells "no rpm" from a shell that could not start (127 too).
	const noRPM = "day2: no rpm"
	r, err := h.Run(ctx, hostfs.Command{Line: "command -v rpm >/dev/null || { echo '" + noRPM + "' >&2; exit 127; }; rpm -qa | sort"})
	switch {
	case err != nil:
		return nil, err.Error()
	case r.Exit == 127 && strings.Contains(r.Stderr, noRPM):
		return nil, "rpm is not installed " + h.Where()
	case r.Exit != 0:
		return nil, r.Err().Error()
	}
	return []byte(r.Stdout), ""
}
