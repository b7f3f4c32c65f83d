// Package kube is day2's adapter to the Kubernetes API: client
// configuration, and informers that publish trimmed node snapshots.
package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ConfigOptions choose the kubeconfig.
type ConfigOptions struct {
	Kubeconfig string // --kubeconfig; empty: KUBECONFIG, ~/.kube/config, the master's files
	Context    string // --context
	// HostRoot is where host files are read from ("/" in production), for
	// the masters' own admin kubeconfigs.
	HostRoot string
}

// Target is a loaded client configuration and where it came from.
type Target struct {
	Config  *rest.Config
	Context string
	Source  string
}

// Kubeconfigs an operator logged into a master already has, in the order
// they are tried after KUBECONFIG and ~/.kube/config: OpenShift 3.11's
// admin.kubeconfig and kubeadm's admin.conf.
var masterKubeconfigs = []string{"etc/origin/master/admin.kubeconfig", "etc/kubernetes/admin.conf"}

// LoadConfig resolves the client configuration: --kubeconfig, then
// KUBECONFIG, then ~/.kube/config, then the master's admin kubeconfig under
// the host root, then the in-cluster service account.
func LoadConfig(o ConfigOptions) (Target, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	source := ""
	switch {
	case o.Kubeconfig != "":
		rules.ExplicitPath, source = o.Kubeconfig, o.Kubeconfig
	case os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "":
		source = "$KUBECONFIG"
	case fileExists(clientcmd.RecommendedHomeFile):
		source = clientcmd.RecommendedHomeFile
	default:
		for _, rel := range masterKubeconfigs {
			if p := filepath.Join(rootOr(o.HostRoot), rel); fileExists(p) {
				rules.ExplicitPath, source = p, p
				break
			}
		}
	}
	if source == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return Target{}, fmt.Errorf("no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config, %s under %s) and not in a cluster: %w",
				masterKubeconfigs, rootOr(o.HostRoot), err)
		}
		tune(cfg)
		return Target{Config: cfg, Context: "in-cluster", Source: "in-cluster"}, nil
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	raw, err := loader.RawConfig()
	if err != nil {
		return Target{}, fmt.Errorf("read kubeconfig %s: %w", source, err)
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			err = errors.New("it defines no cluster")
		}
		return Target{}, fmt.Errorf("kubeconfig %s: %w", source, err)
	}
	tune(cfg)
	ctx := o.Context
	if ctx == "" {
		ctx = raw.CurrentContext
	}
	return Target{Config: cfg, Context: ctx, Source: source}, nil
}

func tune(cfg *rest.Config) {
	cfg.UserAgent = "day2"
	cfg.QPS, cfg.Burst = 50, 100
}

// Protobuf is a copy of cfg that asks for protobuf, for the clientset
// behind the informers: listing 10,000 pods decodes several times faster
// and with far less garbage than JSON. Only built-in types: a dynamic
// client on it would get protobuf for OpenShift's DeploymentConfigs,
// which it cannot decode, so everything else keeps JSON.
func Protobuf(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return c
}

func rootOr(root string) string {
	if root == "" {
		return "/"
	}
	return root
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
