package localcluster

import (
	"fmt"
	"strings"
	"time"
)

// Layout of an OpenShift 3.11 master that the local cluster imitates
// (seed 003 §4.1, §5.2.1, §5.4). Paths are relative to a host root.
const (
	EtcdConfPath      = "etc/etcd/etcd.conf"
	StaticPodsDir     = "etc/origin/node/pods"
	EtcdManifest      = StaticPodsDir + "/etcd.yaml"
	MasterConfigPath  = "etc/origin/master/master-config.yaml"
	AdminKubeconfig   = "etc/origin/master/admin.kubeconfig"
	HAProxyConfigPath = "etc/haproxy/haproxy.cfg"
	EtcdDataDir       = "var/lib/etcd"
)

// hostInfo is what a master's host root is generated from.
type hostInfo struct {
	index     int    // within its role
	role      string // RoleMaster, RoleInfra or RoleCompute
	name      string
	ip        string // the node's InternalIP: data only, nothing connects to it
	clientURL string
	peerURL   string
}

// certAuthorities are the CAs shared by every master.
type certAuthorities struct {
	master *ca // openshift-signer: API serving and client certificates
	etcd   *ca // etcd peer, server and client certificates
}

// expiry spread for the generated master certificates, so the certificates
// pane has something to warn about: one expired, one within the critical
// window, one within the warning window, the rest about a year, CAs 5 years.
func leafExpiry(name string, now time.Time) time.Time {
	switch name {
	case "openshift-router":
		return now.Add(-3 * 24 * time.Hour)
	case "registry":
		return now.Add(5*24*time.Hour + time.Hour)
	case "master.proxy-client":
		return now.Add(25*24*time.Hour + time.Hour)
	default:
		return now.Add(365 * 24 * time.Hour)
	}
}

