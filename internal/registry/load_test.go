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

func TestLoadRegistriesConfMergesDropInsInOrder(t *testing.T) {
	d := RegistriesConfD + "/"
	root := writeFiles(t, map[string]string{
		RegistriesConf: seedV1TOML, // v1 main file: localhost:5000 insecure, all blocked
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
		d + "40-no-search.conf": "short-name-mode = \"permissive\"\n",
		d + "README":            "not a drop-in",
		d + "sub.conf/x.conf":   "not read: drop-ins are not searched recursively",
	})
	got, err := LoadRegistriesConf(root)
	if err != nil {
		t.Fatal(err)
	}
	want := model.RegistriesConfig{
		Version: 2,
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
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoadRegistriesConfMainOnlyKeepsV1(t *testing.T) {
	got, err := LoadRegistriesConf(writeFiles(t, map[string]string{RegistriesConf: seedYAMLLike}))
	if err != nil || got.Version != 1 || len(got.Search) != 3 || !reflect.DeepEqual(got.Sources, []string{"/" + RegistriesConf}) {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestLoadRegistriesConfDropInsWithoutMainFile(t *testing.T) {
	got, err := LoadRegistriesConf(writeFiles(t, map[string]string{RegistriesConfD + "/a.conf": v2WithMirrors}))
	if err != nil || got.Version != 2 || len(got.Registries) != 3 {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestLoadRegistriesConfErrors(t *testing.T) {
	_, err := LoadRegistriesConf(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty root: error = %v, want fs.ErrNotExist", err)
	}

	root := writeFiles(t, map[string]string{RegistriesConf: seedV1TOML, RegistriesConfD + "/old.conf": seedV1TOML})
	if _, err := LoadRegistriesConf(root); err == nil || !strings.Contains(err.Error(), "/etc/containers/registries.conf.d/old.conf: a registries.conf.d drop-in must be in the v2 format") {
		t.Errorf("v1 drop-in: error = %v", err)
	}

	root = writeFiles(t, map[string]string{RegistriesConf: seedV1TOML, RegistriesConfD + "/bad.conf": "[[registry]\n"})
	if _, err := LoadRegistriesConf(root); err == nil || !strings.HasPrefix(err.Error(), "/etc/containers/registries.conf.d/bad.conf: toml: line 2") {
		t.Errorf("malformed drop-in: error = %v", err)
	}
}
