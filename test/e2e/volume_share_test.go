//go:build e2e && !realnodes

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestReplicasShareAClaim: three tasks of a service with a named volume kept shared (an
// external volume, one another service mounts: translate.AnnotationVolumes) all run (Swarm gives
// each node its own volume; the shared ReadWriteOnce claim is mountable on one node only, so the
// tasks are placed together instead of waiting for it on other nodes). A volume not kept shared
// is one claim per task: TestRealPerSlotVolumes.
func TestReplicasShareAClaim(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	svc := &swarmv1.Service{ObjectMeta: metav1ObjectMeta("shared", ns), Spec: swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](3),
		Mounts: []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "shared-data", Target: "/data"}}}}
	svc.Annotations = map[string]string{translate.AnnotationVolumes: `{"shared-data": {"shared": true}}`}
	create(t, svc)
	byNode := waitRunning(t, 90*time.Second, ns, "shared", 3)
	if len(byNode) != 1 {
		t.Errorf("tasks on %v, want all three on the node that holds the claim", byNode)
	}
	waitSvc(t, 30*time.Second, ns, "shared", "Honored names the shared claim", func(s *swarmv1.Service) error {
		if c := meta.FindStatusCondition(s.Status.Conditions, "Honored"); c == nil || !strings.Contains(c.Message, "the tasks share the claim shared-data") {
			return fmt.Errorf("Honored %+v", c)
		}
		return nil
	})
}
