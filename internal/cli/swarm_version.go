package cli

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/crds"
	"github.com/kubeswarm/kubeswarm/internal/install"
	"github.com/kubeswarm/kubeswarm/internal/version"
)

// installedRelease is what a cluster runs of kubeswarm, as the release labels of its objects say.
type installedRelease struct {
	// version is the newest release among the operator's Deployment and kubeswarm's CRDs ("":
	// none carries one: not installed, or installed by a development build).
	version string
	// operator tells whether the operator's Deployment exists; image, ready and replicas are its.
	operator        bool
	image           string
	ready, replicas int32
}

// readInstalled reads the release labels of the operator's Deployment and of kubeswarm's CRDs.
func readInstalled(ctx context.Context, c client.Client) (installedRelease, error) {
	var in installedRelease
	newest := func(v string) {
		if !version.Released(v) {
			return
		}
		if in.version == "" {
			in.version = v
		} else if cmp, _ := version.Compare(v, in.version); cmp > 0 {
			in.version = v
		}
	}
	dep := &appsv1.Deployment{}
	switch err := c.Get(ctx, client.ObjectKey{Namespace: install.Namespace, Name: install.Deployment}, dep); {
	case err == nil:
		in.operator = true
		newest(dep.Labels[version.Label])
		in.ready, in.replicas = dep.Status.ReadyReplicas, ptrOr(dep.Spec.Replicas, 1)
		for _, ctr := range dep.Spec.Template.Spec.Containers {
			if ctr.Name == install.Container {
				in.image = ctr.Image
			}
		}
	case !apierrors.IsNotFound(err):
		return in, fmt.Errorf("reading the operator's Deployment %s/%s: %w", install.Namespace, install.Deployment, err)
	}
	for _, name := range crds.Names {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(crds.Kind)
		if err := c.Get(ctx, client.ObjectKey{Name: name}, u); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return in, fmt.Errorf("reading CustomResourceDefinition %s: %w", name, err)
		}
		newest(u.GetLabels()[version.Label])
	}
	return in, nil
}

// refuseDowngrade stops init from installing an older release over a newer one, or a build of
// unknown age over a release: an older CRD drops fields that the newer operator wrote, and what
// the API server prunes is gone. --force installs anyway.
func (o *InitOptions) refuseDowngrade(ctx context.Context) error {
	if o.force {
		return nil
	}
	in, err := readInstalled(ctx, o.client)
	if err != nil || in.version == "" {
		return err
	}
	this := version.String()
	if !version.Released(this) {
		return fmt.Errorf("the cluster runs kubeswarm %s and this kubectl-swarm is a development build (%s): init would replace a release with a build of unknown age; use a released kubectl-swarm %s or later, or --force", in.version, this, in.version)
	}
	if cmp, _ := version.Compare(this, in.version); cmp < 0 {
		return fmt.Errorf("the cluster runs kubeswarm %s, newer than this kubectl-swarm (%s): init would downgrade its CRDs and operator; use a kubectl-swarm %s or later, or --force to install %s anyway", in.version, this, in.version, this)
	}
	return nil
}

// printVersions is `version`: the plugin's release and, when a cluster answers, the operator's,
// with a warning when they differ.
func (o *VersionOptions) printVersions(ctx context.Context) error {
	this := version.String()
	fmt.Fprintln(o.Out, "Client: kubectl-swarm")
	fmt.Fprintf(o.Out, " Version:         %s\n", this)
	if version.Image != "" {
		fmt.Fprintf(o.Out, " Operator image:  %s\n", version.Image)
	}
	if o.clientOnly {
		return nil
	}
	if o.client == nil {
		fmt.Fprintf(o.Out, "Server: kubeswarm\n (no cluster: %v)\n", o.clientErr)
		return nil
	}
	// An unreachable server fails quickly rather than at the transport's time-out.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	in, err := readInstalled(ctx, o.client)
	if err != nil {
		fmt.Fprintf(o.Out, "Server: kubeswarm\n (cannot read the cluster: %v)\n", err)
		return nil
	}
	fmt.Fprintln(o.Out, "Server: kubeswarm")
	switch {
	case !in.operator && in.version == "":
		fmt.Fprintln(o.Out, " (not installed: run 'kubectl swarm init')")
		return nil
	case in.version == "":
		fmt.Fprintf(o.Out, " Version:         %s\n", version.Dev)
	default:
		fmt.Fprintf(o.Out, " Version:         %s\n", in.version)
	}
	if in.operator {
		fmt.Fprintf(o.Out, " Operator:        %s/%s, %d/%d ready\n", install.Namespace, install.Deployment, in.ready, in.replicas)
		fmt.Fprintf(o.Out, " Image:           %s\n", in.image)
	} else {
		fmt.Fprintln(o.Out, " Operator:        none in the cluster (CRDs only)")
	}
	server := in.version
	if server == "" {
		server = version.Dev
	}
	if server != this {
		fmt.Fprintf(o.ErrOut, "Warning: kubectl-swarm %s and the cluster's kubeswarm %s differ; 'kubectl swarm init' with this kubectl-swarm installs %s\n", this, server, this)
	}
	return nil
}
