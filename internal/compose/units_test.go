package compose

import (
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

func TestPorts(t *testing.T) {
	tests := []struct {
		name     string
		ports    []string // short syntax, parsed by compose-go
		long     []types.ServicePortConfig
		want     []swarmv1.PortConfig
		warnings []string
		err      string
	}{
		{
			name:  "published and target",
			ports: []string{"8080:80"},
			want:  []swarmv1.PortConfig{{Target: 80, Published: 8080, Protocol: "tcp", Mode: "ingress"}},
		},
		{
			name:  "target only",
			ports: []string{"9000"},
			want:  []swarmv1.PortConfig{{Target: 9000, Protocol: "tcp", Mode: "ingress"}},
		},
		{
			name:  "udp",
			ports: []string{"53:53/udp"},
			want:  []swarmv1.PortConfig{{Target: 53, Published: 53, Protocol: "udp", Mode: "ingress"}},
		},
		{
			name:  "sctp",
			ports: []string{"3868:3868/sctp"},
			want:  []swarmv1.PortConfig{{Target: 3868, Published: 3868, Protocol: "sctp", Mode: "ingress"}},
		},
		{
			name:  "ranges",
			ports: []string{"8000-8001:80-81"},
			want: []swarmv1.PortConfig{
				{Target: 80, Published: 8000, Protocol: "tcp", Mode: "ingress"},
				{Target: 81, Published: 8001, Protocol: "tcp", Mode: "ingress"},
			},
		},
		{
			name:  "a published range for one target, as docker",
			ports: []string{"7000-7001:70"},
			want: []swarmv1.PortConfig{
				{Target: 70, Published: 7000, Protocol: "tcp", Mode: "ingress"},
				{Target: 70, Published: 7001, Protocol: "tcp", Mode: "ingress"},
			},
		},
		{
			name:     "host IP, ignored with docker's warning",
			ports:    []string{"127.0.0.1:8080:80"},
			want:     []swarmv1.PortConfig{{Target: 80, Published: 8080, Protocol: "tcp", Mode: "ingress"}},
			warnings: []string{"ignoring IP-address (127.0.0.1:8080:80/tcp) service will listen on '0.0.0.0'"},
		},
		{
			name:  "unspecified host IP, no warning",
			ports: []string{"0.0.0.0:8080:80"},
			want:  []swarmv1.PortConfig{{Target: 80, Published: 8080, Protocol: "tcp", Mode: "ingress"}},
		},
		{
			name: "long syntax",
			long: []types.ServicePortConfig{{Target: 80, Published: "8080", Protocol: "TCP", Mode: "host"}, {Target: 443}},
			want: []swarmv1.PortConfig{
				{Target: 80, Published: 8080, Protocol: "tcp", Mode: "host"},
				{Target: 443, Protocol: "tcp", Mode: "ingress"},
			},
		},
		{name: "bad protocol", long: []types.ServicePortConfig{{Target: 80, Protocol: "icmp"}}, err: "ports[0]: invalid protocol"},
		{name: "bad mode", long: []types.ServicePortConfig{{Target: 80, Mode: "mesh"}}, err: "ports[0]: invalid publish mode"},
		{name: "no target", long: []types.ServicePortConfig{{Published: "80"}}, err: "ports[0]: target port 0"},
		{name: "published too large", long: []types.ServicePortConfig{{Target: 80, Published: "70000"}}, err: "ports[0]: invalid published port"},
		{name: "published not a number", long: []types.ServicePortConfig{{Target: 80, Published: "http"}}, err: "ports[0]: invalid published port"},
		{name: "reversed range", long: []types.ServicePortConfig{{Target: 80, Published: "90-80"}}, err: "ports[0]: invalid published port"},
		{name: "published twice", ports: []string{"80:80", "80:81"}, err: "80/tcp: " + swarmsyntax.MsgPublished},
		{name: "same port, two protocols", ports: []string{"53:53/tcp", "53:53/udp"}, want: []swarmv1.PortConfig{
			{Target: 53, Published: 53, Protocol: "tcp", Mode: "ingress"},
			{Target: 53, Published: 53, Protocol: "udp", Mode: "ingress"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.long
			for _, s := range tc.ports {
				p, err := types.ParsePortConfig(s)
				if err != nil {
					t.Fatal(err)
				}
				in = append(in, p...)
			}
			c := &serviceConverter{name: "web"}
			got := c.ports(in)
			c.validate(&swarmv1.ServiceSpec{Ports: got})
			if tc.err != "" {
				if len(c.errs) == 0 || !strings.Contains(c.errs[0].Error(), tc.err) {
					t.Fatalf("got errors %v, want %q", c.errs, tc.err)
				}
				return
			}
			if len(c.errs) > 0 {
				t.Fatalf("errors: %v", c.errs)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.warnings, c.warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNaming(t *testing.T) {
	objects := []struct{ stack, name, want string }{
		{"wp", "db_pass", "wp-db-pass"},
		{"wp", "mysql_vol", "wp-mysql-vol"},
		{"wp", "wordpress", "wp-wordpress"},
		{"wp", "DB_Pass", "wp-db-pass"},
		{"wp", "site.conf", "wp-site-conf"},
	}
	for _, tc := range objects {
		if got := swarmv1.StackObjectName(tc.stack, tc.name); got != tc.want {
			t.Errorf("swarmv1.StackObjectName(%q, %q) = %q, want %q", tc.stack, tc.name, got, tc.want)
		}
	}

	services := []struct{ stack, name, want, err string }{
		{stack: "wp", name: "wordpress", want: "wordpress"},
		{stack: "wp", name: "web_front", want: "web-front"},
		{stack: "wp", name: "api.v2", want: "api-v2"},
		{stack: "wp", name: "Web", want: "web"},
		{stack: "wp", name: "9lives", want: "9lives"},
		{stack: "wp", name: "web_", err: "cannot become a DNS label"},
		{stack: "wp", name: "_web", err: "cannot become a DNS label"},
		{stack: "wp", name: strings.Repeat("a", 53), err: "longer than 52"},
		{stack: strings.Repeat("s", 20), name: strings.Repeat("a", 43), err: "at most 63 characters"},
	}
	for _, tc := range services {
		got, err := serviceName(tc.stack, tc.name)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("serviceName(%q): got %q, %v; want error %q", tc.name, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("serviceName(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}

	stacks := map[string]bool{"wp": true, "my-stack": true, "a": true, "My_Stack": false, "1st": false, "": false, "stack.prod": false, strings.Repeat("s", 64): false}
	for stack, ok := range stacks {
		if err := ValidateStackName(stack); (err == nil) != ok {
			t.Errorf("ValidateStackName(%q) = %v, want ok=%v", stack, err, ok)
		}
	}

	externals := map[string]string{"registry-auth": "registry-auth", "my.secret": "my.secret", "DB_Pass": "db-pass", "vault_root": "vault-root"}
	for in, want := range externals {
		if got := externalName(in); got != want {
			t.Errorf("externalName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		add, drop         []string
		wantAdd, wantDrop []string
	}{
		{add: []string{"net_admin", "CAP_CHOWN", " sys_time "}, wantAdd: []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_TIME"}},
		{drop: []string{"all"}, wantDrop: []string{"ALL"}},
		{add: []string{"ALL", "NET_ADMIN"}, wantAdd: []string{"ALL"}},
		{add: []string{"NET_ADMIN"}, drop: []string{"NET_ADMIN", "MKNOD"}, wantAdd: []string{"CAP_NET_ADMIN"}, wantDrop: []string{"CAP_MKNOD"}},
	}
	for _, tc := range tests {
		add, drop := effectiveCapAddCapDrop(tc.add, tc.drop)
		if diff := cmp.Diff(tc.wantAdd, add); diff != "" {
			t.Errorf("add %v drop %v: capAdd (-want +got):\n%s", tc.add, tc.drop, diff)
		}
		if diff := cmp.Diff(tc.wantDrop, drop); diff != "" {
			t.Errorf("add %v drop %v: capDrop (-want +got):\n%s", tc.add, tc.drop, diff)
		}
	}
}

func TestPlainReferences(t *testing.T) {
	tests := map[string][]string{
		"${A}":               {"A"},
		"$A and $B_2":        {"A", "B_2"},
		"$$A":                nil,
		"${A:-x}":            nil,
		"${A:?msg} ${B}":     {"B"},
		"cost: $$5 ${PRICE}": {"PRICE"},
		"$":                  nil,
		"${":                 nil,
	}
	for in, want := range tests {
		if diff := cmp.Diff(want, plainReferences(in)); diff != "" {
			t.Errorf("plainReferences(%q) (-want +got):\n%s", in, diff)
		}
	}
}
