package dockerapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/swarm"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/files"
	"github.com/kubeswarm/kubeswarm/internal/nodes"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

// LabelDockerObject marks the Kubernetes objects that hold what the Engine API made and has no
// kubeswarm kind for: a network (a ConfigMap with its spec), a secret (a Secret), a config (a
// ConfigMap). The value is the docker kind.
const LabelDockerObject = "swarm.kubeswarm.io/docker-object"

const networkSpecKey = "network.json"

// ---- names ----

type resolver struct {
	netByID, netByName map[string]string
	files              map[string][2]string // kind/kubeName → id, docker name
	nodeUID, nodeID    map[string]string
}

// orSelf is m[k], or k itself where m has none: a reference the resolver does not know stays
// as written.
func orSelf(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

func (r resolver) NodeUID(id string) string    { return orSelf(r.nodeUID, id) }
func (r resolver) NodeID(uid string) string    { return orSelf(r.nodeID, uid) }
func (r resolver) NetworkName(s string) string { return orSelf(r.netByID, s) }
func (r resolver) NetworkID(s string) string   { return orSelf(r.netByName, s) }

func (r resolver) File(kind, kubeName string) (string, string) {
	if f, ok := r.files[kind+"/"+kubeName]; ok {
		return f[0], f[1]
	}
	return "", kubeName
}

// names reads the networks, secrets and configs that service specs name.
func (s *Server) names(ctx context.Context) (Names, error) {
	r := resolver{netByID: map[string]string{}, netByName: map[string]string{}, files: map[string][2]string{},
		nodeUID: map[string]string{}, nodeID: map[string]string{}}
	nodeList, err := s.listNodes(ctx)
	if err != nil {
		return nil, err
	}
	for i := range nodeList {
		if uid := string(nodes.OwnerUID(&nodeList[i])); uid != "" {
			r.nodeUID[nodeID(&nodeList[i])], r.nodeID[uid] = uid, nodeID(&nodeList[i])
		}
	}
	nets, err := s.listNetworks(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		r.netByID[n.id] = n.name
		r.netByName[n.name] = n.id
		r.netByName[n.kubeName] = n.id
	}
	for _, k := range []fileKind{secretKind, configKind} {
		objs, err := s.listFileMeta(ctx, k)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			r.files[k.singular+"/"+o.GetName()] = [2]string{ID(o.GetUID()), dockerName(o)}
		}
	}
	return r, nil
}

// checkFiles refuses secrets and configs that do not exist, in Swarm's words.
func (s *Server) checkFiles(ctx context.Context, spec *swarmv1.ServiceSpec) error {
	for _, k := range []fileKind{secretKind, configKind} {
		refs := spec.Secrets
		if k == configKind {
			refs = spec.Configs
		}
		for _, ref := range refs {
			m := &metav1.PartialObjectMetadata{}
			m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(k.kube))
			if err := s.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ref.Source}, m); apierrors.IsNotFound(err) {
				return notFound("rpc error: code = InvalidArgument desc = %s reference not found: %s", k.singular, ref.Source)
			}
		}
	}
	return nil
}

// ---- secrets and configs ----

type fileKind struct{ singular, plural, kube string }

var (
	secretKind = fileKind{"secret", "secrets", "Secret"}
	configKind = fileKind{"config", "configs", "ConfigMap"}
)

// listFileMeta lists the metadata of the secrets or configs made through the endpoint: all that
// names need, and all there is to show of a secret (its data is never shown).
func (s *Server) listFileMeta(ctx context.Context, k fileKind) ([]client.Object, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(k.kube + "List"))
	if err := s.Client.List(ctx, list, client.InNamespace(s.Namespace), client.MatchingLabels{LabelDockerObject: k.singular}); err != nil {
		return nil, fmt.Errorf("listing %s: %w", k.plural, err)
	}
	out := make([]client.Object, 0, len(list.Items))
	for i := range list.Items {
		list.Items[i].SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(k.kube))
		out = append(out, &list.Items[i])
	}
	sort.Slice(out, func(i, j int) bool { return dockerName(out[i]) < dockerName(out[j]) })
	return out, nil
}

