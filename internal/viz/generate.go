package viz

import (
	"fmt"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// Cluster is a generated cluster, for benchmarks and the browser test's load: nodes, their
// kubeswarm Nodes and task pods.
type Cluster struct {
	Now        time.Time
	KubeNodes  []*corev1.Node
	SwarmNodes []*swarmv1.Node
	Pods       []*corev1.Pod
	rng        *rand.Rand
	services   int
}

// GenerateCluster makes nodeCount nodes (the first three managers) and taskCount running tasks of
// services in a few namespaces and stacks, spread over the nodes; the same seed gives the same
// cluster.
func GenerateCluster(nodeCount, taskCount int, seed uint64) *Cluster {
	c := &Cluster{Now: time.Date(2026, 11, 25, 4, 0, 0, 0, time.UTC), rng: rand.New(rand.NewPCG(seed, 7)), services: max(4, taskCount/20)}
	for i := range nodeCount {
		name := fmt.Sprintf("worker%d", i-2)
		role := swarmv1.RoleWorker
		if i < 3 {
			name, role = fmt.Sprintf("manager%d", i+1), swarmv1.RoleManager
		}
		kn := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(fmt.Sprintf("uid-%d", i)),
				Labels: map[string]string{translate.NodeLabelRole: string(role), corev1.LabelHostname: name}},
			Status: corev1.NodeStatus{
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
				Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)}},
			},
		}
		sn := &swarmv1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: swarmv1.NodeSpec{Role: role, Availability: swarmv1.AvailabilityActive},
			Status: swarmv1.NodeStatus{Hostname: name, State: swarmv1.NodeReady, Role: role, Availability: swarmv1.AvailabilityActive}}
		if role == swarmv1.RoleManager {
			sn.Status.ManagerStatus = swarmv1.ManagerReachable
			if i == 0 {
				sn.Status.ManagerStatus = swarmv1.ManagerLeader
			}
		}
		c.KubeNodes = append(c.KubeNodes, kn)
		c.SwarmNodes = append(c.SwarmNodes, sn)
	}
	for i := range taskCount {
		c.Pods = append(c.Pods, c.pod(i))
	}
	return c
}

func (c *Cluster) pod(i int) *corev1.Pod {
	svc := i % c.services
	ns := fmt.Sprintf("team-%d", svc%4)
	stack := fmt.Sprintf("stack%d", svc%7)
	name := fmt.Sprintf("%s-svc%d", stack, svc)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: fmt.Sprintf("%s-5d8f7c-%05d", name, i),
			Labels:            map[string]string{translate.LabelService: name, translate.LabelStack: stack, translate.LabelManagedBy: translate.ManagedByValue},
			CreationTimestamp: metav1.NewTime(c.Now.Add(-time.Duration(c.rng.IntN(86400)) * time.Second)),
		},
		Spec: corev1.PodSpec{NodeName: c.KubeNodes[c.rng.IntN(len(c.KubeNodes))].Name,
			Containers: []corev1.Container{{Name: translate.ContainerName, Image: fmt.Sprintf("registry.example.com/%s:1.%d", name, svc%5)}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	return p
}

// Churn changes n random tasks as a rollout or a drain would: half move to another node
// (deleted and made anew), half change readiness; the clock moves on by a second.
func (c *Cluster) Churn(n int) {
	c.Now = c.Now.Add(time.Second)
	for range n {
		i := c.rng.IntN(len(c.Pods))
		old := c.Pods[i]
		if c.rng.IntN(2) == 0 {
			p := c.pod(i)
			p.Name = fmt.Sprintf("%s-r%d", p.Name, c.rng.Uint32())
			p.CreationTimestamp = metav1.NewTime(c.Now)
			c.Pods[i] = p
			continue
		}
		p := old.DeepCopy()
		if p.Status.Conditions[0].Status == corev1.ConditionTrue {
			p.Status.Conditions[0].Status = corev1.ConditionFalse
		} else {
			p.Status.Conditions[0].Status = corev1.ConditionTrue
		}
		c.Pods[i] = p
	}
}

// View builds the cluster's view.
func (c *Cluster) View(prev Slots) (View, Slots) {
	return Build(c.Now, c.KubeNodes, c.SwarmNodes, c.Pods, prev)
}
