package controllers

import (
	"os"
	"testing"

	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestHealth computes what Flux (kstatus) and Argo CD (config/argocd/health.yaml, run with
// gopher-lua as Argo CD runs it) say of each state a Service or Stack is left in.
func TestHealth(t *testing.T) {
	cond := func(typ string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: 2}
	}
	ready := cond(swarmv1.ConditionReady, metav1.ConditionTrue, swarmv1.ReasonConverged, "3 of 3 tasks running")
	notDegraded := cond(swarmv1.ConditionDegraded, metav1.ConditionFalse, swarmv1.ReasonAsRequested, "Every object of the service is applied")
	spec := &swarmv1.ServiceSpec{Image: "nginx:1.27"}
	tests := []struct {
		name       string
		status     swarmv1.ServiceStatus
		wantKStat  status.Status
		wantArgo   string
		wantReason string // of Stalled, "" when not stalled
	}{
		{name: "ready", wantKStat: status.CurrentStatus, wantArgo: "Healthy", status: swarmv1.ServiceStatus{
			ObservedGeneration: 2, Conditions: []metav1.Condition{ready, notDegraded}}},
		{name: "spec not yet observed", wantKStat: status.InProgressStatus, wantArgo: "Progressing", status: swarmv1.ServiceStatus{
			ObservedGeneration: 1, Conditions: []metav1.Condition{ready, notDegraded}}},
		{name: "updating", wantKStat: status.InProgressStatus, wantArgo: "Progressing", status: swarmv1.ServiceStatus{
			ObservedGeneration: 2, UpdateStatus: &swarmv1.UpdateStatus{State: swarmv1.UpdateStateUpdating, Message: "update in progress"},
			Conditions: []metav1.Condition{notDegraded, cond(swarmv1.ConditionReady, metav1.ConditionFalse, swarmv1.ReasonTasksPending, "1 of 3 tasks running"),
				cond(swarmv1.ConditionProgressing, metav1.ConditionTrue, swarmv1.ReasonUpdating, "Tasks are being created or updated")}}},
		{name: "update paused", wantKStat: status.FailedStatus, wantArgo: "Degraded", wantReason: ReasonUpdatePaused, status: swarmv1.ServiceStatus{
			ObservedGeneration: 2, UpdateStatus: &swarmv1.UpdateStatus{State: swarmv1.UpdateStatePaused, Message: "update paused due to failure or early termination of task web.2"},
			Conditions: []metav1.Condition{notDegraded, cond(swarmv1.ConditionReady, metav1.ConditionFalse, swarmv1.ReasonTasksPending, "2 of 3 tasks running")}}},
		{name: "rolled back after a failed update", wantKStat: status.FailedStatus, wantArgo: "Degraded", wantReason: ReasonRolledBack, status: swarmv1.ServiceStatus{
			ObservedGeneration: 2, AppliedSpec: spec, UpdateStatus: &swarmv1.UpdateStatus{State: swarmv1.UpdateStateRollbackCompleted, Message: "rollback completed"},
			Conditions: []metav1.Condition{ready, notDegraded}}},
		{name: "rolled back on request", wantKStat: status.CurrentStatus, wantArgo: "Healthy", status: swarmv1.ServiceStatus{
			ObservedGeneration: 2, AppliedSpec: spec, PreviousSpec: spec, UpdateStatus: &swarmv1.UpdateStatus{State: swarmv1.UpdateStateRollbackCompleted, Message: "rollback completed"},
			Conditions: []metav1.Condition{ready, notDegraded}}},
		{name: "invalid spec, the old tasks still running", wantKStat: status.FailedStatus, wantArgo: "Degraded", wantReason: ReasonInvalidSpec, status: swarmv1.ServiceStatus{
			ObservedGeneration: 1, Conditions: []metav1.Condition{
				cond(swarmv1.ConditionReady, metav1.ConditionFalse, swarmv1.ReasonTasksPending, "3 of 3 tasks running"),
				cond(swarmv1.ConditionDegraded, metav1.ConditionTrue, ReasonInvalidSpec, "The spec cannot be applied, nothing was changed: bind mounts are not allowed")}}},
		{name: "port in use", wantKStat: status.FailedStatus, wantArgo: "Degraded", wantReason: ReasonPortInUse, status: swarmv1.ServiceStatus{
			Conditions: []metav1.Condition{cond(swarmv1.ConditionDegraded, metav1.ConditionTrue, ReasonPortInUse, "port 8080 is already in use by service e2e/web")}}},
		{name: "pending on no suitable node", wantKStat: status.InProgressStatus, wantArgo: "Progressing", status: swarmv1.ServiceStatus{
			ObservedGeneration: 2, Conditions: []metav1.Condition{notDegraded, cond(swarmv1.ConditionReady, metav1.ConditionFalse, swarmv1.ReasonTasksPending,
				"0 of 3 tasks running; 3 pending: no suitable node (0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.)")}}},
		{name: "waiting for a secret", wantKStat: status.InProgressStatus, wantArgo: "Progressing", status: swarmv1.ServiceStatus{
			ObservedGeneration: 1, Conditions: []metav1.Condition{cond(swarmv1.ConditionDegraded, metav1.ConditionTrue, ReasonMissingObject, "secret not found: db")}}},
		{name: "tasks refused by the namespace's Pod Security level", wantKStat: status.FailedStatus, wantArgo: "Degraded", wantReason: ReasonTasksRefused, status: swarmv1.ServiceStatus{
			ObservedGeneration: 2, Conditions: []metav1.Condition{notDegraded, cond(swarmv1.ConditionReady, metav1.ConditionFalse, ReasonTasksRefused,
				`0 of 1 tasks running; the tasks cannot be created: pods "web-5d9c7" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true`)}}},
		{name: "failed job", wantKStat: status.FailedStatus, wantArgo: "Degraded", wantReason: ReasonJobFailed, status: swarmv1.ServiceStatus{
			ObservedGeneration: 2, Conditions: []metav1.Condition{notDegraded, cond(swarmv1.ConditionReady, metav1.ConditionFalse, ReasonJobFailed, "task migrate.1 failed: exit code 1")}}},
	}
	argo := argoHealthScript(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &swarmv1.Service{TypeMeta: metav1.TypeMeta{APIVersion: swarmv1.GroupVersion.String(), Kind: "Service"},
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Generation: 2}, Status: *tt.status.DeepCopy()}
			setServiceHealth(svc, &svc.Status)
			checkHealth(t, argo, svc, tt.wantKStat, tt.wantArgo, tt.wantReason)
			if tt.wantReason != "" && tt.wantReason != ReasonUpdatePaused && tt.wantReason != ReasonRolledBack && tt.wantReason != ReasonJobFailed && tt.wantReason != ReasonTasksRefused {
				if c := findCondition(svc.Status.Conditions, swarmv1.ConditionReady); c == nil || c.Status != metav1.ConditionFalse {
					t.Errorf("a service stalled on its spec is Ready: %+v", c)
				}
			}
		})
	}
}

