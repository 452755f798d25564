package net

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultLinkStream is the engine's default bus link stream id.
const defaultLinkStream = 6452595

// waitLong polls cond until it holds, failing after 10 s (the machine may be
// loaded; links and lifetimes run on the engine's threads).
func waitLong(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mustLink(t)(mesh.LinkBus(...)) fails the test on an error and closes the
// link at the end.
func mustLink(t *testing.T) func(*BusLink, error) *BusLink {
	return func(link *BusLink, err error) *BusLink {
		t.Helper()
		if err != nil {
			t.Fatalf("link: %v", err)
		}
		t.Cleanup(func() { _ = link.Close() })
		return link
	}
}

func linkStats(t *testing.T, link *BusLink) BusLinkStats {
	t.Helper()
	st, err := link.Stats()
	if err != nil {
		t.Fatalf("link stats: %v", err)
	}
	return st
}

// pollAll polls bus until want events were read (10 s at most).
func pollAll(t *testing.T, bus *Node, want int) [][]byte {
	t.Helper()
	var got [][]byte
	cursor := ""
	waitLong(t, fmt.Sprintf("%d events polled", want), func() bool {
		page, err := bus.Poll(256, cursor)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		got = append(got, page.Events...)
		cursor = page.NextCursor
		return len(got) >= want
	})
	return got
}

func TestBusLinkOptionsJSON(t *testing.T) {
	for _, c := range []struct {
		opts BusLinkOptions
		want string
	}{
		{BusLinkOptions{}, `{}`},
		{BusLinkOptions{Direction: LinkSend}, `{"direction":"send"}`},
		{BusLinkOptions{Direction: LinkReceive, StreamID: 77, MaxBatch: 10, MessageBytes: 512},
			`{"direction":"receive","max_batch":10,"message_bytes":512,"stream_id":77}`},
		{BusLinkOptions{Direction: LinkSend, StreamID: 1<<64 - 1}, `{"direction":"send","stream_id":18446744073709551615}`},
		{BusLinkOptions{Direction: LinkDirection(9)}, `{"direction":"LinkDirection(9)"}`},
	} {
		text, err := c.opts.json()
		if err != nil || string(text) != c.want {
			t.Errorf("%+v: %s (%v), want %s", c.opts, text, err, c.want)
		}
	}
	var d LinkDirection
	if err := d.UnmarshalText([]byte("receive")); err != nil || d != LinkReceive || d.String() != "receive" {
		t.Fatalf("receive: %v %v", d, err)
	}
	if err := d.UnmarshalText([]byte("both")); err == nil {
		t.Fatal("both is not a direction")
	}
	if text, _ := LinkSend.MarshalText(); string(text) != "send" {
		t.Fatalf("send: %s", text)
	}
}

// linkedBuses connects two nodes and links a fresh bus on a (send, one shard
// so a goroutine's events keep their order) to a fresh bus on b (receive).
func linkedBuses(t *testing.T, opts BusLinkOptions) (a, b *Mesh, bID uint64, outbox, inbox *Node, sending, receiving *BusLink) {
	t.Helper()
	a, b, bID = meshPair(t)
	outbox, inbox = mustNew(t, &Config{NumShards: 1}), mustNew(t, nil)
	opts.Direction = LinkReceive
	receiving = mustLink(t)(b.LinkBus(inbox, a.NodeID(), opts))
	opts.Direction = LinkSend
	sending = mustLink(t)(a.LinkBus(outbox, bID, opts))
	return
}

func TestBusLinkCarriesEvents(t *testing.T) {
	a, b, bID := meshPair(t)
	outbox, inbox := mustNew(t, &Config{NumShards: 1}), mustNew(t, nil)
	receiving := mustLink(t)(b.ReceiveBus(inbox, a.NodeID()))
	sending := mustLink(t)(a.SendBus(outbox, bID))

	// 200 events: an empty one, one over 16 KiB (it travels in pieces),
	// binary ones, small JSON ones.
	events := make([][]byte, 200)
	total := 0
	for i := range events {
		switch {
		case i == 0:
			events[i] = []byte{}
		case i == 100:
			events[i] = bytes.Repeat([]byte("big "), 5000) // 20000 bytes
		case i%3 == 0:
			events[i] = append([]byte{0xff, 0x00, byte(i)}, bytes.Repeat([]byte{byte(i)}, i*7)...)
		default:
			events[i] = []byte(fmt.Sprintf(`{"i":%d}`, i))
		}
		total += len(events[i])
	}
	for _, e := range events[:100] {
		if _, err := outbox.IngestBytes(e); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := outbox.IngestBytesBatch(events[100:]); err != nil || n != 100 {
		t.Fatalf("batch: %d %v", n, err)
	}

	// B reads them with a subscription, exactly as emitted, in order.
	sub, err := inbox.Subscribe(testCtx(t, 10*time.Second), SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx := testCtx(t, 10*time.Second)
	for i, want := range events {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !bytes.Equal(ev.Raw, want) {
			t.Fatalf("event %d: %d bytes %q..., want %d bytes", i, len(ev.Raw), ev.Raw[:min(len(ev.Raw), 16)], len(want))
		}
	}
	// Link streams are not the application's: nothing reached B's inbox.
	if msg, ok, err := b.recvOnce(20); err != nil || ok {
		t.Fatalf("inbox got %+v %v", msg, err)
	}

	// The sender counts acknowledged events; the acknowledged batches leave A's bus.
	waitLong(t, "sender acknowledged", func() bool { return linkStats(t, sending).Events == 200 })
	waitLong(t, "outbox drained", func() bool {
		st, err := outbox.Stats()
		return err == nil && st.Buffered == 0
	})
	send, recv := linkStats(t, sending), linkStats(t, receiving)
	if send.Direction != LinkSend || send.Peer != bID || send.StreamID != defaultLinkStream ||
		send.Events != 200 || send.Bytes != uint64(total) || send.Messages == 0 || !send.Running || send.Err != nil {
		t.Fatalf("send stats %+v (total %d)", send, total)
	}
	if recv.Direction != LinkReceive || recv.Peer != a.NodeID() || recv.StreamID != defaultLinkStream ||
		recv.Events != 200 || recv.Bytes != send.Bytes || recv.Messages != send.Messages ||
		recv.Rejected != 0 || recv.Malformed != 0 || !recv.Running || recv.Err != nil {
		t.Fatalf("receive stats %+v, send %+v", recv, send)
	}
	if st, err := inbox.Stats(); err != nil || st.Ingested != 200 {
		t.Fatalf("inbox stats %+v %v", st, err)
	}
}

func TestBusLinkSmallMessagesAndBatches(t *testing.T) {
	_, _, _, outbox, inbox, sending, receiving := linkedBuses(t,
		BusLinkOptions{StreamID: 1<<64 - 2, MaxBatch: 3, MessageBytes: 16})
	want := []string{"a", "", "an event much longer than sixteen bytes", "héllo ✓", "z", `{"n":6}`, "seven"}
	for _, e := range want {
		if _, err := outbox.IngestRaw(e); err != nil {
			t.Fatal(err)
		}
	}
	got := pollAll(t, inbox, len(want))
	for i := range want {
		if string(got[i]) != want[i] {
			t.Fatalf("event %d: %q, want %q", i, got[i], want[i])
		}
	}
	waitLong(t, "acknowledged", func() bool { return linkStats(t, sending).Events == uint64(len(want)) })
	for _, st := range []BusLinkStats{linkStats(t, sending), linkStats(t, receiving)} {
		// A stream id above 2^63 comes back exactly; 16-byte messages split the long event.
		if st.StreamID != 1<<64-2 || st.Messages < 4 {
			t.Fatalf("stats %+v", st)
		}
	}
}

func TestBusLinkConcurrentProducers(t *testing.T) {
	a, b, bID := meshPair(t)
	// Four shards: each producer locks its OS thread, so its events stay in
	// one shard, which keeps them in order.
	outbox, inbox := mustNew(t, &Config{NumShards: 4}), mustNew(t, nil)
	mustLink(t)(b.LinkBus(inbox, a.NodeID(), BusLinkOptions{Direction: LinkReceive, StreamID: 40}))
	sending := mustLink(t)(a.LinkBus(outbox, bID, BusLinkOptions{Direction: LinkSend, StreamID: 40, MaxBatch: 64}))
	const producers, each = 6, 250
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for i := 0; i < each; i++ {
				if _, err := outbox.IngestRaw(fmt.Sprintf("%d:%d", p, i)); err != nil {
					errs <- err
					return
				}
			}
		}(p)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := pollAll(t, inbox, producers*each)
	if len(got) != producers*each {
		t.Fatalf("%d events, want %d", len(got), producers*each)
	}
	next := make([]int, producers)
	seen := make([]string, 0, len(got))
	for _, e := range got {
		parts := strings.SplitN(string(e), ":", 2)
		p, err1 := strconv.Atoi(parts[0])
		i, err2 := strconv.Atoi(parts[1])
		if err1 != nil || err2 != nil || p < 0 || p >= producers {
			t.Fatalf("event %q", e)
		}
		if i != next[p] {
			t.Fatalf("producer %d: event %d after %d", p, i, next[p]-1)
		}
		next[p]++
		seen = append(seen, string(e))
	}
	var want []string
	for p := 0; p < producers; p++ {
		for i := 0; i < each; i++ {
			want = append(want, fmt.Sprintf("%d:%d", p, i))
		}
	}
	sort.Strings(seen)
	sort.Strings(want)
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("sorted event %d: %s, want %s", i, seen[i], want[i])
		}
	}
	waitLong(t, "acknowledged", func() bool { return linkStats(t, sending).Events == producers*each })
}

