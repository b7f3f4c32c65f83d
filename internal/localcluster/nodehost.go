package localcluster

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// hostProfile is what sets one host apart from the others: the spread of
// good and bad values the host checks of seed 003 ch. 2–3 meet.
type hostProfile struct {
	entropy int
	// timesync is "timesyncd" (systemd-timesyncd's marker), "chrony" (a
	// drift file and chronyc tracking) or "" (no sign of NTP).
	timesync string
	// varSize is the size of /var (a tmpfs, so statfs reports it).
	varSize int64
	// registries is /etc/containers/registries.conf.
	registries string
	// dockerStorage and storageSetup are /etc/sysconfig/docker-storage (as
	// container-storage-setup writes it) and docker-storage-setup.
	dockerStorage, storageSetup string
	crio                        bool
	// dockerXFS puts /var/lib/docker on a filesystem of its own, xfs with
	// ftype=1 as seed 003 §3.7 wants under overlay2 (a loop device).
	dockerXFS bool
	// nodeMTU is node-config.yaml's networkConfig.mtu; eth0MTU and tun0MTU
	// are the interfaces'.
	nodeMTU, eth0MTU, tun0MTU int
}

const gib = int64(1) << 30

// Docker storage in container-storage-setup's forms: overlay2 (seed 003
// §3.7's single-quoted line on the masters, the tool's own double-quoted
// one with its trailing space on nodes) and a devicemapper thin pool.
const (
	dockerStorageOverlayGuide = "DOCKER_STORAGE_OPTIONS='--storage-driver overlay2'\n"
	dockerStorageOverlay      = "DOCKER_STORAGE_OPTIONS=\"--storage-driver overlay2 \"\n"
	dockerStorageDM           = "DOCKER_STORAGE_OPTIONS=\"--storage-driver devicemapper --storage-opt dm.fs=xfs --storage-opt dm.thinpooldev=/dev/mapper/docker--vg-docker--pool --storage-opt dm.use_deferred_removal=true --storage-opt dm.use_deferred_deletion=true \"\n"
	storageSetupOverlay       = "STORAGE_DRIVER=overlay2\nCONTAINER_ROOT_LV_NAME=dockerlv\nCONTAINER_ROOT_LV_MOUNT_PATH=/var/lib/docker\n"
	storageSetupDM            = "STORAGE_DRIVER=devicemapper\nDEVS=/dev/vdb\nVG=docker-vg\n"
)

// profileOf spreads the values over the hosts that every cluster has
// (masters, infra nodes, node-0): master-0 low entropy and no NTP, master-1
// docker on a real xfs, master-2 entropy below the alert level, infra-0 on chrony, infra-1 devicemapper,
// infra-2 a tun0 MTU against node-config's, node-0 a /var below 15 GB.
func profileOf(h hostInfo) hostProfile {
	p := hostProfile{
		entropy: 3000 + 97*h.index, timesync: "timesyncd", varSize: 30 * gib, registries: registriesConf,
		dockerStorage: dockerStorageOverlay, storageSetup: storageSetupOverlay,
		nodeMTU: 1450, eth0MTU: 1500, tun0MTU: 1450,
	}
	switch h.role {
	case RoleMaster:
		p.entropy = DemoEntropy[h.index%len(DemoEntropy)]
		if !DemoTimesynced[h.index%len(DemoTimesynced)] {
			p.timesync = ""
		}
		p.varSize = 50 * gib
		p.dockerStorage = dockerStorageOverlayGuide
		// Master-0 runs CRI-O with a v2 registries.conf; master-1 docker
		// with the v1 file RHEL 7's registries migrator wrote (quoted
		// tables, a CIDR); master-2 docker with seed 003 §7.3's v1 file.
		switch h.index {
		case 0:
			p.crio, p.registries = true, registriesConfV2
		case 1:
			p.registries = registriesConfQuotedV1
			p.dockerXFS = true
		}
	case RoleInfra:
		switch h.index {
		case 0:
			p.timesync, p.crio, p.registries = "chrony", true, registriesConfV2
		case 1:
			p.dockerStorage, p.storageSetup = dockerStorageDM, storageSetupDM
		case 2:
			p.tun0MTU = 1400
		}
	case RoleCompute:
		p.entropy = 1500 + 211*h.index
		if h.index == 0 {
			p.varSize = 10 * gib
			p.registries = registriesConfV2
			p.crio = true
		}
	}
	return p
}

// issuer issues host h's certificates into its file set.
type issuer func(c *ca, rel, cn string, orgs []string, server, client bool) (keyPair, error)

func newIssuer(fs *fileSet, h hostInfo, now time.Time) issuer {
	ips := []net.IP{loopback, net.ParseIP(h.ip)}
	dns := []string{h.name, "localhost"}
	return func(c *ca, rel, cn string, orgs []string, server, client bool) (keyPair, error) {
		base := rel[strings.LastIndex(rel, "/")+1:]
		kp, err := c.issue(certSpec{cn: cn, orgs: orgs, dns: dns, ips: ips, server: server, client: client, notAfter: leafExpiry(base, now)})
		if err != nil {
			return keyPair{}, fmt.Errorf("%s: %w", rel, err)
		}
		fs.addPair(rel, kp)
		return kp, nil
	}
}