// TestStackHealth: a stack with a stalled service, or a name it cannot take, is Failed.
func TestStackHealth(t *testing.T) {
	argo := argoHealthScript(t)
	stalledSvc := swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "app-web"}, Status: swarmv1.ServiceStatus{Conditions: []metav1.Condition{
		{Type: swarmv1.ConditionStalled, Status: metav1.ConditionTrue, Reason: ReasonInvalidSpec, Message: "bind mounts are not allowed"}}}}
	tests := []struct {
		name       string
		conditions []metav1.Condition
		services   []swarmv1.Service
		wantKStat  status.Status
		wantArgo   string
		wantReason string
	}{
		{name: "ready", wantKStat: status.CurrentStatus, wantArgo: "Healthy", conditions: []metav1.Condition{
			{Type: swarmv1.ConditionReady, Status: metav1.ConditionTrue, Reason: swarmv1.ReasonConverged, Message: "Every service runs its desired tasks"}}},
		{name: "name conflict", wantKStat: status.FailedStatus, wantArgo: "Degraded", wantReason: swarmv1.ReasonNameConflict, conditions: []metav1.Condition{
			{Type: swarmv1.ConditionReady, Status: metav1.ConditionFalse, Reason: swarmv1.ReasonNameConflict, Message: "Service app-web exists and does not belong to this stack"},
			{Type: swarmv1.ConditionDegraded, Status: metav1.ConditionTrue, Reason: swarmv1.ReasonNameConflict, Message: "Service app-web exists and does not belong to this stack"}}},
		{name: "a stalled service", wantKStat: status.FailedStatus, wantArgo: "Degraded", wantReason: ReasonServiceStalled, services: []swarmv1.Service{stalledSvc}, conditions: []metav1.Condition{
			{Type: swarmv1.ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonServiceDegraded, Message: "web: bind mounts are not allowed"}}},
		{name: "tasks pending", wantKStat: status.InProgressStatus, wantArgo: "Progressing", conditions: []metav1.Condition{
			{Type: swarmv1.ConditionReady, Status: metav1.ConditionFalse, Reason: swarmv1.ReasonTasksPending, Message: "Not ready: web 1/3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &swarmv1.Stack{TypeMeta: metav1.TypeMeta{APIVersion: swarmv1.GroupVersion.String(), Kind: "Stack"},
				ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns", Generation: 1}, Status: swarmv1.StackStatus{ObservedGeneration: 1, Conditions: tt.conditions}}
			if stall := stackStall(st, &st.Status, tt.services); stall != nil {
				st.Status.Conditions = append(st.Status.Conditions, *stall)
			}
			checkHealth(t, argo, st, tt.wantKStat, tt.wantArgo, tt.wantReason)
		})
	}
}

