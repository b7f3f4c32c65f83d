package hostssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrHostKey means a host's key is not the one known_hosts holds for it
// (unknown or changed): day2 never accepts or records a key itself.
var ErrHostKey = errors.New("host key not trusted")

// hostKeys checks host keys against t's known_hosts files. It returns the
// callback and the key algorithms known for the host, so the server is asked
// for a key of a type known_hosts has (else a host known by its ed25519 key
// that offers RSA first would look changed).
func hostKeys(t target) (ssh.HostKeyCallback, []string, error) {
	var files []string
	for _, f := range t.known {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("%w: no known_hosts file for %s (looked at %s); add the host's key: ssh-keyscan %s >> ~/.ssh/known_hosts, after checking it",
			ErrHostKey, t.name, strings.Join(t.known, ", "), keyscanArgs(t))
	}
	db, err := knownhosts.New(files...)
	if err != nil {
		return nil, nil, fmt.Errorf("known_hosts: %w", err)
	}
	cb := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := db(t.knownName(), remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &re):
			return fmt.Errorf("%w: %s (%s) offers %s %s, revoked in %s:%d", ErrHostKey, t.name, t.addr(),
				key.Type(), ssh.FingerprintSHA256(key), re.Revoked.Filename, re.Revoked.Line)
		case errors.As(err, &ke) && len(ke.Want) == 0:
			return fmt.Errorf("%w: %s (%s) offers %s %s, which no known_hosts file (%s) holds for %s; check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then add it: ssh-keyscan %s >> ~/.ssh/known_hosts",
				ErrHostKey, t.name, t.addr(), key.Type(), ssh.FingerprintSHA256(key), strings.Join(files, ", "), knownhosts.Normalize(t.knownName()), keyscanArgs(t))
		case errors.As(err, &ke):
			var want []string
			for _, k := range ke.Want {
				want = append(want, fmt.Sprintf("%s %s (%s:%d)", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
			}
			return fmt.Errorf("%w: the host key of %s (%s) CHANGED: it offers %s %s, known_hosts has %s; a reinstalled host or someone in between: check the host, then replace the old key (ssh-keygen -R %s; ssh-keyscan %s >> ~/.ssh/known_hosts)",
				ErrHostKey, t.name, t.addr(), key.Type(), ssh.FingerprintSHA256(key), strings.Join(want, ", "), quoteName(knownhosts.Normalize(t.knownName())), keyscanArgs(t))
		}
		return err
	}
	return cb, knownAlgorithms(db, t), nil
}

// knownAlgorithms asks the known_hosts database which keys it has for t (a
// check with a key nobody has answers with every line that matched).
func knownAlgorithms(db ssh.HostKeyCallback, t target) []string {
	err := db(t.knownName(), &net.TCPAddr{IP: net.IPv4zero}, probeKey{})
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		algos := []string{k.Key.Type()}
		if k.Key.Type() == ssh.KeyAlgoRSA {
			algos = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, a := range algos {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// probeKey is a public key no known_hosts line holds.
type probeKey struct{}

func (probeKey) Type() string                        { return "day2-probe" }
func (probeKey) Marshal() []byte                     { return []byte("day2-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }

func keyscanArgs(t target) string {
	if t.port == 22 {
		return t.hostname
	}
	return fmt.Sprintf("-p %d %s", t.port, t.hostname)
}

func quoteName(s string) string {
	if strings.ContainsAny(s, "[]") {
		return "'" + s + "'"
	}
	return s
}
