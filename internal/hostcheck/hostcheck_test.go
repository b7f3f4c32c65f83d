package hostcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/day2ops/day2/model"
)

func write(t *testing.T, root, hostPath, data string) {
	t.Helper()
	p := filepath.Join(root, hostPath)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGatherMasterRoot(t *testing.T) {
	root := t.TempDir()
	write(t, root, EntropyPath, "912\n")
	write(t, root, OSReleasePath, "3.10.0-957.el7.x86_64\n")
	write(t, root, TimesyncMarker, "")
	write(t, root, "/etc/origin/master/master-config.yaml", "kind: MasterConfig\n")
	if err := os.MkdirAll(filepath.Join(root, "var"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := Gather(root)
	if !f.Master || f.Entropy != 912 || f.EntropyErr != "" || f.Kernel != "3.10.0-957.el7.x86_64" {
		t.Fatalf("facts %+v", f)
	}
	if f.TimeSync.State != model.TimeSynced || !strings.Contains(f.TimeSync.Source, "systemd-timesyncd") {
		t.Fatalf("time sync %+v", f.TimeSync)
	}
	if f.Var.Err != "" || f.Var.Size == 0 || f.Var.Free > f.Var.Size || f.Var.Path != "/var" {
		t.Fatalf("var %+v", f.Var)
	}
}

func TestGatherNodeRootWithoutFiles(t *testing.T) {
	root := t.TempDir()
	f := Gather(root)
	if f.Master {
		t.Fatal("an empty root is a master")
	}
	if !strings.Contains(f.EntropyErr, "entropy_avail") {
		t.Fatalf("entropy error %q", f.EntropyErr)
	}
	if f.TimeSync.State != model.TimeNoEvidence || !strings.Contains(f.TimeSync.Source, "no /run/systemd/timesync/synchronized") {
		t.Fatalf("time sync %+v", f.TimeSync)
	}
	if !strings.Contains(f.Var.Err, "statfs") {
		t.Fatalf("var %+v", f.Var)
	}
}

func TestGatherKubeadmMasterAndChrony(t *testing.T) {
	root := t.TempDir()
	write(t, root, "/etc/kubernetes/manifests/kube-apiserver.yaml", "kind: Pod\n")
	write(t, root, "/var/lib/chrony/drift", "1.234 0.05\n")
	write(t, root, EntropyPath, "many")
	f := Gather(root)
	if !f.Master {
		t.Fatal("a kube-apiserver static pod does not make a master")
	}
	if f.TimeSync.State != model.TimeNoEvidence || !strings.Contains(f.TimeSync.Source, "chronyd or ntpd has run") {
		t.Fatalf("time sync %+v", f.TimeSync)
	}
	if !strings.Contains(f.EntropyErr, `"many" is not a number`) {
		t.Fatalf("entropy error %q", f.EntropyErr)
	}
}

// On this machine's own root the kernel is asked, as timedatectl does.
func TestGatherThisHost(t *testing.T) {
	f := Gather("/")
	if f.TimeSync.State != model.TimeSynced && f.TimeSync.State != model.TimeNotSynced {
		t.Fatalf("kernel clock state not read: %+v", f.TimeSync)
	}
	if !strings.Contains(f.TimeSync.Source, "adjtimex") {
		t.Fatalf("source %q", f.TimeSync.Source)
	}
	if f.EntropyErr != "" || f.Entropy <= 0 || f.Kernel == "" || f.Var.Err != "" || f.Var.Size == 0 {
		t.Fatalf("facts %+v", f)
	}
}
