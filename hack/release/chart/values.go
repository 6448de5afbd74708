package chart

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// A value is one setting of values.yaml. values.yaml, values.schema.json, the README's table and
// the Deployment's args are all written from one list of them, so they cannot disagree.
type value struct {
	// path is the setting as --set names it (routes.mode).
	path string
	// typ is its JSON schema type; "" for a group of settings (routes).
	typ  string
	enum []string
	// flag is the operator's flag it sets, as kind says ("" when it sets none).
	flag string
	kind flagKind
	// doc is its comment in values.yaml; its first sentence is its description in the README.
	doc string
	// def is its default, read from the objects: the defaults render install.yaml's objects.
	def any
}

// flagKind says how a value turns into an operator flag.
type flagKind int

const (
	// text: --flag=VALUE when the value is not empty, absent otherwise (the operator's default).
	text flagKind = iota
	// on: --flag when the value is true.
	on
	// off: --flag=false when the value is false; the operator's own default is true.
	off
)

// values lists the chart's settings, their defaults read from the operator's Deployment dep and
// its container c (the image, replicas, resources, scheduling, and the flags in its args).
func values(dep *unstructured.Unstructured, c map[string]any) ([]value, error) {
	image, _ := c["image"].(string)
	repo, tag, digest := splitImage(image)
	pullPolicy, _ := c["imagePullPolicy"].(string)
	n, err := replicas(dep)
	if err != nil {
		return nil, err
	}
	pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")
	vals := []value{
		{path: "image", doc: "The operator's image."},
		{path: "image.repository", typ: "string", def: repo, doc: "Where the image is pulled from."},
		{path: "image.tag", typ: "string", def: tag,
			doc: "Empty: the chart's appVersion, when digest is empty too."},
		{path: "image.digest", typ: "string", def: digest,
			doc: "The image by digest (sha256:…): repository[:tag]@digest, the digest decides what runs.\nA release pins its image by digest; to run another tag, set digest to \"\"."},
		{path: "image.pullPolicy", typ: "string", def: pullPolicy, enum: []string{"", "Always", "IfNotPresent", "Never"},
			doc: "Empty: Kubernetes' default (IfNotPresent for a tag or digest)."},
		{path: "replicas", typ: "integer", def: n,
			doc: "Operator replicas, like Swarm's managers: one leads at a time (leaderElection), the\nothers take over when it fails."},
		{path: "leaderElection", doc: "Leader election through a Lease in the release's namespace."},
		{path: "leaderElection.enabled", typ: "boolean", flag: "--leader-elect", kind: on,
			doc: "Only the leader reconciles. false only with replicas: 1, else every replica would\nreconcile."},
		{path: "resources", typ: "object", def: nested(c, "resources"),
			doc: "The operator container's resources. Its GOMEMLIMIT is the memory request: at 1,000\nservices the live heap is about 30 MiB; add about 24 MiB of request per 1,000 services more."},
		{path: "nodeSelector", typ: "object", def: nested(pod, "nodeSelector"),
			doc: "Where the operator's pods may run."},
		{path: "tolerations", typ: "array", def: nested(pod, "tolerations"),
			doc: "The default tolerates control-plane nodes and Swarm managers that are drained or paused\n(a drained manager keeps managing). null: none."},
		{path: "affinity", typ: "object", def: nested(pod, "affinity"),
			doc: "The default prefers Swarm manager nodes, then control-plane nodes, one replica per node.\nnull: none."},
		{path: "podAnnotations", typ: "object", def: map[string]any{},
			doc: "Annotations added to the operator's pods."},
		{path: "nodeDownAfter", typ: "string", flag: "--node-down-after",
			doc: "How long a node's kubelet may go without renewing its Lease before kubeswarm marks the\nnode down and moves its replicated tasks (20s; -1s: never). Empty: the Lease's own duration."},
		{path: "nodeFailureTimeout", typ: "string", flag: "--node-failure-timeout",
			doc: "How long replicated tasks stay on an unreachable or not-ready node before moving.\nEmpty: the operator's default, 30s."},
		{path: "routes", doc: "What Traefik and caddy-docker-proxy labels of services become."},
		{path: "routes.mode", typ: "string", flag: "--routes", enum: []string{"", "auto", "httproute", "ingress", "off"},
			doc: "auto (HTTPRoutes when the cluster serves the Gateway API, else Ingresses), httproute,\ningress or off. Empty: auto."},
		{path: "routes.gateway", typ: "string", flag: "--gateway",
			doc: "Gateway (NAMESPACE/NAME) the HTTPRoutes attach to, unless a Stack or its namespace names\nanother."},
		{path: "routes.ingressClass", typ: "string", flag: "--ingress-class",
			doc: "IngressClass of the Ingresses. Empty: the cluster's default class."},
		{path: "routes.exposedByDefault", typ: "boolean", flag: "--routes-exposed-by-default", kind: off,
			doc: "Route a service with Traefik labels but no traefik.enable label (Traefik's\nproviders.docker.exposedByDefault)."},
		{path: "imageHealthchecks", typ: "boolean", flag: "--image-healthchecks", kind: off,
			doc: "Read the HEALTHCHECK of each service's image from its registry, which its tasks run as on\nSwarm. false: only a healthcheck written in the service counts."},
		{path: "registryMirrors", typ: "string", flag: "--registry-mirrors",
			doc: "Where the operator reads images' configs instead of their registry, as the nodes pull:\nREGISTRY=MIRROR[,...]. Empty: the images' own registries."},
		{path: "allowBindMounts", typ: "boolean", flag: "--allow-bind-mounts", kind: on,
			doc: "Allow bind mounts (hostPath volumes). Off by default: a host path gives a task access to\nthe node."},
		{path: "allowHostNetwork", typ: "boolean", flag: "--allow-host-network", kind: on,
			doc: "Allow services on the host network (hostNetwork). Off by default: the node's network gives\na task the node's ports and local services, outside NetworkPolicies."},
		{path: "nodePortRange", typ: "string", flag: "--node-port-range",
			doc: "The cluster's service node-port range (kube-apiserver --service-node-port-range), e.g.\n30000-32767. Empty: found by asking the API server."},
		{path: "ingressServiceType", typ: "string", flag: "--ingress-service-type", enum: []string{"", "NodePort", "LoadBalancer"},
			doc: "Service type of ingress-mode published ports. Empty: NodePort."},
		{path: "extraArgs", typ: "array", def: []any{},
			doc: "More operator flags, appended (--zap-log-level=debug)."},
		{path: "crds", doc: "The CRDs (Services, Stacks, Nodes) are templates, so that helm upgrade upgrades them."},
		{path: "crds.install", typ: "boolean", def: true,
			doc: "false when the CRDs are managed apart from the release."},
		{path: "crds.keep", typ: "boolean", def: true,
			doc: "helm uninstall leaves the CRDs (helm.sh/resource-policy: keep): deleting them would delete\nevery user's Services and Stacks, and with them their volume claims."},
	}
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	for i := range vals {
		if vals[i].flag == "" {
			continue
		}
		def, err := flagDefault(vals[i], args)
		if err != nil {
			return nil, err
		}
		vals[i].def = def
	}
	return vals, nil
}

