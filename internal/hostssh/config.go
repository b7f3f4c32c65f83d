// Package hostssh reaches the cluster's other hosts over SSH, through the
// operator's own SSH setup (ssh_config, known_hosts, ssh-agent and key
// files), as hostfs.Host: files through SFTP, commands in one session each,
// both through `sudo -n` when the SSH user is not root.
package hostssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"

	"github.com/day2ops/day2/model"
)

// Config is how day2 reaches hosts; empty fields fall back to ssh_config
// and OpenSSH's defaults.
type Config struct {
	// User is --ssh-user: the login for hosts whose inventory entry names
	// none (ansible_user wins, as it does for Ansible), before ssh_config's
	// User and the local user.
	User string
	// KeyFiles are --ssh-key: tried after the agent, before ssh_config's
	// IdentityFile and the default ~/.ssh/id_* files.
	KeyFiles []string
	// ConfigFile is --ssh-config; "" reads ~/.ssh/config, then
	// /etc/ssh/ssh_config.
	ConfigFile string
	// KnownHosts are --ssh-known-hosts: they replace ssh_config's
	// UserKnownHostsFile (~/.ssh/known_hosts) and /etc/ssh/ssh_known_hosts.
	KnownHosts []string
	// DialTimeout bounds connecting and the SSH handshake (10s when zero;
	// ssh_config's ConnectTimeout wins).
	DialTimeout time.Duration
	// AgentSocket is the ssh-agent socket (SSH_AUTH_SOCK when empty; "none"
	// for no agent).
	AgentSocket string
	// Home is the home directory ~ stands for (the user's when empty).
	Home string
}

// DefaultDialTimeout bounds a connection when neither Config nor ssh_config
// set one.
const DefaultDialTimeout = 10 * time.Second

// target is one host resolved through ssh_config: what to dial, as whom,
// which keys to offer and which known_hosts to check.
type target struct {
	name     string // the host as the operator knows it
	hostname string // what to dial
	port     int
	user     string
	keyAlias string // the known_hosts name (HostKeyAlias, else hostname)
	// idFiles are --ssh-key and IdentityFile; without any, the default
	// ~/.ssh/id_* files (as OpenSSH does). idOnly is IdentitiesOnly: the
	// agent's keys are offered only when they are one of idFiles.
	idFiles []string
	idOnly  bool
	known   []string // known_hosts files
	jumps   []string // ProxyJump hops, first dialled first
	timeout time.Duration
}

func (t target) addr() string { return net.JoinHostPort(t.hostname, strconv.Itoa(t.port)) }

// knownName is the name known_hosts holds the host's key under: "host" on
// port 22, "[host]:port" elsewhere (as ssh-keyscan -p writes it).
func (t target) knownName() string {
	return net.JoinHostPort(t.keyAlias, strconv.Itoa(t.port))
}

// sshConfig is the parsed ssh_config files, first match wins as in OpenSSH.
type sshConfig []*ssh_config.Config

func loadSSHConfig(c Config) (sshConfig, error) {
	files := []string{filepath.Join(c.Home, ".ssh", "config"), "/etc/ssh/ssh_config"}
	if c.ConfigFile != "" {
		files = []string{c.ConfigFile}
	}
	var out sshConfig
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) && c.ConfigFile == "" {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ssh config: %w", err)
		}
		cfg, err := ssh_config.DecodeBytes(b)
		if err != nil {
			return nil, fmt.Errorf("ssh config %s: %w", f, err)
		}
		out = append(out, cfg)
	}
	return out, nil
}

func (s sshConfig) get(alias, key string) string {
	for _, c := range s {
		if v, err := c.Get(alias, key); err == nil && v != "" {
			return v
		}
	}
	return ""
}

func (s sshConfig) getAll(alias, key string) []string {
	var out []string
	for _, c := range s {
		v, _ := c.GetAll(alias, key)
		out = append(out, v...)
	}
	return out
}

