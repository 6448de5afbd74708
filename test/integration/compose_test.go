package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// TestComposeCorpusIsValid: every object the compose converter makes for the corpus of
// test/compose (its golden files, which internal/compose's tests keep equal to what Convert
// writes) is accepted by the API server: the Stack passes the CRD's schema and CEL rules, the
// Secrets and ConfigMaps their validation.
func TestComposeCorpusIsValid(t *testing.T) {
	goldens, err := filepath.Glob(filepath.Join("..", "compose", "*", "golden*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(goldens) == 0 {
		t.Fatal("no golden files in test/compose")
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	for _, golden := range goldens {
		name := filepath.Base(filepath.Dir(golden)) + "/" + strings.TrimSuffix(filepath.Base(golden), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			ns := newNamespace(t)
			reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
			stacks := 0
			for {
				doc, err := reader.Read()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(bytes.TrimSpace(stripComments(doc))) == 0 {
					continue
				}
				obj, _, err := decoder.Decode(doc, nil, nil)
				if err != nil {
					t.Fatalf("decoding a document of %s: %v", golden, err)
				}
				o, ok := obj.(client.Object)
				if !ok {
					t.Fatalf("%T is not an object", obj)
				}
				o.SetNamespace(ns)
				if err := k8sClient.Create(context.Background(), o); err != nil {
					t.Errorf("creating %s %s: %v", obj.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
				}
				if _, ok := obj.(*swarmv1.Stack); ok {
					stacks++
				}
			}
			if stacks != 1 {
				t.Errorf("%s has %d Stacks, want 1", golden, stacks)
			}
		})
	}
}

// stripComments drops comment lines, so that a document of only comments counts as empty.
func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}