func TestBusLinkErrors(t *testing.T) {
	a, b, bID := meshPair(t)
	bus := mustNew(t, nil)

	_, err := a.SendBus(bus, 42)
	wantKind(t, "send link to an unknown peer", err, ErrUnknownPeer)
	// A receive link does not need the session yet.
	mustLink(t)(b.LinkBus(mustNew(t, nil), 42, BusLinkOptions{Direction: LinkReceive, StreamID: 3}))

	mustLink(t)(b.ReceiveBus(mustNew(t, nil), a.NodeID()))
	_, err = b.ReceiveBus(mustNew(t, nil), a.NodeID())
	wantKind(t, "second receive link on the stream", err, ErrInvalidMeshConfig)
	// Another stream from the same peer is free.
	mustLink(t)(b.LinkBus(mustNew(t, nil), a.NodeID(), BusLinkOptions{Direction: LinkReceive, StreamID: 4}))

	// A link's streams are the bus link's own: the application's stream 5,
	// opened with a window of one, does not stand in the way of a link on 5.
	app, err := a.OpenStream(bID, 5, StreamConfig{Reliable: true, Window: 1})
	if err != nil {
		t.Fatal(err)
	}
	onFive, err := a.LinkBus(bus, bID, BusLinkOptions{Direction: LinkSend, StreamID: 5})
	if err != nil {
		t.Fatalf("a send link on the link's stream 5: %v", err)
	}
	if err := onFive.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := app.Stats(); err != nil || st.Window != 1 {
		t.Fatalf("the application's stream 5 after the link: %+v, %v", st, err)
	}

	for _, c := range []struct {
		name string
		opts BusLinkOptions
	}{
		{"no direction", BusLinkOptions{StreamID: 9}},
		{"unknown direction", BusLinkOptions{Direction: LinkDirection(9)}},
		{"negative max batch", BusLinkOptions{Direction: LinkSend, MaxBatch: -1}},
		{"max batch over 65536", BusLinkOptions{Direction: LinkSend, MaxBatch: 65537}},
		{"message bytes below 6", BusLinkOptions{Direction: LinkReceive, MessageBytes: 5}},
		{"message bytes over a stream message", BusLinkOptions{Direction: LinkSend, MessageBytes: maxReliablePayload + 1}},
	} {
		link, err := a.LinkBus(bus, bID, c.opts)
		if err == nil {
			_ = link.Close()
		}
		wantKind(t, c.name, err, ErrInvalidMeshConfig)
	}
	// Zero means "default" in BusLinkOptions; the engine's own zero is invalid.
	_, err = a.linkBusJSON(bus, bID, `{"direction": "send", "max_batch": 0}`)
	wantKind(t, "max_batch 0", err, ErrInvalidMeshConfig)
	_, err = a.linkBusJSON(bus, bID, `{"direction": "send", "colour": "blue"}`)
	wantKind(t, "unknown option", err, ErrInvalidMeshConfig)

	_, err = a.SendBus(nil, bID)
	wantKind(t, "nil bus", err, ErrNullPointer)

	down := mustNew(t, nil)
	if err := down.Shutdown(); err != nil {
		t.Fatal(err)
	}
	_, err = a.SendBus(down, bID)
	wantKind(t, "send from a shut-down bus", err, ErrShutdown)
	_, err = b.LinkBus(down, a.NodeID(), BusLinkOptions{Direction: LinkReceive, StreamID: 8})
	wantKind(t, "receive into a shut-down bus", err, ErrShutdown)

	c := mustMesh(t, MeshConfig{})
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	_, err = c.ReceiveBus(bus, a.NodeID())
	wantKind(t, "link on a shut-down node", err, ErrMeshShutdown)
	_ = c.Close()
	_, err = c.ReceiveBus(bus, a.NodeID())
	wantKind(t, "link on a closed node", err, ErrMeshShutdown)
}

