package controllers

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// staleReads remembers, for each object whose status a controller wrote, the resourceVersion
// the write replaced. A cached copy still at that version is older than the write: a pass over
// it would compute the status from old data and its optimistic-lock patch would only earn a
// conflict (a wasted write). Such a pass is skipped; the write's own watch event brings the
// object back once the cache has it. An object never returns to a replaced version, so a
// match is never a false one.
type staleReads struct{ replaced sync.Map } // types.NamespacedName → string

// wrote records that a write replaced version over of obj.
func (s *staleReads) wrote(obj client.Object, over string) {
	s.replaced.Store(client.ObjectKeyFromObject(obj), over)
}

// stale tells whether obj, as read from the cache, predates this controller's last write to
// it; once it does not, the record is dropped.
func (s *staleReads) stale(obj client.Object) bool {
	key := client.ObjectKeyFromObject(obj)
	over, ok := s.replaced.Load(key)
	if !ok {
		return false
	}
	if over == obj.GetResourceVersion() {
		return true
	}
	s.replaced.Delete(key)
	return false
}

// forget drops the record of an object that is gone.
func (s *staleReads) forget(key types.NamespacedName) { s.replaced.Delete(key) }
