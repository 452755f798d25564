package net

// The encrypted mesh: a UDP node with Noise sessions bound to a network key,
// streams (reliable or fire-and-forget) and an inbox of messages.

/*
#include <stdlib.h>
#include <stdint.h>
#include "net.h"
*/
import "C"

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// MeshConfig configures a mesh node. Zero values keep the engine's defaults;
// the engine validates everything (ErrInvalidMeshConfig, ErrInvalidSeed).
type MeshConfig struct {
	// NetworkKey is the 32-byte key every node of the mesh shares (required).
	NetworkKey []byte
	// Bind is the UDP address "ip:port" (default "0.0.0.0:0").
	Bind string
	// Seed is a 32-byte identity seed (default: a fresh identity).
	Seed []byte
	// HandshakeTimeout bounds Connect (default 5 s).
	HandshakeTimeout time.Duration
	// HandshakeRetry is how often an unanswered handshake is resent.
	HandshakeRetry time.Duration
	// RetransmitTimeout is when an unacknowledged reliable message is resent.
	RetransmitTimeout time.Duration
	// InboxCapacity is how many received messages wait for Recv.
	InboxCapacity int
	// BeaconInterval is how often neighbours are sent beacons: the routes
	// this node knows and a sign of life (default 1 s). A neighbour silent
	// for three intervals is HealthSuspect, for six HealthFailed.
	BeaconInterval time.Duration
	// MaxHops is the most hops a relayed packet may take, and the longest
	// route learned from beacons (default 8, at most 255).
	MaxHops int
	// RekeyInterval is how often the side that opened a session runs a
	// fresh handshake, so no keys are used for long (default 2 min, > 0);
	// streams carry on across it.
	RekeyInterval time.Duration
	// SessionTimeout drops a session the peer has been silent for this long
	// (default 30 s, at least three BeaconIntervals); sends to it then fail
	// with ErrUnknownPeer.
	SessionTimeout time.Duration
	// Trust says which peers' keys the node accepts (nil: any key, TrustOpen).
	Trust *TrustConfig
	// PeerStore keeps the peers this node talked to in a file (nil: none).
	PeerStore *PeerStoreConfig
	// AuditLog writes every trust decision to a hash-chained log (nil: none).
	AuditLog *AuditLogConfig
	// Capabilities sets this node's subnet, how peers' subnets are derived,
	// and how announcements live and are paced (nil: the defaults).
	Capabilities *CapabilityConfig
}

// TrustPolicy is how a node decides which peers' keys it accepts.
type TrustPolicy string

const (
	// TrustOpen accepts any key that completes the handshake (the default).
	TrustOpen TrustPolicy = "open"
	// TrustTOFU pins the first key seen at an address ("trust on first use")
	// and refuses a different one there later, as SSH's known_hosts does.
	TrustTOFU TrustPolicy = "tofu"
	// TrustAllowlist accepts only the keys in TrustConfig.Allow.
	TrustAllowlist TrustPolicy = "allowlist"
)

// TrustConfig is a node's trust policy, applied on both sides of the
// handshake. A refused peer that dials this node gets no answer (it sees
// ErrMeshTimeout); Connect to a refused key fails at once with
// ErrUntrustedPeer. An unknown policy or a bad pinned address fails OpenMesh
// with ErrInvalidMeshConfig, a key that is not 32 bytes with ErrInvalidKey.
type TrustConfig struct {
	// Policy is TrustOpen, TrustTOFU or TrustAllowlist ("" is TrustOpen).
	Policy TrustPolicy
	// Allow lists the 32-byte public keys TrustAllowlist accepts.
	Allow [][]byte
	// Pinned maps addresses ("ip:port") to the only 32-byte public key
	// accepted there, under every policy.
	Pinned map[string][]byte
}