func TestBusLinkCloseAndShutdown(t *testing.T) {
	a, b, _, outbox, inbox, sending, receiving := linkedBuses(t, BusLinkOptions{StreamID: 21})
	if _, err := outbox.IngestRaw("before close"); err != nil {
		t.Fatal(err)
	}
	if got := pollAll(t, inbox, 1); string(got[0]) != "before close" {
		t.Fatalf("got %q", got[0])
	}
	waitLong(t, "acknowledged", func() bool { return linkStats(t, sending).Events == 1 })
	waitLong(t, "outbox drained", func() bool {
		st, err := outbox.Stats()
		return err == nil && st.Buffered == 0
	})

	// Close from several goroutines at once, then again: all fine.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sending.Close(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := sending.Close(); err != nil {
		t.Fatal(err)
	}
	st := linkStats(t, sending)
	if st.Running || st.Err != nil || st.Direction != LinkSend || st.Events != 1 || st.StreamID != 21 {
		t.Fatalf("stats after close %+v", st)
	}
	// Events emitted after the send link closed stay in the bus.
	if _, err := outbox.IngestRaw("after close"); err != nil {
		t.Fatal(err)
	}
	if st, err := outbox.Stats(); err != nil || st.Buffered != 1 {
		t.Fatalf("outbox after close %+v %v", st, err)
	}

	// Shutting down the receiving node stops the receive link on its own.
	if err := b.Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "receive link stopped", func() bool { return !linkStats(t, receiving).Running })
	st = linkStats(t, receiving)
	if st.Err == nil || !errors.Is(st.Err, ErrMeshShutdown) || !strings.HasPrefix(st.Err.Error(), "mesh:shutdown") || st.Events != 1 {
		t.Fatalf("receive link after node shutdown %+v (%v)", st, st.Err)
	}
	// Closing the node does not free the link: it still answers, and closes.
	_ = b.Close()
	if st := linkStats(t, receiving); st.Running || !errors.Is(st.Err, ErrMeshShutdown) {
		t.Fatalf("after the node closed %+v", st)
	}
	if err := receiving.Close(); err != nil {
		t.Fatal(err)
	}
	if st := linkStats(t, receiving); st.Running || !errors.Is(st.Err, ErrMeshShutdown) || st.Peer != a.NodeID() {
		t.Fatalf("after close %+v", st)
	}

	// Shutting down the sending bus stops a send link on its own.
	c, d, dID := meshPair(t)
	src := mustNew(t, nil)
	mustLink(t)(d.ReceiveBus(mustNew(t, nil), c.NodeID()))
	link := mustLink(t)(c.SendBus(src, dID))
	if err := src.Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "send link stopped", func() bool { return !linkStats(t, link).Running })
	if st := linkStats(t, link); !errors.Is(st.Err, ErrShutdown) {
		t.Fatalf("send link after bus shutdown %+v (%v)", st, st.Err)
	}
}

