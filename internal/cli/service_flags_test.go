package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/images"
	"github.com/kubeswarm/kubeswarm/internal/swarmsyntax"
)

func q(s string) *resource.Quantity        { v := resource.MustParse(s); return &v }
func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// TestServiceCreateFlags: examples in the spirit of docker's `service create` reference page,
// each parsed into the Service it writes.
func TestServiceCreateFlags(t *testing.T) {
	cases := []struct {
		name string
		args string
		want swarmv1.ServiceSpec
	}{
		{"image only", "--name redis redis:3.0.6", swarmv1.ServiceSpec{Image: "redis:3.0.6"}},
		{"replicas", "--replicas 5 --name redis redis:3.0.6", swarmv1.ServiceSpec{Image: "redis:3.0.6", Replicas: ptr.To[int32](5)}},
		{"command and args", "--name redis alpine ping docker.com", swarmv1.ServiceSpec{Image: "alpine", Command: []string{"ping", "docker.com"}}},
		{"flags after the image belong to the command", "--name redis alpine top -d 1", swarmv1.ServiceSpec{Image: "alpine", Command: []string{"top", "-d", "1"}}},
		{"secret by name", "--name redis --secret secret.json redis:3.0.6", swarmv1.ServiceSpec{Image: "redis:3.0.6", Secrets: []swarmv1.FileReference{{Source: "secret.json"}}}},
		{"secrets long form", "--name redis --secret source=ssh-key,target=ssh --secret source=app-key,target=app,uid=1000,gid=1001,mode=0400 redis:3.0.6",
			swarmv1.ServiceSpec{Image: "redis:3.0.6", Secrets: []swarmv1.FileReference{{Source: "ssh-key", Target: "ssh"}, {Source: "app-key", Target: "app", UID: "1000", GID: "1001", Mode: ptr.To[int32](0o400)}}}},
		{"config", "--name redis --config redis-conf redis:3.0.6", swarmv1.ServiceSpec{Image: "redis:3.0.6", Configs: []swarmv1.FileReference{{Source: "redis-conf"}}}},
		{"update delay and parallelism", "--replicas 10 --name redis --update-delay 10s --update-parallelism 2 redis:3.0.6",
			swarmv1.ServiceSpec{Image: "redis:3.0.6", Replicas: ptr.To[int32](10), UpdateConfig: &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](2), Delay: dur(10 * time.Second)}}},
		{"update config group", "--name web --update-failure-action rollback --update-monitor 20s --update-max-failure-ratio 0.25 --update-order start-first nginx",
			swarmv1.ServiceSpec{Image: "nginx", UpdateConfig: &swarmv1.UpdateConfig{FailureAction: "rollback", Monitor: dur(20 * time.Second), MaxFailureRatio: "0.25", Order: "start-first"}}},
		{"rollback config group", "--name web --rollback-parallelism 0 --rollback-delay 1s --rollback-failure-action continue --rollback-order start-first nginx",
			swarmv1.ServiceSpec{Image: "nginx", RollbackConfig: &swarmv1.UpdateConfig{Parallelism: ptr.To[int32](0), Delay: dur(time.Second), FailureAction: "continue", Order: "start-first"}}},
		{"env", "--name redis-2 --replicas 5 --env MYVAR=foo redis:3.0.6", swarmv1.ServiceSpec{Image: "redis:3.0.6", Replicas: ptr.To[int32](5), Env: []swarmv1.EnvVar{{Name: "MYVAR", Value: "foo"}}}},
		{"env twice, -e and commas kept", "--name redis -e MYVAR=foo --env MYVAR2=a,b redis", swarmv1.ServiceSpec{Image: "redis", Env: []swarmv1.EnvVar{{Name: "MYVAR", Value: "foo"}, {Name: "MYVAR2", Value: "a,b"}}}},
		{"hostname", "--name redis --hostname myredis redis:3.0.6", swarmv1.ServiceSpec{Image: "redis:3.0.6", Hostname: "myredis"}},
		{"labels", "--name redis --container-label com.example.foo=bar --label com.example.bar=baz -l solo redis",
			swarmv1.ServiceSpec{Image: "redis", ContainerLabels: map[string]string{"com.example.foo": "bar"}, Labels: map[string]string{"com.example.bar": "baz", "solo": ""}}},
		{"a label of any length, as written", "--name web --label traefik.http.middlewares.client.headers.customresponseheaders.Cache-control=no-store nginx",
			swarmv1.ServiceSpec{Image: "nginx", Labels: map[string]string{"traefik.http.middlewares.client.headers.customresponseheaders.Cache-control": "no-store"}}},
		{"named volume with labels", "--name my-service --replicas 3 --mount type=volume,source=my-volume,destination=/path/in/container,volume-label=color=red,volume-label=shape=round nginx:alpine",
			swarmv1.ServiceSpec{Image: "nginx:alpine", Replicas: ptr.To[int32](3), Mounts: []swarmv1.Mount{{Type: "volume", Source: "my-volume", Target: "/path/in/container", Volume: &swarmv1.VolumeOptions{Labels: map[string]string{"color": "red", "shape": "round"}}}}}},
		{"anonymous volume", "--name my-service --mount type=volume,destination=/path/in/container nginx:alpine",
			swarmv1.ServiceSpec{Image: "nginx:alpine", Mounts: []swarmv1.Mount{{Type: "volume", Target: "/path/in/container"}}}},
		{"volume is the default type, readonly", "--name s --mount src=data,dst=/data,ro nginx",
			swarmv1.ServiceSpec{Image: "nginx", Mounts: []swarmv1.Mount{{Type: "volume", Source: "data", Target: "/data", ReadOnly: true}}}},
		{"bind mount", "--name my-service --mount type=bind,source=/path/on/host,destination=/path/in/container,readonly=true nginx:alpine",
			swarmv1.ServiceSpec{Image: "nginx:alpine", Mounts: []swarmv1.Mount{{Type: "bind", Source: "/path/on/host", Target: "/path/in/container", ReadOnly: true}}}},
		{"tmpfs", "--name s --mount type=tmpfs,destination=/tmp,tmpfs-size=64M,tmpfs-mode=1770 nginx",
			swarmv1.ServiceSpec{Image: "nginx", Mounts: []swarmv1.Mount{{Type: "tmpfs", Target: "/tmp", Tmpfs: &swarmv1.TmpfsOptions{Size: q("64Mi"), Mode: ptr.To[int32](1770)}}}}},
		{"global", "--name myservice --mode global alpine top", swarmv1.ServiceSpec{Image: "alpine", Mode: "global", Command: []string{"top"}}},
		{"constraints", "--name redis-2 --constraint node.platform.os==linux --constraint node.labels.type==queue redis:7.4.1",
			swarmv1.ServiceSpec{Image: "redis:7.4.1", Placement: &swarmv1.Placement{Constraints: []string{"node.platform.os==linux", "node.labels.type==queue"}}}},
		{"role constraint", "--name nginx --constraint node.role==manager --replicas 2 --detach=true nginx",
			swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](2), Placement: &swarmv1.Placement{Constraints: []string{"node.role==manager"}}}},
		{"placement preference", "--replicas 9 --name redis-2 --placement-pref spread=node.labels.datacenter redis:7.4.1",
			swarmv1.ServiceSpec{Image: "redis:7.4.1", Replicas: ptr.To[int32](9), Placement: &swarmv1.Placement{Preferences: []swarmv1.PlacementPreference{{Spread: "node.labels.datacenter"}}}}},
		{"max replicas per node", "--name web --replicas=5 --replicas-max-per-node=2 nginx",
			swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](5), Placement: &swarmv1.Placement{MaxReplicasPerNode: ptr.To[int32](2)}}},
		{"reserve memory in docker units", "--reserve-memory=4GB --name=too-big nginx:alpine",
			swarmv1.ServiceSpec{Image: "nginx:alpine", Resources: &swarmv1.Resources{Reservations: &swarmv1.ResourceReservations{Memory: q("4Gi")}}}},
		{"limits", "--name web --limit-cpu 0.5 --limit-memory 512m --limit-pids 100 --reserve-cpu 0.25 --reserve-memory 50M nginx",
			swarmv1.ServiceSpec{Image: "nginx", Resources: &swarmv1.Resources{
				Limits:       &swarmv1.ResourceLimits{CPUs: q("500m"), Memory: q("512Mi"), Pids: ptr.To[int64](100)},
				Reservations: &swarmv1.ResourceReservations{CPUs: q("250m"), Memory: q("50Mi")}}}},
		{"fractional memory and whole cpus", "--name web --limit-cpu 2 --limit-memory 1.5g nginx",
			swarmv1.ServiceSpec{Image: "nginx", Resources: &swarmv1.Resources{Limits: &swarmv1.ResourceLimits{CPUs: q("2"), Memory: q("1536Mi")}}}},
		{"generic resource", "--name gpu --generic-resource nvidia.com/gpu=2 cuda",
			swarmv1.ServiceSpec{Image: "cuda", Resources: &swarmv1.Resources{Reservations: &swarmv1.ResourceReservations{GenericResources: []swarmv1.GenericResource{{Kind: "nvidia.com/gpu", Value: 2}}}}}},
		{"network", "--name my-web --network my-network nginx", swarmv1.ServiceSpec{Image: "nginx", Networks: []swarmv1.NetworkAttachment{{Name: "my-network"}}}},
		{"network with alias", "--name my-web --network name=my-network,alias=web1 nginx", swarmv1.ServiceSpec{Image: "nginx", Networks: []swarmv1.NetworkAttachment{{Name: "my-network", Aliases: []string{"web1"}}}}},
		{"publish long form", "--name my-web --publish published=8080,target=80 nginx",
			swarmv1.ServiceSpec{Image: "nginx", Ports: []swarmv1.PortConfig{{Published: 8080, Target: 80, Protocol: "tcp", Mode: "ingress"}}}},
		{"publish short form", "--replicas 3 --name web -p 8000:80 nginx",
			swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](3), Ports: []swarmv1.PortConfig{{Published: 8000, Target: 80, Protocol: "tcp", Mode: "ingress"}}}},
		{"publish target only", "--name web -p 80 nginx", swarmv1.ServiceSpec{Image: "nginx", Ports: []swarmv1.PortConfig{{Target: 80, Protocol: "tcp", Mode: "ingress"}}}},
		{"publish udp", "--name dns-cache -p 53:53/udp dnscache", swarmv1.ServiceSpec{Image: "dnscache", Ports: []swarmv1.PortConfig{{Published: 53, Target: 53, Protocol: "udp", Mode: "ingress"}}}},
		{"publish tcp and udp", "--name dns-cache -p 53:53 -p 53:53/udp dnscache", swarmv1.ServiceSpec{Image: "dnscache", Ports: []swarmv1.PortConfig{{Published: 53, Target: 53, Protocol: "tcp", Mode: "ingress"}, {Published: 53, Target: 53, Protocol: "udp", Mode: "ingress"}}}},
		{"publish host mode", "--name host-nginx --publish mode=host,published=8000,target=80 --replicas 2 nginx",
			swarmv1.ServiceSpec{Image: "nginx", Replicas: ptr.To[int32](2), Ports: []swarmv1.PortConfig{{Published: 8000, Target: 80, Protocol: "tcp", Mode: "host"}}}},
		{"publish range", "--name web -p 8080-8081:80-81 nginx",
			swarmv1.ServiceSpec{Image: "nginx", Ports: []swarmv1.PortConfig{{Published: 8080, Target: 80, Protocol: "tcp", Mode: "ingress"}, {Published: 8081, Target: 81, Protocol: "tcp", Mode: "ingress"}}}},
		{"healthcheck", "--name web --health-cmd 'curl -f http://localhost/' --health-interval 5s --health-timeout 2s --health-retries 3 --health-start-period 10s nginx",
			swarmv1.ServiceSpec{Image: "nginx", Healthcheck: &swarmv1.Healthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: dur(5 * time.Second), Timeout: dur(2 * time.Second), Retries: ptr.To[int32](3), StartPeriod: dur(10 * time.Second)}}},
		{"no healthcheck", "--name web --no-healthcheck nginx", swarmv1.ServiceSpec{Image: "nginx", Healthcheck: &swarmv1.Healthcheck{Disable: true}}},
		{"replicated job", "--name job --mode replicated-job --replicas 10 --max-concurrent 2 busybox echo hi",
			swarmv1.ServiceSpec{Image: "busybox", Mode: "replicated-job", Replicas: ptr.To[int32](10), MaxConcurrent: ptr.To[int32](2), Command: []string{"echo", "hi"}}},
		{"restart policy", "--name web --restart-condition on-failure --restart-delay 3s --restart-max-attempts 3 --restart-window 1m nginx",
			swarmv1.ServiceSpec{Image: "nginx", RestartPolicy: &swarmv1.RestartPolicy{Condition: "on-failure", Delay: dur(3 * time.Second), MaxAttempts: ptr.To[int32](3), Window: dur(time.Minute)}}},
		{"entrypoint, workdir, user", "--name web --entrypoint '/bin/sh -c' -w /app -u 1000:1000 --group 2000 alpine 'echo hi'",
			swarmv1.ServiceSpec{Image: "alpine", Entrypoint: []string{"/bin/sh", "-c"}, Command: []string{"echo hi"}, WorkingDir: "/app", User: "1000:1000", Groups: []string{"2000"}}},
		{"hosts and dns", "--name web --host myhost:10.0.0.1 --dns 8.8.8.8 --dns-search example.org --dns-option ndots:2 nginx",
			swarmv1.ServiceSpec{Image: "nginx", ExtraHosts: []swarmv1.HostEntry{{Hostname: "myhost", IP: "10.0.0.1"}}, DNS: []string{"8.8.8.8"}, DNSSearch: []string{"example.org"}, DNSOptions: []string{"ndots:2"}}},
		{"container options", "--name web --cap-add NET_ADMIN --cap-drop ALL --read-only --init -t --stop-grace-period 30s --stop-signal SIGTERM --sysctl net.core.somaxconn=1024 --ulimit nofile=1024:2048 --endpoint-mode dnsrr nginx",
			swarmv1.ServiceSpec{Image: "nginx", CapAdd: []string{"NET_ADMIN"}, CapDrop: []string{"ALL"}, ReadOnly: true, Init: ptr.To(true), TTY: true,
				StopGracePeriod: dur(30 * time.Second), StopSignal: "SIGTERM", Sysctls: map[string]string{"net.core.somaxconn": "1024"},
				Ulimits: []swarmv1.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}}, EndpointMode: "dnsrr"}},
		{"log driver", "--name web --log-driver syslog --log-opt tag=web nginx", swarmv1.ServiceSpec{Image: "nginx", Logging: &swarmv1.Logging{Driver: "syslog", Options: map[string]string{"tag": "web"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFactory(existingFiles()...)
			args, err := swarmsyntax.ShellSplit(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := run(t, f, append([]string{"service", "create", "-d"}, args...)...); err != nil {
				t.Fatalf("service create %s: %v", tc.args, err)
			}
			name := ""
			for i, a := range args {
				if a == "--name" {
					name = args[i+1]
				} else if strings.HasPrefix(a, "--name=") {
					name = strings.TrimPrefix(a, "--name=")
				}
			}
			got := getTestService(t, f, name)
			tc.want.Image = images.Tagged(tc.want.Image) // as the docker client sends it
			if diff := cmp.Diff(tc.want, got.Spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServiceCreateBadInput: docker's error meanings, and nothing written.
func TestServiceCreateBadInput(t *testing.T) {
	cases := []struct{ args, want string }{
		{"--replicas x nginx", `invalid argument "x" for "--replicas" flag`},
		{"--replicas -1 nginx", `invalid argument "-1" for "--replicas" flag`},
		{"--update-delay soon nginx", `invalid argument "soon" for "--update-delay" flag`},
		{"-p 300.0.0.1:80:80 nginx", `invalid IP address: 300.0.0.1`},
		{"-p 80:http nginx", `invalid argument "80:http" for "--publish" flag: invalid port: http`},
		{"--publish published=8000 nginx", `missing mandatory field "target"`},
		{"--publish mode=bridge,target=80 nginx", `invalid publish mode value (bridge)`},
		{"--mode global --replicas 2 nginx", "replicas can only be used with replicated or replicated-job mode"},
		{"--mode daemon nginx", `invalid replicated mode "daemon"`},
		{"--max-concurrent 2 nginx", "max-concurrent can only be used with replicated-job mode"},
		{"--mode replicated-job --update-delay 1s busybox", "update and rollback configuration is not supported for jobs"},
		{"--constraint node.color==red nginx", `invalid argument "node.color==red" for "--constraint" flag: node.color==red: each constraint must be KEY==VALUE`},
		{"--constraint NODE.ROLE==boss nginx", "node.role constraints compare with manager or worker"},
		{"--constraint 'node.labels.type==two words' nginx", "a VALUE without spaces"},
		{"--constraint node.role=manager nginx", "each constraint must be KEY==VALUE or KEY!=VALUE"},
		{"--limit-memory lots nginx", `invalid argument "lots" for "--limit-memory" flag`},
		{"--limit-cpu half nginx", `invalid argument "half" for "--limit-cpu" flag`},
		{"--name Web_1 nginx", `invalid argument "Web_1" for "--name" flag`},
		{"--mount type=bind,target=/x nginx", "source is required when specifying bind mount"},
		{"--mount source=x nginx", "target is required"},
		{"--mount type=tmpfs,source=x,target=/t nginx", "source must not be specified for tmpfs mounts"},
		{"--no-healthcheck --health-cmd true nginx", "--no-healthcheck conflicts with --health-* options"},
		{"--update-failure-action explode nginx", `invalid argument "explode" for "--update-failure-action" flag`},
		{"--rollback-failure-action rollback nginx", `invalid argument "rollback" for "--rollback-failure-action" flag`},
		{"--update-max-failure-ratio 2 nginx", `invalid argument "2" for "--update-max-failure-ratio" flag`},
		{"--user nobody nginx", `invalid argument "nobody" for "--user" flag`},
		{"--secret mode=0400 nginx", "source is required"},
		{"--endpoint-mode dnsrr -p 80:80 nginx", "port published with ingress mode can't be used with dnsrr mode"},
		{"-p 80:80 -p 80:81 nginx", "80/tcp: a published port may only be used once per protocol"},
		{"--restart-condition always nginx", `invalid argument "always" for "--restart-condition" flag`},
		{"--env-file /does/not/exist nginx", `invalid argument "/does/not/exist" for "--env-file" flag`},
		{"--placement-pref binpack=node.labels.x nginx", "only spread is supported"},
		{"--secret nope nginx", "secret not found: nope"},
		{"--config nope nginx", "config not found: nope"},
	}
	for _, tc := range cases {
		t.Run(tc.args, func(t *testing.T) {
			f := newTestFactory()
			args, _ := swarmsyntax.ShellSplit(tc.args)
			_, _, err := run(t, f, append([]string{"service", "create", "-d", "--name", "web"}, args...)...)
			if tc.args == "--name Web_1 nginx" {
				_, _, err = run(t, f, append([]string{"service", "create", "-d"}, args...)...)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want it to contain %q", err, tc.want)
			}
			list := &swarmv1.ServiceList{}
			if err := f.c.List(t.Context(), list); err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != 0 {
				t.Errorf("a failed create wrote %d services", len(list.Items))
			}
		})
	}
}

// existingFiles are the Secrets and ConfigMaps the examples refer to.
func existingFiles() []client.Object {
	var out []client.Object
	for _, n := range []string{"secret.json", "ssh-key", "app-key"} {
		out = append(out, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: "default"}})
	}
	return append(out, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "redis-conf", Namespace: "default"}})
}

// TestPublishHostIPIsIgnored: a host IP in --publish is ignored with docker's warning, the
// compose converter's answer too (Swarm's ingress listens on every address).
func TestPublishHostIPIsIgnored(t *testing.T) {
	f := newTestFactory()
	_, errOut, err := run(t, f, "service", "create", "-d", "--no-resolve-image", "--name", "web", "-p", "127.0.0.1:8080:80", "nginx")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("warning: ignoring IP-address (127.0.0.1:8080:80/tcp) service will listen on '0.0.0.0'\n", errOut); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	want := []swarmv1.PortConfig{{Target: 80, Published: 8080, Protocol: "tcp", Mode: swarmv1.PortModeIngress}}
	if diff := cmp.Diff(want, getTestService(t, f, "web").Spec.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}

// TestServiceCreateWarnsAboutRestartOfGlobal: what the operator reports in Honored for a global
// service under restart condition none is said before the service is created.
func TestServiceCreateWarnsAboutRestartOfGlobal(t *testing.T) {
	f := newTestFactory()
	_, errOut, err := run(t, f, "service", "create", "-d", "--no-resolve-image", "--name", "agent", "--mode", "global", "--restart-condition", "none", "nginx")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "--restart-condition: restartPolicy.condition=none: a global service's task that exits is started again on its node") {
		t.Errorf("warnings: %q", errOut)
	}
}

func TestServiceCreateWarnsAboutIgnoredFlags(t *testing.T) {
	f := newTestFactory()
	_, errOut, err := run(t, f, "service", "create", "-d", "--no-resolve-image", "--name", "web", "--ulimit", "nofile=10", "--log-driver", "syslog",
		"--restart-condition", "none", "--stop-signal", "SIGINT", "nginx")
	if err != nil {
		t.Fatal(err)
	}
	want := "warning: --ulimit is ignored: Kubernetes has no per-container ulimits\n" +
		"warning: --stop-signal is ignored: Kubernetes stops containers with the image's STOPSIGNAL\n" +
		"warning: --log-driver is ignored: Kubernetes keeps container logs itself\n"
	// (--restart-condition none is kept: no warning.)
	if diff := cmp.Diff(want, errOut); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if _, errOut, _ := run(t, f, "service", "create", "-d", "--name", "job", "--mode", "replicated-job", "--restart-condition", "none", "--no-resolve-image", "busybox"); errOut != "" {
		t.Errorf("a job's restart condition is honoured, yet: %q", errOut)
	}
}

// TestServiceImageIsPinned: as the docker client does, create and update --image pin the image
// to the digest its registry has (with the user's credentials), unless --no-resolve-image; an
// unreachable registry leaves the tag, with docker's warning.
func TestServiceImageIsPinned(t *testing.T) {
	const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	f := newTestFactory()
	f.registry = testRegistry{"nginx:latest": d1, "nginx:1.27": d2}
	tests := []struct {
		args      []string
		name      string
		want      string
		wantError string
	}{
		{args: []string{"service", "create", "-d", "--name", "a", "nginx"}, name: "a", want: "nginx:latest@" + d1},
		{args: []string{"service", "create", "-d", "--name", "b", "--no-resolve-image", "nginx"}, name: "b", want: "nginx:latest"},
		{args: []string{"service", "create", "-d", "--name", "c", "redis"}, name: "c", want: "redis:latest",
			wantError: "image redis:latest could not be accessed on a registry to record\nits digest. Each node will access redis:latest independently,\npossibly leading to different nodes running different\nversions of the image.\n"},
		{args: []string{"service", "update", "-d", "--image", "nginx:1.27", "a"}, name: "a", want: "nginx:1.27@" + d2},
		{args: []string{"service", "update", "-d", "--image", "nginx:1.27", "--no-resolve-image", "b"}, name: "b", want: "nginx:1.27"},
		{args: []string{"service", "update", "-d", "--replicas", "2", "a"}, name: "a", want: "nginx:1.27@" + d2},
	}
	for _, tt := range tests {
		_, errOut, err := run(t, f, tt.args...)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if got := getTestService(t, f, tt.name).Spec.Image; got != tt.want || errOut != tt.wantError {
			t.Errorf("%v: image %q, stderr %q; want %q, %q", tt.args, got, errOut, tt.want, tt.wantError)
		}
	}
}

// TestServiceCreateRefusesWhatTheOperatorRefuses: a spec the operator would mark InvalidSpec is
// refused before anything is written, in the operator's words (translate.Check).
func TestServiceCreateRefusesWhatTheOperatorRefuses(t *testing.T) {
	f := newTestFactory()
	_, _, err := run(t, f, "service", "create", "-d", "--no-resolve-image", "--name", "web", "--limit-memory", "50M", "--reserve-memory", "512m", "nginx")
	if err == nil || err.Error() != "resources: the memory reservation 512Mi is above the limit 50Mi" {
		t.Fatalf("err %v", err)
	}
	if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "web"}, &swarmv1.Service{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused service was written: %v", err)
	}
	if _, _, err := run(t, f, "service", "create", "-d", "--no-resolve-image", "--name", "web", "nginx"); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, f, "service", "update", "-d", "--reserve-memory", "1g", "--limit-memory", "10M", "web")
	if err == nil || !strings.Contains(err.Error(), "is above the limit") {
		t.Errorf("update: %v", err)
	}
}

// TestRestartDelayWarns: a restart delay the user sets is said to be the kubelet's back-off, by
// service create and service update alike (what Honored lists), and not where nothing restarts.
func TestRestartDelayWarns(t *testing.T) {
	const note = "warning: --restart-delay: restartPolicy.delay=3s: a task is restarted after the kubelet's back-off (10s, doubling up to 5m, reset after 10m of running), not after the delay\n"
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"create", []string{"service", "create", "-d", "--no-resolve-image", "--name", "web", "--restart-delay", "3s", "nginx"}, note},
		{"update", []string{"service", "update", "-d", "--restart-delay", "3s", "old"}, note},
		{"condition none restarts nothing", []string{"service", "create", "-d", "--no-resolve-image", "--name", "once", "--restart-condition", "none", "--restart-delay", "3s", "nginx"}, ""},
		{"delay not given", []string{"service", "create", "-d", "--no-resolve-image", "--name", "plain", "--restart-max-attempts", "2", "nginx"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newTestFactory(makeService("old").s)
			_, errOut, err := run(t, f, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, errOut); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
