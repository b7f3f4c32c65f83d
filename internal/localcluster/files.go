package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// fileSet collects files to write under one directory, so generators state
// what a host looks like and write it in one go.
type fileSet struct {
	root  string
	files map[string]fileEntry
}

type fileEntry struct {
	data []byte
	mode os.FileMode
}

func newFileSet(root string) *fileSet { return &fileSet{root: root, files: map[string]fileEntry{}} }

// add places data at rel (a slash path under the root); private keys and
// anything else secret are written 0600, the rest 0644.
func (f *fileSet) add(rel string, data []byte) {
	mode := os.FileMode(0o644)
	if isSecretPath(rel) {
		mode = 0o600
	}
	f.files[rel] = fileEntry{data: data, mode: mode}
}

func (f *fileSet) addPair(relBase string, kp keyPair) {
	f.add(relBase+".crt", kp.certPEM)
	f.add(relBase+".key", kp.keyPEM)
}

func isSecretPath(rel string) bool {
	base := filepath.Base(rel)
	return strings.HasSuffix(base, ".key") || strings.HasSuffix(base, ".kubeconfig") ||
		base == "htpasswd" || base == "session-secrets.yaml"
}

func (f *fileSet) write() error {
	for rel, e := range f.files {
		p := filepath.Join(f.root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.WriteFile(p, e.data, e.mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}
