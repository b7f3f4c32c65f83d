package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/day2ops/day2/model"
)

// Where containers/image reads its configuration, relative to the host root.
const (
	RegistriesConf  = "etc/containers/registries.conf"
	RegistriesConfD = "etc/containers/registries.conf.d"
)

// LoadRegistriesConf reads <root>/etc/containers/registries.conf, then every
// registries.conf.d/*.conf in lexical order, and merges them as
// containers/image does: a drop-in replaces the entry of each prefix it
// defines and, when it sets one, the search list. Drop-ins must be v2, as
// containers/image requires. Sources are host paths. With neither the file
// nor a drop-in the error wraps fs.ErrNotExist.
func LoadRegistriesConf(root string) (model.RegistriesConfig, error) {
	files, err := confFiles(root)
	if err != nil {
		return model.RegistriesConfig{}, err
	}
	if len(files) == 0 {
		return model.RegistriesConfig{}, fmt.Errorf("no /%s nor /%s/*.conf under %s: %w", RegistriesConf, RegistriesConfD, root, fs.ErrNotExist)
	}
	var merged model.RegistriesConfig
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return model.RegistriesConfig{}, fmt.Errorf("read /%s: %w", rel, err)
		}
		cfg, err := ParseRegistriesConf("/"+rel, data)
		if err != nil {
			return model.RegistriesConfig{}, err
		}
		if rel != RegistriesConf && cfg.Version == 1 {
			return model.RegistriesConfig{}, fmt.Errorf("/%s: a registries.conf.d drop-in must be in the v2 format", rel)
		}
		merged = merge(merged, cfg)
	}
	return merged, nil
}

// confFiles lists the files to read, relative to root: the main file if it
// exists, then the drop-ins (os.ReadDir sorts them).
func confFiles(root string) ([]string, error) {
	var files []string
	switch _, err := os.Stat(filepath.Join(root, RegistriesConf)); {
	case err == nil:
		files = append(files, RegistriesConf)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("/%s: %w", RegistriesConf, err)
	}
	entries, err := os.ReadDir(filepath.Join(root, RegistriesConfD))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read /%s: %w", RegistriesConfD, err)
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".conf") {
			files = append(files, RegistriesConfD+"/"+e.Name())
		}
	}
	return files, nil
}

// merge lays next over base with containers/image's drop-in semantics.
func merge(base, next model.RegistriesConfig) model.RegistriesConfig {
	out := model.RegistriesConfig{
		Version: max(base.Version, next.Version),
		Search:  base.Search,
		Sources: slices.Concat(base.Sources, next.Sources),
	}
	if next.Search != nil {
		out.Search = next.Search
	}
	byPrefix := map[string]model.RegistryEntry{}
	for _, e := range slices.Concat(base.Registries, next.Registries) {
		byPrefix[e.Prefix] = e
	}
	for _, e := range byPrefix {
		out.Registries = append(out.Registries, e)
	}
	return withLists(out)
}
