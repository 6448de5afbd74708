package dockerapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/compose"
	"github.com/kubeswarm/kubeswarm/internal/stack"
)

// What `docker stack deploy` sends is realised as a kubeswarm Stack, so that a stack deployed with
// the docker CLI is the same as one deployed with the plugin (short names, network isolation,
// volumes kept on rm, `kubectl swarm stack ls`). The CLI (docker/cli
// cli/command/stack/deploy_composefile.go) creates the stack's networks, secrets and configs,
// then its services, each labelled com.docker.stack.namespace=<stack> and named <stack>_<name>;
// `stack rm` (remove.go) removes services, secrets, configs, then networks. Each of those calls
// edits the Stack; the Stack controller alone creates and updates the stack's Services (a removed
// one is also deleted here, to be gone from `docker service ls` at once, as in Swarm).

// stackWait bounds how long a call waits for the Stack controller to write a stack's Service, or
// for an earlier `stack rm` to finish.
const stackWait = 60 * time.Second

var stackPoll = 100 * time.Millisecond

// stackMember reads docker's stack label: the stack an object belongs to and its name in the
// stack (<stack>_<local>).
func stackMember(labels map[string]string, name string) (stackName, local string, ok bool) {
	stackName = labels[stack.LabelDockerStackNamespace]
	if stackName == "" {
		return "", "", false
	}
	local, ok = strings.CutPrefix(name, stackName+"_")
	return stackName, local, ok && local != ""
}

// stackOwner is the Stack that controls a Service, "" for a service of its own.
func stackOwner(svc *swarmv1.Service) string {
	if c := metav1.GetControllerOfNoCopy(svc); c != nil && c.Kind == "Stack" && c.APIVersion == swarmv1.GroupVersion.String() {
		return c.Name
	}
	return ""
}

// StackService is a docker stack service as the Stack's entry: the kubeswarm spec read from the
// request (ToKube) with the stack's networks, volumes, secrets and configs named as the stack
// knows them (front for wp_front), and the declarations the Stack needs for them. What is not
// the stack's (another stack's network, a secret made outside) is declared external.
func StackService(stackName, local string, in swarm.ServiceSpec, ks swarmv1.ServiceSpec) (swarmv1.StackService, swarmv1.StackSpec) {
	var decl swarmv1.StackSpec
	scoped := func(dockerName string) (string, bool) {
		l, ok := strings.CutPrefix(dockerName, stackName+"_")
		return l, ok && l != ""
	}
	for i := range ks.Networks {
		a := &ks.Networks[i]
		if l, ok := scoped(a.Name); ok {
			a.Name = l
			decl.Networks = append(decl.Networks, swarmv1.StackNetwork{Name: l})
		} else {
			decl.Networks = append(decl.Networks, swarmv1.StackNetwork{Name: a.Name, External: true})
		}
	}
	var mounts []mount.Mount
	if c := in.TaskTemplate.ContainerSpec; c != nil {
		mounts = c.Mounts
	}
	for i := range ks.Mounts {
		m := &ks.Mounts[i]
		if m.Type != swarmv1.MountVolume || m.Source == "" || i >= len(mounts) {
			continue
		}
		v := swarmv1.StackVolume{Name: m.Source, External: true}
		if l, ok := scoped(mounts[i].Source); ok && swarmv1.StackObjectName(stackName, l) == m.Source {
			v = swarmv1.StackVolume{Name: l}
			if o := m.Volume; o != nil {
				v.Driver, v.DriverOptions = o.Driver, o.DriverOptions
			}
		}
		m.Source = v.Name
		decl.Volumes = append(decl.Volumes, v)
	}
	files := func(refs []swarmv1.FileReference, dockerNames []string) []swarmv1.StackObject {
		var out []swarmv1.StackObject
		for i := range refs {
			f := &refs[i]
			o := swarmv1.StackObject{Name: f.Source, External: true}
			for _, n := range dockerNames {
				if l, ok := scoped(n); ok && swarmv1.KubernetesName(n) == f.Source && swarmv1.StackObjectName(stackName, l) == f.Source {
					o = swarmv1.StackObject{Name: l}
				}
			}
			f.Source = o.Name
			out = append(out, o)
		}
		return out
	}
	var secrets, configs []string
	if c := in.TaskTemplate.ContainerSpec; c != nil {
		for _, r := range c.Secrets {
			secrets = append(secrets, r.SecretName)
		}
		for _, r := range c.Configs {
			configs = append(configs, r.ConfigName)
		}
	}
	decl.Secrets = files(ks.Secrets, secrets)
	decl.Configs = files(ks.Configs, configs)
	return swarmv1.StackService{Name: swarmv1.KubernetesName(local), ServiceSpec: ks}, decl
}

