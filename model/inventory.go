package model

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Inventory is an Ansible INI inventory as openshift-ansible 3.11 reads it:
// groups of hosts, groups of groups ([x:children]), group variables
// ([x:vars]) and host variables.
type Inventory struct {
	// Groups by name; "all" and "ungrouped" are implicit, as in Ansible.
	Groups map[string]*InventoryGroup
	// HostVars are each host's own variables, by host name; every host of
	// the inventory has an entry, in the order HostOrder lists them.
	HostVars  map[string]map[string]string
	HostOrder []string

	// memberOf is each host's groups, its groups' ancestors included, and
	// depth each group's depth below "all": worked out once after parsing.
	memberOf map[string]map[string]bool
	depth    map[string]int
}

// InventoryGroup is one [group] with its [group:children] and [group:vars].
type InventoryGroup struct {
	Hosts    []string
	Children []string
	Vars     map[string]string
}

// ClusterGroups are the openshift-ansible groups day2 takes hosts from, in
// the order a host's Groups list them.
var ClusterGroups = []string{"masters", "etcd", "nodes", "lb", "new_masters", "new_nodes"}

// maxInventoryHosts bounds what host ranges may expand to (a 3.11 cluster
// has at most 2000 nodes).
const maxInventoryHosts = 10000

// ErrYAMLInventory means the inventory is YAML, which day2 does not read.
var ErrYAMLInventory = errors.New("this is a YAML inventory: day2 reads INI inventories (openshift-ansible 3.11's form, as in /etc/ansible/hosts); give one with --inventory")

var sectionRE = regexp.MustCompile(`^\[([^\[\]:\s]+)(?::([A-Za-z]+))?\]\s*(?:[#;].*)?$`)

// ParseInventory parses an INI inventory as Ansible's ini plugin does: host
// lines are "name[:port] key=value ..." (shell-quoted, # starts a comment),
// host ranges such as node[1:3].example.com, node[01:10] and master[a:c]
// expand, [x:children] lines name groups and [x:vars] lines are key=value
// with the value taken whole.
func ParseInventory(data []byte) (Inventory, error) {
	inv := Inventory{Groups: map[string]*InventoryGroup{}, HostVars: map[string]map[string]string{}}
	group, kind := "ungrouped", "hosts"
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line == "---" || yamlKeyRE.MatchString(line) && group == "ungrouped" && len(inv.HostOrder) == 0 {
			return inv, fmt.Errorf("inventory line %d: %w", n, ErrYAMLInventory)
		}
		if line[0] == '[' {
			m := sectionRE.FindStringSubmatch(line)
			if m == nil {
				return inv, fmt.Errorf("inventory line %d: bad section header %q", n, line)
			}
			group, kind = m[1], m[2]
			switch kind {
			case "":
				kind = "hosts"
			case "children", "vars":
			default:
				return inv, fmt.Errorf("inventory line %d: section [%s:%s]: want :children or :vars", n, group, kind)
			}
			inv.group(group)
			continue
		}
		var err error
		switch kind {
		case "hosts":
			err = inv.hostLine(group, line)
		case "children":
			child := strings.Fields(stripComment(line))
			if len(child) != 1 {
				err = fmt.Errorf("[%s:children] wants one group per line, got %q", group, line)
				break
			}
			g := inv.group(group)
			g.Children = appendNew(g.Children, child[0])
			inv.group(child[0])
		case "vars":
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.TrimSpace(k) == "" {
				err = fmt.Errorf("[%s:vars] wants key=value, got %q", group, line)
				break
			}
			inv.group(group).Vars[strings.TrimSpace(k)] = unquote(strings.TrimSpace(v))
		}
		if err != nil {
			return inv, fmt.Errorf("inventory line %d: %w", n, err)
		}
	}
	if err := inv.checkCycles(); err != nil {
		return inv, err
	}
	inv.depth = inv.depths()
	inv.memberOf = inv.membership()
	return inv, nil
}

// membership is each host's groups, with every ancestor of each.
func (inv Inventory) membership() map[string]map[string]bool {
	parents := inv.parents()
	out := map[string]map[string]bool{}
	for name, g := range inv.Groups {
		ancestors := map[string]bool{}
		var up func(string)
		up = func(n string) {
			if ancestors[n] {
				return
			}
			ancestors[n] = true
			for _, p := range parents[n] {
				up(p)
			}
		}
		up(name)
		for _, h := range g.Hosts {
			if out[h] == nil {
				out[h] = map[string]bool{}
			}
			for a := range ancestors {
				out[h][a] = true
			}
		}
	}
	return out
}

func (inv Inventory) parents() map[string][]string {
	parents := map[string][]string{}
	for name, g := range inv.Groups {
		for _, c := range g.Children {
			parents[c] = append(parents[c], name)
		}
	}
	return parents
}

// yamlKeyRE is a YAML mapping key alone on its line ("all:", "children:"),
// which no INI host line looks like.
var yamlKeyRE = regexp.MustCompile(`^[A-Za-z_][\w-]*:\s*$`)

