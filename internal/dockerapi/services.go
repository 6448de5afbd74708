package dockerapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/swarm"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/pullsecret"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// AnnotationDockerName keeps the name a client gave a service, a network, a secret or a config
// when it is not a Kubernetes name (a stack's demo_web is the Service demo-web).
const AnnotationDockerName = "swarm.kubeswarm.io/docker-name"

// fieldManager is the endpoint's field manager.
const fieldManager = "kubectl-swarm-docker-api"

func dockerName(o metav1.Object) string {
	if n := o.GetAnnotations()[AnnotationDockerName]; n != "" {
		return n
	}
	if svc, ok := o.(*swarmv1.Service); ok {
		if st := stackOwner(svc); st != "" {
			return swarmv1.StackDockerName(st, swarmv1.StackServiceShortName(st, svc.Name))
		}
	}
	return o.GetName()
}

func setDockerName(o metav1.Object, name string) {
	if name == o.GetName() {
		return
	}
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[AnnotationDockerName] = name
	o.SetAnnotations(a)
}

func checkName(what, name string) error {
	if errs := validation.IsDNS1123Label(swarmv1.KubernetesName(name)); len(errs) > 0 {
		return invalid("rpc error: code = InvalidArgument desc = name must be valid as a DNS name component (kubeswarm: %s name %q: %s)", what, name, strings.Join(errs, "; "))
	}
	return nil
}

func updatedAt(o metav1.Object) time.Time {
	t := o.GetCreationTimestamp().Time
	for _, mf := range o.GetManagedFields() {
		if mf.Time != nil && mf.Time.After(t) && mf.Subresource == "" {
			t = mf.Time.Time
		}
	}
	return t.UTC()
}

// serviceExists is the daemon's answer to a service create whose name is taken.
func serviceExists(name string) error {
	return errorf(http.StatusConflict, "rpc error: code = AlreadyExists desc = name conflicts with an existing object: service %s already exists", name)
}

