package ops

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// Where seed 003 §7.2.1 puts a registry's CA: docker's and containers/image's
// certs.d directories, and the system trust's anchors.
const (
	dockerCertsD     = "/etc/docker/certs.d"
	containersCertsD = "/etc/containers/certs.d"
	caAnchors        = "/etc/pki/ca-trust/source/anchors"
	// caBundle is what `update-ca-trust extract` writes the TLS roots to.
	caBundle = "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"
)

type registryTrust struct {
	s        *Session
	registry string
	caFile   string
}

// buildRegistryTrust is seed 003 §7.2.1 and §7.3.3 on every chosen host:
// certs.d/<registry>/ca.crt for docker and containers/image, the system
// anchor with `update-ca-trust extract`, then a probe of the registry's
// /v2/ from that host with that CA.
func buildRegistryTrust(s *Session, p params) (*Procedure, error) {
	reg := strings.TrimSpace(p["registry"])
	if reg == "" || strings.ContainsAny(reg, "/\\ ") || strings.Contains(reg, "://") || reg == "." || reg == ".." {
		return nil, fmt.Errorf("--registry %q: want the registry as host[:port], as pulls name it (the certs.d directory)", reg)
	}
	if !path.IsAbs(p["ca"]) {
		return nil, fmt.Errorf("--ca %q: want the CA file's absolute host path on this host", p["ca"])
	}
	hosts, err := s.chooseHosts(p)
	if err != nil {
		return nil, err
	}
	t := &registryTrust{s: s, registry: reg, caFile: path.Clean(p["ca"])}
	// Everything installed everywhere first, then the probes: each probe
	// then says what a pull from that host meets now.
	steps := []*Step{t.caStep()}
	for _, step := range []func(model.Host) *Step{t.certsStep, t.anchorStep, t.probeStep} {
		for _, h := range hosts {
			steps = append(steps, hostStep("registry-trust", step(h), h))
		}
	}
	return &Procedure{Steps: steps}, nil
}

// ca reads the CA file here: PEM certificates only, at least one.
func (t *registryTrust) ca() ([]byte, []*x509.Certificate, error) {
	data, err := t.s.here().ReadFile(t.caFile)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA file: %w", err)
	}
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, nil, fmt.Errorf("%s holds a %s: a CA file holds certificates only", t.caFile, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", t.caFile, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, nil, fmt.Errorf("%s holds no PEM certificate", t.caFile)
	}
	return data, certs, nil
}

func (t *registryTrust) caStep() *Step {
	var plan Plan
	return &Step{
		ID: "ca", Title: "Read the registry's CA certificate",
		Check: func(context.Context) error {
			plan = Plan{"read only: " + t.caFile + " on this host"}
			_, certs, err := t.ca()
			if err != nil {
				return err
			}
			for _, c := range certs {
				plan = append(plan, fmt.Sprintf("subject %s, issuer %s, CA %v, expires %s", c.Subject, c.Issuer, c.IsCA, c.NotAfter.UTC().Format(time.DateOnly)))
				if time.Now().After(c.NotAfter) {
					return fmt.Errorf("%s expired on %s", c.Subject, c.NotAfter.UTC().Format(time.DateOnly))
				}
				if !c.IsCA && c.Subject.String() != c.Issuer.String() {
					plan = append(plan, "  warning: neither a CA nor self-signed: pulls trust only what it signed, which is nothing")
				}
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
	}
}

// installFile writes data to a host file unless it already holds it; a
// file that differs is kept beside itself first.
func installFile(h hostfs.Host, p string, data []byte, progress func(string)) error {
	cur, err := h.ReadFile(p)
	switch {
	case err == nil && bytes.Equal(cur, data):
		progress(fmt.Sprintf("%s: %s already holds it", h.Name(), p))
		return nil
	case err == nil:
		bak := hostfs.BackupName(p, time.Now())
		if err := h.WriteFile(bak, cur, 0o644); err != nil {
			return fmt.Errorf("keep %s on %s: %w", p, h.Name(), err)
		}
		progress(fmt.Sprintf("%s: the previous %s kept as %s", h.Name(), p, bak))
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s on %s: %w", p, h.Name(), err)
	}
	if err := h.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("write %s on %s: %w", p, h.Name(), err)
	}
	progress(fmt.Sprintf("%s: wrote %s", h.Name(), p))
	return nil
}

// installPlan says what installFile will do with each file.
func installPlan(h hostfs.Host, data []byte, files ...string) Plan {
	var plan Plan
	for _, p := range files {
		cur, err := h.ReadFile(p)
		switch {
		case err == nil && bytes.Equal(cur, data):
			plan = append(plan, fmt.Sprintf("on %s: %s already holds this CA", h.Name(), p))
		case err == nil:
			plan = append(plan, fmt.Sprintf("on %s: replace %s (it holds another certificate; kept beside it as .day2-<time>.bak)", h.Name(), p))
		default:
			plan = append(plan, fmt.Sprintf("on %s: write %s (mode 0644)", h.Name(), p))
		}
	}
	return plan
}

// holds checks that each file holds data.
func holds(h hostfs.Host, data []byte, files ...string) error {
	for _, p := range files {
		cur, err := h.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%s on %s: %w", p, h.Name(), err)
		}
		if !bytes.Equal(cur, data) {
			return fmt.Errorf("%s on %s does not hold the CA", p, h.Name())
		}
	}
	return nil
}

