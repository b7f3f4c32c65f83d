// Command etcd is etcd 3.3's server, as OpenShift 3.11 masters run it.
package main

import "github.com/coreos/etcd/etcdmain"

func main() { etcdmain.Main() }
