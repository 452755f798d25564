package net

// Live subscriptions: Next(ctx) waits in the engine until events come, the
// subscription closes, or ctx ends (a native cancel token wakes the wait).

/*
#include "net.h"
*/
import "C"

import (
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// SubscribeOptions selects where a subscription starts and what it keeps.
type SubscribeOptions struct {
	// Cursor resumes from a poll's NextCursor ("" = oldest buffered event).
	Cursor string
	// Filter is a JSON filter ("" = everything).
	Filter string
	// Limit ends the subscription after this many events (0 = no limit).
	Limit int
}

// Subscription is a live consumer: buffered events, then new ones. It ends
// with io.EOF after the node shuts down and everything buffered was read, after
// Limit events, or once closed.
type Subscription struct {
	handle    *C.net_subscription_t
	mu        sync.Mutex // serializes readers and guards the fields below
	pending   []Event
	delivered int
	limit     int
	closed    atomic.Bool
	freed     bool
}

// Subscribe opens a live subscription.
func (n *Node) Subscribe(ctx context.Context, opts SubscribeOptions) (*Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var handle *C.net_subscription_t
	cursor, filter := []byte(opts.Cursor), []byte(opts.Filter)
	runtime.LockOSThread()
	rc := C.net_subscribe(n.handle, bytesPtr(cursor), C.size_t(len(cursor)), bytesPtr(filter), C.size_t(len(filter)), &handle)
	var err error
	if rc < 0 {
		err = lastError(rc)
	}
	runtime.UnlockOSThread()
	runtime.KeepAlive(cursor)
	runtime.KeepAlive(filter)
	if err != nil {
		return nil, err
	}
	s := &Subscription{handle: handle, limit: opts.Limit}
	runtime.SetFinalizer(s, func(s *Subscription) { _ = s.Close() })
	return s, nil
}

// fetch waits for events from the engine into s.pending (s.mu held).
func (s *Subscription) fetch(ctx context.Context, max int) error {
	return withContext(ctx, func(token *C.net_cancel_t) error { return s.fetchWith(token, max) })
}

func (s *Subscription) fetchWith(token *C.net_cancel_t, max int) error {
	for {
		if s.closed.Load() {
			return io.EOF
		}
		var r C.net_poll_result_t
		runtime.LockOSThread()
		rc := C.net_subscription_next_cancellable(s.handle, C.size_t(max), -1, token, &r)
		var err error
		if rc < 0 {
			err = lastError(rc)
		}
		runtime.UnlockOSThread()
		if r.count > 0 {
			for _, e := range unsafe.Slice(r.events, int(r.count)) {
				s.pending = append(s.pending, Event{
					EventMeta: EventMeta{Shard: uint16(e.shard), Seq: uint64(e.seq), TimestampNs: uint64(e.timestamp_ns)},
					Raw:       C.GoBytes(unsafe.Pointer(e.raw), C.int(e.raw_len)),
				})
			}
		}
		C.net_free_poll_result(&r)
		switch {
		case err != nil:
			return err
		case len(s.pending) > 0:
			return nil
		case rc == C.NET_DONE:
			return io.EOF
		}
	}
}

// NextBatch waits for up to max events; it returns io.EOF when the stream has
// ended and ctx.Err() when the context is done first.
func (s *Subscription) NextBatch(ctx context.Context, max int) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if max < 1 {
		max = 1
	}
	if s.limit > 0 {
		if s.delivered >= s.limit {
			return nil, io.EOF
		}
		max = min(max, s.limit-s.delivered)
	}
	if len(s.pending) == 0 {
		// Take a generous batch from the engine; extra events wait in pending.
		want := 256
		if s.limit > 0 {
			want = min(want, s.limit-s.delivered)
		}
		if err := s.fetch(ctx, want); err != nil {
			return nil, err
		}
	}
	n := min(max, len(s.pending))
	out := append([]Event(nil), s.pending[:n]...)
	s.pending = s.pending[n:]
	s.delivered += n
	return out, nil
}

// Next returns the next event, io.EOF at the end, or ctx.Err().
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	batch, err := s.NextBatch(ctx, 1)
	if err != nil {
		return Event{}, err
	}
	return batch[0], nil
}

// Close ends the subscription and releases it (idempotent). A reader blocked
// in Next returns io.EOF within about 100 ms. Events the subscription took
// from the engine but Next has not returned yet go back to the bus, so
// leaving a loop early and closing loses nothing.
func (s *Subscription) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	C.net_subscription_close(s.handle)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 && !s.freed {
		// pending is always the tail of the engine's last batch.
		_ = C.net_subscription_unread(s.handle, C.size_t(len(s.pending)))
		s.pending = nil
	}
	if !s.freed {
		s.freed = true
		C.net_subscription_free(s.handle)
		runtime.SetFinalizer(s, nil)
	}
	return nil
}