func TestMeshSessionLifetimeConfig(t *testing.T) {
	text, err := MeshConfig{RekeyInterval: 1500 * time.Microsecond, SessionTimeout: 3 * time.Second}.json()
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != `{"rekey_interval_ms":2,"session_timeout_ms":3000}` {
		t.Fatalf("config JSON: %s", text)
	}
	for _, c := range []struct {
		name string
		cfg  MeshConfig
	}{
		{"negative rekey interval", MeshConfig{RekeyInterval: -time.Millisecond}},
		{"negative session timeout", MeshConfig{SessionTimeout: -time.Second}},
		{"timeout below three default beacons", MeshConfig{SessionTimeout: 2 * time.Second}},
		{"timeout below three beacons", MeshConfig{BeaconInterval: 50 * time.Millisecond, SessionTimeout: 149 * time.Millisecond}},
	} {
		c.cfg.NetworkKey, c.cfg.Bind = testNetworkKey, "127.0.0.1:0"
		m, err := OpenMesh(c.cfg)
		if err == nil {
			m.Close()
		}
		wantKind(t, c.name, err, ErrInvalidMeshConfig)
	}
	mustMesh(t, MeshConfig{BeaconInterval: 50 * time.Millisecond, SessionTimeout: 150 * time.Millisecond, RekeyInterval: time.Hour})
	key := hex.EncodeToString(testNetworkKey)
	for _, field := range []string{"rekey_interval_ms", "session_timeout_ms"} {
		m, err := openMeshJSON(`{"network_key": "` + key + `", "bind": "127.0.0.1:0", "` + field + `": 0}`)
		if err == nil {
			m.Close()
		}
		wantKind(t, field+" 0", err, ErrInvalidMeshConfig)
	}
}

