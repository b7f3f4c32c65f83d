package model

import (
	"fmt"
	"slices"
	"strings"
)

// EnvVar is one KEY=VALUE setting of an env file such as etcd.conf.
type EnvVar struct{ Key, Value string }

// SetEnvFileValues sets keys in a shell-style env file (etcd.conf,
// /etc/sysconfig/flanneld), keeping every other line, comment and the
// layout of the lines it changes ("export ", indentation, quoting). A key
// set on several lines is changed on each (the shell keeps the last); a key
// that is not set, or only in a comment, is appended.
func SetEnvFileValues(conf []byte, vars ...EnvVar) []byte {
	lines := strings.SplitAfter(string(conf), "\n")
	done := map[string]bool{}
	for i, line := range lines {
		key, prefix, quote, tail, eol, ok := envAssignment(line)
		if !ok {
			continue
		}
		for _, v := range vars {
			if v.Key != key {
				continue
			}
			lines[i] = prefix + key + "=" + quoteEnvValue(v.Value, quote) + tail + eol
			done[key] = true
		}
	}
	out := strings.Join(lines, "")
	for _, v := range vars {
		if done[v.Key] {
			continue
		}
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += v.Key + "=" + quoteEnvValue(v.Value, "") + "\n"
		done[v.Key] = true
	}
	return []byte(out)
}