func findCondition(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

func checkHealth(t *testing.T, argo string, obj runtime.Object, wantKStat status.Status, wantArgo, wantReason string) {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	res, err := status.Compute(u)
	if err != nil {
		t.Fatalf("kstatus: %v", err)
	}
	if res.Status != wantKStat {
		t.Errorf("kstatus: got %s (%s), want %s", res.Status, res.Message, wantKStat)
	}
	stalled := ""
	conds, _, _ := unstructured.NestedSlice(m, "status", "conditions")
	for _, c := range conds {
		if c := c.(map[string]any); c["type"] == swarmv1.ConditionStalled {
			stalled, _ = c["reason"].(string)
		}
	}
	if stalled != wantReason {
		t.Errorf("Stalled reason: got %q, want %q", stalled, wantReason)
	}
	health, msg := runArgoHealth(t, argo, m)
	if health != wantArgo {
		t.Errorf("Argo CD health: got %s (%s), want %s", health, msg, wantArgo)
	}
}

// argoHealthScript is the check config/argocd/health.yaml gives the Service kind (the Stack and
// Node keys are the same script).
func argoHealthScript(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../config/argocd/health.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct{ Data map[string]string }
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"Service", "Stack", "Node"} {
		if cm.Data["resource.customizations.health.swarm.kubeswarm.io_"+kind] == "" {
			t.Fatalf("config/argocd/health.yaml has no check for %s", kind)
		}
	}
	return cm.Data["resource.customizations.health.swarm.kubeswarm.io_Service"]
}

// runArgoHealth runs a health script as Argo CD does: obj is the object as a Lua table, and the
// script returns a table with status and message.
func runArgoHealth(t *testing.T, script string, obj map[string]any) (string, string) {
	t.Helper()
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		t.Fatalf("running the health script: %v", err)
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("the health script returned %v, not a table", L.Get(-1))
	}
	return ret.RawGetString("status").String(), ret.RawGetString("message").String()
}

func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		tbl := L.NewTable()
		for k, e := range v {
			tbl.RawSetString(k, toLua(L, e))
		}
		return tbl
	case []any:
		tbl := L.NewTable()
		for _, e := range v {
			tbl.Append(toLua(L, e))
		}
		return tbl
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	}
	return lua.LNil
}
