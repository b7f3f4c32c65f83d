package localcluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The integrated registry of the local cluster is the real CNCF
// distribution registry (built by tools/build.sh from tools/registry) on
// 127.0.0.1, serving a certificate of the cluster CA for the names and
// ClusterIP of the docker-registry Service, with htpasswd authentication so
// that anonymous clients get 401 on /v2/ as from OpenShift's registry. It
// is upstream distribution, not OpenShift's image registry: it answers GET /
// with 200 but has no /healthz (404).
const (
	RegistryUser     = "day2"
	RegistryPassword = "day2-registry"
	// bcrypt of RegistryPassword: the only hash distribution accepts.
	registryHtpasswd = RegistryUser + ":$2a$10$Jb8iykTRHL71ammRTRIequ4KOEnF9kPnw4ZGZAm/12gan9zBEGPca\n"
)

// registryConfig is the registry's config.yml.
const registryConfig = `version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: %[1]s/data
  delete:
    enabled: true
http:
  addr: %[2]s
  secret: day2-localcluster
  tls:
    certificate: %[1]s/tls.crt
    key: %[1]s/tls.key
auth:
  htpasswd:
    realm: day2-localcluster
    path: %[1]s/htpasswd
`

// startRegistry starts the registry on a free loopback port with the
// serving pair kp and waits until it answers; it returns its host:port.
// The process is stopped with the cluster.
func (c *Cluster) startRegistry(ctx context.Context, kp keyPair, caPEM []byte) (string, error) {
	dir := filepath.Join(c.Dir, "registry")
	ports, err := freePorts(1)
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort(loopback.String(), strconv.Itoa(ports[0]))
	fs := newFileSet(dir)
	fs.addPair("tls", kp)
	fs.add("htpasswd", []byte(registryHtpasswd))
	fs.add("config.yml", []byte(fmt.Sprintf(registryConfig, dir, addr)))
	if err := fs.write(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return "", fmt.Errorf("registry storage: %w", err)
	}
	// OTEL_TRACES_EXPORTER=none: the registry would otherwise export its
	// traces to an OTLP collector on localhost.
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + c.Dir, "OTEL_TRACES_EXPORTER=none"}
	p, err := startProc("registry", c.bin("registry"), []string{"serve", filepath.Join(dir, "config.yml")}, env, c.logFile("registry"), c.opts.Detach)
	if err != nil {
		return "", err
	}
	c.procs = append(c.procs, p)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer hc.CloseIdleConnections()
	err = poll(ctx, "registry answers on "+addr, 30*time.Second, 50*time.Millisecond, func() (bool, error) {
		if err := p.exitErr(); err != nil {
			return false, fmt.Errorf("%w (log %s)", err, c.logFile("registry"))
		}
		resp, err := hc.Get("https://" + addr + "/")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("GET / %s", resp.Status)
		}
		return true, nil
	})
	return addr, err
}
