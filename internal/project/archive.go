package project

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// Backup is a project backup in memory: its manifest and its files by name
// (one YAML List per kind, the namespace object, manifest.json).
type Backup struct {
	Manifest model.ProjectManifest
	Files    map[string][]byte
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// add writes v as a YAML file of the backup, the form `oc get -o yaml`
// prints (seed 003 §4.7).
func (b *Backup) add(name string, v any) error {
	data, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b.Files[name] = data
	return nil
}

// Pack is the backup as a tar.gz: manifest.json first, then the files by
// name, each mode 0600.
func (b *Backup) Pack() ([]byte, error) {
	manifest, err := json.MarshalIndent(b.Manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(b.Files))
	for n := range b.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	write := func(name string, data []byte) error {
		hdr := &tar.Header{Name: name, Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: b.Manifest.TakenAt}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := write(model.ProjectManifestFile, append(manifest, '\n')); err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := write(n, b.Files[n]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write packs the backup to file on host, mode 0600 (it holds Secrets),
// with its SHA-256 in file.sha256 in sha256sum's format. It returns the
// archive's SHA-256.
func (b *Backup) Write(h hostfs.Host, file string) (string, error) {
	data, err := b.Pack()
	if err != nil {
		return "", fmt.Errorf("pack %s: %w", file, err)
	}
	if err := h.MkdirAll(path.Dir(file), 0o700); err != nil {
		return "", fmt.Errorf("backup dir of %s: %w", file, err)
	}
	sum := sha(data)
	if err := h.WriteFile(file, data, 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", file, err)
	}
	if err := h.WriteFile(file+".sha256", []byte(sum+"  "+path.Base(file)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s.sha256: %w", file, err)
	}
	return sum, nil
}

// Read reads and verifies a backup on host (Verify), so a corrupted
// archive is refused before anything is created from it.
func Read(h hostfs.Host, file string) (*Backup, error) {
	data, err := h.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	want, err := h.ReadFile(file + ".sha256")
	if err != nil {
		return nil, fmt.Errorf("%s: no checksum beside it: %w", file, err)
	}
	b, err := Verify(data, string(want))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return b, nil
}

// Verify checks an archive against its sha256sum line, then reads it: the
// manifest must parse and be complete, every file it lists must be there
// with its SHA-256 and parse as a List of that many objects of its kind,
// and nothing else may be in it.
func Verify(data []byte, sumLine string) (*Backup, error) {
	fields := strings.Fields(sumLine)
	if len(fields) == 0 || len(fields[0]) != 64 {
		return nil, fmt.Errorf("checksum file holds no sha256 (%q)", strings.TrimSpace(sumLine))
	}
	if got := sha(data); got != fields[0] {
		return nil, fmt.Errorf("sha256 %s does not match the checksum file's %s: the archive changed since the backup", got, fields[0])
	}
	files, err := untar(data)
	if err != nil {
		return nil, err
	}
	raw, ok := files[model.ProjectManifestFile]
	if !ok {
		return nil, errors.New("no " + model.ProjectManifestFile + " in the archive")
	}
	delete(files, model.ProjectManifestFile)
	b := &Backup{Files: files}
	if err := json.Unmarshal(raw, &b.Manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", model.ProjectManifestFile, err)
	}
	if err := b.Manifest.Check(); err != nil {
		return nil, err
	}
	if _, err := b.NamespaceObject(); err != nil {
		return nil, err
	}
	listed := map[string]bool{model.ProjectNamespaceFile: true}
	for _, f := range b.Manifest.Files {
		listed[f.File] = true
		data, ok := files[f.File]
		if !ok {
			return nil, fmt.Errorf("%s is in the manifest but not in the archive", f.File)
		}
		if got := sha(data); got != f.SHA256 {
			return nil, fmt.Errorf("%s: sha256 %s, the manifest says %s", f.File, got, f.SHA256)
		}
		objs, err := b.Objects(f.File)
		if err != nil {
			return nil, err
		}
		if len(objs) != f.Count {
			return nil, fmt.Errorf("%s holds %d objects, the manifest says %d", f.File, len(objs), f.Count)
		}
		for _, o := range objs {
			if o["kind"] != f.Kind || o["apiVersion"] != f.APIVersion() {
				return nil, fmt.Errorf("%s holds a %v %v, not %s %s", f.File, o["apiVersion"], o["kind"], f.APIVersion(), f.Kind)
			}
			if meta, _ := o["metadata"].(map[string]any); meta == nil || meta["name"] == nil || meta["name"] == "" {
				return nil, fmt.Errorf("%s holds a %s without a name", f.File, f.Kind)
			}
		}
	}
	for n := range files {
		if !listed[n] {
			return nil, fmt.Errorf("%s is in the archive but not in the manifest", n)
		}
	}
	return b, nil
}

// untar reads every regular file of a tar.gz, to its end.
func untar(data []byte) (map[string][]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a gzip archive: %w", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read archive: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("archive entry %s is not a regular file", hdr.Name)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read archive entry %s: %w", hdr.Name, err)
		}
		if _, dup := files[hdr.Name]; dup {
			return nil, fmt.Errorf("archive holds %s twice", hdr.Name)
		}
		files[hdr.Name] = body
	}
	return files, nil
}

// Objects are the objects of one kind's file, decoded afresh (a restore
// rewrites them).
func (b *Backup) Objects(file string) ([]map[string]any, error) {
	var list struct {
		Kind  string           `json:"kind"`
		Items []map[string]any `json:"items"`
	}
	if err := yaml.Unmarshal(b.Files[file], &list); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if list.Kind != "List" {
		return nil, fmt.Errorf("%s: not a List (kind %q)", file, list.Kind)
	}
	return list.Items, nil
}

// NamespaceObject is the backup's namespace object, decoded afresh.
func (b *Backup) NamespaceObject() (map[string]any, error) {
	var obj map[string]any
	if err := yaml.Unmarshal(b.Files[b.Manifest.NamespaceFile], &obj); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Manifest.NamespaceFile, err)
	}
	if obj["kind"] != "Namespace" {
		return nil, fmt.Errorf("%s: not a Namespace (kind %v)", b.Manifest.NamespaceFile, obj["kind"])
	}
	return obj, nil
}

// Claims are the names of the backup's PersistentVolumeClaims.
func (b *Backup) Claims() []string {
	var out []string
	for _, f := range b.Manifest.Files {
		if f.Group != "" || f.Resource != "persistentvolumeclaims" {
			continue
		}
		objs, _ := b.Objects(f.File)
		for _, o := range objs {
			if meta, _ := o["metadata"].(map[string]any); meta != nil {
				out = append(out, fmt.Sprint(meta["name"]))
			}
		}
	}
	return out
}

// PinnedImages lists the DeploymentConfigs whose images are pinned by
// digest (model.PinnedImages), "name: container=image".
func (b *Backup) PinnedImages() []string {
	var out []string
	for _, f := range b.Manifest.Files {
		if f.Kind != "DeploymentConfig" {
			continue
		}
		objs, _ := b.Objects(f.File)
		for _, o := range objs {
			meta, _ := o["metadata"].(map[string]any)
			for _, img := range model.PinnedImages(o) {
				out = append(out, fmt.Sprintf("%v: %s", meta["name"], img))
			}
		}
	}
	return out
}
