package cli

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
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
	// helmRelease and namespace: the Helm release that installed the CRDs (its chart's
	// meta.helm.sh annotations) and the namespace its operator runs in (install.Namespace
	// otherwise).
	helmRelease, namespace string
}

// byHelm tells whether a Helm release still runs the operator: init and leave would take its
// objects from under it.
func (in installedRelease) byHelm() bool { return in.helmRelease != "" && in.operator }

// helmRefusal says what to run instead of init or leave over a Helm release.
func (in installedRelease) helmRefusal(verb, instead string) error {
	return fmt.Errorf("kubeswarm was installed with Helm (release %s in namespace %s): %s would take its objects from Helm; %s",
		in.helmRelease, in.namespace, verb, instead)
}

// readInstalled reads the release labels of kubeswarm's CRDs and of the operator's Deployment,
// in the namespace of the Helm release that installed the CRDs if one did.
func readInstalled(ctx context.Context, c client.Client) (installedRelease, error) {
	in := installedRelease{namespace: install.Namespace}
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
	for _, name := range crds.Names {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(crds.Kind)
		if err := c.Get(ctx, client.ObjectKey{Name: name}, u); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return in, fmt.Errorf("reading CustomResourceDefinition %s: %w", name, err)
		}
		newest(u.GetLabels()[version.Label])
		if a := u.GetAnnotations(); u.GetLabels()[helmManagedBy[0]] == helmManagedBy[1] && a[helmReleaseName] != "" {
			in.helmRelease, in.namespace = a[helmReleaseName], a[helmReleaseNamespace]
		}
	}
	dep := &appsv1.Deployment{}
	switch err := c.Get(ctx, client.ObjectKey{Namespace: in.namespace, Name: install.Deployment}, dep); {
	case err == nil:
		in.operator = true
		newest(dep.Labels[version.Label])
		in.ready, in.replicas = dep.Status.ReadyReplicas, ptr.Deref(dep.Spec.Replicas, 1)
		for _, ctr := range dep.Spec.Template.Spec.Containers {
			if ctr.Name == install.Container {
				in.image = ctr.Image
			}
		}
	case !apierrors.IsNotFound(err):
		return in, fmt.Errorf("reading the operator's Deployment %s/%s: %w", in.namespace, install.Deployment, err)
	}
	return in, nil
}

// What Helm writes on the objects of a release (helm.sh/helm/v4/pkg/action: its ownership
// metadata).
var helmManagedBy = [2]string{"app.kubernetes.io/managed-by", "Helm"}

const (
	helmReleaseName      = "meta.helm.sh/release-name"
	helmReleaseNamespace = "meta.helm.sh/release-namespace"
)

// refuseDowngrade stops init from installing an older release over a newer one, or a build of
// unknown age over a release: an older CRD drops fields that the newer operator wrote, and what
// the API server prunes is gone. --force installs anyway.
func (o *InitOptions) refuseDowngrade(ctx context.Context) error {
	if o.force {
		return nil
	}
	in, err := readInstalled(ctx, o.client)
	if err != nil {
		return err
	}
	if in.byHelm() {
		return in.helmRefusal("init", fmt.Sprintf("upgrade it with `helm upgrade %s CHART -n %s`, or --force to init anyway", in.helmRelease, in.namespace))
	}
	if in.version == "" {
		return nil
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
		fmt.Fprintf(o.Out, " Operator:        %s/%s, %d/%d ready\n", in.namespace, install.Deployment, in.ready, in.replicas)
		if in.helmRelease != "" {
			fmt.Fprintf(o.Out, " Helm release:    %s\n", in.helmRelease)
		}
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
