package model

import (
	"reflect"
	"strings"
	"testing"
)

// haproxyAnsible is what openshift-ansible's load balancer role renders
// (roles/openshift_loadbalancer/templates/haproxy.cfg.j2 with its
// lib_utils_oo_loadbalancer_frontends/backends filters: servers named
// master<N> at the master's IP), as found on a 3.11 load balancer.
const haproxyAnsible = `# Global settings
#---------------------------------------------------------------------
global
    maxconn     20000
    log         /dev/log local0 info
    chroot      /var/lib/haproxy
    pidfile     /var/run/haproxy.pid
    user        haproxy
    group       haproxy
    daemon

    # turn on stats unix socket
    stats socket /var/lib/haproxy/stats

#---------------------------------------------------------------------
# common defaults that all the 'listen' and 'backend' sections will
# use if not designated in their block
#---------------------------------------------------------------------
defaults
    mode                    http
    log                     global
    option                  httplog
    option                  dontlognull
#    option http-server-close
    option forwardfor       except 127.0.0.0/8
    option                  redispatch
    retries                 3
    timeout http-request    10s
    timeout queue           1m
    timeout connect         10s
    timeout client          300s
    timeout server          300s
    timeout http-keep-alive 10s
    timeout check           10s
    maxconn                 20000

listen stats
    bind :9000
    mode http
    stats enable
    stats uri /

frontend  atomic-openshift-api
    bind *:8443
    default_backend atomic-openshift-api
    mode tcp
    option tcplog

backend atomic-openshift-api
    balance source
    mode tcp
    server      master0 192.0.2.11:8443 check
    server      master1 192.0.2.12:8443 check
    server      master2 192.0.2.13:8443 check
`

// haproxyListen is a hand-built load balancer: listen sections, servers by
// FQDN and short name, openshift_router-style names, a server without a
// port (it takes the bind's), and a stats server on the node's address at
// another port that must stay.
const haproxyListen = `global
    log 127.0.0.1 local2
    maxconn 4000

defaults
    mode tcp
    timeout connect 5s
    timeout client 1m
    timeout server 1m

listen stats :9000
    mode http
    stats enable
    stats uri /

listen openshift-api
    bind 0.0.0.0:8443
    mode tcp
    balance source
    server ocp-master-a master-0.example.com:8443 check inter 5s
    server ocp-master-b master-1.example.com:8443 check inter 5s # second master
    server ocp-master-c MASTER-2.EXAMPLE.COM.:8443 check inter 5s

listen openshift_router80
    bind 0.0.0.0:80
    balance source
    server router-a infra-0:80 check
    server router-b infra-1 check
    server router-c 127.0.20.3:80 check

listen openshift_router443
    bind 0.0.0.0:443
    balance source
	server router-a infra-0:443 check
	server router-b infra-1:443 check
	server router-c 127.0.20.3:443 check

listen node-exporter
    bind 0.0.0.0:9100
    server infra-1 infra-1:9100 check
`

