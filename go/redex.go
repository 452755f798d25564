package net

// RedEX: local append-only logs, one per channel name, with live tails.

/*
#include <stdlib.h>
#include <stdint.h>
#include "net.h"
*/
import "C"

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// Redex maps channel names to logs, in memory or under a directory.
type Redex struct {
	handle *C.net_redex_t
	once   sync.Once
}

// OpenRedex opens a manager whose logs persist under dir ("" keeps them in memory).
func OpenRedex(dir string) (*Redex, error) {
	opts := "{}"
	if dir != "" {
		b, err := json.Marshal(map[string]string{"dir": dir})
		if err != nil {
			return nil, err
		}
		opts = string(b)
	}
	var handle *C.net_redex_t
	err := cCall(func() C.int32_t {
		return C.net_redex_open((*C.char)(unsafe.Pointer(unsafe.StringData(opts))), C.size_t(len(opts)), &handle)
	})
	if err != nil {
		return nil, err
	}
	r := &Redex{handle: handle}
	runtime.SetFinalizer(r, func(r *Redex) { _ = r.Close() })
	return r, nil
}

// Close closes every log of the manager (each syncs first) and releases it. Idempotent.
func (r *Redex) Close() error {
	var err error
	r.once.Do(func() {
		err = cCall(func() C.int32_t { return C.net_redex_close(r.handle) })
		C.net_redex_free(r.handle)
		runtime.SetFinalizer(r, nil)
	})
	return err
}

// FsyncPolicy says when a persistent log fsyncs on its own (always off the
// append path). The zero value never does: only Sync and Close are barriers.
// Set EveryN, or Interval and/or MaxBytes.
type FsyncPolicy struct {
	EveryN   uint64
	Interval time.Duration
	MaxBytes uint64
}

// LogConfig configures a log; zero values mean "no limit" / defaults.
type LogConfig struct {
	// Retention, applied by SweepRetention.
	MaxEvents uint64
	MaxBytes  uint64
	MaxAge    time.Duration
	// MaxPayload is the largest entry (default 16 MiB).
	MaxPayload int
	Fsync      FsyncPolicy
}

func (c LogConfig) json() ([]byte, error) {
	m := map[string]any{}
	if c.MaxEvents != 0 {
		m["max_events"] = c.MaxEvents
	}
	if c.MaxBytes != 0 {
		m["max_bytes"] = c.MaxBytes
	}
	if c.MaxAge != 0 {
		m["max_age_ms"] = millis(c.MaxAge)
	}
	if c.MaxPayload != 0 {
		m["max_payload"] = c.MaxPayload
	}
	f := map[string]any{}
	if c.Fsync.EveryN != 0 {
		f["every_n"] = c.Fsync.EveryN
	}
	if c.Fsync.Interval != 0 {
		f["interval_ms"] = millis(c.Fsync.Interval)
	}
	if c.Fsync.MaxBytes != 0 {
		f["max_bytes"] = c.Fsync.MaxBytes
	}
	if len(f) > 0 {
		m["fsync"] = f
	}
	return json.Marshal(m)
}

// Log is one open RedEX log.
type Log struct {
	handle *C.net_log_t
	once   sync.Once
}

// Entry is one log entry as read back.
type Entry struct {
	Seq         uint64
	TimestampNs uint64
	Payload     []byte
}

// Recovery is what reopening a persistent log found.
type Recovery struct {
	Entries           int      `json:"entries"`
	TruncatedRecords  int      `json:"truncated_records"`
	CorruptSeqs       []uint64 `json:"-"`
	MissingTimestamps int      `json:"missing_timestamps"`
}

// OpenLog opens (or returns the already open) log for channel: segments of
// [A-Za-z0-9_.-] separated by '/'. A persistent log is replayed first.
func (r *Redex) OpenLog(channel string, cfg LogConfig) (*Log, error) {
	text, err := cfg.json()
	if err != nil {
		return nil, err
	}
	cc := C.CString(channel)
	defer C.free(unsafe.Pointer(cc))
	var handle *C.net_log_t
	err = cCall(func() C.int32_t {
		return C.net_redex_open_log(r.handle, cc, bytesPtr(text), C.size_t(len(text)), &handle)
	})
	if err != nil {
		return nil, err
	}
	l := &Log{handle: handle}
	runtime.SetFinalizer(l, func(l *Log) { l.free() })
	return l, nil
}

// Append appends one entry and returns its sequence.
func (l *Log) Append(payload []byte) (uint64, error) {
	var seq C.uint64_t
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := C.net_log_append(l.handle, (*C.uint8_t)(unsafe.Pointer(bytesPtr(payload))), C.size_t(len(payload)), &seq)
	if rc < 0 {
		return 0, lastError(rc)
	}
	return uint64(seq), nil
}

