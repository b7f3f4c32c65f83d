// Package buildinfo says what a day2 binary is: the version, commit and date
// the Makefile stamps into it (-ldflags -X), and the Go toolchain and client
// libraries it was built with, read from the binary's own build information.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped by the Makefile: -X github.com/day2ops/day2/internal/buildinfo.version=...
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// Modules whose versions an operator asks about: which Kubernetes and etcd
// client the binary speaks with.
const (
	ClientGoModule   = "k8s.io/client-go"
	EtcdClientModule = "go.etcd.io/etcd/client/v3"
)

// Info is what `day2 --version` prints.
type Info struct {
	Version, Commit, Date string
	Go, Platform          string
	ClientGo, EtcdClient  string
}

// Version is the stamped version ("dev" when built without the Makefile).
func Version() string { return version }

// Read collects the binary's build information. Without the Makefile's
// stamps (go build, go install), the commit and date come from the VCS
// information the go command records.
func Read() Info {
	i := Info{Version: version, Commit: commit, Date: date, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return i
	}
	vcs := map[string]string{}
	for _, s := range bi.Settings {
		vcs[s.Key] = s.Value
	}
	if i.Commit == "" {
		i.Commit = vcs["vcs.revision"]
		if i.Commit != "" && vcs["vcs.modified"] == "true" {
			i.Commit += "-dirty"
		}
	}
	if i.Date == "" {
		i.Date = vcs["vcs.time"]
	}
	for _, m := range bi.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		switch m.Path {
		case ClientGoModule:
			i.ClientGo = m.Version
		case EtcdClientModule:
			i.EtcdClient = m.Version
		}
	}
	return i
}

// String is the multi-line text of `day2 --version`.
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "day2 %s\n", i.Version)
	for _, l := range [][2]string{
		{"commit", i.Commit}, {"built", i.Date}, {"go", i.Go + " " + i.Platform},
		{"client-go", i.ClientGo}, {"etcd client", i.EtcdClient},
	} {
		if l[1] == "" {
			l[1] = "unknown"
		}
		fmt.Fprintf(&b, "%-12s %s\n", l[0]+":", l[1])
	}
	return b.String()
}
