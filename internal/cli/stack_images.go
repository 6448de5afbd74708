package cli

import (
	"context"
	"fmt"
	"slices"
	"sync"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/stack"
)

// resolveParallel bounds the registry requests of one deploy.
const resolveParallel = 8

// pinImages sets each service's image as `docker stack deploy --resolve-image` does (docker/cli
// cli/command/stack/swarm/deploy_composefile.go deployServices): the compose image is kept in
// the service label com.docker.stack.image; "always" pins every image to its registry's digest,
// "changed" only those whose compose image changed since the deployed stack (the others keep
// the deployed, pinned image), "never" none (an unchanged one keeps the deployed image). The
// registry's warnings are printed in the services' order.
func (o *StackDeployOptions) pinImages(ctx context.Context, next *swarmv1.Stack, deployed *swarmv1.Stack) {
	type pin struct {
		i       int
		image   string
		warning string
	}
	var todo []pin
	for i := range next.Spec.Services {
		s := &next.Spec.Services[i]
		image := s.Image
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[stack.LabelDockerStackImage] = image
		var was *swarmv1.StackService
		if deployed != nil {
			if j := slices.IndexFunc(deployed.Spec.Services, func(d swarmv1.StackService) bool { return d.Name == s.Name }); j >= 0 {
				was = &deployed.Spec.Services[j]
			}
		}
		unchanged := was != nil && was.Labels[stack.LabelDockerStackImage] == image
		switch {
		case o.resolveImage == "always", o.resolveImage == "changed" && !unchanged:
			todo = append(todo, pin{i: i, image: image})
		case unchanged:
			s.Image = was.Image // as pinned by the deploy that set it
		default:
			s.Image = images.Tagged(image)
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, resolveParallel)
	for k := range todo {
		wg.Add(1)
		go func(p *pin) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p.image, p.warning = images.Pin(ctx, o.registry, p.image)
		}(&todo[k])
	}
	wg.Wait()
	for _, p := range todo {
		next.Spec.Services[p.i].Image = p.image
		if p.warning != "" {
			fmt.Fprint(o.ErrOut, p.warning)
		}
	}
}

// printPruned prints docker's lines for the services --prune removes, first, as docker does
// (the Stack controller deletes them once the Stack no longer lists them).
func (o *StackDeployOptions) printPruned(next, deployed *swarmv1.Stack) {
	if deployed == nil || !o.prune {
		return
	}
	for _, s := range deployed.Spec.Services {
		if !slices.ContainsFunc(next.Spec.Services, func(n swarmv1.StackService) bool { return n.Name == s.Name }) {
			fmt.Fprintf(o.Out, "Removing service %s\n", swarmv1.StackDockerName(o.name, s.Name))
		}
	}
}

// keepDropped is docker's deploy without --prune: the services the files no longer have stay as
// they are (stack.KeepDropped), silently.
func (o *StackDeployOptions) keepDropped(next, deployed *swarmv1.Stack) {
	if deployed != nil && !o.prune {
		stack.KeepDropped(deployed, &next.Spec)
	}
}
