package localcluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries the local cluster runs; tools/build.sh builds them all.
var toolBinaries = []string{"etcd", "etcdctl", "etcdutl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok", "registry",
	"etcd-3.3/etcd", "etcd-3.3/etcdctl", "etcd-3.5/etcd", "etcd-3.5/etcdctl", "etcd-3.5/etcdutl"}

// DefaultEtcdVersion is the etcd release a cluster runs unless told otherwise.
const DefaultEtcdVersion = "3.6"

// EtcdVersions are the etcd releases the local cluster offers: what
// OpenShift 3.11 (3.3; 3.2 is not served by the module proxy), OpenShift 4
// (3.5) and current Kubernetes (3.6) run.
var EtcdVersions = []string{"3.3", "3.5", "3.6"}

// etcdToolDirs maps a release to its binaries' directory under the tools dir.
var etcdToolDirs = map[string]string{"3.3": "etcd-3.3", "3.5": "etcd-3.5", "3.6": ""}

// ToolsDirEnv names the directory holding the built control-plane binaries.
const ToolsDirEnv = "DAY2_TOOLS_DIR"

// FindTools returns the directory of the control-plane binaries: $DAY2_TOOLS_DIR
// when it holds them all, else the result of running tools/build.sh from the
// source tree found above the working directory (which builds what is missing,
// its progress copied to progress, and reuses its cache otherwise).
func FindTools(progress io.Writer) (string, error) {
	if dir := os.Getenv(ToolsDirEnv); dir != "" {
		if err := checkTools(dir); err != nil {
			return "", fmt.Errorf("%s=%s: %w", ToolsDirEnv, dir, err)
		}
		return dir, nil
	}
	script, err := findBuildScript()
	if err != nil {
		return "", err
	}
	if progress == nil {
		progress = io.Discard
	}
	var out bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stdout, cmd.Stderr = &out, progress
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build control-plane tools with %s: %w", script, err)
	}
	dir := lastLine(out.String())
	if err := checkTools(dir); err != nil {
		return "", fmt.Errorf("%s printed %q: %w", script, dir, err)
	}
	return dir, nil
}

func checkTools(dir string) error {
	var missing []string
	for _, b := range toolBinaries {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing control-plane binaries %s (run `make tools`)", strings.Join(missing, ", "))
	}
	return nil
}

func findBuildScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "tools", "build.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("control-plane binaries not found: set " + ToolsDirEnv + " or run from the day2 source tree (make tools builds them)")
		}
		dir = parent
	}
}

func lastLine(s string) string {
	var last string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			last = t
		}
	}
	return last
}