// PeerStoreConfig is where a node remembers its peers across restarts: a JSON
// file written every FlushInterval and on shutdown. Under TrustTOFU its keys
// are the pins, so a restarted node still refuses an impostor. Zero values
// keep the engine's defaults (7 days, 1024 entries, 30 s); a damaged file
// fails OpenMesh with ErrCorrupt.
type PeerStoreConfig struct {
	// Path is the JSON file (required).
	Path string
	// TTL drops entries with no successful handshake for this long.
	TTL time.Duration
	// FlushInterval is how often changes are written.
	FlushInterval time.Duration
	// MaxEntries is the most entries kept (the least recently successful go first).
	MaxEntries int
}

// AuditLogConfig is where a node writes its trust decisions: one JSON line
// each ("side", "addr", "node_id", "public_key", "policy", "decision",
// "reason", "kind", "ts_ms", "prev"), each carrying the hash of the line
// before it, rotated to Path.1, Path.2 ... by size.
type AuditLogConfig struct {
	// Path is the live file (required).
	Path string
	// MaxBytes rotates the file before a line would take it past this size
	// (0: 10 MiB).
	MaxBytes int64
	// Keep is how many rotated files are kept (0: 5; negative: none).
	Keep int
}

func (t *TrustConfig) json() map[string]any {
	m := map[string]any{}
	if t.Policy != "" {
		m["policy"] = string(t.Policy)
	}
	if t.Allow != nil {
		allow := make([]string, len(t.Allow))
		for i, key := range t.Allow {
			allow[i] = hex.EncodeToString(key)
		}
		m["allow"] = allow
	}
	if t.Pinned != nil {
		pinned := make(map[string]string, len(t.Pinned))
		for addr, key := range t.Pinned {
			pinned[addr] = hex.EncodeToString(key)
		}
		m["pinned"] = pinned
	}
	return m
}

func (p *PeerStoreConfig) json() map[string]any {
	m := map[string]any{"path": p.Path}
	if p.TTL != 0 {
		m["ttl_ms"] = millis(p.TTL)
	}
	if p.FlushInterval != 0 {
		m["flush_interval_ms"] = millis(p.FlushInterval)
	}
	if p.MaxEntries != 0 {
		m["max_entries"] = p.MaxEntries
	}
	return m
}

func (a *AuditLogConfig) json() map[string]any {
	m := map[string]any{"path": a.Path}
	if a.MaxBytes != 0 {
		m["max_bytes"] = a.MaxBytes
	}
	if a.Keep != 0 {
		m["keep"] = max(a.Keep, 0)
	}
	return m
}