// AppendBatch appends payloads as one atomic batch: all get consecutive
// sequences from first, or none is appended. n is the number appended
// (0 for an empty batch, so it cannot be mistaken for a write at seq 0).
func (l *Log) AppendBatch(payloads [][]byte) (first uint64, n int, err error) {
	buf := packPool.Get().(*packBuf)
	defer packPool.Put(buf)
	buf.fill(len(payloads), func(i int) []byte { return payloads[i] })
	var seq C.uint64_t
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := C.net_log_append_packed(l.handle, buf.dataPtr(), C.size_t(len(buf.data)),
		buf.lensPtr(), C.size_t(len(buf.lens)), &seq)
	switch {
	case rc < 0:
		return 0, 0, lastError(rc)
	case rc == C.NET_DONE:
		return 0, 0, nil
	}
	return uint64(seq), len(payloads), nil
}

// unpackEntries copies a packed entry buffer from the library and frees it.
func unpackEntries(out *C.uint8_t, n C.size_t) ([]Entry, error) {
	if out == nil {
		return nil, nil
	}
	defer C.net_bytes_free(out, n)
	buf := C.GoBytes(unsafe.Pointer(out), C.int(n))
	var entries []Entry
	for len(buf) >= C.NET_REDEX_ENTRY_HEADER_LEN {
		size := int(binary.LittleEndian.Uint32(buf[16:20]))
		end := C.NET_REDEX_ENTRY_HEADER_LEN + size
		if end > len(buf) {
			break
		}
		entries = append(entries, Entry{
			Seq:         binary.LittleEndian.Uint64(buf[0:8]),
			TimestampNs: binary.LittleEndian.Uint64(buf[8:16]),
			Payload:     buf[C.NET_REDEX_ENTRY_HEADER_LEN:end:end],
		})
		buf = buf[end:]
	}
	if len(buf) != 0 {
		return entries, errorFor(int(C.NET_ERR_MALFORMED), "truncated entry buffer from the library")
	}
	return entries, nil
}

// ReadRange returns the retained entries with from <= seq < to.
func (l *Log) ReadRange(from, to uint64) ([]Entry, error) {
	var out *C.uint8_t
	var n C.size_t
	err := cCall(func() C.int32_t {
		return C.net_log_read_range(l.handle, C.uint64_t(from), C.uint64_t(to), &out, &n)
	})
	if err != nil {
		return nil, err
	}
	return unpackEntries(out, n)
}

// NextSeq is the sequence the next append will get.
func (l *Log) NextSeq() (uint64, error) {
	var next C.uint64_t
	err := cCall(func() C.int32_t { return C.net_log_info(l.handle, &next, nil) })
	return uint64(next), err
}

// Len is the number of retained entries.
func (l *Log) Len() (int, error) {
	var n C.size_t
	err := cCall(func() C.int32_t { return C.net_log_info(l.handle, nil, &n) })
	return int(n), err
}

// SweepRetention applies the retention limits now and returns how many entries it evicted.
func (l *Log) SweepRetention() (int, error) {
	var n C.size_t
	err := cCall(func() C.int32_t { return C.net_log_sweep_retention(l.handle, &n) })
	return int(n), err
}

// Sync is a durability barrier: payload, then index, then timestamps reach the disk.
func (l *Log) Sync() error {
	return cCall(func() C.int32_t { return C.net_log_sync(l.handle) })
}

// Recovery reports what reopening the log found (zero for in-memory logs).
func (l *Log) Recovery() (Recovery, error) {
	var out *C.char
	if err := cCall(func() C.int32_t { return C.net_log_recovery(l.handle, &out, nil) }); err != nil {
		return Recovery{}, err
	}
	text := C.GoString(out)
	C.net_string_free(out)
	var raw struct {
		Recovery
		Corrupt []string `json:"corrupt_seqs"`
	}
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return Recovery{}, err
	}
	for _, s := range raw.Corrupt {
		seq, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return Recovery{}, err
		}
		raw.Recovery.CorruptSeqs = append(raw.Recovery.CorruptSeqs, seq)
	}
	return raw.Recovery, nil
}

// Close closes the log (appends then fail with ErrLogClosed; tails end once
// drained) and releases the handle. Idempotent.
func (l *Log) Close() error {
	var err error
	l.once.Do(func() {
		err = cCall(func() C.int32_t { return C.net_log_close(l.handle) })
		l.release()
	})
	return err
}

// free releases the handle without closing the log (it stays open in its manager).
func (l *Log) free() {
	l.once.Do(l.release)
}

func (l *Log) release() {
	C.net_log_free(l.handle)
	runtime.SetFinalizer(l, nil)
}

// Tail is a live reader of a log: retained entries from a sequence, then each
// new one, with no gap and no duplicate at the hand-off.
type Tail struct {
	handle *C.net_tail_t
	mu     sync.Mutex // one waiter at a time; Close waits for it
	once   sync.Once
}

// Tail opens a live reader from fromSeq.
func (l *Log) Tail(fromSeq uint64) (*Tail, error) {
	var handle *C.net_tail_t
	if err := cCall(func() C.int32_t { return C.net_log_tail(l.handle, C.uint64_t(fromSeq), &handle) }); err != nil {
		return nil, err
	}
	t := &Tail{handle: handle}
	runtime.SetFinalizer(t, func(t *Tail) { _ = t.Close() })
	return t, nil
}

