package registry

import (
	"reflect"
	"strings"
	"testing"

	"github.com/day2ops/day2/model"
)

// seedV1TOML is seed 003 §7.3.4's registries.conf.
const seedV1TOML = `[registries.search]
registries = ['registry.redhat.io', 'my.registry.example.com', 'docker.io', 'localhost:5000' ]
[registries.insecure]
registries = ['localhost:5000']
[registries.block]
registries = ['all']
`

// seedYAMLLike is seed 003 §7.3.2's whitelist with docker.io added back,
// under the header RHEL 7's file carried, plus an insecure list.
const seedYAMLLike = `# This is a system-wide configuration file used to
# keep track of registries for various container backends.
# It adheres to YAML format and does not support recursive
# lists of registries.

registries:
  - registry.redhat.io
  - my.registry.example.com
  - docker.io   # added back
block_registries:
  - all

insecure_registries:
- 'localhost:5000'
`

const v2WithMirrors = `unqualified-search-registries = ["registry.redhat.io", "docker.io"]
short-name-mode = "enforcing"

[[registry]]
prefix = "docker.io"
location = "docker-proxy.example.com:5000/hub/"

[[registry.mirror]]
location = "mirror-a.example.com"
insecure = true

[[registry.mirror]]
location = "mirror-b.example.com:5000/ns"

[[registry]]
location = "localhost:5000"
insecure = true

[[registry]]
prefix = "*.untrusted.example.com"
blocked = true

[[registry]]
prefix = "docker.io"
location = "ignored.example.com"
`

