package viz

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// coalesce is how long the feeder waits after a change before it rebuilds the view, so that a
// burst of pod events (a rollout, a drain) becomes one delta.
const coalesce = 100 * time.Millisecond

// Options say where and what the visualizer serves.
type Options struct {
	// Address is host:port to listen on; 127.0.0.1:8080 when empty.
	Address string
	// Namespace limits the tasks to one namespace ("": every namespace). Only Run uses it; the
	// operator's cache watches every namespace.
	Namespace string
	// Ready, when set, gets the page's URL once the server listens.
	Ready func(url string)
}

// DefaultAddress is where the visualizer listens unless told: the loopback interface only.
const DefaultAddress = "127.0.0.1:8080"

// Run serves the visualizer with informers of its own, from the user's credentials (kubectl
// swarm viz), until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, opts Options) error {
	c, err := NewCache(cfg, opts.Namespace)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 1)
	go func() { errs <- c.Start(ctx) }()
	err = Serve(ctx, c, opts)
	cancel()
	if cerr := <-errs; err == nil && cerr != nil {
		err = fmt.Errorf("running the informers: %w", cerr)
	}
	return err
}

// NewCache is an informer cache of what the visualizer shows: nodes (without their image
// lists), kubeswarm Nodes and kubeswarm's pods (of one namespace, when namespace is set).
func NewCache(cfg *rest.Config, namespace string) (cache.Cache, error) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(swarmv1.AddToScheme(scheme))
	opts := cache.Options{
		Scheme: scheme,
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:  {Label: labels.SelectorFromSet(labels.Set{translate.LabelManagedBy: translate.ManagedByValue})},
			&corev1.Node{}: {Transform: dropNodeImages},
		},
	}
	if namespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{namespace: {}}
	}
	c, err := cache.New(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("creating the informer cache: %w", err)
	}
	return c, nil
}

func dropNodeImages(obj any) (any, error) {
	if n, ok := obj.(*corev1.Node); ok {
		n.Status.Images = nil
	}
	return obj, nil
}

// Serve serves the visualizer from c (an informer cache, the operator's or Run's) until ctx
// ends. The cache must watch nodes, kubeswarm Nodes and kubeswarm's pods; Serve waits for it
// to sync.
func Serve(ctx context.Context, c cache.Cache, opts Options) error {
	if opts.Address == "" {
		opts.Address = DefaultAddress
	}
	hub := NewHub()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed, err := startFeeder(ctx, c, hub)
	if err != nil {
		return err
	}
	errs := make(chan error, 1)
	go func() { errs <- feed() }()
	err = ListenAndServe(ctx, opts.Address, hub, opts.Ready)
	cancel()
	if ferr := <-errs; err == nil {
		err = ferr
	}
	return err
}

// startFeeder registers change handlers on c's informers and returns the loop that rebuilds
// the view after changes and publishes it to hub.
func startFeeder(ctx context.Context, c cache.Cache, hub *Hub) (func() error, error) {
	dirty := make(chan struct{}, 1)
	mark := func() {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { mark() },
		UpdateFunc: func(any, any) { mark() },
		DeleteFunc: func(any) { mark() },
	}
	for _, obj := range []client.Object{&corev1.Node{}, &swarmv1.Node{}, &corev1.Pod{}} {
		inf, err := c.GetInformer(ctx, obj)
		if err != nil {
			return nil, fmt.Errorf("watching %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("watching %T: %w", obj, err)
		}
	}
	return func() error {
		if !c.WaitForCacheSync(ctx) {
			return ctx.Err()
		}
		var slots Slots
		for {
			v, s, err := buildFromCache(ctx, c, slots)
			if err != nil {
				return err
			}
			slots = s
			hub.Publish(v)
			select {
			case <-ctx.Done():
				return nil
			case <-dirty:
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(coalesce):
			}
		}
	}, nil
}

func buildFromCache(ctx context.Context, c cache.Cache, prev Slots) (View, Slots, error) {
	// The view only reads the objects: no deep copies.
	var kn corev1.NodeList
	if err := c.List(ctx, &kn, client.UnsafeDisableDeepCopy); err != nil {
		return View{}, nil, fmt.Errorf("listing nodes: %w", err)
	}
	var sn swarmv1.NodeList
	if err := c.List(ctx, &sn, client.UnsafeDisableDeepCopy); err != nil {
		return View{}, nil, fmt.Errorf("listing swarm nodes: %w", err)
	}
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.UnsafeDisableDeepCopy,
		client.MatchingLabels{translate.LabelManagedBy: translate.ManagedByValue}); err != nil {
		return View{}, nil, fmt.Errorf("listing pods: %w", err)
	}
	v, s := Build(time.Now().UTC(), ptrs(kn.Items), ptrs(sn.Items), ptrs(pods.Items), prev)
	return v, s, nil
}

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// Runnable serves the visualizer from the operator's manager, with the manager's cache: add it
// with mgr.Add. Every replica serves it, leader or not (it only reads).
type Runnable struct {
	Cache   cache.Cache
	Options Options
}

// Start serves until ctx ends.
func (r *Runnable) Start(ctx context.Context) error { return Serve(ctx, r.Cache, r.Options) }

// NeedLeaderElection is false: followers serve the page too.
func (r *Runnable) NeedLeaderElection() bool { return false }
