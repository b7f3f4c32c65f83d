package registry

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/day2ops/day2/model"
)

// nodeConfig is what DetectReading needs of a 3.11 node-config.yaml.
type nodeConfig struct {
	KubeletArguments map[string][]string `json:"kubeletArguments"`
}

// DetectReading decides whose rules registries.conf is read by on this
// host, and says why: the runtime the 3.11 kubelet is configured for in
// node-config.yaml (openshift-ansible's openshift_use_crio sets
// container-runtime-endpoint to CRI-O's socket; without it the kubelet
// runs docker), else which runtime's configuration is installed. Podman
// and CRI-O read it with containers/image, which is also the default.
func DetectReading(root string) (reading, why string) {
	const nodeConf = "etc/origin/node/node-config.yaml"
	if data, err := os.ReadFile(filepath.Join(root, nodeConf)); err == nil {
		var nc nodeConfig
		if err := yaml.Unmarshal(data, &nc); err == nil {
			endpoints := append(nc.KubeletArguments["container-runtime-endpoint"], nc.KubeletArguments["container-runtime"]...)
			if slices.ContainsFunc(endpoints, func(e string) bool { return strings.Contains(e, "crio") }) {
				return model.ReadingContainers, "/" + nodeConf + ": the kubelet runs CRI-O"
			}
			return model.ReadingDocker, "/" + nodeConf + ": no CRI-O endpoint, the kubelet runs docker"
		}
	}
	for _, f := range []string{"etc/crio/crio.conf", "etc/crio/crio.conf.d"} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			return model.ReadingContainers, "/" + f + ": CRI-O is configured on this host"
		}
	}
	for _, f := range []string{"etc/docker/daemon.json", "etc/sysconfig/docker"} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			return model.ReadingDocker, "/" + f + ": docker is configured on this host, CRI-O is not"
		}
	}
	return model.ReadingContainers, "no docker or CRI-O configuration: podman's reading (containers/image)"
}
