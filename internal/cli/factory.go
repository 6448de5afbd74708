package cli

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/images"
)

// Scheme knows the core kinds and kubeswarm's.
var Scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(swarmv1.AddToScheme(Scheme))
}

// Factory gives the commands their clients, namespace and clock; tests inject fakes.
type Factory interface {
	// Client is a controller-runtime client for kubeswarm's resources and core objects.
	Client() (client.Client, error)
	// Clientset is a typed clientset, for what a controller-runtime client cannot do (pod logs).
	Clientset() (kubernetes.Interface, error)
	// Namespace is the namespace from -n, the kubeconfig context, or "default".
	Namespace() (string, error)
	// Clock tells the time, for ages and rollback requests.
	Clock() clock.Clock
	// Registry tells the digest of an image's tag and the user's registry credentials (~/.docker/config.json).
	Registry() images.Client
}

// restConfigFactory is a Factory that gives the REST config itself: the visualizer runs
// informers of its own, which a client does not offer.
type restConfigFactory interface {
	restConfig() (*rest.Config, error)
}

// configFactory is the Factory of the real command: the usual kubectl flags. It is the one place
// where clients are made.
type configFactory struct {
	flags  *genericclioptions.ConfigFlags
	client client.Client
	cs     kubernetes.Interface
}

func (f *configFactory) restConfig() (*rest.Config, error) {
	cfg, err := f.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	return cfg, nil
}

func (f *configFactory) Client() (client.Client, error) {
	if f.client != nil {
		return f.client, nil
	}
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme})
	if err != nil {
		return nil, fmt.Errorf("creating the client: %w", err)
	}
	f.client = c
	return c, nil
}

func (f *configFactory) Clientset() (kubernetes.Interface, error) {
	if f.cs != nil {
		return f.cs, nil
	}
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating the clientset: %w", err)
	}
	f.cs = cs
	return cs, nil
}

func (f *configFactory) Namespace() (string, error) {
	ns, _, err := f.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the namespace: %w", err)
	}
	return ns, nil
}

func (f *configFactory) Clock() clock.Clock { return clock.RealClock{} }

// Registry asks the image's registry with the credentials docker uses (~/.docker/config.json
// and its credential helpers), as the docker client does for `service create`.
func (f *configFactory) Registry() images.Client {
	return images.Remote{Keychain: authn.DefaultKeychain}
}
