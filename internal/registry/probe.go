package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/day2ops/day2/model"
)

// probePaths are what Probe asks, in order: the health check seed 003
// §3.5.2 curls, then the distribution API's version check.
var probePaths = []string{"/healthz", "/v2/"}

// Probe GETs baseURL (such as https://docker-registry.default.svc:5000)
// plus /healthz, then /v2/, and returns the results in that order, each
// request within timeout (none if timeout <= 0). Every
// probe opens a fresh connection, so latency and certificate are what a new
// client gets. Redirects are reported, not followed. A failure is a result
// with Err set; when /healthz timed out, /v2/ is not tried.
func Probe(ctx context.Context, baseURL string, tlsConfig *tls.Config, timeout time.Duration) []model.ProbeResult {
	return probe(ctx, newClient(tlsConfig, ""), baseURL, timeout)
}

// ProbeTarget probes one registry of a report as a pull from this host
// would reach it: TLS verified against the system roots plus the certs.d
// CAs under root, or, for an insecure target, not verified and over plain
// HTTP when the registry does not speak TLS. It connects to t.Via when set.
// The result is Done; its ReportID and Index are the caller's to set.
func ProbeTarget(ctx context.Context, root string, t model.ProbeTarget, timeout time.Duration) model.RegistryProbe {
	res := model.RegistryProbe{Done: true}
	cfg, err := TLSConfigFor(root, t.HostPort)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	cfg.InsecureSkipVerify = t.Insecure
	res.Results = probe(ctx, newClient(cfg, t.Via), t.URL, timeout)
	if t.Insecure && res.Results[0].Meaning == model.ProbePlainHTTP {
		res.Results = probe(ctx, newClient(nil, t.Via), "http://"+strings.TrimPrefix(t.URL, "https://"), timeout)
	}
	res.Verified = !t.Insecure && slices.ContainsFunc(res.Results, func(r model.ProbeResult) bool {
		return r.Status != 0 && strings.HasPrefix(r.URL, "https://")
	})
	return res
}

// newClient is an HTTP client that dials via instead of the URL's host
// when via is set.
func newClient(tlsConfig *tls.Config, via string) *http.Client {
	tr := &http.Transport{
		// As curl in the seed, honour HTTPS_PROXY/NO_PROXY.
		Proxy:             http.ProxyFromEnvironment,
		TLSClientConfig:   tlsConfig,
		DisableKeepAlives: true,
	}
	if via != "" {
		// A proxy would be asked for the URL's host, not for via.
		tr.Proxy = nil
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, via)
		}
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func probe(ctx context.Context, client *http.Client, baseURL string, timeout time.Duration) []model.ProbeResult {
	base := strings.TrimRight(baseURL, "/")
	results := make([]model.ProbeResult, 0, len(probePaths))
	for _, p := range probePaths {
		if len(results) > 0 && results[0].Meaning == model.ProbeTimedOut {
			// A registry that did not answer /healthz in time would only
			// make the operator wait as long again.
			results = append(results, model.ProbeResult{URL: base + p, Meaning: model.ProbeNotTried, Err: "GET " + probePaths[0] + " timed out"})
			continue
		}
		results = append(results, probeOne(ctx, client, base, p, timeout))
	}
	return results
}

func probeOne(ctx context.Context, client *http.Client, base, path string, timeout time.Duration) model.ProbeResult {
	res := model.ProbeResult{URL: base + path}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, res.URL, nil)
	if err != nil {
		res.Meaning, res.Err = "bad URL", err.Error()
		return res
	}
	start := time.Now()
	resp, err := client.Do(req)
	res.Latency = time.Since(start)
	if err != nil {
		return failed(res, err, timeout)
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	res.Meaning = model.ProbeMeaning(path, resp.StatusCode)
	res.APIVersion = resp.Header.Get("Docker-Distribution-API-Version")
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		res.CertNotAfter = resp.TLS.PeerCertificates[0].NotAfter
	}
	return res
}

// failed records why no response came. A rejected certificate still tells
// when it expires: an expired one is a common reason for the rejection.
func failed(res model.ProbeResult, err error, timeout time.Duration) model.ProbeResult {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // the URL is already in the result
	}
	res.Err = err.Error()
	var certErr *tls.CertificateVerificationError
	var netErr net.Error
	switch {
	case errors.As(err, &certErr):
		res.Meaning = model.ProbeCertBad
		if len(certErr.UnverifiedCertificates) > 0 {
			res.CertNotAfter = certErr.UnverifiedCertificates[0].NotAfter
		}
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		res.Meaning = model.ProbeTimedOut
		if timeout > 0 {
			res.Err = fmt.Sprintf("no response within %s", timeout)
		}
	case strings.Contains(res.Err, "server gave HTTP response to HTTPS client"):
		// net/http's own words; it wraps no error type to test for.
		res.Meaning = model.ProbePlainHTTP
	default:
		res.Meaning = model.ProbeUnreachable
	}
	return res
}