func (t *registryTrust) certsFiles() []string {
	return []string{path.Join(dockerCertsD, t.registry, "ca.crt"), path.Join(containersCertsD, t.registry, "ca.crt")}
}

// withHost opens a host and the CA for a step's function.
func (t *registryTrust) withHost(ctx context.Context, mh model.Host, fn func(hostfs.Host, []byte) error) error {
	data, _, err := t.ca()
	if err != nil {
		return err
	}
	h, err := t.s.accessHost(ctx, mh)
	if err != nil {
		return err
	}
	return fn(h, data)
}

func (t *registryTrust) certsStep(mh model.Host) *Step {
	return &Step{
		ID: "certs", Title: "Install the CA in certs.d/" + t.registry + " on " + mh.Name,
		Check: func(ctx context.Context) error {
			return t.withHost(ctx, mh, func(hostfs.Host, []byte) error { return nil })
		},
		Plan: func(ctx context.Context) (Plan, error) {
			var plan Plan
			err := t.withHost(ctx, mh, func(h hostfs.Host, data []byte) error {
				plan = installPlan(h, data, t.certsFiles()...)
				return nil
			})
			return plan, err
		},
		Run: func(ctx context.Context, progress func(string)) error {
			return t.withHost(ctx, mh, func(h hostfs.Host, data []byte) error {
				for _, p := range t.certsFiles() {
					if err := installFile(h, p, data, progress); err != nil {
						return err
					}
				}
				return nil
			})
		},
		Verify: func(ctx context.Context) error {
			return t.withHost(ctx, mh, func(h hostfs.Host, data []byte) error { return holds(h, data, t.certsFiles()...) })
		},
	}
}

func (t *registryTrust) anchorFile() string {
	return path.Join(caAnchors, strings.ReplaceAll(t.registry, ":", "_")+".crt")
}