func (inv *Inventory) group(name string) *InventoryGroup {
	g := inv.Groups[name]
	if g == nil {
		g = &InventoryGroup{Vars: map[string]string{}}
		inv.Groups[name] = g
	}
	return g
}

// hostLine adds the hosts of one line (a range expands) to group.
func (inv *Inventory) hostLine(group, line string) error {
	fields, err := splitShell(line)
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		return nil
	}
	pattern, port := fields[0], ""
	// host:port, where the host has no other colon outside a range (an
	// IPv6 address has several).
	if i := strings.LastIndexByte(pattern, ':'); i > 0 && isDigits(pattern[i+1:]) && !strings.Contains(rangeRE.ReplaceAllString(pattern[:i], ""), ":") {
		pattern, port = pattern[:i], pattern[i+1:]
	}
	if pattern == "" {
		return fmt.Errorf("empty host name in %q", line)
	}
	vars := map[string]string{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return fmt.Errorf("host %s: %q is not key=value", pattern, f)
		}
		vars[k] = v
	}
	if port != "" {
		vars["ansible_port"] = port
	}
	names, err := expandHostRange(pattern, maxInventoryHosts-len(inv.HostOrder))
	if err != nil {
		return err
	}
	g := inv.group(group)
	for _, name := range names {
		hv, ok := inv.HostVars[name]
		if !ok {
			hv = map[string]string{}
			inv.HostVars[name] = hv
			inv.HostOrder = append(inv.HostOrder, name)
		}
		for k, v := range vars {
			hv[k] = v
		}
		g.Hosts = appendNew(g.Hosts, name)
	}
	return nil
}

var rangeRE = regexp.MustCompile(`\[([0-9]*|[a-zA-Z]):([0-9]+|[a-zA-Z])(?::([0-9]+))?\]`)

