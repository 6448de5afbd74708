package stack

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	swarmv1 "github.com/kubeswarm/kubeswarm/api/v1alpha1"
)

// AnnotationDeployedContent records, on a stack's own Secret or ConfigMap that Kubernetes would
// let change (not immutable), the digest of the content the stack deployed it with: Swarm never
// changes a secret's or config's content, so a later difference is refused and reported.
const AnnotationDeployedContent = "swarm.kubeswarm.io/deployed-content"

// File is one of the stack's own secrets or configs (not external: those are the user's).
type File struct {
	// Kind is "secret" or "config"; Key the compose name; Object the Secret's or ConfigMap's name.
	Kind, Key, Object string
}

// Files lists the stack's own secrets, then its own configs.
func Files(st *swarmv1.Stack) []File {
	var out []File
	for _, set := range []struct {
		kind string
		objs []swarmv1.StackObject
	}{{"secret", st.Spec.Secrets}, {"config", st.Spec.Configs}} {
		for _, o := range set.objs {
			if !o.External {
				out = append(out, File{Kind: set.kind, Key: o.Name, Object: fileObjectName(st, set.objs, o.Name)})
			}
		}
	}
	return out
}

// FileContent is the files of a Secret or a ConfigMap by key (a ConfigMap's text and binary data
// together); nil for any other object.
func FileContent(obj runtime.Object) map[string][]byte {
	switch o := obj.(type) {
	case *corev1.Secret:
		out := make(map[string][]byte, len(o.Data)+len(o.StringData))
		for k, v := range o.Data {
			out[k] = v
		}
		for k, v := range o.StringData { // as the API server merges it into data
			out[k] = []byte(v)
		}
		return out
	case *corev1.ConfigMap:
		out := make(map[string][]byte, len(o.Data)+len(o.BinaryData))
		for k, v := range o.Data {
			out[k] = []byte(v)
		}
		for k, v := range o.BinaryData {
			out[k] = v
		}
		return out
	}
	return nil
}

// ContentDigest is a digest of files by key: the same files give the same digest.
func ContentDigest(files map[string][]byte) string {
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		// Lengths first, so that no two different sets of files write the same bytes.
		var n [16]byte
		binary.LittleEndian.PutUint64(n[:8], uint64(len(k)))
		binary.LittleEndian.PutUint64(n[8:], uint64(len(files[k])))
		h.Write(n[:])
		h.Write([]byte(k))
		h.Write(files[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
