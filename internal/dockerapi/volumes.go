package dockerapi

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/moby/moby/api/types/volume"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeswarm/kubeswarm/internal/volumes"
)

// Volumes: docker's view of the namespace's claims (internal/volumes, `kubectl swarm volume`'s
// too): a stack's volume by docker's name (wp_mysql_vol), each claim of a per-slot volume by its
// own (data-web-1). docker volume ls and inspect; the plugin removes them (`kubectl swarm volume
// rm`).

// toVolume is a claim as docker shows a volume: its StorageClass as driver, its status (claim,
// phase, PersistentVolume) as what the driver says of it.
func toVolume(c *corev1.PersistentVolumeClaim) *volume.Volume {
	status := map[string]any{"Claim": c.Name, "Phase": string(c.Status.Phase)}
	if c.Spec.VolumeName != "" {
		status["PersistentVolume"] = c.Spec.VolumeName
	}
	return &volume.Volume{
		Name: volumes.Name(c), Driver: volumes.Driver(c), Labels: volumes.Labels(c), Scope: "local",
		CreatedAt: c.CreationTimestamp.UTC().Format(time.RFC3339), Options: map[string]string{}, Status: status,
	}
}

// inUse are the claims that a pod not finished mounts (docker's dangling=false).
func (s *Server) inUse(ctx context.Context) (map[string]bool, error) {
	pods := &corev1.PodList{}
	if err := s.Client.List(ctx, pods, client.InNamespace(s.Namespace)); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				out[v.PersistentVolumeClaim.ClaimName] = true
			}
		}
	}
	return out, nil
}

// volumeList is GET /volumes, with docker's filters name (a regular expression found in the
// name, as docker matches), driver, label and dangling.
func (s *Server) volumeList(w http.ResponseWriter, r *http.Request) error {
	f, err := readFilters(r)
	if err != nil {
		return err
	}
	var names []*regexp.Regexp
	for v := range f["name"] {
		re, err := regexp.Compile(v)
		if err != nil {
			return invalid("invalid filter 'name=%s': %v", v, err)
		}
		names = append(names, re)
	}
	claims, _, err := volumes.List(r.Context(), s.Client, s.Namespace)
	if err != nil {
		return err
	}
	var used map[string]bool
	if len(f["dangling"]) > 0 {
		if used, err = s.inUse(r.Context()); err != nil {
			return err
		}
	}
	out := volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}
	for _, c := range claims {
		v := toVolume(c)
		if len(names) > 0 && !matchesAny(names, v.Name) ||
			!f.any("driver", func(d string) bool { return d == v.Driver }) ||
			!f.labels("label", v.Labels) ||
			!f.any("dangling", func(d string) bool { return (d == "true" || d == "1") == !used[c.Name] }) {
			continue
		}
		out.Volumes = append(out.Volumes, *v)
	}
	return writeJSON(w, http.StatusOK, out)
}

func matchesAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// volumeInspect is GET /volumes/{name}: by docker's name or the claim's.
func (s *Server) volumeInspect(w http.ResponseWriter, r *http.Request) error {
	claims, _, err := volumes.List(r.Context(), s.Client, s.Namespace)
	if err != nil {
		return err
	}
	ref := strings.TrimSpace(r.PathValue("name"))
	c := volumes.Find(claims, ref)
	if c == nil {
		return notFound("get %s: no such volume", ref)
	}
	return writeJSON(w, http.StatusOK, toVolume(c))
}
