package model

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestSetEnvFileValues(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		vars       []EnvVar
		want       string
	}{
		{"replace keeps the rest", "A=1\n# c\nB=2\n", []EnvVar{{"B", "3"}}, "A=1\n# c\nB=3\n"},
		{"quoting and export kept", "export A=\"x\"\n  B='y'\n", []EnvVar{{"A", "1"}, {"B", "2"}}, "export A=\"1\"\n  B='2'\n"},
		{"commented key is appended", "#A=1\nB=2", []EnvVar{{"A", "9"}}, "#A=1\nB=2\nA=9\n"},
		{"every occurrence", "A=1\nA=2\n", []EnvVar{{"A", "3"}}, "A=3\nA=3\n"},
		{"value with a space is quoted", "A=1\n", []EnvVar{{"A", "a b"}, {"C", "x #y"}}, "A=\"a b\"\nC=\"x #y\"\n"},
		{"CRLF kept", "A=1\r\nB=2\r\n", []EnvVar{{"A", "0"}}, "A=0\r\nB=2\r\n"},
		{"empty file", "", []EnvVar{{"A", "1"}}, "A=1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(SetEnvFileValues([]byte(tc.conf), tc.vars...))
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			env, err := ParseEnvFile([]byte(got))
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tc.vars {
				if env[v.Key] != v.Value {
					t.Errorf("%s = %q after the edit, want %q", v.Key, env[v.Key], v.Value)
				}
			}
		})
	}
}

func TestSyncInitialCluster(t *testing.T) {
	a, b, c, d := InitialClusterEntry{"m0", "https://a:2380"}, InitialClusterEntry{"m1", "https://b:2380"},
		InitialClusterEntry{"m2", "https://c:2380"}, InitialClusterEntry{"m3", "https://d:2380"}
	three := "ETCD_NAME=m0\nETCD_INITIAL_CLUSTER=m0=https://a:2380,m1=https://b:2380,m2=https://c:2380\nETCD_DATA_DIR=/var/lib/etcd/\n"
	for _, tc := range []struct {
		name, conf string
		members    []InitialClusterEntry
		want       string
		value      string
		err        string
	}{
		{"drop a removed member (seed 003 §5.2.1.4)", three, []InitialClusterEntry{a, b},
			"ETCD_NAME=m0\nETCD_INITIAL_CLUSTER=m0=https://a:2380,m1=https://b:2380\nETCD_DATA_DIR=/var/lib/etcd/\n", "m0=https://a:2380,m1=https://b:2380", ""},
		{"keep order, append the new one", three, []InitialClusterEntry{d, c, b, a},
			"ETCD_NAME=m0\nETCD_INITIAL_CLUSTER=m0=https://a:2380,m1=https://b:2380,m2=https://c:2380,m3=https://d:2380\nETCD_DATA_DIR=/var/lib/etcd/\n", "m0=https://a:2380,m1=https://b:2380,m2=https://c:2380,m3=https://d:2380", ""},
		{"a member rebuilt on a new peer URL", three, []InitialClusterEntry{a, b, {"m2", "https://e:2380"}},
			"ETCD_NAME=m0\nETCD_INITIAL_CLUSTER=m0=https://a:2380,m1=https://b:2380,m2=https://e:2380\nETCD_DATA_DIR=/var/lib/etcd/\n", "m0=https://a:2380,m1=https://b:2380,m2=https://e:2380", ""},
		{"quoting kept", `ETCD_INITIAL_CLUSTER="m0=https://a:2380,m1=https://b:2380"` + "\n", []InitialClusterEntry{b},
			`ETCD_INITIAL_CLUSTER="m1=https://b:2380"` + "\n", "m1=https://b:2380", ""},
		{"no change", three, []InitialClusterEntry{a, b, c}, three, "m0=https://a:2380,m1=https://b:2380,m2=https://c:2380", ""},
		{"a commented line is no setting", "#ETCD_INITIAL_CLUSTER=x\n", []InitialClusterEntry{a}, "", "", "no ETCD_INITIAL_CLUSTER"},
		{"malformed file", "not an assignment\n", []InitialClusterEntry{a}, "", "", "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, value, err := SyncInitialCluster([]byte(tc.conf), tc.members)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want || value != tc.value {
				t.Fatalf("got %q / %q / %v\nwant %q / %q", got, value, err, tc.want, tc.value)
			}
		})
	}
}

