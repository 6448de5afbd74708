// Package stack holds the rules of a Swarm stack (docker stack deploy): what a Stack may be
// (Validate), the Service of each compose service (Child), the Kubernetes names of its networks,
// volumes, secrets and configs, and which of its networks have names and which services have
// no way out. internal/objects builds from them the stack's other objects, as apply
// configurations: its networks' names (DNSServices, DNSEndpointSlices), its NetworkPolicies and
// the claims of its volumes. This package links no client-go package, so that `kubectl swarm
// convert` can use it. Every function is pure.
package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// Label and annotation keys of stack objects.
const (
	// AnnotationStackGeneration is the Stack generation a child Service was last written from.
	// A child is written again only when the Stack changes, so that `docker service update` of
	// a stack's service lasts until the next `docker stack deploy`, as in Swarm.
	AnnotationStackGeneration = "swarm.kubeswarm.io/stack-generation"
	// LabelDockerStackNamespace is the service label docker puts on a stack's services.
	LabelDockerStackNamespace = "com.docker.stack.namespace"
	// LabelDockerStackImage is the service label docker puts with the compose image.
	LabelDockerStackImage = "com.docker.stack.image"
	// DefaultNetwork is the network of services that name none.
	DefaultNetwork = "default"
	// AnnotationNetworkDNS tells a stack's Service the DNS Service names of its networks that
	// are not the networks' Kubernetes names (DNSName: a service of the stack has that name),
	// as network=dns pairs separated by commas, so that its tasks search them.
	AnnotationNetworkDNS = "swarm.kubeswarm.io/network-dns"
)

// Labels are the labels of every object of a stack.
func Labels(stack string) map[string]string {
	return map[string]string{translate.LabelStack: stack, translate.LabelManagedBy: translate.ManagedByValue}
}

// Validate checks what the CRD cannot: every network, volume, secret and config a service uses
// is declared by the stack. The error lists each problem with its service and key.
func Validate(st *swarmv1.Stack) error {
	declared := func(names []string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	networks, volumes, secrets, configs := map[string]bool{DefaultNetwork: true}, declared(nil), declared(nil), declared(nil)
	for _, n := range st.Spec.Networks {
		networks[n.Name] = true
	}
	for _, v := range st.Spec.Volumes {
		volumes[v.Name] = true
	}
	for _, s := range st.Spec.Secrets {
		secrets[s.Name] = true
	}
	for _, c := range st.Spec.Configs {
		configs[c.Name] = true
	}
	var errs []error
	for _, s := range st.Spec.Services {
		for _, n := range s.Networks {
			if !networks[n.Name] {
				errs = append(errs, fmt.Errorf("service %s: networks: network %s is not declared in the stack's networks", s.Name, n.Name))
			}
		}
		for i, m := range s.Mounts {
			if m.Type == swarmv1.MountVolume && m.Source != "" && !volumes[m.Source] {
				errs = append(errs, fmt.Errorf("service %s: mounts[%d]: volume %s is not declared in the stack's volumes", s.Name, i, m.Source))
			}
		}
		for _, f := range s.Secrets {
			if !secrets[f.Source] {
				errs = append(errs, fmt.Errorf("service %s: secrets: secret %s is not declared in the stack's secrets", s.Name, f.Source))
			}
		}
		for _, f := range s.Configs {
			if !configs[f.Source] {
				errs = append(errs, fmt.Errorf("service %s: configs: config %s is not declared in the stack's configs", s.Name, f.Source))
			}
		}
		if err := swarmv1.ValidateStackServiceName(st.Name, s.Name); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", s.Name, err))
		}
	}
	errs = append(errs, dnsNameConflicts(st)...)
	return errors.Join(errs...)
}

// NetworkName is the Kubernetes name of a stack network (its task label): an external network
// is known by its own name (compose `name:`, else the key), as docker stack deploy looks it up
// (docker/cli cli/compose/convert/compose.go, Networks), so that several stacks share it.
func NetworkName(st *swarmv1.Stack, name string) string {
	for _, n := range st.Spec.Networks {
		if n.Name == name {
			return objectName(st.Name, n.Name, n.External, n.ExternalName)
		}
	}
	return swarmv1.StackObjectName(st.Name, name)
}

func objectName(stack, name string, external bool, externalName string) string {
	switch {
	case external && externalName != "":
		return externalName
	case external:
		return name
	default:
		return swarmv1.StackObjectName(stack, name)
	}
}

