package net

// Push delivery: functions the engine calls for each event or message.

// The closures are built in handler_closure.go (a file with //export may
// only declare C functions, not define them).

/*
#include "net.h"
*/
import "C"

import (
	"context"
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// Handler is a function the engine calls for each event (Node.OnEvent) or
// message (Mesh.OnMessage), until Close, the context's end, or the end of its
// source (the node shut down).
//
// The engine calls it on one of its callback threads, never twice at once
// for one Handler, in order. It may call back into the library (emit, send,
// subscribe, Close its own Handler). A panic in it is recovered, counted in
// Stats().Failed and reported on stderr; the handler keeps being called.
type Handler struct {
	handle *C.net_handler_t
	once   sync.Once
	mu     sync.Mutex // guards stop
	stop   func() bool
}

// HandlerStats are a Handler's counters.
type HandlerStats struct {
	// Delivered counts the items the function handled.
	Delivered uint64
	// Failed counts the items it panicked on.
	Failed uint64
	// Closed says whether it has ended (Close, the context, or its source).
	Closed bool
}

// callback is what a cgo.Handle stands for: the Go function.
type callback struct {
	onEvent   func(Event)
	onMessage func(Message)
	onChannel func(ChannelMessage)
}

// run calls f, turning a panic into a failure the engine counts.
func (cb *callback) run(f func()) (rc C.int32_t) {
	defer func() {
		if r := recover(); r != nil {
			rc = 1
		}
	}()
	f()
	return 0
}

//export netGoOnEvent
func netGoOnEvent(event *C.net_event_t, ref unsafe.Pointer) C.int32_t {
	cb := cgo.Handle(uintptr(ref)).Value().(*callback)
	ev := Event{
		EventMeta: EventMeta{Shard: uint16(event.shard), Seq: uint64(event.seq), TimestampNs: uint64(event.timestamp_ns)},
		Raw:       C.GoBytes(unsafe.Pointer(event.raw), C.int(event.raw_len)),
	}
	return cb.run(func() { cb.onEvent(ev) })
}

//export netGoOnMessage
func netGoOnMessage(message *C.net_mesh_message_t, ref unsafe.Pointer) C.int32_t {
	cb := cgo.Handle(uintptr(ref)).Value().(*callback)
	msg := Message{
		From:     uint64(message.from),
		StreamID: uint64(message.stream_id),
		Payload:  []byte{},
	}
	if message.len > 0 {
		msg.Payload = C.GoBytes(unsafe.Pointer(message.payload), C.int(message.len))
	}
	return cb.run(func() { cb.onMessage(msg) })
}

//export netGoOnChannelMessage
func netGoOnChannelMessage(message *C.net_channel_message_t, ref unsafe.Pointer) C.int32_t {
	cb := cgo.Handle(uintptr(ref)).Value().(*callback)
	msg := channelMessageOf(message)
	return cb.run(func() { cb.onChannel(msg) })
}

//export netGoDropHandler
func netGoDropHandler(ref unsafe.Pointer) {
	cgo.Handle(uintptr(ref)).Delete()
}

// register hands a callback to the engine through `start`, which receives
// the cgo.Handle to put in the closure and must return the C status.
func register(ctx context.Context, cb *callback, start func(handle C.uintptr_t, out **C.net_handler_t) C.int32_t) (*Handler, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := &Handler{}
	ref := cgo.NewHandle(cb)
	var handle *C.net_handler_t
	// On failure the engine has already run the closure's drop (deleting ref).
	if err := cCall(func() C.int32_t { return start(C.uintptr_t(ref), &handle) }); err != nil {
		return nil, err
	}
	h.handle = handle
	stop := context.AfterFunc(ctx, func() { _ = h.Close() })
	h.mu.Lock()
	h.stop = stop
	h.mu.Unlock()
	runtime.SetFinalizer(h, (*Handler).free)
	return h, nil
}

// OnEvent calls fn for every event of a new live subscription (buffered
// events first, from opts.Cursor, matching opts.Filter), until Close, ctx's
// end, or the node's shutdown. Every event fn is given is taken from the
// bus, as Subscribe takes it. opts.Limit is Subscribe's: a handler takes
// none (ErrInvalidArgument), as in every language; it stops with Close.
// fn may be called before OnEvent returns (events already buffered).
func (n *Node) OnEvent(ctx context.Context, opts SubscribeOptions, fn func(Event)) (*Handler, error) {
	if opts.Limit != 0 {
		return nil, ErrInvalidArgument.with("a handler takes no Limit: close it from inside instead")
	}
	cursor, filter := []byte(opts.Cursor), []byte(opts.Filter)
	h, err := register(ctx, &callback{onEvent: fn}, func(ref C.uintptr_t, out **C.net_handler_t) C.int32_t {
		return C.net_bus_on_event(n.handle, bytesPtr(cursor), C.size_t(len(cursor)), bytesPtr(filter), C.size_t(len(filter)), eventClosure(ref), out)
	})
	runtime.KeepAlive(cursor)
	runtime.KeepAlive(filter)
	runtime.KeepAlive(n)
	return h, err
}

// OnMessage calls fn for every message the node receives (each taken from
// the inbox, as Recv would take it), until Close, ctx's end, or the node's
// shutdown.
func (m *Mesh) OnMessage(ctx context.Context, fn func(Message)) (*Handler, error) {
	if m.closed.Load() {
		return nil, errMeshClosed()
	}
	h, err := register(ctx, &callback{onMessage: fn}, func(ref C.uintptr_t, out **C.net_handler_t) C.int32_t {
		return C.net_mesh_on_message(m.handle, messageClosure(ref), out)
	})
	runtime.KeepAlive(m)
	return h, m.fixClosed(err)
}

// OnMessage calls fn for each message of the subscription on the engine's
// callback threads, in order, until the handler's Close, ctx's end, or the
// subscription's Close (what was queued is handed out first). A handler and
// Next on one subscription share its messages.
func (s *ChannelSubscription) OnMessage(ctx context.Context, fn func(ChannelMessage)) (*Handler, error) {
	h, err := register(ctx, &callback{onChannel: fn}, func(ref C.uintptr_t, out **C.net_handler_t) C.int32_t {
		return C.net_channel_subscription_on_message(s.handle, channelClosure(ref), out)
	})
	runtime.KeepAlive(s)
	return h, err
}

// OnMessage calls fn with each message that decodes as T, and onInvalid (if
// not nil) with the ErrInvalidChannelMessage of each one that does not.
func (s *TypedSubscription[T]) OnMessage(ctx context.Context, fn func(T), onInvalid func(error)) (*Handler, error) {
	return s.inner.OnMessage(ctx, func(m ChannelMessage) {
		value, err := decodeValue[T](m)
		if err != nil {
			if onInvalid == nil {
				panic(err)
			}
			onInvalid(err)
			return
		}
		fn(value)
	})
}

// Close stops the calls. From outside the function it waits for a call in
// progress to return, so none runs after Close returns; from inside one (its
// own Handler's or another's) it does not wait, and that call is the last.
// Idempotent.
func (h *Handler) Close() error {
	h.once.Do(func() {
		h.mu.Lock()
		stop := h.stop
		h.mu.Unlock()
		if stop != nil {
			stop()
		}
		C.net_handler_close(h.handle)
	})
	return nil
}

// free releases the engine's handle (the finalizer: after Close, only the
// counters are left behind it).
func (h *Handler) free() {
	_ = h.Close()
	C.net_handler_free(h.handle)
}

// Stats returns the counters. Closed turns true once the handler has ended
// and its last call returned.
func (h *Handler) Stats() HandlerStats {
	var s C.net_handler_stats_t
	if C.net_handler_stats(h.handle, &s) != C.NET_OK {
		return HandlerStats{Closed: true}
	}
	runtime.KeepAlive(h)
	return HandlerStats{Delivered: uint64(s.delivered), Failed: uint64(s.failed), Closed: bool(s.closed)}
}
