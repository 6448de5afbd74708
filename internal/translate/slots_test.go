package translate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestSlotClaims: which named volumes each task holds on its own (a claim template), which
// services run as StatefulSets (PerSlot), and what is refused.
func TestSlotClaims(t *testing.T) {
	vol := func(source, target string) swarmv1.Mount {
		return swarmv1.Mount{Type: swarmv1.MountVolume, Source: source, Target: target}
	}
	nfs := swarmv1.Mount{Type: swarmv1.MountVolume, Source: "exports", Target: "/x", Volume: &swarmv1.VolumeOptions{
		DriverOptions: map[string]string{"type": "nfs", "o": "addr=10.0.0.5", "device": ":/x"}}}
	size := resource.MustParse("5Gi")
	cases := []struct {
		name        string
		mode        swarmv1.ServiceMode
		mounts      []swarmv1.Mount
		env         string
		hostname    string
		annotation  string
		want        []SlotClaim
		wantPerSlot bool
		wantErr     string
	}{
		{name: "a named volume: one claim per slot", mounts: []swarmv1.Mount{vol("data", "/data")},
			want: []SlotClaim{{Template: "data", Volume: "data", Mounts: []int{0}}}, wantPerSlot: true},
		{name: "two mounts of one volume: one template", mounts: []swarmv1.Mount{vol("data", "/a"), vol("data", "/b")},
			want: []SlotClaim{{Template: "data", Volume: "data", Mounts: []int{0, 1}}}, wantPerSlot: true},
		{name: "anonymous, tmpfs, bind and NFS volumes are no claims", mounts: []swarmv1.Mount{
			{Type: swarmv1.MountVolume, Target: "/scratch"}, {Type: swarmv1.MountTmpfs, Target: "/t"}, {Type: swarmv1.MountBind, Source: "/h", Target: "/h"}, nfs}},
		{name: "a volume kept shared", mounts: []swarmv1.Mount{vol("data", "/data")}, annotation: `{"data": {"shared": true}}`},
		{name: "a stack's volume: its name, size and class", mounts: []swarmv1.Mount{vol("wp-mysql-vol", "/var/lib/mysql")},
			annotation: `{"wp-mysql-vol": {"volume": "mysql_vol", "size": "5Gi", "storageClassName": "fast"}}`,
			want:       []SlotClaim{{Template: "wp-mysql-vol", Volume: "mysql_vol", Mounts: []int{0}, Info: VolumeInfo{Volume: "mysql_vol", Size: &size, StorageClassName: ptr.To("fast")}}}, wantPerSlot: true},
		{name: "a slot template in the source: the name without it", mounts: []swarmv1.Mount{vol("{{.Service.Name}}-data-{{ .Task.Slot }}", "/data")},
			want: []SlotClaim{{Template: "web-data", Volume: "web-data", Mounts: []int{0}}}, wantPerSlot: true},
		{name: "a slot template in the middle", mounts: []swarmv1.Mount{vol("data_{{.Task.Slot}}_x", "/data")},
			want: []SlotClaim{{Template: "data-x", Volume: "data-x", Mounts: []int{0}}}, wantPerSlot: true},
		{name: "a slot template keeps even a shared volume per slot", mounts: []swarmv1.Mount{vol("data-{{.Task.Slot}}", "/data")},
			annotation: `{"data-{{.Task.Slot}}": {"shared": true}}`,
			want:       []SlotClaim{{Template: "data", Volume: "data", Mounts: []int{0}, Info: VolumeInfo{Shared: true}}}, wantPerSlot: true},
		{name: "a slot template in env: per slot without volumes", env: "{{.Task.Slot}}", wantPerSlot: true},
		{name: "a slot template in the hostname", hostname: "{{.Service.Name}}-{{.Task.Slot}}", wantPerSlot: true},
		{name: "a global service: no slots", mode: swarmv1.ModeGlobal, mounts: []swarmv1.Mount{vol("data", "/data")}, env: "{{.Task.Slot}}"},
		{name: "a replicated job: no slots", mode: swarmv1.ModeReplicatedJob, mounts: []swarmv1.Mount{vol("data", "/data")}},
		{name: "a node template in a volume's name is refused", mounts: []swarmv1.Mount{vol("data-{{.Node.Hostname}}", "/data")},
			wantErr: `mounts[0]: source "data-{{.Node.Hostname}}": only {{.Service.Name}}, {{.Service.ID}} and {{.Task.Slot}} can be expanded in a volume's name`},
		{name: "a name that is no pod volume name is refused", mounts: []swarmv1.Mount{vol("db.data", "/data")},
			wantErr: `mounts[0]: source "db.data": a volume that each task holds on its own is named "db.data", which must be a DNS label`},
		{name: "a broken annotation is refused", mounts: []swarmv1.Mount{vol("data", "/data")}, annotation: `{`,
			wantErr: "annotation swarm.kubeswarm.io/volumes: unexpected end of JSON input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "n"},
				Spec: swarmv1.ServiceSpec{Image: "web", Mode: tc.mode, Mounts: tc.mounts, Hostname: tc.hostname}}
			if tc.env != "" {
				svc.Spec.Env = []swarmv1.EnvVar{{Name: "ID", Value: tc.env}}
			}
			if tc.annotation != "" {
				svc.Annotations = map[string]string{AnnotationVolumes: tc.annotation}
			}
			got, err := SlotClaims(svc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("SlotClaims: %v, want %q", err, tc.wantErr)
				}
				if _, verr := Check(svc); verr == nil || !strings.Contains(verr.Error(), tc.wantErr) {
					t.Errorf("Check: %v, want the same refusal", verr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("SlotClaims (-want +got):\n%s", diff)
			}
			if p := PerSlot(svc); p != tc.wantPerSlot {
				t.Errorf("PerSlot %v, want %v", p, tc.wantPerSlot)
			}
		})
	}
}

