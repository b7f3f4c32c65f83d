package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/day2ops/day2/assets"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// Reaching the cluster's hosts, for the host procedures (host-backup,
// host-restore, registry-trust, registries-edit, the lifecycle waves) and
// the etcd and load-balancer steps on other masters alike: which hosts a
// run acts on, opening one (accessHost: over SSH, or this host's files),
// and working on several at once.

const (
	// hostFanOut is how many hosts a step works on at once.
	hostFanOut = 4
	// hostOpenTimeout bounds connecting to one host.
	hostOpenTimeout = 20 * time.Second
)

// hostListRights: without an inventory the hosts are the cluster's nodes,
// listed from the API.
var hostListRights = model.Rights("", "nodes", "", "", "list")

// hostParams choose the hosts of a procedure that acts on several.
var hostParams = []Param{
	{Name: "hosts", Help: "the hosts, comma-separated (node or inventory names); recorded: what --all resolved to"},
	{Name: "all", Help: "every host of the cluster", Bool: true},
}

// chooseHosts resolves a procedure's hosts: --host, --hosts or --all (one
// of them), and records the names in p["hosts"] so that a resumed run acts
// on the same hosts even if the cluster changed since.
func (s *Session) chooseHosts(p params) ([]model.Host, error) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	known, err := s.Hosts(ctx)
	if known == nil {
		return nil, err
	}
	// Hosts not tied to their etcd members (err) are still the hosts.
	var names []string
	for _, list := range []string{p["host"], p["hosts"]} {
		for _, n := range strings.Split(list, ",") {
			if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	switch {
	case p.bool("all") && len(names) > 0:
		return nil, errors.New("--all or the hosts by name, not both")
	case p.bool("all"):
		for _, h := range known {
			names = append(names, h.Name)
		}
	case len(names) == 0:
		return nil, errors.New("which hosts? --hosts a,b (or --host H) or --all")
	}
	var out []model.Host
	for _, n := range names {
		// By its name, its node's (the Nodes pane names nodes) or member's.
		i := slices.IndexFunc(known, hostNamed(n))
		if i < 0 {
			return nil, fmt.Errorf("no host %q: the cluster's hosts are %s", n, hostNames(known))
		}
		out = append(out, known[i])
	}
	p["hosts"] = hostNames(out)
	return out, nil
}

func hostNames(hs []model.Host) string {
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.Name
	}
	return strings.Join(names, ",")
}

// thisHost reports whether h is the machine day2 runs on: its hostname, or
// the member its etcd.conf names (isHere).
func (s *Session) thisHost(h model.Host) bool {
	return h.Name == s.opts.Host || isHere(s.here(), h)
}

// accessHost reaches a host's files and commands: through HostAccess (SSH)
// when the session has it, else only this host, under the host root.
func (s *Session) accessHost(ctx context.Context, h model.Host) (hostfs.Host, error) {
	if s.opts.HostAccess == nil {
		if s.thisHost(h) {
			return hostfs.New(s.opts.HostRoot), nil
		}
		return nil, fmt.Errorf("%s is another host and this session reaches only its own (no SSH host access): run day2 there, or with SSH access", h.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, hostOpenTimeout)
	defer cancel()
	hf, err := s.opts.HostAccess.Open(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("reach %s: %w", h.Name, err)
	}
	return hf, nil
}

// whyUnreached is accessHost's error without its "reach <host>: " prefix,
// for lines that name the host already.
func whyUnreached(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// here is this host's files, where backups are kept.
func (s *Session) here() hostfs.FS { return hostfs.New(s.opts.HostRoot) }

// eachHost runs fn on every host, hostFanOut at a time; one host's failure
// does not stop the others. It returns each host's error (nil: done).
// progress, when set, is called one message at a time (fn's own, and
// "<host>: FAILED: ..." for each host that fails), as hosts finish.
func eachHost(ctx context.Context, hosts []model.Host, fn func(context.Context, model.Host, func(string)) error, progress func(string)) map[string]error {
	errs := make(map[string]error, len(hosts))
	var mu sync.Mutex
	say := func(msg string) {
		if progress != nil {
			progress(msg)
		}
	}
	locked := func(msg string) { mu.Lock(); defer mu.Unlock(); say(msg) }
	var wg sync.WaitGroup
	slots := make(chan struct{}, hostFanOut)
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			select {
			case slots <- struct{}{}:
				err = fn(ctx, h, locked)
				<-slots
			case <-ctx.Done():
				err = ctx.Err()
			}
			mu.Lock()
			defer mu.Unlock()
			errs[h.Name] = err
			if err != nil {
				say(h.Name + ": FAILED: " + err.Error())
			}
		}()
	}
	wg.Wait()
	return errs
}

