package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/day2ops/day2/model"
)

// MasterConfig is the OpenShift 3.11 master configuration, relative to the
// host root.
const MasterConfig = "etc/origin/master/master-config.yaml"

// AllowedRegistriesForImport reads imagePolicyConfig.allowedRegistriesForImport
// from master-config.yaml (seed 003 §7.3.7). Without the file (not a master)
// the list is empty, not an error.
func AllowedRegistriesForImport(root string) ([]model.ImportRegistry, error) {
	data, err := os.ReadFile(filepath.Join(root, MasterConfig))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read /%s: %w", MasterConfig, err)
	}
	// encoding/json matches domainName and insecure to the model's fields.
	var mc struct {
		ImagePolicyConfig struct {
			AllowedRegistriesForImport []model.ImportRegistry `json:"allowedRegistriesForImport"`
		} `json:"imagePolicyConfig"`
	}
	if err := yaml.Unmarshal(data, &mc); err != nil {
		return nil, fmt.Errorf("/%s: %w", MasterConfig, err)
	}
	return mc.ImagePolicyConfig.AllowedRegistriesForImport, nil
}
