package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/day2ops/day2/assets"
	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/model"
)

// WatchCSRs hands publish a model.CSRs snapshot — every
// CertificateSigningRequest, oldest first, each with its verdict — whenever
// the requests, or the nodes they are checked against, change, until ctx
// ends. It reads nodes from the session's node watch, so Run must be
// running; until that watch has listed the nodes, snapshots are not Synced
// and verdicts are unchecked.
func (s *Session) WatchCSRs(ctx context.Context, publish func(model.CSRs)) error {
	return kube.NewCSRWatcher(s.client, s.nodes).Run(ctx, publish)
}

// csrRights are what deciding requests takes: reading them, updating their
// approval subresource and, since certificates.k8s.io/v1, approve on their
// signer (a denial too).
var csrRights = model.UniqueRights(
	model.Rights("certificates.k8s.io", "certificatesigningrequests", "", "", "get", "list"),
	model.Rights("certificates.k8s.io", "certificatesigningrequests", "approval", "", "update"),
	model.Rights("certificates.k8s.io", "signers", "", "", "approve"),
)

// csrIssueTimeout is how long a verify waits for the controller-manager to
// sign an approved kubelet request: it signs within a moment.
const csrIssueTimeout = 30 * time.Second

// csrFollowUpRounds is how many times the follow-up watch may stop for a
// decision: a node's serving request follows its client one, and several
// nodes' requests may arrive a little apart.
const csrFollowUpRounds = 3

// csrWatchParam bounds the follow-up watch of every procedure that approves.
var csrWatchParam = Param{Name: "watch", Help: "after approving, watch this long for the CSRs that follow (a node's serving CSR comes after its client CSR); each is shown and approved only on your word (0: do not watch)", Default: "2m"}

func buildCSRApprove(s *Session, p params) (*Procedure, error) {
	names, all := csrNames(p["csr"]), p.bool("all-valid")
	switch {
	case all && len(names) > 0:
		return nil, errors.New("give --csr NAME[,NAME…] or --all-valid, not both")
	case !all && len(names) == 0:
		return nil, errors.New("needs --csr NAME[,NAME…] or --all-valid")
	}
	watch, err := watchParam(p)
	if err != nil {
		return nil, err
	}
	state := NewRunState()
	a := CSRApproval{What: "every valid pending CSR", Watch: watch}
	if all {
		steps, err := s.ApproveValidCSRSteps(state, a)
		return &Procedure{Steps: steps, State: state}, err
	}
	var steps []*Step
	for _, n := range names {
		st, err := s.approveCSRStep(state, a, n)
		if err != nil {
			return nil, err
		}
		steps = append(steps, st)
	}
	follow, err := s.csrFollowUpSteps(state, a)
	return &Procedure{Steps: append(steps, follow...), State: state}, err
}

func buildCSRDeny(s *Session, p params) (*Procedure, error) {
	names := csrNames(p["csr"])
	if len(names) == 0 {
		return nil, errors.New("needs --csr NAME[,NAME…]")
	}
	proc := &Procedure{}
	for _, n := range names {
		proc.Steps = append(proc.Steps, s.denyCSRStep(n))
	}
	return proc, nil
}

func csrNames(list string) []string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// watchParam is --watch: a duration, 0 for none.
func watchParam(p params) (time.Duration, error) {
	if v := strings.TrimSpace(p["watch"]); v == "0" || v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(p["watch"])
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--watch %q: want a duration such as 2m, or 0", p["watch"])
	}
	return d, nil
}

// CSRApproval says which requests a set of approval steps decides on
// (ApproveValidCSRSteps): other procedures reuse them where their guide
// says "approve each valid CSR" (cluster-restart, recover-expired-certs).
type CSRApproval struct {
	// Prefix keeps step IDs and run-state keys apart when a procedure
	// approves more than one set ("masters-", "workers-"); "" for one set.
	Prefix string
	// What names the set in titles: "the masters' pending CSRs".
	What string
	// Select picks the pending requests of the set (nil: every one); it
	// sees each request with its verdict, made just now.
	Select func(model.CSR) bool
	// Watch is how long the follow-up steps wait for new requests of the
	// set after the approvals; 0 adds no follow-up steps.
	Watch time.Duration
}

