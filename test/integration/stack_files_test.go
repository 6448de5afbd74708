package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/controllers"
	"github.com/kubeswarm/kubeswarm/internal/stack"
)

// TestStackFileContentChange: Swarm never changes a secret's content. A stack's Secret that
// Kubernetes would let change (made by an earlier kubeswarm, not immutable) and then changes
// makes the Stack Degraded, FileChanged, with docker's words, the rotation and a Warning event;
// a new generation of the Stack is not deployed meanwhile, and what runs stays. Putting the
// content back deploys it. An immutable ConfigMap (as convert and stack deploy write them)
// cannot change at all: the API server refuses.
func TestStackFileContentChange(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	labels := stack.Labels("shop")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-db-pass", Namespace: ns, Labels: labels},
		Data: map[string][]byte{"db_pass": []byte("s3cret")}}
	config := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "shop-site", Namespace: ns, Labels: labels},
		Data: map[string]string{"site": "listen 80;"}, Immutable: ptr.To(true)}
	for _, o := range []client.Object{secret, config} {
		if err := k8sClient.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	st := &swarmv1.Stack{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: swarmv1.StackSpec{
			Services: []swarmv1.StackService{{Name: "web", ServiceSpec: swarmv1.ServiceSpec{Image: "nginx:1",
				Secrets: []swarmv1.FileReference{{Source: "db_pass"}}, Configs: []swarmv1.FileReference{{Source: "site"}}}}},
			Secrets: []swarmv1.StackObject{{Name: "db_pass"}},
			Configs: []swarmv1.StackObject{{Name: "site"}},
		},
	}
	if err := k8sClient.Create(ctx, st); err != nil {
		t.Fatal(err)
	}
	degraded := func(st *swarmv1.Stack) *metav1.Condition {
		return meta.FindStatusCondition(st.Status.Conditions, swarmv1.ConditionDegraded)
	}
	deployed := func(what string) {
		t.Helper()
		waitStack(t, ns, "shop", what, func(st *swarmv1.Stack) error {
			if c := degraded(st); c == nil || c.Status != metav1.ConditionFalse {
				return fmt.Errorf("degraded: %+v", c)
			}
			return nil
		})
	}
	deployed("the stack is deployed")
	eventually(t, "the deployed content is recorded on the mutable Secret only", func() error {
		s, err := get(ctx, ns, "shop-db-pass", &corev1.Secret{})
		if err != nil {
			return err
		}
		if s.Annotations[stack.AnnotationDeployedContent] == "" {
			return fmt.Errorf("annotations %v", s.Annotations)
		}
		c, err := get(ctx, ns, "shop-site", &corev1.ConfigMap{})
		if err != nil {
			return err
		}
		if _, ok := c.Annotations[stack.AnnotationDeployedContent]; ok {
			return fmt.Errorf("the immutable ConfigMap was annotated: %v", c.Annotations)
		}
		return nil
	})

	// An immutable object refuses a new content, whoever writes it.
	config.Data = map[string]string{"site": "listen 81;"}
	if err := k8sClient.Update(ctx, config); !apierrors.IsInvalid(err) {
		t.Errorf("updating the immutable ConfigMap's data: %v, want Invalid", err)
	}

	// The mutable Secret changes; then a new generation of the stack comes.
	setPass := func(pass string) {
		t.Helper()
		eventually(t, "writing the Secret's content", func() error {
			s, err := get(ctx, ns, "shop-db-pass", &corev1.Secret{})
			if err != nil {
				return err
			}
			s.Data["db_pass"] = []byte(pass)
			return k8sClient.Update(ctx, s)
		})
	}
	setPass("n3w")
	// The operator reads Secrets by name at the stack's reconcile (it may not list or watch
	// them): any change of the Stack makes it look.
	updateStack(t, ns, "shop", func(st *swarmv1.Stack) {
		if st.Annotations == nil {
			st.Annotations = map[string]string{}
		}
		st.Annotations["touched"] = "1"
	})
	const want = "secret db_pass (Secret shop-db-pass) changed after the stack deployed it: only updates to Labels are allowed: " +
		"a secret's content never changes once it is created; rotate it under a new name"
	waitStack(t, ns, "shop", "the stack reports the change", func(st *swarmv1.Stack) error {
		if c := degraded(st); c == nil || c.Status != metav1.ConditionTrue || c.Reason != controllers.ReasonFileChanged || !strings.Contains(c.Message, want) {
			return fmt.Errorf("degraded: %+v", c)
		}
		return nil
	})
	eventually(t, "a Warning event on the Stack", func() error {
		events := &corev1.EventList{}
		if err := k8sClient.List(ctx, events, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Name == "shop" && e.Type == corev1.EventTypeWarning && e.Reason == controllers.ReasonFileChanged && strings.Contains(e.Message, want) {
				return nil
			}
		}
		return fmt.Errorf("no such event among %d", len(events.Items))
	})
	updateStack(t, ns, "shop", func(st *swarmv1.Stack) { st.Spec.Services[0].Image = "nginx:2" })
	waitStack(t, ns, "shop", "the new generation is refused too", func(st *swarmv1.Stack) error {
		if c := degraded(st); c == nil || c.ObservedGeneration != st.Generation || c.Reason != controllers.ReasonFileChanged {
			return fmt.Errorf("degraded: %+v (generation %d)", c, st.Generation)
		}
		return nil
	})
	if svc, err := get(ctx, ns, "shop-web", &swarmv1.Service{}); err != nil || svc.Spec.Image != "nginx:1" {
		t.Errorf("the running service: %v %v, want it untouched on nginx:1", svc.Spec.Image, err)
	}

	// The content back as deployed: the stack deploys again.
	setPass("s3cret")
	deployed("the stack deploys again")
	eventually(t, "the service gets the new image", func() error {
		svc, err := get(ctx, ns, "shop-web", &swarmv1.Service{})
		if err != nil {
			return err
		}
		if svc.Spec.Image != "nginx:2" {
			return fmt.Errorf("image %s", svc.Spec.Image)
		}
		return nil
	})
}
