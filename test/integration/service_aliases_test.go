package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// aliasServices are the names and CNAME targets of the alias Services of service in ns.
func aliasServices(ctx context.Context, ns, service string) ([]string, error) {
	list := &corev1.ServiceList{}
	if err := k8sClient.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{translate.LabelAliasOf: service}); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range list.Items {
		if s.DeletionTimestamp.IsZero() {
			out = append(out, s.Name+" "+string(s.Spec.Type)+" "+s.Spec.ExternalName)
		}
	}
	slices.Sort(out)
	return out, nil
}

// TestServiceAliases: a service outside a stack has a Service per network alias (a CNAME to its
// name); an alias added, removed (its network removed) follows the spec; a Service of an alias's
// name that is not the service's is never taken over, and the service says so (Degraded,
// NameConflict) until it goes.
func TestServiceAliases(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	target := "web." + ns + ".svc.cluster.local"
	wantAliases := func(what string, want ...string) {
		t.Helper()
		eventually(t, what, func() error {
			got, err := aliasServices(ctx, ns, "web")
			if err != nil {
				return err
			}
			var w []string
			for _, a := range want {
				w = append(w, a+" ExternalName "+target)
			}
			if !slices.Equal(got, w) {
				return fmt.Errorf("alias Services %q, want %q", got, w)
			}
			return nil
		})
	}
	svc := testutil.MakeService("web", ns).Obj()
	svc.UID = ""
	svc.Spec.Networks = []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"cache"}}, {Name: "n2", Aliases: []string{"kv"}}}
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating: %v", err)
	}
	wantAliases("an alias Service per alias", "cache", "kv")
	k, err := get(ctx, ns, "cache", &corev1.Service{})
	if err != nil {
		t.Fatal(err)
	}
	if owner := metav1.GetControllerOf(k); owner == nil || owner.Kind != "Service" || owner.Name != "web" {
		t.Errorf("cache's controller is %+v, want the Service web", owner)
	}

	// The alias goes with its network (service update --network-rm n2), another comes.
	updateService(t, ns, "web", func(s *swarmv1.Service) {
		s.Spec.Networks = []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"cache", "store"}}}
	})
	wantAliases("kv removed, store added", "cache", "store")

	// An alias whose name a stranger's Service has: never taken over, reported.
	foreign := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 5432}}, Selector: map[string]string{"app": "db"}}}
	if err := k8sClient.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	updateService(t, ns, "web", func(s *swarmv1.Service) {
		s.Spec.Networks = []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"cache", "taken"}}}
	})
	eventually(t, "Degraded names the alias", func() error {
		s, err := get(ctx, ns, "web", &swarmv1.Service{})
		if err != nil {
			return err
		}
		c := condition(s, swarmv1.ConditionDegraded)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != swarmv1.ReasonNameConflict || !strings.Contains(c.Message, "network alias taken: a Service taken exists") {
			return fmt.Errorf("Degraded = %+v", c)
		}
		return nil
	})
	wantAliases("store removed, cache kept, taken not taken over", "cache")
	if k, _ := get(ctx, ns, "taken", &corev1.Service{}); len(k.OwnerReferences) != 0 || k.Spec.Type != corev1.ServiceTypeClusterIP || k.Spec.Selector["app"] != "db" {
		t.Errorf("the foreign Service was changed: %+v", k)
	}
	// The stranger gone, the alias is made.
	if err := k8sClient.Delete(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	wantAliases("taken made once the stranger is gone", "cache", "taken")
	eventually(t, "Degraded clears and Honored states the scope", func() error {
		s, err := get(ctx, ns, "web", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if c := condition(s, swarmv1.ConditionDegraded); c == nil || c.Status != metav1.ConditionFalse {
			return fmt.Errorf("Degraded = %+v", c)
		}
		if c := condition(s, "Honored"); c == nil || !strings.Contains(c.Message, "aliases [cache taken] resolve in the whole namespace, not only on network n1") {
			return fmt.Errorf("Honored = %+v", c)
		}
		return nil
	})

	// A Service applied directly with an alias that is no DNS label: InvalidSpec, naming the
	// field, and nothing changed.
	updateService(t, ns, "web", func(s *swarmv1.Service) {
		s.Spec.Networks = []swarmv1.NetworkAttachment{{Name: "n1", Aliases: []string{"my.cache"}}}
	})
	eventually(t, "Degraded InvalidSpec names the alias", func() error {
		s, err := get(ctx, ns, "web", &swarmv1.Service{})
		if err != nil {
			return err
		}
		c := condition(s, swarmv1.ConditionDegraded)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != "InvalidSpec" || !strings.Contains(c.Message, `networks[0].aliases[0]: "my.cache" cannot name the service in DNS`) {
			return fmt.Errorf("Degraded = %+v", c)
		}
		return nil
	})
	wantAliases("the alias Services are left as they were", "cache", "taken")

	// No aliases left: no alias Services.
	updateService(t, ns, "web", func(s *swarmv1.Service) { s.Spec.Networks = []swarmv1.NetworkAttachment{{Name: "n1"}} })
	wantAliases("every alias Service removed")
}
