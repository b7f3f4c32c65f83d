// Command day2 is a full-screen console for the people who keep Kubernetes
// and OpenShift clusters alive. This package only parses flags and wires the
// session, the UI and (for `day2 demo`) the local cluster together.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/day2ops/day2/internal/buildinfo"
	"github.com/day2ops/day2/internal/hostssh"
	"github.com/day2ops/day2/internal/journal"
	"github.com/day2ops/day2/internal/logging"
	"github.com/day2ops/day2/ops"
	"github.com/day2ops/day2/ui"
)

type globalFlags struct {
	session  ops.SessionOptions
	logFile  string
	debug    bool
	readonly bool
	ssh      hostssh.Config
	noSSH    bool
}

// hostAccess sets o.HostAccess from the --ssh-* flags (unless --no-ssh or
// o has one already); close closes the connections it opens.
func (g *globalFlags) hostAccess(o *ops.SessionOptions) (close func(), err error) {
	if g.noSSH || o.HostAccess != nil {
		return func() {}, nil
	}
	pool, err := hostssh.New(g.ssh)
	if err != nil {
		return nil, err
	}
	o.HostAccess = pool
	return func() { pool.Close() }, nil
}

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "day2:", err)
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "day2",
		Short: "A console for day-two operations on Kubernetes and OpenShift clusters",
		Long: `day2 opens a full-screen console on the cluster it finds: the kubeconfig
(--kubeconfig, KUBECONFIG, ~/.kube/config, the master's admin kubeconfig under
--host-root, then in-cluster) and etcd (--etcd-* flags, ETCDCTL_* variables,
then /etc/etcd/etcd.conf under --host-root).`,
		Version:       buildinfo.Read().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runConsole(cmd.Context(), g, g.session)
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.session.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: KUBECONFIG, ~/.kube/config, the master's admin kubeconfig, in-cluster)")
	f.StringVar(&g.session.Context, "context", "", "kubeconfig context to use")
	f.StringVar(&g.session.HostRoot, "host-root", "/", "root of the host's files (etcd.conf, master config, certificates)")
	f.StringSliceVar(&g.session.EtcdEndpoints, "etcd-endpoints", nil, "etcd client URLs (default: ETCDCTL_ENDPOINTS, then /etc/etcd/etcd.conf)")
	f.StringVar(&g.session.EtcdCACert, "etcd-cacert", "", "CA certificate for etcd")
	f.StringVar(&g.session.EtcdCert, "etcd-cert", "", "client certificate for etcd")
	f.StringVar(&g.session.EtcdKey, "etcd-key", "", "client key for etcd")
	f.StringVar(&g.logFile, "log-file", logging.DefaultPath(), "log file (everything day2 and its libraries log goes here)")
	f.BoolVar(&g.debug, "debug", false, "log at debug level")
	f.BoolVar(&g.readonly, "readonly", false, "console only: hide every action (procedures cannot be started)")
	f.StringVar(&g.session.RegistryAddress, "registry-address", "", "host:port to probe the integrated registry at instead of its Service's ClusterIP")
	f.StringVar(&g.session.JournalDir, "journal-dir", journal.DefaultDir(), "where procedure runs are journaled")
	f.StringVar(&g.session.Inventory, "inventory", "", "Ansible inventory naming the cluster's hosts (default: /etc/ansible/hosts under --host-root, else the nodes' addresses)")
	f.StringVar(&g.ssh.User, "ssh-user", "", "SSH user for hosts the inventory gives no ansible_user (default: ssh_config's User, then the local user)")
	f.StringSliceVar(&g.ssh.KeyFiles, "ssh-key", nil, "SSH private key file(s), tried after the ssh-agent and before ssh_config's IdentityFile and ~/.ssh/id_*")
	f.StringVar(&g.ssh.ConfigFile, "ssh-config", "", "ssh_config file (default: ~/.ssh/config, then /etc/ssh/ssh_config)")
	f.StringSliceVar(&g.ssh.KnownHosts, "ssh-known-hosts", nil, "known_hosts file(s) to check host keys against (default: ssh_config's UserKnownHostsFile, ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts)")
	f.BoolVar(&g.noSSH, "no-ssh", false, "reach no other host: host steps and checks work on this host's files under --host-root only")
	g.session.User, g.session.Host = currentUser(), hostname()
	// The version text is complete lines of its own (see internal/buildinfo).
	root.SetVersionTemplate("{{.Version}}")
	root.AddCommand(newDemoCmd(g), newRunCmd(g))
	return root
}

// runConsole opens the console on the cluster o describes until the
// operator quits, the context ends, or the terminal goes away (SIGHUP).
func runConsole(ctx context.Context, g *globalFlags, o ops.SessionOptions) error {
	level := slog.LevelInfo
	if g.debug {
		level = slog.LevelDebug
	}
	logs, err := logging.Setup(g.logFile, level)
	if err != nil {
		return err
	}
	defer logs.Close()
	closeHosts, err := g.hostAccess(&o)
	if err != nil {
		return err
	}
	defer closeHosts()
	sess, err := ops.NewSession(o)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slog.Info("console starting", "server", sess.Info().Server, "context", sess.Info().Context, "readonly", g.readonly)
	opts := ui.ForSession(sess)
	if !g.readonly {
		opts = append(opts, ui.WithActions(ctx, sess))
	}
	p := tea.NewProgram(ui.New(sess.Info(), opts...), tea.WithContext(ctx))
	go sess.Run(ctx, func(msg any) { p.Send(msg) })
	_, err = p.Run()
	// A procedure still running is interrupted; wait until its journal says so.
	cancel()
	sess.Wait()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		slog.Info("console ended by signal")
		return nil
	}
	return err
}
