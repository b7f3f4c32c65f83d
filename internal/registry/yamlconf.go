package registry

import (
	"fmt"
	"regexp"
	"strings"
)

// The YAML-like v1 form that RHEL 7's docker read from registries.conf and
// seed 003 §7.3.1-7.3.2 shows:
//
//	registries:
//	  - registry.redhat.io
//	block_registries:
//	  - all
//
// Only that shape is accepted: top-level keys at column 0 each followed by
// "- name" items, and # comments. The file header of that era names the
// three keys: registries, insecure_registries and block_registries; docker
// ignores any other key with its items.

var (
	yamlKeyLine  = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*):\s*$`)
	yamlItemLine = regexp.MustCompile(`^\s*-(\s+(.*))?$`)
)

// isYAMLLike decides by the first line that is not blank or a comment: a
// "key:" or "- item" line cannot start a TOML file.
func isYAMLLike(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		text := stripYAMLComment(line)
		if strings.TrimSpace(text) == "" {
			continue
		}
		return yamlKeyLine.MatchString(text) || yamlItemLine.MatchString(text)
	}
	return false
}

func parseYAMLLike(data []byte) (rawConf, error) {
	var raw rawConf
	var list *[]string
	ignore := false
	seen := map[string]bool{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		text := stripYAMLComment(line)
		if strings.TrimSpace(text) == "" {
			continue
		}
		if m := yamlKeyLine.FindStringSubmatch(text); m != nil {
			key := m[1]
			if list = raw.yamlList(key); list == nil {
				ignore = true // docker ignores keys it does not know, and their items
				continue
			}
			ignore = false
			if seen[key] {
				return rawConf{}, fmt.Errorf("line %d: %s is set twice", n, key)
			}
			seen[key] = true
			*list = []string{} // set, even if no item follows
			continue
		}
		m := yamlItemLine.FindStringSubmatch(text)
		switch {
		case ignore && m != nil:
			continue
		case m == nil:
			return rawConf{}, fmt.Errorf("line %d: want \"key:\" or \"- registry\", got %q", n, strings.TrimSpace(line))
		case list == nil:
			return rawConf{}, fmt.Errorf("line %d: list item before any key", n)
		}
		name := unquoteYAML(strings.TrimSpace(m[2]))
		if name == "" {
			return rawConf{}, fmt.Errorf("line %d: empty list item", n)
		}
		*list = append(*list, name)
	}
	return raw, nil
}

// yamlList is the list a key of the YAML-like form fills, nil if unknown.
func (r *rawConf) yamlList(key string) *[]string {
	switch key {
	case "registries":
		return &r.search
	case "insecure_registries":
		return &r.insecure
	case "block_registries":
		return &r.block
	}
	return nil
}

// stripYAMLComment drops a comment: a # at the start or after a blank.
func stripYAMLComment(line string) string {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			return line[:i]
		}
	}
	return line
}

// unquoteYAML removes one pair of matching quotes: YAML allows a name to be
// written 'registry.redhat.io' or "registry.redhat.io".
func unquoteYAML(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}
