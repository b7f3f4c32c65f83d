#!/usr/bin/env bash
# Builds the control-plane binaries the local cluster runs (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, etcd, etcdctl, etcdutl, kwok,
# and the CNCF distribution registry that plays the integrated registry) from
# the pinned tool modules beside this script, into a cache outside the clone
# keyed by the modules' go.mod/go.sum and the Go version, so a fresh clone
# on a machine that built them once reuses them. Idempotent; prints what it
# builds and how long it took. Prints the binary directory on the last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# Bump recipe when a change to this script changes what it builds.
recipe=3
key=$( { echo "$recipe"; go env GOVERSION; cat "$here"/k8s/go.mod "$here"/k8s/go.sum "$here"/etcd/go.mod "$here"/etcd/go.sum \
	"$here"/kwok/go.mod "$here"/kwok/go.sum; } | sha256sum | cut -c1-12)
dest=${DAY2_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/day2/tools/$key}
mkdir -p "$dest"

k8s_version=$(cd "$here/k8s" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
k8s_minor=$(echo "$k8s_version" | cut -d. -f2)
# Stamp the Kubernetes binaries with their release (an unstamped build reports
# v0.0.0); kwok and etcd carry their own versions.
k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version \
 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version \
 -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$k8s_minor"

# The registry module is keyed on its own, by a stamp beside its binary, so
# adding or bumping it never rebuilds the control plane.
registry_key=$(cat "$here"/registry/go.mod "$here"/registry/go.sum | sha256sum | cut -c1-12)
# The older etcd releases (3.3 as OpenShift 3.11 runs it, 3.5 as OpenShift 4
# does) are keyed the same way, each into a directory of its own.
etcd33_key=$(cat "$here"/etcd33/go.mod "$here"/etcd33/go.sum "$here"/etcd33/cmd/etcd/main.go | sha256sum | cut -c1-12)
etcd35_key=$(cat "$here"/etcd35/go.mod "$here"/etcd35/go.sum | sha256sum | cut -c1-12)

# build MODULE_DIR OUTPUT PACKAGE [STAMP]: builds one binary unless it is
# already cached (with STAMP: and $dest/OUTPUT.stamp holds it).
build() {
	local dir=$1 out=$2 pkg=$3 stamp=${4:-} ldflags="-s -w"
	[[ $dir == k8s ]] && ldflags=$k8s_ldflags
	if [[ -x "$dest/$out" && ( -z $stamp || $(cat "$dest/$out.stamp" 2>/dev/null) == "$stamp" ) ]]; then
		echo "tools: $out cached" >&2
		return
	fi
	echo "tools: building $out from $pkg ..." >&2
	local start=$SECONDS
	mkdir -p "$(dirname "$dest/$out")"
	(cd "$here/$dir" && go build -ldflags "$ldflags" -o "$dest/$out.tmp.$$" "$pkg")
	mv "$dest/$out.tmp.$$" "$dest/$out"
	[[ -z $stamp ]] || echo "$stamp" >"$dest/$out.stamp"
	echo "tools: built $out in $((SECONDS - start))s" >&2
}

total=$SECONDS
build k8s kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build k8s kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build k8s kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
build k8s kubectl k8s.io/kubernetes/cmd/kubectl
build etcd etcd go.etcd.io/etcd/server/v3
build etcd etcdctl go.etcd.io/etcd/etcdctl/v3
build etcd etcdutl go.etcd.io/etcd/etcdutl/v3
build kwok kwok sigs.k8s.io/kwok/cmd/kwok
build registry registry github.com/distribution/distribution/v3/cmd/registry "$registry_key"
build etcd33 etcd-3.3/etcd ./cmd/etcd "$etcd33_key"
build etcd33 etcd-3.3/etcdctl github.com/coreos/etcd/etcdctl "$etcd33_key"
build etcd35 etcd-3.5/etcd go.etcd.io/etcd/server/v3 "$etcd35_key"
build etcd35 etcd-3.5/etcdctl go.etcd.io/etcd/etcdctl/v3 "$etcd35_key"
build etcd35 etcd-3.5/etcdutl go.etcd.io/etcd/etcdutl/v3 "$etcd35_key"
echo "tools: ready in $((SECONDS - total))s" >&2
echo "$dest"