// stackVolume is the stack's declaration of a volume, nil if none.
func stackVolume(st *swarmv1.Stack, name string) *swarmv1.StackVolume {
	for i := range st.Spec.Volumes {
		if st.Spec.Volumes[i].Name == name {
			return &st.Spec.Volumes[i]
		}
	}
	return nil
}

// PerSlotVolume tells whether each task of the one service that mounts stack volume name holds its
// own claim of it (translate.SlotClaims), so that the stack makes no claim of the volume: it is
// declared in the stack and not external, no NFS export or host directory, and mounted by exactly one service of
// the stack, a replicated one. A volume that two services mount keeps one claim, which both
// share (Swarm: the tasks on one node share that node's volume), and so does a global or job
// service's.
func PerSlotVolume(st *swarmv1.Stack, name string) bool {
	v := stackVolume(st, name)
	if v == nil || v.External {
		return false
	}
	if mounted, err := swarmsyntax.MountedVolume(v.Driver, v.DriverOptions); mounted || err != nil {
		return false // an NFS export or a host directory, mounted by the tasks themselves
	}
	users := 0
	replicated := true
	for _, s := range st.Spec.Services {
		if slices.ContainsFunc(s.Mounts, func(m swarmv1.Mount) bool {
			return m.Type != swarmv1.MountBind && m.Type != swarmv1.MountTmpfs && m.Source == name
		}) {
			users++
			replicated = replicated && s.Mode.IsReplicated()
		}
	}
	return users == 1 && replicated
}

// SlotUser is the Service (<stack>-<service>) of the one replicated service that mounts stack
// volume name, whose tasks hold it per slot (PerSlotVolume); "" if there is none.
func SlotUser(st *swarmv1.Stack, name string) string {
	if !PerSlotVolume(st, name) {
		return ""
	}
	for _, s := range st.Spec.Services {
		if slices.ContainsFunc(s.Mounts, func(m swarmv1.Mount) bool { return m.Source == name }) {
			return swarmv1.StackObjectName(st.Name, s.Name)
		}
	}
	return ""
}

// volumeInfos are what the stack declares of the volumes s mounts (translate.AnnotationVolumes),
// by claim name; nil for a service that is not replicated (its claims are shared anyway).
func volumeInfos(st *swarmv1.Stack, s swarmv1.StackService) map[string]translate.VolumeInfo {
	if !s.Mode.IsReplicated() {
		return nil
	}
	out := map[string]translate.VolumeInfo{}
	for _, m := range s.Mounts {
		if m.Type == swarmv1.MountBind || m.Type == swarmv1.MountTmpfs || m.Source == "" {
			continue
		}
		info := translate.VolumeInfo{Volume: m.Source, Shared: !PerSlotVolume(st, m.Source)}
		if v := stackVolume(st, m.Source); v != nil {
			info.Size, info.StorageClassName = v.Size, v.StorageClassName
		}
		out[ClaimName(st, m.Source)] = info
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ClaimName is the PersistentVolumeClaim of a stack volume.
func ClaimName(st *swarmv1.Stack, volume string) string {
	for _, v := range st.Spec.Volumes {
		if v.Name == volume {
			return objectName(st.Name, v.Name, v.External, v.ExternalName)
		}
	}
	return swarmv1.StackObjectName(st.Name, volume)
}

func fileObjectName(st *swarmv1.Stack, objs []swarmv1.StackObject, name string) string {
	for _, o := range objs {
		if o.Name == name {
			return objectName(st.Name, o.Name, o.External, o.ExternalName)
		}
	}
	return swarmv1.StackObjectName(st.Name, name)
}

// Child is the Service of one of the stack's services, named <stack>-<service>, with the names of
// networks, volumes, secrets and configs turned into the Kubernetes objects' names, and docker's
// stack labels.
func Child(st *swarmv1.Stack, s swarmv1.StackService) *swarmv1.Service {
	spec := *s.ServiceSpec.DeepCopy()
	annotations := map[string]string{AnnotationStackGeneration: fmt.Sprint(st.Generation)}
	if infos := volumeInfos(st, s); infos != nil {
		data, err := json.Marshal(infos)
		if err != nil {
			panic(fmt.Sprintf("marshalling volume infos: %v", err)) // plain data: cannot fail
		}
		annotations[translate.AnnotationVolumes] = string(data)
	}
	labels := map[string]string{LabelDockerStackNamespace: st.Name, LabelDockerStackImage: spec.Image}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	spec.Labels = labels
	if len(spec.Networks) == 0 {
		spec.Networks = []swarmv1.NetworkAttachment{{Name: DefaultNetwork}}
	}
	for i := range spec.Networks {
		spec.Networks[i].Name = NetworkName(st, spec.Networks[i].Name)
	}
	for i := range spec.Mounts {
		if m := &spec.Mounts[i]; m.Type == swarmv1.MountVolume && m.Source != "" {
			// docker puts the stack volume's driver on the mount (cli/compose/convert
			// volume.go handleVolumeToMount): an NFS volume is mounted from its export.
			if v := stackVolume(st, m.Source); v != nil && (v.Driver != "" || len(v.DriverOptions) > 0) {
				if m.Volume == nil {
					m.Volume = &swarmv1.VolumeOptions{}
				}
				m.Volume.Driver, m.Volume.DriverOptions = v.Driver, v.DriverOptions
			}
			m.Source = ClaimName(st, m.Source)
		}
	}
	for i := range spec.Secrets {
		f := &spec.Secrets[i]
		if f.Target == "" {
			f.Target = f.Source // the file keeps the compose name
		}
		f.Source = fileObjectName(st, st.Spec.Secrets, f.Source)
	}
	for i := range spec.Configs {
		f := &spec.Configs[i]
		if f.Target == "" {
			f.Target = f.Source
		}
		f.Source = fileObjectName(st, st.Spec.Configs, f.Source)
	}
	renamed := DNSNames(st)
	var pairs []string
	for _, n := range spec.Networks {
		if d, ok := renamed[n.Name]; ok {
			pairs = append(pairs, n.Name+"="+d)
		}
	}
	if len(pairs) > 0 {
		annotations[AnnotationNetworkDNS] = strings.Join(pairs, ",")
	}
	return &swarmv1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: swarmv1.GroupVersion.String(), Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            swarmv1.StackObjectName(st.Name, s.Name),
			Namespace:       st.Namespace,
			Labels:          Labels(st.Name),
			Annotations:     annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(st, swarmv1.GroupVersion.WithKind("Stack"))},
		},
		Spec: spec,
	}
}

