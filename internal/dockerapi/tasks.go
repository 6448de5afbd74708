package dockerapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/tasks"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// ToTasks are a service's pods seen as Swarm tasks. A StatefulSet's pods have their slot (their
// ordinal); a Deployment's have none: tasks.AssignSlots, the
// rule of `kubectl swarm service ps` and the visualizer, numbers them (oldest first, a task that
// is over leaving its slot to its replacement, and shown shut down in it; a replicated job's
// task by its completion index, from 0, a failed one whose slot was retried shut down). Up to
// date are the tasks of the newest template.
func ToTasks(svc *swarmv1.Service, spec swarm.ServiceSpec, pods []corev1.Pod, nodeIDs map[string]string) []swarm.Task {
	job, global := svc.Spec.Mode.IsJob(), svc.Spec.Mode.IsGlobal()
	pods, slots := tasks.Ordered(pods, global)
	newest := ""
	for i := range pods {
		if h := pods[i].Labels[translate.LabelTemplateHash]; h != "" {
			newest = h
		}
	}
	out := make([]swarm.Task, 0, len(pods))
	retried := tasks.Retried(pods)
	for i := range pods {
		p := &pods[i]
		state, since, msg := tasks.State(p)
		history := p.DeletionTimestamp != nil || (!job && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed)) || retried[tasks.Key(p)]
		t := swarm.Task{
			ID:        ID(p.UID),
			Meta:      swarm.Meta{Version: swarm.Version{Index: 1}, CreatedAt: p.CreationTimestamp.UTC(), UpdatedAt: since.UTC()},
			ServiceID: ID(svc.UID),
			NodeID:    nodeIDs[tasks.Node(p)],
			Status:    swarm.TaskStatus{Timestamp: since.UTC(), State: swarm.TaskState(state), Message: state, Err: msg},
			Spec:      spec.TaskTemplate,
			Slot:      slots[tasks.Key(p)],
		}
		t.Annotations.Labels = map[string]string{}
		if img := tasks.Image(p); img != "" {
			c := *t.Spec.ContainerSpec
			c.Image = img
			t.Spec.ContainerSpec = &c
		}
		switch {
		case history:
			t.DesiredState = swarm.TaskStateShutdown
		case job:
			t.DesiredState = swarm.TaskStateComplete
		default:
			t.DesiredState = swarm.TaskStateRunning
		}
		if h := p.Labels[translate.LabelTemplateHash]; h != "" && h != newest && !history {
			t.Annotations.Labels["kubeswarm.outdated"] = "true"
		}
		out = append(out, t)
	}
	return out
}

// allTasks lists every task, with the services by ID and the nodes' host names by ID that the
// filters of GET /tasks read.
func (s *Server) allTasks(ctx context.Context) ([]swarm.Task, map[string]*swarmv1.Service, map[string]string, error) {
	services, err := s.listServices(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	pods := &corev1.PodList{}
	if err := s.Client.List(ctx, pods, client.InNamespace(s.Namespace), client.HasLabels{translate.LabelService}); err != nil {
		return nil, nil, nil, fmt.Errorf("listing tasks: %w", err)
	}
	byService := map[string][]corev1.Pod{}
	for _, p := range pods.Items {
		byService[p.Labels[translate.LabelService]] = append(byService[p.Labels[translate.LabelService]], p)
	}
	nodeList, err := s.listNodes(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	nodeIDs, hosts := map[string]string{}, map[string]string{}
	for i := range nodeList {
		id := nodeID(&nodeList[i])
		nodeIDs[nodeList[i].Name] = id
		hosts[id] = ToDockerNode(&nodeList[i]).Description.Hostname
	}
	names, err := s.names(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	byID := map[string]*swarmv1.Service{}
	var out []swarm.Task
	for i := range services {
		svc := &services[i]
		byID[ID(svc.UID)] = svc
		spec := ToDocker(dockerName(svc), &svc.Spec, names)
		out = append(out, ToTasks(svc, spec, byService[svc.Name], nodeIDs)...)
	}
	return out, byID, hosts, nil
}

func (s *Server) taskList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	f, err := readFilters(r)
	if err != nil {
		return err
	}
	all, services, hosts, err := s.allTasks(ctx)
	if err != nil {
		return err
	}
	out := []swarm.Task{}
	for _, t := range all {
		svc := services[t.ServiceID]
		outdated := t.Annotations.Labels["kubeswarm.outdated"] == "true"
		t.Annotations.Labels = map[string]string{}
		if !f.any("id", func(v string) bool { return strings.HasPrefix(t.ID, v) }) ||
			!f.any("service", func(v string) bool {
				return v == t.ServiceID || v == dockerName(svc) || v == svc.Name || (len(v) < 25 && strings.HasPrefix(t.ServiceID, v))
			}) ||
			!f.any("node", func(v string) bool {
				host, known := hosts[t.NodeID]
				return v == t.NodeID || (known && (host == v || strings.HasPrefix(t.NodeID, v)))
			}) ||
			!f.any("desired-state", func(v string) bool {
				return v == string(t.DesiredState) || (v == "accepted" && t.DesiredState == swarm.TaskStateRunning)
			}) ||
			!f.any("_up-to-date", func(v string) bool {
				return v != "true" || (!outdated && !pendingSpec(svc) && t.DesiredState != swarm.TaskStateShutdown)
			}) ||
			!f.labels("label", svc.Spec.Labels) {
			continue
		}
		out = append(out, t)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) taskInspect(w http.ResponseWriter, r *http.Request) error {
	all, _, _, err := s.allTasks(r.Context())
	if err != nil {
		return err
	}
	t, ok, _ := match(all, r.PathValue("id"), func(x swarm.Task) string { return x.ID }, func(swarm.Task) string { return "" })
	if !ok {
		return notFound("task %s not found", r.PathValue("id"))
	}
	t.Annotations.Labels = map[string]string{}
	return writeJSON(w, http.StatusOK, t)
}