// PutStackService writes a service into a Stack, with what it uses declared.
func PutStackService(st *swarmv1.Stack, svc swarmv1.StackService, decl swarmv1.StackSpec) {
	replaced := false
	for i := range st.Spec.Services {
		if st.Spec.Services[i].Name == svc.Name {
			st.Spec.Services[i], replaced = svc, true
		}
	}
	if !replaced {
		st.Spec.Services = append(st.Spec.Services, svc)
	}
	for _, n := range decl.Networks {
		declareNetwork(st, n)
	}
	st.Spec.Volumes = declare(st.Spec.Volumes, decl.Volumes, func(x swarmv1.StackVolume) string { return x.Name })
	st.Spec.Secrets = declare(st.Spec.Secrets, decl.Secrets, func(x swarmv1.StackObject) string { return x.Name })
	st.Spec.Configs = declare(st.Spec.Configs, decl.Configs, func(x swarmv1.StackObject) string { return x.Name })
}

// declareNetwork declares a network in a Stack unless it is declared. The default network is
// declared too when docker creates it, so that it is listed (and found by its ID) before a
// service uses it.
func declareNetwork(st *swarmv1.Stack, n swarmv1.StackNetwork) {
	st.Spec.Networks = declare(st.Spec.Networks, []swarmv1.StackNetwork{n}, func(x swarmv1.StackNetwork) string { return x.Name })
}

func declare[T any](have, add []T, name func(T) string) []T {
	for _, a := range add {
		found := false
		for _, h := range have {
			found = found || name(h) == name(a)
		}
		if !found {
			have = append(have, a)
		}
	}
	return have
}

func deleteByName[T any](items []T, name func(T) string, n string) []T {
	out := items[:0]
	for _, it := range items {
		if name(it) != n {
			out = append(out, it)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// stackEmpty tells whether nothing docker lists is left in a Stack: no service, no network of
// its own. Its other declarations (volumes, secrets, configs) are only what services used.
func stackEmpty(st *swarmv1.Stack) bool {
	return len(st.Spec.Services) == 0 && len(stackNetworks(st)) == 0
}

// editStack reads the Stack (made when create is set and there is none; an earlier removal
// still under way is waited for), changes it with edit, checks it, and writes it; a Stack left
// empty is removed. It returns the Stack as written.
func (s *Server) editStack(ctx context.Context, name string, create bool, edit func(*swarmv1.Stack) error) (*swarmv1.Stack, error) {
	if create {
		if err := compose.ValidateStackName(name); err != nil {
			return nil, invalid("rpc error: code = InvalidArgument desc = %v", err)
		}
	}
	st := &swarmv1.Stack{}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		st = &swarmv1.Stack{}
		err := s.getStack(ctx, name, st)
		exists := err == nil
		switch {
		case apierrors.IsNotFound(err) && create:
			st = &swarmv1.Stack{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace}}
		case err != nil:
			return err
		}
		if err := edit(st); err != nil {
			return err
		}
		if err := stack.Validate(st); err != nil {
			return invalid("rpc error: code = InvalidArgument desc = stack %s: %v", name, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		switch {
		case !exists:
			return s.Client.Create(ctx, st, client.FieldOwner(fieldManager))
		case stackEmpty(st):
			return client.IgnoreNotFound(s.Client.Delete(ctx, st, client.PropagationPolicy(metav1.DeletePropagationForeground)))
		default:
			return s.Client.Update(ctx, st, client.FieldOwner(fieldManager))
		}
	})
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) || apierrors.IsNotFound(err) {
			return nil, err
		}
		if apierrors.IsInvalid(err) {
			return nil, invalid("rpc error: code = InvalidArgument desc = %v", err)
		}
		return nil, fmt.Errorf("writing stack %s: %w", name, err)
	}
	return st, nil
}

