// Package registry is day2's adapter to a host's container registry setup:
// registries.conf (v1, its YAML-like 3.11 form, and v2), the certs.d CA
// trust of seed 003 §7.2, the master's allowed import registries, and HTTP
// probes of a registry's /healthz and /v2/.
package registry

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/day2ops/day2/model"
)

// rawConf is one registries.conf in docker's v1 reading, before
// normalization. Both the TOML and the YAML-like parser produce it.
type rawConf struct {
	// search is nil when the file does not set it.
	search          []string
	insecure, block []string
}

// tomlV1 is the v1 tables, nested ([registries.search]) or, as RHEL 7's
// registries migrator wrote them, quoted (["registries.search"]).
type tomlV1 struct {
	V1 struct {
		Search   *tomlList `toml:"search"`
		Insecure *tomlList `toml:"insecure"`
		Block    *tomlList `toml:"block"`
	} `toml:"registries"`
	QSearch   *tomlList `toml:"registries.search"`
	QInsecure *tomlList `toml:"registries.insecure"`
	QBlock    *tomlList `toml:"registries.block"`
}

type tomlList struct {
	Registries []string `toml:"registries"`
}

func (l *tomlList) names() []string {
	if l == nil {
		return nil
	}
	if l.Registries == nil {
		return []string{}
	}
	return l.Registries
}

// ErrNotV1 means a registries.conf has none of docker's v1 forms: it is v2,
// read by containers/image.
var ErrNotV1 = errors.New("not a v1 registries.conf")

// ParseRegistriesConf parses one registries.conf as RHEL 7's docker reads
// it: the v1 TOML tables (nested or quoted) or the YAML-like form of seed
// 003 §7.3.1-7.3.2, with unknown keys ignored as docker ignores them, and
// CIDR entries of the insecure list kept as ranges. A v2 file (none of
// those) is ErrNotV1. source names the file in errors, which carry the line
// where the parser knows it.
func ParseRegistriesConf(source string, data []byte) (model.RegistriesConfig, error) {
	var raw rawConf
	var err error
	if isYAMLLike(data) {
		raw, err = parseYAMLLike(data)
	} else {
		raw, err = parseV1TOML(data)
	}
	if err != nil {
		return model.RegistriesConfig{}, fmt.Errorf("%s: %w", source, err)
	}
	cfg, err := raw.normalize()
	if err != nil {
		return model.RegistriesConfig{}, fmt.Errorf("%s: %w", source, err)
	}
	cfg.Sources = []string{source}
	return cfg, nil
}

func parseV1TOML(data []byte) (rawConf, error) {
	var f tomlV1
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return rawConf{}, err // "toml: line N (last key ...): ..."
	}
	if !md.IsDefined("registries") && f.QSearch == nil && f.QInsecure == nil && f.QBlock == nil {
		return rawConf{}, ErrNotV1
	}
	pick := func(nested, quoted *tomlList) []string {
		if quoted != nil {
			return quoted.names()
		}
		return nested.names()
	}
	return rawConf{
		search:   pick(f.V1.Search, f.QSearch),
		insecure: pick(f.V1.Insecure, f.QInsecure),
		block:    pick(f.V1.Block, f.QBlock),
	}, nil
}

// normalize makes one entry per name (blocked and/or insecure), as docker
// and containers/image's v1 conversion do; a CIDR in the insecure list is
// a range of addresses, not a registry.
func (r rawConf) normalize() (model.RegistriesConfig, error) {
	cfg := model.RegistriesConfig{Version: 1}
	var err error
	if cfg.Search, err = cleanLocations(r.search, "search registry"); err != nil {
		return model.RegistriesConfig{}, err
	}
	blocked, err := cleanLocations(r.block, "blocked registry")
	if err != nil {
		return model.RegistriesConfig{}, err
	}
	insecure, err := cleanLocations(r.insecure, "insecure registry")
	if err != nil {
		return model.RegistriesConfig{}, err
	}
	index := map[string]int{}
	entry := func(name string) *model.RegistryEntry {
		i, ok := index[name]
		if !ok {
			i = len(cfg.Registries)
			index[name] = i
			cfg.Registries = append(cfg.Registries, model.RegistryEntry{Prefix: name, Location: name})
		}
		return &cfg.Registries[i]
	}
	for _, name := range blocked {
		entry(name).Blocked = true
	}
	for _, name := range insecure {
		if _, _, err := net.ParseCIDR(name); err == nil {
			cfg.InsecureRanges = append(cfg.InsecureRanges, name)
			continue
		}
		entry(name).Insecure = true
	}
	return withLists(cfg), nil
}

// cleanLocations cleans every name of a list that must not hold empty
// names, keeping a nil list nil (unset) and an empty one empty (set).
func cleanLocations(names []string, what string) ([]string, error) {
	if names == nil {
		return nil, nil
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		c, err := cleanLocation(n)
		if err == nil && c == "" {
			err = fmt.Errorf("empty %s name", what)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// cleanLocation is containers/image's parseLocation: registries are named
// host[:port][/namespace], never by URL.
func cleanLocation(s string) (string, error) {
	s = strings.TrimRight(s, "/")
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return "", fmt.Errorf("location %q: URI schemes are not allowed, name the registry as host[:port]", s)
	}
	return s, nil
}

// withLists sorts the entries by prefix, as containers/image does after
// merging, and fills the Insecure and Blocked lists from them.
func withLists(cfg model.RegistriesConfig) model.RegistriesConfig {
	slices.SortStableFunc(cfg.Registries, func(a, b model.RegistryEntry) int { return strings.Compare(a.Prefix, b.Prefix) })
	cfg.Insecure, cfg.Blocked = nil, nil
	for _, e := range cfg.Registries {
		if e.Insecure {
			cfg.Insecure = append(cfg.Insecure, e.Prefix)
		}
		if e.Blocked {
			cfg.Blocked = append(cfg.Blocked, e.Prefix)
		}
	}
	return cfg
}
