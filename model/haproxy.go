package model

import (
	"net"
	"slices"
	"strings"
)

// haproxySection keywords start a section of haproxy.cfg at column 0.
var haproxySection = map[string]bool{"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true, "peers": true, "resolvers": true, "userlist": true, "program": true, "cache": true, "mailers": true, "http-errors": true, "ring": true}

// The ports a node serves the load balancer on: the API of a master (3.11's
// 8443, kubeadm's 6443) and the router of an infra node.
var (
	HAProxyAPIPorts    = []string{"8443", "6443"}
	HAProxyRouterPorts = []string{"80", "443"}
)

// HAProxyServer is one `server` line of a backend or listen section.
type HAProxyServer struct {
	Section string // "backend atomic-openshift-api", "listen router80"
	Name    string // the server's name: a label, not necessarily a node name
	Host    string // address without port, as written
	Port    string // explicit port, or the section's bind port when the line has none
	Line    int    // 1-based line number
	Text    string // the line without its newline
}

// haproxySectionInfo is what the server lines of a section inherit.
type haproxySectionInfo struct {
	kind, name string
	binds      []string // ports of the section's own bind lines (listen, frontend)
	backends   []string // default_backend / use_backend of a frontend
}

// haproxyLines walks cfg and calls fn for every line with the section it is in.
func haproxyLines(cfg string, fn func(i int, line string, fields []string, sec *haproxySectionInfo)) {
	var sec *haproxySectionInfo
	for i, line := range strings.SplitAfter(cfg, "\n") {
		fields := strings.Fields(stripHAProxyComment(line))
		if len(fields) > 0 && line[0] != ' ' && line[0] != '\t' && haproxySection[fields[0]] {
			sec = &haproxySectionInfo{kind: fields[0]}
			if len(fields) > 1 {
				sec.name = fields[1]
			}
			// The old `listen stats :9000` form binds on its header line.
			if fields[0] == "listen" && len(fields) > 2 {
				sec.binds = append(sec.binds, haproxyBindPorts(fields[2:3])...)
			}
		}
		fn(i, line, fields, sec)
	}
}

func stripHAProxyComment(line string) string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		return line[:i]
	}
	return line
}

// haproxyBindPorts returns the ports of bind addresses ("*:8443",
// ":9000", "127.0.0.1:80,127.0.0.1:8080", "ipv4@:443").
func haproxyBindPorts(addrs []string) []string {
	var ports []string
	for _, a := range addrs {
		for _, one := range strings.Split(a, ",") {
			if _, port := splitHAProxyAddress(one); port != "" {
				ports = append(ports, port)
			}
		}
	}
	return ports
}

// splitHAProxyAddress splits a server or bind address into host and port:
// an optional "ipv4@"-style prefix, then host[:port] where the port is the
// part after the last colon when it is numeric (haproxy's own rule; IPv6
// hosts may be bracketed).
func splitHAProxyAddress(addr string) (string, string) {
	if i := strings.IndexByte(addr, '@'); i >= 0 {
		addr = addr[i+1:]
	}
	if strings.HasPrefix(addr, "[") {
		if end := strings.IndexByte(addr, ']'); end > 0 {
			host, rest := addr[1:end], addr[end+1:]
			return host, strings.TrimPrefix(rest, ":")
		}
	}
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, ""
	}
	port := addr[i+1:]
	if port == "" || strings.Trim(port, "0123456789") != "" {
		return addr, ""
	}
	return addr[:i], port
}

// ParseHAProxyServers lists every server line of the backend and listen
// sections of cfg, in order. A server without an explicit port takes the
// port of its section's bind lines, or of the frontends that send to it.
func ParseHAProxyServers(cfg string) []HAProxyServer {
	// First the bind ports: a listen section's own, and a backend's from
	// the frontends that send to it.
	listenPorts := map[string][]string{}
	var frontends []*haproxySectionInfo
	haproxyLines(cfg, func(_ int, _ string, fields []string, sec *haproxySectionInfo) {
		if sec == nil || (sec.kind != "frontend" && sec.kind != "listen") {
			return
		}
		if len(frontends) == 0 || frontends[len(frontends)-1] != sec {
			frontends = append(frontends, sec)
		}
		if len(fields) < 2 {
			return
		}
		switch fields[0] {
		case "bind":
			sec.binds = append(sec.binds, haproxyBindPorts(fields[1:2])...)
		case "default_backend", "use_backend":
			sec.backends = append(sec.backends, fields[1])
		}
	})
	backendPorts := map[string][]string{}
	for _, f := range frontends {
		if f.kind == "listen" {
			listenPorts[f.name] = append(listenPorts[f.name], f.binds...)
		}
		for _, b := range f.backends {
			backendPorts[b] = append(backendPorts[b], f.binds...)
		}
	}
	var out []HAProxyServer
	haproxyLines(cfg, func(i int, line string, fields []string, sec *haproxySectionInfo) {
		if sec == nil || (sec.kind != "backend" && sec.kind != "listen") || len(fields) < 3 || fields[0] != "server" {
			return
		}
		host, port := splitHAProxyAddress(fields[2])
		s := HAProxyServer{Section: sec.kind + " " + sec.name, Name: fields[1], Host: host, Port: port, Line: i + 1, Text: strings.TrimRight(line, "\r\n")}
		if s.Port == "" {
			inherited := backendPorts[sec.name]
			if sec.kind == "listen" {
				inherited = listenPorts[sec.name]
			}
			if len(inherited) > 0 {
				s.Port = inherited[0]
			}
		}
		out = append(out, s)
	})
	return out
}

// HAProxyNodeAddresses is every name a node may be written as in a server
// line: its name, its addresses (InternalIP, Hostname, InternalDNS…), and
// the short form of each DNS name. Lower case, without a trailing dot.
func HAProxyNodeAddresses(name string, addresses []string) []string {
	var out []string
	add := func(a string) {
		a = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(a)), ".")
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range append([]string{name}, addresses...) {
		add(a)
		if net.ParseIP(a) == nil {
			if short, _, ok := strings.Cut(a, "."); ok {
				add(short)
			}
		}
	}
	return out
}

// Points tells whether the server line sends traffic to one of addrs (as
// HAProxyNodeAddresses gives them) at one of ports.
func (s HAProxyServer) Points(addrs, ports []string) bool {
	host := strings.TrimSuffix(strings.ToLower(s.Host), ".")
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	return slices.Contains(addrs, host) && slices.Contains(ports, s.Port)
}

// HAProxyServersAt lists the servers of cfg that point at addrs on ports.
func HAProxyServersAt(cfg string, addrs, ports []string) []HAProxyServer {
	var out []HAProxyServer
	for _, s := range ParseHAProxyServers(cfg) {
		if s.Points(addrs, ports) {
			out = append(out, s)
		}
	}
	return out
}

// RemoveHAProxyServers removes the server lines of every backend and listen
// section that point at addrs on ports (seed 003 §5.2.1.3, §5.3.1), leaving
// every other byte as it was. It returns the new text and the lines removed.
func RemoveHAProxyServers(cfg string, addrs, ports []string) (string, []HAProxyServer) {
	gone := HAProxyServersAt(cfg, addrs, ports)
	if len(gone) == 0 {
		return cfg, nil
	}
	drop := map[int]bool{}
	for _, s := range gone {
		drop[s.Line-1] = true
	}
	lines := strings.SplitAfter(cfg, "\n")
	out := make([]string, 0, len(lines))
	for i, line := range lines {
		if !drop[i] {
			out = append(out, line)
		}
	}
	return strings.Join(out, ""), gone
}