// millis rounds a positive duration up to whole milliseconds, so 500µs is 1 ms, not "0".
func millis(d time.Duration) int64 {
	if d <= 0 {
		return d.Milliseconds()
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

func (c MeshConfig) json() ([]byte, error) {
	m := map[string]any{}
	if c.NetworkKey != nil {
		m["network_key"] = hex.EncodeToString(c.NetworkKey)
	}
	if c.Bind != "" {
		m["bind"] = c.Bind
	}
	if c.Seed != nil {
		m["seed"] = hex.EncodeToString(c.Seed)
	}
	if c.HandshakeTimeout != 0 {
		m["handshake_timeout_ms"] = millis(c.HandshakeTimeout)
	}
	if c.HandshakeRetry != 0 {
		m["handshake_retry_ms"] = millis(c.HandshakeRetry)
	}
	if c.RetransmitTimeout != 0 {
		m["retransmit_timeout_ms"] = millis(c.RetransmitTimeout)
	}
	if c.InboxCapacity != 0 {
		m["inbox_capacity"] = c.InboxCapacity
	}
	if c.BeaconInterval != 0 {
		m["beacon_interval_ms"] = millis(c.BeaconInterval)
	}
	if c.MaxHops != 0 {
		m["max_hops"] = c.MaxHops
	}
	if c.RekeyInterval != 0 {
		m["rekey_interval_ms"] = millis(c.RekeyInterval)
	}
	if c.SessionTimeout != 0 {
		m["session_timeout_ms"] = millis(c.SessionTimeout)
	}
	if c.Trust != nil {
		m["trust"] = c.Trust.json()
	}
	if c.PeerStore != nil {
		m["peer_store"] = c.PeerStore.json()
	}
	if c.AuditLog != nil {
		m["audit_log"] = c.AuditLog.json()
	}
	if c.Capabilities != nil {
		m["capabilities"] = c.Capabilities.json()
	}
	return json.Marshal(m)
}

// Mesh is an encrypted mesh node. Its methods are safe for concurrent use.
// Close it when done; a finalizer is only a fallback.
type Mesh struct {
	handle    *C.net_mesh_t
	publicKey []byte
	nodeID    uint64
	closed    atomic.Bool
	once      sync.Once
}

// Message is one message received from a peer.
type Message struct {
	// From is the sender's node id.
	From uint64
	// StreamID is the stream it came on.
	StreamID uint64
	// Payload is the decrypted bytes (empty, not nil, for an empty message).
	Payload []byte
}

// Peer is a node this node holds a session with.
type Peer struct {
	NodeID    uint64
	PublicKey []byte
	Addr      string
	// Confirmed says the peer proved it holds the network key.
	Confirmed bool
	// Routed says the session runs through relays (ConnectRouted, or a peer
	// that connected that way); the relays never hold its keys.
	Routed bool
	// Health is how recently anything was heard from the peer.
	Health PeerHealth
	// Cipher is the packet cipher the handshake agreed with the peer.
	Cipher PeerCipher
}

/* PeerCipher and its names are generated: mesh_stats.go. */

// PeerHealth is how a peer is doing, from how recently it was heard from
// (measured in beacon intervals, MeshConfig.BeaconInterval).
type PeerHealth string

const (
	// HealthAlive: heard from within three beacon intervals.
	HealthAlive PeerHealth = "alive"
	// HealthSuspect: silent for three beacon intervals.
	HealthSuspect PeerHealth = "suspect"
	// HealthFailed: silent for six; routes through it are no longer used.
	HealthFailed PeerHealth = "failed"
)

// Route is the best known way to a node reachable through relays, learned
// from neighbours' beacons.
type Route struct {
	// Dest is the node the route leads to.
	Dest uint64
	// NextHop is the neighbour packets for Dest are sent to.
	NextHop uint64
	// Hops is how many hops the route takes (1: the neighbour itself, 2:
	// through one relay).
	Hops int
}

// MeshStats (the node's counters) is generated: mesh_stats.go.

// KnownPeer is a peer remembered in the node's peer store.
type KnownPeer struct {
	// Addr is where it was reached ("ip:port").
	Addr      string
	NodeID    uint64
	PublicKey []byte
	// LastSuccess is when a handshake with it last succeeded.
	LastSuccess time.Time
	// Failures counts failed connection attempts since then.
	Failures uint32
}

// StreamStats are one stream's counters.
type StreamStats struct {
	Peer     uint64 `json:"peer,string"`
	StreamID uint64 `json:"stream_id,string"`
	// Reliability says how this side sends on the stream: "reliable" or
	// "fire_and_forget" (the same words in every language).
	Reliability string `json:"reliability"`
	// Reliable is Reliability == "reliable".
	Reliable bool `json:"-"`
	// Sent counts first transmissions; Received, messages delivered from the peer.
	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	// InFlight is sent and not yet acknowledged; Window the credit (0 for fire-and-forget).
	InFlight uint64 `json:"in_flight"`
	Window   uint32 `json:"window"`
	// BackpressureEvents counts sends refused with ErrStreamBackpressure.
	BackpressureEvents uint64 `json:"backpressure_events"`
	Retransmits        uint64 `json:"retransmits"`
	// Duplicates counts reliable messages received more than once (dropped).
	Duplicates uint64 `json:"duplicates"`
}

// errMeshClosed is what calls on a closed Mesh return.
func errMeshClosed() error {
	return ErrMeshShutdown.with("the mesh node is closed")
}

// OpenMesh binds a node: its UDP socket and background threads start now.
func OpenMesh(cfg MeshConfig) (*Mesh, error) {
	text, err := cfg.json()
	if err != nil {
		return nil, err
	}
	return openMeshJSON(string(text))
}

// openMeshJSON binds a node from the engine's JSON configuration (the fixture
// runner passes fixture configs through unchanged).
func openMeshJSON(config string) (*Mesh, error) {
	if abiChecked != nil {
		return nil, abiChecked
	}
	cs := C.CString(config)
	defer C.free(unsafe.Pointer(cs))
	var handle *C.net_mesh_t
	if err := cCall(func() C.int32_t { return C.net_mesh_bind(cs, C.size_t(len(config)), &handle) }); err != nil {
		return nil, err
	}
	m := &Mesh{handle: handle, publicKey: make([]byte, C.NET_PUBLIC_KEY_LEN)}
	var id C.uint64_t
	if err := cCall(func() C.int32_t {
		return C.net_mesh_identity(handle, (*C.uint8_t)(unsafe.Pointer(&m.publicKey[0])), &id)
	}); err != nil {
		C.net_mesh_free(handle)
		return nil, err
	}
	m.nodeID = uint64(id)
	runtime.SetFinalizer(m, func(m *Mesh) { _ = m.Close() })
	return m, nil
}

// call runs a C call on the node: ErrMeshShutdown once closed (also for a
// call racing Close, which the library reports as an invalid handle).
func (m *Mesh) call(f func(h *C.net_mesh_t) C.int32_t) error {
	if m.closed.Load() {
		return errMeshClosed()
	}
	err := cCall(func() C.int32_t { return f(m.handle) })
	runtime.KeepAlive(m)
	return m.fixClosed(err)
}

func (m *Mesh) fixClosed(err error) error {
	if err != nil && m.closed.Load() && errors.Is(err, ErrInvalidHandle) {
		return errMeshClosed()
	}
	return err
}

// PublicKey is this node's 32-byte ed25519 public key (what peers connect with).
func (m *Mesh) PublicKey() []byte {
	return append([]byte(nil), m.publicKey...)
}

// NodeID is this node's 64-bit id.
func (m *Mesh) NodeID() uint64 { return m.nodeID }

// LocalAddr is the bound address "ip:port" (with the real port when 0 was asked for).
func (m *Mesh) LocalAddr() (string, error) {
	var out *C.char
	var n C.size_t
	if err := m.call(func(h *C.net_mesh_t) C.int32_t { return C.net_mesh_local_addr(h, &out, &n) }); err != nil {
		return "", err
	}
	defer C.net_string_free(out)
	return C.GoStringN(out, C.int(n)), nil
}

// Connect opens a session with the node at addr ("ip:port") whose public key
// is publicKey, and returns its node id. The handshake waits up to the
// configured HandshakeTimeout: ErrHandshakeFailed (another network key or
// identity), ErrMeshTimeout (no answer, also from a node whose trust policy
// refuses this one). ErrUntrustedPeer, at once, if this node's trust policy
// refuses publicKey at addr. If ctx ends first Connect returns
// ctx.Err() at once; the engine abandons the handshake.
func (m *Mesh) Connect(ctx context.Context, addr string, publicKey []byte) (uint64, error) {
	caddr := C.CString(addr)
	defer C.free(unsafe.Pointer(caddr))
	return m.connect(ctx, publicKey, func(h *C.net_mesh_t, key *C.uint8_t, token *C.net_cancel_t, id *C.uint64_t) C.int32_t {
		return C.net_mesh_connect_cancellable(h, caddr, key, C.size_t(len(publicKey)), token, id)
	})
}

// ConnectRouted opens a session through relays with the node whose public
// key is publicKey, and returns its node id. The route comes from
// neighbours' beacons (see Routes); the relays forward on the routing header
// alone and never hold this session's keys. ErrUnknownPeer, at once, when no
// route to publicKey is known (yet); ErrInvalidKey for a key that is not 32
// bytes; otherwise the errors of Connect. If ctx ends first ConnectRouted
// returns ctx.Err() at once; the engine abandons the handshake.
func (m *Mesh) ConnectRouted(ctx context.Context, publicKey []byte) (uint64, error) {
	return m.connect(ctx, publicKey, func(h *C.net_mesh_t, key *C.uint8_t, token *C.net_cancel_t, id *C.uint64_t) C.int32_t {
		return C.net_mesh_connect_routed_cancellable(h, key, C.size_t(len(publicKey)), token, id)
	})
}

// connect runs a blocking handshake call (f) on the calling goroutine with a
// native cancel token that ctx's end cancels: the engine abandons the
// handshake at once, and no goroutine outlives the call.
func (m *Mesh) connect(ctx context.Context, publicKey []byte, f func(h *C.net_mesh_t, key *C.uint8_t, token *C.net_cancel_t, id *C.uint64_t) C.int32_t) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if m.closed.Load() {
		return 0, errMeshClosed()
	}
	ckey := C.CBytes(publicKey)
	defer C.free(ckey)
	var id C.uint64_t
	err := withContext(ctx, func(token *C.net_cancel_t) error {
		return m.call(func(h *C.net_mesh_t) C.int32_t { return f(h, (*C.uint8_t)(ckey), token, &id) })
	})
	if err != nil {
		return 0, err
	}
	return uint64(id), nil
}

// StreamConfig says how this side sends on a stream.
type StreamConfig struct {
	// Reliable streams deliver in order, exactly once, resending until
	// acknowledged; others are fire-and-forget.
	Reliable bool
	// Window is a reliable stream's credit: messages in flight (0 = 256).
	Window uint32
}

// Stream is one stream to one peer, as opened by OpenStream.
type Stream struct {
	mesh     *Mesh
	peer, id uint64
}

// OpenStream opens stream id to a connected peer (ErrUnknownPeer otherwise).
// Opening it again with the same config is fine; with another config it fails
// with ErrInvalidMeshConfig. Streams never opened are fire-and-forget.
func (m *Mesh) OpenStream(peer, id uint64, cfg StreamConfig) (*Stream, error) {
	reliability := C.uint32_t(C.NET_STREAM_FIRE_AND_FORGET)
	if cfg.Reliable {
		reliability = C.NET_STREAM_RELIABLE
	}
	err := m.call(func(h *C.net_mesh_t) C.int32_t {
		return C.net_mesh_open_stream(h, C.uint64_t(peer), C.uint64_t(id), reliability, C.uint32_t(cfg.Window))
	})
	if err != nil {
		return nil, err
	}
	return &Stream{mesh: m, peer: peer, id: id}, nil
}

// Peer is the node id the stream goes to.
func (s *Stream) Peer() uint64 { return s.peer }

// ID is the stream id.
func (s *Stream) ID() uint64 { return s.id }

// Send sends payload; on a reliable stream whose window is full it fails at
// once with ErrStreamBackpressure. Payloads over 65423 bytes (reliable) or
// 65427 (fire-and-forget) fail with ErrMessageTooLarge.
func (s *Stream) Send(payload []byte) error { return s.mesh.Send(s.peer, s.id, payload) }

// SendWithRetry is Send, retrying on backpressure up to maxRetries more times
// (waits of 1, 2, 4 ... 128 ms).
func (s *Stream) SendWithRetry(payload []byte, maxRetries uint32) error {
	return s.mesh.SendWithRetry(s.peer, s.id, payload, maxRetries)
}

// SendBlocking is Send, waiting for window room until ctx ends (see Mesh.SendBlocking).
func (s *Stream) SendBlocking(ctx context.Context, payload []byte) error {
	return s.mesh.SendBlocking(ctx, s.peer, s.id, payload)
}

// Stats returns the stream's counters.
// (Zero counters, fire-and-forget, if the node holds no state for it: the
// engine's rule for a stream handle, the same in every language.)
func (s *Stream) Stats() (StreamStats, error) {
	var out *C.char
	err := s.mesh.call(func(h *C.net_mesh_t) C.int32_t {
		return C.net_mesh_opened_stream_stats(h, C.uint64_t(s.peer), C.uint64_t(s.id), &out, nil)
	})
	if err != nil {
		return StreamStats{}, err
	}
	defer C.net_string_free(out)
	return parseStreamStats(C.GoString(out))
}

func (m *Mesh) send(peer, stream uint64, payload []byte, mode int, arg int64) error {
	return m.sendWith(nil, peer, stream, payload, mode, arg)
}

// sendWith is send with a cancel token for the blocking mode (nil: none).
func (m *Mesh) sendWith(token *C.net_cancel_t, peer, stream uint64, payload []byte, mode int, arg int64) error {
	if m.closed.Load() {
		return errMeshClosed()
	}
	data := (*C.uint8_t)(unsafe.Pointer(bytesPtr(payload)))
	runtime.LockOSThread()
	var rc C.int32_t
	switch mode {
	case 0:
		rc = C.net_mesh_send(m.handle, C.uint64_t(peer), C.uint64_t(stream), data, C.size_t(len(payload)))
	case 1:
		rc = C.net_mesh_send_with_retry(m.handle, C.uint64_t(peer), C.uint64_t(stream), data, C.size_t(len(payload)), C.uint32_t(arg))
	default:
		rc = C.net_mesh_send_blocking_cancellable(m.handle, C.uint64_t(peer), C.uint64_t(stream), data, C.size_t(len(payload)), C.int64_t(arg), token)
	}
	var err error
	if rc < 0 {
		err = lastError(rc)
	}
	runtime.UnlockOSThread()
	runtime.KeepAlive(payload)
	runtime.KeepAlive(m)
	return m.fixClosed(err)
}

// Send sends payload to a connected peer on stream, as the stream was opened
// (fire-and-forget if it never was). See Stream.Send for the errors.
func (m *Mesh) Send(peer, stream uint64, payload []byte) error {
	return m.send(peer, stream, payload, 0, 0)
}

// SendWithRetry is Send, retrying on backpressure up to maxRetries more times.
func (m *Mesh) SendWithRetry(peer, stream uint64, payload []byte, maxRetries uint32) error {
	return m.send(peer, stream, payload, 1, int64(maxRetries))
}

// SendBlocking is Send, waiting for window room until ctx ends. When ctx's
// deadline passes with the window still full the error matches both
// ErrMeshTimeout and context.DeadlineExceeded; when ctx is cancelled it is
// ctx.Err(); either way the message was not sent. The wait is one native
// call: until ctx's deadline, woken by a cancel token when ctx ends first.
func (m *Mesh) SendBlocking(ctx context.Context, peer, stream uint64, payload []byte) error {
	timeout := int64(-1)
	if deadline, ok := ctx.Deadline(); ok {
		timeout = max(millis(time.Until(deadline)), 0)
	}
	err := withContext(ctx, func(token *C.net_cancel_t) error {
		return m.sendWith(token, peer, stream, payload, 2, timeout)
	})
	// The deadline passed with the window full: the engine's timeout or the
	// context's, whichever came first, reads as both.
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrMeshTimeout) {
		return fmt.Errorf("%w (%w)", ErrMeshTimeout.with("the window stayed full"), err)
	}
	if errors.Is(err, ErrMeshTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		if _, ok := ctx.Deadline(); ok {
			return fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
		}
	}
	return err
}

