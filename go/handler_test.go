package net

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustBus(t testing.TB, shards int) *Node {
	t.Helper()
	n, err := New(&Config{NumShards: shards})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func TestOnEventOrderReentryAndStats(t *testing.T) {
	n := mustBus(t, 1)
	for i := 0; i < 10; i++ {
		if _, err := n.IngestRaw(fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var got []string
	h, err := n.OnEvent(context.Background(), SubscribeOptions{}, func(e Event) {
		mu.Lock()
		got = append(got, string(e.Raw))
		mu.Unlock()
		if string(e.Raw) == "ping" {
			// Emitting from inside the handler must not deadlock.
			if _, err := n.IngestRaw("pong"); err != nil {
				panic(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 100; i++ {
		_, _ = n.IngestRaw(fmt.Sprint(i))
	}
	_, _ = n.IngestRaw("ping")
	waitFor(t, "102 events", func() bool { return h.Stats().Delivered == 102 })
	mu.Lock()
	for i := 0; i < 100; i++ {
		if got[i] != fmt.Sprint(i) {
			t.Fatalf("event %d: got %q", i, got[i])
		}
	}
	if got[100] != "ping" || got[101] != "pong" {
		t.Fatalf("tail: %q", got[100:])
	}
	mu.Unlock()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	_ = h.Close()
	if s := h.Stats(); !s.Closed || s.Delivered != 102 || s.Failed != 0 {
		t.Fatalf("stats after close: %+v", s)
	}
}

func TestOnEventPanicIsCountedAndDeliveryGoesOn(t *testing.T) {
	n := mustBus(t, 1)
	var calls atomic.Int32
	h, err := n.OnEvent(context.Background(), SubscribeOptions{}, func(e Event) {
		if calls.Add(1)%2 == 1 {
			panic("boom")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for i := 0; i < 10; i++ {
		_, _ = n.IngestRaw("x")
	}
	waitFor(t, "10 calls", func() bool { s := h.Stats(); return s.Delivered+s.Failed == 10 })
	if s := h.Stats(); s.Delivered != 5 || s.Failed != 5 {
		t.Fatalf("stats: %+v", s)
	}
}

func TestOnEventCloseFromInsideAndLimit(t *testing.T) {
	n := mustBus(t, 1)
	for i := 0; i < 10; i++ {
		_, _ = n.IngestRaw(fmt.Sprint(i))
	}
	var calls atomic.Int32
	var self atomic.Pointer[Handler]
	ready := make(chan struct{})
	h, err := n.OnEvent(context.Background(), SubscribeOptions{}, func(e Event) {
		<-ready
		if calls.Add(1) == 3 {
			_ = self.Load().Close()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	self.Store(h)
	close(ready)
	waitFor(t, "closed", func() bool { return h.Stats().Closed })
	time.Sleep(20 * time.Millisecond)
	if calls.Load() != 3 {
		t.Fatalf("calls after closing from inside: %d", calls.Load())
	}
	// The seven it did not hand out are in the bus again, for the next reader:
	// one that closes itself after four.
	var limited atomic.Int32
	var self2 atomic.Pointer[Handler]
	ready2 := make(chan struct{})
	h2, err := n.OnEvent(context.Background(), SubscribeOptions{}, func(e Event) {
		<-ready2
		if limited.Add(1) == 4 {
			_ = self2.Load().Close()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	self2.Store(h2)
	close(ready2)
	waitFor(t, "closed after four", func() bool { return h2.Stats().Closed })
	if limited.Load() != 4 {
		t.Fatalf("closing after 4 gave %d calls", limited.Load())
	}
	if _, err := n.OnEvent(context.Background(), SubscribeOptions{Limit: 4}, func(Event) {}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("a Limit on a handler: %v", err)
	}
	sub, err := n.Subscribe(context.Background(), SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	batch, err := sub.NextBatch(testCtx(t, 5*time.Second), 100)
	if err != nil || len(batch) != 3 || string(batch[0].Raw) != "7" {
		t.Fatalf("left in the bus: %v %v", batch, err)
	}
}

func TestOnEventContextAndCloseWaits(t *testing.T) {
	n := mustBus(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	inCall := make(chan struct{}, 1)
	var finished atomic.Bool
	h, err := n.OnEvent(ctx, SubscribeOptions{}, func(e Event) {
		inCall <- struct{}{}
		time.Sleep(100 * time.Millisecond)
		finished.Store(true)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = n.IngestRaw("x")
	<-inCall
	cancel() // the context's end closes it ...
	waitFor(t, "closed by the context", func() bool { return h.Stats().Closed })
	if !finished.Load() {
		t.Fatal("closed while the call was still running")
	}
	if _, err := n.OnEvent(ctx, SubscribeOptions{}, func(Event) {}); !errors.Is(err, context.Canceled) {
		t.Fatalf("a done context: %v", err)
	}
	if _, err := n.OnEvent(context.Background(), SubscribeOptions{Filter: "{nope"}, func(Event) {}); err == nil {
		t.Fatal("a bad filter was accepted")
	}
}

func TestOnMessageRepliesFromInsideAndEndsWithTheNode(t *testing.T) {
	a, b, bID := meshPair(t)
	h, err := b.OnMessage(context.Background(), func(m Message) {
		if err := b.Send(m.From, m.StreamID, append([]byte("re:"), m.Payload...)); err != nil {
			panic(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.OpenStream(bID, 9, StreamConfig{Reliable: true}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := a.SendBlocking(testCtx(t, 5*time.Second), bID, 9, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[byte]int{}
	for i := 0; i < 10; i++ {
		m := recvOne(t, a)
		if len(m.Payload) != 4 || string(m.Payload[:3]) != "re:" {
			t.Fatalf("reply %q", m.Payload)
		}
		seen[m.Payload[3]]++
	}
	if len(seen) != 10 {
		t.Fatalf("replies: %v", seen)
	}
	_ = b.Close()
	waitFor(t, "the handler ends with the node", func() bool { return h.Stats().Closed })
	if s := h.Stats(); s.Delivered != 10 || s.Failed != 0 {
		t.Fatalf("stats: %+v", s)
	}
	if _, err := b.OnMessage(context.Background(), func(Message) {}); !errors.Is(err, ErrMeshShutdown) {
		t.Fatalf("on a closed node: %v", err)
	}
}

func TestManyHandlersConcurrently(t *testing.T) {
	n := mustBus(t, 4)
	var total atomic.Int64
	var handlers []*Handler
	for i := 0; i < 20; i++ {
		h, err := n.OnEvent(context.Background(), SubscribeOptions{}, func(Event) { total.Add(1) })
		if err != nil {
			t.Fatal(err)
		}
		handlers = append(handlers, h)
	}
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				_, _ = n.IngestRaw("e")
			}
		}()
	}
	wg.Wait()
	// Handlers compete for events: each event reaches exactly one of them.
	waitFor(t, "8000 events", func() bool { return total.Load() == 8000 })
	var sum uint64
	for _, h := range handlers {
		_ = h.Close()
		sum += h.Stats().Delivered
	}
	if sum != 8000 {
		t.Fatalf("delivered %d", sum)
	}
}
