// Package registry is day2's adapter to a host's container registry setup:
// registries.conf (v1, its YAML-like 3.11 form, and v2), the certs.d CA
// trust of seed 003 §7.2, the master's allowed import registries, and HTTP
// probes of a registry's /healthz and /v2/.
package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/day2ops/day2/model"
)

// rawConf is one registries.conf as written, before containers/image's
// normalization. Both the TOML and the YAML-like parser produce it.
type rawConf struct {
	version int
	// search is nil when the file does not set it, so that a drop-in
	// without it keeps the search list of the files before.
	search          []string
	insecure, block []string // v1 lists
	registries      []rawRegistry
}

// rawRegistry is a v2 [[registry]] table.
type rawRegistry struct {
	Prefix   string      `toml:"prefix"`
	Location string      `toml:"location"`
	Insecure bool        `toml:"insecure"`
	Blocked  bool        `toml:"blocked"`
	Mirrors  []rawMirror `toml:"mirror"`
}

type rawMirror struct {
	Location string `toml:"location"`
	Insecure bool   `toml:"insecure"`
}

// tomlFile is every key of registries.conf we read; both versions at once
// so that a file mixing them can be told apart from either.
type tomlFile struct {
	V1 struct {
		Search   tomlList `toml:"search"`
		Insecure tomlList `toml:"insecure"`
		Block    tomlList `toml:"block"`
	} `toml:"registries"`
	UnqualifiedSearch []string      `toml:"unqualified-search-registries"`
	Registry          []rawRegistry `toml:"registry"`
}

type tomlList struct {
	Registries []string `toml:"registries"`
}

// v2Keys are the top-level keys only v2 has; short-name-mode and the rest
// are not shown by day2 but still make a file v2.
var v2Keys = []string{"unqualified-search-registries", "registry", "short-name-mode", "aliases",
	"credential-helpers", "additional-layer-store-auth-helper"}

// ParseRegistriesConf parses one registries.conf: v1 TOML ([registries.search]
// and friends), the YAML-like v1 form of seed 003 §7.3.1-7.3.2, or v2 TOML
// ([[registry]]), normalized as containers/image does. source names the file
// in errors, which carry the line where the parser knows it.
func ParseRegistriesConf(source string, data []byte) (model.RegistriesConfig, error) {
	parse := parseTOML
	if isYAMLLike(data) {
		parse = parseYAMLLike
	}
	raw, err := parse(data)
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

func parseTOML(data []byte) (rawConf, error) {
	var f tomlFile
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return rawConf{}, err // "toml: line N (last key ...): ..."
	}
	v1 := md.IsDefined("registries")
	v2 := slices.ContainsFunc(v2Keys, func(k string) bool { return md.IsDefined(k) })
	switch {
	case v1 && v2:
		// containers/image refuses such a file too.
		return rawConf{}, errors.New("mixes v1 [registries.*] tables with v2 keys; use one format")
	case v1:
		return rawConf{version: 1, search: f.V1.Search.Registries, insecure: f.V1.Insecure.Registries, block: f.V1.Block.Registries}, nil
	}
	// A file with neither is v2, as containers/image reads it.
	return rawConf{version: 2, search: f.UnqualifiedSearch, registries: f.Registry}, nil
}

// normalize applies containers/image's rules: v1 lists become one entry per
// name (blocked and/or insecure); v2 entries get their prefix or location
// defaulted and checked; locations lose trailing slashes and may not carry
// a URI scheme.
func (r rawConf) normalize() (model.RegistriesConfig, error) {
	cfg := model.RegistriesConfig{Version: r.version}
	var err error
	if cfg.Search, err = cleanLocations(r.search, "search registry"); err != nil {
		return model.RegistriesConfig{}, err
	}
	if r.version == 1 {
		cfg.Registries, err = r.v1Entries()
	} else {
		cfg.Registries, err = r.v2Entries()
	}
	if err != nil {
		return model.RegistriesConfig{}, err
	}
	return withLists(cfg), nil
}

func (r rawConf) v1Entries() ([]model.RegistryEntry, error) {
	blocked, err := cleanLocations(r.block, "blocked registry")
	if err != nil {
		return nil, err
	}
	insecure, err := cleanLocations(r.insecure, "insecure registry")
	if err != nil {
		return nil, err
	}
	var entries []model.RegistryEntry
	index := map[string]int{}
	entry := func(name string) *model.RegistryEntry {
		i, ok := index[name]
		if !ok {
			i = len(entries)
			index[name] = i
			entries = append(entries, model.RegistryEntry{Prefix: name, Location: name})
		}
		return &entries[i]
	}
	for _, name := range blocked {
		entry(name).Blocked = true
	}
	for _, name := range insecure {
		entry(name).Insecure = true
	}
	return entries, nil
}

func (r rawConf) v2Entries() ([]model.RegistryEntry, error) {
	var entries []model.RegistryEntry
	byLocation := map[string]model.RegistryEntry{}
	seenPrefix := map[string]bool{}
	for i, raw := range r.registries {
		e, err := raw.entry()
		if err != nil {
			return nil, fmt.Errorf("[[registry]] #%d: %w", i+1, err)
		}
		// One location may serve several prefixes, but not with different
		// security settings.
		key := e.Location
		if key == "" {
			key = e.Prefix
		}
		if other, ok := byLocation[key]; ok && (other.Insecure != e.Insecure || other.Blocked != e.Blocked) {
			return nil, fmt.Errorf("registry %q is defined more than once with conflicting insecure or blocked settings", key)
		}
		byLocation[key] = e
		// The first entry for a prefix wins; containers/image ignores later ones.
		if !seenPrefix[e.Prefix] {
			seenPrefix[e.Prefix] = true
			entries = append(entries, e)
		}
	}
	return entries, nil
}

func (raw rawRegistry) entry() (model.RegistryEntry, error) {
	loc, err := cleanLocation(raw.Location)
	if err != nil {
		return model.RegistryEntry{}, err
	}
	prefix, err := cleanLocation(raw.Prefix)
	if err != nil {
		return model.RegistryEntry{}, err
	}
	wildcard := strings.HasPrefix(prefix, "*.")
	switch {
	case prefix == "" && loc == "":
		return model.RegistryEntry{}, errors.New("neither prefix nor location is set")
	case prefix == "":
		prefix = loc
	case wildcard && strings.ContainsAny(prefix, "/@:"):
		return model.RegistryEntry{}, fmt.Errorf("wildcard prefix %q must look like *.example.com", prefix)
	case loc == "" && !wildcard:
		return model.RegistryEntry{}, fmt.Errorf("prefix %q has no location (only a *.example.com prefix may omit it)", prefix)
	}
	e := model.RegistryEntry{Prefix: prefix, Location: loc, Insecure: raw.Insecure, Blocked: raw.Blocked}
	for _, m := range raw.Mirrors {
		mloc, err := cleanLocation(m.Location)
		if err != nil {
			return model.RegistryEntry{}, err
		}
		if mloc == "" {
			return model.RegistryEntry{}, fmt.Errorf("a mirror of %q has no location", prefix)
		}
		e.Mirrors = append(e.Mirrors, model.RegistryMirror{Location: mloc, Insecure: m.Insecure})
	}
	return e, nil
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
