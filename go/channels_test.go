package net

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

type reading struct {
	SensorID string  `json:"sensor_id"`
	Celsius  float64 `json:"celsius"`
}

func (r reading) Validate() error {
	if r.SensorID == "" {
		return errors.New("sensor_id is required")
	}
	return nil
}

func within(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	_ = cancel // released when the deadline passes
	return ctx
}

func TestLocalChannelsFanOutInOrder(t *testing.T) {
	node, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Shutdown()
	exact, _ := node.SubscribeChannel("sensors/temp")
	every, _ := node.SubscribeChannel("sensors/**")
	defer exact.Close()
	defer every.Close()
	if n, err := node.Publish("sensors/temp", []byte("21")); n != 2 || err != nil {
		t.Fatalf("publish: %d %v", n, err)
	}
	if n, _ := node.Publish("sensors/a/b", []byte{0, 255}); n != 1 {
		t.Fatalf("deep: %d", n)
	}
	m, err := exact.Next(within(time.Second))
	if err != nil || m.Channel != "sensors/temp" || string(m.Payload) != "21" || m.Publisher != 0 {
		t.Fatalf("exact: %+v %v", m, err)
	}
	if _, err := exact.Next(within(20 * time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("nothing more: %v", err)
	}
	first, _ := every.Next(within(time.Second))
	second, _ := every.Next(within(time.Second))
	if string(first.Payload) != "21" || !bytes.Equal(second.Payload, []byte{0, 255}) {
		t.Fatalf("every: %q %q", first.Payload, second.Payload)
	}
	stats, _ := node.ChannelStats()
	if stats != (LocalChannelStats{Published: 2, Delivered: 3, Subscriptions: 2}) {
		t.Fatalf("stats: %+v", stats)
	}
	if _, err := node.Publish("a//b", nil); !errors.Is(err, ErrInvalidChannelName) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := node.SubscribeChannel("a/**/b"); !errors.Is(err, ErrInvalidChannelName) {
		t.Fatalf("bad pattern: %v", err)
	}
}

func TestTypedChannelValidatesAndGoesOn(t *testing.T) {
	node, _ := New(nil)
	defer node.Shutdown()
	temps, err := NewChannel[reading](node, "sensors/temperature")
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := temps.Subscribe()
	defer sub.Close()
	if n, err := temps.Publish(reading{"A1", 22.5}); n != 1 || err != nil {
		t.Fatalf("publish: %d %v", n, err)
	}
	for _, bad := range []string{`{"sensor_id": 1}`, `not json`, `{"celsius": 2}`, `[]`, `null`} {
		_, _ = node.Publish("sensors/temperature", []byte(bad))
	}
	_, _ = temps.Publish(reading{"B2", -1})
	if got, err := sub.Next(within(time.Second)); err != nil || got != (reading{"A1", 22.5}) {
		t.Fatalf("first: %+v %v", got, err)
	}
	for i := 0; i < 5; i++ {
		if _, err := sub.Next(within(time.Second)); !errors.Is(err, ErrInvalidChannelMessage) {
			t.Fatalf("bad message %d: %v", i, err)
		}
	}
	if got, err := sub.Next(within(time.Second)); err != nil || got != (reading{"B2", -1}) {
		t.Fatalf("after the bad ones: %+v %v", got, err)
	}
	// A value that fails Validate, or has no JSON form, is not published.
	if _, err := temps.Publish(reading{}); !errors.Is(err, ErrInvalidChannelMessage) {
		t.Fatalf("invalid value: %v", err)
	}
	funcs, _ := NewChannel[func()](node, "funcs")
	if _, err := funcs.Publish(func() {}); !errors.Is(err, ErrInvalidChannelMessage) {
		t.Fatalf("no JSON form: %v", err)
	}
	if _, err := NewChannel[reading](node, "bad name"); !errors.Is(err, ErrInvalidChannelName) {
		t.Fatalf("bad name: %v", err)
	}
	_ = node.Shutdown()
	if _, err := sub.Next(within(time.Second)); !errors.Is(err, ErrShutdown) {
		t.Fatalf("after shutdown: %v", err)
	}
	if _, err := temps.Publish(reading{"C", 0}); !errors.Is(err, ErrShutdown) {
		t.Fatalf("publish after shutdown: %v", err)
	}
}

func TestTypedChannelManyGoroutines(t *testing.T) {
	node, _ := New(nil)
	defer node.Shutdown()
	ch, _ := NewChannel[[2]int](node, "load/typed")
	subs := make([]*TypedSubscription[[2]int], 3)
	for i := range subs {
		subs[i], _ = ch.Subscribe()
		defer subs[i].Close()
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				if n, err := ch.Publish([2]int{w, i}); n != 3 || err != nil {
					t.Errorf("publish: %d %v", n, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	for _, sub := range subs {
		next := [4]int{}
		for k := 0; k < 1200; k++ {
			v, err := sub.Next(within(5 * time.Second))
			if err != nil || v[1] != next[v[0]] {
				t.Fatalf("value %v (want %d from writer %d): %v", v, next[v[0]], v[0], err)
			}
			next[v[0]]++
		}
	}
}

func TestTypedChannelOverTheMesh(t *testing.T) {
	ctx := within(10 * time.Second)
	key := bytes.Repeat([]byte{3}, 32)
	publisher, err := OpenMesh(MeshConfig{NetworkKey: key, Bind: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer publisher.Close()
	subscriber, _ := OpenMesh(MeshConfig{NetworkKey: key, Bind: "127.0.0.1:0"})
	defer subscriber.Close()
	addr, _ := publisher.LocalAddr()
	if _, err := subscriber.Connect(ctx, addr, publisher.PublicKey()); err != nil {
		t.Fatal(err)
	}
	// Priority 5: the channel's messages travel on their own data stream.
	if err := publisher.RegisterChannel(ChannelConfig{Name: "plant/temps", Priority: 5}); err != nil {
		t.Fatal(err)
	}
	out, _ := NewMeshChannel[reading](publisher, "plant/temps")
	in, _ := NewMeshChannel[reading](subscriber, "plant/temps")
	sub, err := in.Subscribe(ctx, publisher.NodeID())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := 0; i < 10; i++ {
		if r, err := out.Publish(reading{fmt.Sprint("s", i), float64(i) / 2}); err != nil || r.Delivered != 1 {
			t.Fatalf("publish %d: %+v %v", i, r, err)
		}
	}
	for i := 0; i < 10; i++ {
		if got, err := sub.Next(ctx); err != nil || got != (reading{fmt.Sprint("s", i), float64(i) / 2}) {
			t.Fatalf("value %d: %+v %v", i, got, err)
		}
	}
	_, _ = publisher.Publish("plant/temps", []byte(`{"celsius":"hot"}`))
	if _, err := sub.Next(ctx); !errors.Is(err, ErrInvalidChannelMessage) {
		t.Fatalf("bad message: %v", err)
	}
}

func TestChannelConfigDefaultsComeFromTheEngine(t *testing.T) {
	got, err := ChannelConfig{Name: "a"}.Normalized()
	want := `{"block_timeout_ms":1000,"congestion":"block","name":"a","priority":0,"publish_caps":null,"reliable":true,"require_token":false,"subscribe_caps":null,"visibility":"global"}`
	if err != nil || got != want {
		t.Fatalf("defaults: %s %v", got, err)
	}
	got, _ = ChannelConfig{Name: "a", FireAndForget: true, Congestion: CongestionDrop, BlockTimeout: 1500 * time.Microsecond}.Normalized()
	if want := `"block_timeout_ms":2`; !bytes.Contains([]byte(got), []byte(want)) || !bytes.Contains([]byte(got), []byte(`"reliable":false`)) {
		t.Fatalf("options: %s", got)
	}
	if _, err := (ChannelConfig{Name: "a", BlockTimeout: -time.Second}).Normalized(); !errors.Is(err, ErrInvalidChannelConfig) {
		t.Fatalf("negative timeout: %v", err)
	}
	if got, err := (ChannelConfig{Name: "a", Priority: 7}).Normalized(); err != nil || !bytes.Contains([]byte(got), []byte(`"priority":7`)) {
		t.Fatalf("priority: %s %v", got, err)
	}
	if _, err := (ChannelConfig{Name: "a", Priority: 8}).Normalized(); !errors.Is(err, ErrInvalidChannelConfig) {
		t.Fatalf("priority 8: %v", err)
	}
}

func TestChannelPushHandlers(t *testing.T) {
	node, _ := New(nil)
	defer node.Shutdown()
	ch, _ := NewChannel[reading](node, "push/t")
	sub, _ := ch.Subscribe()
	got := make(chan any, 100)
	h, err := sub.OnMessage(context.Background(), func(r reading) { got <- r }, func(err error) { got <- err })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		_, _ = ch.Publish(reading{fmt.Sprint("s", i), float64(i)})
	}
	_, _ = node.Publish("push/t", []byte(`{}`))
	for i := 0; i < 50; i++ {
		if v := <-got; v != (reading{fmt.Sprint("s", i), float64(i)}) {
			t.Fatalf("value %d: %v", i, v)
		}
	}
	if v := <-got; !errors.Is(v.(error), ErrInvalidChannelMessage) {
		t.Fatalf("bad message: %v", v)
	}
	// Closing the subscription ends the handler after what was queued.
	_, _ = ch.Publish(reading{"last", 0})
	_ = sub.Close()
	if v := <-got; v != (reading{"last", 0}) {
		t.Fatalf("last: %v", v)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !h.Stats().Closed && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s := h.Stats(); !s.Closed || s.Delivered != 52 {
		t.Fatalf("stats: %+v", s)
	}

	raw, _ := node.SubscribeChannel("push/**")
	defer raw.Close()
	seen := make(chan ChannelMessage, 4)
	ctx, cancel := context.WithCancel(context.Background())
	rh, err := raw.OnMessage(ctx, func(m ChannelMessage) { seen <- m })
	if err != nil {
		t.Fatal(err)
	}
	_, _ = node.Publish("push/a/b", []byte("x"))
	if m := <-seen; m.Channel != "push/a/b" || string(m.Payload) != "x" || m.Publisher != 0 {
		t.Fatalf("raw: %+v", m)
	}
	cancel() // the context's end closes the handler
	for !rh.Stats().Closed && time.Now().Before(deadline.Add(5*time.Second)) {
		time.Sleep(time.Millisecond)
	}
	_, _ = node.Publish("push/a/b", []byte("y"))
	if m, err := raw.Next(within(time.Second)); err != nil || string(m.Payload) != "y" {
		t.Fatalf("pull after the handler: %+v %v", m, err)
	}
}
