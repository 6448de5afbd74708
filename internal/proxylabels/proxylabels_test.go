package proxylabels

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTargetPorts(t *testing.T) {
	labels := map[string]string{
		"traefik.http.routers.a.rule":                      "Host(`a.example.com`)",
		"traefik.http.routers.a.service":                   "a",
		"traefik.http.routers.b.rule":                      "Host(`b.example.com`)",
		"traefik.http.routers.b.service":                   "b",
		"traefik.http.services.a.loadbalancer.server.port": "8080",
		"traefik.http.services.b.loadbalancer.server.port": "80",
		"caddy":               "c.example.com",
		"caddy.reverse_proxy": "{{upstreams 8080}}",
	}
	if diff := cmp.Diff([]int32{80, 8080}, TargetPorts(labels)); diff != "" {
		t.Errorf("TargetPorts (-want +got):\n%s", diff)
	}
	if got := TargetPorts(map[string]string{"com.example.team": "a"}); got != nil {
		t.Errorf("TargetPorts of no proxy labels = %v, want none", got)
	}
}

// TestCheck: a host the API server would refuse in a route is refused before anything is
// written, naming the label; a key of any length is read.
func TestCheck(t *testing.T) {
	cases := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{name: "no proxy labels", labels: map[string]string{"com.example.team": "a"}},
		{
			name: "DNS names and a wildcard",
			labels: map[string]string{
				"traefik.http.routers.a.rule":                      "Host(`A.example.com`) || HostRegexp(`{sub:[a-z]+}.example.com`)",
				"traefik.http.services.a.loadbalancer.server.port": "80",
				"caddy":               "c.example.com",
				"caddy.reverse_proxy": "{{upstreams 8080}}",
			},
		},
		{
			name: "underscore in a Traefik host",
			labels: map[string]string{
				"traefik.http.routers.a.rule":                      "Host(`my_app.example.com`)",
				"traefik.http.services.a.loadbalancer.server.port": "80",
			},
			want: `label traefik.http.routers.a.rule: host "my_app.example.com" is not a DNS name (a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')); write a DNS name (lower-case letters, digits, '-' and '.'), or a HostRegexp of a wildcard first label`,
		},
		{
			name:   "IP address as a Caddy site",
			labels: map[string]string{"caddy_1": "10.0.0.1", "caddy_1.reverse_proxy": "{{upstreams 80}}"},
			want:   `label caddy_1: host "10.0.0.1" is an IP address, which a route's hostname cannot be; write a DNS name (lower-case letters, digits, '-' and '.'), or a HostRegexp of a wildcard first label`,
		},
		{
			name: "redirect to a host with a trailing dot",
			labels: map[string]string{
				"traefik.http.routers.a.rule":                                                 "Host(`a.example.com`)",
				"traefik.http.routers.a.middlewares":                                          "www",
				"traefik.http.middlewares.www.redirectregex.regex":                            "^https://a\\.example\\.com/(.*)",
				"traefik.http.middlewares.www.redirectregex.replacement":                      "https://www.example.com./${1}",
				"traefik.http.services.a.loadbalancer.server.port":                            "80",
				"traefik.http.middlewares.client.headers.customresponseheaders.Cache-control": "no-store",
			},
			want: `label traefik.http.middlewares.www.*: the redirect's host "www.example.com." is not a DNS name (a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')); redirect to a DNS name`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if err := Check(tc.labels); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}