func TestHAProxyNodeAddresses(t *testing.T) {
	got := HAProxyNodeAddresses("Master-0.example.com", []string{"192.0.2.11", "master-0.example.com", "master-0.cluster.local."})
	want := []string{"master-0.example.com", "master-0", "192.0.2.11", "master-0.cluster.local"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestParseHAProxyServers(t *testing.T) {
	servers := ParseHAProxyServers(haproxyListen)
	var got []string
	for _, s := range servers {
		got = append(got, s.Section+"|"+s.Name+"|"+s.Host+"|"+s.Port)
	}
	want := []string{
		"listen openshift-api|ocp-master-a|master-0.example.com|8443",
		"listen openshift-api|ocp-master-b|master-1.example.com|8443",
		"listen openshift-api|ocp-master-c|MASTER-2.EXAMPLE.COM.|8443",
		"listen openshift_router80|router-a|infra-0|80",
		"listen openshift_router80|router-b|infra-1|80", // no port: the bind's
		"listen openshift_router80|router-c|127.0.20.3|80",
		"listen openshift_router443|router-a|infra-0|443",
		"listen openshift_router443|router-b|infra-1|443",
		"listen openshift_router443|router-c|127.0.20.3|443",
		"listen node-exporter|infra-1|infra-1|9100",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if servers[1].Line != 21 || servers[1].Text != "    server ocp-master-b master-1.example.com:8443 check inter 5s # second master" {
		t.Errorf("line %d %q", servers[1].Line, servers[1].Text)
	}
	// A backend without ports in its servers takes its frontend's bind.
	cfg := "frontend fe\n    bind *:6443\n    default_backend be\nbackend be\n    server a ipv4@10.0.0.1\n    server b [2001:db8::1]:6443\n"
	s := ParseHAProxyServers(cfg)
	if len(s) != 2 || s[0].Host != "10.0.0.1" || s[0].Port != "6443" || s[1].Host != "2001:db8::1" || s[1].Port != "6443" {
		t.Errorf("%+v", s)
	}
}

func TestRemoveHAProxyServers(t *testing.T) {
	for _, c := range []struct {
		name, cfg   string
		node        string
		addrs       []string
		ports       []string
		wantRemoved []string
	}{
		{"openshift-ansible, master by IP", haproxyAnsible, "master-1.example.com", []string{"192.0.2.12", "master-1.example.com"}, HAProxyAPIPorts,
			[]string{"    server      master1 192.0.2.12:8443 check"}},
		{"listen, master by FQDN in upper case with a trailing dot", haproxyListen, "master-2.example.com", []string{"192.0.2.13"}, HAProxyAPIPorts,
			[]string{"    server ocp-master-c MASTER-2.EXAMPLE.COM.:8443 check inter 5s"}},
		{"listen, infra by short name, with and without a port; node-exporter stays", haproxyListen, "infra-1.example.com", []string{"127.0.20.2"}, HAProxyRouterPorts,
			[]string{"    server router-b infra-1 check", "\tserver router-b infra-1:443 check"}},
		{"listen, infra by IP", haproxyListen, "infra-2.example.com", []string{"127.0.20.3"}, HAProxyRouterPorts,
			[]string{"    server router-c 127.0.20.3:80 check", "\tserver router-c 127.0.20.3:443 check"}},
		{"a master's router ports: nothing", haproxyAnsible, "master-1.example.com", []string{"192.0.2.12"}, HAProxyRouterPorts, nil},
		{"not listed", haproxyAnsible, "master-9.example.com", []string{"192.0.2.19"}, HAProxyAPIPorts, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			addrs := HAProxyNodeAddresses(c.node, c.addrs)
			got, removed := RemoveHAProxyServers(c.cfg, addrs, c.ports)
			var texts []string
			for _, s := range removed {
				texts = append(texts, s.Text)
			}
			if !reflect.DeepEqual(texts, c.wantRemoved) {
				t.Fatalf("removed %q, want %q", texts, c.wantRemoved)
			}
			// Exactly those lines went; every other byte is as it was.
			want := c.cfg
			for _, l := range c.wantRemoved {
				want = strings.Replace(want, l+"\n", "", 1)
			}
			if got != want {
				t.Errorf("result:\n%s", got)
			}
			if len(HAProxyServersAt(got, addrs, c.ports)) != 0 {
				t.Error("servers still listed after removal")
			}
			if again, r := RemoveHAProxyServers(got, addrs, c.ports); again != got || r != nil {
				t.Error("removing again must change nothing")
			}
		})
	}
}

func FuzzParseHAProxyServers(f *testing.F) {
	for _, seed := range []string{haproxyAnsible, haproxyListen, "backend b\n server x [::1", "listen l :\nserver", "frontend f\n bind ,:\n use_backend\n"} {
		f.Add(seed)
	}
	addrs := HAProxyNodeAddresses("master-0.example.com", []string{"192.0.2.11"})
	f.Fuzz(func(t *testing.T, cfg string) {
		servers := ParseHAProxyServers(cfg)
		lines := strings.SplitAfter(cfg, "\n")
		for _, s := range servers {
			if s.Line < 1 || s.Line > len(lines) || strings.TrimRight(lines[s.Line-1], "\r\n") != s.Text {
				t.Fatalf("server %+v does not name its line", s)
			}
		}
		out, removed := RemoveHAProxyServers(cfg, addrs, HAProxyAPIPorts)
		size := len(out)
		for _, s := range removed {
			size += len(lines[s.Line-1])
		}
		if size != len(cfg) {
			t.Fatalf("removal changed more than the removed lines")
		}
		if len(HAProxyServersAt(out, addrs, HAProxyAPIPorts)) != 0 {
			t.Fatalf("servers left after removal:\n%q", out)
		}
	})
}