// recvOnce waits up to timeoutMs for a message; ok is false on timeout.
func (m *Mesh) recvOnce(timeoutMs int64) (msg Message, ok bool, err error) {
	return m.recvWith(nil, timeoutMs)
}

// recvWith waits up to timeoutMs (negative: no limit) for a message, or
// until token (nil: none) is cancelled.
func (m *Mesh) recvWith(token *C.net_cancel_t, timeoutMs int64) (msg Message, ok bool, err error) {
	if m.closed.Load() {
		return Message{}, false, errMeshClosed()
	}
	var out C.net_mesh_message_t
	runtime.LockOSThread()
	rc := C.net_mesh_recv_cancellable(m.handle, C.int64_t(timeoutMs), token, &out)
	if rc < 0 {
		err = lastError(rc)
	}
	runtime.UnlockOSThread()
	runtime.KeepAlive(m)
	if err != nil {
		return Message{}, false, m.fixClosed(err)
	}
	if rc == C.NET_TIMED_OUT {
		return Message{}, false, nil
	}
	msg = Message{From: uint64(out.from), StreamID: uint64(out.stream_id), Payload: []byte{}}
	if out.payload != nil {
		msg.Payload = C.GoBytes(unsafe.Pointer(out.payload), C.int(out.len))
		C.net_bytes_free(out.payload, out.len)
	}
	return msg, true, nil
}