// NetworkDNSNames reads AnnotationNetworkDNS: the DNS Service names of a stack Service's
// networks that are not the networks' own, by network.
func NetworkDNSNames(annotations map[string]string) map[string]string {
	out := map[string]string{}
	for _, pair := range strings.Split(annotations[AnnotationNetworkDNS], ",") {
		if n, d, ok := strings.Cut(pair, "="); ok {
			out[n] = d
		}
	}
	return out
}

// ServiceNetworks are the compose networks a stack service is on: the stack's default network
// when it names none, as docker's convert does.
func ServiceNetworks(s swarmv1.StackService) []string {
	var out []string
	for _, a := range ServiceAttachments(s) {
		out = append(out, a.Name)
	}
	return out
}

// DeclaredNetwork is the stack's declaration of compose network n (none for the default
// network).
func DeclaredNetwork(st *swarmv1.Stack, n string) swarmv1.StackNetwork {
	for _, d := range st.Spec.Networks {
		if d.Name == n {
			return d
		}
	}
	return swarmv1.StackNetwork{Name: n}
}

// InternalOnly tells whether every network of a stack service is internal and it publishes no
// ingress port: its tasks have no way out. An external network's own settings are not the
// stack's to know; it counts as a way out.
func InternalOnly(st *swarmv1.Stack, s swarmv1.StackService) bool {
	for _, p := range s.Ports {
		if p.Mode != swarmv1.PortModeHost {
			return false
		}
	}
	for _, n := range ServiceNetworks(s) {
		if d := DeclaredNetwork(st, n); !d.Internal || d.External {
			return false
		}
	}
	return true
}

// IsClaimOf tells whether a claim is one of the stack's volumes: labelled with the stack's name
// by kubeswarm, and controlled by nothing, or by a Stack of that name (a claim made before
// claims were kept, or owned by an earlier Stack of the same name). Such a claim is the stack's
// to update, never to delete.
func IsClaimOf(st *swarmv1.Stack, claim metav1.Object) bool {
	if ClaimStack(claim) != st.Name {
		return false
	}
	c := metav1.GetControllerOfNoCopy(claim)
	if c == nil {
		return true
	}
	gv, err := schema.ParseGroupVersion(c.APIVersion)
	return err == nil && gv.Group == swarmv1.GroupVersion.Group && c.Kind == "Stack" && c.Name == st.Name
}

// ClaimStack is the stack a claim kubeswarm made belongs to (its stack label); "" for any other
// claim.
func ClaimStack(claim metav1.Object) string {
	l := claim.GetLabels()
	if l[translate.LabelManagedBy] != translate.ManagedByValue {
		return ""
	}
	return l[translate.LabelStack]
}
