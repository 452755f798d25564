// Package net is the Go SDK of Net: one Rust engine used from five languages.
//
// It wraps the C ABI (net.h) with cgo and links the static library libnet.a,
// so a built program has no runtime dependency on it.
//
// # Installing
//
//	go get github.com/netmesh-dev/net/go
//
// The module carries libnet.a for linux/amd64 (lib/linux_amd64) and net.h
// (include), so building needs cgo (CGO_ENABLED=1, the default with gcc on
// the PATH) and no Rust toolchain. On another platform, or to link a libnet
// of your own, build libnet from a clone of Net and build with the
// netsystem tag, which takes libnet from pkg-config:
//
//	cargo build --release -p net-ffi && scripts/install --prefix $HOME/.local
//	PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig go build -tags netsystem
//
// (or -tags netsystem,netnopkgconfig with CGO_CFLAGS and CGO_LDFLAGS set by
// hand). The package checks at its first call that libnet speaks its ABI
// version (ErrABIMismatch otherwise).
//
// # The bus
//
//	node, err := net.New(&net.Config{NumShards: 4})
//	if err != nil { ... }
//	defer node.Close()
//	node.IngestRaw(`{"token": "hello"}`)
//	response, _ := node.Poll(100, "")
//	for _, event := range response.Events {
//		fmt.Println(string(event))
//	}
//
// # The mesh
//
// An encrypted UDP node: sessions bound to a shared network key, streams that
// are reliable (in order, exactly once, with a credit window) or
// fire-and-forget, and an inbox read with Recv.
//
//	cfg := net.MeshConfig{NetworkKey: key, Bind: "127.0.0.1:0"} // key: 32 bytes
//	alice, _ := net.OpenMesh(cfg)
//	defer alice.Close()
//	bobID, _ := alice.Connect(ctx, bobAddr, bobPublicKey)
//	stream, _ := alice.OpenStream(bobID, 1, net.StreamConfig{Reliable: true})
//	_ = stream.SendBlocking(ctx, []byte("hello"))
//	msg, _ := bob.Recv(ctx) // on Bob's node: Message{From, StreamID, Payload}
//
// Blocking calls (Connect, SendBlocking, Recv) take a context.Context.
//
// Which peers a node accepts is its trust policy: TrustOpen (any key that
// completes the handshake, the default), TrustTOFU (the first key seen at an
// address is pinned) or TrustAllowlist, plus keys pinned at addresses under
// every policy. A peer store remembers peers (and TOFU pins) across restarts;
// an audit log records every decision as a hash-chained JSON line:
//
//	cfg.Trust = &net.TrustConfig{Policy: net.TrustTOFU}
//	cfg.PeerStore = &net.PeerStoreConfig{Path: "peers.json"}
//	cfg.AuditLog = &net.AuditLogConfig{Path: "audit.jsonl"}
//	node, _ := net.OpenMesh(cfg)
//	known, _ := node.KnownPeers() // address, node id, key, last success, failures
//
// A refused peer gets no answer (its Connect ends with ErrMeshTimeout);
// connecting to a refused key fails at once with ErrUntrustedPeer. MeshStats
// counts the decisions (TrustAccepted, TrustRejected).
//
// Nodes relay for each other. Every BeaconInterval (default 1 s) a node
// sends its neighbours a beacon with the routes it knows, up to MaxHops
// (default 8); Routes lists what was learned. ConnectRouted reaches a node
// with no direct path through those relays, which forward on a routing
// header alone and never hold the session's keys:
//
//	cfg.BeaconInterval = 50 * time.Millisecond
//	routes, _ := alice.Routes()                           // []Route{Dest, NextHop, Hops}
//	carolID, _ := alice.ConnectRouted(ctx, carolPublicKey) // ErrUnknownPeer: no route yet
//
// Peer.Routed marks such sessions; Peer.Health says how recently a
// neighbour was heard from: HealthAlive, HealthSuspect (three silent beacon
// intervals) or HealthFailed (six; routes through it are not used). MeshStats
// counts PacketsForwarded, DroppedUnroutable and the health transitions
// (PeersSuspected, PeersFailed, PeersRecovered).
//
// Sessions do not live forever. The side that opened a session runs a fresh
// handshake every RekeyInterval (default 2 min; streams carry on), and a
// session silent for SessionTimeout (default 30 s, at least three beacon
// intervals) is dropped: Peers no longer lists it and sends fail with
// ErrUnknownPeer. MeshStats counts SessionsRekeyed and SessionsExpired.
//
// # The bus over the mesh
//
// A BusLink carries the events emitted on a bus (a Node) into a bus on a
// connected peer, over one reliable stream. A send link consumes its local
// bus and frees each batch once the peer acknowledged it (at least once); a
// receive link takes that stream from that peer (link streams are the bus
// link protocol's own, so they never reach Recv) and emits every event into
// its local bus, where Poll and Subscribe read it:
//
//	inbox, _ := net.New(nil)                                  // on Bob's node
//	receiving, _ := bob.ReceiveBus(inbox, aliceID)            // needs no session yet
//	outbox, _ := net.New(&net.Config{NumShards: 1})           // on Alice's node
//	sending, _ := alice.SendBus(outbox, bobID)                // ErrUnknownPeer without a session
//	defer sending.Close()
//	outbox.IngestRaw(`{"city":"Osaka"}`)                      // polled from inbox on Bob's node
//	st, _ := sending.Stats()                                  // BusLinkStats{Events, Bytes, Running, Err, ...}
//
// LinkBus takes BusLinkOptions (Direction, StreamID, MaxBatch,
// MessageBytes; zero keeps the engine's default). Events keep their order
// per shard of the sending bus, and a goroutine may emit from several OS
// threads (so several shards): use one shard, or runtime.LockOSThread in each
// producer, when order matters. For two-way traffic use two links on two
// stream ids, and on each node one bus to send from and another to receive
// into. A link stops on its own when its bus or node shuts down
// (Stats().Running false, Err matching ErrShutdown or ErrMeshShutdown);
// Close stops and releases it and may be called any number of times.
//
// Every failure is an *Error whose Kind is a stable "<area>:<kind>" string;
// match it with errors.Is against the sentinels (ErrBackpressure, ErrShutdown, ...).
package net
