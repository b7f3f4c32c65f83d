//go:build tools

// Package tools pins etcd 3.3's etcdctl in this module.
package tools

import _ "github.com/coreos/etcd/etcdctl"