// getStack reads a Stack, waiting for the end of a removal under way (docker's `stack rm` does
// not wait, and a deploy right after it must not write onto the Stack being deleted).
func (s *Server) getStack(ctx context.Context, name string, st *swarmv1.Stack) error {
	deadline := time.Now().Add(stackWait)
	for {
		err := s.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: name}, st)
		if err != nil || st.DeletionTimestamp == nil {
			return err
		}
		if time.Now().After(deadline) {
			return errorf(http.StatusInternalServerError, "kubeswarm: stack %s is still being removed after %s", name, stackWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(stackPoll):
		}
	}
}

// waitStackChild waits until the Stack controller has written the Stack's service local as of
// the Stack's generation, and returns it.
func (s *Server) waitStackChild(ctx context.Context, st *swarmv1.Stack, local string) (*swarmv1.Service, error) {
	key := client.ObjectKey{Namespace: st.Namespace, Name: swarmv1.StackObjectName(st.Name, local)}
	deadline := time.Now().Add(stackWait)
	for {
		svc := &swarmv1.Service{}
		err := s.Client.Get(ctx, key, svc)
		if err == nil && metav1.IsControlledBy(svc, st) {
			if gen, _ := strconv.ParseInt(svc.Annotations[stack.AnnotationStackGeneration], 10, 64); gen >= st.Generation {
				return svc, nil
			}
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading service %s: %w", key.Name, err)
		}
		if time.Now().After(deadline) {
			return nil, errorf(http.StatusInternalServerError, "kubeswarm: stack %s: its service %s was not written within %s (is the kubeswarm operator running? see kubectl swarm stack ps %s)",
				st.Name, swarmv1.StackDockerName(st.Name, local), stackWait, st.Name)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(stackPoll):
		}
	}
}

// putStackService creates or updates a stack's service through its Stack and returns the
// Service the Stack controller wrote.
func (s *Server) putStackService(ctx context.Context, stackName, local string, in swarm.ServiceSpec, ks swarmv1.ServiceSpec, create bool) (*swarmv1.Service, error) {
	svc, decl := StackService(stackName, local, in, ks)
	if create {
		// A Service of that name that is not the stack's would stop the Stack controller.
		existing := &swarmv1.Service{}
		err := s.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: swarmv1.StackObjectName(stackName, svc.Name)}, existing)
		if err == nil {
			return nil, errorf(http.StatusConflict, "rpc error: code = AlreadyExists desc = name conflicts with an existing object: service %s already exists", in.Name)
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
		if err := swarmv1.ValidateStackServiceName(stackName, svc.Name); err != nil {
			return nil, invalid("rpc error: code = InvalidArgument desc = service %s: %v", in.Name, err)
		}
	}
	st, err := s.editStack(ctx, stackName, create, func(st *swarmv1.Stack) error {
		PutStackService(st, svc, decl)
		return nil
	})
	if err != nil {
		return nil, err
	}
	child, err := s.waitStackChild(ctx, st, svc.Name)
	if err != nil || dockerName(child) == in.Name {
		return child, err
	}
	// A name Kubernetes does not take as it is (wp_web_app is the Service wp-web-app) is kept,
	// so that the next stack deploy finds the service by the name it gave.
	patch := client.MergeFrom(child.DeepCopy())
	setDockerName(child, in.Name)
	if err := s.Client.Patch(ctx, child, patch, client.FieldOwner(fieldManager)); err != nil {
		return nil, fmt.Errorf("naming service %s: %w", in.Name, err)
	}
	return child, nil
}

// deleteStackService takes a service out of its Stack (the Stack controller removes it) and
// removes the Stack when nothing is left in it.
func (s *Server) deleteStackService(ctx context.Context, svc *swarmv1.Service, stackName string) error {
	local := swarmv1.StackServiceShortName(stackName, svc.Name)
	_, err := s.editStack(ctx, stackName, false, func(st *swarmv1.Stack) error {
		st.Spec.Services = deleteByName(st.Spec.Services, func(x swarmv1.StackService) string { return x.Name }, local)
		return nil
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	// Gone from `docker service ls` at once, as in Swarm; the controller would prune it.
	if err := s.Client.Delete(ctx, svc); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing service %s: %w", dockerName(svc), err)
	}
	return nil
}
