package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/day2ops/day2/internal/journal"
	"github.com/day2ops/day2/internal/logging"
	"github.com/day2ops/day2/model"
	"github.com/day2ops/day2/ops"
)

// Exit codes of `day2 run` beyond 0 (done) and 1 (error).
const (
	exitAborted     = 2
	exitInterrupted = 3
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func newRunCmd(g *globalFlags) *cobra.Command {
	var (
		dryRun, yes, resume bool
		confirm, output     string
		values              = map[string]*string{}
		bools               = map[string]*bool{}
	)
	cmd := &cobra.Command{
		Use:   "run PROCEDURE",
		Short: "Run a guided procedure without the full-screen console",
		Long: "Runs a procedure step by step on a plain terminal: each step shows its explanation and\n" +
			"plan and waits for a decision on stdin; destructive steps need the exact word\n" +
			"(the node name). Every step is journaled before and after it runs.\n\nProcedures:\n" + procedureList(),
		Args:      cobra.ExactArgs(1),
		ValidArgs: ops.ProcedureNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			params := map[string]string{}
			for n, v := range values {
				if cmd.Flags().Changed(n) {
					params[n] = *v
				}
			}
			for n, v := range bools {
				if cmd.Flags().Changed(n) {
					params[n] = strconv.FormatBool(*v)
				}
			}
			if err := takesOnly(name, params); err != nil {
				return err
			}
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %s: want text or json", output)
			}
			logs, err := logging.Setup(g.logFile, 0)
			if err != nil {
				return err
			}
			defer logs.Close()
			o := g.session
			closeHosts, err := g.hostAccess(&o)
			if err != nil {
				return err
			}
			defer closeHosts()
			sess, err := ops.NewSession(o)
			if err != nil {
				return err
			}
			j, err := journal.Open(g.session.JournalDir)
			if err != nil {
				return err
			}
			op := &ops.TextOperator{In: os.Stdin, Out: os.Stdout, JSON: output == "json", Yes: yes, Confirm: confirm}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGHUP, syscall.SIGTERM)
			defer stop()
			opts := ops.RunOptions{DryRun: dryRun, Journal: j, User: g.session.User, Host: g.session.Host}
			if !dryRun {
				if opts.Resume, err = offerResume(ctx, j, name, params, op, resume); err != nil {
					return err
				}
				if opts.Resume != nil {
					// A resumed run goes on with the parameters it was
					// journaled with (what it learned before it stopped, such
					// as the members to grow back), not today's flags.
					params = opts.Resume.Params
				}
			}
			proc, err := sess.Procedure(name, params)
			if err != nil {
				return err
			}
			return runExit(ops.Run(ctx, proc, op, opts))
		},
	}
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "show every step's plan and change nothing")
	f.BoolVar(&yes, "yes", false, "accept every step that is neither destructive nor manual (a manual step is always asked on stdin)")
	f.StringVar(&confirm, "confirm", "", "the word destructive steps ask for (the node name)")
	f.BoolVar(&resume, "resume", false, "resume the newest unfinished run of this procedure on the same target without asking")
	f.StringVarP(&output, "output", "o", "text", "progress format: text or json")
	// Every procedure parameter is a flag. A flag several procedures take
	// says which: each one's meaning is under Procedures (the help of one
	// would mislead about the others).
	first, takers := map[string]ops.Param{}, map[string][]string{}
	for _, name := range ops.ProcedureNames() {
		for _, p := range ops.ProcedureParams(name) {
			if _, ok := first[p.Name]; !ok {
				first[p.Name] = p
			}
			takers[p.Name] = append(takers[p.Name], name)
		}
	}
	for n, p := range first {
		usage := p.Help
		if len(takers[n]) > 1 {
			usage = "for " + strings.Join(takers[n], ", ") + " (what it means to each: Procedures, above)"
		}
		if p.Bool {
			bools[n] = f.Bool(n, false, usage)
		} else {
			values[n] = f.String(n, "", usage)
		}
	}
	return cmd
}

// takesOnly refuses a flag the procedure does not take (one of another
// procedure's): ignored, it would leave the operator believing it counted.
func takesOnly(name string, params map[string]string) error {
	own := ops.ProcedureParams(name)
	if own == nil && !slices.Contains(ops.ProcedureNames(), name) {
		return nil // an unknown procedure: Procedure says so, with the list
	}
	var flags []string
	for _, p := range own {
		flags = append(flags, "--"+p.Name)
	}
	for _, n := range slices.Sorted(maps.Keys(params)) {
		if !slices.ContainsFunc(own, func(p ops.Param) bool { return p.Name == n }) {
			if len(flags) == 0 {
				return fmt.Errorf("%s takes no --%s (it takes no parameters)", name, n)
			}
			return fmt.Errorf("%s takes no --%s (its parameters: %s)", name, n, strings.Join(flags, " "))
		}
	}
	return nil
}

func procedureList() string {
	var b strings.Builder
	for _, n := range ops.ProcedureNames() {
		fmt.Fprintf(&b, "  %-10s %s\n", n, ops.ProcedureTitle(n))
		for _, p := range ops.ProcedureParams(n) {
			fmt.Fprintf(&b, "      --%s  %s", p.Name, p.Help)
			if p.Default != "" {
				fmt.Fprintf(&b, " (default %s)", p.Default)
			}
			if p.Required {
				b.WriteString(" (required)")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// offerResume finds unfinished runs of this procedure on the same target
// (node, etcd member, CSRs, project namespace or archive) and offers the newest for resume (or takes it,
// with --resume).
func offerResume(ctx context.Context, j *journal.Journal, name string, params map[string]string, op *ops.TextOperator, auto bool) (*model.RunSummary, error) {
	runs, err := j.Unfinished(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "day2: some journals could not be read:", err)
	}
	var match []model.RunSummary
	for _, r := range runs {
		same := true
		for _, k := range []string{"node", "member", "host", "csr", "namespace", "backup"} {
			same = same && r.Params[k] == params[k]
		}
		if same {
			match = append(match, r)
		}
	}
	if len(match) == 0 {
		return nil, nil
	}
	r := match[0]
	fmt.Fprintf(os.Stdout, "Unfinished run %s of %s (%s), started %s by %s on %s, stopped at step %q.\n",
		r.RunID, r.Procedure, r.Path, r.Started.Local().Format("2006-01-02 15:04:05"), r.User, r.Host, r.StoppedAt)
	if auto {
		return &r, nil
	}
	if op.Yes {
		fmt.Fprintln(os.Stdout, "Starting a new run (pass --resume to continue that one).")
		return nil, nil
	}
	fmt.Fprint(os.Stdout, "Resume it from its first unverified step? [y/N]: ")
	ans, err := op.ReadLine(ctx)
	if err != nil {
		return nil, err
	}
	if a := strings.ToLower(ans); a == "y" || a == "yes" {
		return &r, nil
	}
	return nil, nil
}

func runExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ops.ErrAborted):
		return exitError{exitAborted, err}
	case errors.Is(err, ops.ErrInterrupted):
		return exitError{exitInterrupted, fmt.Errorf("%w (the journal says where; rerun to resume)", err)}
	}
	return err
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
