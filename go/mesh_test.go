package net

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	stdnet "net"
)

// testNetworkKey is the key of the test meshes and of mesh_echo: 32 bytes of 0x07.
var testNetworkKey = bytes.Repeat([]byte{7}, 32)

const (
	maxReliablePayload = 65423
	maxFireAndForget   = 65427
)

func mustMesh(t testing.TB, cfg MeshConfig) *Mesh {
	t.Helper()
	if cfg.NetworkKey == nil {
		cfg.NetworkKey = testNetworkKey
	}
	if cfg.Bind == "" {
		cfg.Bind = "127.0.0.1:0"
	}
	m, err := OpenMesh(cfg)
	if err != nil {
		t.Fatalf("OpenMesh: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// meshPair binds two nodes and connects a to b; it returns b's node id as a sees it.
func meshPair(t testing.TB) (a, b *Mesh, bID uint64) {
	t.Helper()
	a, b = mustMesh(t, MeshConfig{}), mustMesh(t, MeshConfig{})
	addr, err := b.LocalAddr()
	if err != nil {
		t.Fatal(err)
	}
	bID, err = a.Connect(testCtx(t, 10*time.Second), addr, b.PublicKey())
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	// b holds the session once a's confirmation arrives (just after Connect returns).
	waitFor(t, "b knows a", func() bool {
		peers, err := b.Peers()
		return err == nil && len(peers) == 1 && peers[0].Confirmed
	})
	return a, b, bID
}

func recvOne(t *testing.T, m *Mesh) Message {
	t.Helper()
	msg, err := m.Recv(testCtx(t, 5*time.Second))
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return msg
}

// waitFor polls cond until it holds, failing after 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func wantKind(t *testing.T, what string, err error, sentinel *Error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s: want %s, got %v", what, sentinel.Kind, err)
	}
}

func TestMeshTwoNodes(t *testing.T) {
	a, b, bID := meshPair(t)
	if bID != b.NodeID() || len(a.PublicKey()) != 32 || a.NodeID() == b.NodeID() {
		t.Fatalf("identities: peer id %d, b %d, a %d", bID, b.NodeID(), a.NodeID())
	}
	// a → b on a reliable stream, in order.
	rel, err := a.OpenStream(bID, 1, StreamConfig{Reliable: true, Window: 64})
	if err != nil {
		t.Fatal(err)
	}
	if rel.Peer() != bID || rel.ID() != 1 {
		t.Fatalf("stream names %d/%d", rel.Peer(), rel.ID())
	}
	for i := 0; i < 10; i++ {
		if err := rel.SendBlocking(testCtx(t, 5*time.Second), []byte(fmt.Sprintf("msg %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		msg := recvOne(t, b)
		if msg.From != a.NodeID() || msg.StreamID != 1 || string(msg.Payload) != fmt.Sprintf("msg %d", i) {
			t.Fatalf("message %d: %+v", i, msg)
		}
	}
	// b → a fire-and-forget (a stream never opened), empty payload too.
	if err := b.Send(a.NodeID(), 3, []byte("pong")); err != nil {
		t.Fatal(err)
	}
	if msg := recvOne(t, a); msg.From != bID || msg.StreamID != 3 || string(msg.Payload) != "pong" {
		t.Fatalf("reply: %+v", msg)
	}
	if err := b.Send(a.NodeID(), 3, nil); err != nil {
		t.Fatal(err)
	}
	if msg := recvOne(t, a); msg.StreamID != 3 || msg.Payload == nil || len(msg.Payload) != 0 {
		t.Fatalf("empty payload: %+v", msg)
	}
	if err := rel.Send([]byte{}); err != nil {
		t.Fatal(err)
	}
	if msg := recvOne(t, b); msg.StreamID != 1 || len(msg.Payload) != 0 {
		t.Fatalf("empty reliable payload: %+v", msg)
	}
	// The largest payloads: reliable and fire-and-forget.
	big := bytes.Repeat([]byte{0xAB}, maxReliablePayload)
	if err := rel.SendBlocking(testCtx(t, 5*time.Second), big); err != nil {
		t.Fatal(err)
	}
	if msg := recvOne(t, b); !bytes.Equal(msg.Payload, big) {
		t.Fatalf("largest reliable payload: %d bytes back", len(msg.Payload))
	}
	faf, err := b.OpenStream(a.NodeID(), 5, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	bigger := bytes.Repeat([]byte{0xCD}, maxFireAndForget)
	if err := faf.Send(bigger); err != nil {
		t.Fatal(err)
	}
	if msg := recvOne(t, a); msg.StreamID != 5 || !bytes.Equal(msg.Payload, bigger) {
		t.Fatalf("largest fire-and-forget payload: %d bytes back", len(msg.Payload))
	}
	// Peers, stats, stream stats.
	peers, err := a.Peers()
	if err != nil || len(peers) != 1 || peers[0].NodeID != bID || !bytes.Equal(peers[0].PublicKey, b.PublicKey()) || peers[0].Addr == "" {
		t.Fatalf("peers %+v %v", peers, err)
	}
	bPeers, err := b.Peers()
	if err != nil || len(bPeers) != 1 || bPeers[0].NodeID != a.NodeID() || !bPeers[0].Confirmed {
		t.Fatalf("b's peers %+v %v", bPeers, err)
	}
	// Both sides agreed one packet cipher.
	if c := peers[0].Cipher; c != bPeers[0].Cipher || (c != CipherAES256GCM && c != CipherChaCha20Poly1305) {
		t.Fatalf("ciphers %q and %q", c, bPeers[0].Cipher)
	}
	stats, err := a.Stats()
	if err != nil || stats.HandshakesCompleted != 1 || stats.HandshakesThrottled != 0 || stats.PacketsSent == 0 || stats.BytesReceived < maxFireAndForget {
		t.Fatalf("stats %+v %v", stats, err)
	}
	st, err := rel.Stats()
	if err != nil || !st.Reliable || st.Peer != bID || st.StreamID != 1 || st.Sent != 12 || st.Window != 64 {
		t.Fatalf("stream stats %+v %v", st, err)
	}
	// The engine counts a delivery just after queueing it: wait for the counter.
	waitFor(t, "b counts 12 received", func() bool {
		got, ok, err := b.StreamStats(a.NodeID(), 1)
		return err == nil && ok && got.Received == 12
	})
	fst, err := faf.Stats()
	if err != nil || fst.Reliable || fst.Sent != 1 || fst.Window != 0 {
		t.Fatalf("fire-and-forget stats %+v %v", fst, err)
	}
	if _, ok, err := a.StreamStats(bID, 99); ok || err != nil {
		t.Fatalf("unused stream: %v %v", ok, err)
	}
	// Opening again with the same config is fine.
	if _, err := a.OpenStream(bID, 1, StreamConfig{Reliable: true, Window: 64}); err != nil {
		t.Fatal(err)
	}
}

func TestMeshSeededIdentityAndLargeNodeID(t *testing.T) {
	seed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	b := mustMesh(t, MeshConfig{Seed: seed, HandshakeTimeout: 2 * time.Second, HandshakeRetry: 100 * time.Millisecond,
		InboxCapacity: 1024, RetransmitTimeout: 50 * time.Millisecond})
	const wantID uint64 = 13594199455360962225 // above 2^53: must survive JSON exactly
	if hex.EncodeToString(b.PublicKey()) != "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" || b.NodeID() != wantID {
		t.Fatalf("seeded identity %x %d", b.PublicKey(), b.NodeID())
	}
	a := mustMesh(t, MeshConfig{})
	addr, _ := b.LocalAddr()
	id, err := a.Connect(testCtx(t, 5*time.Second), addr, b.PublicKey())
	if err != nil || id != wantID {
		t.Fatalf("connect: %d %v", id, err)
	}
	peers, err := a.Peers()
	if err != nil || len(peers) != 1 || peers[0].NodeID != wantID {
		t.Fatalf("peers %+v %v", peers, err)
	}
	if err := a.Send(wantID, 7, []byte("x")); err != nil {
		t.Fatal(err)
	}
	st, ok, err := a.StreamStats(wantID, 7)
	if err != nil || !ok || st.Peer != wantID {
		t.Fatalf("stream stats %+v %v %v", st, ok, err)
	}
}

func TestMeshInvalidConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  MeshConfig
		want *Error
	}{
		{"no network key", MeshConfig{Bind: "127.0.0.1:0"}, ErrInvalidMeshConfig},
		{"short network key", MeshConfig{NetworkKey: make([]byte, 31)}, ErrInvalidMeshConfig},
		{"bad bind", MeshConfig{NetworkKey: testNetworkKey, Bind: "nowhere"}, ErrInvalidMeshConfig},
		{"negative timeout", MeshConfig{NetworkKey: testNetworkKey, HandshakeTimeout: -time.Second}, ErrInvalidMeshConfig},
		{"short seed", MeshConfig{NetworkKey: testNetworkKey, Seed: []byte{1, 2}}, ErrInvalidSeed},
		{"unknown trust policy", MeshConfig{NetworkKey: testNetworkKey, Trust: &TrustConfig{Policy: "sometimes"}}, ErrInvalidMeshConfig},
		{"pinned at a bad address", MeshConfig{NetworkKey: testNetworkKey, Trust: &TrustConfig{Pinned: map[string][]byte{"nowhere": bytes.Repeat([]byte{1}, 32)}}}, ErrInvalidMeshConfig},
		{"short allowlisted key", MeshConfig{NetworkKey: testNetworkKey, Trust: &TrustConfig{Policy: TrustAllowlist, Allow: [][]byte{{1, 2}}}}, ErrInvalidKey},
		{"nil allowlisted key", MeshConfig{NetworkKey: testNetworkKey, Trust: &TrustConfig{Policy: TrustAllowlist, Allow: [][]byte{nil}}}, ErrInvalidKey},
		{"short pinned key", MeshConfig{NetworkKey: testNetworkKey, Trust: &TrustConfig{Pinned: map[string][]byte{"127.0.0.1:9000": make([]byte, 31)}}}, ErrInvalidKey},
		{"negative peer store size", MeshConfig{NetworkKey: testNetworkKey, PeerStore: &PeerStoreConfig{Path: filepath.Join(os.TempDir(), "unused-peers.json"), MaxEntries: -1}}, ErrInvalidMeshConfig},
		{"negative audit size", MeshConfig{NetworkKey: testNetworkKey, AuditLog: &AuditLogConfig{Path: filepath.Join(os.TempDir(), "unused-audit.jsonl"), MaxBytes: -1}}, ErrInvalidMeshConfig},
	}
	for _, c := range cases {
		m, err := OpenMesh(c.cfg)
		if err == nil {
			m.Close()
		}
		wantKind(t, c.name, err, c.want)
	}
	_, err := openMeshJSON(`{"network_key": "` + hex.EncodeToString(testNetworkKey) + `", "colour": "blue"}`)
	wantKind(t, "unknown key", err, ErrInvalidMeshConfig)
	_, err = openMeshJSON(`{nope`)
	wantKind(t, "not JSON", err, ErrInvalidMeshConfig)
	// A sub-millisecond duration rounds up instead of becoming the invalid 0.
	m, err := OpenMesh(MeshConfig{NetworkKey: testNetworkKey, Bind: "127.0.0.1:0", HandshakeRetry: 500 * time.Microsecond})
	if err != nil {
		t.Fatalf("500µs retry: %v", err)
	}
	m.Close()
}

// TestMeshTrustConfigJSON checks the engine JSON the trust, peer store and
// audit sections become (what every language sends the engine).
func TestMeshTrustConfigJSON(t *testing.T) {
	// The public key of the RFC 8032 test seed (an ed25519 point).
	key, _ := hex.DecodeString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	cfg := MeshConfig{
		NetworkKey: testNetworkKey,
		Trust: &TrustConfig{
			Policy: TrustTOFU,
			Allow:  [][]byte{key},
			Pinned: map[string][]byte{"127.0.0.1:9000": key},
		},
		PeerStore: &PeerStoreConfig{Path: "p.json", TTL: time.Hour, FlushInterval: 500 * time.Microsecond, MaxEntries: 8},
		AuditLog:  &AuditLogConfig{Path: "a.jsonl", MaxBytes: 4096, Keep: -1},
	}
	text, err := cfg.json()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(text, &got); err != nil {
		t.Fatal(err)
	}
	hexKey := hex.EncodeToString(key)
	want := map[string]any{
		"trust":      map[string]any{"policy": "tofu", "allow": []any{hexKey}, "pinned": map[string]any{"127.0.0.1:9000": hexKey}},
		"peer_store": map[string]any{"path": "p.json", "ttl_ms": 3.6e6, "flush_interval_ms": 1.0, "max_entries": 8.0},
		"audit_log":  map[string]any{"path": "a.jsonl", "max_bytes": 4096.0, "keep": 0.0},
	}
	for section, body := range want {
		if fmt.Sprint(got[section]) != fmt.Sprint(body) {
			t.Errorf("%s: got %v, want %v", section, got[section], body)
		}
	}
	// Zero values leave the engine's defaults: only the path is sent.
	text, _ = MeshConfig{Trust: &TrustConfig{}, PeerStore: &PeerStoreConfig{Path: "p"}, AuditLog: &AuditLogConfig{Path: "a"}}.json()
	if string(text) != `{"audit_log":{"path":"a"},"peer_store":{"path":"p"},"trust":{}}` {
		t.Errorf("zero sections: %s", text)
	}
	// Every section opens, and a node without a store knows no peers.
	m := mustMesh(t, MeshConfig{
		Trust:     &TrustConfig{Policy: TrustAllowlist, Allow: [][]byte{key}, Pinned: map[string][]byte{"127.0.0.1:9000": key}},
		PeerStore: &PeerStoreConfig{Path: filepath.Join(t.TempDir(), "peers.json"), TTL: time.Minute, FlushInterval: 50 * time.Millisecond, MaxEntries: 4},
		AuditLog:  &AuditLogConfig{Path: filepath.Join(t.TempDir(), "audit.jsonl"), MaxBytes: 1 << 20, Keep: 2},
	})
	if peers, err := m.KnownPeers(); err != nil || len(peers) != 0 {
		t.Fatalf("known peers of a new store: %v %v", peers, err)
	}
	plain := mustMesh(t, MeshConfig{})
	if peers, err := plain.KnownPeers(); err != nil || peers == nil || len(peers) != 0 {
		t.Fatalf("known peers without a store: %#v %v", peers, err)
	}
	if st, err := plain.Stats(); err != nil || st.TrustAccepted != 0 || st.TrustRejected != 0 {
		t.Fatalf("stats of a new node: %+v %v", st, err)
	}
	_ = plain.Close()
	if _, err := plain.KnownPeers(); !errors.Is(err, ErrMeshShutdown) {
		t.Fatalf("known peers after Close: %v", err)
	}
}

// auditLines reads an audit log's lines.
func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var entry map[string]any
		if err := json.Unmarshal(line, &entry); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		lines = append(lines, entry)
	}
	return lines
}

// shortHandshake is a config whose Connect gives up after 800 ms.
func shortHandshake(cfg MeshConfig) MeshConfig {
	cfg.HandshakeTimeout = 800 * time.Millisecond
	cfg.HandshakeRetry = 100 * time.Millisecond
	return cfg
}

// connectRefusedAtOnce connects m to addr expecting key and wants
// ErrUntrustedPeer well before m's (default 5 s) handshake timeout.
func connectRefusedAtOnce(t *testing.T, m *Mesh, addr string, key []byte) {
	t.Helper()
	start := time.Now()
	_, err := m.Connect(testCtx(t, 10*time.Second), addr, key)
	wantKind(t, "connect to an untrusted key", err, ErrUntrustedPeer)
	var e *Error
	if !errors.As(err, &e) || e.Code != -88 || e.Kind != "mesh:untrusted_peer" {
		t.Fatalf("untrusted peer error: %#v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("refusal took %v", took)
	}
}

func TestMeshTrustTOFU(t *testing.T) {
	dir := t.TempDir()
	auditPath := filepath.Join(dir, "audit.jsonl")
	storePath := filepath.Join(dir, "peers.json")
	b := mustMesh(t, MeshConfig{
		Seed:      bytes.Repeat([]byte{2}, 32),
		Trust:     &TrustConfig{Policy: TrustTOFU},
		PeerStore: &PeerStoreConfig{Path: storePath},
		AuditLog:  &AuditLogConfig{Path: auditPath},
	})
	bAddr, _ := b.LocalAddr()

	// First use: A's key is pinned at A's address.
	a := mustMesh(t, shortHandshake(MeshConfig{Seed: bytes.Repeat([]byte{1}, 32)}))
	aAddr, _ := a.LocalAddr()
	aKey, aID := a.PublicKey(), a.NodeID()
	bID, err := a.Connect(testCtx(t, 10*time.Second), bAddr, b.PublicKey())
	if err != nil {
		t.Fatalf("A connects: %v", err)
	}
	if err := a.Send(bID, 1, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if msg := recvOne(t, b); msg.From != aID || string(msg.Payload) != "hi" {
		t.Fatalf("B received %+v", msg)
	}
	_ = a.Close()

	// Another identity at the same address: B stays silent.
	impostor := mustMesh(t, shortHandshake(MeshConfig{Bind: aAddr, Seed: bytes.Repeat([]byte{3}, 32)}))
	_, err = impostor.Connect(testCtx(t, 10*time.Second), bAddr, b.PublicKey())
	wantKind(t, "the impostor connects", err, ErrMeshTimeout)
	st, err := b.Stats()
	if err != nil || st.TrustAccepted != 1 || st.TrustRejected != 1 {
		t.Fatalf("B's trust counters: accepted %d rejected %d (%v)", st.TrustAccepted, st.TrustRejected, err)
	}

	// B remembers A (address and key), not the impostor.
	known, err := b.KnownPeers()
	if err != nil || len(known) != 1 {
		t.Fatalf("known peers %+v %v", known, err)
	}
	k := known[0]
	if k.Addr != aAddr || !bytes.Equal(k.PublicKey, aKey) || k.NodeID != aID {
		t.Fatalf("known peer %+v, want %s %x %d", k, aAddr, aKey, aID)
	}
	if since := time.Since(k.LastSuccess); since < 0 || since > time.Minute {
		t.Fatalf("known peer last success %v (%v ago)", k.LastSuccess, since)
	}

	// The initiator side holds the same pin: B will not dial the new key there.
	connectRefusedAtOnce(t, b, aAddr, impostor.PublicKey())

	lines := auditLines(t, auditPath)
	if len(lines) != 3 {
		t.Fatalf("audit lines: %v", lines)
	}
	want := [][2]string{{"responder", "accept"}, {"responder", "reject"}, {"initiator", "reject"}}
	for i, line := range lines {
		if line["side"] != want[i][0] || line["decision"] != want[i][1] || line["kind"] != "trust_decision" || line["policy"] != "tofu" {
			t.Fatalf("audit line %d: %v, want %v", i, line, want[i])
		}
		if line["addr"] != aAddr {
			t.Fatalf("audit line %d addr %v, want %s", i, line["addr"], aAddr)
		}
		if prev, _ := line["prev"].(string); len(prev) != 64 || (i == 0) != (prev == strings.Repeat("0", 64)) {
			t.Fatalf("audit line %d prev %q", i, prev)
		}
	}
	if lines[0]["public_key"] != hex.EncodeToString(aKey) || lines[0]["node_id"] != strconv.FormatUint(aID, 10) {
		t.Fatalf("accepted line %v", lines[0])
	}
	if lines[1]["public_key"] != hex.EncodeToString(impostor.PublicKey()) || lines[1]["node_id"] != strconv.FormatUint(impostor.NodeID(), 10) {
		t.Fatalf("rejected line %v", lines[1])
	}

	// Closing B writes the store: A's key is the pin its next run starts with.
	_ = b.Close()
	data, err := os.ReadFile(storePath)
	if err != nil || !bytes.Contains(data, []byte(hex.EncodeToString(aKey))) || bytes.Contains(data, []byte(hex.EncodeToString(impostor.PublicKey()))) {
		t.Fatalf("peer store after Close: %s %v", data, err)
	}
	b2 := mustMesh(t, MeshConfig{
		Seed:      bytes.Repeat([]byte{2}, 32),
		Trust:     &TrustConfig{Policy: TrustTOFU},
		PeerStore: &PeerStoreConfig{Path: storePath},
	})
	connectRefusedAtOnce(t, b2, aAddr, impostor.PublicKey())
	if known, err := b2.KnownPeers(); err != nil || len(known) != 1 || known[0].Addr != aAddr {
		t.Fatalf("known peers after a restart: %+v %v", known, err)
	}
}

func TestMeshTrustAllowlist(t *testing.T) {
	a := mustMesh(t, shortHandshake(MeshConfig{}))
	b := mustMesh(t, MeshConfig{Trust: &TrustConfig{Policy: TrustAllowlist, Allow: [][]byte{a.PublicKey()}}})
	bAddr, _ := b.LocalAddr()
	if _, err := a.Connect(testCtx(t, 10*time.Second), bAddr, b.PublicKey()); err != nil {
		t.Fatalf("the listed key connects: %v", err)
	}
	stranger := mustMesh(t, shortHandshake(MeshConfig{}))
	_, err := stranger.Connect(testCtx(t, 10*time.Second), bAddr, b.PublicKey())
	wantKind(t, "a stranger connects", err, ErrMeshTimeout)
	if st, err := b.Stats(); err != nil || st.TrustAccepted != 1 || st.TrustRejected != 1 {
		t.Fatalf("B's trust counters: %+v %v", st, err)
	}
	strangerAddr, _ := stranger.LocalAddr()
	connectRefusedAtOnce(t, b, strangerAddr, stranger.PublicKey())
	if st, _ := b.Stats(); st.TrustRejected != 2 {
		t.Fatalf("B's rejections after dialing the stranger: %d", st.TrustRejected)
	}
	if known, err := b.KnownPeers(); err != nil || len(known) != 0 {
		t.Fatalf("known peers without a store: %+v %v", known, err)
	}
}

// A pinned key holds under the open policy too.
func TestMeshTrustPinned(t *testing.T) {
	b := mustMesh(t, MeshConfig{})
	bAddr, _ := b.LocalAddr()
	a := mustMesh(t, MeshConfig{Trust: &TrustConfig{Pinned: map[string][]byte{bAddr: bytes.Repeat([]byte{9}, 32)}}})
	connectRefusedAtOnce(t, a, bAddr, b.PublicKey())
}

func TestMeshHandshakeFailed(t *testing.T) {
	a := mustMesh(t, MeshConfig{HandshakeTimeout: 1500 * time.Millisecond, HandshakeRetry: 100 * time.Millisecond})
	other := mustMesh(t, MeshConfig{NetworkKey: bytes.Repeat([]byte{9}, 32)})
	addr, _ := other.LocalAddr()
	_, err := a.Connect(testCtx(t, 10*time.Second), addr, other.PublicKey())
	wantKind(t, "another network key", err, ErrHandshakeFailed)
	if peers, _ := a.Peers(); len(peers) != 0 {
		t.Fatalf("a failed handshake left peers %+v", peers)
	}
}

func TestMeshConnectTimeoutAndContext(t *testing.T) {
	silent, err := stdnet.ListenPacket("udp", "127.0.0.1:0") // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	a := mustMesh(t, MeshConfig{HandshakeTimeout: 300 * time.Millisecond, HandshakeRetry: 50 * time.Millisecond})
	key := bytes.Repeat([]byte{1}, 32)
	_, err = a.Connect(context.Background(), silent.LocalAddr().String(), key)
	wantKind(t, "no answer", err, ErrMeshTimeout)

	// The context ends long before the (default 5 s) handshake timeout.
	slow := mustMesh(t, MeshConfig{})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = slow.Connect(ctx, silent.LocalAddr().String(), key)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("connect with a 100 ms context: %v after %v", err, time.Since(start))
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := slow.Connect(done, silent.LocalAddr().String(), key); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestMeshBadArguments(t *testing.T) {
	a, b, bID := meshPair(t)
	addr, _ := b.LocalAddr()
	_, err := a.Connect(context.Background(), addr, b.PublicKey()[:31])
	wantKind(t, "31-byte public key", err, ErrInvalidKey)
	_, err = a.Connect(context.Background(), addr, nil)
	wantKind(t, "no public key", err, ErrInvalidKey)
	_, err = a.Connect(context.Background(), "not an address", b.PublicKey())
	wantKind(t, "malformed address", err, ErrInvalidMeshArgument)
	_, err = a.Connect(context.Background(), "127.0.0.1", b.PublicKey())
	wantKind(t, "address without port", err, ErrInvalidMeshArgument)
	if _, err := a.OpenStream(bID, 4, StreamConfig{Reliable: true}); err != nil {
		t.Fatal(err)
	}
	_, err = a.OpenStream(bID, 4, StreamConfig{})
	wantKind(t, "reopen with another config", err, ErrInvalidMeshConfig)
	_, err = a.OpenStream(bID, 4, StreamConfig{Reliable: true, Window: 8})
	wantKind(t, "reopen with another window", err, ErrInvalidMeshConfig)
}

func TestMeshUnknownPeer(t *testing.T) {
	a, _, bID := meshPair(t)
	stranger := bID ^ 1
	_, err := a.OpenStream(stranger, 1, StreamConfig{Reliable: true})
	wantKind(t, "open_stream", err, ErrUnknownPeer)
	wantKind(t, "send", a.Send(stranger, 1, []byte("x")), ErrUnknownPeer)
	wantKind(t, "send_with_retry", a.SendWithRetry(stranger, 1, []byte("x"), 1), ErrUnknownPeer)
	wantKind(t, "send_blocking", a.SendBlocking(testCtx(t, time.Second), stranger, 1, []byte("x")), ErrUnknownPeer)
}

func TestMeshMessageTooLarge(t *testing.T) {
	a, b, bID := meshPair(t)
	rel, err := a.OpenStream(bID, 2, StreamConfig{Reliable: true})
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, "reliable", rel.Send(make([]byte, maxReliablePayload+1)), ErrMessageTooLarge)
	wantKind(t, "reliable blocking", rel.SendBlocking(testCtx(t, time.Second), make([]byte, maxReliablePayload+1)), ErrMessageTooLarge)
	wantKind(t, "fire-and-forget", a.Send(bID, 3, make([]byte, maxFireAndForget+1)), ErrMessageTooLarge)
	wantKind(t, "b to a", b.Send(a.NodeID(), 3, make([]byte, 1<<20)), ErrMessageTooLarge)
	if st, _ := rel.Stats(); st.Sent != 0 || st.InFlight != 0 {
		t.Fatalf("a refused message was counted: %+v", st)
	}
}

func TestMeshBackpressure(t *testing.T) {
	a, b, bID := meshPair(t)
	s, err := a.OpenStream(bID, 2, StreamConfig{Reliable: true, Window: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil { // no acks will ever come
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := s.Send([]byte{byte(i)}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	wantKind(t, "third send", s.Send([]byte("3")), ErrStreamBackpressure)
	wantKind(t, "send with retry", s.SendWithRetry([]byte("3"), 2), ErrStreamBackpressure)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.SendBlocking(ctx, []byte("3"))
	wantKind(t, "send blocking", err, ErrMeshTimeout)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("send blocking: %v after %v", err, time.Since(start))
	}
	// Cancelling (rather than a deadline) ends the wait with ctx.Err().
	cctx, ccancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(30*time.Millisecond, ccancel)
	defer timer.Stop()
	if err := s.SendBlocking(cctx, []byte("3")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled send blocking: %v", err)
	}
	st, err := s.Stats()
	if err != nil || st.InFlight != 2 || st.BackpressureEvents < 1 || st.Sent != 2 || st.Window != 2 {
		t.Fatalf("stream stats %+v %v", st, err)
	}
	// A wait without limit (context.Background) ends when the node shuts down.
	woke := make(chan error, 1)
	go func() { woke <- s.SendBlocking(context.Background(), []byte("4")) }()
	time.AfterFunc(50*time.Millisecond, func() { _ = a.Shutdown() })
	select {
	case err := <-woke:
		wantKind(t, "unlimited send blocking", err, ErrMeshShutdown)
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not wake a blocked SendBlocking")
	}
}

func TestMeshShutdownAndClose(t *testing.T) {
	a, b, bID := meshPair(t)
	for i := 0; i < 3; i++ {
		if err := a.Send(bID, 1, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until all three are in b's inbox, then shut b down.
	waitFor(t, "b receives 3 messages", func() bool {
		st, ok, _ := b.StreamStats(a.NodeID(), 1)
		return ok && st.Received == 3
	})
	bAddr, err := b.LocalAddr()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
	// Shutdown frees the port at once (b is not closed yet).
	_, err = b.LocalAddr()
	wantKind(t, "local addr after shutdown", err, ErrMeshShutdown)
	again := mustMesh(t, MeshConfig{Bind: bAddr})
	if addr, err := again.LocalAddr(); err != nil || addr != bAddr {
		t.Fatalf("rebind %s: %s %v", bAddr, addr, err)
	}
	_ = again.Close()
	// Shutdown keeps what was received, then reports mesh:shutdown.
	for i := 0; i < 3; i++ {
		if msg := recvOne(t, b); msg.Payload[0] != byte(i) {
			t.Fatalf("drained %+v", msg)
		}
	}
	_, err = b.Recv(testCtx(t, time.Second))
	wantKind(t, "recv after drain", err, ErrMeshShutdown)
	wantKind(t, "send after shutdown", b.Send(a.NodeID(), 1, []byte("x")), ErrMeshShutdown)
	_, err = b.OpenStream(a.NodeID(), 1, StreamConfig{Reliable: true})
	wantKind(t, "open_stream after shutdown", err, ErrMeshShutdown)
	_, err = b.Connect(context.Background(), "127.0.0.1:9", a.PublicKey())
	wantKind(t, "connect after shutdown", err, ErrMeshShutdown)
	if _, err := b.Stats(); err != nil {
		t.Fatalf("stats after shutdown: %v", err)
	}

	// A blocked Recv is woken by Close; everything after Close is mesh:shutdown.
	woke := make(chan error, 1)
	go func() {
		_, err := a.Recv(context.Background())
		woke <- err
	}()
	time.AfterFunc(50*time.Millisecond, func() { _ = a.Close() })
	select {
	case err := <-woke:
		wantKind(t, "blocked recv", err, ErrMeshShutdown)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake a blocked Recv")
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	wantKind(t, "send after close", a.Send(bID, 1, []byte("x")), ErrMeshShutdown)
	_, err = a.Recv(context.Background())
	wantKind(t, "recv after close", err, ErrMeshShutdown)
	_, err = a.Connect(context.Background(), "127.0.0.1:9", b.PublicKey())
	wantKind(t, "connect after close", err, ErrMeshShutdown)
	_, err = a.Peers()
	wantKind(t, "peers after close", err, ErrMeshShutdown)
	_, err = a.LocalAddr()
	wantKind(t, "local addr after close", err, ErrMeshShutdown)
	_, _, err = a.StreamStats(bID, 1)
	wantKind(t, "stream stats after close", err, ErrMeshShutdown)
	if err := a.Shutdown(); err != nil {
		t.Fatalf("shutdown after close: %v", err)
	}
}

func TestMeshRecvContextAndMessages(t *testing.T) {
	a, b, bID := meshPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	if _, err := b.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("idle recv: %v", err)
	}
	for i := 0; i < 5; i++ {
		if err := a.Send(bID, 9, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	mctx, mcancel := context.WithCancel(context.Background())
	ch := b.Messages(mctx)
	seen := 0
	timeout := time.After(5 * time.Second)
	for seen < 5 {
		select {
		case msg := <-ch:
			if msg.StreamID != 9 || msg.From != a.NodeID() {
				t.Fatalf("message %+v", msg)
			}
			seen++
		case <-timeout:
			t.Fatalf("only %d of 5 messages", seen)
		}
	}
	mcancel()
	select {
	case _, open := <-ch:
		if open {
			t.Fatal("a message arrived after cancel")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Messages did not close after cancel")
	}
	// The channel also closes when the node shuts down.
	ch2 := b.Messages(context.Background())
	if err := b.Shutdown(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, open := <-ch2:
		if open {
			t.Fatal("unexpected message")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Messages did not close after shutdown")
	}
}

func TestMeshConcurrentStreams(t *testing.T) {
	a, b, bID := meshPair(t)
	const streams, perStream = 4, 300
	ctx := testCtx(t, 30*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, streams+1)
	for s := 0; s < streams; s++ {
		wg.Add(1)
		go func(id uint64) {
			defer wg.Done()
			st, err := a.OpenStream(bID, id, StreamConfig{Reliable: true, Window: 32})
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < perStream; i++ {
				var buf [8]byte
				binary.LittleEndian.PutUint64(buf[:], uint64(i))
				if err := st.SendBlocking(ctx, buf[:]); err != nil {
					errs <- fmt.Errorf("stream %d message %d: %w", id, i, err)
					return
				}
			}
		}(uint64(10 + 2*s))
	}
	// Readers of the control plane race the senders.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			if _, err := a.Stats(); err != nil {
				errs <- err
				return
			}
			if _, err := a.Peers(); err != nil {
				errs <- err
				return
			}
		}
	}()
	next := map[uint64]uint64{}
	for got := 0; got < streams*perStream; got++ {
		msg, err := b.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", got, err)
		}
		seq := binary.LittleEndian.Uint64(msg.Payload)
		if seq != next[msg.StreamID] {
			t.Fatalf("stream %d: got #%d, want #%d", msg.StreamID, seq, next[msg.StreamID])
		}
		next[msg.StreamID]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(next) != streams {
		t.Fatalf("streams seen: %v", next)
	}
	for id, n := range next {
		if n != perStream {
			t.Fatalf("stream %d: %d messages", id, n)
		}
	}
}

// meshEchoPath is the Rust peer of the cross-process test.
func meshEchoPath(t *testing.T) string {
	path, err := filepath.Abs(filepath.Join("..", "target", "release", "examples", "mesh_echo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the Rust peer %s is missing: build it with `cargo build --release -p net-sdk --examples` (%v)", path, err)
	}
	return path
}

func TestMeshCrossProcessEcho(t *testing.T) {
	cmd := exec.Command(meshEchoPath(t))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var waitOnce sync.Once
	wait := func() { waitOnce.Do(func() { go func() { exited <- cmd.Wait() }() }) }
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		wait()
		<-exited
	})

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var hello struct {
		Addr      string      `json:"addr"`
		PublicKey string      `json:"public_key"`
		NodeID    json.Number `json:"node_id"` // a decimal string (older builds: a number)
	}
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &hello); err != nil {
			t.Fatalf("mesh_echo said %q: %v", line, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("mesh_echo printed nothing")
	}
	key, err := hex.DecodeString(hello.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	wantID, err := strconv.ParseUint(hello.NodeID.String(), 10, 64)
	if err != nil {
		t.Fatal(err)
	}

	m := mustMesh(t, MeshConfig{})
	ctx := testCtx(t, 60*time.Second)
	peer, err := m.Connect(ctx, hello.Addr, key)
	if err != nil || peer != wantID {
		t.Fatalf("connect: %d (want %d) %v", peer, wantID, err)
	}
	rel, err := m.OpenStream(peer, 2, StreamConfig{Reliable: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	sendErr := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := rel.SendBlocking(ctx, []byte(fmt.Sprintf("echo %d", i))); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	for i := 0; i < n; i++ {
		msg, err := m.Recv(ctx)
		if err != nil {
			t.Fatalf("echo %d: %v", i, err)
		}
		if msg.From != peer || msg.StreamID != 2 || string(msg.Payload) != fmt.Sprintf("echo %d", i) {
			t.Fatalf("echo %d: got %+v (%q)", i, msg, msg.Payload)
		}
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	// The engine counts a delivery just after queueing it: wait for the counter.
	var st StreamStats
	waitFor(t, "500 counted as received", func() bool {
		st, err = rel.Stats()
		return err == nil && st.Received == n
	})
	if st.Sent != n || st.Duplicates != 0 {
		t.Fatalf("reliable stream stats %+v", st)
	}

	// Fire-and-forget on stream 1: loopback should not lose them, but only assert one.
	for i := 0; i < 5; i++ {
		if err := m.Send(peer, 1, []byte(fmt.Sprintf("ff %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	fctx, fcancel := context.WithTimeout(ctx, 2*time.Second)
	for got < 5 {
		msg, err := m.Recv(fctx)
		if err != nil {
			break
		}
		if msg.StreamID != 1 {
			t.Fatalf("unexpected %+v", msg)
		}
		got++
	}
	fcancel()
	if got < 1 {
		t.Fatal("no fire-and-forget echo came back")
	}

	// bye: echoed on the reliable stream, then the process exits 0.
	if err := rel.SendBlocking(ctx, []byte("bye")); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := m.Recv(ctx)
		if err != nil {
			t.Fatalf("bye echo: %v", err)
		}
		if msg.StreamID == 2 {
			if string(msg.Payload) != "bye" {
				t.Fatalf("bye echo: %q", msg.Payload)
			}
			break
		}
	}
	wait()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("mesh_echo exit: %v", err)
		}
		exited <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("mesh_echo did not exit after bye")
	}
}

// routeVia reports whether m's routes lead to dest through via in hops hops.
func routeVia(m *Mesh, dest, via uint64, hops int) bool {
	routes, err := m.Routes()
	if err != nil {
		return false
	}
	for _, r := range routes {
		if r.Dest == dest {
			return r.NextHop == via && r.Hops == hops
		}
	}
	return false
}

func peerByID(peers []Peer, id uint64) (Peer, bool) {
	for _, p := range peers {
		if p.NodeID == id {
			return p, true
		}
	}
	return Peer{}, false
}

// TestMeshRelay: A and C are each connected only to B; beacons teach them
// routes through B, and A reaches C through B, which never holds their keys.
func TestMeshRelay(t *testing.T) {
	// 50 ms beacons: B is suspect after 150 ms of silence, failed after 300
	// (health is timing: the checks below hold on a loaded machine too).
	cfg := MeshConfig{BeaconInterval: 50 * time.Millisecond}
	a, b, c := mustMesh(t, cfg), mustMesh(t, cfg), mustMesh(t, cfg)
	ctx := testCtx(t, 20*time.Second)

	// Before any route is known: mesh:unknown_peer at once.
	_, err := a.ConnectRouted(ctx, c.PublicKey())
	wantKind(t, "connect routed without a route", err, ErrUnknownPeer)
	if routes, err := a.Routes(); err != nil || routes == nil || len(routes) != 0 {
		t.Fatalf("routes of a lone node: %#v %v", routes, err)
	}

	bAddr, err := b.LocalAddr()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Mesh{a, c} {
		if id, err := m.Connect(ctx, bAddr, b.PublicKey()); err != nil || id != b.NodeID() {
			t.Fatalf("Connect to B: %d %v", id, err)
		}
	}
	waitFor(t, "A and C learn routes to each other through B", func() bool {
		return routeVia(a, c.NodeID(), b.NodeID(), 2) && routeVia(c, a.NodeID(), b.NodeID(), 2)
	})

	// A route vanishes while B is silent for six intervals (only under heavy
	// load): then try again, as a caller would.
	var cID uint64
	waitFor(t, "ConnectRouted finds the route", func() bool {
		cID, err = a.ConnectRouted(ctx, c.PublicKey())
		return !errors.Is(err, ErrUnknownPeer)
	})
	if err != nil || cID != c.NodeID() {
		t.Fatalf("ConnectRouted: %d %v (C is %d)", cID, err, c.NodeID())
	}

	// A → C: 100 messages on a reliable stream, in order.
	stream, err := a.OpenStream(cID, 5, StreamConfig{Reliable: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := 0; i < n; i++ {
		if err := stream.SendBlocking(ctx, []byte(fmt.Sprintf("relayed %03d", i))); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := 0; i < n; i++ {
		msg := recvOne(t, c)
		if want := fmt.Sprintf("relayed %03d", i); msg.From != a.NodeID() || msg.StreamID != 5 || string(msg.Payload) != want {
			t.Fatalf("message %d: %+v (%q), want %q", i, msg, msg.Payload, want)
		}
	}

	// C → A on the same session.
	back, err := c.OpenStream(a.NodeID(), 6, StreamConfig{Reliable: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := back.SendBlocking(ctx, []byte("reply")); err != nil {
		t.Fatal(err)
	}
	if msg := recvOne(t, a); msg.From != cID || msg.StreamID != 6 || string(msg.Payload) != "reply" {
		t.Fatalf("reply: %+v (%q)", msg, msg.Payload)
	}

	// C lists A as routed and alive; A sees C routed and B direct.
	cPeers, err := c.Peers()
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := peerByID(cPeers, a.NodeID()); !ok || !p.Routed || p.Health != HealthAlive || !bytes.Equal(p.PublicKey, a.PublicKey()) {
		t.Fatalf("C's peers: %+v", cPeers)
	}
	aPeers, err := a.Peers()
	if err != nil {
		t.Fatal(err)
	}
	pc, okC := peerByID(aPeers, cID)
	pb, okB := peerByID(aPeers, b.NodeID())
	if len(aPeers) != 2 || !okC || !pc.Routed || pc.Health != HealthAlive || !okB || pb.Routed {
		t.Fatalf("A's peers: %+v", aPeers)
	}

	// B relayed every message (and the acks) but holds sessions only with A and C.
	st, err := b.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.PacketsForwarded < n {
		t.Fatalf("B forwarded %d packets, want >= %d (%+v)", st.PacketsForwarded, n, st)
	}
	bPeers, err := b.Peers()
	if err != nil {
		t.Fatal(err)
	}
	_, okA := peerByID(bPeers, a.NodeID())
	_, okC = peerByID(bPeers, c.NodeID())
	if len(bPeers) != 2 || !okA || !okC {
		t.Fatalf("B's peers: %+v", bPeers)
	}
	for _, p := range bPeers {
		if p.Routed || (p.Health != HealthAlive && p.Health != HealthSuspect && p.Health != HealthFailed) {
			t.Fatalf("B's neighbour: %+v", p)
		}
	}
	if st, err := a.Stats(); err != nil || st.PacketsForwarded != 0 || st.PeersRecovered > st.PeersSuspected+st.PeersFailed {
		t.Fatalf("A's stats: %+v %v", st, err)
	}

	// A key nobody advertises (the RFC 8032 test key), a short key, a done context.
	unknown, _ := hex.DecodeString("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
	_, err = a.ConnectRouted(ctx, unknown)
	wantKind(t, "connect routed to an unknown key", err, ErrUnknownPeer)
	_, err = a.ConnectRouted(ctx, c.PublicKey()[:31])
	wantKind(t, "connect routed with a 31-byte key", err, ErrInvalidKey)
	_, err = a.ConnectRouted(ctx, nil)
	wantKind(t, "connect routed with no key", err, ErrInvalidKey)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.ConnectRouted(done, c.PublicKey()); !errors.Is(err, context.Canceled) {
		t.Fatalf("connect routed with a cancelled context: %v", err)
	}

	// After Close: mesh:shutdown.
	_ = a.Close()
	_, err = a.ConnectRouted(ctx, c.PublicKey())
	wantKind(t, "connect routed after close", err, ErrMeshShutdown)
	_, err = a.Routes()
	wantKind(t, "routes after close", err, ErrMeshShutdown)
}

// TestMeshRelayConfig: the beacon interval and hop limit reach the engine
// (milliseconds, rounded up), zero keeps the defaults, and values the engine
// refuses fail with mesh:invalid_config.
func TestMeshRelayConfig(t *testing.T) {
	text, err := MeshConfig{BeaconInterval: 1500 * time.Microsecond, MaxHops: 3}.json()
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != `{"beacon_interval_ms":2,"max_hops":3}` {
		t.Fatalf("config JSON: %s", text)
	}
	if text, _ := (MeshConfig{}).json(); string(text) != `{}` {
		t.Fatalf("zero config JSON: %s", text)
	}
	mustMesh(t, MeshConfig{BeaconInterval: 50 * time.Millisecond, MaxHops: 255})
	for _, c := range []struct {
		name string
		cfg  MeshConfig
	}{
		{"negative beacon interval", MeshConfig{BeaconInterval: -time.Millisecond}},
		{"negative max hops", MeshConfig{MaxHops: -1}},
		{"256 hops", MeshConfig{MaxHops: 256}},
	} {
		c.cfg.NetworkKey, c.cfg.Bind = testNetworkKey, "127.0.0.1:0"
		m, err := OpenMesh(c.cfg)
		if err == nil {
			m.Close()
		}
		wantKind(t, c.name, err, ErrInvalidMeshConfig)
	}
	// Zero is the engine's "invalid"; in MeshConfig it means the default, so
	// the engine's own zero is checked through the JSON it receives.
	key := hex.EncodeToString(testNetworkKey)
	for _, field := range []string{"beacon_interval_ms", "max_hops"} {
		m, err := openMeshJSON(`{"network_key": "` + key + `", "bind": "127.0.0.1:0", "` + field + `": 0}`)
		if err == nil {
			m.Close()
		}
		wantKind(t, field+" 0", err, ErrInvalidMeshConfig)
	}
}

// A context that ends wakes a blocked Recv through the engine's cancel
// token; a later message is still received.
func TestCancelledContextWakesRecv(t *testing.T) {
	a, b, bID := meshPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(30 * time.Millisecond)
		cancel()
	}()
	if _, err := b.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if err := a.Send(bID, 3, []byte("later")); err != nil {
		t.Fatal(err)
	}
	got, err := b.Recv(testCtx(t, 5*time.Second))
	if err != nil || string(got.Payload) != "later" {
		t.Fatalf("recv after cancel: %v %v", got, err)
	}
}