// hostRoot builds the files of master h. all lists every master (for
// ETCD_INITIAL_CLUSTER, haproxy backends and etcdClientInfo); infra lists the
// infra nodes (router backends).
func hostRoot(root string, h hostInfo, all []hostInfo, infra []hostInfo, cas certAuthorities, apiURL string, now time.Time) (*fileSet, error) {
	fs := newFileSet(root)
	prof := profileOf(h)
	issue := newIssuer(fs, h, now)

	// etcd: per-member server and peer certificates signed by the etcd CA.
	fs.add("etc/etcd/ca.crt", cas.etcd.certPEM)
	if _, err := issue(cas.etcd, "etc/etcd/server", h.name, nil, true, true); err != nil {
		return nil, err
	}
	if _, err := issue(cas.etcd, "etc/etcd/peer", h.name, nil, true, true); err != nil {
		return nil, err
	}
	fs.add(EtcdConfPath, []byte(etcdConf(h, all)))
	fs.add(EtcdManifest, []byte(etcdStaticPod))
	if h.index == 0 {
		// The first master is the CA host (seed 003 §5.2.1.3): it alone holds
		// the etcd CA and ca.serial.txt.
		fs.add("etc/etcd/ca/ca.crt", cas.etcd.certPEM)
		fs.add("etc/etcd/ca/ca.key", cas.etcd.keyPEM)
		fs.add("etc/origin/master/ca.serial.txt", []byte("0B\n"))
	}

	// /etc/origin/master
	m := "etc/origin/master/"
	fs.add(m+"ca.crt", cas.master.certPEM)
	fs.add(m+"ca.key", cas.master.keyPEM)
	fs.add(m+"ca-bundle.crt", cas.master.certPEM)
	fs.add(m+"master.etcd-ca.crt", cas.etcd.certPEM)
	fs.add(m+"service-signer.crt", cas.master.certPEM)
	fs.add(m+"service-signer.key", cas.master.keyPEM)
	admin, err := issue(cas.master, m+"admin", "system:admin", []string{"system:masters"}, false, true)
	if err != nil {
		return nil, err
	}
	kc, err := kubeconfig(apiURL, "default/"+h.name, "system:admin", cas.master.certPEM, admin)
	if err != nil {
		return nil, err
	}
	fs.add(AdminKubeconfig, kc)
	loop, err := issue(cas.master, m+"openshift-master", "system:openshift-master", []string{"system:masters"}, false, true)
	if err != nil {
		return nil, err
	}
	if kc, err = kubeconfig(apiURL, "default/"+h.name, "system:openshift-master", cas.master.certPEM, loop); err != nil {
		return nil, err
	}
	fs.add(m+"openshift-master.kubeconfig", kc)
	for _, c := range []struct {
		rel, cn        string
		server, client bool
	}{
		{"master.server", h.name, true, false},
		{"master.kubelet-client", "system:openshift-node-admin", false, true},
		{"master.proxy-client", "system:master-proxy", false, true},
		{"openshift-router", "*.apps.example.com", true, false},
		{"registry", "docker-registry.default.svc", true, false},
	} {
		if _, err := issue(cas.master, m+c.rel, c.cn, nil, c.server, c.client); err != nil {
			return nil, err
		}
	}
	if _, err := issue(cas.etcd, m+"master.etcd-client", h.name, nil, false, true); err != nil {
		return nil, err
	}
	saKey, saPriv, err := newKey()
	if err != nil {
		return nil, err
	}
	saPub, err := publicKeyPEM(saKey)
	if err != nil {
		return nil, err
	}
	fs.add(m+"serviceaccounts.private.key", saPriv)
	fs.add(m+"serviceaccounts.public.key", saPub)
	fs.add(m+"htpasswd", []byte("admin:$apr1$placeholder$0000000000000000000000\n"))
	fs.add(MasterConfigPath, []byte(masterConfig(apiURL, all)))

	// /etc/origin/node: the node side of the master.
	if err := nodeFiles(fs, h, prof, cas, apiURL, issue); err != nil {
		return nil, err
	}
	fs.add(StaticPodsDir+"/apiserver.yaml", []byte(controlPlaneStaticPod("api")))
	fs.add(StaticPodsDir+"/controller.yaml", []byte(controlPlaneStaticPod("controllers")))

	// Registries, trust and the rest of /etc that seed 003 §4.1 backs up.
	etcFiles(fs, h, prof, all, cas)
	// Load balancers run on masters in this imitation, so procedures can
	// edit them under the host root: master-0's as openshift-ansible writes
	// it, master-1's hand-built with listen sections; master-2 has none.
	switch h.index {
	case 0:
		fs.add(HAProxyConfigPath, []byte(haproxyAnsibleCfg(all, infra)))
	case 1:
		fs.add(HAProxyConfigPath, []byte(haproxyListenCfg(all, infra)))
	}
	hostHealthFiles(fs, h, prof)
	return fs, nil
}

