package objects

import (
	"fmt"
	"io/fs"
	"path"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/files"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// secretsDir is where docker mounts a secret without a target.
const secretsDir = "/run/secrets"

const (
	// InstallFilesContainer is the init container that installs the secrets and configs that
	// belong to a uid or gid other than root, and renders the templated ones.
	InstallFilesContainer = "install-files"
	// installedVolume is the memory-backed emptyDir the installed files live in, as Docker keeps
	// a task's secrets in a tmpfs; installSourceVolume projects the Secrets and ConfigMaps the
	// init container copies from.
	installedVolume     = "files"
	installSourceVolume = "files-source"
	installFrom         = "/kubeswarm/source"
	installTo           = "/kubeswarm/files"
	// secretsSubdir of the installed volume is mounted at /run/secrets.
	secretsSubdir = "secrets"
)

// addFiles mounts the secrets and configs, each file with the mode asked (docker's default
// 0444), which Kubernetes sets per file:
//
//   - secrets: one projected volume at /run/secrets holding a file per secret (as docker), and a
//     subPath mount for each absolute target; configs: a subPath mount at /<target>.
//   - a file of the golang template driver is installed so whatever its owner, rendered for
//     the task (files.Render, withContext).
//   - a file that belongs to a uid or gid other than root: Kubernetes cannot give a projected
//     file an owner, so, when the operator knows its files image, an init container of it
//     installs the file into a memory-backed emptyDir with its owner and mode, as the Docker
//     engine does (internal/files), and the task mounts it from there, read-only. When one
//     secret of /run/secrets needs it, the whole directory is installed so. Without the image
//     the file stays root's, and Honored says so.
func addFiles(pod *corev1ac.PodSpecApplyConfiguration, c *corev1ac.ContainerApplyConfiguration, svc *swarmv1.Service, in Inputs, opts translate.Options) error {
	s := &svc.Spec
	secretOwners, err := translate.FileOwners("secrets", s.Secrets)
	if err != nil {
		return err
	}
	configOwners, err := translate.FileOwners("configs", s.Configs)
	if err != nil {
		return err
	}
	inst := &installer{image: opts.FilesImage}
	// A templated file is installed whatever its owner: install-files renders it.
	installs := func(owner translate.FileOwner, templated bool) bool {
		return opts.InstallsFile(owner) || templated && opts.FilesImage != ""
	}
	installDir := false
	for i, ref := range s.Secrets {
		installDir = installDir || installs(secretOwners[i], in.TemplatedSecrets[ref.Source]) && !path.IsAbs(secretTarget(ref))
	}

	projected := corev1ac.ProjectedVolumeSource()
	hasProjected := false
	for i, ref := range s.Secrets {
		target := secretTarget(ref)
		key := in.SecretKey(ref.Source)
		owner := secretOwners[i]
		source := func(p string) *corev1ac.VolumeProjectionApplyConfiguration {
			return corev1ac.VolumeProjection().WithSecret(corev1ac.SecretProjection().WithName(ref.Source).
				WithItems(corev1ac.KeyToPath().WithKey(key).WithPath(p).WithMode(installSourceMode)))
		}
		templated := in.TemplatedSecrets[ref.Source] && opts.FilesImage != ""
		switch {
		case !path.IsAbs(target) && installDir:
			inst.add(source, fmt.Sprintf("secret-%d", i), path.Join(secretsSubdir, path.Clean(target)), owner, ref.Mode, templated)
		case !path.IsAbs(target):
			projected.WithSources(corev1ac.VolumeProjection().WithSecret(corev1ac.SecretProjection().
				WithName(ref.Source).WithItems(corev1ac.KeyToPath().WithKey(key).WithPath(path.Clean(target)).WithMode(fileMode(ref.Mode)))))
			hasProjected = true
		case installs(owner, templated):
			name := fmt.Sprintf("secret-%d", i)
			inst.add(source, name, name, owner, ref.Mode, templated)
			c.WithVolumeMounts(corev1ac.VolumeMount().WithName(installedVolume).WithMountPath(path.Clean(target)).WithSubPath(name).WithReadOnly(true))
		default:
			name := fmt.Sprintf("secret-%d", i)
			pod.WithVolumes(corev1ac.Volume().WithName(name).WithSecret(corev1ac.SecretVolumeSource().
				WithSecretName(ref.Source).WithItems(corev1ac.KeyToPath().WithKey(key).WithPath(key).WithMode(fileMode(ref.Mode)))))
			c.WithVolumeMounts(corev1ac.VolumeMount().WithName(name).WithMountPath(path.Clean(target)).WithSubPath(key).WithReadOnly(true))
		}
	}
	if hasProjected {
		pod.WithVolumes(corev1ac.Volume().WithName("secrets").WithProjected(projected))
		c.WithVolumeMounts(corev1ac.VolumeMount().WithName("secrets").WithMountPath(secretsDir).WithReadOnly(true))
	}
	if installDir {
		c.WithVolumeMounts(corev1ac.VolumeMount().WithName(installedVolume).WithMountPath(secretsDir).WithSubPath(secretsSubdir).WithReadOnly(true))
	}

	for i, ref := range s.Configs {
		target := ref.Target
		if target == "" {
			target = ref.Source
		}
		if !path.IsAbs(target) {
			target = "/" + target
		}
		key := in.ConfigKey(ref.Source)
		name := fmt.Sprintf("config-%d", i)
		owner := configOwners[i]
		templated := in.TemplatedConfigs[ref.Source] && opts.FilesImage != ""
		if installs(owner, templated) {
			inst.add(func(p string) *corev1ac.VolumeProjectionApplyConfiguration {
				return corev1ac.VolumeProjection().WithConfigMap(corev1ac.ConfigMapProjection().WithName(ref.Source).
					WithItems(corev1ac.KeyToPath().WithKey(key).WithPath(p).WithMode(installSourceMode)))
			}, name, name, owner, ref.Mode, templated)
			c.WithVolumeMounts(corev1ac.VolumeMount().WithName(installedVolume).WithMountPath(path.Clean(target)).WithSubPath(name).WithReadOnly(true))
		} else {
			pod.WithVolumes(corev1ac.Volume().WithName(name).WithConfigMap(corev1ac.ConfigMapVolumeSource().
				WithName(ref.Source).WithItems(corev1ac.KeyToPath().WithKey(key).WithPath(key).WithMode(fileMode(ref.Mode)))))
			c.WithVolumeMounts(corev1ac.VolumeMount().WithName(name).WithMountPath(path.Clean(target)).WithSubPath(key).WithReadOnly(true))
		}
	}
	if inst.templated {
		inst.withContext(svc, in)
	}
	inst.addTo(pod)
	return nil
}

// secretTarget is where a secret is mounted: its target, else its name (under /run/secrets
// unless absolute).
func secretTarget(ref swarmv1.FileReference) string {
	if ref.Target == "" {
		return ref.Source
	}
	return ref.Target
}

func fileMode(m *int32) int32 {
	if m == nil {
		return 0o444
	}
	return *m
}

// installSourceMode is the mode of the files the init container copies: root's to read, whatever
// the installed file's mode (it runs as root with no capability but CAP_CHOWN).
const installSourceMode = 0o400

// installer collects the files the init container installs.
type installer struct {
	image   string
	sources []*corev1ac.VolumeProjectionApplyConfiguration
	items   []string
	// templated: an item is a template; env is the task's context install-files renders it with.
	templated bool
	env       []*corev1ac.EnvVarApplyConfiguration
}

// add installs the file that source projects (at the path it is given) as to in the installed
// volume, with owner and mode.
func (in *installer) add(source func(path string) *corev1ac.VolumeProjectionApplyConfiguration, from, to string, owner translate.FileOwner, mode *int32, templated bool) {
	in.sources = append(in.sources, source(from))
	in.items = append(in.items, files.Item{From: from, UID: owner.UID, GID: owner.GID, Mode: fs.FileMode(fileMode(mode)), To: to, Template: templated}.String())
	in.templated = in.templated || templated
}

// addTo adds the volumes and the init container to the pod, when there is a file to install.
// The init container runs as root with CAP_CHOWN only (the PodSecurity baseline level allows
// it, restricted does not).
func (in *installer) addTo(pod *corev1ac.PodSpecApplyConfiguration) {
	if len(in.items) == 0 {
		return
	}
	pod.WithVolumes(
		corev1ac.Volume().WithName(installSourceVolume).WithProjected(corev1ac.ProjectedVolumeSource().WithSources(in.sources...)),
		corev1ac.Volume().WithName(installedVolume).WithEmptyDir(corev1ac.EmptyDirVolumeSource().WithMedium(corev1.StorageMediumMemory)))
	pod.WithInitContainers(corev1ac.Container().
		WithName(InstallFilesContainer).
		WithImage(in.image).
		WithImagePullPolicy(pullPolicy(in.image)).
		WithCommand("/manager", files.Command).
		WithArgs(translate.EscapeAll(append([]string{installFrom, installTo}, in.items...))...).
		WithEnv(in.env...).
		WithVolumeMounts(
			corev1ac.VolumeMount().WithName(installSourceVolume).WithMountPath(installFrom).WithReadOnly(true),
			corev1ac.VolumeMount().WithName(installedVolume).WithMountPath(installTo)).
		WithSecurityContext(corev1ac.SecurityContext().
			WithRunAsUser(0).WithRunAsGroup(0).WithRunAsNonRoot(false).
			WithAllowPrivilegeEscalation(false).WithReadOnlyRootFilesystem(true).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL").WithAdd("CHOWN"))))
}