// listFiles lists the secrets (their metadata) or configs made through the endpoint.
func (s *Server) listFiles(ctx context.Context, k fileKind) ([]client.Object, error) {
	if k == secretKind {
		return s.listFileMeta(ctx, k)
	}
	list := &corev1.ConfigMapList{}
	if err := s.Client.List(ctx, list, client.InNamespace(s.Namespace), client.MatchingLabels{LabelDockerObject: k.singular}); err != nil {
		return nil, fmt.Errorf("listing configs: %w", err)
	}
	out := make([]client.Object, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	sort.Slice(out, func(i, j int) bool { return dockerName(out[i]) < dockerName(out[j]) })
	return out, nil
}

func fileLabels(o client.Object) map[string]string {
	l := map[string]string{}
	if v := o.GetAnnotations()["swarm.kubeswarm.io/docker-labels"]; v != "" {
		_ = jsonUnmarshal(v, &l)
	}
	return l
}

// toFile is the docker object of a Secret or ConfigMap: a secret's data is never shown.
func toFile(o client.Object) (swarm.Meta, swarm.Annotations, []byte) {
	meta := swarm.Meta{Version: swarm.Version{Index: uint64(o.GetGeneration())}, CreatedAt: o.GetCreationTimestamp().UTC(), UpdatedAt: updatedAt(o)}
	if meta.Version.Index == 0 {
		v, _ := strconv.ParseUint(o.GetResourceVersion(), 10, 64)
		meta.Version.Index = v
	}
	ann := swarm.Annotations{Name: dockerName(o), Labels: fileLabels(o)}
	if cm, ok := o.(*corev1.ConfigMap); ok {
		for _, v := range cm.BinaryData {
			return meta, ann, v
		}
		for _, v := range cm.Data {
			return meta, ann, []byte(v)
		}
	}
	return meta, ann, nil
}

func fileJSON(k fileKind, o client.Object) any {
	meta, ann, data := toFile(o)
	var templating *swarm.Driver
	if d := o.GetAnnotations()[files.AnnotationTemplate]; d != "" {
		templating = &swarm.Driver{Name: d}
	}
	if k == secretKind {
		return swarm.Secret{ID: ID(o.GetUID()), Meta: meta, Spec: swarm.SecretSpec{Annotations: ann, Templating: templating}}
	}
	return swarm.Config{ID: ID(o.GetUID()), Meta: meta, Spec: swarm.ConfigSpec{Annotations: ann, Data: data, Templating: templating}}
}

func (s *Server) findFile(ctx context.Context, k fileKind, ref string) (client.Object, error) {
	items, err := s.listFiles(ctx, k)
	if err != nil {
		return nil, err
	}
	o, ok, _ := match(items, ref, func(x client.Object) string { return ID(x.GetUID()) }, func(x client.Object) string { return dockerName(x) })
	if !ok {
		return nil, notFound("%s %s not found", k.singular, ref)
	}
	return o, nil
}

func (s *Server) fileList(w http.ResponseWriter, r *http.Request, k fileKind) error {
	f, err := readFilters(r)
	if err != nil {
		return err
	}
	items, err := s.listFiles(r.Context(), k)
	if err != nil {
		return err
	}
	out := []any{}
	for _, o := range items {
		id, name := ID(o.GetUID()), dockerName(o)
		if !f.any("id", func(v string) bool { return strings.HasPrefix(id, v) }) ||
			!f.any("name", func(v string) bool { return strings.HasPrefix(name, v) }) ||
			!f.any("names", func(v string) bool { return v == name }) ||
			!f.labels("label", fileLabels(o)) {
			continue
		}
		out = append(out, fileJSON(k, o))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) fileInspect(w http.ResponseWriter, r *http.Request, k fileKind) error {
	o, err := s.findFile(r.Context(), k, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, fileJSON(k, o))
}

func (s *Server) fileCreate(w http.ResponseWriter, r *http.Request, k fileKind) error {
	ctx := r.Context()
	var spec swarm.SecretSpec // a ConfigSpec has the same fields, less the driver
	if err := decode(r, &spec); err != nil {
		return err
	}
	if err := checkName(k.singular, spec.Name); err != nil {
		return err
	}
	if spec.Templating != nil {
		// Swarm expands it for each task (internal/files renders it); refused now when it
		// cannot be expanded at all.
		if err := errors.Join(files.CheckTemplateDriver(k.singular, spec.Name, spec.Templating.Name), files.CheckTemplate(k.singular, spec.Name, spec.Data)); err != nil {
			return invalid("rpc error: code = InvalidArgument desc = %s", err)
		}
	}
	labels, err := jsonMarshal(spec.Labels)
	if err != nil {
		return err
	}
	meta := metav1.ObjectMeta{Name: swarmv1.KubernetesName(spec.Name), Namespace: s.Namespace, Labels: map[string]string{LabelDockerObject: k.singular},
		Annotations: map[string]string{"swarm.kubeswarm.io/docker-labels": labels}}
	setDockerName(&meta, spec.Name)
	if spec.Templating != nil && spec.Templating.Name != "" {
		meta.Annotations[files.AnnotationTemplate] = spec.Templating.Name
	}
	if stackName, _, ok := stackMember(spec.Labels, spec.Name); ok {
		// Labelled as the plugin labels a stack's files, so that `kubectl swarm stack rm` removes them too.
		maps.Copy(meta.Labels, stack.Labels(stackName))
	}
	key := spec.Name
	var obj client.Object
	// Immutable: Swarm never changes a secret's or config's content, whoever asks.
	if k == secretKind {
		obj = &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{key: spec.Data}, Immutable: ptr.To(true)}
	} else {
		obj = &corev1.ConfigMap{ObjectMeta: meta, BinaryData: map[string][]byte{key: spec.Data}, Immutable: ptr.To(true)}
	}
	if err := s.Client.Create(ctx, obj, client.FieldOwner(fieldManager)); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return errorf(http.StatusConflict, "rpc error: code = AlreadyExists desc = %s %s already exists", k.singular, spec.Name)
		}
		return fmt.Errorf("creating %s %s: %w", k.singular, spec.Name, err)
	}
	return writeJSON(w, http.StatusCreated, swarm.SecretCreateResponse{ID: ID(obj.GetUID())})
}