// etcdConf is openshift-ansible's etcd.conf (roles/etcd/templates/etcd.conf.j2).
// Master-0's has the etcd package's INI-style section headers uncommented,
// quoted values and trailing blanks, as hand-edited hosts have them: bash's
// `source` and systemd's EnvironmentFile= both read that.
func etcdConf(h hostInfo, all []hostInfo) string {
	var initial []string
	for _, o := range all {
		initial = append(initial, o.name+"="+o.peerURL)
	}
	member, cluster, security, q, blanks := "", "#[cluster]", "#[security]", "", ""
	if h.index == 0 {
		member, cluster, security, q, blanks = "[Member]\n", "[Clustering]", "[Security]", `"`, "  "
	}
	return fmt.Sprintf(`%sETCD_NAME=%[2]s%[3]s%[2]s
ETCD_LISTEN_PEER_URLS=%[2]s%[4]s%[2]s
ETCD_DATA_DIR=/var/lib/etcd/%[10]s
#ETCD_WAL_DIR=
#ETCD_SNAPSHOT_COUNT=10000
ETCD_HEARTBEAT_INTERVAL=100
ETCD_ELECTION_TIMEOUT=1000
ETCD_LISTEN_CLIENT_URLS=%[2]s%[5]s%[2]s
%[8]s
ETCD_INITIAL_ADVERTISE_PEER_URLS=%[2]s%[4]s%[2]s
ETCD_INITIAL_CLUSTER=%[2]s%[6]s%[2]s%[10]s
ETCD_INITIAL_CLUSTER_STATE=new
ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster-1
ETCD_ADVERTISE_CLIENT_URLS=%[2]s%[7]s%[2]s
%[9]s
ETCD_TRUSTED_CA_FILE=/etc/etcd/ca.crt
ETCD_CLIENT_CERT_AUTH=true
ETCD_CERT_FILE=/etc/etcd/server.crt
ETCD_KEY_FILE=/etc/etcd/server.key
ETCD_PEER_TRUSTED_CA_FILE=/etc/etcd/ca.crt
ETCD_PEER_CLIENT_CERT_AUTH=true
ETCD_PEER_CERT_FILE=/etc/etcd/peer.crt
ETCD_PEER_KEY_FILE=/etc/etcd/peer.key
ETCD_QUOTA_BACKEND_BYTES=4294967296
`, member, q, h.name, h.peerURL, h.clientURL, strings.Join(initial, ","), h.clientURL, cluster, security, blanks)
}

// etcdStaticPod is the 3.11 etcd static pod: it sources etcd.conf, which is
// exactly what the local cluster's kubelet imitation does.
const etcdStaticPod = `apiVersion: v1
kind: Pod
metadata:
  name: master-etcd
  namespace: kube-system
  labels:
    openshift.io/component: etcd
    openshift.io/control-plane: "true"
spec:
  restartPolicy: Always
  hostNetwork: true
  containers:
  - name: etcd
    image: registry.redhat.io/rhel7/etcd:3.2.22
    workingDir: /var/lib/etcd
    command: ["/bin/sh", "-c"]
    args:
    - |
      #!/bin/sh
      set -o allexport
      source /etc/etcd/etcd.conf || exit 0
      exec etcd
    securityContext:
      privileged: true
    volumeMounts:
    - mountPath: /etc/etcd/
      name: master-config
      readOnly: true
    - mountPath: /var/lib/etcd/
      name: master-data
  volumes:
  - name: master-config
    hostPath:
      path: /etc/etcd/
  - name: master-data
    hostPath:
      path: /var/lib/etcd
`

func controlPlaneStaticPod(component string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: master-%[1]s
  namespace: kube-system
  labels:
    openshift.io/component: %[1]s
    openshift.io/control-plane: "true"
spec:
  restartPolicy: Always
  hostNetwork: true
  containers:
  - name: %[1]s
    image: registry.redhat.io/openshift3/ose-control-plane:v3.11
    command: ["/bin/bash", "-c"]
    args:
    - |
      #!/bin/bash
      set -euo pipefail
      exec openshift start master %[1]s --config=/etc/origin/master/master-config.yaml
    volumeMounts:
    - mountPath: /etc/origin/master/
      name: master-config
  volumes:
  - name: master-config
    hostPath:
      path: /etc/origin/master/
`, component)
}

func masterConfig(apiURL string, all []hostInfo) string {
	var urls strings.Builder
	for _, o := range all {
		fmt.Fprintf(&urls, "  - %s\n", o.clientURL)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: MasterConfig
etcdClientInfo:
  ca: master.etcd-ca.crt
  certFile: master.etcd-client.crt
  keyFile: master.etcd-client.key
  urls:
%simagePolicyConfig:
  internalRegistryHostname: docker-registry.default.svc:5000
  allowedRegistriesForImport:
  - domainName: docker-registry.default.svc:5000
  - domainName: registry.redhat.io
  - domainName: quay.io
  - domainName: registry.example.com:5000
    insecure: true
kubeletClientInfo:
  ca: ca-bundle.crt
  certFile: master.kubelet-client.crt
  keyFile: master.kubelet-client.key
  port: 10250
kubernetesMasterConfig:
  proxyClientInfo:
    certFile: master.proxy-client.crt
    keyFile: master.proxy-client.key
masterClients:
  openshiftLoopbackKubeConfig: openshift-master.kubeconfig
masterPublicURL: %[2]s
masterURL: %[2]s
servingInfo:
  bindAddress: 127.0.0.1:8443
  certFile: master.server.crt
  clientCA: ca.crt
  keyFile: master.server.key
serviceAccountConfig:
  privateKeyFile: serviceaccounts.private.key
  publicKeyFiles:
  - serviceaccounts.public.key
`, urls.String(), apiURL)
}

