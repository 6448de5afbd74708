package objects

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
	"github.com/kubeswarm/kubeswarm/internal/files"
	"github.com/kubeswarm/kubeswarm/internal/testutil"
	"github.com/kubeswarm/kubeswarm/internal/translate"
)

// TestCopyUpDecisions: which mounts the copy-up init container fills (docker's CopyData: every
// volume mount unless nocopy), and that it needs the operator's image.
func TestCopyUpDecisions(t *testing.T) {
	withImage := wide
	withImage.FilesImage = "kubeswarm.test/manager:1"
	withImage.AllowBindMounts = true
	vol := func(source, target string, o *swarmv1.VolumeOptions) swarmv1.Mount {
		return swarmv1.Mount{Type: swarmv1.MountVolume, Source: source, Target: target, Volume: o}
	}
	tests := []struct {
		name      string
		mounts    []swarmv1.Mount
		opts      translate.Options
		wantItems []string // copy-up's arguments; nil: no init containers
		wantNote  string
	}{
		{name: "a named volume is filled", opts: withImage,
			mounts:    []swarmv1.Mount{vol("html", "/usr/share/nginx/html/", nil)},
			wantItems: []string{"/usr/share/nginx/html=/kubeswarm/volumes/html"}}, // each slot's claim
		{name: "nocopy is not filled", opts: withImage,
			mounts: []swarmv1.Mount{vol("html", "/usr/share/nginx/html", &swarmv1.VolumeOptions{NoCopy: true})}},
		{name: "an anonymous volume is filled, binds and tmpfs are not", opts: withImage,
			mounts: []swarmv1.Mount{
				{Type: swarmv1.MountBind, Source: "/srv", Target: "/srv"},
				{Type: swarmv1.MountTmpfs, Target: "/tmp"},
				vol("", "/var/cache", nil),
			},
			wantItems: []string{"/var/cache=/kubeswarm/volumes/mount-2"}},
		{name: "a target with dollars is escaped", opts: withImage,
			mounts:    []swarmv1.Mount{vol("d", "/data/$(X)", nil)},
			wantItems: []string{"/data/$$(X)=/kubeswarm/volumes/d"}},
		{name: "a read-only host directory is not filled", opts: withImage,
			mounts: []swarmv1.Mount{vol("d", "/data", &swarmv1.VolumeOptions{DriverOptions: map[string]string{"type": "none", "o": "bind,ro", "device": "/srv/d"}})}},
		{name: "without the operator's image the volume starts empty, said in Honored", opts: wide,
			mounts:   []swarmv1.Mount{vol("html", "/usr/share/nginx/html", nil)},
			wantNote: "mounts[0]: a new volume at /usr/share/nginx/html starts empty, not filled with the image's files there: the operator has no image of its own to fill it with (manager --files-image)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Obj()
			svc.Spec.Image = "nginx:1.27"
			svc.Spec.Mounts = tt.mounts
			got := build(t, svc, tt.opts)
			spec := podSpec(got)
			var items []string
			var names []string
			for _, c := range spec.InitContainers {
				names = append(names, *c.Name)
				if *c.Name == CopyUpContainer {
					items = c.Args
					if *c.Image != "nginx:1.27" {
						t.Errorf("copy-up runs %s, not the task's image", *c.Image)
					}
				}
				if *c.Name == CopyToolsContainer && *c.Image != tt.opts.FilesImage {
					t.Errorf("copy-tools runs %s, not the operator's image", *c.Image)
				}
			}
			if diff := cmp.Diff(tt.wantItems, items); diff != "" {
				t.Errorf("copy-up arguments (-want +got):\n%s", diff)
			}
			if want := []string{CopyToolsContainer, CopyUpContainer}; tt.wantItems != nil && !slices.Equal(names, want) {
				t.Errorf("init containers %v, want %v", names, want)
			}
			if tt.wantItems == nil && len(names) > 0 {
				t.Errorf("init containers %v, want none", names)
			}
			if tt.wantNote != "" && !slices.Contains(got.Notes, tt.wantNote) {
				t.Errorf("notes %q, want %q", got.Notes, tt.wantNote)
			}
		})
	}
}

// TestCopyToolsImageKept: an operator upgrade keeps the copy-tools image of the running
// template, as it keeps install-files' (Build), so it replaces no task.
func TestCopyToolsImageKept(t *testing.T) {
	svc := testutil.MakeService("web", "n").Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "html", Target: "/html"}).Obj()
	old := wide
	old.FilesImage = "kubeswarm.test/manager:1"
	before := build(t, svc, old)
	live := templates(t, before)
	upgraded := old
	upgraded.FilesImage = "kubeswarm.test/manager:2"
	after, err := Build(svc, Inputs{Running: RunningOf(&live[0])}, upgraded)
	if err != nil {
		t.Fatal(err)
	}
	if after.TemplateHash != before.TemplateHash {
		t.Errorf("the upgrade changed the template: %s -> %s", before.TemplateHash, after.TemplateHash)
	}
	if img := *podSpec(after).InitContainers[0].Image; !strings.HasSuffix(img, ":1") {
		t.Errorf("copy-tools image %s, want the running one", img)
	}
}

