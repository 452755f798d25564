package net

import (
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
