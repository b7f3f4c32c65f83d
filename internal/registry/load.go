package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/day2ops/day2/model"
)

// Where containers/image reads its configuration, relative to the host root.
const (
	RegistriesConf  = "etc/containers/registries.conf"
	RegistriesConfD = "etc/containers/registries.conf.d"
)

// LoadRegistriesConf reads the host's registries configuration the way its
// container runtime does (Reading says which, ReadingWhy on what evidence):
//   - CRI-O and podman: /etc/containers/registries.conf then every
//     registries.conf.d/*.conf, parsed and merged by containers/image's
//     sysregistriesv2;
//   - docker (a 3.11 node): the main file's v1 lists only (tables, quoted
//     tables or the YAML-like form; drop-ins are not read, see Ignored); a
//     main file in the v2 format is read by containers/image.
//
// Sources are host paths. With neither the file nor a drop-in the error
// wraps fs.ErrNotExist.
func LoadRegistriesConf(root string) (model.RegistriesConfig, error) {
	files, err := confFiles(root)
	if err != nil {
		return model.RegistriesConfig{}, err
	}
	if len(files) == 0 {
		return model.RegistriesConfig{}, fmt.Errorf("no /%s nor /%s/*.conf under %s: %w", RegistriesConf, RegistriesConfD, root, fs.ErrNotExist)
	}
	reading, why := DetectReading(root)
	var cfg model.RegistriesConfig
	switch {
	case reading == model.ReadingDocker && files[0] == RegistriesConf:
		cfg, err = loadDockerConf(root)
		for _, f := range files[1:] {
			cfg.Ignored = append(cfg.Ignored, "/"+f)
		}
	case reading == model.ReadingDocker:
		return model.RegistriesConfig{}, fmt.Errorf("no /%s under %s (docker reads no drop-ins): %w", RegistriesConf, root, fs.ErrNotExist)
	default:
		cfg, err = loadContainersConf(root, files)
	}
	if err != nil {
		return model.RegistriesConfig{}, err
	}
	cfg.Reading, cfg.ReadingWhy = reading, why
	return cfg, nil
}

// loadDockerConf reads the main file as docker does.
func loadDockerConf(root string) (model.RegistriesConfig, error) {
	data, err := os.ReadFile(filepath.Join(root, RegistriesConf))
	if err != nil {
		return model.RegistriesConfig{}, fmt.Errorf("read /%s: %w", RegistriesConf, err)
	}
	cfg, err := ParseRegistriesConf("/"+RegistriesConf, data)
	if errors.Is(err, ErrNotV1) {
		return loadContainersConf(root, []string{RegistriesConf})
	}
	return cfg, err
}

// confFiles lists the files to read, relative to root: the main file if it
// exists, then the drop-ins (os.ReadDir sorts them).
func confFiles(root string) ([]string, error) {
	var files []string
	switch _, err := os.Stat(filepath.Join(root, RegistriesConf)); {
	case err == nil:
		files = append(files, RegistriesConf)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("/%s: %w", RegistriesConf, err)
	}
	entries, err := os.ReadDir(filepath.Join(root, RegistriesConfD))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read /%s: %w", RegistriesConfD, err)
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".conf") {
			files = append(files, RegistriesConfD+"/"+e.Name())
		}
	}
	return files, nil
}