// expandHostRange expands an Ansible host range (the first [beg:end[:step]]
// and, recursively, the rest): numeric ranges keep beg's zero padding,
// alphabetic ones run over single letters. At most limit names.
func expandHostRange(pattern string, limit int) ([]string, error) {
	loc := rangeRE.FindStringSubmatchIndex(pattern)
	if loc == nil {
		if strings.ContainsAny(pattern, "[]") {
			return nil, fmt.Errorf("host %q: bad range (want [1:3], [01:10], [a:c] or [1:9:2])", pattern)
		}
		return []string{pattern}, nil
	}
	head, tail := pattern[:loc[0]], pattern[loc[1]:]
	beg, end := pattern[loc[2]:loc[3]], pattern[loc[4]:loc[5]]
	step := 1
	if loc[6] >= 0 {
		s, err := strconv.Atoi(pattern[loc[6]:loc[7]])
		if err != nil || s <= 0 {
			return nil, fmt.Errorf("host %q: bad range step", pattern)
		}
		step = s
	}
	var items []string
	alpha := beg != "" && !isDigits(beg)
	switch {
	case alpha != !isDigits(end):
		return nil, fmt.Errorf("host %q: range mixes letters and numbers", pattern)
	case alpha:
		if beg[0] > end[0] {
			return nil, fmt.Errorf("host %q: range runs backwards", pattern)
		}
		for c := int(beg[0]); c <= int(end[0]); c += step {
			items = append(items, string(rune(c)))
		}
	default:
		b, e := 0, 0
		var err error
		if beg != "" {
			if b, err = strconv.Atoi(beg); err != nil {
				return nil, fmt.Errorf("host %q: bad range start", pattern)
			}
		}
		if e, err = strconv.Atoi(end); err != nil {
			return nil, fmt.Errorf("host %q: bad range end", pattern)
		}
		if b > e {
			return nil, fmt.Errorf("host %q: range runs backwards", pattern)
		}
		if (e-b)/step+1 > limit {
			return nil, fmt.Errorf("host %q: range expands to more than %d hosts", pattern, maxInventoryHosts)
		}
		for i := b; i <= e; i += step {
			s := strconv.Itoa(i)
			if len(beg) > 1 && beg[0] == '0' {
				s = strings.Repeat("0", max(0, len(beg)-len(s))) + s
			}
			items = append(items, s)
		}
	}
	var out []string
	for _, it := range items {
		rest, err := expandHostRange(tail, limit-len(out))
		if err != nil {
			return nil, err
		}
		for _, r := range rest {
			out = append(out, head+it+r)
		}
		if len(out) > limit {
			return nil, fmt.Errorf("host %q: range expands to more than %d hosts", pattern, maxInventoryHosts)
		}
	}
	return out, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// splitShell splits a host line as Python's shlex.split(comments=True)
// does: whitespace separates, quotes group (and are removed), # outside
// quotes starts a comment, a backslash escapes outside single quotes.
func splitShell(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote rune
	esc := false
	for _, c := range line {
		switch {
		case esc:
			cur.WriteRune(c)
			esc = false
		case quote == '\'' && c == '\'', quote == '"' && c == '"':
			quote = 0
		case quote == '"' && c == '\\':
			esc = true
		case quote != 0:
			cur.WriteRune(c)
		case c == '\\':
			esc, inWord = true, true
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '#':
			if inWord {
				out = append(out, cur.String())
			}
			return out, nil
		case c == ' ' || c == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, line)
	}
	if esc {
		return nil, fmt.Errorf("trailing backslash in %q", line)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

func stripComment(s string) string {
	if i := strings.IndexAny(s, "#;"); i >= 0 {
		return s[:i]
	}
	return s
}

// unquote removes the quotes around a whole [x:vars] value, as Ansible's
// literal evaluation of a quoted string does.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// checkCycles refuses a group that is its own descendant (Ansible does too).
func (inv Inventory) checkCycles() error {
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(g string, path []string) error
	visit = func(g string, path []string) error {
		switch state[g] {
		case 1:
			return fmt.Errorf("inventory: group %s is its own child (%s)", g, strings.Join(append(path, g), " > "))
		case 2:
			return nil
		}
		state[g] = 1
		if grp := inv.Groups[g]; grp != nil {
			for _, c := range grp.Children {
				if err := visit(c, append(path, g)); err != nil {
					return err
				}
			}
		}
		state[g] = 2
		return nil
	}
	names := make([]string, 0, len(inv.Groups))
	for g := range inv.Groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		if err := visit(g, nil); err != nil {
			return err
		}
	}
	return nil
}

// GroupHosts are the hosts of a group and of its children, recursively, in
// inventory order.
func (inv Inventory) GroupHosts(group string) []string {
	var out []string
	for _, h := range inv.HostOrder {
		if group == "all" || inv.memberOf[h][group] {
			out = append(out, h)
		}
	}
	return out
}

// Var is a host's variable as Ansible resolves it: the host's own value,
// else its groups' values, a child group's over its parents', groups of
// the same depth in name order (the later wins), "all" last.
func (inv Inventory) Var(host, key string) (string, bool) {
	if v, ok := inv.HostVars[host][key]; ok {
		return v, true
	}
	depth := inv.depth
	var groups []string
	for name := range inv.memberOf[host] {
		if name != "all" {
			groups = append(groups, name)
		}
	}
	sort.Slice(groups, func(i, j int) bool {
		if depth[groups[i]] != depth[groups[j]] {
			return depth[groups[i]] > depth[groups[j]]
		}
		return groups[i] > groups[j]
	})
	groups = append(groups, "all")
	for _, g := range groups {
		if grp := inv.Groups[g]; grp != nil {
			if v, ok := grp.Vars[key]; ok {
				return v, true
			}
		}
	}
	return "", false
}

// depths is each group's depth below "all": 1 for a top group, one more
// than its deepest parent for a child.
func (inv Inventory) depths() map[string]int {
	parents := inv.parents()
	d := map[string]int{}
	var depth func(g string, guard int) int
	depth = func(g string, guard int) int {
		if v, ok := d[g]; ok {
			return v
		}
		n := 1
		if guard < len(inv.Groups) {
			for _, p := range parents[g] {
				n = max(n, depth(p, guard+1)+1)
			}
		}
		d[g] = n
		return n
	}
	for g := range inv.Groups {
		depth(g, 0)
	}
	return d
}

// Hosts are the cluster's hosts: every host of the ClusterGroups, with
// what to dial (ansible_host, ansible_port, ansible_user and their
// ansible_ssh_* forms, from the host or its groups), its groups and
// openshift_node_group_name; source is where the inventory came from.
func (inv Inventory) Hosts(source string) ([]Host, error) {
	in := map[string][]string{}
	for _, g := range ClusterGroups {
		for _, h := range inv.GroupHosts(g) {
			in[h] = append(in[h], g)
		}
	}
	var out []Host
	for _, name := range inv.HostOrder {
		if len(in[name]) == 0 {
			continue
		}
		h := Host{Name: name, Address: name, Groups: in[name], Source: "inventory " + source}
		if v, ok := inv.first(name, "ansible_host", "ansible_ssh_host"); ok && v != "" {
			h.Address = v
		}
		if v, ok := inv.first(name, "ansible_user", "ansible_ssh_user"); ok && v != "" {
			h.User = v
		}
		if v, ok := inv.first(name, "ansible_port", "ansible_ssh_port"); ok {
			p, err := strconv.Atoi(v)
			if err != nil || p <= 0 || p > 65535 {
				return nil, fmt.Errorf("inventory %s: host %s: ansible_port %q is not a port", source, name, v)
			}
			h.Port = p
		}
		h.NodeGroup, _ = inv.Var(name, "openshift_node_group_name")
		out = append(out, h)
	}
	return out, nil
}

func (inv Inventory) first(host string, keys ...string) (string, bool) {
	for _, k := range keys {
		if v, ok := inv.Var(host, k); ok {
			return v, true
		}
	}
	return "", false
}
