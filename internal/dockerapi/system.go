package dockerapi

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Swarm", "active/manager")
	h.Set("Docker-Experimental", "false")
	h.Set("Builder-Version", "1")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte("OK"))
	}
	return nil
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "kubeswarm"},
		Version:       s.Version,
		APIVersion:    APIVersion,
		MinAPIVersion: MinAPIVersion,
		Os:            "linux",
		Arch:          runtime.GOARCH,
		GoVersion:     runtime.Version(),
		Components:    []system.ComponentVersion{{Name: "kubeswarm", Version: s.Version}},
	})
}

// cluster is the Swarm cluster object: the cluster's ID comes from the kube-system namespace,
// the settings are Swarm's defaults.
func (s *Server) cluster(ctx context.Context) (swarm.ClusterInfo, error) {
	ns := &corev1.Namespace{}
	if err := s.Client.Get(ctx, client.ObjectKey{Name: "kube-system"}, ns); err != nil {
		return swarm.ClusterInfo{}, fmt.Errorf("reading namespace kube-system: %w", err)
	}
	return swarm.ClusterInfo{
		ID:   ID(ns.UID),
		Meta: swarm.Meta{Version: swarm.Version{Index: 1}, CreatedAt: ns.CreationTimestamp.UTC(), UpdatedAt: ns.CreationTimestamp.UTC()},
		Spec: swarm.Spec{
			Annotations:   swarm.Annotations{Name: "default", Labels: map[string]string{}},
			Orchestration: swarm.OrchestrationConfig{TaskHistoryRetentionLimit: ptr.To(int64(5))},
			Raft:          swarm.RaftConfig{SnapshotInterval: 10000, KeepOldSnapshots: ptr.To(uint64(0)), LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1},
			Dispatcher:    swarm.DispatcherConfig{HeartbeatPeriod: 5 * time.Second},
			CAConfig:      swarm.CAConfig{NodeCertExpiry: 90 * 24 * time.Hour},
		},
		SubnetSize:   24,
		DataPathPort: 4789,
	}, nil
}

func (s *Server) swarmInspect(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cluster(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, swarm.Swarm{ClusterInfo: c})
}

func (s *Server) swarmAlready(http.ResponseWriter, *http.Request) error {
	return errorf(http.StatusServiceUnavailable, "This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm and join another one.")
}

func (s *Server) swarmLeave(http.ResponseWriter, *http.Request) error {
	return errorf(http.StatusServiceUnavailable, "kubeswarm: a Kubernetes cluster cannot leave its swarm; remove a node with kubectl")
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := s.cluster(ctx)
	if err != nil {
		return err
	}
	nodes, err := s.nodes(ctx)
	if err != nil {
		return err
	}
	in := swarm.Info{LocalNodeState: swarm.LocalNodeStateActive, ControlAvailable: true, Cluster: &c, Nodes: len(nodes)}
	var cpus int64
	var mem int64
	for _, n := range nodes {
		cpus += n.Description.Resources.NanoCPUs
		mem += n.Description.Resources.MemoryBytes
		if n.ManagerStatus == nil {
			continue
		}
		in.Managers++
		in.RemoteManagers = append(in.RemoteManagers, swarm.Peer{NodeID: n.ID, Addr: n.ManagerStatus.Addr})
		if n.ManagerStatus.Leader {
			in.NodeID, in.NodeAddr = n.ID, n.Status.Addr
		}
	}
	return writeJSON(w, http.StatusOK, system.Info{
		ID:              c.ID,
		Name:            "kubeswarm",
		ServerVersion:   s.Version,
		OperatingSystem: "Kubernetes (kubeswarm)",
		OSType:          "linux",
		Architecture:    runtime.GOARCH,
		NCPU:            int(cpus / 1e9),
		MemTotal:        mem,
		Swarm:           in,
		SystemTime:      s.Now().Format(time.RFC3339Nano),
		LoggingDriver:   "json-file",
		Labels:          []string{},
	})
}
