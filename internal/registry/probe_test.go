package registry

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/model"
)

// newRegistry starts a TLS server on 127.0.0.1 answering /healthz and /v2/
// with the given statuses and, on /v2/, the distribution API header.
func newRegistry(t *testing.T, healthz, v2 int) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(healthz) })
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.WriteHeader(v2)
	})
	// The handshakes the untrusted probes abort are expected: keep them out of the test log.
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// trustRoot is a host root whose certs.d trusts srv's certificate (the
// httptest certificate is its own CA).
func trustRoot(t *testing.T, srv *httptest.Server) (root, hostport string) {
	hostport = srv.Listener.Addr().String()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return writeFiles(t, map[string]string{path.Join("etc/docker/certs.d", hostport, "ca.crt"): string(ca)}), hostport
}

func TestProbeStatuses(t *testing.T) {
	for _, tc := range []struct {
		healthz, v2         int
		wantHealthz, wantV2 string
	}{
		{200, 200, "healthy", "v2 registry, anonymous access"},
		{200, 401, "healthy", "alive, wants authentication"},
		{404, 404, "no /healthz endpoint", "not a v2 registry"},
		{503, 503, "unhealthy", "unavailable"},
	} {
		srv := newRegistry(t, tc.healthz, tc.v2)
		root, hostport := trustRoot(t, srv)
		tlsConfig, err := TLSConfigFor(root, hostport)
		if err != nil {
			t.Fatal(err)
		}
		got := Probe(context.Background(), srv.URL+"/", tlsConfig, 5*time.Second)
		if len(got) != 2 {
			t.Fatalf("%d results, want 2", len(got))
		}
		h, v := got[0], got[1]
		notAfter := srv.Certificate().NotAfter
		if h.URL != srv.URL+"/healthz" || h.Status != tc.healthz || h.Meaning != tc.wantHealthz || h.Err != "" || h.APIVersion != "" || !h.CertNotAfter.Equal(notAfter) {
			t.Errorf("healthz %d: %+v", tc.healthz, h)
		}
		if v.URL != srv.URL+"/v2/" || v.Status != tc.v2 || v.Meaning != tc.wantV2 || v.Err != "" || v.APIVersion != "registry/2.0" || !v.CertNotAfter.Equal(notAfter) || v.Latency <= 0 {
			t.Errorf("v2 %d: %+v", tc.v2, v)
		}
	}
}

func TestProbeNeedsTheRegistryCA(t *testing.T) {
	srv := newRegistry(t, 200, 200)
	hostport := srv.Listener.Addr().String()

	// Without the CA in certs.d the system roots do not know the server.
	untrusted, err := TLSConfigFor(t.TempDir(), hostport)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Probe(context.Background(), srv.URL, untrusted, 5*time.Second) {
		if r.Status != 0 || r.Meaning != "certificate rejected" || !strings.Contains(r.Err, "certificate") ||
			!r.CertNotAfter.Equal(srv.Certificate().NotAfter) {
			t.Errorf("without CA: %+v", r)
		}
	}

	root, _ := trustRoot(t, srv)
	trusted, err := TLSConfigFor(root, hostport)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Probe(context.Background(), srv.URL, trusted, 5*time.Second) {
		if r.Status != 200 || r.Err != "" {
			t.Errorf("with CA: %+v", r)
		}
	}
}

func TestProbeClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, r := range Probe(context.Background(), "https://"+addr, nil, 5*time.Second) {
		if r.Status != 0 || r.Meaning != "unreachable" || r.Err == "" || strings.Contains(r.Err, "https://") {
			t.Errorf("closed port: %+v", r)
		}
	}
}

func TestProbeTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Answers nothing until the client gives up.
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	got := Probe(context.Background(), srv.URL, nil, 50*time.Millisecond)
	if h := got[0]; h.Status != 0 || h.Meaning != "timed out" || h.Err != "no response within 50ms" {
		t.Errorf("healthz: %+v", h)
	}
	if v := got[1]; v.Status != 0 || v.Meaning != "not tried" || v.Err != "GET /healthz timed out" || v.URL != srv.URL+"/v2/" {
		t.Errorf("v2 after a timeout: %+v", v)
	}
}

// A target reached through Via is checked against its configured name's
// certs.d CA and the certificate's name, not against the address dialled.
func TestProbeTargetVia(t *testing.T) {
	srv := newRegistry(t, 200, 401)
	// The httptest certificate is for example.com.
	root := writeFiles(t, map[string]string{"etc/containers/certs.d/example.com:5000/ca.crt": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))})
	target := model.ProbeTarget{HostPort: "example.com:5000", URL: "https://example.com:5000", Via: srv.Listener.Addr().String()}
	p := ProbeTarget(context.Background(), root, target, 5*time.Second)
	if !p.Done || !p.Verified || p.Err != "" || len(p.Results) != 2 {
		t.Fatalf("probe = %+v", p)
	}
	if v := p.Results[1]; v.URL != "https://example.com:5000/v2/" || v.Status != 401 || v.Meaning != "alive, wants authentication" || v.APIVersion != "registry/2.0" {
		t.Errorf("v2: %+v", v)
	}

	// Without the CA: rejected, not verified.
	p = ProbeTarget(context.Background(), t.TempDir(), target, 5*time.Second)
	if p.Verified || p.Results[0].Meaning != model.ProbeCertBad {
		t.Errorf("without CA: %+v", p)
	}
	// Insecure: answered without verification, but not Verified.
	target.Insecure = true
	p = ProbeTarget(context.Background(), t.TempDir(), target, 5*time.Second)
	if p.Verified || p.Results[0].Status != 200 || p.Results[1].Status != 401 {
		t.Errorf("insecure: %+v", p)
	}
}

// An insecure registry that speaks plain HTTP is probed over HTTP, as
// docker pulls from it; a secure one is reported as speaking plain HTTP.
func TestProbeTargetPlainHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	}))
	t.Cleanup(srv.Close)
	hp := srv.Listener.Addr().String()
	secure := model.ProbeTarget{HostPort: hp, URL: "https://" + hp}
	p := ProbeTarget(context.Background(), t.TempDir(), secure, 5*time.Second)
	if p.Verified || p.Results[0].Meaning != model.ProbePlainHTTP || !strings.HasPrefix(p.Results[0].URL, "https://") {
		t.Errorf("secure target over plain HTTP: %+v", p)
	}
	insecure := secure
	insecure.Insecure = true
	p = ProbeTarget(context.Background(), t.TempDir(), insecure, 5*time.Second)
	if p.Verified || len(p.Results) != 2 || p.Results[0].URL != "http://"+hp+"/healthz" || p.Results[1].Status != 200 ||
		p.Results[1].Meaning != "v2 registry, anonymous access" || !p.Results[1].CertNotAfter.IsZero() {
		t.Errorf("insecure target over plain HTTP: %+v", p)
	}
}

func TestProbeTargetBadCAFile(t *testing.T) {
	root := writeFiles(t, map[string]string{"etc/docker/certs.d/r.example.com/ca.crt": "not PEM"})
	p := ProbeTarget(context.Background(), root, model.ProbeTarget{HostPort: "r.example.com", URL: "https://r.example.com"}, time.Second)
	if !p.Done || len(p.Results) != 0 || !strings.Contains(p.Err, "/etc/docker/certs.d/r.example.com/ca.crt: no PEM certificate") {
		t.Errorf("probe = %+v", p)
	}
}
