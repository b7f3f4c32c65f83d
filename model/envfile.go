package model

import (
	"fmt"
	"strings"
)

// ParseEnvFile reads a shell-style KEY=VALUE file such as /etc/etcd/etcd.conf
// (OpenShift 3.11) or etcd.env (OpenShift 4): blank lines and # comments are
// skipped, an optional "export " prefix is allowed, and values may be single-
// or double-quoted. A line that is not an assignment is an error naming the
// line, so a malformed config is reported rather than half-read.
func ParseEnvFile(data []byte) (map[string]string, error) {
	env := map[string]string{}
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || !validEnvKey(key) {
			return nil, fmt.Errorf("line %d: not a KEY=VALUE assignment: %q", i+1, raw)
		}
		v, err := unquoteEnvValue(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", i+1, key, err)
		}
		env[key] = v
	}
	return env, nil
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

func unquoteEnvValue(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	switch q := v[0]; q {
	case '"', '\'':
		end := strings.LastIndexByte(v, q)
		if end == 0 {
			return "", fmt.Errorf("unterminated %c quote", q)
		}
		if rest := strings.TrimSpace(v[end+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
			return "", fmt.Errorf("text after closing quote: %q", rest)
		}
		return v[1:end], nil
	}
	// An unquoted value ends at a comment introduced by whitespace.
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v, nil
}