func (a CSRApproval) selects(c model.CSR) bool {
	return c.Pending() && (a.Select == nil || a.Select(c))
}

// The run state of an approval set, under its Prefix.
func (a CSRApproval) approvedKey() stateKey[[]string] {
	return stateKey[[]string](a.Prefix + "csr-approve")
}
func (a CSRApproval) seenKey() stateKey[[]string] { return stateKey[[]string](a.Prefix + "csr-seen") }
func (a CSRApproval) untilKey() stateKey[time.Time] {
	return stateKey[time.Time](a.Prefix + "csr-watch-until")
}
func (a CSRApproval) roundKey(i int) stateKey[[]string] {
	return stateKey[[]string](fmt.Sprintf("%scsr-follow-up-%d", a.Prefix, i))
}
func (a CSRApproval) roundApproveKey(i int) stateKey[[]string] {
	return stateKey[[]string](fmt.Sprintf("%scsr-follow-up-%d-approve", a.Prefix, i))
}

// ApproveValidCSRSteps are the steps "approve each valid CSR" (seed 001
// §3.2, §5.3.3, seed 004 step 2) is made of: one step that lists every
// pending request of the set with its verdict and, on one yes, approves the
// valid ones (each validated again right before its approval, its
// certificate verified issued); then, when a.Watch > 0, follow-up steps that
// each wait (up to a.Watch in all) for requests of the set that arrive
// afterwards — a node's serving request comes once its client one is
// approved — and show them for a decision. Requests that are not valid are
// listed with their reasons and never approved here (csr-approve --csr
// takes the typed word a "new node?" or unchecked request needs). Their
// run state lives in state under a.Prefix.
func (s *Session) ApproveValidCSRSteps(state *RunState, a CSRApproval) ([]*Step, error) {
	explain, err := assets.StepText("", "approve-valid-csrs")
	if err != nil {
		return nil, err
	}
	var shown model.CSRs
	st := &Step{ID: a.Prefix + "approve-valid-csrs", Title: "Approve " + a.What, Explain: explain}
	st.Check = func(ctx context.Context) error {
		api, err := kube.NewCSRAPI(s.client)
		if err != nil {
			return err
		}
		shown = api.List(ctx)
		if shown.Err != "" {
			return errors.New(shown.Err)
		}
		var valid, seen []string
		for _, c := range shown.Items {
			seen = append(seen, c.Name)
			if a.selects(c) && c.Verdict.Kind == model.CSRValid {
				valid = append(valid, c.Name)
			}
		}
		a.seenKey().Set(state, seen)
		a.approvedKey().Set(state, valid)
		return nil
	}
	st.Applies = func(ctx context.Context) (bool, string) {
		api, err := kube.NewCSRAPI(s.client)
		if err != nil {
			return true, "" // the check says why
		}
		snap := api.List(ctx)
		if snap.Err != "" || slices.ContainsFunc(snap.Items, a.selects) {
			return true, ""
		}
		if a.Watch > 0 {
			// Nothing to approve now, but what follows is still watched
			// for: the watch starts from what exists now.
			var seen []string
			for _, c := range snap.Items {
				seen = append(seen, c.Name)
			}
			a.seenKey().Set(state, seen)
		}
		return false, "no pending CSR of " + a.What
	}
	st.Plan = func(ctx context.Context) (Plan, error) {
		approve, _ := a.approvedKey().Get(state)
		return s.csrSetPlan(ctx, shown.Items, a, approve, "no valid pending CSR now: nothing to approve; the follow-up watch still runs"), nil
	}
	st.Run = func(ctx context.Context, progress func(string)) error {
		names, _ := a.approvedKey().Get(state)
		return s.approveValid(ctx, names, progress)
	}
	st.Verify = func(ctx context.Context) error {
		names, _ := a.approvedKey().Get(state)
		return s.verifyApproved(ctx, names)
	}
	follow, err := s.csrFollowUpSteps(state, a)
	return append([]*Step{st}, follow...), err
}