func TestParseV1TOML(t *testing.T) {
	got, err := ParseRegistriesConf("/etc/containers/registries.conf", []byte(seedV1TOML))
	if err != nil {
		t.Fatal(err)
	}
	want := model.RegistriesConfig{
		Version:  1,
		Search:   []string{"registry.redhat.io", "my.registry.example.com", "docker.io", "localhost:5000"},
		Insecure: []string{"localhost:5000"},
		Blocked:  []string{"all"},
		Registries: []model.RegistryEntry{
			{Prefix: "all", Location: "all", Blocked: true},
			{Prefix: "localhost:5000", Location: "localhost:5000", Insecure: true},
		},
		Sources: []string{"/etc/containers/registries.conf"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseYAMLLike(t *testing.T) {
	got, err := ParseRegistriesConf("registries.conf", []byte(seedYAMLLike))
	if err != nil {
		t.Fatal(err)
	}
	want := model.RegistriesConfig{
		Version:  1,
		Search:   []string{"registry.redhat.io", "my.registry.example.com", "docker.io"},
		Insecure: []string{"localhost:5000"},
		Blocked:  []string{"all"},
		Registries: []model.RegistryEntry{
			{Prefix: "all", Location: "all", Blocked: true},
			{Prefix: "localhost:5000", Location: "localhost:5000", Insecure: true},
		},
		Sources: []string{"registries.conf"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}

	// A key without items sets an empty list, which is not "unset".
	got, err = ParseRegistriesConf("r", []byte("registries:\n"))
	if err != nil || got.Search == nil || len(got.Search) != 0 || got.Version != 1 {
		t.Errorf("empty list: %#v, %v", got.Search, err)
	}
}

func TestParseV2WithMirrors(t *testing.T) {
	got, err := ParseRegistriesConf("r", []byte(v2WithMirrors))
	if err != nil {
		t.Fatal(err)
	}
	want := model.RegistriesConfig{
		Version:  2,
		Search:   []string{"registry.redhat.io", "docker.io"},
		Insecure: []string{"localhost:5000"},
		Blocked:  []string{"*.untrusted.example.com"},
		Registries: []model.RegistryEntry{ // sorted by prefix; the second docker.io is ignored
			{Prefix: "*.untrusted.example.com", Blocked: true},
			{Prefix: "docker.io", Location: "docker-proxy.example.com:5000/hub", Mirrors: []model.RegistryMirror{
				{Location: "mirror-a.example.com", Insecure: true},
				{Location: "mirror-b.example.com:5000/ns"},
			}},
			{Prefix: "localhost:5000", Location: "localhost:5000", Insecure: true},
		},
		Sources: []string{"r"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseEmptyIsV2WithoutSearch(t *testing.T) {
	got, err := ParseRegistriesConf("r", []byte("# nothing yet\n"))
	if err != nil || got.Version != 2 || got.Search != nil || got.Registries != nil {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"mixed v1 and v2", "unqualified-search-registries = ['a']\n[registries.search]\nregistries = ['b']\n", "mixes v1"},
		{"mixed v1 and short-name-mode", "short-name-mode = 'permissive'\n[registries.block]\nregistries = ['b']\n", "mixes v1"},
		{"TOML syntax", "[registries.search]\nregistries = ['a'\n", "line 2"},
		{"TOML type", "[[registry]]\nlocation = 'a'\ninsecure = 'yes'\n", "line 3"},
		{"v1 list is a string", "[registries.search]\nregistries = 'a'\n", "line 2"},
		{"URI scheme", "[[registry]]\nlocation = 'https://a.example.com'\n", "URI schemes"},
		{"URI scheme in v1", "[registries.insecure]\nregistries = ['http://a']\n", "URI schemes"},
		{"no prefix nor location", "[[registry]]\ninsecure = true\n", "[[registry]] #1: neither prefix nor location"},
		{"prefix without location", "[[registry]]\nprefix = 'a.example.com'\n", "has no location"},
		{"wildcard with port", "[[registry]]\nprefix = '*.example.com:5000'\n", "must look like *.example.com"},
		{"mirror without location", "[[registry]]\nlocation = 'a'\n[[registry.mirror]]\ninsecure = true\n", "mirror of \"a\" has no location"},
		{"conflicting settings", "[[registry]]\nprefix = 'a/x'\nlocation = 'a'\n[[registry]]\nprefix = 'a/y'\nlocation = 'a'\ninsecure = true\n", "conflicting"},
		{"empty search name", "unqualified-search-registries = ['a', '']\n", "empty search registry"},
		{"YAML unknown key", "registries:\n  - a\nadd_registry:\n  - b\n", "line 3: unknown key \"add_registry\""},
		{"YAML key twice", "registries:\n  - a\nregistries:\n  - b\n", "line 3: registries is set twice"},
		{"YAML item first", "# c\n  - a\nregistries:\n", "line 2: list item before any key"},
		{"YAML inline value", "registries:\n  - a\nblock_registries: [all]\n", "line 3: want"},
		{"YAML nested key", "registries:\n  sub:\n", "line 2: want"},
		{"YAML empty item", "registries:\n  -\n", "line 2: empty list item"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRegistriesConf("/etc/containers/registries.conf", []byte(tc.data))
			if err == nil || !strings.HasPrefix(err.Error(), "/etc/containers/registries.conf: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one naming the file and containing %q", err, tc.want)
			}
		})
	}
}

func FuzzParseRegistriesConf(f *testing.F) {
	for _, seed := range []string{seedV1TOML, seedYAMLLike, v2WithMirrors, "", "registries:\n", "[[registry]]\nprefix='*.x'\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseRegistriesConf("fuzz", data)
		if err != nil {
			return
		}
		if cfg.Version != 1 && cfg.Version != 2 {
			t.Fatalf("Version = %d", cfg.Version)
		}
		if !reflect.DeepEqual(cfg.Sources, []string{"fuzz"}) {
			t.Fatalf("Sources = %q", cfg.Sources)
		}
		for _, e := range cfg.Registries {
			if e.Prefix == "" || (e.Location == "" && !strings.HasPrefix(e.Prefix, "*.")) {
				t.Fatalf("entry without a usable prefix or location: %+v", e)
			}
		}
		// Whatever parses can be probed and judged.
		for _, tg := range model.ProbeTargets(nil, cfg, nil) {
			if tg.HostPort == "" || strings.Contains(tg.HostPort, "/") || strings.HasPrefix(tg.HostPort, "*") || tg.URL != "https://"+tg.HostPort && tg.HostPort != "docker.io" && tg.HostPort != "index.docker.io" || len(tg.Roles) == 0 {
				t.Fatalf("target %+v", tg)
			}
		}
		_ = model.RegistryReport{Config: cfg}.Findings()
	})
}
