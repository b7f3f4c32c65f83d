#!/usr/bin/env bash
# Enforces the layering of DESIGN.md mechanically: model is pure; adapters and
# ops never reach the UI; the UI never calls client-go, the etcd client or an
# adapter directly (it goes through ops).
set -euo pipefail
mod=github.com/day2ops/day2
fail=0

# deny WHAT PATTERN PACKAGES...: no package in PACKAGES may depend on PATTERN.
deny() {
	local field=$1 pattern=$2; shift 2
	local hits
	hits=$(go list -f "{{.ImportPath}}: {{join .$field \" \"}}" "$@" | tr ' ' '\n' | grep -E "$pattern" | sort -u || true)
	if [[ -n $hits ]]; then
		echo "layering: $* must not depend on $pattern, but pulls in:" >&2
		echo "$hits" | sed 's/^/  /' >&2
		fail=1
	fi
}

deny Deps "^($mod/(internal|ops|ui)|k8s\.io/client-go|go\.etcd\.io/etcd/client|charm\.land/)" ./model/...
deny Deps "^(charm\.land/|$mod/ui)" ./internal/... ./ops/...
deny Deps "^$mod/ops" ./internal/...
deny Imports "^(k8s\.io/client-go|go\.etcd\.io/etcd/client|$mod/internal)" ./ui
exit $fail