// TestLocalVolumeDevices: docker's local driver binding a host directory is a hostPath under
// the policy of bind mounts; over SMB it is refused before anything is written.
func TestLocalVolumeDevices(t *testing.T) {
	bind := map[string]string{"type": "none", "o": "bind", "device": "/srv/data"}
	allowed := wide
	allowed.AllowBindMounts = true
	tests := []struct {
		name     string
		opts     map[string]string
		allow    bool
		wantPath string
		wantErr  string
	}{
		{name: "a bind device is the host directory", opts: bind, allow: true, wantPath: "/srv/data"},
		{name: "a bind device without --allow-bind-mounts", opts: bind,
			wantErr: "mounts[0]: volume data binds the host directory /srv/data, which is not allowed: the operator runs with --allow-bind-mounts=false; use a volume without driver options, or ask the cluster admin to allow host paths"},
		{name: "an SMB share", allow: true, opts: map[string]string{"type": "cifs", "device": "//nas/share", "o": "username=u"},
			wantErr: "mounts[0]: a cifs volume (an SMB share) has no Kubernetes equivalent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := wide
			if tt.allow {
				opts = allowed
			}
			svc := testutil.MakeService("s", "n").Mount(swarmv1.Mount{Type: swarmv1.MountVolume, Source: "data", Target: "/data",
				Volume: &swarmv1.VolumeOptions{DriverOptions: tt.opts}}).Obj()
			got, err := Build(svc, Inputs{}, opts)
			_, checkErr := translate.Check(svc)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(tt.wantErr, "cifs") && checkErr == nil {
					t.Errorf("the writers' check accepts an SMB share")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v := podSpec(got).Volumes[0]
			if tt.wantPath != "" && (v.HostPath == nil || *v.HostPath.Path != tt.wantPath) {
				t.Errorf("volume %+v, want hostPath %s", v, tt.wantPath)
			}
		})
	}
}

// TestTemplateNotes: what Honored says of templated files the tasks cannot fully get.
func TestTemplateNotes(t *testing.T) {
	withImage := wide
	withImage.FilesImage = "kubeswarm.test/manager:1"
	in := Inputs{TemplatedConfigs: map[string]bool{"conf": true}, SlotTemplates: map[string]bool{"conf": true}}
	slot := "configs[0]: {{.Task.Slot}} in the template conf is empty: the service's tasks have no slots on Kubernetes"
	raw := "configs[0]: the template conf is delivered unexpanded: the operator has no image of its own to render it with (manager --files-image)"
	tests := []struct {
		name string
		mode swarmv1.ServiceMode
		in   Inputs
		opts translate.Options
		want []string
	}{
		{name: "a replicated task has no slot", mode: swarmv1.ModeReplicated, in: in, opts: withImage, want: []string{slot}},
		{name: "a global task's slot is its node", mode: swarmv1.ModeGlobal, in: in, opts: withImage},
		{name: "a replicated job's task slot is its index", mode: swarmv1.ModeReplicatedJob, in: in, opts: withImage},
		{name: "a template without the slot", mode: swarmv1.ModeReplicated, in: Inputs{TemplatedConfigs: in.TemplatedConfigs}, opts: withImage},
		{name: "without the operator's image", mode: swarmv1.ModeGlobal, in: in, opts: wide, want: []string{raw}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := testutil.MakeService("web", "n").Mode(tt.mode).Obj()
			svc.Spec.Configs = []swarmv1.FileReference{{Source: "conf", Target: "/etc/conf"}}
			got, err := Build(svc, tt.in, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTemplateSlot: the task's slot reaches a templated file's renderer where the task has one
// (translate.SlotField): a per-slot service's ordinal, a replicated job's completion index.
func TestTemplateSlot(t *testing.T) {
	withImage := wide
	withImage.FilesImage = "kubeswarm.test/manager:1"
	in := Inputs{TemplatedConfigs: map[string]bool{"conf": true}, SlotTemplates: map[string]bool{"conf": true}, Nodes: []string{"worker1"}}
	tests := []struct {
		name      string
		svc       *swarmv1.Service
		wantField string
	}{
		{name: "a per-slot service", svc: testutil.MakeService("web", "n").Env("ID", "{{.Task.Slot}}").Obj(),
			wantField: "metadata.labels['apps.kubernetes.io/pod-index']"},
		{name: "a replicated job", svc: testutil.MakeService("web", "n").Mode(swarmv1.ModeReplicatedJob).Obj(),
			wantField: "metadata.annotations['batch.kubernetes.io/job-completion-index']"},
		{name: "a service without slots", svc: testutil.MakeService("web", "n").Obj()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.svc.Spec.Configs = []swarmv1.FileReference{{Source: "conf", Target: "/etc/conf"}}
			got, err := Build(tt.svc, in, withImage)
			if err != nil {
				t.Fatal(err)
			}
			var field string
			for _, c := range templates(t, got)[0].Spec.InitContainers {
				for _, e := range c.Env {
					if e.Name == files.EnvTaskSlot && e.ValueFrom != nil {
						field = e.ValueFrom.FieldRef.FieldPath
					}
				}
			}
			if field != tt.wantField {
				t.Errorf("slot from %q, want %q", field, tt.wantField)
			}
			if noted := slices.ContainsFunc(got.Notes, func(n string) bool { return strings.Contains(n, "{{.Task.Slot}}") }); noted != (tt.wantField == "") {
				t.Errorf("notes %q: the empty slot is said only where the tasks have none", got.Notes)
			}
		})
	}
}
