package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// staleReads remembers, for each object whose status a controller wrote, the resourceVersion
// the write replaced. A cached copy still at that version is older than the write: a pass over
// it would compute the status from old data and its optimistic-lock patch would only earn a
// conflict (a wasted write). Such a pass is skipped; the write's own watch event brings the
// object back once the cache has it. An object never returns to a replaced version, so a
// match is never a false one. A record lives staleFor at most: one of an object deleted before
// the cache saw the write is never read again.
type staleReads struct {
	mu       sync.Mutex
	replaced map[types.NamespacedName]replaced
	swept    time.Time
}

type replaced struct {
	version string
	at      time.Time
}

// staleFor is longer than any cache lag: a record older than that is dropped.
const staleFor = time.Minute

// wrote records that a write replaced version over of obj.
func (s *staleReads) wrote(obj client.Object, over string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.replaced == nil {
		s.replaced = map[types.NamespacedName]replaced{}
	}
	if now.Sub(s.swept) > staleFor {
		for k, r := range s.replaced {
			if now.Sub(r.at) > staleFor {
				delete(s.replaced, k)
			}
		}
		s.swept = now
	}
	s.replaced[client.ObjectKeyFromObject(obj)] = replaced{version: over, at: now}
}

// stale tells whether obj, as read from the cache, predates this controller's last write to
// it; once it does not, the record is dropped.
func (s *staleReads) stale(obj client.Object) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := client.ObjectKeyFromObject(obj)
	r, ok := s.replaced[key]
	if !ok {
		return false
	}
	if r.version == obj.GetResourceVersion() && time.Since(r.at) < staleFor {
		return true
	}
	delete(s.replaced, key)
	return false
}
