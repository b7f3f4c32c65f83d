package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
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
// with Err set.
func Probe(ctx context.Context, baseURL string, tlsConfig *tls.Config, timeout time.Duration) []model.ProbeResult {
	client := &http.Client{
		Transport: &http.Transport{
			// As curl in the seed, honour HTTPS_PROXY/NO_PROXY.
			Proxy:             http.ProxyFromEnvironment,
			TLSClientConfig:   tlsConfig,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	base := strings.TrimRight(baseURL, "/")
	results := make([]model.ProbeResult, 0, len(probePaths))
	for _, p := range probePaths {
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
		return failed(res, err)
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
func failed(res model.ProbeResult, err error) model.ProbeResult {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err // the URL is already in the result
	}
	res.Err = err.Error()
	var certErr *tls.CertificateVerificationError
	var netErr net.Error
	switch {
	case errors.As(err, &certErr):
		res.Meaning = "certificate rejected"
		if len(certErr.UnverifiedCertificates) > 0 {
			res.CertNotAfter = certErr.UnverifiedCertificates[0].NotAfter
		}
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		res.Meaning = "timed out"
	default:
		res.Meaning = "unreachable"
	}
	return res
}
