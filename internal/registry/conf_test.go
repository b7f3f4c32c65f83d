package registry

import (
	"errors"
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

// quotedV1 is the v1 file as RHEL 7's registries migrator wrote it: quoted
// table names, and a CIDR among the insecure registries.
const quotedV1 = `# generated
["registries.search"]
registries = ["registry.access.redhat.com", "docker.io"]

["registries.insecure"]
registries = ["172.30.0.0/16", "registry.example.com:5000"]

["registries.block"]
registries = []
`

func TestParseQuotedV1TablesAndCIDR(t *testing.T) {
	got, err := ParseRegistriesConf("r", []byte(quotedV1))
	if err != nil {
		t.Fatal(err)
	}
	want := model.RegistriesConfig{
		Version:        1,
		Search:         []string{"registry.access.redhat.com", "docker.io"},
		Insecure:       []string{"registry.example.com:5000"},
		InsecureRanges: []string{"172.30.0.0/16"},
		Registries:     []model.RegistryEntry{{Prefix: "registry.example.com:5000", Location: "registry.example.com:5000", Insecure: true}},
		Sources:        []string{"r"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
	// A range is never something to probe.
	for _, tg := range model.ProbeTargets(nil, got, nil) {
		if strings.HasPrefix(tg.HostPort, "172.30.") {
			t.Errorf("CIDR probed: %+v", tg)
		}
	}
}

func TestParseV2IsNotDockers(t *testing.T) {
	for _, data := range []string{v2WithMirrors, "# nothing yet\n"} {
		if _, err := ParseRegistriesConf("r", []byte(data)); !errors.Is(err, ErrNotV1) {
			t.Errorf("%q: error = %v, want ErrNotV1", data, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"TOML syntax", "[registries.search]\nregistries = ['a'\n", "line 2"},
		{"v1 list is a string", "[registries.search]\nregistries = 'a'\n", "line 2"},
		{"URI scheme in v1", "[registries.insecure]\nregistries = ['http://a']\n", "URI schemes"},
		{"empty search name", "[registries.search]\nregistries = ['a', '']\n", "empty search registry"},
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

// docker ignores keys it does not know in the YAML-like form, with their items.
func TestParseYAMLLikeIgnoresUnknownKeys(t *testing.T) {
	got, err := ParseRegistriesConf("r", []byte("registries:\n  - a\nadd_registry:\n  - b\nblock_registries:\n  - c\n"))
	if err != nil || !reflect.DeepEqual(got.Search, []string{"a"}) || !reflect.DeepEqual(got.Blocked, []string{"c"}) {
		t.Errorf("got %+v, %v", got, err)
	}
}

func FuzzParseRegistriesConf(f *testing.F) {
	for _, seed := range []string{seedV1TOML, seedYAMLLike, quotedV1, v2WithMirrors, "", "registries:\n", "[[registry]]\nprefix='*.x'\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseRegistriesConf("fuzz", data)
		if err != nil {
			return
		}
		if cfg.Version != 1 {
			t.Fatalf("Version = %d", cfg.Version)
		}
		if !reflect.DeepEqual(cfg.Sources, []string{"fuzz"}) {
			t.Fatalf("Sources = %q", cfg.Sources)
		}
		for _, e := range cfg.Registries {
			if e.Prefix == "" || e.Location == "" {
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