// failedHosts joins the errors of the hosts that failed, nil if none did.
func failedHosts(hosts []model.Host, errs map[string]error) error {
	var failed []string
	for _, h := range hosts {
		if err := errs[h.Name]; err != nil {
			failed = append(failed, h.Name+": "+err.Error())
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d hosts failed (the others are done): %s", len(failed), len(hosts), strings.Join(failed, "; "))
}

// hostStep names a step for one host of a multi-host run: its ID and title
// carry the host, its explanation is the step's own.
func hostStep(proc string, st *Step, h model.Host) *Step {
	text, err := assets.StepText(proc, st.ID)
	if err != nil {
		text = "(" + err.Error() + ")"
	}
	st.Explain = text
	st.ID += "-" + h.Name
	return st
}

// runOn runs a command on a host and turns a non-zero exit into an error;
// the result goes to progress (and so to the journal) either way.
func runOn(ctx context.Context, h hostfs.Host, line string, progress func(string)) (hostfs.Result, error) {
	r, err := h.Run(ctx, hostfs.Command{Line: line})
	if err != nil {
		return r, err
	}
	if progress != nil {
		progress(resultLine(r))
	}
	if strings.Contains(r.Stdout+r.Stderr, "Running in chroot, ignoring") {
		// systemctl does nothing in a chroot and says so with exit 0.
		return r, fmt.Errorf("%s on %s did nothing: %s", line, r.Host, strings.TrimSpace(r.Stdout+r.Stderr))
	}
	return r, r.Err()
}

// resultLine is a command's outcome in one line for the journal.
func resultLine(r hostfs.Result) string {
	out := strings.TrimSpace(r.Stdout + " " + r.Stderr)
	if len(out) > 200 {
		out = out[:200] + "…"
	}
	return fmt.Sprintf("%s: `%s` exit %d (%s) %s", r.Host, r.Line, r.Exit, r.Took.Round(time.Millisecond), out)
}

// openHost opens the first host match accepts over the session's host
// access, within the build timeout. A host that cannot be reached is nil
// with the reason logged: the steps on it are then manual, with their
// commands, as without host access.
func (s *Session) openHost(match func(model.Host) bool) hostfs.Host {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	h, err := s.reachHost(ctx, match)
	if err != nil {
		slog.Info("host steps stay manual", "err", err)
		return nil
	}
	return h
}

func (s *Session) reachHost(ctx context.Context, match func(model.Host) bool) (hostfs.Host, error) {
	hosts, err := s.findHosts(ctx, match)
	if err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		return nil, errors.New("no such host in the inventory or among the nodes")
	}
	return s.accessHost(ctx, hosts[0])
}

// loadBalancer is the host whose haproxy.cfg the load balancer steps edit:
// the inventory's [lb] host over SSH when it answers, else this host's
// files (where openshift-ansible's single-master layouts keep it, and
// where the steps say so and turn manual when it is not there).
func (s *Session) loadBalancer() hostfs.Host {
	if h := s.openHost(inGroup("lb")); h != nil {
		return h
	}
	return hostfs.New(s.opts.HostRoot)
}

// groupHosts is this host's files followed by the other hosts of an
// inventory group that day2 reaches over SSH; missed names, for a manual
// line, the ones it does not reach and why ("" when none).
func (s *Session) groupHosts(here hostfs.FS, group string) (hosts []hostfs.Host, missed string) {
	hosts = []hostfs.Host{here}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	all, err := s.findHosts(ctx, inGroup(group))
	if err != nil {
		return hosts, fmt.Sprintf("every other %s host (%v)", group, err)
	}
	var out []string
	for _, h := range all {
		if isHere(here, h) {
			continue
		}
		fh, err := s.accessHost(ctx, h)
		if err != nil {
			out = append(out, fmt.Sprintf("%s (%v)", h.Name, whyUnreached(err)))
			continue
		}
		hosts = append(hosts, fh)
	}
	return hosts, strings.Join(out, ", ")
}

// isHere tells whether h is the host day2 runs on (its files are here
// already): by this host's ETCD_NAME or its /etc/hostname.
func isHere(here hostfs.FS, h model.Host) bool {
	var names []string
	if c, err := etcdHere(here); err == nil {
		names = append(names, c.Name)
	}
	if b, err := here.ReadFile("/etc/hostname"); err == nil {
		names = append(names, strings.TrimSpace(string(b)))
	}
	for _, n := range names {
		if n != "" && hostNamed(n)(h) {
			return true
		}
	}
	return false
}
