package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
)

// TestJobNotRewritten: the operator applies a job's Job once; the Job controller's status
// changes (here faked: envtest runs no Job controller) make it write nothing to the Job, whatever
// the API server defaulted in it (an Indexed Job, backoffLimitPerIndex, the task's slot from a
// downward-API field).
func TestJobNotRewritten(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		rp   *swarmv1.RestartPolicy
	}{
		{"unlimited", nil},
		{"max-attempts", &swarmv1.RestartPolicy{Condition: swarmv1.RestartOnFailure, MaxAttempts: ptr.To[int32](1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := newNamespace(t)
			svc := testutil.MakeService("batch", ns).Mode(swarmv1.ModeReplicatedJob).Replicas(3).Obj()
			svc.UID = ""
			svc.Spec.RestartPolicy = tc.rp
			if err := k8sClient.Create(ctx, svc); err != nil {
				t.Fatalf("creating: %v", err)
			}
			var job *batchv1.Job
			eventually(t, "the Job is created", func() (err error) {
				job, err = get(ctx, ns, "batch", &batchv1.Job{})
				return err
			})
			time.Sleep(time.Second) // the first status writes
			before := operatorWrites.mark()
			for i := range 3 {
				job, _ = get(ctx, ns, "batch", &batchv1.Job{})
				job.Status.Active = int32(i + 1)
				job.Status.StartTime = nil
				if err := k8sClient.Status().Update(ctx, job); err != nil {
					t.Fatalf("faking the Job's status: %v", err)
				}
				time.Sleep(300 * time.Millisecond)
			}
			time.Sleep(time.Second)
			var jobWrites []string
			for _, w := range operatorWrites.writesSince(before, "/namespaces/"+ns+"/") {
				if strings.Contains(w, "/jobs/") {
					jobWrites = append(jobWrites, w)
				}
			}
			if len(jobWrites) > 0 {
				t.Errorf("the operator wrote the Job again: %s", fmt.Sprint(jobWrites))
			}
		})
	}
}