func (t *registryTrust) anchorStep(mh model.Host) *Step {
	return &Step{
		ID: "anchor", Title: "Add the CA to the system trust of " + mh.Name, Skippable: true,
		Check: func(ctx context.Context) error {
			return t.withHost(ctx, mh, func(h hostfs.Host, _ []byte) error {
				r, err := h.Run(ctx, hostfs.Command{Line: "command -v update-ca-trust"})
				switch {
				case err != nil:
					return err
				case r.Exit != 0:
					return fmt.Errorf("update-ca-trust is not on %s: its system trust is not RHEL's (ca-certificates); the certs.d files are in place — skip this step, or install update-ca-trust and retry", mh.Name)
				}
				return nil
			})
		},
		Plan: func(ctx context.Context) (Plan, error) {
			var plan Plan
			err := t.withHost(ctx, mh, func(h hostfs.Host, data []byte) error {
				plan = append(installPlan(h, data, t.anchorFile()), "on "+mh.Name+": update-ca-trust extract",
					"docker reads certs.d at each pull; a docker older than 1.13, or a daemon to see the new system trust, takes `systemctl restart docker` (seed 003 §7.2.1), which restarts its containers: not done here")
				return nil
			})
			return plan, err
		},
		Run: func(ctx context.Context, progress func(string)) error {
			return t.withHost(ctx, mh, func(h hostfs.Host, data []byte) error {
				if err := installFile(h, t.anchorFile(), data, progress); err != nil {
					return err
				}
				_, err := runOn(ctx, h, "update-ca-trust extract", progress)
				return err
			})
		},
		Verify: func(ctx context.Context) error {
			return t.withHost(ctx, mh, func(h hostfs.Host, data []byte) error {
				if err := holds(h, data, t.anchorFile()); err != nil {
					return err
				}
				return t.extracted(h)
			})
		},
	}
}

// extracted checks that update-ca-trust put every certificate of the CA
// file into the extracted TLS bundle.
func (t *registryTrust) extracted(h hostfs.Host) error {
	_, certs, err := t.ca()
	if err != nil {
		return err
	}
	bundle, err := h.ReadFile(caBundle)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", caBundle, h.Name(), err)
	}
	for _, c := range certs {
		if !bytes.Contains(bundle, pemBody(c.Raw)) {
			return fmt.Errorf("%s on %s does not hold %s: update-ca-trust extract did not take it", caBundle, h.Name(), c.Subject)
		}
	}
	return nil
}

// pemBody is a certificate's base64 lines, as any PEM writer wraps them.
func pemBody(der []byte) []byte {
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	p = bytes.TrimPrefix(p, []byte("-----BEGIN CERTIFICATE-----\n"))
	return bytes.TrimSuffix(p, []byte("-----END CERTIFICATE-----\n"))
}

// probeLine is the seed's check of a registry from a host, with the CA
// day2 installed: 200 or 401 on /v2/ means TLS was verified.
func (t *registryTrust) probeLine() string {
	return fmt.Sprintf("curl -sS -o /dev/null -w '%%{http_code}' --max-time 10 --cacert %s https://%s/v2/", t.certsFiles()[0], t.registry)
}

func (t *registryTrust) probeStep(mh model.Host) *Step {
	var plan Plan
	return &Step{
		ID: "probe", Title: "Probe " + t.registry + " from " + mh.Name,
		Check: func(ctx context.Context) error {
			plan = Plan{"read only, on " + mh.Name + ": " + t.probeLine()}
			h, err := t.s.accessHost(ctx, mh)
			if err != nil {
				return err
			}
			r, err := h.Run(ctx, hostfs.Command{Line: t.probeLine(), Timeout: 20 * time.Second})
			if err != nil {
				return err
			}
			plan = append(plan, resultLine(r))
			code := strings.TrimSpace(r.Stdout)
			switch {
			case r.Exit == 0 && (code == "200" || code == "401"):
				plan = append(plan, fmt.Sprintf("HTTP %s from https://%s/v2/: TLS verified with the installed CA", code, t.registry))
				return nil
			case r.Exit == 127:
				return fmt.Errorf("curl is not on %s: probe it by hand: %s", mh.Name, t.probeLine())
			case r.Exit == 60 || r.Exit == 35:
				return fmt.Errorf("TLS from %s to %s fails with the installed CA (curl exit %d: %s)", mh.Name, t.registry, r.Exit, strings.TrimSpace(r.Stderr))
			case r.Exit != 0:
				return fmt.Errorf("%s does not reach %s (curl exit %d: %s)", mh.Name, t.registry, r.Exit, strings.TrimSpace(r.Stderr))
			}
			return fmt.Errorf("https://%s/v2/ answered HTTP %s from %s: TLS works, but this is no registry's 200 or 401", t.registry, code, mh.Name)
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
	}
}
