package routes

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"sigs.k8s.io/yaml"
)

var (
	testGateway = &Gateway{Namespace: "gateway", Name: "public"}
	testOwner   = metav1ac.OwnerReference().WithAPIVersion("swarm.kubeswarm.io/v1alpha1").WithKind("Service").WithName("web").WithUID("u1").WithController(true)
)

// specs renders the routes' names and specs as YAML, the way a reader checks them.
func specs(t *testing.T, r Routes) string {
	t.Helper()
	var b strings.Builder
	for _, hr := range r.HTTPRoutes {
		y, err := yaml.Marshal(hr.Spec)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("# " + *hr.Name + "\n" + string(y))
	}
	if r.Ingress != nil {
		y, err := yaml.Marshal(struct {
			Annotations map[string]string `json:"annotations,omitempty"`
			Spec        any               `json:"spec"`
		}{r.Ingress.Annotations, r.Ingress.Spec})
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("# Ingress " + *r.Ingress.Name + "\n" + string(y))
	}
	return b.String()
}

const parentWebsecure = `parentRefs:
- group: gateway.networking.k8s.io
  kind: Gateway
  name: public
  namespace: gateway
  sectionName: websecure
`

// backend is a rule's YAML up to its backend: the service web on port.
func backend(port int) string {
	return fmt.Sprintf("- backendRefs:\n  - group: \"\"\n    kind: Service\n    name: web\n    port: %d\n    weight: 1\n", port)
}

const parentAll = `parentRefs:
- group: gateway.networking.k8s.io
  kind: Gateway
  name: public
  namespace: gateway
`

