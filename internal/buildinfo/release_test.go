package buildinfo

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// releaseTargets are the architectures `make release` builds (OpenShift's),
// with the ELF machine and byte order each binary must have.
var releaseTargets = map[string]struct {
	machine elf.Machine
	order   binary.ByteOrder
}{
	"amd64":   {elf.EM_X86_64, binary.LittleEndian},
	"arm64":   {elf.EM_AARCH64, binary.LittleEndian},
	"ppc64le": {elf.EM_PPC64, binary.LittleEndian},
	"s390x":   {elf.EM_S390, binary.BigEndian},
}

// `make release` as the README gives it: a static, stripped binary per
// architecture with its sha256 (a 3.11 master's glibc 2.17 has nothing to
// offer a dynamically linked one), and the one for this machine tells what
// it is with no environment at all.
func TestMakeReleaseBuildsStaticBinaries(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	const version, commit, date = "v9.8.7-test", "0123456789abcdef", "2026-12-04T18:00:00Z"
	start := time.Now()
	make := exec.Command("make", "-s", "release", "DIST="+dist, "VERSION="+version, "COMMIT="+commit, "DATE="+date)
	make.Dir = root
	if out, err := make.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	t.Logf("make release, %d architectures: %s", len(releaseTargets), time.Since(start).Round(time.Second))

	for arch, want := range releaseTargets {
		name := fmt.Sprintf("day2-%s-linux-%s", version, arch)
		bin := filepath.Join(dist, name)
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		checkStatic(t, bin, want.machine, want.order)
		if bytes.Contains(data, []byte(root)) {
			t.Errorf("%s: holds the build directory %s (not built with -trimpath)", name, root)
		}
		sum := sha256.Sum256(data)
		if got, err := os.ReadFile(bin + ".sha256"); err != nil || string(got) != hex.EncodeToString(sum[:])+"  "+name+"\n" {
			t.Errorf("%s.sha256: %q (%v), want sha256sum -c format", name, got, err)
		}
		t.Logf("%s: %d MB", name, len(data)>>20)
	}

	// This machine's binary with an empty environment: no HOME, USER or
	// PATH, as under a bare `env -i` or a minimal sudo.
	run := exec.Command(filepath.Join(dist, fmt.Sprintf("day2-%s-linux-%s", version, runtime.GOARCH)), "--version")
	run.Env = []string{}
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("--version: %v\n%s", err, out)
	}
	goVersion := goCmd(t, root, "env", "GOVERSION")
	for _, want := range []string{
		"day2 " + version + "\n", "commit:      " + commit + "\n", "built:       " + date + "\n",
		"go:          " + goVersion + " linux/" + runtime.GOARCH + "\n",
		"client-go:   " + goCmd(t, root, "list", "-m", "-f", "{{.Version}}", ClientGoModule) + "\n",
		"etcd client: " + goCmd(t, root, "list", "-m", "-f", "{{.Version}}", EtcdClientModule) + "\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--version lacks %q:\n%s", want, out)
		}
	}
}

// checkStatic: no ELF interpreter (nothing for the dynamic loader to do),
// no dynamic section or needed library, no symbol table or DWARF (stripped).
func checkStatic(t *testing.T, path string, machine elf.Machine, order binary.ByteOrder) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	name := filepath.Base(path)
	if f.Class != elf.ELFCLASS64 || f.Machine != machine || f.ByteOrder != order || f.Type != elf.ET_EXEC {
		t.Errorf("%s: %v %v %v %v, want ELFCLASS64 %v %v ET_EXEC", name, f.Class, f.Machine, f.ByteOrder, f.Type, machine, order)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: has a %v program header: dynamically linked", name, p.Type)
		}
	}
	for _, s := range []string{".interp", ".dynamic", ".dynsym", ".symtab", ".debug_info"} {
		if f.Section(s) != nil {
			t.Errorf("%s: has a %s section", name, s)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) != 0 {
		t.Errorf("%s: needs %v (%v)", name, libs, err)
	}
}

func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}
