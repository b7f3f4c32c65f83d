package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/day2ops/day2/model"
)

// Kinds of ConfChange: the lists of seed 003 §7.3 a registry is added to,
// or taken out of every one of them.
const (
	ChangeSearch   = "search"
	ChangeInsecure = "insecure"
	ChangeBlock    = "block"
	ChangeRemove   = "remove"
)

// ConfChange is one change of registries.conf: Registry added to the
// search, insecure or block list, or removed from all of them.
type ConfChange struct {
	Kind     string
	Registry string
}

func (c ConfChange) String() string {
	if c.Kind == ChangeRemove {
		return "remove " + c.Registry + " from every list"
	}
	return "add " + c.Registry + " to the " + c.Kind + " list"
}

// Forms of a registries.conf, as EditConf keeps them.
const (
	FormYAMLLike = "YAML-like v1 (registries:/block_registries:)"
	FormV1TOML   = "v1 TOML ([registries.search] tables)"
	FormV2       = "v2 ([[registry]] tables)"
)

// ConfForm tells which form a registries.conf is written in; an empty or
// comment-only file takes docker's v1 tables on a docker host, else v2.
func ConfForm(data []byte, reading string) string {
	switch {
	case isYAMLLike(data):
		return FormYAMLLike
	case fileVersion(data) == 1:
		return FormV1TOML
	case reading == model.ReadingDocker && !hasV2Keys(data):
		return FormV1TOML
	}
	return FormV2
}

func hasV2Keys(data []byte) bool {
	var v map[string]any
	if _, err := toml.Decode(string(data), &v); err != nil {
		return true // not empty: let the v2 parser say what is wrong
	}
	return len(v) > 0
}

// EditConf applies changes to a registries.conf in the form it is written
// in (FormYAMLLike, FormV1TOML, FormV2), touching only the lists changed:
// comments, order and quoting of everything else stay as they are. A
// change already in place changes nothing.
func EditConf(data []byte, reading string, changes []ConfChange) ([]byte, error) {
	text := string(data)
	form := ConfForm(data, reading)
	for _, c := range changes {
		name, err := cleanLocation(strings.TrimSpace(c.Registry))
		if err == nil && (name == "" || strings.ContainsAny(name, " \t\n'\"#,[]")) {
			err = fmt.Errorf("%q is not a registry name (host[:port][/namespace])", c.Registry)
		}
		if err != nil {
			return nil, err
		}
		switch form {
		case FormYAMLLike:
			text = editYAMLLike(text, c.Kind, name)
		case FormV1TOML:
			text, err = editV1(text, c.Kind, name)
		default:
			text, err = editV2(text, c.Kind, name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c, err)
		}
	}
	return []byte(text), nil
}

// ParseConf reads one registries.conf as a host with that reading reads
// its main file (LoadRegistriesConf's rules, without drop-ins): docker
// takes the v1 forms with day2's parser and anything else with
// containers/image, which is what CRI-O and podman use for every form.
func ParseConf(source string, data []byte, reading string) (model.RegistriesConfig, error) {
	if reading == model.ReadingDocker {
		cfg, err := ParseRegistriesConf(source, data)
		if !errors.Is(err, ErrNotV1) {
			cfg.Reading = reading
			return cfg, err
		}
	}
	// containers/image reads files only: give it this one in a scratch root.
	dir, err := os.MkdirTemp("", "day2-registries-")
	if err != nil {
		return model.RegistriesConfig{}, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, RegistriesConf)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return model.RegistriesConfig{}, err
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		return model.RegistriesConfig{}, err
	}
	cfg, err := loadContainersConf(dir, []string{RegistriesConf})
	if err != nil {
		return model.RegistriesConfig{}, fmt.Errorf("%s: %w", source, err)
	}
	cfg.Sources, cfg.Reading = []string{source}, reading
	return cfg, nil
}

// CheckChange says whether cfg, as parsed, holds a change.
func CheckChange(cfg model.RegistriesConfig, c ConfChange) error {
	in := func(list []string) bool { return slices.Contains(list, c.Registry) }
	switch c.Kind {
	case ChangeSearch:
		if !in(cfg.Search) {
			return fmt.Errorf("%s is not in the search list %v", c.Registry, cfg.Search)
		}
	case ChangeInsecure:
		if !in(cfg.Insecure) {
			return fmt.Errorf("%s is not in the insecure list %v", c.Registry, cfg.Insecure)
		}
	case ChangeBlock:
		if !in(cfg.Blocked) {
			return fmt.Errorf("%s is not in the block list %v", c.Registry, cfg.Blocked)
		}
	case ChangeRemove:
		if in(cfg.Search) || in(cfg.Insecure) || in(cfg.Blocked) {
			return fmt.Errorf("%s is still listed (search %v, insecure %v, block %v)", c.Registry, cfg.Search, cfg.Insecure, cfg.Blocked)
		}
	default:
		return fmt.Errorf("unknown change %q", c.Kind)
	}
	return nil
}

