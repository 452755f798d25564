package net

// The bus over the mesh: a link carries the events of a bus on one node into
// a bus on a connected peer, over one reliable mesh stream.

/*
#include <stdlib.h>
#include <stdint.h>
#include "net.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// LinkDirection says which way a bus link carries events.
type LinkDirection int

const (
	// LinkSend consumes the local bus and sends its events to the peer.
	LinkSend LinkDirection = iota + 1
	// LinkReceive emits the events the peer sends into the local bus.
	LinkReceive
)

// String is the engine's name of the direction ("send", "receive").
func (d LinkDirection) String() string {
	switch d {
	case LinkSend:
		return "send"
	case LinkReceive:
		return "receive"
	}
	return fmt.Sprintf("LinkDirection(%d)", int(d))
}

// MarshalText writes the direction as String does.
func (d LinkDirection) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "send" or "receive".
func (d *LinkDirection) UnmarshalText(text []byte) error {
	switch string(text) {
	case "send":
		*d = LinkSend
	case "receive":
		*d = LinkReceive
	default:
		return fmt.Errorf("unknown link direction %q", text)
	}
	return nil
}

// BusLinkOptions configures a bus link. Zero values keep the engine's
// defaults; the engine validates everything (ErrInvalidMeshConfig).
type BusLinkOptions struct {
	// Direction is LinkSend or LinkReceive (required: the zero value fails
	// with ErrInvalidMeshConfig).
	Direction LinkDirection
	// StreamID is the mesh stream the link uses (default 6452595). Both
	// sides of a link must use the same one.
	StreamID uint64
	// MaxBatch is the most events a send link takes from its bus at once
	// (default 1024, 1..65536).
	MaxBatch int
	// MessageBytes is the size of the stream messages events are packed
	// into (default 16384, 6..65423); bigger events travel in pieces.
	MessageBytes int
}

func (o BusLinkOptions) json() ([]byte, error) {
	m := map[string]any{}
	if o.Direction != 0 {
		m["direction"] = o.Direction.String()
	}
	if o.StreamID != 0 {
		m["stream_id"] = o.StreamID
	}
	if o.MaxBatch != 0 {
		m["max_batch"] = o.MaxBatch
	}
	if o.MessageBytes != 0 {
		m["message_bytes"] = o.MessageBytes
	}
	return json.Marshal(m)
}

// BusLinkStats are a link's counters.
type BusLinkStats struct {
	// Direction is the link's direction.
	Direction LinkDirection `json:"direction"`
	// Peer is the peer's node id.
	Peer uint64 `json:"peer,string"`
	// StreamID is the stream the link uses.
	StreamID uint64 `json:"stream_id,string"`
	// Events counts events carried: acknowledged by the peer (send) or
	// emitted into the local bus (receive); Bytes, their payload bytes.
	Events uint64 `json:"events"`
	Bytes  uint64 `json:"bytes"`
	// Messages counts stream messages sent or received.
	Messages uint64 `json:"messages"`
	// Rejected counts events the local bus refused for good (receive:
	// bigger than its MaxEventSize, or still refused when the link closed).
	Rejected uint64 `json:"rejected"`
	// Malformed counts received messages that were not link messages.
	Malformed uint64 `json:"malformed"`
	// Stalls counts the times the link had to wait: the peer's session was
	// gone (send) or the local bus was full (receive).
	Stalls uint64 `json:"stalls"`
	// Running says the link's thread still runs (false once closed, or once
	// it stopped on its own).
	Running bool `json:"running"`
	// Err is why the link stopped on its own (its bus or node shut down:
	// errors.Is(Err, ErrMeshShutdown) or ErrShutdown), or nil.
	Err error `json:"-"`
}

// BusLink is a running link between a bus and a peer (see Mesh.LinkBus).
// Its methods are safe for concurrent use. Close it when done; a finalizer is
// only a fallback. The link keeps its Mesh and Node reachable; closing them
// stops the link (Stats reports why) but does not release it.
type BusLink struct {
	handle *C.net_bus_link_t
	mesh   *Mesh
	bus    *Node
	once   sync.Once
	mu     sync.RWMutex // guards freed and final
	freed  bool
	final  BusLinkStats
	err    error
}

// SendBus sends every event emitted on bus to the peer, where a receiving
// link (ReceiveBus) emits them into its own bus. The link consumes bus: it
// frees each batch once the peer acknowledged it (at least once). Fails with
// ErrUnknownPeer without a session. Default options; see LinkBus.
func (m *Mesh) SendBus(bus *Node, peer uint64) (*BusLink, error) {
	return m.LinkBus(bus, peer, BusLinkOptions{Direction: LinkSend})
}

// ReceiveBus emits into bus every event the peer sends with SendBus; Poll
// and Subscribe on bus read them like local events. Link streams are the bus
// link protocol's own (never the application's streams), so link messages
// never reach Recv. The session need not exist yet. Default options; see
// LinkBus.
func (m *Mesh) ReceiveBus(bus *Node, peer uint64) (*BusLink, error) {
	return m.LinkBus(bus, peer, BusLinkOptions{Direction: LinkReceive})
}

// LinkBus starts a link between bus and the peer with explicit options.
// Errors: ErrInvalidMeshConfig (bad options, a receive link on a stream
// already linked for that peer, a send link on a stream opened another way),
// ErrUnknownPeer (send: no session), ErrShutdown (bus shut down),
// ErrMeshShutdown (node shut down or closed).
func (m *Mesh) LinkBus(bus *Node, peer uint64, opts BusLinkOptions) (*BusLink, error) {
	text, err := opts.json()
	if err != nil {
		return nil, err
	}
	return m.linkBusJSON(bus, peer, string(text))
}

// linkBusJSON starts a link from the engine's JSON options (the fixture
// runner passes fixture options through unchanged).
func (m *Mesh) linkBusJSON(bus *Node, peer uint64, options string) (*BusLink, error) {
	if bus == nil {
		return nil, ErrNullPointer.with("bus is nil")
	}
	cs := C.CString(options)
	defer C.free(unsafe.Pointer(cs))
	var handle *C.net_bus_link_t
	err := m.call(func(h *C.net_mesh_t) C.int32_t {
		return C.net_bus_link_open(bus.handle, h, C.uint64_t(peer), cs, C.size_t(len(options)), &handle)
	})
	runtime.KeepAlive(bus)
	if err != nil {
		return nil, err
	}
	l := &BusLink{handle: handle, mesh: m, bus: bus}
	runtime.SetFinalizer(l, func(l *BusLink) { _ = l.Close() })
	return l, nil
}

// stats reads the counters from the engine (l.mu held).
func (l *BusLink) stats() (BusLinkStats, error) {
	var out *C.char
	var n C.size_t
	if err := cCall(func() C.int32_t { return C.net_bus_link_stats(l.handle, &out, &n) }); err != nil {
		return BusLinkStats{}, err
	}
	defer C.net_string_free(out)
	var raw struct {
		BusLinkStats
		ErrorCode   *int    `json:"error_code"`
		ErrorDetail *string `json:"error_detail"`
	}
	if err := json.Unmarshal(C.GoBytes(unsafe.Pointer(out), C.int(n)), &raw); err != nil {
		return BusLinkStats{}, err
	}
	if raw.ErrorCode != nil {
		detail := ""
		if raw.ErrorDetail != nil {
			detail = *raw.ErrorDetail
		}
		raw.BusLinkStats.Err = errorFor(*raw.ErrorCode, detail)
	}
	return raw.BusLinkStats, nil
}

// Stats returns the link's counters; after Close, the last ones (with
// Running false).
func (l *BusLink) Stats() (BusLinkStats, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.freed {
		return l.final, nil
	}
	st, err := l.stats()
	runtime.KeepAlive(l)
	return st, err
}

// Close stops the link and releases it (idempotent, safe from several
// goroutines; it waits for the link's thread, tens of milliseconds). A send
// link leaves unacknowledged events in its bus for the next link; a receive
// link first emits what it already received.
func (l *BusLink) Close() error {
	l.once.Do(func() {
		l.err = cCall(func() C.int32_t { return C.net_bus_link_close(l.handle) })
		l.mu.Lock()
		defer l.mu.Unlock()
		final, err := l.stats()
		if err == nil {
			l.final = final
		} else if l.err == nil {
			l.err = err
		}
		l.final.Running = false
		l.freed = true
		C.net_bus_link_free(l.handle)
		runtime.SetFinalizer(l, nil)
	})
	return l.err
}
