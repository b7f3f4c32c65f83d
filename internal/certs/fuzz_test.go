package certs

import (
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/day2ops/day2/model"
)

// privateKeys returns the PEM private-key blocks in data, re-encoded, for
// assertNoKeyMaterial.
func privateKeys(data []byte) [][]byte {
	var keys [][]byte
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			return keys
		}
		if strings.Contains(block.Type, "PRIVATE KEY") {
			keys = append(keys, pem.EncodeToMemory(block))
		}
		data = rest
	}
}

func checkResults(t *testing.T, source string, certs []model.Certificate, err error, keys [][]byte) {
	t.Helper()
	last := -1
	for _, c := range certs {
		if !strings.HasPrefix(c.Source, source) || c.Block < 0 {
			t.Fatalf("certificate with source %q block %d", c.Source, c.Block)
		}
		if c.Source == source && c.Block <= last {
			t.Fatalf("blocks out of order: %d after %d", c.Block, last)
		}
		last = c.Block
	}
	assertNoKeyMaterial(t, keys, certs, err)
}

func FuzzParsePEM(f *testing.F) {
	ca := newCA(f, "ca", 365*day)
	leaf, key := ca.issue(f, spec{cn: "leaf", kind: model.CertServer, life: day})
	for _, seed := range [][]byte{
		nil,
		ca.pem,
		concat(ca.pem, leaf, ca.pem),
		concat(key, leaf),
		concat(leaf, []byte("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n")),
		pemBlock("CERTIFICATE", []byte{0x30, 0x03, 0x02, 0x01, 0x01}),
		[]byte("-----BEGIN CERTIFICATE-----\n"),
		[]byte("plain text"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParsePEM("src", data)
		checkResults(t, "src", certs, err, privateKeys(data))
	})
}

func FuzzParseKubeconfig(f *testing.F) {
	dir := f.TempDir()
	ca := newCA(f, "ca", 365*day)
	client, key := ca.issue(f, spec{cn: "admin", kind: model.CertClient, life: day})
	tree(f, dir, map[string][]byte{"ca.crt": ca.pem, "client.crt": concat(key, client)})
	for _, seed := range [][]byte{
		nil,
		kubeconfigYAML(f, map[string]*clientcmdapi.Cluster{"c": {Server: "https://c", CertificateAuthorityData: ca.pem}},
			map[string]*clientcmdapi.AuthInfo{"u": {ClientCertificateData: client, ClientKeyData: key}}),
		kubeconfigYAML(f, map[string]*clientcmdapi.Cluster{"c": {Server: "https://c", CertificateAuthority: "ca.crt"}},
			map[string]*clientcmdapi.AuthInfo{"u": {ClientCertificate: filepath.Join(dir, "client.crt"), ClientKey: filepath.Join(dir, "client.crt")}}),
		[]byte(`{"apiVersion":"v1","kind":"Config","clusters":[{"name":"x","cluster":{"certificate-authority":"missing.crt"}}]}`),
		[]byte("apiVersion: v1\nkind: Pod\n"),
		[]byte("clusters: [\n"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseKubeconfig("src", data, dir)
		var keys [][]byte
		if cfg, err := clientcmd.Load(data); err == nil {
			for _, u := range cfg.AuthInfos {
				keys = append(keys, privateKeys(u.ClientKeyData)...)
			}
		}
		checkResults(t, "src (", certs, err, append(keys, key))
	})
}
