package stack

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

func TestFiles(t *testing.T) {
	st := &swarmv1.Stack{ObjectMeta: metav1.ObjectMeta{Name: "wp"}, Spec: swarmv1.StackSpec{
		Secrets: []swarmv1.StackObject{{Name: "db_pass"}, {Name: "tls", External: true}},
		Configs: []swarmv1.StackObject{{Name: "site.conf"}, {Name: "shared", External: true, ExternalName: "common"}},
	}}
	want := []File{{Kind: "secret", Key: "db_pass", Object: "wp-db-pass"}, {Kind: "config", Key: "site.conf", Object: "wp-site-conf"}}
	if diff := cmp.Diff(want, Files(st)); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
}

func TestFileContentAndDigest(t *testing.T) {
	secret := &corev1.Secret{Data: map[string][]byte{"a": []byte("1")}, StringData: map[string]string{"b": "2"}}
	config := &corev1.ConfigMap{Data: map[string]string{"a": "1"}, BinaryData: map[string][]byte{"b": []byte("2")}}
	want := map[string][]byte{"a": []byte("1"), "b": []byte("2")}
	for _, tc := range []struct {
		name string
		got  map[string][]byte
	}{{"secret", FileContent(secret)}, {"config", FileContent(config)}} {
		if diff := cmp.Diff(want, tc.got); diff != "" {
			t.Errorf("FileContent(%s) (-want +got):\n%s", tc.name, diff)
		}
	}
	if FileContent(&corev1.Pod{}) != nil {
		t.Error("FileContent of a Pod is not nil")
	}

	digests := map[string]string{}
	for name, files := range map[string]map[string][]byte{
		"empty":          nil,
		"a=1":            {"a": []byte("1")},
		"a=2":            {"a": []byte("2")},
		"b=1":            {"b": []byte("1")},
		"a=1,b=2":        {"a": []byte("1"), "b": []byte("2")},
		"ab= (shifted)":  {"ab": nil},
		"a=b (shifted)":  {"a": []byte("b")},
		"a=,b= (two)":    {"a": nil, "b": nil},
		"a=1b=2 (glued)": {"a": []byte("1b2")},
	} {
		d := ContentDigest(files)
		if other, ok := digests[d]; ok {
			t.Errorf("%s and %s have the same digest %s", name, other, d)
		}
		digests[d] = name
		if again := ContentDigest(files); again != d {
			t.Errorf("%s: digest %s then %s", name, d, again)
		}
	}
	if ContentDigest(FileContent(secret)) != ContentDigest(FileContent(config)) {
		t.Error("the same files in a Secret and a ConfigMap have different digests")
	}
}