func TestBuildHTTPRoutes(t *testing.T) {
	cases := []struct {
		name      string
		labels    map[string]string
		ports     []int32
		opts      Options
		want      string
		wantHosts []string
		wantNotes []string
	}{
		{
			// The example: the result app of dockersamples/example-voting-app behind
			// Traefik, its API under /api with the prefix stripped.
			name: "voting app result",
			labels: map[string]string{
				"traefik.enable":                                          "true",
				"traefik.http.routers.result.rule":                        "Host(`result.example.com`) && PathPrefix(`/api`)",
				"traefik.http.routers.result.entrypoints":                 "websecure",
				"traefik.http.routers.result.tls.certresolver":            "default",
				"traefik.http.services.result.loadbalancer.server.port":   "80",
				"traefik.http.routers.result.middlewares":                 "strip-api",
				"traefik.http.middlewares.strip-api.stripprefix.prefixes": "/api",
			},
			want: `# web-result
hostnames:
- result.example.com
` + parentWebsecure + `rules:
` + backend(80) + `  filters:
  - type: URLRewrite
    urlRewrite:
      path:
        replacePrefixMatch: /
        type: ReplacePrefixMatch
  matches:
  - path:
      type: PathPrefix
      value: /api
`,
			wantHosts: []string{"result.example.com"},
			wantNotes: []string{"router result: TLS ends at the Gateway's listener, whose certificate certresolver default does not make (cert-manager: annotate the Gateway with cert-manager.io/cluster-issuer=default)"},
		},
		{
			// Traefik's docs (routers, "rule"): alternatives of different hosts are routes of
			// their own, as a route's hostnames hold for all its rules.
			name: "or of hosts",
			labels: map[string]string{
				"traefik.http.routers.app.rule": "Host(`example.com`) || (Host(`example.org`) && Path(`/traefik`))",
			},
			ports: []int32{8080},
			opts:  Options{ExposedByDefault: true},
			want: `# web-app
hostnames:
- example.com
` + parentAll + `rules:
` + backend(8080) + `  matches:
  - path:
      type: PathPrefix
      value: /
# web-app-2
hostnames:
- example.org
` + parentAll + `rules:
` + backend(8080) + `  matches:
  - path:
      type: Exact
      value: /traefik
`,
			wantHosts: []string{"example.com", "example.org"},
		},
		{
			// Method, Header (v3) and Headers (v2), HeaderRegexp, Query: one rule per alternative.
			name: "method header query",
			labels: map[string]string{
				"traefik.enable":                                     "true",
				"traefik.http.routers.api.rule":                      "Host(`api.example.com`) && (Method(`GET`, `HEAD`) || Header(`X-Env`, `prod`) && Headers(`X-Team`, `a`) || HeaderRegexp(`User-Agent`, `^curl/`) || Query(`debug`, `1`))",
				"traefik.http.services.api.loadbalancer.server.port": "3000",
			},
			want: `# web-api
hostnames:
- api.example.com
` + parentAll + `rules:
` + backend(3000) + `  matches:
  - method: GET
    path:
      type: PathPrefix
      value: /
` + backend(3000) + `  matches:
  - method: HEAD
    path:
      type: PathPrefix
      value: /
` + backend(3000) + `  matches:
  - headers:
    - name: X-Env
      type: Exact
      value: prod
    - name: X-Team
      type: Exact
      value: a
    path:
      type: PathPrefix
      value: /
` + backend(3000) + `  matches:
  - headers:
    - name: User-Agent
      type: RegularExpression
      value: ^curl/
    path:
      type: PathPrefix
      value: /
` + backend(3000) + `  matches:
  - path:
      type: PathPrefix
      value: /
    queryParams:
    - name: debug
      type: Exact
      value: "1"
`,
			wantHosts: []string{"api.example.com"},
		},
		{
			// HostRegexp of a wildcard first label (v2 and v3 spellings); one that is not is
			// left out and reported.
			name: "host regexp",
			labels: map[string]string{
				"traefik.enable":                                        "true",
				"traefik.http.routers.tenant.rule":                      "HostRegexp(`{tenant:[a-z]+}.apps.example.com`) || HostRegexp(`^(www|api)\\.example\\.com$`)",
				"traefik.http.services.tenant.loadbalancer.server.port": "80",
			},
			want: `# web-tenant
hostnames:
- '*.apps.example.com'
` + parentAll + `rules:
` + backend(80) + `  matches:
  - path:
      type: PathPrefix
      value: /
`,
			wantHosts: []string{"*.apps.example.com"},
			wantNotes: []string{"label traefik.http.routers.tenant.rule: HostRegexp(`^(www|api)\\.example\\.com$`) cannot be expressed: only a wildcard first label before a fixed domain (*.example.com) can; that alternative is left out"},
		},
		{
			// swarmpit's stack behind the dockerswarm.rocks Traefik: an http router that
			// redirects to https, an https router with a certresolver, and labels that pick a
			// Traefik instance and network (nothing to say on Kubernetes).
			name: "swarmpit",
			labels: map[string]string{
				"traefik.enable":                                                   "true",
				"traefik.docker.network":                                           "traefik-public",
				"traefik.constraint-label":                                         "traefik-public",
				"traefik.http.routers.swarmpit-http.rule":                          "Host(`swarmpit.sys.example.com`)",
				"traefik.http.routers.swarmpit-http.entrypoints":                   "http",
				"traefik.http.routers.swarmpit-http.middlewares":                   "https-redirect",
				"traefik.http.middlewares.https-redirect.redirectscheme.scheme":    "https",
				"traefik.http.middlewares.https-redirect.redirectscheme.permanent": "true",
				"traefik.http.routers.swarmpit-https.rule":                         "Host(`swarmpit.sys.example.com`)",
				"traefik.http.routers.swarmpit-https.entrypoints":                  "https",
				"traefik.http.routers.swarmpit-https.tls":                          "true",
				"traefik.http.routers.swarmpit-https.service":                      "swarmpit",
				"traefik.http.services.swarmpit.loadbalancer.server.port":          "8080",
			},
			want: `# web-swarmpit-http
hostnames:
- swarmpit.sys.example.com
parentRefs:
- group: gateway.networking.k8s.io
  kind: Gateway
  name: public
  namespace: gateway
  sectionName: http
rules:
- filters:
  - requestRedirect:
      scheme: https
      statusCode: 301
    type: RequestRedirect
  matches:
  - path:
      type: PathPrefix
      value: /
# web-swarmpit-https
hostnames:
- swarmpit.sys.example.com
parentRefs:
- group: gateway.networking.k8s.io
  kind: Gateway
  name: public
  namespace: gateway
  sectionName: https
rules:
` + backend(8080) + `  matches:
  - path:
      type: PathPrefix
      value: /
`,
			wantHosts: []string{"swarmpit.sys.example.com"},
		},
		{
			// A portainer stack: basic auth has no route filter; it is reported, and the route
			// is made without it.
			name: "portainer basic auth",
			labels: map[string]string{
				"traefik.enable":                                           "true",
				"traefik.http.routers.portainer.rule":                      "Host(`portainer.example.com`)",
				"traefik.http.routers.portainer.middlewares":               "admin-auth,rate@file",
				"traefik.http.middlewares.admin-auth.basicauth.users":      "admin:$apr1$xyz",
				"traefik.http.services.portainer.loadbalancer.server.port": "9000",
			},
			want: `# web-portainer
hostnames:
- portainer.example.com
` + parentAll + `rules:
` + backend(9000) + `  matches:
  - path:
      type: PathPrefix
      value: /
`,
			wantHosts: []string{"portainer.example.com"},
			wantNotes: []string{
				"middleware admin-auth (basicauth) cannot be expressed by a route filter; requests pass without it",
				"middleware rate@file is defined outside the service's labels and cannot be expressed",
			},
		},
		{
			// addprefix after stripprefix, custom request and response headers (an empty value
			// removes the header), as Traefik's middleware docs show them.
			name: "addprefix and headers",
			labels: map[string]string{
				"traefik.enable":                                                              "true",
				"traefik.http.routers.legacy.rule":                                            "Host(`legacy.example.com`) && PathPrefix(`/app`)",
				"traefik.http.routers.legacy.middlewares":                                     "strip,add,hdr",
				"traefik.http.middlewares.strip.stripprefix.prefixes":                         "/other,/app",
				"traefik.http.middlewares.add.addprefix.prefix":                               "/legacy",
				"traefik.http.middlewares.hdr.headers.customrequestheaders.X-Script-Name":     "/app",
				"traefik.http.middlewares.hdr.headers.customrequestheaders.X-Forwarded-Proto": "",
				"traefik.http.middlewares.hdr.headers.customresponseheaders.X-Custom":         "value",
				"traefik.http.middlewares.hdr.headers.stsSeconds":                             "31536000",
				"traefik.http.services.legacy.loadbalancer.server.port":                       "8000",
			},
			want: `# web-legacy
hostnames:
- legacy.example.com
` + parentAll + `rules:
` + backend(8000) + `  filters:
  - requestHeaderModifier:
      remove:
      - X-Forwarded-Proto
      set:
      - name: X-Script-Name
        value: /app
    type: RequestHeaderModifier
  - responseHeaderModifier:
      set:
      - name: X-Custom
        value: value
    type: ResponseHeaderModifier
  - type: URLRewrite
    urlRewrite:
      path:
        replacePrefixMatch: /legacy
        type: ReplacePrefixMatch
  matches:
  - path:
      type: PathPrefix
      value: /app
`,
			wantHosts: []string{"legacy.example.com"},
			wantNotes: []string{"label traefik.http.middlewares.hdr.headers.stsSeconds is not expressed by a route filter"},
		},
		{
			// An exact path loses its stripped prefix through ReplaceFullPath; addprefix on a
			// rule without a path matches every path with PathPrefix /.
			name: "strip exact path, add prefix to all",
			labels: map[string]string{
				"traefik.enable":                                      "true",
				"traefik.http.routers.health.rule":                    "Host(`a.example.com`) && Path(`/api/health`)",
				"traefik.http.routers.health.middlewares":             "strip",
				"traefik.http.routers.all.rule":                       "Host(`b.example.com`)",
				"traefik.http.routers.all.middlewares":                "add",
				"traefik.http.middlewares.strip.stripprefix.prefixes": "/api",
				"traefik.http.middlewares.add.addprefix.prefix":       "/v1",
			},
			ports: []int32{80},
			want: `# web-all
hostnames:
- b.example.com
` + parentAll + `rules:
` + backend(80) + `  filters:
  - type: URLRewrite
    urlRewrite:
      path:
        replacePrefixMatch: /v1
        type: ReplacePrefixMatch
  matches:
  - path:
      type: PathPrefix
      value: /
# web-health
hostnames:
- a.example.com
` + parentAll + `rules:
` + backend(80) + `  filters:
  - type: URLRewrite
    urlRewrite:
      path:
        replaceFullPath: /health
        type: ReplaceFullPath
  matches:
  - path:
      type: Exact
      value: /api/health
`,
			wantHosts: []string{"a.example.com", "b.example.com"},
		},
		{
			// redirectregex www → apex keeping the path is a redirect filter; a regex that
			// rewrites the path is not, and is reported.
			name: "redirectregex",
			labels: map[string]string{
				"traefik.enable":                                               "true",
				"traefik.http.routers.www.rule":                                "Host(`www.example.com`)",
				"traefik.http.routers.www.middlewares":                         "to-apex",
				"traefik.http.middlewares.to-apex.redirectregex.regex":         `^https?://www\.example\.com/(.*)`,
				"traefik.http.middlewares.to-apex.redirectregex.replacement":   "https://example.com/${1}",
				"traefik.http.middlewares.to-apex.redirectregex.permanent":     "true",
				"traefik.http.routers.old.rule":                                "Host(`old.example.com`)",
				"traefik.http.routers.old.middlewares":                         "old-paths",
				"traefik.http.middlewares.old-paths.redirectregex.regex":       `^https://old\.example\.com/blog/(\d+)`,
				"traefik.http.middlewares.old-paths.redirectregex.replacement": "https://example.com/posts/${1}",
			},
			ports: []int32{80},
			want: `# web-old
hostnames:
- old.example.com
` + parentAll + `rules:
` + backend(80) + `  matches:
  - path:
      type: PathPrefix
      value: /
# web-www
hostnames:
- www.example.com
` + parentAll + `rules:
- filters:
  - requestRedirect:
      hostname: example.com
      scheme: https
      statusCode: 301
    type: RequestRedirect
  matches:
  - path:
      type: PathPrefix
      value: /
`,
			wantHosts: []string{"old.example.com", "www.example.com"},
			wantNotes: []string{"middleware old-paths (redirectregex): only a regex of a fixed scheme and host keeping the path (^https?://example\\.com/(.*)) can be expressed, not \"^https://old\\\\.example\\\\.com/blog/(\\\\d+)\""},
		},
		{
			// What a route cannot say is reported, naming the label; the rest is made.
			name: "refusals",
			labels: map[string]string{
				"traefik.enable":                                     "true",
				"traefik.http.routers.a.rule":                        "Host(`a.example.com`) && !Method(`POST`) || Host(`a.example.com`) && ClientIP(`10.0.0.0/8`) || Host(`a.example.com`) && Path(`/users/{id:[0-9]+}`) || Host(`a.example.com`) && Path(`/ok`)",
				"traefik.http.routers.a.priority":                    "10",
				"traefik.http.routers.b.rule":                        "Host(`b.example.com`",
				"traefik.tcp.routers.db.rule":                        "HostSNI(`*`)",
				"traefik.http.services.a.loadbalancer.server.port":   "80",
				"traefik.http.services.a.loadbalancer.sticky.cookie": "true",
			},
			want: `# web-a
hostnames:
- a.example.com
` + parentAll + `rules:
` + backend(80) + `  matches:
  - path:
      type: Exact
      value: /ok
`,
			wantHosts: []string{"a.example.com"},
			wantNotes: []string{
				"label traefik.tcp.routers.db.rule is not expressed by an HTTP route",
				"label traefik.http.services.a.loadbalancer.sticky.cookie is not expressed by an HTTP route",
				"label traefik.http.routers.a.priority: the gateway orders rules by how specific they are, not by priority",
				"label traefik.http.routers.a.rule: the negation !Method(…) cannot be expressed; that alternative is left out",
				"label traefik.http.routers.a.rule: the matcher ClientIP cannot be expressed; that alternative is left out",
				"label traefik.http.routers.a.rule: the path template Path(`/users/{id:[0-9]+}`) cannot be expressed; that alternative is left out",
				"label traefik.http.routers.b.rule: rule \"Host(`b.example.com`\": expected , or ) in Host at offset 20; no route was made for router b",
			},
		},
		{
			// The route's name is the router's after the service's; one too long for a
			// Kubernetes name is reported.
			name: "router name too long",
			labels: map[string]string{
				"traefik.enable": "true",
				"traefik.http.routers." + strings.Repeat("r", 250) + ".rule": "Host(`a.example.com`)",
			},
			ports:     []int32{80},
			wantNotes: []string{"router " + strings.Repeat("r", 250) + ": no route was made, its name web-" + strings.Repeat("r", 250) + " is not a Kubernetes name: must be no more than 253 characters"},
		},
		{
			name:   "traefik.enable=false",
			labels: map[string]string{"traefik.enable": "false", "traefik.http.routers.a.rule": "Host(`a.example.com`)"},
			ports:  []int32{80},
			opts:   Options{ExposedByDefault: true},
		},
		{
			// exposedByDefault=false (the usual Traefik setting): no traefik.enable, no route.
			name:   "not exposed by default",
			labels: map[string]string{"traefik.http.routers.a.rule": "Host(`a.example.com`)"},
			ports:  []int32{80},
		},
		{
			name:      "no port",
			labels:    map[string]string{"traefik.enable": "true", "traefik.http.routers.a.rule": "Host(`a.example.com`)"},
			ports:     []int32{80, 443},
			wantNotes: []string{"router a: no port; add traefik.http.services.NAME.loadbalancer.server.port"},
		},
		{
			// caddy-docker-proxy: a site and its reverse_proxy to the service's upstreams; a
			// second site (caddy_1) under a path with handle_path, which strips it.
			name: "caddy",
			labels: map[string]string{
				"caddy_0":                           "whoami.example.com, www.whoami.example.com",
				"caddy_0.reverse_proxy":             "{{upstreams 80}}",
				"caddy_1":                           "http://api.example.com",
				"caddy_1.handle_path":               "/api/*",
				"caddy_1.handle_path.reverse_proxy": "{{upstreams http 8080}}",
				"caddy_1.encode":                    "gzip",
			},
			want: `# web-caddy-0
hostnames:
- whoami.example.com
- www.whoami.example.com
` + parentAll + `rules:
` + backend(80) + `  matches:
  - path:
      type: PathPrefix
      value: /
# web-caddy-1
hostnames:
- api.example.com
` + parentAll + `rules:
` + backend(8080) + `  filters:
  - type: URLRewrite
    urlRewrite:
      path:
        replacePrefixMatch: /
        type: ReplacePrefixMatch
  matches:
  - path:
      type: PathPrefix
      value: /api
`,
			wantHosts: []string{"api.example.com", "whoami.example.com", "www.whoami.example.com"},
			wantNotes: []string{"label caddy_1.encode is not expressed by an HTTP route"},
		},
		{
			name:      "no gateway",
			labels:    map[string]string{"caddy": "a.example.com", "caddy.reverse_proxy": "{{upstreams 80}}"},
			opts:      Options{Kind: KindHTTPRoute},
			wantNotes: []string{"no Gateway is named for the HTTP routes (operator flag --gateway, namespace annotation swarm.kubeswarm.io/gateway, or the Stack's spec.gateway); no route was made"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts.Kind == "" {
				opts.Kind = KindHTTPRoute
				opts.Gateway = testGateway
			}
			got := Build(Service{Name: "web", Namespace: "ns", Labels: tc.labels, Ports: tc.ports,
				ObjectLabels: map[string]string{"app.kubernetes.io/managed-by": "kubeswarm"}, Owner: testOwner}, opts)
			if diff := cmp.Diff(tc.want, specs(t, got)); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantHosts, got.Hostnames); diff != "" {
				t.Errorf("hostnames (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantNotes, got.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			for _, r := range got.HTTPRoutes {
				if r.Namespace == nil || *r.Namespace != "ns" || len(r.OwnerReferences) != 1 || r.Labels["app.kubernetes.io/managed-by"] != "kubeswarm" {
					t.Errorf("route %s: namespace, owner or labels missing: %v %v %v", *r.Name, r.Namespace, r.OwnerReferences, r.Labels)
				}
			}
		})
	}
}

