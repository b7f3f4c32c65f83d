package registry

import (
	"slices"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/day2ops/day2/model"
)

// rhel7Default is /etc/containers/registries.conf as RHEL 7's
// docker/containers-common package shipped it (v1 tables, with comments).
const rhel7Default = `# This is a system-wide configuration file used to
# keep track of registries for various container backends.
# It adheres to TOML format and does not support recursive
# lists of registries.

# The default location for this configuration file is /etc/containers/registries.conf.

# The only valid categories are: 'registries.search', 'registries.insecure',
# and 'registries.block'.

[registries.search]
registries = ['registry.access.redhat.com', 'docker.io', 'registry.fedoraproject.org', 'quay.io', 'registry.centos.org']

# If you need to access insecure registries, add the registry's fully-qualified name.
# An insecure registry is one that does not have a valid SSL certificate or only does HTTP.
[registries.insecure]
registries = []


# If you need to block pull access from a registry, uncomment the section below
# and add the registries fully-qualified name.
#
# Docker only
[registries.block]
registries = []
`

// rhel8Default is the head of RHEL 8's containers-common v2 file, with its
// commented-out [[registry]] example, plus one registry of our own.
const rhel8Default = `# For more information on this configuration file, see containers-registries.conf(5).
#
# # An array of host[:port] registries to try when pulling an unqualified image, in order.
unqualified-search-registries = ["registry.fedoraproject.org", "registry.access.redhat.com", "registry.centos.org", "docker.io"]
#
# [[registry]]
# # The "prefix" field is used to choose the relevant [[registry]] TOML table;
# prefix = "example.com/foo"
# insecure = false
# blocked = false
# location = "internal-registry-for-example.com/bar"

[[registry]]
location = "mirrored.example.com"

[[registry.mirror]]
location = "mirror.example.com"
`