func TestNewMemberConf(t *testing.T) {
	// A copy of a member's etcd.conf turned into the new host's (seed 003
	// §5.4.4.2: "Copy the current etcd configuration ... Replace the
	// following values").
	old := "ETCD_NAME=m0\nETCD_LISTEN_PEER_URLS=https://a:2380\nETCD_DATA_DIR=/var/lib/etcd/\nETCD_LISTEN_CLIENT_URLS=https://a:2379\n" +
		"ETCD_INITIAL_ADVERTISE_PEER_URLS=https://a:2380\nETCD_INITIAL_CLUSTER=m0=https://a:2380\nETCD_INITIAL_CLUSTER_STATE=new\n" +
		"ETCD_ADVERTISE_CLIENT_URLS=https://a:2379\nETCD_PEER_CERT_FILE=/etc/etcd/peer.crt\n"
	conf := SetEnvFileValues([]byte(old), NewMemberConf("m3", []string{"https://d:2380"}, []string{"https://d:2379"}, "m0=https://a:2380,m3=https://d:2380")...)
	env, err := ParseEnvFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ETCD_NAME": "m3", "ETCD_INITIAL_CLUSTER": "m0=https://a:2380,m3=https://d:2380", "ETCD_INITIAL_CLUSTER_STATE": "existing",
		"ETCD_LISTEN_PEER_URLS": "https://d:2380", "ETCD_INITIAL_ADVERTISE_PEER_URLS": "https://d:2380",
		"ETCD_LISTEN_CLIENT_URLS": "https://d:2379", "ETCD_ADVERTISE_CLIENT_URLS": "https://d:2379",
		"ETCD_DATA_DIR": "/var/lib/etcd/", "ETCD_PEER_CERT_FILE": "/etc/etcd/peer.crt",
	}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("new member conf:\n%v\nwant\n%v", env, want)
	}
	if strings.Count(string(conf), "\n") != strings.Count(old, "\n") {
		t.Errorf("every key existed: no line may be added:\n%s", conf)
	}
}

func TestEditURLList(t *testing.T) {
	for _, tc := range []struct {
		list        string
		remove, add []string
		want        string
	}{
		{"https://a:2379,https://b:2379,https://c:2379", []string{"https://b:2379"}, nil, "https://a:2379,https://c:2379"},
		{"https://a:2379, https://b:2379", nil, []string{"https://d:2379"}, "https://a:2379,https://b:2379,https://d:2379"},
		{"https://a:2379", []string{"https://a:2379"}, []string{"https://a:2379"}, "https://a:2379"},
		{"", nil, []string{"https://a:2379"}, "https://a:2379"},
	} {
		if got := EditURLList(tc.list, tc.remove, tc.add); got != tc.want {
			t.Errorf("EditURLList(%q, -%v, +%v) = %q, want %q", tc.list, tc.remove, tc.add, got, tc.want)
		}
	}
}

const masterConfig = `apiVersion: v1
kind: MasterConfig
etcdClientInfo:
  ca: master.etcd-ca.crt
  certFile: master.etcd-client.crt
  keyFile: master.etcd-client.key
  urls:
  - https://master-0.example.com:2379
  - https://master-1.example.com:2379
  - https://master-2.example.com:2379
etcdConfig:
  urls:
  - https://not-this-one:2379
imagePolicyConfig:
  internalRegistryHostname: docker-registry.default.svc:5000
`

func TestEditEtcdClientURLs(t *testing.T) {
	for _, tc := range []struct {
		name, cfg   string
		remove, add []string
		want        []string
		err         string
	}{
		{"remove a failed host (seed 003 §5.4.5)", masterConfig, []string{"https://master-2.example.com:2379"}, nil,
			[]string{"https://master-0.example.com:2379", "https://master-1.example.com:2379"}, ""},
		{"add a new host (seed 003 §5.4.4.2)", masterConfig, nil, []string{"https://etcd0.example.com:2379"},
			[]string{"https://master-0.example.com:2379", "https://master-1.example.com:2379", "https://master-2.example.com:2379", "https://etcd0.example.com:2379"}, ""},
		{"replace one", masterConfig, []string{"https://master-1.example.com:2379"}, []string{"https://etcd0.example.com:2379"},
			[]string{"https://master-0.example.com:2379", "https://master-2.example.com:2379", "https://etcd0.example.com:2379"}, ""},
		{"deeper list indentation, quoted items, last in file", "etcdClientInfo:\n  urls:\n    - \"https://a:2379\"\n    - 'https://b:2379'", []string{"https://a:2379"}, nil,
			[]string{"https://b:2379"}, ""},
		{"flow list is edited by hand", "etcdClientInfo:\n  urls: [https://a:2379]\n", nil, []string{"https://b:2379"}, nil, "not a block list"},
		{"no section", "kind: MasterConfig\n", nil, []string{"https://b:2379"}, nil, "no etcdClientInfo"},
		{"no urls", "etcdClientInfo:\n  ca: x\nurls:\n- y\n", nil, []string{"https://b:2379"}, nil, "has no urls"},
		{"never empty", "etcdClientInfo:\n  urls:\n  - https://a:2379\n", []string{"https://a:2379"}, nil, nil, "would be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, urls, err := EditEtcdClientURLs([]byte(tc.cfg), tc.remove, tc.add)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(urls, tc.want) {
				t.Fatalf("urls = %v (%v), want %v", urls, err, tc.want)
			}
			// What a YAML reader sees is the new list, and nothing else moved.
			var before, after map[string]any
			if err := yaml.Unmarshal([]byte(tc.cfg), &before); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(out, &after); err != nil {
				t.Fatalf("edited file is not YAML: %v\n%s", err, out)
			}
			var got []string
			for _, u := range after["etcdClientInfo"].(map[string]any)["urls"].([]any) {
				got = append(got, u.(string))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("YAML urls = %v, want %v\n%s", got, tc.want, out)
			}
			before["etcdClientInfo"].(map[string]any)["urls"] = nil
			after["etcdClientInfo"].(map[string]any)["urls"] = nil
			if !reflect.DeepEqual(before, after) {
				t.Errorf("the edit changed more than etcdClientInfo.urls:\n%s", out)
			}
		})
	}
}
