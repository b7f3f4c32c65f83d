package model

import (
	"reflect"
	"strings"
	"testing"
)

const haproxyCfg = `global
    maxconn 20000

backend mgmt8443
    balance source
    mode tcp
    # MASTERS 8443
    server master-0.example.com 192.168.55.8:8443 check
    server master-1.example.com 192.168.55.12:8443 check

backend router80
    balance source
    server infra-1.example.com 192.168.55.12:80 check
    server infra-2.example.com 192.168.55.13:80 check
	server infra-1.example.com-old 192.168.55.99:80 check

listen stats
    server infra-1.example.com 10.0.0.1:9000
backend router443
    server infra-1.example.com 192.168.55.12:443 check
    server infra-2.example.com 192.168.55.13:443 check
`

func TestRemoveHAProxyServer(t *testing.T) {
	got, n := RemoveHAProxyServer(haproxyCfg, []string{"router80", "router443"}, "infra-1.example.com")
	if n != 2 {
		t.Fatalf("removed %d lines, want 2", n)
	}
	if !reflect.DeepEqual(HAProxyServers(got, "router80"), []string{"infra-2.example.com", "infra-1.example.com-old"}) ||
		!reflect.DeepEqual(HAProxyServers(got, "router443"), []string{"infra-2.example.com"}) {
		t.Fatalf("wrong servers left:\n%s", got)
	}
	if !strings.Contains(got, "listen stats\n    server infra-1.example.com 10.0.0.1:9000") {
		t.Error("a server of the same name in another section must stay")
	}
	if len(HAProxyServers(got, "mgmt8443")) != 2 {
		t.Error("other backends must stay untouched")
	}
	// Everything else is byte-identical.
	if strings.Count(haproxyCfg, "\n")-strings.Count(got, "\n") != 2 {
		t.Error("only the two server lines may go")
	}
	if again, n := RemoveHAProxyServer(got, []string{"router80", "router443"}, "infra-1.example.com"); n != 0 || again != got {
		t.Error("removing again must change nothing")
	}
	if _, n := RemoveHAProxyServer(haproxyCfg, []string{"mgmt8443"}, "master-0.example.com"); n != 1 {
		t.Error("mgmt8443 master removal")
	}
}
