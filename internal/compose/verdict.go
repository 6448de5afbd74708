package compose

import (
	"errors"
	"fmt"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/stack"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// operatorVerdict runs on the converted stack what the operator runs when it reconciles it: the
// Stack controller's stack.Validate and, for each service, the rules the Service controller's
// objects.Build starts with (translate.Verdict, through translate.Check), the very functions.
// So `convert` and `stack deploy` refuse, before anything is written, what the operator would
// refuse (its Degraded InvalidSpec condition), in the same words; and they warn about what the
// operator will report in the Service's Honored condition.
func (c *converter) operatorVerdict() error {
	st := c.result.Stack
	if err := stack.Validate(st); err != nil {
		return err
	}
	byKubeName := map[string]string{}
	for _, name := range c.project.ServiceNames() {
		if n, err := serviceName(c.stack, name); err == nil {
			byKubeName[n] = name
		}
	}
	var errs []error
	for _, s := range st.Spec.Services {
		name := byKubeName[s.Name]
		notes, err := translate.Check(stack.Child(st, s))
		if err != nil {
			errs = append(errs, c.fail("service", name, "", "%w", err))
			continue
		}
		for _, note := range notes {
			c.warn("service %q: %s", name, note)
		}
		for _, m := range s.Mounts {
			if m.Type == swarmv1.MountBind {
				c.warn("service %q: %s", name, hostPathNote(m))
			}
		}
	}
	return errors.Join(errs...)
}

// hostPathNote says what becomes of a bind mount of a path outside the project: a hostPath on
// whichever node runs the task, which the operator refuses unless it runs with
// --allow-bind-mounts.
func hostPathNote(m swarmv1.Mount) string {
	return fmt.Sprintf("bind mount %s:%s: %s is a path on the node that runs the task (a hostPath), not on this machine: the operator refuses it unless it runs with --allow-bind-mounts", m.Source, m.Target, m.Source)
}
