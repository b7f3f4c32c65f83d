package model

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// EtcdHostConf is the member an etcd.conf (OpenShift 3.11) describes.
type EtcdHostConf struct {
	Name string
	// DataDir is the host path of the data directory (cleaned, no
	// trailing slash).
	DataDir                      string
	PeerURLs                     []string // ETCD_INITIAL_ADVERTISE_PEER_URLS
	ClientURLs                   []string // ETCD_ADVERTISE_CLIENT_URLS
	InitialCluster, State, Token string
}

// EtcdHostConfFrom reads the member out of a parsed etcd.conf.
func EtcdHostConfFrom(env map[string]string) (EtcdHostConf, error) {
	c := EtcdHostConf{
		Name: env["ETCD_NAME"], DataDir: env["ETCD_DATA_DIR"],
		PeerURLs: splitURLs(env["ETCD_INITIAL_ADVERTISE_PEER_URLS"]), ClientURLs: splitURLs(env["ETCD_ADVERTISE_CLIENT_URLS"]),
		InitialCluster: env["ETCD_INITIAL_CLUSTER"], State: env["ETCD_INITIAL_CLUSTER_STATE"], Token: env["ETCD_INITIAL_CLUSTER_TOKEN"],
	}
	if c.DataDir == "" {
		c.DataDir = "/var/lib/etcd" // etcd's default in the 3.11 package
	}
	c.DataDir = path.Clean(c.DataDir)
	switch {
	case c.Name == "":
		return c, errors.New("no ETCD_NAME")
	case len(c.PeerURLs) == 0:
		return c, errors.New("no ETCD_INITIAL_ADVERTISE_PEER_URLS")
	case !path.IsAbs(c.DataDir) || c.DataDir == "/":
		return c, fmt.Errorf("ETCD_DATA_DIR %q is not a data directory path", c.DataDir)
	}
	return c, nil
}

func splitURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// SoloInitialCluster is the ETCD_INITIAL_CLUSTER of a one-member cluster of
// this member: name=peerURL for each of its peer URLs.
func (c EtcdHostConf) SoloInitialCluster() string {
	entries := make([]InitialClusterEntry, len(c.PeerURLs))
	for i, u := range c.PeerURLs {
		entries[i] = InitialClusterEntry{Name: c.Name, PeerURL: u}
	}
	return FormatInitialCluster(entries)
}

// RestoredEtcdConf sets an etcd.conf up for the one-member cluster a restore
// creates (seed 003 §5.4.2.2: "obtain the values from your backup etcd.conf"):
// ETCD_INITIAL_CLUSTER to this member alone, state new, the restore's new
// cluster token. Every other line stays as it was.
func RestoredEtcdConf(conf []byte, initialCluster, token string) ([]byte, error) {
	out := SetEnvFileValues(conf,
		EnvVar{"ETCD_INITIAL_CLUSTER", initialCluster}, EnvVar{"ETCD_INITIAL_CLUSTER_STATE", "new"}, EnvVar{"ETCD_INITIAL_CLUSTER_TOKEN", token})
	if _, err := ParseEnvFile(out); err != nil {
		return nil, err
	}
	return out, nil
}

// QuorumProbe is what one member answered when quorum is in doubt.
type QuorumProbe struct {
	Member EtcdMember
	// Serializable: a serializable read succeeded, so the member is up and
	// answers from its own data. Linearizable: a linearizable read
	// succeeded, so it reaches a quorum.
	Serializable, Linearizable bool
	Err                        string
}

// QuorumLostCheck decides whether a quorum recovery is called for (seed 004,
// seed 001 §5.3.1): no voting member can serve a linearizable read. With
// quorum held it says to replace the failed members instead.
func QuorumLostCheck(probes []QuorumProbe) error {
	voters, ok := 0, 0
	for _, p := range probes {
		if p.Member.Learner {
			continue
		}
		voters++
		if p.Linearizable {
			ok++
		}
	}
	if voters == 0 {
		return errors.New("no voting member is known: is etcd reachable from here?")
	}
	if ok > 0 && ok >= QuorumSize(voters) {
		return fmt.Errorf("quorum holds (%d of %d voting members serve linearizable reads): replace the failed members (etcd-replace-member) instead of restoring (seed 001 §5.3.1 note)", ok, voters)
	}
	return nil
}

// RecommendSurvivor picks the member to rebuild the cluster on: of the
// voting members that still answer, the one with the newest data (highest
// raft index, then applied index, then term). The reason lists everyone's
// index so the operator sees the choice.
func RecommendSurvivor(probes []QuorumProbe) (EtcdMember, string, error) {
	var alive []EtcdMember
	for _, p := range probes {
		if p.Serializable && !p.Member.Learner {
			alive = append(alive, p.Member)
		}
	}
	if len(alive) == 0 {
		return EtcdMember{}, "", errors.New("no voting member answers: only a snapshot can bring the cluster back")
	}
	sort.SliceStable(alive, func(i, j int) bool {
		a, b := alive[i], alive[j]
		if a.RaftIndex != b.RaftIndex {
			return a.RaftIndex > b.RaftIndex
		}
		if a.RaftAppliedIndex != b.RaftAppliedIndex {
			return a.RaftAppliedIndex > b.RaftAppliedIndex
		}
		return a.RaftTerm > b.RaftTerm
	})
	parts := make([]string, len(alive))
	for i, m := range alive {
		parts[i] = fmt.Sprintf("%s raft index %d", m.Name, m.RaftIndex)
	}
	return alive[0], fmt.Sprintf("%s has the newest data (%s)", alive[0].Name, strings.Join(parts, ", ")), nil
}
