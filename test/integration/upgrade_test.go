package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/objects"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

func filesImage(d *appsv1.Deployment) string { return objects.RunningOf(&d.Spec.Template).FilesImage }

// TestOperatorUpgradeKeepsFilesImage: the install-files init container runs the operator's own
// image (--files-image). An operator restarted with another one, as an upgrade does, leaves the
// template of an existing Deployment as it is (no task restarts), here through a pass that
// scales the service; an update of the service's task template takes the new image.
func TestOperatorUpgradeKeepsFilesImage(t *testing.T) {
	const v1, v2 = "kubeswarm.test/manager:v1", "kubeswarm.test/manager:v2"
	opts := suiteOptions()
	opts.FilesImage = v1
	restartOperator(t, opts)
	ns := newNamespace(t)
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-pass", Namespace: ns}, Data: map[string][]byte{"db-pass": []byte("s3cret")}}
	if err := k8sClient.Create(ctx, secret); err != nil {
		t.Fatalf("creating the Secret: %v", err)
	}
	svc := testutil.MakeService("db", ns).Obj()
	svc.Spec.Secrets = []swarmv1.FileReference{{Source: "db-pass", UID: "999", GID: "999"}}
	before := createService(t, svc)
	if got := filesImage(before); got != v1 {
		t.Fatalf("install-files runs %q, want the operator's %q", got, v1)
	}

	opts.FilesImage = v2
	restartOperator(t, opts)
	mark := operatorWrites.mark()
	updateService(t, ns, "db", func(s *swarmv1.Service) { s.Spec.Replicas = ptr.To[int32](2) })
	after := waitDeployment(t, ns, "db", func(d *appsv1.Deployment) error {
		if r := ptr.Deref(d.Spec.Replicas, 1); r != 2 {
			return fmt.Errorf("%d replicas, want 2", r)
		}
		return nil
	})
	if diff := cmp.Diff(before.Spec.Template, after.Spec.Template); diff != "" {
		t.Errorf("the new operator changed the pod template of an unchanged task template (-before +after):\n%s", diff)
	}
	// One write: the scale. The new operator's first pass over the service wrote nothing.
	if writes := operatorWrites.writesSince(mark, "/namespaces/"+ns+"/deployments/"); len(writes) != 1 {
		t.Errorf("the new operator wrote the Deployment %d times, want once (the scale): %q", len(writes), writes)
	}

	updateService(t, ns, "db", func(s *swarmv1.Service) { s.Spec.Env = []swarmv1.EnvVar{{Name: "PGDATA", Value: "/data"}} })
	waitDeployment(t, ns, "db", func(d *appsv1.Deployment) error {
		if got := filesImage(d); got != v2 {
			return fmt.Errorf("install-files runs %q after an update, want the new operator's %q", got, v2)
		}
		return nil
	})
}

// TestOperatorUpgradeRunsNoJobAgain: Swarm runs a job again only when its spec changes. An
// operator that generates another template (here, run with --latest-pull-policy=IfNotPresent)
// leaves the Job that ran on a node as it is, and gives a node that joins later a Job of its own
// template; an update of the service runs the job again everywhere with the new template.
func TestOperatorUpgradeRunsNoJobAgain(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	label := "upgrade-" + ns
	addNode := func(name string) {
		createKubeNode(t, name, false, "10.9.0.1")
		updateKubeNode(t, name, func(n *corev1.Node) {
			n.Labels[label] = "yes"
			n.Spec.Taints = nil // the API server's not-ready taint, which no node controller removes here
		})
	}
	job := func(node string, check func(*batchv1.Job) error) *batchv1.Job {
		t.Helper()
		var j *batchv1.Job
		eventually(t, "the Job on "+node, func() (err error) {
			if j, err = get(ctx, ns, "prune-"+node, &batchv1.Job{}); err != nil {
				return err
			}
			return check(j)
		})
		return j
	}
	pullPolicy := func(want corev1.PullPolicy) func(*batchv1.Job) error {
		return func(j *batchv1.Job) error {
			if p := j.Spec.Template.Spec.Containers[0].ImagePullPolicy; p != want {
				return fmt.Errorf("pull policy %s, want %s", p, want)
			}
			return nil
		}
	}
	nodeA, nodeB := ns+"-a", ns+"-b"
	addNode(nodeA)
	svc := testutil.MakeService("prune", ns).Mode(swarmv1.ModeGlobalJob).Image("busybox").Constraint("node.labels." + label + "==yes").Obj()
	svc.UID = ""
	if err := k8sClient.Create(ctx, svc); err != nil {
		t.Fatalf("creating the Service: %v", err)
	}
	ran := job(nodeA, pullPolicy(corev1.PullAlways))

	opts := suiteOptions()
	opts.LatestPullPolicy = corev1.PullIfNotPresent
	restartOperator(t, opts)
	addNode(nodeB)
	job(nodeB, pullPolicy(corev1.PullIfNotPresent))
	if j := job(nodeA, pullPolicy(corev1.PullAlways)); j.UID != ran.UID {
		t.Errorf("the Job that ran on %s was made again by the new operator", nodeA)
	}
	waitService(t, ns, "prune", "the status counts both nodes' Jobs", func(s *swarmv1.Service) error {
		if s.Status.Replicas != "0/2 (0/2 completed)" {
			return fmt.Errorf("replicas %q", s.Status.Replicas)
		}
		return nil
	})

	updateService(t, ns, "prune", func(s *swarmv1.Service) { s.Spec.Env = []swarmv1.EnvVar{{Name: "A", Value: "1"}} })
	job(nodeA, func(j *batchv1.Job) error {
		if j.UID == ran.UID {
			return fmt.Errorf("not run again")
		}
		return pullPolicy(corev1.PullIfNotPresent)(j)
	})
}
