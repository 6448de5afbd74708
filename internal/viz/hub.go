package viz

import (
	"encoding/json"
	"sync"
	"time"
)

// subscriberBuffer is how many deltas a browser may fall behind before it is dropped; a dropped
// browser reconnects (EventSource does so by itself) and starts again from a snapshot.
const subscriberBuffer = 256

// Hub holds the current view and fans its deltas out to every connected browser. One Hub is fed
// by one set of informers, whatever the number of browsers.
type Hub struct {
	mu       sync.Mutex
	view     View
	snapshot []byte // view encoded, made on demand
	encoded  time.Time
	subs     map[*subscriber]struct{}
}

type subscriber struct {
	ch chan []byte // encoded deltas; closed when the subscriber is dropped
}

// NewHub is a Hub with an empty view (version 0).
func NewHub() *Hub {
	return &Hub{view: View{Nodes: []Node{}, Tasks: []Task{}}, subs: map[*subscriber]struct{}{}}
}

// Publish makes v the current view. When it differs from the last one, the version moves on by
// one and the delta goes to every subscriber. It returns the delta (empty when nothing changed).
func (h *Hub) Publish(v View) Delta {
	h.mu.Lock()
	defer h.mu.Unlock()
	v.Version = h.view.Version + 1
	d := Diff(&h.view, &v)
	if d.Empty() {
		h.view.Now = v.Now
		return Delta{}
	}
	h.view, h.snapshot = v, nil
	data := mustJSON(d)
	for s := range h.subs {
		select {
		case s.ch <- data:
		default:
			// Too slow: drop it rather than hold every other browser up.
			close(s.ch)
			delete(h.subs, s)
		}
	}
	return d
}

// View is the current view.
func (h *Hub) View() View {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.view
}

// snapshotJSON is the current view, encoded (once per version).
func (h *Hub) snapshotJSON() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.snapshotLocked()
}

func (h *Hub) snapshotLocked() []byte {
	// Encoded once per version, and again after a second: the page reads ages off Now.
	if now := time.Now(); h.snapshot == nil || now.Sub(h.encoded) > time.Second {
		v := h.view
		v.Now = now.UTC()
		h.snapshot, h.encoded = mustJSON(v), now
	}
	return h.snapshot
}

// subscribe returns the current view, encoded, and a subscriber that gets every later delta:
// both under one lock, so that no delta falls between them.
func (h *Hub) subscribe() ([]byte, *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &subscriber{ch: make(chan []byte, subscriberBuffer)}
	h.subs[s] = struct{}{}
	return h.snapshotLocked(), s
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// Subscribers is the number of connected browsers.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// mustJSON encodes the model, which holds only strings, numbers and times and cannot fail.
func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}