func (s *Server) listServices(ctx context.Context) ([]swarmv1.Service, error) {
	list := &swarmv1.ServiceList{}
	if err := s.Client.List(ctx, list, client.InNamespace(s.Namespace)); err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// findService finds a service by ID, name or unique ID prefix.
func (s *Server) findService(ctx context.Context, ref string) (*swarmv1.Service, error) {
	items, err := s.listServices(ctx)
	if err != nil {
		return nil, err
	}
	return findServiceIn(items, ref)
}

// findServiceIn finds a service among items by ID, docker name, unique ID prefix, or its
// Kubernetes name (the plugin's names).
func findServiceIn(items []swarmv1.Service, ref string) (*swarmv1.Service, error) {
	svc, ok, ambiguous := match(items, ref, func(x swarmv1.Service) string { return ID(x.UID) },
		func(x swarmv1.Service) string { return dockerName(&x) })
	if !ok {
		for i := range items {
			if items[i].Name == ref {
				return &items[i], nil
			}
		}
		if ambiguous {
			return nil, invalid("service %s is ambiguous (%d matches found)", ref, 2)
		}
		return nil, notFound("service %s not found", ref)
	}
	return &svc, nil
}

// toService is what the Engine API shows of a Service.
func (s *Server) toService(svc *swarmv1.Service, names Names, defaults bool) swarm.Service {
	out := swarm.Service{
		ID: ID(svc.UID),
		Meta: swarm.Meta{Version: swarm.Version{Index: uint64(svc.Generation)},
			CreatedAt: svc.CreationTimestamp.UTC(), UpdatedAt: updatedAt(svc)},
		Spec: ToDocker(dockerName(svc), &svc.Spec, names),
	}
	if svc.Status.PreviousSpec != nil {
		prev := ToDocker(dockerName(svc), svc.Status.PreviousSpec, names)
		out.PreviousSpec = &prev
	}
	if defaults {
		InsertDefaults(&out.Spec)
		if out.PreviousSpec != nil {
			InsertDefaults(out.PreviousSpec)
		}
	}
	if len(svc.Spec.Ports) > 0 {
		out.Endpoint.Spec = swarm.EndpointSpec{Mode: swarm.ResolutionMode(svc.Spec.EndpointMode)}
		if out.Endpoint.Spec.Mode == "" {
			out.Endpoint.Spec.Mode = swarm.ResolutionModeVIP
		}
		for _, p := range svc.Spec.Ports {
			out.Endpoint.Spec.Ports = append(out.Endpoint.Spec.Ports, dockerPort(p))
		}
		for _, p := range svc.Status.Ports {
			out.Endpoint.Ports = append(out.Endpoint.Ports, dockerPort(swarmv1.PortConfig(p)))
		}
		if len(out.Endpoint.Ports) == 0 {
			out.Endpoint.Ports = out.Endpoint.Spec.Ports
		}
	}
	out.UpdateStatus = dockerUpdateStatus(svc)
	if svc.Spec.Mode.IsJob() {
		out.JobStatus = &swarm.JobStatus{JobIteration: swarm.Version{Index: uint64(svc.Status.JobIteration)}}
	}
	return out
}

// pendingSpec tells whether the operator has not yet seen the service's spec or its rollback
// request: until it has, no task runs what was asked.
func pendingSpec(svc *swarmv1.Service) bool {
	return svc.Status.ObservedGeneration < svc.Generation || rollbackPending(svc)
}

func rollbackPending(svc *swarmv1.Service) bool {
	v := svc.Annotations[swarmv1.AnnotationRollback]
	return v != "" && v != svc.Status.LastRollbackRequest
}

// dockerUpdateStatus is the service's UpdateStatus as Swarm has it right after the request:
// swarmkit's UpdateService (manager/controlapi/service.go) resets it on a spec change and sets
// rollback_started "manually requested rollback" on a rollback, before any task moves. The
// operator writes its own once it has seen the request; until then the CLI's --detach=false
// progress (cli/command/service/progress) must not read the previous update's "completed" as
// this one's.
func dockerUpdateStatus(svc *swarmv1.Service) *swarm.UpdateStatus {
	if rollbackPending(svc) {
		out := &swarm.UpdateStatus{State: swarm.UpdateStateRollbackStarted, Message: "manually requested rollback"}
		if ns, err := strconv.ParseInt(svc.Annotations[swarmv1.AnnotationRollback], 10, 64); err == nil {
			t := time.Unix(0, ns).UTC()
			out.StartedAt = &t
		}
		return out
	}
	u := svc.Status.UpdateStatus
	if svc.Status.ObservedGeneration < svc.Generation || u == nil || u.State == "" {
		return nil
	}
	out := &swarm.UpdateStatus{State: swarm.UpdateState(u.State), Message: u.Message}
	if u.StartedAt != nil {
		t := u.StartedAt.UTC()
		out.StartedAt = &t
	}
	if u.CompletedAt != nil {
		t := u.CompletedAt.UTC()
		out.CompletedAt = &t
	}
	return out
}

func (s *Server) serviceList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := readFilters(r)
	if err != nil {
		return err
	}
	items, err := s.listServices(ctx)
	if err != nil {
		return err
	}
	names, err := s.names(ctx)
	if err != nil {
		return err
	}
	status := boolParam(r, "status")
	out := []swarm.Service{}
	for i := range items {
		svc := &items[i]
		id, name := ID(svc.UID), dockerName(svc)
		mode := string(svc.Spec.Mode)
		if mode == "" {
			mode = string(swarmv1.ModeReplicated)
		}
		if !f.any("id", func(v string) bool { return strings.HasPrefix(id, v) }) ||
			!f.any("name", func(v string) bool { return strings.HasPrefix(name, v) || strings.HasPrefix(svc.Name, v) }) ||
			!f.any("mode", func(v string) bool { return v == mode }) ||
			!f.labels("label", svc.Spec.Labels) {
			continue
		}
		d := s.toService(svc, names, false)
		if status {
			d.ServiceStatus = &swarm.ServiceStatus{RunningTasks: uint64(svc.Status.RunningTasks),
				DesiredTasks: uint64(svc.Status.DesiredTasks), CompletedTasks: uint64(svc.Status.CompletedTasks)}
		}
		out = append(out, d)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) serviceInspect(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	svc, err := s.findService(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	names, err := s.names(ctx)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.toService(svc, names, boolParam(r, "insertDefaults")))
}

// kubeSpec reads a request's ServiceSpec through the one translation, with the rules' errors in
// the words the plugin gives.
func (s *Server) kubeSpec(ctx context.Context, spec swarm.ServiceSpec) (swarmv1.ServiceSpec, error) {
	names, err := s.names(ctx)
	if err != nil {
		return swarmv1.ServiceSpec{}, err
	}
	ks, err := ToKube(spec, names)
	if err != nil {
		return ks, invalid("rpc error: code = InvalidArgument desc = %v", err)
	}
	if err := s.checkFiles(ctx, &ks); err != nil {
		return ks, err
	}
	return ks, nil
}

// verdict refuses what the operator would refuse of the service (translate.Check, the shared
// verdict the plugin and stack deploy run), before anything is written; stack is the stack the
// service belongs to ("" for none), which some rules depend on (a network alias).
func (s *Server) verdict(name, stack string, ks *swarmv1.ServiceSpec) error {
	svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace}, Spec: *ks}
	if stack != "" {
		svc.Labels = map[string]string{translate.LabelStack: stack}
	}
	if _, err := translate.Check(svc); err != nil {
		return invalid("rpc error: code = InvalidArgument desc = %v", err)
	}
	return nil
}