// replicas reads the Deployment's replicas, an int64 or, decoded from JSON, a float64.
func replicas(dep *unstructured.Unstructured) (int64, error) {
	v, ok, _ := unstructured.NestedFieldNoCopy(dep.Object, "spec", "replicas")
	switch n := v.(type) {
	case int64:
		return n, nil
	case float64:
		if n == float64(int64(n)) {
			return int64(n), nil
		}
	case nil:
		if !ok {
			return 1, nil // Kubernetes' default
		}
	}
	return 0, fmt.Errorf("reading the replicas of Deployment %s: %v is not a number of replicas", dep.GetName(), v)
}

// flagDefault is v's default as the container's args set it, so that the defaults render them.
func flagDefault(v value, args []string) (any, error) {
	for _, a := range args {
		name, val, hasVal := strings.Cut(a, "=")
		if name != v.flag {
			continue
		}
		switch {
		case v.kind == on && !hasVal:
			return true, nil
		case v.kind == off && val == "false":
			return false, nil
		case v.kind == text && hasVal:
			return val, nil
		}
		return nil, fmt.Errorf("reading the default of %s: the Deployment's arg %q is not in the form the chart writes", v.path, a)
	}
	switch v.kind {
	case on:
		return false, nil
	case off:
		return true, nil
	}
	return "", nil
}

// nested is a deep copy of m[key] (the values never alias the objects), or an empty object or
// list of the right kind when m has none.
func nested(m map[string]any, key string) any {
	if v, ok := m[key]; ok && v != nil {
		return runtime.DeepCopyJSONValue(v)
	}
	if key == "tolerations" {
		return []any{}
	}
	return map[string]any{}
}

