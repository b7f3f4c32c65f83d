package model

import (
	"fmt"
	"strings"
)

// ParseEnvFile reads a shell-style KEY=VALUE file such as /etc/etcd/etcd.conf
// (OpenShift 3.11) or etcd.env (OpenShift 4) as bash and systemd's
// EnvironmentFile= read it: blank lines and # (or systemd's ;) comments are
// skipped, as are INI-style section headers ("[Member]", "[Security]": the
// etcd package's etcd.conf has them, systemd ignores them and bash's
// `source` carries on past them); an optional "export " prefix is allowed,
// and values may be single- or double-quoted (with bash's backslash escapes
// inside double quotes). Any other line that is not an assignment is an
// error naming the line, so a malformed config is reported rather than
// half-read.
func ParseEnvFile(data []byte) (map[string]string, error) {
	env := map[string]string{}
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' || envSectionHeader(line) {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || !validEnvKey(key) {
			return nil, fmt.Errorf("line %d: not a KEY=VALUE assignment: %q", i+1, raw)
		}
		v, _, _, err := splitEnvValue(val)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", i+1, key, err)
		}
		env[key] = v
	}
	return env, nil
}

// envSectionHeader tells an INI-style "[Member]" line.
func envSectionHeader(line string) bool {
	return len(line) > 2 && line[0] == '[' && line[len(line)-1] == ']' && !strings.ContainsAny(line, "=\"'")
}

func validEnvKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, r := range k {
		if !(r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// splitEnvValue reads what follows the '=' of an assignment: the value
// (unquoted), its quote character ("" when unquoted), and the tail after
// it (blanks and a comment), which an edit keeps.
func splitEnvValue(s string) (value, quote, tail string, err error) {
	s = strings.TrimLeft(strings.TrimRight(s, "\r"), " \t")
	if s == "" {
		return "", "", "", nil
	}
	switch q := s[0]; q {
	case '\'':
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", "", "", fmt.Errorf("unterminated ' quote")
		}
		value, tail = s[1:end+1], s[end+2:]
	case '"':
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
				i++
			}
			b.WriteByte(s[i])
		}
		if i == len(s) {
			return "", "", "", fmt.Errorf("unterminated \" quote")
		}
		value, tail = b.String(), s[i+1:]
	default:
		// An unquoted value ends at a comment introduced by a blank.
		for i := 0; i < len(s); i++ {
			if s[i] != ' ' && s[i] != '\t' {
				continue
			}
			if rest := strings.TrimLeft(s[i:], " \t"); rest == "" || rest[0] == '#' {
				return s[:i], "", s[i:], nil
			}
		}
		return s, "", "", nil
	}
	if rest := strings.TrimSpace(tail); rest != "" && rest[0] != '#' {
		return "", "", "", fmt.Errorf("text after closing quote: %q", rest)
	}
	return value, s[:1], tail, nil
}