// Recv returns the next message, waiting until ctx ends (ctx.Err()). After
// Shutdown it still returns what was received, then ErrMeshShutdown.
func (m *Mesh) Recv(ctx context.Context) (Message, error) {
	var msg Message
	err := withContext(ctx, func(token *C.net_cancel_t) error {
		var err error
		msg, _, err = m.recvWith(token, -1)
		return err
	})
	return msg, err
}

// Messages delivers incoming messages on a channel until ctx ends or the
// node is shut down and drained (or Recv fails), then closes it. Use one
// consumer per node: messages are taken from the shared inbox. A message
// received just as ctx ends is dropped.
func (m *Mesh) Messages(ctx context.Context) <-chan Message {
	return pump(ctx, m.Recv)
}

func (m *Mesh) jsonCall(f func(h *C.net_mesh_t, out **C.char) C.int32_t, into any) error {
	var out *C.char
	if err := m.call(func(h *C.net_mesh_t) C.int32_t { return f(h, &out) }); err != nil {
		return err
	}
	defer C.net_string_free(out)
	return json.Unmarshal([]byte(C.GoString(out)), into)
}

// Peers lists the nodes this node holds sessions with, by node id.
func (m *Mesh) Peers() ([]Peer, error) {
	var raw []struct {
		NodeID    uint64     `json:"node_id,string"`
		PublicKey string     `json:"public_key"`
		Addr      string     `json:"addr"`
		Confirmed bool       `json:"confirmed"`
		Routed    bool       `json:"routed"`
		Health    PeerHealth `json:"health"`
		Cipher    PeerCipher `json:"cipher"`
	}
	if err := m.jsonCall(func(h *C.net_mesh_t, out **C.char) C.int32_t { return C.net_mesh_peers(h, out, nil) }, &raw); err != nil {
		return nil, err
	}
	peers := make([]Peer, len(raw))
	for i, p := range raw {
		key, err := hex.DecodeString(p.PublicKey)
		if err != nil {
			return nil, err
		}
		peers[i] = Peer{
			NodeID: p.NodeID, PublicKey: key, Addr: p.Addr, Confirmed: p.Confirmed,
			Routed: p.Routed, Health: p.Health, Cipher: p.Cipher,
		}
	}
	return peers, nil
}

