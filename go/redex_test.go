package net

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

func TestRedexAppendReadTailAndReopen(t *testing.T) {
	dir := t.TempDir()
	rx, err := OpenRedex(dir)
	if err != nil {
		t.Fatal(err)
	}
	log, err := rx.OpenLog("orders/eu", LogConfig{MaxPayload: 64, Fsync: FsyncPolicy{EveryN: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if seq, err := log.Append([]byte("first")); err != nil || seq != 0 {
		t.Fatalf("append: %d %v", seq, err)
	}
	if seq, err := log.Append([]byte("8 bytes!")); err != nil || seq != 1 {
		t.Fatalf("inline append: %d %v", seq, err)
	}
	if _, err := log.Append(make([]byte, 65)); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("want ErrPayloadTooLarge, got %v", err)
	}
	first, n, err := log.AppendBatch([][]byte{[]byte("a"), []byte("bb"), {}})
	if err != nil || first != 2 || n != 3 {
		t.Fatalf("batch: %d %d %v", first, n, err)
	}
	if _, n, err := log.AppendBatch(nil); err != nil || n != 0 {
		t.Fatalf("empty batch: %d %v", n, err)
	}
	// A failing batch appends nothing.
	if _, _, err := log.AppendBatch([][]byte{[]byte("ok"), make([]byte, 100)}); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("oversized batch: %v", err)
	}
	if next, _ := log.NextSeq(); next != 5 {
		t.Fatalf("next seq %d, want 5", next)
	}
	got, err := log.ReadRange(1, 4)
	if err != nil || len(got) != 3 || got[0].Seq != 1 || string(got[0].Payload) != "8 bytes!" ||
		string(got[2].Payload) != "bb" || got[0].TimestampNs == 0 {
		t.Fatalf("read range: %+v %v", got, err)
	}
	tail, err := log.Tail(3)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	entries, err := tail.Next(ctx, 10)
	if err != nil || len(entries) != 2 || entries[0].Seq != 3 || len(entries[1].Payload) != 0 {
		t.Fatalf("tail backfill: %+v %v", entries, err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancelShort()
	if _, err := tail.Next(short, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline, got %v", err)
	}
	if err := log.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tail.Next(ctx, 10); !errors.Is(err, io.EOF) {
		t.Fatalf("tail after close: %v", err)
	}
	tail.Close()
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}

	rx2, err := OpenRedex(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer rx2.Close()
	log2, err := rx2.OpenLog("orders/eu", LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := log2.Recovery()
	if err != nil || rec.Entries != 5 || len(rec.CorruptSeqs) != 0 {
		t.Fatalf("recovery %+v %v", rec, err)
	}
	all, _ := log2.ReadRange(0, ^uint64(0))
	if len(all) != 5 || string(all[0].Payload) != "first" {
		t.Fatalf("replayed %+v", all)
	}
	if _, err := log2.Append([]byte("after reopen")); err != nil {
		t.Fatal(err)
	}
}

func TestRedexBadInput(t *testing.T) {
	rx, err := OpenRedex("")
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if _, err := rx.OpenLog("../escape", LogConfig{}); !errors.Is(err, ErrInvalidLogArgument) {
		t.Fatalf("want ErrInvalidLogArgument, got %v", err)
	}
	if _, err := rx.OpenLog("x", LogConfig{Fsync: FsyncPolicy{EveryN: 1, Interval: time.Second}}); !errors.Is(err, ErrInvalidLogConfig) {
		t.Fatalf("conflicting fsync: %v", err)
	}
	if _, err := DecodeRedexRecord([]byte("short")); !errors.Is(err, ErrMalformed) {
		t.Fatalf("record: %v", err)
	}
	framed, _ := FrameEvent(0x81, 1, 2, []byte("payload"))
	framed[len(framed)-1] ^= 1
	if _, _, err := UnframeEvent(framed); !errors.Is(err, ErrDecode) {
		t.Fatalf("frame: %v", err)
	}
	log, _ := rx.OpenLog("x", LogConfig{})
	log.Close()
	log.Close()
	if _, err := log.Append([]byte("x")); !errors.Is(err, ErrInvalidHandle) {
		t.Fatalf("append after Close: %v", err)
	}
}

// Concurrent appenders and a tail: the tail sees every sequence exactly once, in order.
func TestRedexTailUnderConcurrentAppends(t *testing.T) {
	rx, _ := OpenRedex("")
	defer rx.Close()
	log, err := rx.OpenLog("live", LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 500
	tail, _ := log.Tail(0)
	defer tail.Close()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := log.Append([]byte(fmt.Sprintf("%d/%d", w, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var want uint64
	seen := map[string]bool{}
	for want < writers*each {
		entries, err := tail.Next(ctx, 256)
		if err != nil {
			t.Fatalf("after %d: %v", want, err)
		}
		for _, e := range entries {
			if e.Seq != want {
				t.Fatalf("gap or duplicate: got seq %d, want %d", e.Seq, want)
			}
			seen[string(e.Payload)] = true
			want++
		}
	}
	wg.Wait()
	if len(seen) != writers*each {
		t.Fatalf("%d distinct payloads, want %d", len(seen), writers*each)
	}
}

// One writer per log directory: a second opener gets ErrLogLocked at once,
// and a zero fsync interval is refused instead of spinning a core.
func TestRedexLocksItsDirectoryAndRefusesAZeroInterval(t *testing.T) {
	dir := t.TempDir()
	a, err := OpenRedex(dir)
	if err != nil {
		t.Fatal(err)
	}
	log, err := a.OpenLog("orders", LogConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenRedex(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.OpenLog("orders", LogConfig{}); !errors.Is(err, ErrLogLocked) {
		t.Fatalf("second opener: %v", err)
	}
	if _, err := log.Append([]byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := b.OpenLog("orders", LogConfig{})
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	if seq, err := again.Append([]byte("next")); err != nil || seq != 1 {
		t.Fatalf("append after reopen: %d %v", seq, err)
	}
	if _, err := b.OpenLog("fast", LogConfig{Fsync: FsyncPolicy{Interval: time.Nanosecond}}); err != nil {
		t.Fatalf("a sub-millisecond interval rounds up to 1 ms: %v", err)
	}
}
