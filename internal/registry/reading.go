package registry

import (
	"io/fs"
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

// Files reads a host's files by host path: hostfs.Host, or a root here.
type Files interface {
	ReadFile(hostPath string) ([]byte, error)
	Stat(hostPath string) (fs.FileInfo, error)
}

// rootFiles are the files under a root directory of this machine.
type rootFiles string

func (r rootFiles) ReadFile(p string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(r), p))
}

func (r rootFiles) Stat(p string) (fs.FileInfo, error) { return os.Stat(filepath.Join(string(r), p)) }

// DetectReading is DetectReadingOn the files under root.
func DetectReading(root string) (reading, why string) { return DetectReadingOn(rootFiles(root)) }

// Container runtimes DetectRuntime tells apart.
const (
	RuntimeDocker = "docker"
	RuntimeCRIO   = "crio"
)

// DetectReadingOn decides whose rules registries.conf is read by on a
// host, and says why: docker's on a docker host (DetectRuntime), else
// containers/image's, which CRI-O and podman use.
func DetectReadingOn(f Files) (reading, why string) {
	runtime, why := DetectRuntime(f)
	if runtime == RuntimeDocker {
		return model.ReadingDocker, why
	}
	return model.ReadingContainers, why
}

// DetectRuntime decides which container runtime daemon a host runs, and
// says why: the one the 3.11 kubelet is configured for in node-config.yaml
// (openshift-ansible's openshift_use_crio sets container-runtime-endpoint
// to CRI-O's socket; without it the kubelet runs docker), else which
// runtime's configuration is installed; "" when neither is (podman only).
func DetectRuntime(f Files) (runtime, why string) {
	const nodeConf = "etc/origin/node/node-config.yaml"
	if data, err := f.ReadFile("/" + nodeConf); err == nil {
		var nc nodeConfig
		if err := yaml.Unmarshal(data, &nc); err == nil {
			endpoints := append(nc.KubeletArguments["container-runtime-endpoint"], nc.KubeletArguments["container-runtime"]...)
			if slices.ContainsFunc(endpoints, func(e string) bool { return strings.Contains(e, "crio") }) {
				return RuntimeCRIO, "/" + nodeConf + ": the kubelet runs CRI-O"
			}
			return RuntimeDocker, "/" + nodeConf + ": no CRI-O endpoint, the kubelet runs docker"
		}
	}
	for _, c := range []string{"etc/crio/crio.conf", "etc/crio/crio.conf.d"} {
		if _, err := f.Stat("/" + c); err == nil {
			return RuntimeCRIO, "/" + c + ": CRI-O is configured on this host"
		}
	}
	for _, c := range []string{"etc/docker/daemon.json", "etc/sysconfig/docker"} {
		if _, err := f.Stat("/" + c); err == nil {
			return RuntimeDocker, "/" + c + ": docker is configured on this host, CRI-O is not"
		}
	}
	return "", "no docker or CRI-O configuration: podman's reading (containers/image)"
}
