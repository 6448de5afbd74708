package main

import (
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// krewManifestName is the krew plugin manifest: krew wants it named after the plugin.
const krewManifestName = "swarm.yaml"

// The krew index API (sigs.k8s.io/krew/pkg/index, v1alpha2), as far as a plugin manifest uses
// it. Copied instead of imported: krew's module requires k8s.io/client-go v11.0.0+incompatible,
// which Go's module resolution picks over the project's v0.37 and breaks every client. The copy
// is checked against krew itself: `make test-release` installs the manifest with krew, which
// validates it first.
type krewPlugin struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              krewPluginSpec `json:"spec"`
}

type krewPluginSpec struct {
	Version          string         `json:"version,omitempty"`
	ShortDescription string         `json:"shortDescription,omitempty"`
	Description      string         `json:"description,omitempty"`
	Caveats          string         `json:"caveats,omitempty"`
	Homepage         string         `json:"homepage,omitempty"`
	Platforms        []krewPlatform `json:"platforms,omitempty"`
}

type krewPlatform struct {
	URI      string                `json:"uri,omitempty"`
	Sha256   string                `json:"sha256,omitempty"`
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	Files    []krewFileOperation   `json:"files"`
	Bin      string                `json:"bin"`
}

type krewFileOperation struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// krewArchive is one platform's archive as the manifest names it.
type krewArchive struct {
	Platform v1.Platform
	Name     string
	Sha256   string
	// Files are the archive's members, each copied into the plugin's directory.
	Files []string
}

// krewManifest is the plugin manifest of a release whose archives are downloaded from
// releaseURL/<archive>.
func krewManifest(version, releaseURL string, archives []krewArchive) krewPlugin {
	p := krewPlugin{
		TypeMeta:   metav1.TypeMeta{APIVersion: "krew.googlecontainertools.github.com/v1alpha2", Kind: "Plugin"},
		ObjectMeta: metav1.ObjectMeta{Name: "swarm"},
		Spec: krewPluginSpec{
			Version:          version,
			Homepage:         sourceURL,
			ShortDescription: "Docker Swarm's commands and stacks on Kubernetes",
			Description: "kubectl swarm drives kubeswarm, an operator that gives Kubernetes Docker Swarm's\n" +
				"experience: `kubectl swarm service create`, `stack deploy` of a compose file,\n" +
				"`node update --availability drain`, `init` to install the operator.\n" +
				"`kubectl swarm convert` turns a compose file into kubeswarm objects offline.\n",
			Caveats: "`kubectl swarm init` installs kubeswarm " + version + " (CRDs and the operator) into\n" +
				"the current cluster: it needs rights to create CRDs and cluster roles.\n",
		},
	}
	for _, a := range archives {
		var files []krewFileOperation
		for _, f := range a.Files {
			files = append(files, krewFileOperation{From: f, To: "."})
		}
		p.Spec.Platforms = append(p.Spec.Platforms, krewPlatform{
			URI:    releaseURL + "/" + a.Name,
			Sha256: a.Sha256,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{
				"os": a.Platform.OS, "arch": a.Platform.Architecture,
			}},
			Files: files,
			Bin:   pluginBinary + exe(a.Platform.OS),
		})
	}
	return p
}

// writeKrewManifest writes the manifest to dir/swarm.yaml.
func writeKrewManifest(dir string, p krewPlugin) error {
	b, err := yaml.Marshal(p)
	if err != nil {
		return fmt.Errorf("writing the krew manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, krewManifestName), b, 0o644); err != nil {
		return fmt.Errorf("writing the krew manifest: %w", err)
	}
	return nil
}
