package registry

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/containers/image/v5/pkg/sysregistriesv2"
	"github.com/containers/image/v5/types"

	"github.com/day2ops/day2/model"
)

// loadContainersConf reads the host's registries.conf and registries.conf.d
// with containers/image's sysregistriesv2, the parser CRI-O and podman use,
// so what is shown is exactly what they use and a file they refuse is
// refused with their error. Paths are given explicitly under root (a file
// not to be read is /dev/null, an empty configuration), so the console
// user's own ~/.config/containers never enters. files are the files to
// read, relative to root (confFiles).
func loadContainersConf(root string, files []string) (model.RegistriesConfig, error) {
	// Only the files listed are read: /dev/null stands for one not read.
	sys := &types.SystemContext{SystemRegistriesConfPath: os.DevNull, SystemRegistriesConfDirPath: os.DevNull}
	for _, f := range files {
		if f == RegistriesConf {
			sys.SystemRegistriesConfPath = filepath.Join(root, RegistriesConf)
		} else {
			sys.SystemRegistriesConfDirPath = filepath.Join(root, RegistriesConfD)
		}
	}
	conf, err := sysregistriesv2.TryUpdatingCache(sys)
	if err != nil {
		return model.RegistriesConfig{}, hostPaths(root, err)
	}
	mode, err := sysregistriesv2.GetShortNameMode(sys)
	if err != nil {
		return model.RegistriesConfig{}, hostPaths(root, err)
	}
	cfg := model.RegistriesConfig{Version: 2, Search: conf.UnqualifiedSearchRegistries, ShortNameMode: shortNameMode(mode)}
	for _, r := range conf.Registries {
		e := model.RegistryEntry{Prefix: r.Prefix, Location: r.Location, Insecure: r.Insecure, Blocked: r.Blocked, MirrorByDigestOnly: r.MirrorByDigestOnly}
		for _, m := range r.Mirrors {
			e.Mirrors = append(e.Mirrors, model.RegistryMirror{Location: m.Location, Insecure: m.Insecure, PullFromMirror: m.PullFromMirror})
		}
		cfg.Registries = append(cfg.Registries, e)
	}
	aliases := map[string]string{}
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return model.RegistriesConfig{}, fmt.Errorf("read /%s: %w", rel, err)
		}
		if v := fileVersion(data); v == 1 {
			cfg.Version = min(cfg.Version, v) // shown as read; containers/image converted it
		}
		// containers/image keeps the aliases it validated to itself: read
		// the tables again, later files overriding earlier ones as it does.
		var a struct {
			Aliases map[string]string `toml:"aliases"`
		}
		if _, err := toml.Decode(string(data), &a); err == nil {
			for k, v := range a.Aliases {
				aliases[k] = v
			}
		}
		cfg.Sources = append(cfg.Sources, "/"+rel)
	}
	for _, k := range slices.Sorted(maps.Keys(aliases)) {
		cfg.Aliases = append(cfg.Aliases, model.RegistryAlias{Name: k, Value: aliases[k]})
	}
	return withLists(cfg), nil
}

func shortNameMode(m types.ShortNameMode) string {
	switch m {
	case types.ShortNameModeDisabled:
		return "disabled"
	case types.ShortNameModePermissive:
		return "permissive"
	case types.ShortNameModeEnforcing:
		return "enforcing"
	}
	return "invalid"
}

// hostPaths makes containers/image's errors name host paths, not the
// paths under the host root.
func hostPaths(root string, err error) error {
	if root == "/" || root == "" {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), strings.TrimRight(root, "/"), ""))
}

// fileVersion tells docker's v1 forms (the tables, nested or quoted, and
// the YAML-like form) from v2.
func fileVersion(data []byte) int {
	if isYAMLLike(data) {
		return 1
	}
	if _, err := parseV1TOML(data); errors.Is(err, ErrNotV1) {
		return 2
	}
	return 1
}