func (s *Server) fileUpdate(w http.ResponseWriter, r *http.Request, k fileKind) error {
	ctx := r.Context()
	o, err := s.findFile(ctx, k, r.PathValue("id"))
	if err != nil {
		return err
	}
	var spec swarm.SecretSpec
	if err := decode(r, &spec); err != nil {
		return err
	}
	if spec.Data != nil {
		// swarmkit refuses a new content for secrets and configs alike (docker stack deploy sends
		// the whole spec again); the same content is an update of the labels.
		full := o
		if k == secretKind { // listed by its metadata only: its content is read for this check
			full = &corev1.Secret{}
			if err := s.Client.Get(ctx, client.ObjectKeyFromObject(o), full); err != nil {
				return fmt.Errorf("reading %s %s: %w", k.singular, dockerName(o), err)
			}
		}
		old := stack.FileContent(full)
		updated := make(map[string][]byte, len(old))
		for key := range old {
			updated[key] = spec.Data
		}
		if swarmsyntax.CheckFileUpdate(k.singular, spec.Name, old, updated) != nil {
			return invalid("rpc error: code = InvalidArgument desc = " + swarmsyntax.OnlyLabels)
		}
	}
	labels, err := jsonMarshal(spec.Labels)
	if err != nil {
		return err
	}
	patch := client.MergeFrom(o.DeepCopyObject().(client.Object))
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a["swarm.kubeswarm.io/docker-labels"] = labels
	o.SetAnnotations(a)
	if err := s.Client.Patch(ctx, o, patch, client.FieldOwner(fieldManager)); err != nil {
		return fmt.Errorf("updating %s %s: %w", k.singular, dockerName(o), err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) fileDelete(w http.ResponseWriter, r *http.Request, k fileKind) error {
	ctx := r.Context()
	o, err := s.findFile(ctx, k, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.Client.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing %s %s: %w", k.singular, dockerName(o), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// distribution answers GET /distribution/{image}/json without consulting a registry: a
// descriptor with no digest and no platforms. The client then leaves the image as given, with no
// warning (moby client service_create.go: imageWithDigestString keeps an image whose digest does
// not parse, and no platforms add no placement), which is what kubeswarm does: each node's
// kubelet resolves the tag by its pull policy. An error here made the CLI warn that the image
// "could not be accessed on a registry" on every create and update.
func (s *Server) distribution(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, registry.DistributionInspect{})
}
