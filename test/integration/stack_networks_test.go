package integration

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestStackNetworks: an internal network's service gets an egress policy (its networks' tasks
// and the cluster's DNS only) and loses it when it joins a network with a way out; an external
// network is known by its name, in the tasks' labels and the policies; published ports are open
// to every source.
func TestStackNetworks(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	st := &swarmv1.Stack{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: swarmv1.StackSpec{
			Services: []swarmv1.StackService{
				{Name: "web", ServiceSpec: swarmv1.ServiceSpec{Image: "nginx",
					Ports:    []swarmv1.PortConfig{{Published: 8300, Target: 80}},
					Networks: []swarmv1.NetworkAttachment{{Name: "front"}, {Name: "back"}}}},
				{Name: "db", ServiceSpec: swarmv1.ServiceSpec{Image: "postgres",
					Networks: []swarmv1.NetworkAttachment{{Name: "back"}}}},
			},
			Networks: []swarmv1.StackNetwork{{Name: "front", External: true, ExternalName: "traefik-public"}, {Name: "back", Internal: true}},
		},
	}
	if err := k8sClient.Create(ctx, st); err != nil {
		t.Fatal(err)
	}
	var egress *networkingv1.NetworkPolicy
	eventually(t, "the stack's policies", func() (err error) {
		for _, n := range []string{"shop-net-front", "shop-net-back", "shop-web-published"} {
			if _, err := get(ctx, ns, n, &networkingv1.NetworkPolicy{}); err != nil {
				return err
			}
		}
		egress, err = get(ctx, ns, "shop-db-internal", &networkingv1.NetworkPolicy{})
		return err
	})
	if _, err := get(ctx, ns, "shop-web-internal", &networkingv1.NetworkPolicy{}); !apierrors.IsNotFound(err) {
		t.Errorf("web publishes a port and is on an external network: it has a way out, want no egress policy (err %v)", err)
	}
	if got := egress.Spec.PolicyTypes; len(got) != 1 || got[0] != networkingv1.PolicyTypeEgress {
		t.Errorf("shop-db-internal policy types %v", got)
	}
	if e := egress.Spec.Egress; len(e) != 2 || e[0].To[0].PodSelector.MatchLabels["network.swarm.kubeswarm.io/shop-back"] != "true" ||
		e[1].To[0].PodSelector.MatchLabels["k8s-app"] != "kube-dns" || e[1].Ports[0].Port.IntVal != 53 {
		t.Errorf("shop-db-internal egress %+v, want the back network's tasks and DNS", e)
	}
	front, _ := get(ctx, ns, "shop-net-front", &networkingv1.NetworkPolicy{})
	if front.Spec.PodSelector.MatchLabels["network.swarm.kubeswarm.io/traefik-public"] != "true" {
		t.Errorf("shop-net-front selects %v, want the external network's name", front.Spec.PodSelector.MatchLabels)
	}
	published, _ := get(ctx, ns, "shop-web-published", &networkingv1.NetworkPolicy{})
	if r := published.Spec.Ingress; len(r) != 1 || len(r[0].From) != 0 || r[0].Ports[0].Port.IntVal != 80 {
		t.Errorf("shop-web-published ingress %+v, want port 80 from every source", r)
	}
	eventually(t, "web's tasks carry the external network's name", func() error {
		d, err := get(ctx, ns, "shop-web", &appsv1.Deployment{})
		if err != nil {
			return err
		}
		if l := d.Spec.Template.Labels; l["network.swarm.kubeswarm.io/traefik-public"] != "true" || l["network.swarm.kubeswarm.io/shop-back"] != "true" {
			return fmt.Errorf("task labels %v", l)
		}
		return nil
	})

	// db joins a network with a way out: its egress policy goes.
	updateStack(t, ns, "shop", func(st *swarmv1.Stack) {
		st.Spec.Services[1].Networks = append(st.Spec.Services[1].Networks, swarmv1.NetworkAttachment{Name: "front"})
	})
	eventually(t, "db's egress policy is removed", func() error {
		_, err := get(ctx, ns, "shop-db-internal", &networkingv1.NetworkPolicy{})
		switch {
		case err == nil:
			return fmt.Errorf("shop-db-internal is still there")
		case apierrors.IsNotFound(err):
			return nil
		}
		return err
	})
}
