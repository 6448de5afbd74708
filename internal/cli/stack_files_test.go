package cli

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

const filesStack = `
services:
  web:
    image: IMAGE
    secrets: [db_pass]
    configs: [site]
secrets:
  db_pass:
    file: ./db_pass.txt
    labels: {rotated: LABEL}
configs:
  site:
    file: ./site.conf
`

func filesCompose(t *testing.T, image, label, pass, site string) string {
	t.Helper()
	text := strings.NewReplacer("IMAGE", image, "LABEL", label).Replace(filesStack)
	return writeCompose(t, text, map[string]string{"db_pass.txt": pass, "site.conf": site})
}

// TestStackDeployRefusesNewFileContent: a secret's or config's content never changes (swarmkit
// answers "only updates to Labels are allowed"): a deploy that would change one writes nothing,
// names the rotation, and a change of labels alone goes through. The objects are immutable, so
// no other client can change them either.
func TestStackDeployRefusesNewFileContent(t *testing.T) {
	// A secret written by an earlier kubeswarm, not immutable, with the same content.
	legacy := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-db-pass", Namespace: "default"}, Data: map[string][]byte{"db_pass": []byte("s3cret")}}
	f := newTestFactory(legacy)
	if _, _, err := run(t, f, "stack", "deploy", "-c", filesCompose(t, "nginx:1", "no", "s3cret", "listen 80;"), "shop"); err != nil {
		t.Fatal(err)
	}
	sec, cm := &corev1.Secret{}, &corev1.ConfigMap{}
	get := func() {
		t.Helper()
		if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shop-db-pass"}, sec); err != nil {
			t.Fatal(err)
		}
		if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shop-site"}, cm); err != nil {
			t.Fatal(err)
		}
	}
	get()
	if !ptr.Deref(sec.Immutable, false) || !ptr.Deref(cm.Immutable, false) {
		t.Errorf("immutable: secret %v, config %v; want both", sec.Immutable, cm.Immutable)
	}

	for _, tc := range []struct {
		name, pass, site string
		want             []string
	}{
		{name: "new secret", pass: "n3w", site: "listen 80;", want: []string{
			"failed to update secret shop_db_pass: only updates to Labels are allowed: a secret's content never changes once it is created; rotate it under a new name: give the new content to a new secret (e.g. db_pass_v2), point the services at it (source: db_pass_v2, target: db_pass keeps the file where it was), deploy, then remove the old one"}},
		{name: "new config", pass: "s3cret", site: "listen 81;", want: []string{"failed to update config shop_site: only updates to Labels are allowed: a config's content never changes"}},
		{name: "both", pass: "n3w", site: "listen 81;", want: []string{"failed to update secret shop_db_pass", "failed to update config shop_site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := run(t, f, "stack", "deploy", "-c", filesCompose(t, "nginx:2", "yes", tc.pass, tc.site), "shop")
			if err == nil {
				t.Fatalf("deploy with a new content: no error (%q)", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if out != "" {
				t.Errorf("a refused deploy printed %q", out)
			}
			get()
			st := &swarmv1.Stack{}
			if err := f.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shop"}, st); err != nil {
				t.Fatal(err)
			}
			if string(sec.Data["db_pass"]) != "s3cret" || cm.Data["site"] != "listen 80;" || sec.Annotations["rotated"] != "no" || st.Spec.Services[0].Image != "nginx:1" {
				t.Errorf("a refused deploy wrote: secret %q %v, config %q, image %s", sec.Data["db_pass"], sec.Annotations, cm.Data["site"], st.Spec.Services[0].Image)
			}
		})
	}

	// Labels alone may change, as in Swarm.
	if _, _, err := run(t, f, "stack", "deploy", "-c", filesCompose(t, "nginx:2", "yes", "s3cret", "listen 80;"), "shop"); err != nil {
		t.Fatalf("deploy with new labels only: %v", err)
	}
	get()
	if sec.Annotations["rotated"] != "yes" {
		t.Errorf("secret labels: %v, want rotated=yes", sec.Annotations)
	}
}