// checkPorts refuses a published ingress port that another of the services publishes, in
// Swarm's words (swarmsyntax.PortTaken: a service being deleted holds none).
func checkPorts(services []swarmv1.Service, self string, spec *swarmv1.ServiceSpec) error {
	if p, o := swarmsyntax.PortTaken(spec, self, services); o != nil {
		return invalid("rpc error: code = InvalidArgument desc = port '%d' is already in use by service '%s' (%s) as an ingress port", p.Published, dockerName(o), ID(o.UID))
	}
	return nil
}

func (s *Server) serviceCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var spec swarm.ServiceSpec
	if err := decode(r, &spec); err != nil {
		return err
	}
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("service-%d", s.Now().UnixNano()%100000)
	}
	if err := checkName("service", spec.Name); err != nil {
		return err
	}
	ks, err := s.kubeSpec(ctx, spec)
	if err != nil {
		return err
	}
	name := swarmv1.KubernetesName(spec.Name)
	stackName, local, inStack := stackMember(spec.Labels, spec.Name)
	if !inStack {
		stackName = ""
	}
	if err := s.verdict(name, stackName, &ks); err != nil {
		return err
	}
	services, err := s.listServices(ctx)
	if err != nil {
		return err
	}
	if err := checkPorts(services, name, &ks); err != nil {
		return err
	}
	if inStack {
		auth, err := s.writeRegistryAuth(ctx, r, stackName, true, &ks, nil)
		if err != nil {
			return err
		}
		child, err := s.putStackService(ctx, stackName, local, spec, ks, true)
		if err != nil {
			return err
		}
		if err := s.ownRegistryAuth(ctx, auth, stackName); err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, swarm.ServiceCreateResponse{ID: ID(child.UID), Warnings: specWarnings(nil, &ks)})
	}
	if slices.ContainsFunc(services, func(x swarmv1.Service) bool { return x.Name == name }) {
		// before the registry credentials: never over the Secret of the service that exists
		return serviceExists(spec.Name)
	}
	auth, err := s.writeRegistryAuth(ctx, r, name, false, &ks, nil)
	if err != nil {
		return err
	}
	svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace}, Spec: ks}
	setDockerName(svc, spec.Name)
	if err := s.Client.Create(ctx, svc, client.FieldOwner(fieldManager)); err != nil {
		if auth && !apierrors.IsAlreadyExists(err) { // (an existing service's Secret is its own)
			_ = s.Client.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: ks.RegistryAuthSecret}})
		}
		if apierrors.IsAlreadyExists(err) {
			return serviceExists(spec.Name)
		}
		if apierrors.IsInvalid(err) {
			return invalid("rpc error: code = InvalidArgument desc = %v", err)
		}
		return fmt.Errorf("creating service %s: %w", spec.Name, err)
	}
	if auth {
		if err := pullsecret.Own(ctx, s.Client, s.Namespace, ks.RegistryAuthSecret, svc); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusCreated, swarm.ServiceCreateResponse{ID: ID(svc.UID), Warnings: specWarnings(nil, &ks)})
}

// specWarnings are the differences from Swarm the docker CLI prints after service create and
// update (it prints a response's Warnings), for what the request sets anew (old: the spec
// before an update, nil on create); the operator reports the same in the Service's Honored
// condition. The docker CLI sends a restart delay only when --restart-delay is given (and back
// on update what inspect showed), so only a delay that changed is warned about.
func specWarnings(old, spec *swarmv1.ServiceSpec) []string {
	n := translate.RestartDelayNote(spec)
	if n == "" || (old != nil && translate.RestartDelayNote(old) == n) {
		return nil
	}
	return []string{n}
}

// writeRegistryAuth gives ks the credentials of the request's X-Registry-Auth header (docker
// --with-registry-auth) for its image: the Secret <owner>-registry-auth, where owner is the
// service, or its stack (stack: the Secret holds the credentials of every service of the stack
// that sent some, merged). live is the service being updated (nil: a new one), which owns it.
// Without the header the service keeps the Secret it has, as the daemon keeps a service's
// PullOptions when none are sent (moby daemon/cluster/services.go UpdateService). It tells
// whether it wrote the Secret.
func (s *Server) writeRegistryAuth(ctx context.Context, r *http.Request, owner string, stack bool, ks *swarmv1.ServiceSpec, live *swarmv1.Service) (bool, error) {
	header := r.Header.Get(registry.AuthHeader)
	if header == "" {
		if live != nil {
			ks.RegistryAuthSecret = live.Spec.RegistryAuthSecret
		}
		return false, nil
	}
	cfg, err := images.FromRegistryAuth(header, ks.Image)
	if err != nil {
		return false, invalid("%v", err)
	}
	name := pullsecret.Name(owner)
	if stack {
		had, err := pullsecret.Read(ctx, s.Client, s.Namespace, name)
		if err != nil {
			return false, err
		}
		cfg = had.Merge(cfg)
	}
	var own client.Object
	if live != nil && !stack {
		own = live
	}
	if err := pullsecret.Write(ctx, s.Client, s.Namespace, name, cfg, own); err != nil {
		return false, err
	}
	ks.RegistryAuthSecret = name
	return true, nil
}