// nodeConfig is a 3.11 node-config.yaml; CRI-O hosts' kubelets say so
// (openshift-ansible's openshift_use_crio), the others run docker.
func nodeConfig(h hostInfo, p hostProfile) string {
	crio := ""
	if p.crio {
		crio = "  container-runtime:\n  - remote\n  container-runtime-endpoint:\n  - /var/run/crio/crio.sock\n"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: NodeConfig
nodeName: %s
masterKubeConfig: system:node:%[1]s.kubeconfig
servingInfo:
  bindAddress: 127.0.0.1:10250
  certFile: server.crt
  clientCA: ca.crt
  keyFile: server.key
kubeletArguments:
  pod-manifest-path:
  - /etc/origin/node/pods
%[2]snetworkConfig:
  mtu: %[3]d
  networkPluginName: redhat/openshift-ovs-subnet
`, h.name, crio, p.nodeMTU)
}

// registriesConf is the 3.11 (v1) /etc/containers/registries.conf of seed
// 003 §7.3: search, insecure and block lists.
const registriesConf = `# This is a system-wide configuration file used to
# keep track of registries for various container backends.
[registries.search]
registries = ['registry.redhat.io', 'docker.io']

# Registries that do not use TLS when pulling images or uses self-signed
# certificates.
[registries.insecure]
registries = ['registry.example.com:5000']

# Blocked Registries, blocks the ` + "`docker push`" + ` of a registry.
[registries.block]
registries = ['docker.io/library/untrusted']
`

// registriesConfV2 is a CRI-O node's v2 registries.conf: search, an
// insecure registry, a blocked namespace, short-name-mode and aliases.
const registriesConfV2 = `# For more information on this configuration file, see containers-registries.conf(5).
unqualified-search-registries = ["registry.redhat.io", "docker.io"]
short-name-mode = "enforcing"

[[registry]]
location = "registry.example.com:5000"
insecure = true

[[registry]]
location = "docker.io/library/untrusted"
blocked = true

[aliases]
"rhel7/etcd" = "registry.redhat.io/rhel7/etcd"
"openshift3/ose-haproxy-router" = "registry.redhat.io/openshift3/ose-haproxy-router"
`

// registriesConfQuotedV1 is the v1 file as RHEL 7's registries migrator
// wrote it for docker: quoted table names, the cluster network's CIDR
// among the insecure registries.
const registriesConfQuotedV1 = `# This file was generated from /etc/sysconfig/docker's ADD_REGISTRY and INSECURE_REGISTRY.
["registries.search"]
registries = ["registry.redhat.io", "docker.io"]

["registries.insecure"]
registries = ["172.30.0.0/16", "registry.example.com:5000"]

["registries.block"]
registries = ["docker.io/library/untrusted"]
`

func flanneld(all []hostInfo) string {
	var eps []string
	for _, o := range all {
		eps = append(eps, o.clientURL)
	}
	return fmt.Sprintf("FLANNEL_ETCD_ENDPOINTS=%s\nFLANNEL_ETCD_PREFIX=/openshift.com/network\nFLANNEL_OPTIONS=\"-etcd-cafile=/etc/origin/node/flannel.etcd-ca.crt\"\n", strings.Join(eps, ","))
}

// haproxyAnsibleCfg is master-0's load balancer in the form openshift-ansible
// writes it (roles/openshift_loadbalancer/templates/haproxy.cfg.j2 with its
// frontend/backend filters: servers named master<N> at the master's IP),
// followed by the router frontends and backends an administrator adds by
// hand (seed 003 §5.3.1), openshift_router-style names, servers by IP.
func haproxyAnsibleCfg(masters, infra []hostInfo) string {
	var b strings.Builder
	b.WriteString(`# Global settings
#---------------------------------------------------------------------
global
    maxconn     20000
    log         /dev/log local0 info
    chroot      /var/lib/haproxy
    pidfile     /var/run/haproxy.pid
    user        haproxy
    group       haproxy
    daemon

    # turn on stats unix socket
    stats socket /var/lib/haproxy/stats

#---------------------------------------------------------------------
# common defaults that all the 'listen' and 'backend' sections will
# use if not designated in their block
#---------------------------------------------------------------------
defaults
    mode                    http
    log                     global
    option                  httplog
    option                  dontlognull
#    option http-server-close
    option forwardfor       except 127.0.0.0/8
    option                  redispatch
    retries                 3
    timeout http-request    10s
    timeout queue           1m
    timeout connect         10s
    timeout client          300s
    timeout server          300s
    timeout http-keep-alive 10s
    timeout check           10s
    maxconn                 20000

listen stats
    bind :9000
    mode http
    stats enable
    stats uri /

frontend  atomic-openshift-api
    bind *:8443
    default_backend atomic-openshift-api
    mode tcp
    option tcplog

backend atomic-openshift-api
    balance source
    mode tcp
`)
	for i, m := range masters {
		fmt.Fprintf(&b, "    server      master%d %s:8443 check\n", i, m.ip)
	}
	for _, port := range []int{80, 443} {
		fmt.Fprintf(&b, "\nfrontend openshift_router%[1]d\n    bind *:%[1]d\n    default_backend openshift_router%[1]d\n    mode tcp\n\nbackend openshift_router%[1]d\n    balance source\n    mode tcp\n", port)
		for i, n := range infra {
			fmt.Fprintf(&b, "    server router%d %s:%d check\n", i, n.ip, port)
		}
	}
	return b.String()
}

// haproxyListenCfg is master-1's load balancer built by hand: listen
// sections, masters by FQDN, routers by short name (one without a port: it
// takes the bind's), and a node-exporter listen on the infra nodes' port
// 9100 that no procedure may touch.
func haproxyListenCfg(masters, infra []hostInfo) string {
	var b strings.Builder
	b.WriteString("global\n    log 127.0.0.1 local2\n    maxconn 4000\n\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 1m\n    timeout server 1m\n\nlisten stats :9000\n    mode http\n    stats enable\n\nlisten openshift-api\n    bind 0.0.0.0:8443\n    balance source\n")
	for i, m := range masters {
		fmt.Fprintf(&b, "    server api-%c %s:8443 check inter 5s\n", 'a'+i, m.name)
	}
	short := func(n hostInfo) string { s, _, _ := strings.Cut(n.name, "."); return s }
	for _, port := range []int{80, 443} {
		fmt.Fprintf(&b, "\nlisten openshift_router%[1]d\n    bind 0.0.0.0:%[1]d\n    balance source\n", port)
		for i, n := range infra {
			addr := fmt.Sprintf("%s:%d", short(n), port)
			if i == 1 && port == 80 {
				addr = short(n)
			}
			fmt.Fprintf(&b, "    server router-%c %s check\n", 'a'+i, addr)
		}
	}
	b.WriteString("\nlisten node-exporter\n    bind 0.0.0.0:9100\n")
	for _, n := range infra {
		fmt.Fprintf(&b, "    server %s %s:9100 check\n", short(n), short(n))
	}
	return b.String()
}
