package net

// The bus: create a node, emit, poll, stats, shutdown. cgo over net.h.

/*
#include <stdlib.h>
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

// Config configures a node. Zero values keep the engine's defaults.
type Config struct {
	// NumShards is the number of shards (default: the number of CPU cores).
	NumShards int
	// RingBufferCapacity is the events each shard buffers (default 65536).
	RingBufferCapacity int
	// Backpressure is "drop_oldest" (default), "drop_newest" or "fail".
	Backpressure string
	// MaxEventSize is the largest event in bytes (default 1 MiB).
	MaxEventSize int
}

// Receipt says where an accepted event went.
type Receipt struct {
	Shard uint16
	Seq   uint64
}

// EventMeta is an event's stamp.
type EventMeta struct {
	Shard       uint16
	Seq         uint64
	TimestampNs uint64
}

// Event is a payload with its stamp.
type Event struct {
	EventMeta
	// Raw is the payload exactly as emitted.
	Raw []byte
}

// PollResponse is the result of a poll.
type PollResponse struct {
	// Events holds each event's payload (so string(event) prints it).
	Events [][]byte
	// Meta holds each event's stamp, parallel to Events.
	Meta []EventMeta
	// NextCursor resumes after these events (and acknowledges them).
	NextCursor string
	// HasMore says more events were buffered beyond this response.
	HasMore bool
}

// Stats are the node's counters.
type Stats struct {
	Ingested    uint64   `json:"ingested"`
	Dropped     uint64   `json:"dropped"`
	Buffered    uint64   `json:"buffered"`
	ShardDepths []uint64 `json:"shard_depths"`
}

// Health summarizes the node's state.
type Health struct {
	Status     string `json:"status"`
	NumShards  int    `json:"num_shards"`
	FullShards int    `json:"full_shards"`
}

// Node is a Net bus. Its methods are safe for concurrent use.
type Node struct {
	handle *C.net_bus_t
	mu     sync.Mutex // guards closed
	closed bool
}

// packBuf is a reusable batch buffer: events back to back plus their lengths.
type packBuf struct {
	data []byte
	lens []C.size_t
}

var packPool = sync.Pool{New: func() any { return &packBuf{} }}

// fill replaces the buffer's contents with count items.
func (buf *packBuf) fill(count int, item func(i int) []byte) {
	buf.data = buf.data[:0]
	buf.lens = buf.lens[:0]
	for i := 0; i < count; i++ {
		b := item(i)
		buf.data = append(buf.data, b...)
		buf.lens = append(buf.lens, C.size_t(len(b)))
	}
}

// dataPtr and lensPtr are the C views of the buffer (valid only during a call).
func (buf *packBuf) dataPtr() *C.uint8_t { return (*C.uint8_t)(unsafe.Pointer(bytesPtr(buf.data))) }

func (buf *packBuf) lensPtr() *C.size_t {
	if len(buf.lens) == 0 {
		return nil
	}
	return &buf.lens[0]
}

var abiChecked = func() error {
	if v := uint32(C.net_abi_version()); v != ABIVersion {
		return ErrABIMismatch.with(fmt.Sprintf(
			"libnet has ABI %d, this package (github.com/netmesh-dev/net/go %s) expects %d: "+
				"link the libnet of the same release (scripts/install of Net %s), or build without -tags netsystem "+
				"to use the one this module carries", v, Version, ABIVersion, Version))
	}
	return nil
}()

// lastError reads the calling thread's error detail; the caller must have
// locked the OS thread around the failing call.
func lastError(rc C.int32_t) error {
	msg := C.net_last_error_detail()
	text := ""
	if msg != nil {
		text = C.GoString(msg)
	}
	return errorFor(int(rc), text)
}

// cCall runs a C call with the OS thread locked, so a failure's message is
// read on the thread that recorded it. (Hot paths inline this to avoid the closure.)
func cCall(f func() C.int32_t) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := f(); rc < 0 {
		return lastError(rc)
	}
	return nil
}

// New creates a node from a Config.
func New(cfg *Config) (*Node, error) {
	fields := map[string]any{}
	if cfg != nil {
		if cfg.NumShards != 0 {
			fields["num_shards"] = cfg.NumShards
		}
		if cfg.RingBufferCapacity != 0 {
			fields["ring_buffer_capacity"] = cfg.RingBufferCapacity
		}
		if cfg.Backpressure != "" {
			fields["backpressure"] = cfg.Backpressure
		}
		if cfg.MaxEventSize != 0 {
			fields["max_event_size"] = cfg.MaxEventSize
		}
	}
	text, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	return NewFromJSON(string(text))
}

// NewFromJSON creates a node from the engine's JSON configuration
// (keys num_shards, ring_buffer_capacity, backpressure, max_event_size).
func NewFromJSON(config string) (*Node, error) {
	if abiChecked != nil {
		return nil, abiChecked
	}
	cs := C.CString(config)
	defer C.free(unsafe.Pointer(cs))
	var handle *C.net_bus_t
	if err := cCall(func() C.int32_t { return C.net_bus_new(cs, C.size_t(len(config)), &handle) }); err != nil {
		return nil, err
	}
	n := &Node{handle: handle}
	runtime.SetFinalizer(n, func(n *Node) { _ = n.Close() })
	return n, nil
}

// bytesPtr returns a C pointer to b's data (valid only during the call).
func bytesPtr(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(&b[0]))
}

func (n *Node) ingest(data []byte, json bool) (Receipt, error) {
	var r C.net_receipt_t
	runtime.LockOSThread()
	var rc C.int32_t
	if json {
		rc = C.net_ingest_json(n.handle, bytesPtr(data), C.size_t(len(data)), &r)
	} else {
		rc = C.net_ingest_raw_ex(n.handle, bytesPtr(data), C.size_t(len(data)), &r)
	}
	var err error
	if rc < 0 {
		err = lastError(rc)
	}
	runtime.UnlockOSThread()
	runtime.KeepAlive(data)
	return Receipt{Shard: uint16(r.shard), Seq: uint64(r.seq)}, err
}

// Ingest marshals v to JSON and emits it.
func (n *Node) Ingest(v any) (Receipt, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return Receipt{}, ErrInvalidJSON.with(err.Error())
	}
	return n.ingest(data, true)
}

// IngestJSON emits a JSON document given as text; invalid JSON is ErrInvalidJSON.
func (n *Node) IngestJSON(s string) (Receipt, error) {
	return n.ingest(unsafe.Slice(unsafe.StringData(s), len(s)), true)
}

// IngestRaw emits a string as raw bytes (any content).
func (n *Node) IngestRaw(s string) (Receipt, error) {
	return n.ingest(unsafe.Slice(unsafe.StringData(s), len(s)), false)
}

// IngestBytes emits raw bytes (any content).
func (n *Node) IngestBytes(b []byte) (Receipt, error) {
	return n.ingest(b, false)
}

// packBatch packs events into one reused buffer plus lengths, so a batch costs
// one cgo call and no per-event allocation.
func (n *Node) packBatch(count int, item func(i int) []byte, json bool) (int, error) {
	buf := packPool.Get().(*packBuf)
	defer packPool.Put(buf)
	buf.fill(count, item)
	var out C.size_t
	runtime.LockOSThread()
	var rc C.int32_t
	if json {
		rc = packedJSON(n.handle, buf.data, buf.lens, &out)
	} else {
		rc = C.net_ingest_raw_packed(n.handle, buf.dataPtr(), C.size_t(len(buf.data)),
			buf.lensPtr(), C.size_t(len(buf.lens)), &out)
	}
	var err error
	if rc < 0 {
		err = lastError(rc)
	}
	runtime.UnlockOSThread()
	return int(out), err
}

// packedJSON validates a packed batch as JSON: the C ABI takes pointer arrays
// for JSON batches, built here in C memory (cgo forbids Go pointers in Go memory
// passed to C).
func packedJSON(h *C.net_bus_t, packed []byte, lens []C.size_t, out *C.size_t) C.int32_t {
	count := len(lens)
	if count == 0 {
		return C.net_ingest_json_batch(h, nil, nil, 0, out)
	}
	ptrs := unsafe.Slice((**C.char)(C.malloc(C.size_t(count)*C.size_t(unsafe.Sizeof(uintptr(0))))), count)
	defer C.free(unsafe.Pointer(&ptrs[0]))
	buf := C.CBytes(packed)
	defer C.free(buf)
	offset := uintptr(0)
	for i, l := range lens {
		ptrs[i] = (*C.char)(unsafe.Pointer(uintptr(buf) + offset))
		offset += uintptr(l)
	}
	return C.net_ingest_json_batch(h, &ptrs[0], &lens[0], C.size_t(count), out)
}

// IngestRawBatch emits raw events in one call and returns how many were
// accepted (0 if the batch was refused; use TryIngestRawBatch for the error).
func (n *Node) IngestRawBatch(events []string) int {
	count, _ := n.TryIngestRawBatch(events)
	return count
}

// TryIngestRawBatch emits raw events in one call: all or nothing.
func (n *Node) TryIngestRawBatch(events []string) (int, error) {
	return n.packBatch(len(events), func(i int) []byte {
		return unsafe.Slice(unsafe.StringData(events[i]), len(events[i]))
	}, false)
}

// IngestBytesBatch emits raw byte events in one call: all or nothing.
func (n *Node) IngestBytesBatch(events [][]byte) (int, error) {
	return n.packBatch(len(events), func(i int) []byte { return events[i] }, false)
}

// IngestJSONBatch emits JSON texts (each validated) in one call: all or nothing.
func (n *Node) IngestJSONBatch(events []string) (int, error) {
	return n.packBatch(len(events), func(i int) []byte {
		return unsafe.Slice(unsafe.StringData(events[i]), len(events[i]))
	}, true)
}

// IngestBatch marshals values to JSON and emits them in one call: all or nothing.
func (n *Node) IngestBatch(values []any) (int, error) {
	encoded := make([][]byte, len(values))
	for i, v := range values {
		data, err := json.Marshal(v)
		if err != nil {
			return 0, ErrInvalidJSON.with(err.Error())
		}
		encoded[i] = data
	}
	return n.packBatch(len(encoded), func(i int) []byte { return encoded[i] }, true)
}

// copyResult copies a poll result into Go memory and frees it.
func copyResult(r *C.net_poll_result_t) *PollResponse {
	resp := &PollResponse{HasMore: bool(r.has_more)}
	if r.next_cursor != nil {
		resp.NextCursor = C.GoString(r.next_cursor)
	}
	count := int(r.count)
	if count > 0 {
		events := unsafe.Slice(r.events, count)
		resp.Events = make([][]byte, count)
		resp.Meta = make([]EventMeta, count)
		for i, e := range events {
			resp.Events[i] = C.GoBytes(unsafe.Pointer(e.raw), C.int(e.raw_len))
			resp.Meta[i] = EventMeta{Shard: uint16(e.shard), Seq: uint64(e.seq), TimestampNs: uint64(e.timestamp_ns)}
		}
	}
	C.net_free_poll_result(r)
	return resp
}

// Poll reads up to limit events after cursor ("" starts at the oldest buffered
// event). Passing a previous NextCursor acknowledges the events before it.
func (n *Node) Poll(limit int, cursor string) (*PollResponse, error) {
	return n.PollFiltered(limit, cursor, "")
}

// PollFiltered polls with a JSON filter such as {"field":"user.id","eq":42}.
func (n *Node) PollFiltered(limit int, cursor, filter string) (*PollResponse, error) {
	if limit < 0 {
		limit = 0
	}
	cCursor, cFilter := C.CString(cursor), C.CString(filter)
	defer C.free(unsafe.Pointer(cCursor))
	defer C.free(unsafe.Pointer(cFilter))
	var r C.net_poll_result_t
	runtime.LockOSThread()
	rc := C.net_poll_filtered(n.handle, cCount(limit), cCursor, C.size_t(len(cursor)), cFilter, C.size_t(len(filter)), &r)
	var err error
	if rc < 0 {
		err = lastError(rc)
	}
	runtime.UnlockOSThread()
	resp := copyResult(&r)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (n *Node) jsonCall(f func(out **C.char) C.int32_t, into any) error {
	var out *C.char
	if err := cCall(func() C.int32_t { return f(&out) }); err != nil {
		return err
	}
	defer C.net_string_free(out)
	return json.Unmarshal([]byte(C.GoString(out)), into)
}

// Stats returns the node's counters; it works after Shutdown.
func (n *Node) Stats() (Stats, error) {
	var s Stats
	err := n.jsonCall(func(out **C.char) C.int32_t { return C.net_stats(n.handle, out, nil) }, &s)
	return s, err
}

// Health returns the node's health; it works after Shutdown.
func (n *Node) Health() (Health, error) {
	var h Health
	err := n.jsonCall(func(out **C.char) C.int32_t { return C.net_health(n.handle, out, nil) }, &h)
	return h, err
}

// Flush returns once every event emitted before it is visible to polls.
func (n *Node) Flush() error {
	return cCall(func() C.int32_t { return C.net_flush(n.handle) })
}

// Shutdown stops the node (idempotent): later calls fail with ErrShutdown,
// subscriptions drain and end. Stats and Health keep answering.
func (n *Node) Shutdown() error {
	return cCall(func() C.int32_t { return C.net_shutdown(n.handle) })
}

// Close shuts the node down and releases it (idempotent). Later calls fail
// with ErrInvalidHandle.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.closed {
		n.closed = true
		C.net_bus_free(n.handle)
		runtime.SetFinalizer(n, nil)
	}
	return nil
}

// LibraryKinds returns the error-kind table of the loaded library, to check
// that this package's sentinels match the engine it links.
func LibraryKinds() ([]*Error, error) {
	var out *C.char
	if rc := C.net_error_kinds_json(&out, nil); rc < 0 {
		return nil, errorFor(int(rc), "")
	}
	defer C.net_string_free(out)
	var raw []struct {
		Kind   string `json:"kind"`
		Area   string `json:"area"`
		Reason string `json:"reason"`
		Code   int    `json:"code"`
	}
	if err := json.Unmarshal([]byte(C.GoString(out)), &raw); err != nil {
		return nil, err
	}
	kinds := make([]*Error, len(raw))
	for i, k := range raw {
		kinds[i] = &Error{Kind: k.Kind, Area: k.Area, Reason: k.Reason, Code: k.Code}
	}
	return kinds, nil
}

// cCount passes a count to the engine; a negative one becomes 0, which the
// engine refuses with its own error (a limit is at least 1) instead of
// wrapping around to a huge size_t.
func cCount(n int) C.size_t {
	if n < 0 {
		return 0
	}
	return C.size_t(n)
}
