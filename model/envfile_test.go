package model

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseEnvFile(t *testing.T) {
	conf := `# /etc/etcd/etcd.conf
ETCD_NAME=master-0.example.com
ETCD_DATA_DIR=/var/lib/etcd/
#ETCD_WAL_DIR=
export ETCD_LISTEN_CLIENT_URLS="https://192.168.55.8:2379"
ETCD_INITIAL_CLUSTER='a=https://x:2380,b=https://y:2380'
ETCD_QUOTA_BACKEND_BYTES=4294967296 # 4 GiB
EMPTY=
`
	got, err := ParseEnvFile([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ETCD_NAME":                "master-0.example.com",
		"ETCD_DATA_DIR":            "/var/lib/etcd/",
		"ETCD_LISTEN_CLIENT_URLS":  "https://192.168.55.8:2379",
		"ETCD_INITIAL_CLUSTER":     "a=https://x:2380,b=https://y:2380",
		"ETCD_QUOTA_BACKEND_BYTES": "4294967296",
		"EMPTY":                    "",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseEnvFile =\n%v\nwant\n%v", got, want)
	}
}

func TestParseEnvFileRejectsMalformed(t *testing.T) {
	for _, bad := range []string{"ETCD_NAME", "1ABC=x", "A-B=c", `A="unterminated`, `A="x" y`} {
		_, err := ParseEnvFile([]byte("OK=1\n" + bad + "\n"))
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("ParseEnvFile(%q) error = %v, want one naming line 2", bad, err)
		}
	}
}

func FuzzParseEnvFile(f *testing.F) {
	f.Add([]byte("ETCD_NAME=m0\nexport A='b'\n# c\n"))
	f.Add([]byte(`X="a b" # c`))
	f.Add([]byte(etcdPackagedConf))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvFile(data)
		if err != nil {
			return
		}
		for k := range env {
			if !validEnvKey(k) {
				t.Fatalf("accepted invalid key %q", k)
			}
		}
		// An edit of a file that reads reads back with the new value.
		value := `x "y" $z #w`
		out := SetEnvFileValues(data, EnvVar{"ETCD_NAME", value})
		if got, err := ParseEnvFile(out); err != nil || got["ETCD_NAME"] != value {
			t.Fatalf("after the edit: %q, %v\n%q", got["ETCD_NAME"], err, out)
		}
	})
}

// etcdPackagedConf is the etcd package's /etc/etcd/etcd.conf layout, with
// its section headers uncommented (as etcd 2's package shipped them and as
// hand-edited hosts keep them), quoted values, a comment after a quoted
// value, trailing blanks and a CRLF line: bash's `source` and systemd's
// EnvironmentFile= both read it.
const etcdPackagedConf = "[Member]\n" +
	"#ETCD_CORS=\"\"\n" +
	"ETCD_DATA_DIR=\"/var/lib/etcd/default.etcd\"   \n" +
	"ETCD_LISTEN_PEER_URLS=\"https://192.0.2.11:2380\"\n" +
	"ETCD_LISTEN_CLIENT_URLS=\"https://192.0.2.11:2379\" # clients\n" +
	"ETCD_NAME=\"master-0.example.com\"\r\n" +
	"#\n" +
	"[Clustering]\n" +
	"ETCD_INITIAL_ADVERTISE_PEER_URLS=\"https://192.0.2.11:2380\"\n" +
	"ETCD_ADVERTISE_CLIENT_URLS=\"https://192.0.2.11:2379\"\n" +
	"ETCD_INITIAL_CLUSTER=\"master-0.example.com=https://192.0.2.11:2380,master-1.example.com=https://192.0.2.12:2380\"\n" +
	"ETCD_INITIAL_CLUSTER_TOKEN=\"etcd-cluster\"\n" +
	"ETCD_INITIAL_CLUSTER_STATE=\"new\"\n" +
	"\n" +
	"[Security]\n" +
	"ETCD_CERT_FILE=\"/etc/etcd/server.crt\"\t\n" +
	"ETCD_KEY_FILE=\"/etc/etcd/server.key\"\n" +
	"ETCD_CLIENT_CERT_AUTH=\"true\"\n" +
	"ETCD_TRUSTED_CA_FILE=\"/etc/etcd/ca.crt\"\n" +
	"; systemd comment\n" +
	"ETCD_DEBUG=\"say \\\"hi\\\" \\$HOME\"\n" +
	"\n  \n"

func TestParseEnvFilePackagedForm(t *testing.T) {
	env, err := ParseEnvFile([]byte(etcdPackagedConf))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"ETCD_DATA_DIR":           "/var/lib/etcd/default.etcd",
		"ETCD_LISTEN_CLIENT_URLS": "https://192.0.2.11:2379",
		"ETCD_NAME":               "master-0.example.com",
		"ETCD_CERT_FILE":          "/etc/etcd/server.crt",
		"ETCD_INITIAL_CLUSTER":    "master-0.example.com=https://192.0.2.11:2380,master-1.example.com=https://192.0.2.12:2380",
		"ETCD_DEBUG":              `say "hi" $HOME`,
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if len(env) != 14 {
		t.Errorf("%d keys: %v", len(env), env)
	}
	// A header-like line with an assignment in it is still malformed.
	if _, err := ParseEnvFile([]byte("[A=b]\n")); err == nil {
		t.Error("[A=b] must not pass as a header")
	}
}

// Editing the packaged form keeps headers, quotes, comments and trailing
// blanks, and changes only the value.
func TestSetEnvFileValuesPackagedForm(t *testing.T) {
	out, value, err := SyncInitialCluster([]byte(etcdPackagedConf), []InitialClusterEntry{{"master-0.example.com", "https://192.0.2.11:2380"}})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(etcdPackagedConf, ",master-1.example.com=https://192.0.2.12:2380", "", 1)
	if string(out) != want || value != "master-0.example.com=https://192.0.2.11:2380" {
		t.Fatalf("got\n%s", out)
	}
	out = SetEnvFileValues([]byte(etcdPackagedConf),
		EnvVar{"ETCD_LISTEN_CLIENT_URLS", "https://192.0.2.21:2379"}, EnvVar{"ETCD_DATA_DIR", "/var/lib/etcd"}, EnvVar{"ETCD_DEBUG", `a "b"`})
	for _, l := range []string{
		"ETCD_LISTEN_CLIENT_URLS=\"https://192.0.2.21:2379\" # clients\n",
		"ETCD_DATA_DIR=\"/var/lib/etcd\"   \n",
		"ETCD_DEBUG=\"a \\\"b\\\"\"\n",
	} {
		if !strings.Contains(string(out), l) {
			t.Errorf("want line %q in\n%s", l, out)
		}
	}
	if env, err := ParseEnvFile(out); err != nil || env["ETCD_DEBUG"] != `a "b"` {
		t.Errorf("edited file reads back %q, %v", env["ETCD_DEBUG"], err)
	}
}