// ownRegistryAuth makes the Stack stackName the owner of its registry credentials' Secret.
func (s *Server) ownRegistryAuth(ctx context.Context, written bool, stackName string) error {
	if !written {
		return nil
	}
	st := &swarmv1.Stack{}
	if err := s.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: stackName}, st); err != nil {
		return fmt.Errorf("reading stack %s: %w", stackName, err)
	}
	return pullsecret.Own(ctx, s.Client, s.Namespace, pullsecret.Name(stackName), st)
}

func (s *Server) serviceUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	services, err := s.listServices(ctx)
	if err != nil {
		return err
	}
	svc, err := findServiceIn(services, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	version, err := readVersion(r, "service", svc)
	if err != nil {
		return err
	}
	var spec swarm.ServiceSpec
	if err := decode(r, &spec); err != nil {
		return err
	}
	if q.Get("rollback") == "previous" {
		if svc.Status.PreviousSpec == nil {
			return errorf(http.StatusInternalServerError, "rpc error: code = FailedPrecondition desc = service %s does not have a previous spec", ID(svc.UID))
		}
		patch := client.MergeFrom(svc.DeepCopy())
		if svc.Annotations == nil {
			svc.Annotations = map[string]string{}
		}
		svc.Annotations[swarmv1.AnnotationRollback] = strconv.FormatInt(s.Now().UnixNano(), 10)
		if err := s.Client.Patch(ctx, svc, patch, client.FieldOwner(fieldManager)); err != nil {
			return fmt.Errorf("requesting a rollback of service %s: %w", dockerName(svc), err)
		}
		return writeJSON(w, http.StatusOK, swarm.ServiceUpdateResponse{})
	}
	if spec.Name != "" && spec.Name != dockerName(svc) && spec.Name != svc.Name {
		return errorf(http.StatusInternalServerError, "rpc error: code = Unimplemented desc = renaming services is not supported")
	}
	ks, err := s.kubeSpec(ctx, spec)
	if err != nil {
		return err
	}
	oldMode := svc.Spec.Mode
	if oldMode == "" {
		oldMode = swarmv1.ModeReplicated
	}
	if ks.Mode != oldMode {
		return errorf(http.StatusInternalServerError, "rpc error: code = Unimplemented desc = service mode change is not allowed")
	}
	if err := s.verdict(svc.Name, svc.Labels[translate.LabelStack], &ks); err != nil {
		return err
	}
	if err := checkPorts(services, svc.Name, &ks); err != nil {
		return err
	}
	if stackName := stackOwner(svc); stackName != "" {
		// A stack's service is the Stack's entry; the Stack controller writes the Service.
		ks.NodeFailureTimeout = svc.Spec.NodeFailureTimeout
		auth, err := s.writeRegistryAuth(ctx, r, stackName, true, &ks, svc)
		if err != nil {
			return err
		}
		if _, err := s.putStackService(ctx, stackName, swarmv1.StackServiceShortName(stackName, svc.Name), spec, ks, false); err != nil {
			return err
		}
		if err := s.ownRegistryAuth(ctx, auth, stackName); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, swarm.ServiceUpdateResponse{Warnings: specWarnings(&svc.Spec, &ks)})
	}
	if _, err := s.writeRegistryAuth(ctx, r, svc.Name, false, &ks, svc); err != nil {
		return err
	}
	warnings := specWarnings(&svc.Spec, &ks)
	err = s.updateVersioned(ctx, "service "+dockerName(svc), svc, version, func() {
		// What the Engine API has no words for stays as it was.
		ks.NodeFailureTimeout = svc.Spec.NodeFailureTimeout
		svc.Spec = ks
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, swarm.ServiceUpdateResponse{Warnings: warnings})
}

func (s *Server) serviceDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	svc, err := s.findService(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if stackName := stackOwner(svc); stackName != "" {
		if err := s.deleteStackService(ctx, svc, stackName); err != nil {
			return err
		}
	} else if err := s.Client.Delete(ctx, svc); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing service %s: %w", dockerName(svc), err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
