package net

import (
	"context"
	"strings"
	"testing"
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