// diffLines is the changed lines of a unified diff, "-old" and "+new",
// sorted: where difflib aligns a moved blank line does not matter.
func diffLines(t *testing.T, a, b string) []string {
	t.Helper()
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(a), B: difflib.SplitLines(b), Context: 0})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(d, "\n") {
		if (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

func TestEditConfKeepsEachForm(t *testing.T) {
	cases := []struct {
		name, in, reading, form string
		changes                 []ConfChange
		diff                    []string
	}{{
		name: "rhel7 v1 tables", in: rhel7Default, reading: model.ReadingDocker, form: FormV1TOML,
		changes: []ConfChange{{ChangeSearch, "my.registry.example.com"}, {ChangeInsecure, "localhost:5000"}, {ChangeBlock, "all"}},
		diff: []string{
			"-registries = ['registry.access.redhat.com', 'docker.io', 'registry.fedoraproject.org', 'quay.io', 'registry.centos.org']",
			"-registries = []",
			"+registries = ['registry.access.redhat.com', 'docker.io', 'registry.fedoraproject.org', 'quay.io', 'registry.centos.org', 'my.registry.example.com']",
			"+registries = ['localhost:5000']",
			"-registries = []",
			"+registries = ['all']",
		},
	}, {
		name: "seed 7.3.4 remove", in: seedV1TOML, reading: model.ReadingDocker, form: FormV1TOML,
		changes: []ConfChange{{ChangeRemove, "localhost:5000"}},
		diff: []string{
			"-registries = ['registry.redhat.io', 'my.registry.example.com', 'docker.io', 'localhost:5000' ]",
			"-registries = ['localhost:5000']",
			"+registries = ['registry.redhat.io', 'my.registry.example.com', 'docker.io']",
			"+registries = []",
		},
	}, {
		name: "quoted tables", in: quotedV1, reading: model.ReadingDocker, form: FormV1TOML,
		changes: []ConfChange{{ChangeBlock, "docker.io"}},
		diff:    []string{`-registries = []`, `+registries = ["docker.io"]`},
	}, {
		name: "quoted tables, new table quoted", in: strings.Split(quotedV1, "\n\n")[0] + "\n", reading: model.ReadingDocker, form: FormV1TOML,
		changes: []ConfChange{{ChangeInsecure, "r.example.com"}},
		diff:    []string{`+["registries.insecure"]`, `+registries = ["r.example.com"]`},
	}, {
		name: "yaml-like", in: seedYAMLLike, reading: model.ReadingDocker, form: FormYAMLLike,
		changes: []ConfChange{{ChangeSearch, "quay.io"}, {ChangeInsecure, "10.0.0.9:5000"}, {ChangeRemove, "docker.io"}},
		diff: []string{
			"-  - docker.io   # added back",
			"+  - quay.io",
			"+- '10.0.0.9:5000'",
		},
	}, {
		name: "yaml-like new key", in: "registries:\n  - registry.redhat.io\n", reading: model.ReadingDocker, form: FormYAMLLike,
		changes: []ConfChange{{ChangeBlock, "all"}},
		diff:    []string{"+block_registries:", "+  - all"},
	}, {
		name: "rhel8 v2", in: rhel8Default, reading: model.ReadingContainers, form: FormV2,
		changes: []ConfChange{{ChangeSearch, "quay.io"}, {ChangeInsecure, "mirrored.example.com"}, {ChangeBlock, "bad.example.com"}},
		diff: []string{
			`-unqualified-search-registries = ["registry.fedoraproject.org", "registry.access.redhat.com", "registry.centos.org", "docker.io"]`,
			`+unqualified-search-registries = ["registry.fedoraproject.org", "registry.access.redhat.com", "registry.centos.org", "docker.io", "quay.io"]`,
			`+insecure = true`,
			`+`, `+[[registry]]`, `+location = "bad.example.com"`, `+blocked = true`,
		},
	}, {
		name: "v2 remove", in: v2WithMirrors, reading: model.ReadingContainers, form: FormV2,
		changes: []ConfChange{{ChangeRemove, "localhost:5000"}, {ChangeRemove, "docker.io"}},
		diff: []string{
			`-unqualified-search-registries = ["registry.redhat.io", "docker.io"]`,
			`+unqualified-search-registries = ["registry.redhat.io"]`,
			`-[[registry]]`, `-location = "localhost:5000"`, `-insecure = true`, `-`,
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if f := ConfForm([]byte(c.in), c.reading); f != c.form {
				t.Fatalf("form %s, want %s", f, c.form)
			}
			out, err := EditConf([]byte(c.in), c.reading, c.changes)
			if err != nil {
				t.Fatal(err)
			}
			if f := ConfForm(out, c.reading); f != c.form {
				t.Errorf("form after the edit %s, want %s:\n%s", f, c.form, out)
			}
			slices.Sort(c.diff)
			if got := diffLines(t, c.in, string(out)); strings.Join(got, "\n") != strings.Join(c.diff, "\n") {
				t.Errorf("diff\n%s\nwant\n%s\nfile:\n%s", strings.Join(got, "\n"), strings.Join(c.diff, "\n"), out)
			}
			cfg, err := ParseConf("/etc/containers/registries.conf", out, c.reading)
			if err != nil {
				t.Fatalf("edited file does not parse: %v\n%s", err, out)
			}
			for _, ch := range c.changes {
				if err := CheckChange(cfg, ch); err != nil {
					t.Errorf("%s: %v", ch, err)
				}
			}
			again, err := EditConf(out, c.reading, c.changes)
			if err != nil || string(again) != string(out) {
				t.Errorf("a second edit changed the file again (%v):\n%s", err, again)
			}
		})
	}
}

func TestEditConfRefusesBadNames(t *testing.T) {
	for _, name := range []string{"", "https://r.example.com", "a b", "x'y"} {
		if _, err := EditConf([]byte(seedV1TOML), model.ReadingDocker, []ConfChange{{ChangeSearch, name}}); err == nil {
			t.Errorf("%q accepted", name)
		}
	}
}

// CRI-O cannot read the YAML-like form: ParseConf says so, as the pane does.
func TestParseConfByReading(t *testing.T) {
	if _, err := ParseConf("r", []byte(seedYAMLLike), model.ReadingContainers); err == nil {
		t.Error("containers/image accepted the YAML-like form")
	}
	cfg, err := ParseConf("r", []byte(v2WithMirrors), model.ReadingDocker)
	if err != nil || cfg.Version != 2 || !strings.Contains(strings.Join(cfg.Insecure, ","), "localhost:5000") {
		t.Errorf("v2 on docker: %+v %v", cfg, err)
	}
}
