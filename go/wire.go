package net

// Wire codecs of the mesh: the 64-byte Net header and the 18-byte routing header.

/*
#include <stdint.h>
#include <stdlib.h>
#include "net.h"
*/
import "C"

import (
	"encoding/hex"
	"encoding/json"
	"runtime"
	"unsafe"
)

// NetHeader is the 64-byte header carried by every mesh packet.
type NetHeader struct {
	Version        uint8
	Flags          uint8
	Priority       uint8
	HopTTL         uint8
	HopCount       uint8
	FragFlags      uint8
	SubprotocolID  uint16
	ChannelHash    uint16
	Nonce          [12]byte
	SessionID      uint64
	StreamID       uint64
	Sequence       uint64
	SubnetID       uint32
	OriginHash     uint32
	FragmentID     uint16
	FragmentOffset uint16
	PayloadLen     uint16
	EventCount     uint16
}

// RoutingHeader is the 18-byte header that precedes a routed packet.
type RoutingHeader struct {
	TTL      uint8
	HopCount uint8
	Flags    uint8
	SrcID    uint32
	DestID   uint64
}

// headerJSON is the engine's JSON form (64-bit fields as strings, nonce as hex).
type headerJSON struct {
	Version        uint8  `json:"version"`
	Flags          uint8  `json:"flags"`
	Priority       uint8  `json:"priority"`
	HopTTL         uint8  `json:"hop_ttl"`
	HopCount       uint8  `json:"hop_count"`
	FragFlags      uint8  `json:"frag_flags"`
	SubprotocolID  uint16 `json:"subprotocol_id"`
	ChannelHash    uint16 `json:"channel_hash"`
	Nonce          string `json:"nonce"`
	SessionID      uint64 `json:"session_id,string"`
	StreamID       uint64 `json:"stream_id,string"`
	Sequence       uint64 `json:"sequence,string"`
	SubnetID       uint32 `json:"subnet_id"`
	OriginHash     uint32 `json:"origin_hash"`
	FragmentID     uint16 `json:"fragment_id"`
	FragmentOffset uint16 `json:"fragment_offset"`
	PayloadLen     uint16 `json:"payload_len"`
	EventCount     uint16 `json:"event_count"`
}

type routingJSON struct {
	TTL      uint8  `json:"ttl"`
	HopCount uint8  `json:"hop_count"`
	Flags    uint8  `json:"flags"`
	SrcID    uint32 `json:"src_id"`
	DestID   uint64 `json:"dest_id,string"`
}

func (h NetHeader) toJSON() headerJSON {
	return headerJSON{h.Version, h.Flags, h.Priority, h.HopTTL, h.HopCount, h.FragFlags, h.SubprotocolID,
		h.ChannelHash, hex.EncodeToString(h.Nonce[:]), h.SessionID, h.StreamID, h.Sequence, h.SubnetID,
		h.OriginHash, h.FragmentID, h.FragmentOffset, h.PayloadLen, h.EventCount}
}

func encodeWith(v any, size int, f func(text *C.char, n C.size_t, out *C.uint8_t) C.int32_t) ([]byte, error) {
	text, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	ctext := C.CString(string(text))
	defer C.free(unsafe.Pointer(ctext))
	out := make([]byte, size)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if rc := f(ctext, C.size_t(len(text)), (*C.uint8_t)(unsafe.Pointer(&out[0]))); rc < 0 {
		return nil, lastError(rc)
	}
	return out, nil
}

func decodeWith(b []byte, into any, f func(p *C.uint8_t, n C.size_t, out **C.char) C.int32_t) error {
	var out *C.char
	runtime.LockOSThread()
	rc := f((*C.uint8_t)(unsafe.Pointer(bytesPtr(b))), C.size_t(len(b)), &out)
	var err error
	if rc < 0 {
		err = lastError(rc)
	}
	runtime.UnlockOSThread()
	if err != nil {
		return err
	}
	defer C.net_string_free(out)
	return json.Unmarshal([]byte(C.GoString(out)), into)
}

// Encode returns the header's 64 bytes.
func (h NetHeader) Encode() ([]byte, error) {
	return encodeWith(h.toJSON(), 64, func(t *C.char, n C.size_t, out *C.uint8_t) C.int32_t {
		return C.net_wire_header_encode(t, n, out)
	})
}

// DecodeNetHeader decodes the header at the start of b (ErrMalformed with the reason otherwise).
func DecodeNetHeader(b []byte) (NetHeader, error) {
	var j headerJSON
	err := decodeWith(b, &j, func(p *C.uint8_t, n C.size_t, out **C.char) C.int32_t {
		return C.net_wire_header_decode(p, n, out, nil)
	})
	if err != nil {
		return NetHeader{}, err
	}
	h := NetHeader{j.Version, j.Flags, j.Priority, j.HopTTL, j.HopCount, j.FragFlags, j.SubprotocolID,
		j.ChannelHash, [12]byte{}, j.SessionID, j.StreamID, j.Sequence, j.SubnetID, j.OriginHash,
		j.FragmentID, j.FragmentOffset, j.PayloadLen, j.EventCount}
	nonce, _ := hex.DecodeString(j.Nonce)
	copy(h.Nonce[:], nonce)
	return h, nil
}

// Encode returns the routing header's 18 bytes.
func (r RoutingHeader) Encode() ([]byte, error) {
	return encodeWith(routingJSON(r), 18, func(t *C.char, n C.size_t, out *C.uint8_t) C.int32_t {
		return C.net_wire_routing_encode(t, n, out)
	})
}

// DecodeRoutingHeader decodes the routing header at the start of b.
func DecodeRoutingHeader(b []byte) (RoutingHeader, error) {
	var j routingJSON
	err := decodeWith(b, &j, func(p *C.uint8_t, n C.size_t, out **C.char) C.int32_t {
		return C.net_wire_routing_decode(p, n, out, nil)
	})
	return RoutingHeader(j), err
}
