package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/ops"
)

// kubeletCommand is `day2 demo kubelet`: this very binary keeps the kept
// cluster's etcd static pods following their manifests.
func kubeletCommand() []string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return []string{exe, "demo", "kubelet"}
}

func newDemoCmd(g *globalFlags) *cobra.Command {
	var (
		keep        bool
		workers     int
		tools       string
		etcdVersion string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a real local cluster and open the console on it, as on master-0",
		Long: `demo builds the control-plane tools if they are missing, starts a local
cluster on 127.0.0.1 (three etcd members with TLS, kube-apiserver,
controller-manager, scheduler, kwok nodes seeded like an OpenShift 3.11
cluster) and opens the console on it as if logged into master-0. Quitting
stops the cluster and removes its files unless --keep.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer stop()
			fmt.Fprintln(os.Stderr, "day2 demo: starting the local cluster…")
			start := time.Now()
			// The hosts are served by sshd (chrooted, so root only) unless
			// the operator asked for no SSH.
			noSSH := os.Geteuid() != 0
			if f := cmd.Flag("no-ssh"); f != nil && f.Value.String() == "true" {
				noSSH = true
			} else if noSSH {
				fmt.Fprintln(os.Stderr, "day2 demo: not root, so the cluster's hosts run no sshd: host checks and steps stay on master-0's files")
			}
			c, err := localcluster.Start(ctx, localcluster.Options{
				Workers: workers, ToolsDir: tools, Keep: keep, Detach: keep, Progress: os.Stderr, EtcdVersion: etcdVersion, NoSSH: noSSH,
			})
			if err != nil {
				return fmt.Errorf("demo cluster: %w", err)
			}
			fmt.Fprintf(os.Stderr, "day2 demo: cluster up in %s\n", time.Since(start).Round(100*time.Millisecond))
			// The console reaches the hosts with the cluster's key, known_hosts,
			// ssh_config and inventory: the SSH flags the operator left unset
			// take them.
			sshFlags := c.SSHFlags()
			for _, kv := range sshFlags {
				if f := cmd.Flag(kv[0]); f != nil && !f.Changed {
					_ = f.Value.Set(kv[1])
				}
			}
			o := ops.SessionOptions{
				Kubeconfig: filepath.Join(c.HostRoot(0), localcluster.AdminKubeconfig),
				HostRoot:   c.HostRoot(0),
				// The demo reads etcd as a master does, from its etcd.conf,
				// whatever ETCDCTL_* the operator's shell has set.
				Getenv:     func(string) string { return "" },
				JournalDir: g.session.JournalDir, User: g.session.User, Host: g.session.Host,
				Inventory: g.session.Inventory,
			}
			stop() // from here on the console handles signals itself
			err = runConsole(context.Background(), g, o)
			if keep {
				if rerr := c.Release(kubeletCommand()...); rerr != nil {
					fmt.Fprintln(os.Stderr, "day2 demo: record the running cluster:", rerr)
				}
				fmt.Printf("# The local cluster keeps running in %s\n# Use it with kubectl (%s) and etcdctl:\n", c.Dir, c.ToolsDir)
				for _, kv := range c.Env() {
					fmt.Printf("export %s\n", kv)
				}
				if len(sshFlags) > 0 {
					fmt.Printf("# Its hosts answer over SSH: ssh -F %s master-0\n# day2's flags for them:", c.SSHConfigPath())
					for _, kv := range sshFlags {
						fmt.Printf(" --%s %s", kv[0], kv[1])
					}
					fmt.Println()
				}
				fmt.Printf("# Stop it with: day2 demo stop %s\n", c.Dir)
			} else {
				c.Stop()
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the cluster running after quitting and print how to reach it")
	cmd.Flags().IntVar(&workers, "workers", 3, "number of compute nodes")
	cmd.Flags().StringVar(&etcdVersion, "etcd-version", localcluster.DefaultEtcdVersion, "etcd release the members run: "+strings.Join(localcluster.EtcdVersions, ", ")+" (3.3 as OpenShift 3.11, 3.5 as OpenShift 4)")
	cmd.Flags().StringVar(&tools, "tools-dir", os.Getenv(localcluster.ToolsDirEnv), "directory of the control-plane binaries (default: $"+localcluster.ToolsDirEnv+", else built by tools/build.sh)")
	cmd.AddCommand(&cobra.Command{
		Use:    "kubelet DIR",
		Short:  "Run the etcd static-pod imitation of a cluster left by demo --keep (started by it)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return localcluster.RunKubelet(ctx, args[0])
		},
	}, &cobra.Command{
		Use:   "stop DIR",
		Short: "Stop a cluster left running by demo --keep and remove its files",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if !strings.Contains(filepath.Base(args[0]), "day2-cluster-") {
				return fmt.Errorf("%s does not look like a day2 demo cluster directory", args[0])
			}
			return localcluster.StopDetached(args[0])
		},
	})
	return cmd
}