// ---- the YAML-like form ----

var yamlKeys = map[string]string{ChangeSearch: "registries", ChangeInsecure: "insecure_registries", ChangeBlock: "block_registries"}

// yamlSection is one key of the YAML-like form: its line and its items.
type yamlSection struct {
	key   int   // index of the "key:" line
	items []int // indexes of its "- name" lines
}

func yamlSections(lines []string) map[string]*yamlSection {
	out := map[string]*yamlSection{}
	var cur *yamlSection
	for i, line := range lines {
		text := stripYAMLComment(line)
		if m := yamlKeyLine.FindStringSubmatch(text); m != nil {
			cur = &yamlSection{key: i}
			if _, seen := out[m[1]]; !seen {
				out[m[1]] = cur
			}
			continue
		}
		if cur != nil && yamlItemLine.MatchString(text) {
			cur.items = append(cur.items, i)
		}
	}
	return out
}

func yamlItem(line string) string {
	m := yamlItemLine.FindStringSubmatch(stripYAMLComment(line))
	if m == nil {
		return ""
	}
	return unquoteYAML(strings.TrimSpace(m[2]))
}

func editYAMLLike(text, kind, name string) string {
	lines := strings.Split(text, "\n")
	secs := yamlSections(lines)
	if kind == ChangeRemove {
		drop := map[int]bool{}
		for _, key := range yamlKeys {
			if s := secs[key]; s != nil {
				for _, i := range s.items {
					if yamlItem(lines[i]) == name {
						drop[i] = true
					}
				}
			}
		}
		out := lines[:0:0]
		for i, l := range lines {
			if !drop[i] {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	key := yamlKeys[kind]
	s := secs[key]
	if s == nil {
		if !strings.HasSuffix(text, "\n") && text != "" {
			text += "\n"
		}
		return text + key + ":\n  - " + name + "\n"
	}
	prefix, quote, after := "  - ", "", s.key
	for _, i := range s.items {
		if yamlItem(lines[i]) == name {
			return text
		}
	}
	if n := len(s.items); n > 0 {
		last := lines[s.items[n-1]]
		after = s.items[n-1]
		dash := strings.Index(last, "-")
		rest := strings.TrimLeft(last[dash+1:], " \t")
		prefix = last[:len(last)-len(rest)]
		if rest != "" && (rest[0] == '\'' || rest[0] == '"') {
			quote = rest[:1]
		}
	}
	item := prefix + quote + name + quote
	return strings.Join(slices.Insert(lines, after+1, item), "\n")
}

// ---- TOML arrays, edited in place ----

// tomlArray is a `key = [...]` array found in a file: its items and where
// its brackets are, with the style to write it back in.
type tomlArray struct {
	start, end int // byte offsets of '[' and just past ']'
	items      []string
	quote      string
	multiline  bool
	indent     string // before each item, multi-line
	closing    string // before ']', multi-line
	pad        string // after '[' and before ']', single line
}

// findArray parses the TOML array starting at text[start] == '['.
func findArray(text string, start int) (tomlArray, error) {
	a := tomlArray{start: start, quote: `"`}
	depth, inStr := 0, byte(0)
	for i := start; i < len(text); i++ {
		c := text[i]
		switch {
		case inStr != 0:
			if c == '\\' && inStr == '"' {
				i++
			} else if c == inStr {
				inStr = 0
			}
		case c == '\'' || c == '"':
			inStr = c
		case c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '[':
			depth++
		case c == ']':
			depth--
			if depth == 0 {
				a.end = i + 1
				return a.parse(text)
			}
		}
	}
	return a, errors.New("unterminated array")
}

func (a tomlArray) parse(text string) (tomlArray, error) {
	raw := text[a.start:a.end]
	var v struct{ A []string }
	if _, err := toml.Decode("A = "+raw, &v); err != nil {
		return a, fmt.Errorf("array %s: %w", firstLine(raw), err)
	}
	a.items = v.A
	if q := strings.IndexAny(raw, `'"`); q >= 0 {
		a.quote = raw[q : q+1]
	}
	a.multiline = strings.Contains(raw, "\n")
	if a.multiline {
		lines := strings.Split(raw, "\n")
		a.indent = "  "
		for _, l := range lines[1:] {
			if t := strings.TrimLeft(l, " \t"); t != "" && t[0] != ']' && t[0] != '#' {
				a.indent = l[:len(l)-len(t)]
				break
			}
		}
		last := lines[len(lines)-1]
		a.closing = last[:len(last)-len(strings.TrimLeft(last, " \t"))]
	} else if strings.HasPrefix(raw, "[ ") {
		a.pad = " "
	}
	return a, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + "..."
	}
	return s
}

func (a tomlArray) render(items []string) string {
	if len(items) == 0 {
		return "[]"
	}
	q := make([]string, len(items))
	for i, it := range items {
		q[i] = a.quote + it + a.quote
	}
	if !a.multiline {
		return "[" + a.pad + strings.Join(q, ", ") + a.pad + "]"
	}
	var b strings.Builder
	b.WriteString("[\n")
	for _, it := range q {
		b.WriteString(a.indent + it + ",\n")
	}
	b.WriteString(a.closing + "]")
	return b.String()
}

// withItem adds (add) or removes name, nil when nothing changes.
func withItem(items []string, name string, add bool) []string {
	has := slices.Contains(items, name)
	switch {
	case add && !has:
		return append(slices.Clone(items), name)
	case !add && has:
		return slices.DeleteFunc(slices.Clone(items), func(s string) bool { return s == name })
	}
	return nil
}

// section is a range of lines [from, to) of a TOML file: a table's body.
type section struct{ header, from, to int }

var tableHeader = regexp.MustCompile(`^\s*\[`)

// sections finds the tables whose header matches, each body running to the
// next header of any table.
func sections(lines []string, header *regexp.Regexp) []section {
	var out []section
	for i, l := range lines {
		if !header.MatchString(l) {
			continue
		}
		s := section{header: i, from: i + 1, to: len(lines)}
		for j := i + 1; j < len(lines); j++ {
			if tableHeader.MatchString(lines[j]) {
				s.to = j
				break
			}
		}
		out = append(out, s)
	}
	return out
}

// offset is the byte offset of line i.
func offset(lines []string, i int) int {
	n := 0
	for _, l := range lines[:i] {
		n += len(l) + 1
	}
	return n
}

// arrayIn finds `key = [` in lines [from, to) and parses the array.
func arrayIn(text string, lines []string, from, to int, key *regexp.Regexp) (tomlArray, bool, error) {
	for i := from; i < to; i++ {
		if loc := key.FindStringIndex(lines[i]); loc != nil {
			a, err := findArray(text, offset(lines, i)+loc[1]-1)
			return a, true, err
		}
	}
	return tomlArray{}, false, nil
}

// ---- v1 tables ----

var (
	v1Header        = regexp.MustCompile(`^\s*\[\s*(?:registries\.(search|insecure|block)|"registries\.(search|insecure|block)")\s*\]\s*(?:#.*)?$`)
	v1QuotedHeader  = regexp.MustCompile(`^\s*\[\s*"registries\.`)
	registriesArray = regexp.MustCompile(`^\s*registries\s*=\s*\[`)
)

func editV1(text, kind, name string) (string, error) {
	kinds := []string{kind}
	if kind == ChangeRemove {
		kinds = []string{ChangeSearch, ChangeInsecure, ChangeBlock}
	}
	for _, k := range kinds {
		var err error
		if text, err = editV1Table(text, k, name, kind != ChangeRemove); err != nil {
			return "", err
		}
	}
	return text, nil
}

func editV1Table(text, table, name string, add bool) (string, error) {
	lines := strings.Split(text, "\n")
	var found []section
	quoted := false
	for _, s := range sections(lines, v1Header) {
		m := v1Header.FindStringSubmatch(lines[s.header])
		quoted = quoted || v1QuotedHeader.MatchString(lines[s.header])
		if m[1] == table || m[2] == table {
			found = append(found, s)
		}
	}
	if len(found) == 0 {
		if !add {
			return text, nil
		}
		header := "[registries." + table + "]"
		if quoted {
			header = `["registries.` + table + `"]`
		}
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		q := fileQuote(text)
		return text + header + "\nregistries = [" + q + name + q + "]\n", nil
	}
	s := found[len(found)-1] // the TOML decoder refuses a table defined twice
	a, ok, err := arrayIn(text, lines, s.from, s.to, registriesArray)
	if err != nil {
		return "", err
	}
	if !ok {
		if !add {
			return text, nil
		}
		q := fileQuote(text)
		return strings.Join(slices.Insert(lines, s.from, "registries = ["+q+name+q+"]"), "\n"), nil
	}
	items := withItem(a.items, name, add)
	if items == nil {
		return text, nil
	}
	if len(a.items) == 0 {
		a.quote = fileQuote(text) // an empty array shows no style of its own
	}
	return text[:a.start] + a.render(items) + text[a.end:], nil
}

var quotedItem = regexp.MustCompile(`(?m)^\s*registries\s*=\s*\[\s*(['"])`)

// fileQuote is the quote the file's v1 arrays use: openshift-ansible's
// template and RHEL 7's file write 'name', the migrator "name".
func fileQuote(text string) string {
	if m := quotedItem.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return "'"
}

// ---- v2 ----

var (
	searchArray    = regexp.MustCompile(`^\s*unqualified-search-registries\s*=\s*\[`)
	registryHeader = regexp.MustCompile(`^\s*\[\[\s*registry\s*\]\]\s*(?:#.*)?$`)
	v2String       = regexp.MustCompile(`^\s*(location|prefix)\s*=\s*(?:"([^"]*)"|'([^']*)')\s*(?:#.*)?$`)
	v2Bool         = regexp.MustCompile(`^(\s*)(insecure|blocked)\s*=\s*(true|false)\s*(?:#.*)?$`)
)

func editV2(text, kind, name string) (string, error) {
	var err error
	if kind == ChangeSearch || kind == ChangeRemove {
		if text, err = editV2Search(text, name, kind == ChangeSearch); err != nil {
			return "", err
		}
	}
	switch kind {
	case ChangeInsecure:
		return setV2Flag(text, name, "insecure"), nil
	case ChangeBlock:
		return setV2Flag(text, name, "blocked"), nil
	case ChangeRemove:
		return clearV2Flags(text, name), nil
	}
	return text, nil
}

func editV2Search(text, name string, add bool) (string, error) {
	lines := strings.Split(text, "\n")
	top := len(lines) // top-level keys come before the first table
	for i, l := range lines {
		if tableHeader.MatchString(l) {
			top = i
			break
		}
	}
	a, ok, err := arrayIn(text, lines, 0, top, searchArray)
	if err != nil {
		return "", err
	}
	if !ok {
		if !add {
			return text, nil
		}
		line := `unqualified-search-registries = ["` + name + `"]`
		if top == len(lines) {
			if text != "" && !strings.HasSuffix(text, "\n") {
				text += "\n"
			}
			return text + line + "\n", nil
		}
		return strings.Join(slices.Insert(lines, top, line, ""), "\n"), nil
	}
	items := withItem(a.items, name, add)
	if items == nil {
		return text, nil
	}
	return text[:a.start] + a.render(items) + text[a.end:], nil
}

// registryTable finds the [[registry]] table for name: its prefix, or its
// location when it has no prefix (containers/image's default prefix).
func registryTable(lines []string, name string) (section, bool) {
	for _, s := range sections(lines, registryHeader) {
		vals := map[string]string{}
		for _, l := range lines[s.from:s.to] {
			if m := v2String.FindStringSubmatch(l); m != nil {
				vals[m[1]] = m[2] + m[3]
			}
		}
		p, hasPrefix := vals["prefix"]
		if !hasPrefix {
			p = vals["location"]
		}
		if strings.TrimRight(p, "/") == name {
			return s, true
		}
	}
	return section{}, false
}

func setV2Flag(text, name, flag string) string {
	lines := strings.Split(text, "\n")
	s, ok := registryTable(lines, name)
	if !ok {
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		return text + "\n[[registry]]\nlocation = \"" + name + "\"\n" + flag + " = true\n"
	}
	after, indent := s.header, ""
	for i := s.from; i < s.to; i++ {
		if m := v2Bool.FindStringSubmatch(lines[i]); m != nil && m[2] == flag {
			if m[3] == "true" {
				return text
			}
			lines[i] = m[1] + flag + " = true"
			return strings.Join(lines, "\n")
		}
		if m := v2String.FindStringSubmatch(lines[i]); m != nil {
			after = i
			indent = lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
		}
	}
	return strings.Join(slices.Insert(lines, after+1, indent+flag+" = true"), "\n")
}

// clearV2Flags drops insecure and blocked from the registry's table, and
// the table itself when nothing but its name is left in it (no mirrors,
// no other setting).
func clearV2Flags(text, name string) string {
	lines := strings.Split(text, "\n")
	s, ok := registryTable(lines, name)
	if !ok {
		return text
	}
	keep, other := []string{}, false
	for _, l := range lines[s.from:s.to] {
		if m := v2Bool.FindStringSubmatch(l); m != nil {
			continue
		}
		t := strings.TrimSpace(l)
		if t != "" && !strings.HasPrefix(t, "#") && !v2String.MatchString(l) {
			other = true
		}
		keep = append(keep, l)
	}
	mirrors := s.to < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[s.to]), "[[registry.")
	if !other && !mirrors {
		// Its body runs to the next table, trailing blank lines included:
		// the blank line before its header still separates the others.
		return strings.Join(slices.Concat(lines[:s.header], lines[s.to:]), "\n")
	}
	return strings.Join(slices.Concat(lines[:s.from], keep, lines[s.to:]), "\n")
}
