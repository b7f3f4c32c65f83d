package hostssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// Pool opens hosts over SSH and keeps one connection per host until Close
// (it is ops.HostAccess). Every host is reached over SSH, the one day2 runs
// on included when the inventory names it: an Ansible-installed cluster's
// control host reaches every inventory host that way already, and a host
// step then runs the same way wherever it runs (--no-ssh keeps to this
// host's files under --host-root).
type Pool struct {
	cfg Config
	sc  sshConfig

	mu     sync.Mutex
	hosts  map[string]*Host
	closed bool
}

// New reads the SSH configuration; it connects to nothing yet.
func New(c Config) (*Pool, error) {
	if c.Home == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("ssh: home directory: %w", err)
		}
		c.Home = home
	}
	for _, k := range c.KeyFiles {
		if _, err := os.Stat(k); err != nil {
			return nil, fmt.Errorf("--ssh-key: %w", err)
		}
	}
	sc, err := loadSSHConfig(c)
	if err != nil {
		return nil, err
	}
	return &Pool{cfg: c, sc: sc, hosts: map[string]*Host{}}, nil
}

// Open returns h's connection, dialling it (bounded by ctx and the dial
// timeout) when there is none yet or the last one dropped.
func (p *Pool) Open(ctx context.Context, h model.Host) (hostfs.Host, error) {
	key := fmt.Sprintf("%s|%s|%d|%s", h.Name, h.Address, h.Port, h.User)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("ssh: host access is closed")
	}
	host := p.hosts[key]
	if host == nil {
		t, err := resolve(p.cfg, p.sc, h)
		if err != nil {
			p.mu.Unlock()
			return nil, err
		}
		host = &Host{p: p, t: t}
		p.hosts[key] = host
	}
	p.mu.Unlock()
	if _, err := host.conn(ctx); err != nil {
		return nil, err
	}
	return host, nil
}

// Close closes every connection.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, h := range p.hosts {
		h.close()
	}
	p.hosts = nil
	return nil
}

// dial connects to t, through its ProxyJump hops when it has any; hops are
// the jump hosts' clients, closed with the connection.
func (p *Pool) dial(ctx context.Context, t target) (client *ssh.Client, hops []*ssh.Client, err error) {
	var via *ssh.Client
	for _, hop := range t.jumps {
		jh, err := jumpHost(strings.TrimSpace(hop))
		if err != nil {
			closeAll(hops)
			return nil, nil, fmt.Errorf("%s: %w", t.name, err)
		}
		jt, err := resolve(p.cfg, p.sc, jh)
		if err != nil {
			closeAll(hops)
			return nil, nil, err
		}
		c, err := p.handshake(ctx, jt, via)
		if err != nil {
			closeAll(hops)
			return nil, nil, fmt.Errorf("%s through ProxyJump %s: %w", t.name, hop, err)
		}
		hops, via = append(hops, c), c
	}
	client, err = p.handshake(ctx, t, via)
	if err != nil {
		closeAll(hops)
		return nil, nil, err
	}
	return client, hops, nil
}

func closeAll(cs []*ssh.Client) {
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i].Close()
	}
}

// handshake opens one SSH connection to t, directly or through via, within
// t's dial timeout.
func (p *Pool) handshake(ctx context.Context, t target, via *ssh.Client) (*ssh.Client, error) {
	check, algos, err := hostKeys(t)
	if err != nil {
		return nil, err
	}
	// The refusal is returned as hostKeys words it, not inside the
	// handshake's error.
	var keyErr error
	cb := func(host string, remote net.Addr, key ssh.PublicKey) error {
		keyErr = check(host, remote, key)
		return keyErr
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var nc net.Conn
	if via == nil {
		nc, err = (&net.Dialer{}).DialContext(ctx, "tcp", t.addr())
	} else {
		nc, err = via.DialContext(ctx, "tcp", t.addr())
	}
	if err != nil {
		return nil, dialError(ctx, t, err)
	}
	// The handshake has no context of its own: closing the connection
	// ends it when the dial timeout passes.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	a := loadAuth(p.cfg, t)
	defer a.close()
	cfg := &ssh.ClientConfig{User: t.user, Auth: a.methods(), HostKeyCallback: cb, HostKeyAlgorithms: algos, Timeout: t.timeout}
	c, chans, reqs, err := ssh.NewClientConn(nc, t.addr(), cfg)
	if err != nil {
		nc.Close()
		if keyErr != nil {
			return nil, keyErr
		}
		if ctx.Err() != nil {
			return nil, dialError(ctx, t, err)
		}
		return nil, fmt.Errorf("ssh to %s (%s): %w", t.name, t.addr(), a.explain(t, err))
	}
	return ssh.NewClient(c, chans, reqs), nil
}

func dialError(ctx context.Context, t target, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("ssh to %s (%s): no answer within %s (host down, filtered, or sshd hung?)", t.name, t.addr(), t.timeout)
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(strings.ToLower(err.Error()), "connection refused"):
		return fmt.Errorf("ssh to %s (%s): connection refused: is sshd running there? %w", t.name, t.addr(), err)
	}
	return fmt.Errorf("ssh to %s (%s): %w", t.name, t.addr(), err)
}

// dialContext bounds a file call's wait for a connection.
func (t target) dialContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), t.timeout+time.Second)
}