const nodeFailureNote = "node failure: a task whose node fails keeps its slot's name and claim, so it is started again once the node is back (or its pod is deleted with --force); Swarm starts it on another node at once"

// TestSlotsRule: what a per-slot service is told, and the refusal of a slot template in the
// volume of a service without slots.
func TestSlotsRule(t *testing.T) {
	cases := []struct {
		name      string
		spec      swarmv1.ServiceSpec
		wantNotes []string
		wantErr   string
	}{
		{name: "no slots, no note", spec: swarmv1.ServiceSpec{Image: "web"}},
		{name: "a per-slot volume", spec: swarmv1.ServiceSpec{Image: "web", Mounts: []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "data", Target: "/d"}}},
			wantNotes: []string{"mounts: each task holds its own claim data-web-<slot> of volume data, kept with its slot across updates and restarts; Swarm gives each node one volume, which the tasks on that node share", nodeFailureNote}},
		{name: "start-first and restart on-failure", spec: swarmv1.ServiceSpec{Image: "web", Env: []swarmv1.EnvVar{{Name: "ID", Value: "{{.Task.Slot}}"}},
			UpdateConfig:  &swarmv1.UpdateConfig{Order: swarmv1.OrderStartFirst},
			RestartPolicy: &swarmv1.RestartPolicy{Condition: swarmv1.RestartOnFailure}},
			wantNotes: []string{
				nodeFailureNote,
				"updateConfig.order start-first: each task keeps its slot's name and claim, so a slot's new task starts once the old one stopped (stop-first)",
				"restartPolicy.condition on-failure: a task that ended is started again in its slot (a StatefulSet replaces its ended pods); Swarm leaves the slot stopped"}},
		{name: "a slot template in a global service's volume", spec: swarmv1.ServiceSpec{Image: "web", Mode: swarmv1.ModeGlobal,
			Mounts: []swarmv1.Mount{{Type: swarmv1.MountVolume, Source: "data-{{.Task.Slot}}", Target: "/d"}}},
			wantErr: `mounts[0]: source "data-{{.Task.Slot}}": {{.Task.Slot}} in a volume's name needs tasks with slots; only a replicated service's tasks have them`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: tc.spec}
			notes, err := slotsRule(svc, Options{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantNotes, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWithExistingClaims: a volume whose one claim exists (an earlier kubeswarm's shared claim, or
// volume create's) stays that claim, shared, with a note; one whose claim does not exist, or
// whose slots hold claims already, is per slot.
func TestWithExistingClaims(t *testing.T) {
	vol := func(source string) swarmv1.Mount {
		return swarmv1.Mount{Type: swarmv1.MountVolume, Source: source, Target: "/" + source}
	}
	const dataNote = "mounts: the tasks share the claim data, which existed before the service"
	cases := []struct {
		name        string
		mode        swarmv1.ServiceMode
		mounts      []swarmv1.Mount
		annotation  string
		claims      Claims
		want        string // the annotation after; "" for none
		wantPerSlot bool
		wantNotes   []string // each the start of one note of the service's, in order
	}{
		{name: "no claim: per slot", mounts: []swarmv1.Mount{vol("data")}, claims: Claims{"other": ""}, wantPerSlot: true},
		{name: "the claim exists: shared", mounts: []swarmv1.Mount{vol("data")}, claims: Claims{"data": ""},
			want: `{"data":{"shared":true,"existing":true}}`, wantNotes: []string{dataNote}},
		{name: "the slots hold claims: per slot whatever was made later", mounts: []swarmv1.Mount{vol("data")},
			claims: Claims{"data": "", "data-web-2": "web"}, wantPerSlot: true},
		{name: "another service's slot claims: shared", mounts: []swarmv1.Mount{vol("data")},
			claims: Claims{"data": "", "data-web-2": "data-web"}, want: `{"data":{"shared":true,"existing":true}}`, wantNotes: []string{dataNote}},
		{name: "one volume kept, one per slot", mounts: []swarmv1.Mount{vol("data"), vol("logs")}, claims: Claims{"data": ""},
			want: `{"data":{"shared":true,"existing":true}}`, wantPerSlot: true, wantNotes: []string{dataNote, "mounts: each task holds its own claim logs-web-<slot>"}},
		{name: "a stack's volume keeps what the stack says", mounts: []swarmv1.Mount{vol("wp-mysql-vol")},
			annotation: `{"wp-mysql-vol":{"volume":"mysql_vol","size":"5Gi"}}`, claims: Claims{"wp-mysql-vol": ""},
			want:      `{"wp-mysql-vol":{"volume":"mysql_vol","shared":true,"size":"5Gi","existing":true}}`,
			wantNotes: []string{"mounts: the tasks share the claim wp-mysql-vol, which existed"}},
		{name: "a slot template is per slot in any case", mounts: []swarmv1.Mount{vol("data-{{.Task.Slot}}")},
			claims: Claims{"data-{{.Task.Slot}}": "", "data": ""}, wantPerSlot: true},
		{name: "a global service's claims are shared anyway", mode: swarmv1.ModeGlobal, mounts: []swarmv1.Mount{vol("data")}, claims: Claims{"data": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := &swarmv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "n"},
				Spec: swarmv1.ServiceSpec{Image: "web", Mode: tc.mode, Mounts: tc.mounts}}
			if tc.annotation != "" {
				svc.Annotations = map[string]string{AnnotationVolumes: tc.annotation}
			}
			before := svc.DeepCopy()
			got, err := WithExistingClaims(svc, tc.claims)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, svc); diff != "" {
				t.Errorf("the service itself changed (-before +after):\n%s", diff)
			}
			want := tc.want
			if want == "" {
				want = tc.annotation
			}
			if diff := cmp.Diff(want, got.Annotations[AnnotationVolumes]); diff != "" {
				t.Errorf("annotation (-want +got):\n%s", diff)
			}
			if p := PerSlot(got); p != tc.wantPerSlot {
				t.Errorf("PerSlot = %v, want %v", p, tc.wantPerSlot)
			}
			notes, err := slotsRule(got, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantPerSlot && len(notes) > len(tc.wantNotes) {
				notes = notes[:len(tc.wantNotes)] // then the per-slot notes, TestSlotsRule's
			}
			for i := range notes {
				if i < len(tc.wantNotes) && strings.HasPrefix(notes[i], tc.wantNotes[i]) {
					notes[i] = tc.wantNotes[i]
				}
			}
			if diff := cmp.Diff(tc.wantNotes, notes, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
		})
	}
}