func TestBuildIngress(t *testing.T) {
	labels := map[string]string{
		"traefik.enable":                                          "true",
		"traefik.http.routers.result.rule":                        "Host(`result.example.com`) && PathPrefix(`/api`) || Host(`result.example.com`) && Path(`/`) && Method(`GET`)",
		"traefik.http.routers.result.entrypoints":                 "websecure",
		"traefik.http.routers.result.tls.certresolver":            "letsencrypt",
		"traefik.http.services.result.loadbalancer.server.port":   "80",
		"traefik.http.routers.result.middlewares":                 "strip-api",
		"traefik.http.middlewares.strip-api.stripprefix.prefixes": "/api",
	}
	got := Build(Service{Name: "web", Namespace: "ns", Labels: labels, Owner: testOwner},
		Options{Kind: KindIngress, IngressClassName: "nginx"})
	want := `# Ingress web
annotations:
  cert-manager.io/cluster-issuer: letsencrypt
spec:
  ingressClassName: nginx
  rules:
  - host: result.example.com
    http:
      paths:
      - backend:
          service:
            name: web
            port:
              number: 80
        path: /api
        pathType: Prefix
      - backend:
          service:
            name: web
            port:
              number: 80
        path: /
        pathType: Exact
  tls:
  - hosts:
    - result.example.com
    secretName: web-result-tls
`
	if diff := cmp.Diff(want, specs(t, got)); diff != "" {
		t.Errorf("Ingress (-want +got):\n%s", diff)
	}
	wantNotes := []string{
		"router result: middleware strip-api is not expressed by an Ingress; requests pass without it",
		"router result: an Ingress matches only hosts and paths; the Method, Header and Query matchers are left out",
	}
	if diff := cmp.Diff(wantNotes, got.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"result.example.com"}, got.Hostnames); diff != "" {
		t.Errorf("hostnames (-want +got):\n%s", diff)
	}
}

