package objects

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/files"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

const (
	// CopyToolsContainer is the init container of the operator's image that hands its binary
	// to CopyUpContainer (files.SelfCommand).
	CopyToolsContainer = "copy-tools"
	// CopyUpContainer is the init container of the task's image that fills its new volumes
	// with the image's files at their targets (files.CopyUpCommand).
	CopyUpContainer = "copy-up"
	copyToolsVolume = "copy-tools"
	copyToolsDir    = "/kubeswarm/bin"
	copyVolumesDir  = "/kubeswarm/volumes"
)

// copier collects the volume mounts CopyUpContainer fills: every volume mount without nocopy,
// as docker (moby daemon/volume/mounts/linux_parser.go: CopyData unless NoCopy).
type copier struct {
	items  []string
	mounts []*corev1ac.VolumeMountApplyConfiguration
}

// add fills the pod volume name, mounted at m.Target in the task, from the image.
func (c *copier) add(name string, m swarmv1.Mount) {
	if m.Type != swarmv1.MountVolume && m.Type != "" || m.Volume != nil && m.Volume.NoCopy {
		return
	}
	at := path.Join(copyVolumesDir, name)
	vm := corev1ac.VolumeMount().WithName(name).WithMountPath(at)
	if m.Volume != nil && m.Volume.Subpath != "" {
		vm.WithSubPath(m.Volume.Subpath)
	}
	c.mounts = append(c.mounts, vm)
	c.items = append(c.items, files.CopyItem{From: path.Clean(m.Target), To: at}.String())
}

// addTo adds the two init containers, when a volume is to be filled and the operator knows its
// image (translate's mountsRule says when it does not). CopyUpContainer runs the task's image as
// root with the capabilities a copy keeping owners and modes needs (the PodSecurity baseline
// level allows them, restricted does not), its arguments escaped as the task's are.
func (c *copier) addTo(pod *corev1ac.PodSpecApplyConfiguration, s *swarmv1.ServiceSpec, opts translate.Options) {
	if len(c.items) == 0 || opts.FilesImage == "" {
		return
	}
	tools := corev1ac.VolumeMount().WithName(copyToolsVolume).WithMountPath(copyToolsDir)
	pod.WithVolumes(corev1ac.Volume().WithName(copyToolsVolume).WithEmptyDir(corev1ac.EmptyDirVolumeSource().WithMedium(corev1.StorageMediumMemory)))
	root := func(caps ...corev1.Capability) *corev1ac.SecurityContextApplyConfiguration {
		return corev1ac.SecurityContext().
			WithRunAsUser(0).WithRunAsGroup(0).WithRunAsNonRoot(false).
			WithAllowPrivilegeEscalation(false).WithReadOnlyRootFilesystem(true).
			WithCapabilities(corev1ac.Capabilities().WithDrop("ALL").WithAdd(caps...))
	}
	pod.WithInitContainers(
		corev1ac.Container().
			WithName(CopyToolsContainer).
			WithImage(opts.FilesImage).
			WithImagePullPolicy(pullPolicy(opts.FilesImage)).
			WithCommand("/manager", files.SelfCommand, copyToolsDir).
			WithVolumeMounts(tools).
			WithSecurityContext(root()),
		corev1ac.Container().
			WithName(CopyUpContainer).
			WithImage(s.Image).
			WithImagePullPolicy(imagePullPolicy(opts, s.Image)).
			WithCommand(path.Join(copyToolsDir, "manager"), files.CopyUpCommand).
			WithArgs(translate.EscapeAll(c.items)...).
			WithVolumeMounts(append([]*corev1ac.VolumeMountApplyConfiguration{corev1ac.VolumeMount().
				WithName(copyToolsVolume).WithMountPath(copyToolsDir).WithReadOnly(true)}, c.mounts...)...).
			WithSecurityContext(root("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID")))
}
