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
	for _, r := range Probe(context.Background(), srv.URL, nil, 50*time.Millisecond) {
		if r.Status != 0 || r.Meaning != "timed out" || r.Err == "" {
			t.Errorf("timeout: %+v", r)
		}
	}
}