// Routes lists the best route to each node this one can reach, as learned
// from neighbours' beacons, sorted by Dest. Routes through a failed
// neighbour are left out; a route unrefreshed by beacons expires.
func (m *Mesh) Routes() ([]Route, error) {
	var raw []struct {
		Dest    string `json:"dest"`
		NextHop string `json:"next_hop"`
		Hops    int    `json:"hops"`
	}
	if err := m.jsonCall(func(h *C.net_mesh_t, out **C.char) C.int32_t { return C.net_mesh_routes(h, out, nil) }, &raw); err != nil {
		return nil, err
	}
	routes := make([]Route, len(raw))
	for i, r := range raw {
		dest, err := strconv.ParseUint(r.Dest, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("route dest %q: %w", r.Dest, err)
		}
		next, err := strconv.ParseUint(r.NextHop, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("route next hop %q: %w", r.NextHop, err)
		}
		routes[i] = Route{Dest: dest, NextHop: next, Hops: r.Hops}
	}
	return routes, nil
}

// KnownPeers lists the peer store's entries (none without a PeerStore).
func (m *Mesh) KnownPeers() ([]KnownPeer, error) {
	var raw []struct {
		Addr          string `json:"addr"`
		NodeID        string `json:"node_id"`
		PublicKey     string `json:"public_key"`
		LastSuccessMs int64  `json:"last_success_ms"`
		Failures      uint32 `json:"failures"`
	}
	if err := m.jsonCall(func(h *C.net_mesh_t, out **C.char) C.int32_t { return C.net_mesh_known_peers(h, out, nil) }, &raw); err != nil {
		return nil, err
	}
	peers := make([]KnownPeer, len(raw))
	for i, p := range raw {
		id, err := strconv.ParseUint(p.NodeID, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("known peer node id %q: %w", p.NodeID, err)
		}
		key, err := hex.DecodeString(p.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("known peer public key: %w", err)
		}
		peers[i] = KnownPeer{
			Addr: p.Addr, NodeID: id, PublicKey: key,
			LastSuccess: time.UnixMilli(p.LastSuccessMs), Failures: p.Failures,
		}
	}
	return peers, nil
}

