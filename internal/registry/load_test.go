package registry

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/day2ops/day2/model"
)

// writeFiles lays out files (host path relative to the root -> content)
// under a fresh root.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, data := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// crio marks a host root as running CRI-O, as openshift-ansible's
// openshift_use_crio leaves node-config.yaml.
const crioNodeConfig = `kind: NodeConfig
kubeletArguments:
  container-runtime:
  - remote
  container-runtime-endpoint:
  - /var/run/crio/crio.sock
`

const dockerNodeConfig = "kind: NodeConfig\nkubeletArguments:\n  pod-manifest-path:\n  - /etc/origin/node/pods\n"

const nodeConf = "etc/origin/node/node-config.yaml"

// v2BlockedWithMirrors is a CRI-O host's registries.conf: a blocked source
// pulled only from its mirrors (one inside another blocked scope), aliases,
// short-name-mode and the mirror usage settings.
const v2BlockedWithMirrors = `unqualified-search-registries = ["registry.access.redhat.com", "docker.io"]
short-name-mode = "permissive"

[[registry]]
location = "registry.redhat.io"
blocked = true

[[registry.mirror]]
location = "mirror.example.com:5000/redhat"
pull-from-mirror = "digest-only"

[[registry.mirror]]
location = "quay.io/redhat-mirror"

[[registry]]
location = "quay.io"
blocked = true

[[registry]]
prefix = "docker.io"
location = "docker.io"
mirror-by-digest-only = true

[[registry.mirror]]
location = "hub-cache.example.com"
insecure = true

[aliases]
"rhel7" = "registry.redhat.io/rhel7"
"busybox" = "docker.io/library/busybox"
`