// nodeFiles are /etc/origin/node of every host (seed 003 §4.2).
func nodeFiles(fs *fileSet, h hostInfo, p hostProfile, cas certAuthorities, apiURL string, issue issuer) error {
	n := "etc/origin/node/"
	fs.add(n+"ca.crt", cas.master.certPEM)
	nodeCert, err := issue(cas.master, n+"system:node:"+h.name, "system:node:"+h.name, []string{"system:nodes"}, false, true)
	if err != nil {
		return err
	}
	kc, err := kubeconfig(apiURL, "default/"+h.name, "system:node:"+h.name, cas.master.certPEM, nodeCert)
	if err != nil {
		return err
	}
	fs.add(n+"system:node:"+h.name+".kubeconfig", kc)
	if _, err := issue(cas.master, n+"server", h.name, nil, true, false); err != nil {
		return err
	}
	fs.add(n+"node-config.yaml", []byte(nodeConfig(h, p)))
	if h.role != RoleMaster {
		// Nodes carry the dnsmasq and flannel files of §4.2's list.
		fs.add(n+"node-dnsmasq.conf", []byte("server=/in-addr.arpa/127.0.0.1\nserver=/cluster.local/127.0.0.1\n"))
		fs.add(n+"resolv.conf", []byte("nameserver 192.0.2.1\n"))
		fs.add(n+"flannel.etcd-ca.crt", cas.etcd.certPEM)
		if _, err := issue(cas.etcd, n+"flannel.etcd-client", h.name, nil, false, true); err != nil {
			return err
		}
	}
	return nil
}

// etcFiles are the registries, trust and the rest of /etc that seed 003
// §4.1, §4.2 and §4.3 back up.
func etcFiles(fs *fileSet, h hostInfo, p hostProfile, masters []hostInfo, cas certAuthorities) {
	fs.add("etc/containers/registries.conf", []byte(p.registries))
	fs.add("etc/containers/storage.conf", []byte(containersStorageConf))
	fs.add("etc/docker/certs.d/docker-registry.default.svc:5000/ca.crt", cas.master.certPEM)
	fs.add("etc/pki/ca-trust/source/anchors/openshift-ca.crt", cas.master.certPEM)
	fs.add("etc/sysconfig/docker", []byte("OPTIONS=' --selinux-enabled --log-driver=journald --signature-verification=False'\nADD_REGISTRY='--add-registry registry.redhat.io'\n"))
	fs.add("etc/sysconfig/docker-storage", []byte(p.dockerStorage))
	fs.add("etc/sysconfig/docker-storage-setup", []byte(p.storageSetup))
	fs.add("etc/sysconfig/docker-network", []byte(fmt.Sprintf("DOCKER_NETWORK_OPTIONS=' --mtu=%d'\n", p.nodeMTU)))
	fs.add("etc/sysconfig/flanneld", []byte(flanneld(masters)))
	fs.add("etc/sysconfig/iptables", []byte("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m state --state NEW -m tcp --dport 8443 -j ACCEPT\n-A INPUT -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\n-A INPUT -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT\nCOMMIT\n"))
	fs.add("etc/sysconfig/atomic-openshift-node", []byte("DEBUG_LOGLEVEL=2\n"))
	fs.add("etc/dnsmasq.conf", []byte("conf-dir=/etc/dnsmasq.d\n"))
	fs.add("etc/dnsmasq.d/origin-dns.conf", []byte("no-resolv\ndomain-needed\nserver=/cluster.local/172.30.0.1\n"))
	fs.add("etc/cni/net.d/80-openshift-network.conf", []byte(`{"cniVersion": "0.2.0", "name": "openshift-sdn", "type": "openshift-sdn"}`+"\n"))
	if h.role != RoleMaster {
		fs.add("etc/dnsmasq.d/origin-upstream-dns.conf", []byte("server=192.0.2.1\n"))
		fs.add("etc/dnsmasq.d/node-dnsmasq.conf", []byte("server=/in-addr.arpa/127.0.0.1\nserver=/cluster.local/127.0.0.1\n"))
	}
}

// containersStorageConf is RHEL 7's containers-common storage.conf.
const containersStorageConf = `# storage.conf is the configuration file for all tools
# that share the containers/storage libraries
# See man 5 containers-storage.conf for more information
# The "container storage" table contains all of the server options.
[storage]

# Default Storage Driver
driver = "overlay"

# Temporary storage location
runroot = "/var/run/containers/storage"

# Primary Read/Write location of container storage
graphroot = "/var/lib/containers/storage"

[storage.options]
# Storage options to be passed to underlying storage drivers

# AdditionalImageStores is used to pass paths to additional Read/Only image stores
# Must be comma separated list.
additionalimagestores = [
]

# Size is used to set a maximum size of the container image.  Only supported by
# certain container storage drivers.
size = ""

# OverrideKernelCheck tells the driver to ignore kernel checks based on kernel version
override_kernel_check = "true"
`

// nodeHostRoot builds the files of infra or compute node h.
func nodeHostRoot(root string, h hostInfo, masters []hostInfo, cas certAuthorities, apiURL string, now time.Time) (*fileSet, error) {
	fs := newFileSet(root)
	prof := profileOf(h)
	if err := nodeFiles(fs, h, prof, cas, apiURL, newIssuer(fs, h, now)); err != nil {
		return nil, err
	}
	etcFiles(fs, h, prof, masters, cas)
	hostHealthFiles(fs, h, prof)
	return fs, nil
}
