//go:build tools

// Package tools pins etcd 3.5's server, etcdctl and etcdutl (OpenShift 4's
// etcd) in this module.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/etcdutl/v3"
	_ "go.etcd.io/etcd/server/v3"
)
