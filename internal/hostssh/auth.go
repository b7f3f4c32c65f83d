package hostssh

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// defaultKeys are OpenSSH's default identities, tried after the explicit
// ones; a missing one is not worth a word.
var defaultKeys = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// auth is the public keys day2 offers a host: the agent's first, then the
// key files; skipped says which key files could not be used and why
// (reported when no key is accepted).
type auth struct {
	signers []ssh.Signer
	skipped []string
	agent   net.Conn
}

func (a *auth) close() {
	if a.agent != nil {
		a.agent.Close()
	}
}

func loadAuth(c Config, t target) *auth {
	a := &auth{}
	sock := c.AgentSocket
	if sock == "" {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock != "" && sock != "none" {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			a.skipped = append(a.skipped, fmt.Sprintf("ssh-agent at %s: %v", sock, err))
		} else if signers, err := agent.NewClient(conn).Signers(); err != nil {
			conn.Close()
			a.skipped = append(a.skipped, fmt.Sprintf("ssh-agent at %s: %v", sock, err))
		} else {
			a.agent, a.signers = conn, signers
		}
	}
	seen := map[string]bool{}
	try := func(file string, explicit bool) {
		if seen[file] {
			return
		}
		seen[file] = true
		b, err := os.ReadFile(file)
		if err != nil {
			if explicit || !errors.Is(err, os.ErrNotExist) {
				a.skipped = append(a.skipped, fmt.Sprintf("%s: %v", file, err))
			}
			return
		}
		s, err := ssh.ParsePrivateKey(b)
		var pm *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pm) && a.agent != nil:
			// The agent holds it if the operator added it.
		case errors.As(err, &pm):
			a.skipped = append(a.skipped, fmt.Sprintf("%s is passphrase-protected and day2 does not ask for passphrases: add it to an ssh-agent (eval $(ssh-agent); ssh-add %s)", file, file))
		case err != nil:
			a.skipped = append(a.skipped, fmt.Sprintf("%s: %v", file, err))
		default:
			a.signers = append(a.signers, s)
		}
	}
	for _, f := range t.idFiles {
		try(f, true)
	}
	if len(t.idFiles) == 0 {
		for _, f := range defaultKeys {
			try(filepath.Join(c.Home, ".ssh", f), false)
		}
	}
	if t.idOnly && a.agent != nil {
		a.signers = onlyIdentities(a.signers, t.idFiles)
	}
	return a
}

// onlyIdentities keeps the signers whose public key is one of files' (the
// key file's .pub, or the key itself when it has no passphrase).
func onlyIdentities(signers []ssh.Signer, files []string) []ssh.Signer {
	want := map[string]bool{}
	for _, f := range files {
		if b, err := os.ReadFile(f + ".pub"); err == nil {
			if k, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
				want[string(k.Marshal())] = true
			}
		}
		if b, err := os.ReadFile(f); err == nil {
			if s, err := ssh.ParsePrivateKey(b); err == nil {
				want[string(s.PublicKey().Marshal())] = true
			}
		}
	}
	var out []ssh.Signer
	for _, s := range signers {
		if want[string(s.PublicKey().Marshal())] {
			out = append(out, s)
		}
	}
	return out
}

func (a *auth) methods() []ssh.AuthMethod {
	return []ssh.AuthMethod{ssh.PublicKeys(a.signers...)}
}

// explain adds what auth tried to a failed handshake's error.
func (a *auth) explain(t target, err error) error {
	if !strings.Contains(err.Error(), "unable to authenticate") {
		return err
	}
	msg := fmt.Sprintf("%s@%s refused every key day2 offered (%d)", t.user, t.addr(), len(a.signers))
	if len(a.skipped) > 0 {
		msg += "; not offered: " + strings.Join(a.skipped, "; ")
	}
	return fmt.Errorf("%s: %w (set --ssh-user / --ssh-key, ssh_config's User and IdentityFile, or load the key into ssh-agent)", msg, err)
}
