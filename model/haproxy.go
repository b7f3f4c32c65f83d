package model

import (
	"strings"
)

// haproxySection keywords start a section of haproxy.cfg at column 0.
var haproxySection = map[string]bool{"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true, "peers": true, "resolvers": true, "userlist": true}

// RemoveHAProxyServer removes the `server <name> …` lines from the named
// backends of an haproxy.cfg (seed 003 §5.2.1.3 mgmt8443, §5.3.1
// router80/router443), leaving every other byte as it was. It returns the
// new text and how many lines went.
func RemoveHAProxyServer(cfg string, backends []string, server string) (string, int) {
	want := map[string]bool{}
	for _, b := range backends {
		want[b] = true
	}
	lines := strings.SplitAfter(cfg, "\n")
	out := make([]string, 0, len(lines))
	in, removed := false, 0
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) > 0 && line[0] != ' ' && line[0] != '\t' && haproxySection[fields[0]] {
			in = fields[0] == "backend" && len(fields) > 1 && want[fields[1]]
		}
		if in && len(fields) >= 2 && fields[0] == "server" && fields[1] == server {
			removed++
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, ""), removed
}

// HAProxyServers lists the servers of a backend, in order.
func HAProxyServers(cfg, backend string) []string {
	var servers []string
	in := false
	for _, line := range strings.Split(cfg, "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && line[0] != ' ' && line[0] != '\t' && haproxySection[fields[0]] {
			in = fields[0] == "backend" && len(fields) > 1 && fields[1] == backend
		}
		if in && len(fields) >= 2 && fields[0] == "server" {
			servers = append(servers, fields[1])
		}
	}
	return servers
}
