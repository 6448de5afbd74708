package objects

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// TestValuesAsWritten: what the user wrote reaches the container as written; Kubernetes would
// expand $(VAR) and turn $$ into $ (TestKubernetesExpansion shows that the escaped value
// expands back), while the references the templates become stay references.
func TestValuesAsWritten(t *testing.T) {
	tests := []struct {
		name, value, want string
		wantDownward      bool
	}{
		{name: "no dollar is unchanged", value: "plain", want: "plain"},
		{name: "a lone dollar", value: "a$b$", want: "a$$b$$"},
		{name: "a double dollar", value: "pa$$w", want: "pa$$$$w"},
		{name: "a reference", value: "$(A)", want: "$$(A)"},
		{name: "an escaped reference", value: "$$(A)", want: "$$$$(A)"},
		{name: "shell variables", value: "${HOME} $HOME", want: "$${HOME} $$HOME"},
		{name: "a template stays a reference", value: "{{.Task.Name}}", want: "$(SWARM_TASK_NAME)", wantDownward: true},
		{name: "templates mixed with dollars", value: "$(A)-{{.Task.Name}}-$$-{{.Service.Name}}", want: "$$(A)-$(SWARM_TASK_NAME)-$$$$-web", wantDownward: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Env("A", "a").Env("B", tt.value).Obj()
			svc.Spec.Entrypoint = []string{"/bin/sh", "-c", tt.value}
			svc.Spec.Command = []string{tt.value}
			svc.Spec.Healthcheck = &swarmv1.Healthcheck{Test: []string{"CMD", "test", tt.value}}
			c := podSpec(build(t, svc, wide)).Containers[0]
			var env []corev1ac.EnvVarApplyConfiguration
			if tt.wantDownward {
				env = append(env, *corev1ac.EnvVar().WithName("SWARM_TASK_NAME").WithValueFrom(corev1ac.EnvVarSource().
					WithFieldRef(corev1ac.ObjectFieldSelector().WithFieldPath("metadata.name"))))
			}
			env = append(env, *corev1ac.EnvVar().WithName("A").WithValue("a"), *corev1ac.EnvVar().WithName("B").WithValue(tt.want))
			if diff := cmp.Diff(env, c.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			// Command and args are not templated in Swarm: a template in them is text too.
			text := escapedText(tt.value)
			if diff := cmp.Diff([]string{"/bin/sh", "-c", text}, c.Command); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{text}, c.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"test", text}, c.LivenessProbe.Exec.Command); diff != "" {
				t.Errorf("probe (-want +got):\n%s", diff)
			}
		})
	}
}

// escapedText doubles each dollar, written out by hand so that the test does not use the code
// it tests.
func escapedText(s string) string {
	var out []rune
	for _, r := range s {
		out = append(out, r)
		if r == '$' {
			out = append(out, '$')
		}
	}
	return string(out)
}
