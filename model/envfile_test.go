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
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvFile(data)
		if err == nil {
			for k := range env {
				if !validEnvKey(k) {
					t.Fatalf("accepted invalid key %q", k)
				}
			}
		}
	})
}