func TestLoadContainersBlockedWithMirrorsAndAliases(t *testing.T) {
	root := writeFiles(t, map[string]string{nodeConf: crioNodeConfig, RegistriesConf: v2BlockedWithMirrors,
		RegistriesConfD + "/10-alias.conf": "[aliases]\n\"busybox\" = \"quay.io/prometheus/busybox\"\n"})
	got, err := LoadRegistriesConf(root)
	if err != nil {
		t.Fatal(err)
	}
	want := model.RegistriesConfig{
		Version: 2,
		Search:  []string{"registry.access.redhat.com", "docker.io"},
		Blocked: []string{"quay.io", "registry.redhat.io"},
		Registries: []model.RegistryEntry{
			{Prefix: "docker.io", Location: "docker.io", MirrorByDigestOnly: true, Mirrors: []model.RegistryMirror{{Location: "hub-cache.example.com", Insecure: true}}},
			{Prefix: "quay.io", Location: "quay.io", Blocked: true},
			{Prefix: "registry.redhat.io", Location: "registry.redhat.io", Blocked: true, Mirrors: []model.RegistryMirror{
				{Location: "mirror.example.com:5000/redhat", PullFromMirror: "digest-only"}, {Location: "quay.io/redhat-mirror"}}},
		},
		Sources:       []string{"/" + RegistriesConf, "/" + RegistriesConfD + "/10-alias.conf"},
		Reading:       model.ReadingContainers,
		ReadingWhy:    "/etc/origin/node/node-config.yaml: the kubelet runs CRI-O",
		ShortNameMode: "permissive",
		Aliases:       []model.RegistryAlias{{Name: "busybox", Value: "quay.io/prometheus/busybox"}, {Name: "rhel7", Value: "registry.redhat.io/rhel7"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
	// The blocked source is pulled from its mirror only; the mirror under
	// blocked quay.io is never contacted.
	var hosts []string
	for _, tg := range model.ProbeTargets(nil, got, nil) {
		hosts = append(hosts, tg.HostPort+" "+strings.Join(tg.Roles, ","))
	}
	wantHosts := []string{"registry.access.redhat.com search", "docker.io search", "hub-cache.example.com mirror of docker.io", "mirror.example.com:5000 mirror of registry.redhat.io"}
	if !reflect.DeepEqual(hosts, wantHosts) {
		t.Errorf("probe targets %q, want %q", hosts, wantHosts)
	}
}

func TestLoadContainersMergesDropInsInOrder(t *testing.T) {
	d := RegistriesConfD + "/"
	root := writeFiles(t, map[string]string{
		"etc/crio/crio.conf": "[crio]\n",
		RegistriesConf:       seedV1TOML, // v1 main file: localhost:5000 insecure, all blocked
		d + "10-quay.conf": `[[registry]]
prefix = "quay.io"
location = "quay-a.example.com"
`,
		// Lexically after 10-: its quay.io wins; it makes localhost:5000 secure.
		d + "20-override.conf": `[[registry]]
prefix = "quay.io"
location = "quay-b.example.com"

[[registry]]
location = "localhost:5000"
`,
		d + "30-search.conf":    `unqualified-search-registries = ["registry.redhat.io"]`,
		d + "40-no-search.conf": "short-name-mode = \"disabled\"\n",
		d + "README":            "not a drop-in",
		d + "sub.conf/x.conf":   "not read: drop-ins are not searched recursively",
	})
	got, err := LoadRegistriesConf(root)
	if err != nil {
		t.Fatal(err)
	}
	want := model.RegistriesConfig{
		Version: 1, // the main file is v1, as containers/image converts it
		Search:  []string{"registry.redhat.io"},
		Blocked: []string{"all"},
		Registries: []model.RegistryEntry{
			{Prefix: "all", Location: "all", Blocked: true},
			{Prefix: "localhost:5000", Location: "localhost:5000"},
			{Prefix: "quay.io", Location: "quay-b.example.com"},
		},
		Sources: []string{
			"/etc/containers/registries.conf",
			"/etc/containers/registries.conf.d/10-quay.conf",
			"/etc/containers/registries.conf.d/20-override.conf",
			"/etc/containers/registries.conf.d/30-search.conf",
			"/etc/containers/registries.conf.d/40-no-search.conf",
		},
		Reading:       model.ReadingContainers,
		ReadingWhy:    "/etc/crio/crio.conf: CRI-O is configured on this host",
		ShortNameMode: "disabled",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

// On a 3.11 node running docker: the main file's v1 lists only, quoted
// tables and CIDR ranges as docker reads them; drop-ins are not read.
func TestLoadDockerReading(t *testing.T) {
	root := writeFiles(t, map[string]string{nodeConf: dockerNodeConfig, RegistriesConf: quotedV1, RegistriesConfD + "/50-mirror.conf": v2WithMirrors})
	got, err := LoadRegistriesConf(root)
	if err != nil {
		t.Fatal(err)
	}
	if got.Reading != model.ReadingDocker || got.ReadingWhy != "/etc/origin/node/node-config.yaml: no CRI-O endpoint, the kubelet runs docker" ||
		!reflect.DeepEqual(got.Search, []string{"registry.access.redhat.com", "docker.io"}) || !reflect.DeepEqual(got.InsecureRanges, []string{"172.30.0.0/16"}) ||
		!reflect.DeepEqual(got.Ignored, []string{"/etc/containers/registries.conf.d/50-mirror.conf"}) || len(got.Registries) != 1 {
		t.Fatalf("got %+v", got)
	}
	// The same quoted tables mean nothing to containers/image (unknown keys).
	root = writeFiles(t, map[string]string{"etc/crio/crio.conf": "", RegistriesConf: quotedV1})
	if got, err := LoadRegistriesConf(root); err != nil || got.Reading != model.ReadingContainers || got.Search != nil || len(got.Registries) != 0 {
		t.Errorf("quoted tables under CRI-O: %+v, %v", got, err)
	}
	// YAML-like, the 3.11 form.
	root = writeFiles(t, map[string]string{"etc/sysconfig/docker": "OPTIONS=''\n", RegistriesConf: seedYAMLLike})
	if got, err := LoadRegistriesConf(root); err != nil || got.Reading != model.ReadingDocker || got.Version != 1 || len(got.Search) != 3 {
		t.Errorf("YAML-like under docker: %+v, %v", got, err)
	}
}

func TestDetectReading(t *testing.T) {
	for _, tc := range []struct {
		files map[string]string
		want  string
	}{
		{map[string]string{nodeConf: crioNodeConfig, "etc/docker/daemon.json": "{}"}, model.ReadingContainers},
		{map[string]string{nodeConf: dockerNodeConfig, "etc/crio/crio.conf": ""}, model.ReadingDocker},
		{map[string]string{"etc/crio/crio.conf.d/01.conf": ""}, model.ReadingContainers},
		{map[string]string{"etc/docker/daemon.json": "{}"}, model.ReadingDocker},
		{map[string]string{}, model.ReadingContainers},
	} {
		if got, why := DetectReading(writeFiles(t, tc.files)); got != tc.want || why == "" {
			t.Errorf("%v: %s (%s), want %s", tc.files, got, why, tc.want)
		}
	}
}

func TestLoadContainersDropInsWithoutMainFile(t *testing.T) {
	got, err := LoadRegistriesConf(writeFiles(t, map[string]string{RegistriesConfD + "/a.conf": v2WithMirrors}))
	if err != nil || got.Version != 2 || len(got.Registries) != 3 || got.Reading != model.ReadingContainers {
		t.Errorf("got %+v, %v", got, err)
	}
}

// Files the runtime refuses are refused with its own error, naming host paths.
func TestLoadContainersRefuses(t *testing.T) {
	_, err := LoadRegistriesConf(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty root: error = %v, want fs.ErrNotExist", err)
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"v1 drop-in", map[string]string{RegistriesConf: seedV1TOML, RegistriesConfD + "/old.conf": seedV1TOML},
			`loading drop-in registries configuration "/etc/containers/registries.conf.d/old.conf": registry must be in v2 format but is in v1`},
		{"TOML syntax", map[string]string{RegistriesConf: seedV1TOML, RegistriesConfD + "/bad.conf": "[[registry]\n"}, "/etc/containers/registries.conf.d/bad.conf"},
		{"bad search entry", map[string]string{RegistriesConf: "unqualified-search-registries = ['registry.example.com/ns']\n"}, "Invalid unqualified-search-registries entry"},
		{"bad short-name-mode", map[string]string{RegistriesConf: "short-name-mode = 'sometimes'\n"}, "sometimes"},
		{"conflicting mirror settings", map[string]string{RegistriesConf: "[[registry]]\nlocation = 'a.example.com'\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = 'm.example.com'\npull-from-mirror = 'tag-only'\n"}, "at the same time"},
		{"conflicting insecure", map[string]string{RegistriesConf: "[[registry]]\nprefix = 'a/x'\nlocation = 'a'\n[[registry]]\nprefix = 'a/y'\nlocation = 'a'\ninsecure = true\n"}, "conflicting 'insecure'"},
		{"mixed v1 and v2", map[string]string{RegistriesConf: "unqualified-search-registries = ['a']\n[registries.search]\nregistries = ['b']\n"}, "mixing sysregistry v1/v2"},
		{"bad alias", map[string]string{RegistriesConf: "[aliases]\n'rhel7' = 'not a reference!'\n"}, "aliases"},
	} {
		root := writeFiles(t, tc.files)
		_, err := LoadRegistriesConf(root)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), root) {
			t.Errorf("%s: error = %v, want one with %q and host paths only", tc.name, err, tc.want)
		}
	}
}