// Next waits for up to max entries; io.EOF once the tail or the log is closed
// (after everything before the close was returned); ctx.Err() if ctx ends first.
func (t *Tail) Next(ctx context.Context, max int) ([]Entry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var entries []Entry
	err := withContext(ctx, func(token *C.net_cancel_t) error {
		for {
			var out *C.uint8_t
			var n C.size_t
			var rc C.int32_t
			err := cCall(func() C.int32_t {
				rc = C.net_tail_next_cancellable(t.handle, cCount(max), -1, token, &out, &n)
				return rc
			})
			switch {
			case err != nil:
				return err
			case rc == C.NET_DONE:
				return io.EOF
			case out != nil:
				var uerr error
				entries, uerr = unpackEntries(out, n)
				return uerr
			}
		}
	})
	return entries, err
}

// Close ends the tail (idempotent); a blocked Next returns io.EOF.
func (t *Tail) Close() error {
	t.once.Do(func() {
		C.net_tail_close(t.handle)
		t.mu.Lock()
		C.net_tail_free(t.handle)
		t.mu.Unlock()
		runtime.SetFinalizer(t, nil)
	})
	return nil
}

// RecordLen is the size of a RedEX index record and of a CortEX event meta.
const RecordLen = C.NET_REDEX_RECORD_LEN

// RedexRecord is a decoded 20-byte RedEX index record.
type RedexRecord struct {
	Seq uint64
	// Heap records: the payload's offset and length in the payload segment.
	Offset, Len uint32
	// FlagsChecksum holds the flags (bit 31 = inline) and the 28-bit payload checksum.
	FlagsChecksum uint32
	Inline        bool
	InlinePayload [8]byte
}

// EncodeHeapRecord encodes the index record of payload stored at offset.
func EncodeHeapRecord(seq uint64, offset uint32, payload []byte) ([RecordLen]byte, error) {
	var out [RecordLen]byte
	err := cCall(func() C.int32_t {
		return C.net_redex_record_heap(C.uint64_t(seq), C.uint32_t(offset),
			(*C.uint8_t)(unsafe.Pointer(bytesPtr(payload))), C.size_t(len(payload)), (*C.uint8_t)(&out[0]))
	})
	return out, err
}

// EncodeInlineRecord encodes an index record carrying 8 payload bytes inline.
func EncodeInlineRecord(seq uint64, payload [8]byte) [RecordLen]byte {
	var out [RecordLen]byte
	// Cannot fail: the payload is exactly 8 bytes and out is 20.
	_ = C.net_redex_record_inline(C.uint64_t(seq), (*C.uint8_t)(&payload[0]), 8, (*C.uint8_t)(&out[0]))
	return out
}

// DecodeRedexRecord decodes a 20-byte index record (ErrMalformed otherwise).
func DecodeRedexRecord(b []byte) (RedexRecord, error) {
	var r C.net_redex_record_t
	err := cCall(func() C.int32_t {
		return C.net_redex_record_decode((*C.uint8_t)(unsafe.Pointer(bytesPtr(b))), C.size_t(len(b)), &r)
	})
	if err != nil {
		return RedexRecord{}, err
	}
	out := RedexRecord{Seq: uint64(r.seq), Offset: uint32(r.offset), Len: uint32(r.len),
		FlagsChecksum: uint32(r.flags_checksum), Inline: bool(r.is_inline)}
	for i := range out.InlinePayload {
		out.InlinePayload[i] = byte(r.inline_payload[i])
	}
	return out, nil
}

// CortexMeta is the 20-byte event meta that prefixes every CortEX payload.
type CortexMeta struct {
	Dispatch   uint8
	Flags      uint8
	OriginHash uint32
	SeqOrTs    uint64
	Checksum   uint32
}

// FrameEvent prefixes payload with its event meta (checksum computed).
func FrameEvent(dispatch uint8, originHash uint32, seqOrTs uint64, payload []byte) ([]byte, error) {
	var out *C.uint8_t
	var n C.size_t
	err := cCall(func() C.int32_t {
		return C.net_cortex_frame(C.uint8_t(dispatch), C.uint32_t(originHash), C.uint64_t(seqOrTs),
			(*C.uint8_t)(unsafe.Pointer(bytesPtr(payload))), C.size_t(len(payload)), &out, &n)
	})
	if err != nil {
		return nil, err
	}
	defer C.net_bytes_free(out, n)
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}

// UnframeEvent splits a framed entry into its meta and payload, checking the
// checksum (ErrDecode otherwise).
func UnframeEvent(b []byte) (CortexMeta, []byte, error) {
	var m C.net_event_meta_t
	err := cCall(func() C.int32_t {
		return C.net_cortex_unframe((*C.uint8_t)(unsafe.Pointer(bytesPtr(b))), C.size_t(len(b)), &m)
	})
	if err != nil {
		return CortexMeta{}, nil, err
	}
	meta := CortexMeta{Dispatch: uint8(m.dispatch), Flags: uint8(m.flags), OriginHash: uint32(m.origin_hash),
		SeqOrTs: uint64(m.seq_or_ts), Checksum: uint32(m.checksum)}
	return meta, b[RecordLen:], nil
}
