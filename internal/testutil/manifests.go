package testutil

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// ReadManifest reads a YAML manifest of the repository (config/rbac/…, config/crd/…) into obj.
func ReadManifest(path string, obj any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(data, obj); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}