func TestMeshSessionLifetimes(t *testing.T) {
	a := mustMesh(t, MeshConfig{RekeyInterval: 100 * time.Millisecond, BeaconInterval: 50 * time.Millisecond})
	b := mustMesh(t, MeshConfig{BeaconInterval: 50 * time.Millisecond, SessionTimeout: 600 * time.Millisecond})
	addr, err := b.LocalAddr()
	if err != nil {
		t.Fatal(err)
	}
	bID, err := a.Connect(testCtx(t, 10*time.Second), addr, b.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	waitLong(t, "two rekeys", func() bool {
		st, err := a.Stats()
		return err == nil && st.SessionsRekeyed >= 2
	})
	// Streams carry on over the fresh keys.
	if err := a.Send(bID, 1, []byte("fresh keys")); err != nil {
		t.Fatal(err)
	}
	if msg := recvOne(t, b); string(msg.Payload) != "fresh keys" || msg.From != a.NodeID() {
		t.Fatalf("after rekeys: %+v", msg)
	}
	if st, err := b.Stats(); err != nil || st.SessionsExpired != 0 {
		t.Fatalf("b before the peer went away: %+v %v", st, err)
	}

	// a goes silent: b drops the session after 600 ms.
	if err := a.Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitLong(t, "session expired", func() bool {
		st, err := b.Stats()
		return err == nil && st.SessionsExpired >= 1
	})
	if st, err := b.Stats(); err != nil || st.SessionsExpired != 1 {
		t.Fatalf("b after expiry: %+v %v", st, err)
	}
	peers, err := b.Peers()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := peerByID(peers, a.NodeID()); ok {
		t.Fatalf("expired peer still listed: %+v", peers)
	}
	wantKind(t, "send to an expired peer", b.Send(a.NodeID(), 1, []byte("anyone?")), ErrUnknownPeer)
}