// Stats returns the node's counters.
func (m *Mesh) Stats() (MeshStats, error) {
	var s MeshStats
	err := m.jsonCall(func(h *C.net_mesh_t, out **C.char) C.int32_t { return C.net_mesh_stats(h, out, nil) }, &s)
	return s, err
}

// StreamStats returns one stream's counters; ok is false if the stream was
// never used (neither opened, sent on nor received on).
func (m *Mesh) StreamStats(peer, stream uint64) (stats StreamStats, ok bool, err error) {
	var out *C.char
	var rc C.int32_t
	err = m.call(func(h *C.net_mesh_t) C.int32_t {
		rc = C.net_mesh_stream_stats(h, C.uint64_t(peer), C.uint64_t(stream), &out, nil)
		return rc
	})
	if err != nil || rc == C.NET_DONE || out == nil {
		return StreamStats{}, false, err
	}
	defer C.net_string_free(out)
	stats, err = parseStreamStats(C.GoString(out))
	return stats, err == nil, err
}

// parseStreamStats reads the engine's stream counters JSON.
func parseStreamStats(text string) (StreamStats, error) {
	var stats StreamStats
	if err := json.Unmarshal([]byte(text), &stats); err != nil {
		return StreamStats{}, err
	}
	stats.Reliable = stats.Reliability == "reliable"
	return stats, nil
}

// Shutdown stops the node (idempotent): blocked calls return ErrMeshShutdown,
// the socket closes. Recv still returns messages already received, then
// ErrMeshShutdown.
func (m *Mesh) Shutdown() error {
	if m.closed.Load() {
		return nil
	}
	return m.call(func(h *C.net_mesh_t) C.int32_t { return C.net_mesh_shutdown(h) })
}

// Close shuts the node down and releases it (idempotent). Later calls fail
// with ErrMeshShutdown.
func (m *Mesh) Close() error {
	m.once.Do(func() {
		m.closed.Store(true)
		C.net_mesh_free(m.handle)
		runtime.SetFinalizer(m, nil)
	})
	return nil
}
