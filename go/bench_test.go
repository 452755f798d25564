package net

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var event64 = `{"token":"hello","index":12345,"pad":"` + strings.Repeat("x", 24) + `"}`

func benchNode(b *testing.B) *Node {
	n, err := New(&Config{NumShards: 4, Backpressure: "drop_oldest"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Close() })
	return n
}

// BenchmarkIngestRawBatch1000x64B: batch ingest through cgo, 64-byte events.
func BenchmarkIngestRawBatch1000x64B(b *testing.B) {
	if len(event64) != 64 {
		b.Fatalf("event is %d bytes", len(event64))
	}
	n := benchNode(b)
	batch := make([]string, 1000)
	for i := range batch {
		batch[i] = event64
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if n.IngestRawBatch(batch) != 1000 {
			b.Fatal("batch refused")
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkIngestRawSingle64B: one cgo call per event (per-call overhead).
func BenchmarkIngestRawSingle64B(b *testing.B) {
	n := benchNode(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := n.IngestRaw(event64); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLog(b *testing.B) *Log {
	rx, err := OpenRedex("")
	if err != nil {
		b.Fatal(err)
	}
	log, err := rx.OpenLog("bench", LogConfig{MaxEvents: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rx.Close() })
	return log
}

// BenchmarkLogAppend32B: one RedEX append through cgo, 32-byte payload (in memory).
func BenchmarkLogAppend32B(b *testing.B) {
	log := benchLog(b)
	payload := []byte(strings.Repeat("p", 32))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := log.Append(payload); err != nil {
			b.Fatal(err)
		}
		if i&0xFFFF == 0xFFFF {
			_, _ = log.SweepRetention()
		}
	}
}

// BenchmarkLogAppendBatch64x64B: a 64-entry atomic batch of 64-byte payloads.
func BenchmarkLogAppendBatch64x64B(b *testing.B) {
	log := benchLog(b)
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = []byte(event64)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := log.AppendBatch(batch); err != nil {
			b.Fatal(err)
		}
		if i&0x3FF == 0x3FF {
			_, _ = log.SweepRetention()
		}
	}
	b.ReportMetric(float64(b.N)*64/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkTasksCreate: NetDB tasks.create through the binding (JSON control plane).
func BenchmarkTasksCreate(b *testing.B) {
	db, err := OpenNetDB(NetDBOptions{NoMemories: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Tasks().Create(uint64(i), "write the benchmark"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTasksFindMany1k: find_many over 1 000 tasks (500 match), results decoded.
func BenchmarkTasksFindMany1k(b *testing.B) {
	db, err := OpenNetDB(NetDBOptions{NoMemories: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	var last WriteToken
	for i := 0; i < 1000; i++ {
		last, _ = db.Tasks().Create(uint64(i), "task")
		if i%2 == 0 {
			last, _ = db.Tasks().Complete(uint64(i))
		}
	}
	if err := db.WaitForToken(context.Background(), last); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := db.Tasks().FindMany(TasksFilter{Status: "pending"})
		if err != nil || len(got) != 500 {
			b.Fatal(len(got), err)
		}
	}
}

// benchMesh sends b.N messages from one in-process node to another over
// loopback, in bursts of 64 that are received before the next burst.
func benchMesh(b *testing.B, reliable bool, size int) {
	a, peer, peerID := meshPair(b)
	stream, err := a.OpenStream(peerID, 2, StreamConfig{Reliable: reliable})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, size)
	ctx := context.Background()
	lost := 0
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		burst := min(64, b.N-sent)
		for i := 0; i < burst; i++ {
			if err := stream.SendBlocking(ctx, payload); err != nil {
				b.Fatal(err)
			}
		}
		sent += burst
		// Fire-and-forget may lose a datagram: give up on the burst after a while.
		wait, cancel := context.WithTimeout(ctx, 2*time.Second)
		for i := 0; i < burst; i++ {
			msg, err := peer.Recv(wait)
			if err != nil && !reliable && errors.Is(err, context.DeadlineExceeded) {
				lost += burst - i
				break
			}
			if err != nil || len(msg.Payload) != size {
				b.Fatalf("recv: %v (%d bytes)", err, len(msg.Payload))
			}
		}
		cancel()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N-lost)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(lost), "lost")
}

// BenchmarkMeshFireAndForget64B: encrypted send + recv through cgo, 64-byte messages.
func BenchmarkMeshFireAndForget64B(b *testing.B) { benchMesh(b, false, 64) }

// BenchmarkMeshFireAndForget1024B: the same with 1 KiB messages.
func BenchmarkMeshFireAndForget1024B(b *testing.B) { benchMesh(b, false, 1024) }

// BenchmarkMeshReliable64B: a reliable stream (acks, window), 64-byte messages.
func BenchmarkMeshReliable64B(b *testing.B) { benchMesh(b, true, 64) }

// BenchmarkMeshReliable1024B: a reliable stream, 1 KiB messages.
func BenchmarkMeshReliable1024B(b *testing.B) { benchMesh(b, true, 1024) }

// BenchmarkBusOverMesh64B: 64-byte events emitted on one node's bus (in
// batches of 256) and polled from the peer's bus, through a send and a
// receive link; at most 16384 events are on their way at once, so neither
// ring buffer drops any.
func BenchmarkBusOverMesh64B(b *testing.B) {
	a, peer, peerID := meshPair(b)
	outbox, err := New(&Config{NumShards: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = outbox.Close() })
	inbox, err := New(&Config{NumShards: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = inbox.Close() })
	for _, link := range []func() (*BusLink, error){
		func() (*BusLink, error) { return peer.ReceiveBus(inbox, a.NodeID()) },
		func() (*BusLink, error) { return a.SendBus(outbox, peerID) },
	} {
		l, err := link()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = l.Close() })
	}
	const window, burst = 16384, 256
	batch := make([]string, burst)
	for i := range batch {
		batch[i] = event64
	}
	cursor := ""
	sent, received := 0, 0
	b.SetBytes(64)
	b.ReportAllocs()
	b.ResetTimer()
	for received < b.N {
		if n := min(burst, b.N-sent, window-(sent-received)); n > 0 {
			if _, err := outbox.TryIngestRawBatch(batch[:n]); err != nil {
				b.Fatal(err)
			}
			sent += n
		}
		page, err := inbox.Poll(4096, cursor)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range page.Events {
			if len(e) != 64 {
				b.Fatalf("event of %d bytes", len(e))
			}
		}
		received += len(page.Events)
		cursor = page.NextCursor
		if len(page.Events) == 0 && sent-received >= window {
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.StopTimer()
	if received != b.N {
		b.Fatalf("received %d of %d", received, b.N)
	}
	if st, err := inbox.Stats(); err != nil || st.Dropped != 0 {
		b.Fatalf("inbox dropped events: %+v %v", st, err)
	}
	b.ReportMetric(float64(received)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkOnEventThroughput64B: a Go handler per event, called through the
// cgo trampoline from the engine's callback threads.
func BenchmarkOnEventThroughput64B(b *testing.B) {
	n, err := New(&Config{NumShards: 1, RingBufferCapacity: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	batch := make([]string, 1000)
	for i := range batch {
		batch[i] = event64
	}
	var seen atomic.Int64
	done := make(chan struct{})
	total := int64(b.N) * 1000
	h, err := n.OnEvent(context.Background(), SubscribeOptions{}, func(Event) {
		if seen.Add(1) == total {
			close(done)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Stay within the ring (no event dropped): at most 256k ahead.
		for int64(i)*1000-seen.Load() > 256_000 {
			runtime.Gosched()
		}
		if n.IngestRawBatch(batch) != 1000 {
			b.Fatal("batch refused")
		}
	}
	<-done
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkOnEventLatency64B: emit one event, wait for the handler's call.
func BenchmarkOnEventLatency64B(b *testing.B) {
	n := benchNode(b)
	arrived := make(chan struct{}, 1)
	h, err := n.OnEvent(context.Background(), SubscribeOptions{}, func(Event) { arrived <- struct{}{} })
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := n.IngestRaw(event64); err != nil {
			b.Fatal(err)
		}
		<-arrived
	}
}
