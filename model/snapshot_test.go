package model

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBackupSetNames(t *testing.T) {
	at := time.Date(2021, 6, 25, 19, 0, 35, 0, time.UTC)
	s := NewBackupSet(at, false)
	if s.Snapshot != "snapshot_2021-06-25_190035.db" || s.StaticResources != "static_kuberesources_2021-06-25_190035.tar.gz" ||
		s.Manifest != "snapshot_2021-06-25_190035.json" || s.EtcdConfig != "etcd-config_2021-06-25_190035.tar.gz" {
		t.Errorf("names: %+v", s)
	}
	d := NewBackupSet(at, true)
	if d.Snapshot != "snapshot_2021-06-25_190035__POSSIBLY_DIRTY__.db" || d.StaticResources != "static_kuberesources_2021-06-25_190035__POSSIBLY_DIRTY__.tar.gz" {
		t.Errorf("dirty names: %+v", d)
	}
	if ManifestFor(d.Snapshot) != "snapshot_2021-06-25_190035__POSSIBLY_DIRTY__.json" {
		t.Errorf("manifest for %s: %s", d.Snapshot, ManifestFor(d.Snapshot))
	}
}

func fileNames(files []BackupFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}

func TestPlanRetention(t *testing.T) {
	set := func(stamp string) []string {
		return []string{"snapshot_" + stamp + ".db", "snapshot_" + stamp + ".json", "etcd-config_" + stamp + ".tar.gz",
			"etcd-config_" + stamp + ".tar.gz.sha256", "static_kuberesources_" + stamp + ".tar.gz"}
	}
	var all []string
	for _, s := range []string{"2024-01-03_000000", "2024-01-01_000000", "2024-01-02_000000__POSSIBLY_DIRTY__"} {
		all = append(all, set(s)...)
	}
	all = append(all, "notes.txt", "snapshot_latest.db", "snapshot_2024-01-01_000000.db.part")
	got := PlanRetention(all, 2)
	want := append(set("2024-01-01_000000"), "snapshot_2024-01-01_000000.db.part")
	if !reflect.DeepEqual(sortedCopy(fileNames(got.Remove)), sortedCopy(want)) || len(got.Keep) != 0 {
		t.Errorf("keep 2: %+v, want to remove %v", got, want)
	}
	if got := PlanRetention(all, 0); got.Remove != nil || got.Keep != nil {
		t.Errorf("keep 0 keeps all: %+v", got)
	}
	if got := PlanRetention(all, 5); len(got.Remove) != 1 || got.Remove[0].Name != "snapshot_2024-01-01_000000.db.part" {
		t.Errorf("keep 5 of 3 removes only the old .part: %+v", got)
	}
	if got := PlanRetention(all, 1); len(got.Remove) != 11 {
		t.Errorf("keep 1: %+v", got)
	}

	// Snapshots never verified (no manifest) do not count towards keep: the
	// only verified backup stays, however many newer unverified ones there
	// are; older unverified ones and .part leftovers go, named as such;
	// newer ones are listed and kept.
	only := set("2024-02-01_000000")
	dir := append(slices.Clone(only),
		"snapshot_2024-02-02_000000.db", "snapshot_2024-02-03_000000.db", "etcd-config_2024-02-03_000000.tar.gz",
		"snapshot_2024-02-04_000000.db.part", "snapshot_2024-01-31_000000.db", "snapshot_2024-01-30_000000.db.part")
	got = PlanRetention(dir, 1)
	if rm := fileNames(got.Remove); !reflect.DeepEqual(rm, []string{"snapshot_2024-01-30_000000.db.part", "snapshot_2024-01-31_000000.db"}) {
		t.Errorf("keep 1 with newer unverified snapshots: remove %v", rm)
	}
	for _, f := range got.Remove {
		if !strings.Contains(f.Why, "older than the newest verified backup snapshot_2024-02-01_000000.db") {
			t.Errorf("%s: %q", f.Name, f.Why)
		}
	}
	kept := fileNames(got.Keep)
	if !reflect.DeepEqual(kept, []string{"etcd-config_2024-02-03_000000.tar.gz", "snapshot_2024-02-02_000000.db", "snapshot_2024-02-03_000000.db", "snapshot_2024-02-04_000000.db.part"}) ||
		!strings.Contains(got.Keep[1].Why, "never verified") || !strings.Contains(got.Keep[3].Why, "interrupted write") {
		t.Errorf("listed and kept: %+v", got.Keep)
	}
	// Without any verified backup nothing is removed.
	if got := PlanRetention(dir[len(only):], 1); len(got.Remove) != 0 || len(got.Keep) != 6 {
		t.Errorf("no verified backup: %+v", got)
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestBackupBlockers(t *testing.T) {
	ops := []OperatorStatus{
		{Name: "etcd", Progressing: true, Message: "NodeInstallerProgressing: 1 nodes are at revision 3; 2 nodes are at revision 4"},
		{Name: "kube-apiserver"},
		{Name: "kube-scheduler", Progressing: true},
		{Name: "console", Progressing: true},
	}
	got := BackupBlockers(ops)
	if len(got) != 2 || !strings.Contains(got[0], "etcd operator is Progressing (NodeInstallerProgressing") || !strings.Contains(got[1], "kube-scheduler") {
		t.Errorf("blockers: %v", got)
	}
	if got := BackupBlockers(ops[1:2]); got != nil {
		t.Errorf("settled operators block: %v", got)
	}
}

func TestLatestStaticPodDirs(t *testing.T) {
	got := LatestStaticPodDirs([]string{"kube-apiserver-pod-6", "kube-apiserver-pod-10", "kube-apiserver-certs", "etcd-pod-3",
		"kube-controller-manager-pod-7", "kube-scheduler-pod-6", "kube-scheduler-pod-x", "etcd-certs"})
	want := []string{"kube-apiserver-pod-10", "kube-controller-manager-pod-7", "kube-scheduler-pod-6", "etcd-pod-3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

const conf311 = `ETCD_NAME=master-0.example.com
ETCD_DATA_DIR=/var/lib/etcd/
ETCD_LISTEN_CLIENT_URLS=https://10.0.0.1:2379
ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.0.0.1:2380
export ETCD_INITIAL_CLUSTER="master-0.example.com=https://10.0.0.1:2380,master-1.example.com=https://10.0.0.2:2380"
ETCD_INITIAL_CLUSTER_STATE=existing
#ETCD_INITIAL_CLUSTER_TOKEN=commented
ETCD_ADVERTISE_CLIENT_URLS=https://10.0.0.1:2379
`

func TestRestoredEtcdConf(t *testing.T) {
	env, err := ParseEnvFile([]byte(conf311))
	if err != nil {
		t.Fatal(err)
	}
	c, err := EtcdHostConfFrom(env)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/var/lib/etcd" || c.SoloInitialCluster() != "master-0.example.com=https://10.0.0.1:2380" {
		t.Errorf("conf: %+v", c)
	}
	out, err := RestoredEtcdConf([]byte(conf311), c.SoloInitialCluster(), "restore-1")
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		`export ETCD_INITIAL_CLUSTER="master-0.example.com=https://10.0.0.1:2380"` + "\n",
		"ETCD_INITIAL_CLUSTER_STATE=new\n", "#ETCD_INITIAL_CLUSTER_TOKEN=commented\n", "ETCD_INITIAL_CLUSTER_TOKEN=restore-1\n",
		"ETCD_NAME=master-0.example.com\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	if _, err := EtcdHostConfFrom(map[string]string{"ETCD_NAME": "x"}); err == nil {
		t.Error("a conf without peer URLs must be refused")
	}
	if _, err := EtcdHostConfFrom(map[string]string{"ETCD_NAME": "x", "ETCD_INITIAL_ADVERTISE_PEER_URLS": "https://a:2380", "ETCD_DATA_DIR": "/"}); err == nil {
		t.Error("a data dir of / must be refused")
	}
}

func probe(name string, ser, lin bool, index uint64) QuorumProbe {
	return QuorumProbe{Member: EtcdMember{Name: name, RaftIndex: index}, Serializable: ser, Linearizable: lin}
}

func TestQuorumLostAndSurvivor(t *testing.T) {
	lost := []QuorumProbe{probe("a", true, false, 90), probe("b", true, false, 120), probe("c", false, false, 0)}
	if err := QuorumLostCheck(lost); err != nil {
		t.Errorf("lost: %v", err)
	}
	m, why, err := RecommendSurvivor(lost)
	if err != nil || m.Name != "b" || !strings.Contains(why, "b raft index 120, a raft index 90") {
		t.Errorf("survivor %s (%s) %v", m.Name, why, err)
	}
	held := []QuorumProbe{probe("a", true, true, 10), probe("b", true, true, 10), probe("c", false, false, 0)}
	if err := QuorumLostCheck(held); err == nil || !strings.Contains(err.Error(), "quorum holds (2 of 3") {
		t.Errorf("held: %v", err)
	}
	learner := probe("d", true, true, 10)
	learner.Member.Learner = true
	if err := QuorumLostCheck(append(lost, learner)); err != nil {
		t.Errorf("a learner does not make quorum: %v", err)
	}
	if _, _, err := RecommendSurvivor([]QuorumProbe{probe("a", false, false, 0)}); err == nil {
		t.Error("no member answers: no survivor")
	}
}