// resolve works out how to reach h: the inventory's ansible_* variables
// first, then --ssh-user, then ssh_config (matched on the address, as
// Ansible hands it to ssh), then OpenSSH's defaults.
func resolve(c Config, sc sshConfig, h model.Host) (target, error) {
	alias := h.Address
	if alias == "" {
		alias = h.Name
	}
	t := target{name: h.Name, hostname: alias, port: 22}
	if t.name == "" {
		t.name = alias
	}
	if hn := sc.get(alias, "HostName"); hn != "" {
		t.hostname = strings.ReplaceAll(hn, "%h", alias)
	}
	switch {
	case h.User != "":
		t.user = h.User
	case c.User != "":
		t.user = c.User
	case sc.get(alias, "User") != "":
		t.user = sc.get(alias, "User")
	default:
		u, err := user.Current()
		if err != nil {
			return t, fmt.Errorf("ssh user for %s: %w", t.name, err)
		}
		t.user = u.Username
	}
	switch p := sc.get(alias, "Port"); {
	case h.Port != 0:
		t.port = h.Port
	case p != "":
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return t, fmt.Errorf("ssh config for %s: Port %q is not a port", alias, p)
		}
		t.port = n
	}
	t.keyAlias = t.hostname
	if a := sc.get(alias, "HostKeyAlias"); a != "" {
		t.keyAlias = a
	}
	tokens := func(s string) string { return expand(s, c.Home, t.hostname, t.user, t.port) }
	t.idFiles = append(t.idFiles, c.KeyFiles...)
	for _, f := range sc.getAll(alias, "IdentityFile") {
		t.idFiles = append(t.idFiles, tokens(f))
	}
	t.idOnly = strings.EqualFold(sc.get(alias, "IdentitiesOnly"), "yes")
	t.known = c.KnownHosts
	if len(t.known) == 0 {
		user := sc.get(alias, "UserKnownHostsFile")
		if user == "" {
			user = "~/.ssh/known_hosts"
		}
		for _, f := range strings.Fields(user) {
			t.known = append(t.known, tokens(f))
		}
		t.known = append(t.known, "/etc/ssh/ssh_known_hosts")
	}
	t.timeout = c.DialTimeout
	if ct := sc.get(alias, "ConnectTimeout"); ct != "" {
		n, err := strconv.Atoi(ct)
		if err != nil || n <= 0 {
			return t, fmt.Errorf("ssh config for %s: ConnectTimeout %q is not a number of seconds", alias, ct)
		}
		t.timeout = time.Duration(n) * time.Second
	}
	if t.timeout <= 0 {
		t.timeout = DefaultDialTimeout
	}
	if pj := sc.get(alias, "ProxyJump"); pj != "" && !strings.EqualFold(pj, "none") {
		t.jumps = strings.Split(pj, ",")
	}
	return t, nil
}

// jumpHost is a ProxyJump hop ("[user@]host[:port]", an ssh_config alias or
// not) as a host to resolve.
func jumpHost(hop string) (model.Host, error) {
	var h model.Host
	if i := strings.LastIndexByte(hop, '@'); i >= 0 {
		h.User, hop = hop[:i], hop[i+1:]
	}
	if host, port, err := net.SplitHostPort(hop); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil {
			return h, fmt.Errorf("ProxyJump %q: bad port", hop)
		}
		h.Port, hop = n, host
	}
	if hop == "" {
		return h, errors.New("ProxyJump: empty host")
	}
	h.Name, h.Address = hop, hop
	return h, nil
}

// expand replaces ~ and the ssh_config tokens day2 knows (%d home, %h host,
// %r remote user, %u local user, %p port, %%) in a file name.
func expand(s, home, host, remote string, port int) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = home + s[1:]
	}
	local := ""
	if u, err := user.Current(); err == nil {
		local = u.Username
	}
	r := strings.NewReplacer("%%", "%", "%d", home, "%h", host, "%r", remote, "%u", local, "%p", strconv.Itoa(port))
	return r.Replace(s)
}