// quoteEnvValue writes v with the quote the line had, adding double quotes
// when the shell would otherwise split it or read a comment.
func quoteEnvValue(v, quote string) string {
	if quote == "" && strings.ContainsAny(v, " \t#\"'\\$`") {
		quote = `"`
	}
	if quote == `"` {
		v = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`").Replace(v)
	}
	return quote + v + quote
}

// envAssignment splits an uncommented KEY=VALUE line into its key, what
// precedes the key (indentation, "export "), the value's quote character
// (empty when unquoted), what follows the value (blanks, a comment) and the
// line ending.
func envAssignment(line string) (key, prefix, quote, tail, eol string, ok bool) {
	body := strings.TrimRight(line, "\r\n")
	eol = line[len(body):]
	trimmed := strings.TrimSpace(body)
	if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
		return "", "", "", "", "", false
	}
	rest := strings.TrimPrefix(trimmed, "export ")
	k, val, found := strings.Cut(rest, "=")
	k = strings.TrimSpace(k)
	if !found || !validEnvKey(k) {
		return "", "", "", "", "", false
	}
	_, quote, tail, err := splitEnvValue(val)
	if err != nil {
		return "", "", "", "", "", false
	}
	prefix = body[:strings.Index(body, k)]
	// Trailing blanks after the value stay with it.
	tail += body[len(strings.TrimRight(body, " \t")):]
	return k, prefix, quote, tail, eol, true
}

// InitialClusterEntry is one name=peerURL pair of ETCD_INITIAL_CLUSTER.
type InitialClusterEntry struct{ Name, PeerURL string }

// ParseInitialCluster reads an ETCD_INITIAL_CLUSTER value.
func ParseInitialCluster(value string) []InitialClusterEntry {
	var out []InitialClusterEntry
	for _, e := range strings.Split(value, ",") {
		name, url, _ := strings.Cut(strings.TrimSpace(e), "=")
		if name != "" || url != "" {
			out = append(out, InitialClusterEntry{Name: name, PeerURL: url})
		}
	}
	return out
}

// FormatInitialCluster renders entries as an ETCD_INITIAL_CLUSTER value.
func FormatInitialCluster(entries []InitialClusterEntry) string {
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = e.Name + "=" + e.PeerURL
	}
	return strings.Join(parts, ",")
}

// SyncInitialCluster makes the ETCD_INITIAL_CLUSTER of an etcd.conf list
// exactly the members given (seed 003 §5.2.1.4: "remove the failed host in
// the value for the ETCD_INITIAL_CLUSTER variable" on every remaining host;
// §5.4.4.2: the new host's value lists every member). Entries that stay keep
// their order, members no longer in the cluster are dropped and new ones
// appended, so the diff shows only what changed. It returns the new file and
// the new value, the exact line for the other hosts.
func SyncInitialCluster(conf []byte, members []InitialClusterEntry) ([]byte, string, error) {
	env, err := ParseEnvFile(conf)
	if err != nil {
		return nil, "", err
	}
	cur, ok := env["ETCD_INITIAL_CLUSTER"]
	if !ok {
		return nil, "", fmt.Errorf("no ETCD_INITIAL_CLUSTER line")
	}
	var out []InitialClusterEntry
	for _, e := range ParseInitialCluster(cur) {
		if slices.Contains(members, e) && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	for _, m := range members {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	value := FormatInitialCluster(out)
	return SetEnvFileValues(conf, EnvVar{"ETCD_INITIAL_CLUSTER", value}), value, nil
}

// NewMemberConf is the etcd.conf settings a member joining an existing
// cluster needs (seed 003 §5.4.4.2: ETCD_NAME, ETCD_INITIAL_CLUSTER and
// ETCD_INITIAL_CLUSTER_STATE from `member add`, and the listen and advertise
// URLs of the new host).
func NewMemberConf(name string, peerURLs, clientURLs []string, initialCluster string) []EnvVar {
	peers, clients := strings.Join(peerURLs, ","), strings.Join(clientURLs, ",")
	return []EnvVar{
		{"ETCD_NAME", name},
		{"ETCD_INITIAL_CLUSTER", initialCluster},
		{"ETCD_INITIAL_CLUSTER_STATE", "existing"},
		{"ETCD_LISTEN_PEER_URLS", peers},
		{"ETCD_INITIAL_ADVERTISE_PEER_URLS", peers},
		{"ETCD_LISTEN_CLIENT_URLS", clients},
		{"ETCD_ADVERTISE_CLIENT_URLS", clients},
	}
}

// EditURLList removes and adds URLs in a comma-separated list (such as
// flanneld's FLANNEL_ETCD_ENDPOINTS), keeping the order of those that stay.
func EditURLList(list string, remove, add []string) string {
	var out []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u != "" && !slices.Contains(remove, u) && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	for _, u := range add {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return strings.Join(out, ",")
}

// EditEtcdClientURLs edits the etcdClientInfo.urls list of an OpenShift 3.11
// master-config.yaml (seed 003 §5.4.4.2: "Add the new etcd host to the list
// of the etcd servers ... and remove any failed etcd hosts"), line by line so
// that every other line, comment and indentation stays as it was. It returns
// the new file and the new list. A flow-style list ([a, b]) or a missing
// section is an error: that file is edited by hand.
func EditEtcdClientURLs(cfg []byte, remove, add []string) ([]byte, []string, error) {
	lines := strings.SplitAfter(string(cfg), "\n")
	section := -1
	for i, l := range lines {
		if strings.TrimRight(l, " \t\r\n") == "etcdClientInfo:" {
			section = i
			break
		}
	}
	if section < 0 {
		return nil, nil, fmt.Errorf("no etcdClientInfo section")
	}
	urlsAt, urlsIndent := -1, 0
	for i := section + 1; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		ind := indentOf(lines[i])
		if ind == 0 {
			break // the next top-level key: the section ended
		}
		if k, v, ok := strings.Cut(t, ":"); ok && k == "urls" {
			if strings.TrimSpace(v) != "" {
				return nil, nil, fmt.Errorf("etcdClientInfo.urls is not a block list (%s): edit it by hand", t)
			}
			urlsAt, urlsIndent = i, ind
			break
		}
	}
	if urlsAt < 0 {
		return nil, nil, fmt.Errorf("etcdClientInfo has no urls list")
	}
	// The items: "- url" lines at the key's indentation or deeper.
	end, itemPrefix := urlsAt+1, strings.Repeat(" ", urlsIndent)+"- "
	var cur []string
	for ; end < len(lines); end++ {
		t := strings.TrimSpace(lines[end])
		if !strings.HasPrefix(t, "- ") || indentOf(lines[end]) < urlsIndent {
			break
		}
		if len(cur) == 0 {
			itemPrefix = lines[end][:indentOf(lines[end])] + "- "
		}
		cur = append(cur, strings.Trim(strings.TrimSpace(t[2:]), `"'`))
	}
	urls := strings.Split(EditURLList(strings.Join(cur, ","), remove, add), ",")
	if len(urls) == 1 && urls[0] == "" {
		return nil, nil, fmt.Errorf("etcdClientInfo.urls would be empty")
	}
	items := make([]string, len(urls))
	for i, u := range urls {
		items[i] = itemPrefix + u + "\n"
	}
	out := slices.Concat(lines[:urlsAt+1], items, lines[end:])
	return []byte(strings.Join(out, "")), urls, nil
}

func indentOf(line string) int { return len(line) - len(strings.TrimLeft(line, " \t")) }