// splitImage splits an image reference into repository, tag and digest
// (registry.example:5000/kubeswarm/manager:v1@sha256:… → registry.example:5000/kubeswarm/manager,
// v1, sha256:…); the registry's port is not a tag.
func splitImage(ref string) (repo, tag, digest string) {
	repo = ref
	if i := strings.Index(repo, "@"); i >= 0 {
		repo, digest = repo[:i], repo[i+1:]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo, tag = repo[:i], repo[i+1:]
	}
	return repo, tag, digest
}

// valuesYAML is values.yaml: every setting under its comment, groups nested.
func valuesYAML(vals []value) ([]byte, error) {
	var b strings.Builder
	b.WriteString("# Default values of the kubeswarm chart: they install what dist/install.yaml installs.\n")
	for _, v := range vals {
		depth := strings.Count(v.path, ".")
		ind := strings.Repeat("  ", depth)
		key := v.path[strings.LastIndex(v.path, ".")+1:]
		if depth == 0 {
			b.WriteString("\n")
		}
		for l := range strings.SplitSeq(v.doc, "\n") {
			if l != "" {
				fmt.Fprintf(&b, "%s# %s\n", ind, l)
			}
		}
		if v.typ == "" {
			fmt.Fprintf(&b, "%s%s:\n", ind, key)
			continue
		}
		y, err := yaml.Marshal(v.def)
		if err != nil {
			return nil, fmt.Errorf("writing the default of %s: %w", v.path, err)
		}
		s := strings.TrimSuffix(string(y), "\n")
		if !strings.Contains(s, "\n") {
			fmt.Fprintf(&b, "%s%s: %s\n", ind, key, s)
			continue
		}
		fmt.Fprintf(&b, "%s%s:\n", ind, key)
		for l := range strings.SplitSeq(s, "\n") {
			fmt.Fprintf(&b, "%s  %s\n", ind, l)
		}
	}
	return []byte(b.String()), nil
}

// schema is values.schema.json: helm checks values against it before rendering, so a misspelt
// setting (replica: 1) or an unknown routes mode fails the install instead of being ignored.
func schema(vals []value) ([]byte, error) {
	root := map[string]any{
		"$schema": "https://json-schema.org/draft-07/schema#",
		"type":    "object",
	}
	objects := map[string]map[string]any{"": root}
	for _, v := range vals {
		parent := objects[v.path[:max(strings.LastIndex(v.path, "."), 0)]]
		s := map[string]any{}
		if v.typ == "" {
			s["type"] = "object"
			objects[v.path] = s
		} else {
			s["type"] = v.typ
			if v.enum != nil {
				s["enum"] = v.enum
			}
		}
		if v.doc != "" {
			s["description"] = firstSentence(v.doc)
		}
		props, _ := parent["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
			parent["properties"] = props
			parent["additionalProperties"] = false
		}
		props[v.path[strings.LastIndex(v.path, ".")+1:]] = s
	}
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("writing values.schema.json: %w", err)
	}
	return append(b, '\n'), nil
}

// firstSentence is doc up to its first ". ", on one line.
func firstSentence(doc string) string {
	doc = strings.ReplaceAll(doc, "\n", " ")
	if i := strings.Index(doc, ". "); i >= 0 {
		return doc[:i+1]
	}
	return doc
}

// valuesTable is the README's table of settings; objects and lists (the affinity) are left to
// values.yaml.
func valuesTable(vals []value) (string, error) {
	var b strings.Builder
	b.WriteString("| Value | Flag | Default | Description |\n|---|---|---|---|\n")
	for _, v := range vals {
		if v.typ == "" {
			continue
		}
		d, err := json.Marshal(v.def)
		if err != nil {
			return "", fmt.Errorf("writing the default of %s: %w", v.path, err)
		}
		def := "`" + string(d) + "`"
		if (v.typ == "object" || v.typ == "array") && len(d) > len("{}") {
			def = "see values.yaml"
		}
		flag := ""
		if v.flag != "" {
			flag = "`" + v.flag + "`"
		}
		desc := strings.ReplaceAll(strings.ReplaceAll(v.doc, "\n", " "), "|", `\|`)
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.path, flag, def, desc)
	}
	return b.String(), nil
}