// csrSetPlan lists the requests of a set: those approved with the call
// that approves each, the others with why they are not.
func (s *Session) csrSetPlan(ctx context.Context, items []model.CSR, a CSRApproval, approve []string, none string) Plan {
	var plan Plan
	for _, c := range items {
		if !a.selects(c) {
			continue
		}
		plan = append(plan, csrLines(c)...)
		if slices.Contains(approve, c.Name) {
			plan = append(plan, "  → "+s.approvalCall(c, true))
			continue
		}
		// Only pending requests are selected, so the verdict is the guard.
		if c.Verdict.Kind == model.CSRInvalid {
			plan = append(plan, "  → not approved: INVALID requests never are (deny it: day2 run csr-deny --csr "+c.Name+")")
		} else {
			plan = append(plan, fmt.Sprintf("  → not approved here: %s needs a typed word (day2 run csr-approve --csr %s)", c.Verdict.Kind, c.Name))
		}
	}
	if len(approve) == 0 {
		plan = append(plan, none)
	}
	return plan
}

// approveValid approves requests that were valid when planned, each only if
// it still is.
func (s *Session) approveValid(ctx context.Context, names []string, progress func(string)) error {
	if len(names) == 0 {
		return nil
	}
	api, err := kube.NewCSRAPI(s.client)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		_, err := api.Decide(ctx, n, true, s.opts.User, func(c model.CSR) error {
			if c.Verdict.Kind != model.CSRValid {
				return fmt.Errorf("csr %s is no longer valid (%s: %s): not approved; retry to see it as it is", n, c.Verdict.Kind, strings.Join(c.Verdict.Reasons, "; "))
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		progress("approved " + n)
	}
	return errors.Join(errs...)
}

// verifyApproved checks the requests are approved and, for the kubelet
// signers the controller-manager signs, issued.
func (s *Session) verifyApproved(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	api, err := kube.NewCSRAPI(s.client)
	if err != nil {
		return err
	}
	for _, n := range names {
		c, err := api.Get(ctx, n)
		if err != nil {
			return err
		}
		if !c.Approved {
			return fmt.Errorf("csr %s is %s, not approved", n, c.Condition())
		}
		if c.Signer != model.SignerKubeletClient && c.Signer != model.SignerKubeletServing {
			continue // a signer day2 does not know may sign later, or elsewhere
		}
		var last error
		if err := waitFor(ctx, csrIssueTimeout, 500*time.Millisecond, func() (bool, string) {
			last = api.Issued(ctx, n)
			return last == nil, fmt.Sprint(last)
		}); err != nil {
			return fmt.Errorf("approved but not issued: %w", err)
		}
	}
	return nil
}

// csrFollowUpSteps wait for the requests of the set that arrive after the
// approvals (not among those seen when they were planned) and show them for
// a decision: the valid ones are approved on the operator's yes, the others
// listed with their reasons. Each round waits until one arrives or the
// watch (a.Watch from the first round) ends; a round with nothing to show
// is skipped as not needed.
func (s *Session) csrFollowUpSteps(state *RunState, a CSRApproval) ([]*Step, error) {
	if a.Watch <= 0 {
		return nil, nil
	}
	explain, err := assets.StepText("", "csr-follow-ups")
	if err != nil {
		return nil, err
	}
	var steps []*Step
	for i := 1; i <= csrFollowUpRounds; i++ {
		steps = append(steps, s.csrFollowUpStep(state, a, i, explain))
	}
	return steps, nil
}

func (s *Session) csrFollowUpStep(state *RunState, a CSRApproval, round int, explain string) *Step {
	var shown []model.CSR
	// known are the requests seen before this round.
	known := func() []string {
		k, _ := a.seenKey().Get(state)
		for i := 1; i < round; i++ {
			r, _ := a.roundKey(i).Get(state)
			k = append(k, r...)
		}
		return k
	}
	fresh := func(ctx context.Context, api *kube.CSRAPI) ([]model.CSR, error) {
		snap := api.List(ctx)
		if snap.Err != "" {
			return nil, errors.New(snap.Err)
		}
		k := known()
		var out []model.CSR
		for _, c := range snap.Items {
			if a.selects(c) && !slices.Contains(k, c.Name) {
				out = append(out, c)
			}
		}
		return out, nil
	}
	st := &Step{ID: fmt.Sprintf("%scsr-follow-ups-%d", a.Prefix, round), Explain: explain, Skippable: true,
		Title: fmt.Sprintf("Watch for the CSRs that follow (%s, round %d, up to %s in all)", a.What, round, a.Watch)}
	st.Applies = func(ctx context.Context) (bool, string) {
		if r, ok := a.roundKey(round).Get(state); ok && len(r) > 0 {
			return true, "" // found in an earlier session
		}
		until := a.untilKey().Decide(state, func() time.Time { return time.Now().Add(a.Watch) })
		api, err := kube.NewCSRAPI(s.client)
		if err != nil {
			return true, "" // the check says why
		}
		for {
			found, err := fresh(ctx, api)
			if err != nil || len(found) > 0 {
				return true, ""
			}
			left := time.Until(until)
			if left <= 0 {
				return false, fmt.Sprintf("no new CSR arrived within the watch (%s)", a.Watch)
			}
			select {
			case <-ctx.Done():
				return true, ""
			case <-time.After(min(time.Second, left)):
			}
		}
	}
	st.Check = func(ctx context.Context) error {
		api, err := kube.NewCSRAPI(s.client)
		if err != nil {
			return err
		}
		if shown, err = fresh(ctx, api); err != nil {
			return err
		}
		names := make([]string, len(shown))
		var valid []string
		for i, c := range shown {
			names[i] = c.Name
			if c.Verdict.Kind == model.CSRValid {
				valid = append(valid, c.Name)
			}
		}
		a.roundKey(round).Set(state, names)
		a.roundApproveKey(round).Set(state, valid)
		return nil
	}
	approved := func() []string {
		v, _ := a.roundApproveKey(round).Get(state)
		return v
	}
	st.Plan = func(ctx context.Context) (Plan, error) {
		return s.csrSetPlan(ctx, shown, a, approved(), "nothing here to approve (skip, or proceed to go on watching)"), nil
	}
	st.Run = func(ctx context.Context, progress func(string)) error {
		return s.approveValid(ctx, approved(), progress)
	}
	st.Verify = func(ctx context.Context) error { return s.verifyApproved(ctx, approved()) }
	return st
}

// approveCSRStep approves one named request, guarded by its verdict
// (model.ApprovalGuard): valid on a plain yes, "new node?" on the node's
// name typed, unchecked (a signer day2 has no rules for) on the request's
// own name typed as an override, INVALID never. The guard is taken again
// right before the call: the request may have changed since the plan.
func (s *Session) approveCSRStep(state *RunState, a CSRApproval, name string) (*Step, error) {
	explain, err := assets.StepText("csr-approve", "approve")
	if err != nil {
		return nil, err
	}
	var c model.CSR
	// Skippable: one INVALID request among several need not stop the rest.
	st := &Step{ID: "approve-" + name, Title: "Approve CSR " + name, Explain: explain, Skippable: true}
	st.Check = func(ctx context.Context) error {
		api, err := kube.NewCSRAPI(s.client)
		if err != nil {
			return err
		}
		// What existed before the first approval: the follow-up watch
		// looks for what comes after it.
		a.seenKey().Decide(state, func() []string {
			var seen []string
			for _, c := range api.List(ctx).Items {
				seen = append(seen, c.Name)
			}
			return seen
		})
		if c, err = api.Get(ctx, name); err != nil {
			return err
		}
		word, err := model.ApprovalGuard(c)
		if c.Approved {
			word = "" // nothing left to confirm: Run leaves it alone
		}
		st.Destructive, st.Confirm = word != "", word
		return err
	}
	st.Plan = func(ctx context.Context) (Plan, error) {
		if c.Name == "" {
			return Plan{"approve csr " + name + " (not read yet)"}, nil
		}
		plan := Plan(csrLines(c))
		if _, err := model.ApprovalGuard(c); err != nil {
			return append(plan, "  → never approved; deny it: day2 run csr-deny --csr "+name), nil
		}
		switch c.Verdict.Kind {
		case model.CSRNewNode:
			plan = append(plan, fmt.Sprintf("  → a node that is not in the cluster yet: type %s only if you are adding that node now", c.NodeName()))
		case model.CSRUnchecked:
			plan = append(plan, fmt.Sprintf("  → signer %s is not checked by day2: type the CSR's name %s to approve it unchecked (override)", c.Signer, name))
		}
		if c.Approved {
			return append(plan, "  → approved already"), nil
		}
		return append(plan, "  → "+s.approvalCall(c, true)), nil
	}
	st.Run = func(ctx context.Context, progress func(string)) error {
		api, err := kube.NewCSRAPI(s.client)
		if err != nil {
			return err
		}
		planned := st.Confirm
		_, err = api.Decide(ctx, name, true, s.opts.User, func(now model.CSR) error {
			word, err := model.ApprovalGuard(now)
			if err != nil {
				return err
			}
			if word != planned {
				return fmt.Errorf("csr %s changed since its plan (now %s): not approved; retry to see it as it is", name, now.Verdict.Kind)
			}
			return nil
		})
		if err == nil {
			progress("approved " + name)
		}
		return err
	}
	st.Verify = func(ctx context.Context) error { return s.verifyApproved(ctx, []string{name}) }
	return st, nil
}

// denyCSRStep denies one request: the way to answer an INVALID one, which
// otherwise stays pending until the controller-manager's cleaner removes it.
func (s *Session) denyCSRStep(name string) *Step {
	var c model.CSR
	st := &Step{ID: "deny-" + name, Title: "Deny CSR " + name}
	st.Explain, _ = assets.StepText("csr-deny", "deny")
	st.Check = func(ctx context.Context) error {
		api, err := kube.NewCSRAPI(s.client)
		if err != nil {
			return err
		}
		if c, err = api.Get(ctx, name); err != nil {
			return err
		}
		if c.Approved {
			return fmt.Errorf("csr %s is %s already: a denial cannot take back a certificate issued", name, c.Condition())
		}
		return nil
	}
	st.Plan = func(ctx context.Context) (Plan, error) {
		if c.Name == "" {
			return Plan{"deny csr " + name + " (not read yet)"}, nil
		}
		if c.Denied {
			return append(Plan(csrLines(c)), "  → denied already"), nil
		}
		return append(Plan(csrLines(c)), "  → "+s.approvalCall(c, false)), nil
	}
	st.Run = func(ctx context.Context, progress func(string)) error {
		api, err := kube.NewCSRAPI(s.client)
		if err != nil {
			return err
		}
		if _, err := api.Decide(ctx, name, false, s.opts.User, nil); err != nil {
			return err
		}
		progress("denied " + name)
		return nil
	}
	st.Verify = func(ctx context.Context) error {
		api, err := kube.NewCSRAPI(s.client)
		if err != nil {
			return err
		}
		c, err := api.Get(ctx, name)
		if err != nil {
			return err
		}
		if !c.Denied {
			return fmt.Errorf("csr %s is %s, not denied", name, c.Condition())
		}
		return nil
	}
	return st
}

// csrLines is one request as an approver checks it (`oc describe csr`):
// who asked, for which identity and addresses, day2's verdict and why.
func csrLines(c model.CSR) []string {
	r := c.Request
	line := fmt.Sprintf("csr %s: %s, requested by %s, CN %s", c.Name, c.Signer, c.Requester, orNone(r.CommonName))
	if sans := slices.Concat(r.DNSNames, r.IPAddresses); len(sans) > 0 {
		line += ", SANs " + strings.Join(sans, ",")
	}
	line += ", " + c.Condition() + ", verdict " + c.Verdict.Kind.String()
	out := []string{line}
	for _, why := range c.Verdict.Reasons {
		out = append(out, "    - "+why)
	}
	return out
}

// approvalCall is the API call a decision makes, as the plan shows it.
func (s *Session) approvalCall(c model.CSR, approve bool) string {
	version := "certificates.k8s.io"
	if api, err := kube.NewCSRAPI(s.client); err == nil {
		version = api.Version()
	}
	typ, reason := "Approved", model.CSRApprovedReason
	if !approve {
		typ, reason = "Denied", model.CSRDeniedReason
	}
	return fmt.Sprintf("PUT %s certificatesigningrequests/%s/approval: condition %s, reason %s, message %q",
		version, c.Name, typ, reason, model.DecisionMessage(approve, s.opts.User, c.Verdict))
}