// TestLongLabelKeyRoutes: a Traefik label whose key is longer than any Kubernetes annotation name
// (a production stack's Cache-control response header) reaches the HTTPRoute: routes are read
// from the spec's labels as written.
func TestLongLabelKeyRoutes(t *testing.T) {
	labels := map[string]string{
		"traefik.http.routers.client.rule":                                              "Host(`app.example.com`)",
		"traefik.http.routers.client.middlewares":                                       "client",
		"traefik.http.middlewares.client.headers.customresponseheaders.Cache-control":   "no-store",
		"traefik.http.middlewares.client.headers.customresponseheaders.X-Frame-Options": "DENY",
		"traefik.http.services.client.loadbalancer.server.port":                         "80",
	}
	got := Build(Service{Name: "web", Namespace: "ns", Labels: labels, Owner: testOwner}, Options{Kind: KindHTTPRoute, Gateway: testGateway, ExposedByDefault: true})
	want := `# web-client
hostnames:
- app.example.com
` + parentAll + `rules:
` + backend(80) + `  filters:
  - responseHeaderModifier:
      set:
      - name: Cache-control
        value: no-store
      - name: X-Frame-Options
        value: DENY
    type: ResponseHeaderModifier
  matches:
  - path:
      type: PathPrefix
      value: /
`
	if diff := cmp.Diff(want, specs(t, got)); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if len(got.Notes) > 0 {
		t.Errorf("notes: %q, want none", got.Notes)
	}
}
