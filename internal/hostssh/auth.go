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
	for _, f := range defaultKeys {
		try(filepath.Join(c.Home, ".ssh", f), false)
	}
	return a
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
