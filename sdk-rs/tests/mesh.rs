//! The Rust SDK's mesh surface: builder, streams, typed errors, trust.

use net_sdk::identity::Identity;
use net_sdk::mesh::{
    AuditConfig, Mesh, NetworkKey, PeerStoreConfig, StreamConfig, TrustConfig, TrustPolicy,
};
use net_sdk::SdkError;
use std::time::Duration;

fn key() -> NetworkKey {
    NetworkKey::from_bytes([7; 32])
}

fn local() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[test]
fn two_nodes_talk_with_typed_errors() {
    let a = Mesh::builder(key()).bind(local()).build().unwrap();
    let b = Mesh::builder(key()).bind(local()).build().unwrap();
    let peer = a.connect(b.local_addr().unwrap(), &b.public_key()).unwrap();
    let stream = a
        .open_stream(peer.node_id, 2, StreamConfig::reliable().with_window(2))
        .unwrap();
    stream
        .send_blocking(b"one", Some(Duration::from_secs(5)))
        .unwrap();
    let m = b.recv(Some(Duration::from_secs(5))).unwrap().unwrap();
    assert_eq!(
        (m.from, m.stream_id, m.payload.as_slice()),
        (a.node_id(), 2, &b"one"[..])
    );
    assert!(matches!(
        a.open_stream(1, 1, StreamConfig::reliable()),
        Err(SdkError::UnknownPeer(_))
    ));
    // B acknowledges "one" on its ack timer; wait for that before B goes,
    // so the window below starts empty.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while stream.stats().in_flight > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "\"one\" was never acknowledged"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    b.shutdown();
    // With nobody acknowledging, the window of two fills.
    stream.send(b"x").unwrap();
    stream.send(b"y").unwrap();
    let err = stream.send(b"z").unwrap_err();
    assert!(matches!(err, SdkError::StreamBackpressure(_)), "{err}");
    assert_eq!(err.kind(), "mesh:backpressure");
    assert!(matches!(b.recv(None), Err(SdkError::MeshShutdown(_))));
    assert!(matches!(
        Mesh::from_config_json("{}"),
        Err(SdkError::InvalidMeshConfig(_))
    ));
}

#[test]
fn an_allowlist_and_the_peer_store_through_the_builder() {
    let dir = std::env::temp_dir().join(format!("net-sdk-mesh-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let alice = Identity::from_seed(&[1; 32]);
    let alice_key = alice.public_key();
    let b = Mesh::builder(key())
        .bind(local())
        .trust(TrustConfig {
            policy: TrustPolicy::Allowlist,
            allow: vec![alice_key],
            pinned: vec![],
        })
        .peer_store(PeerStoreConfig::new(dir.join("peers.json")))
        .audit_log(AuditConfig::new(dir.join("audit.jsonl")))
        .build()
        .unwrap();
    let a = Mesh::builder(key())
        .bind(local())
        .identity(alice)
        .build()
        .unwrap();
    a.connect(b.local_addr().unwrap(), &b.public_key()).unwrap();
    a.send(b.node_id(), 1, b"hi").unwrap();
    assert!(b.recv(Some(Duration::from_secs(5))).unwrap().is_some());
    assert_eq!(b.known_peers()[0].public_key, alice_key);
    // Both sides agreed one packet cipher.
    let (a_sees, b_sees) = (a.peers()[0], b.peers()[0]);
    assert_eq!(a_sees.cipher, b_sees.cipher);
    assert_eq!(
        a_sees.cipher,
        if net_sdk::mesh::Cipher::hardware_aes() {
            net_sdk::mesh::Cipher::Aes256Gcm
        } else {
            net_sdk::mesh::Cipher::ChaCha20Poly1305
        }
    );
    let stranger = Mesh::builder(key()).bind(local()).build().unwrap();
    let err = b
        .connect(stranger.local_addr().unwrap(), &stranger.public_key())
        .unwrap_err();
    assert!(matches!(err, SdkError::UntrustedPeer(_)), "{err}");
    assert_eq!(b.stats().trust_rejected, 1);
    let audit = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 2);
    drop(b);
    assert!(std::fs::read_to_string(dir.join("peers.json"))
        .unwrap()
        .contains(&alice_key.node_id().to_string()));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn events_emitted_on_one_node_are_read_by_a_subscription_on_the_peer() {
    use futures::StreamExt;
    let a = Mesh::builder(key()).bind(local()).build().unwrap();
    let b = Mesh::builder(key()).bind(local()).build().unwrap();
    let peer = a.connect(b.local_addr().unwrap(), &b.public_key()).unwrap();
    let outbox = net_sdk::Net::builder().memory().build_blocking().unwrap();
    let inbox = net_sdk::Net::builder().memory().build_blocking().unwrap();
    let receiving = b.receive_bus(&inbox, a.node_id()).unwrap();
    let sending = a.send_bus(&outbox, peer.node_id).unwrap();
    for i in 0..100 {
        outbox.emit(&serde_json::json!({ "i": i })).unwrap();
    }
    let got: Vec<serde_json::Value> = futures::executor::block_on(async {
        let mut stream = inbox.subscribe(Default::default());
        let mut got = Vec::new();
        while got.len() < 100 {
            got.push(stream.next().await.unwrap().unwrap().parse().unwrap());
        }
        got
    });
    let expected: Vec<serde_json::Value> =
        (0..100).map(|i| serde_json::json!({ "i": i })).collect();
    assert_eq!(got, expected);
    assert_eq!(receiving.stats().events, 100);
    sending.close();
    assert!(!sending.stats().running);
    assert!(matches!(
        a.send_bus(&outbox, 42),
        Err(SdkError::UnknownPeer(_))
    ));
    assert!(matches!(
        b.receive_bus(&inbox, a.node_id()),
        Err(SdkError::InvalidMeshConfig(_))
    ));
}

#[test]
fn session_lifetimes_through_the_builder() {
    let a = Mesh::builder(key())
        .bind(local())
        .rekey_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let b = Mesh::builder(key())
        .bind(local())
        .beacon_interval(Duration::from_millis(50))
        .session_timeout(Duration::from_millis(600))
        .max_hops(3)
        .build()
        .unwrap();
    a.connect(b.local_addr().unwrap(), &b.public_key()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while a.stats().sessions_rekeyed < 2 {
        assert!(std::time::Instant::now() < deadline, "no rekeys");
        std::thread::sleep(Duration::from_millis(20));
    }
    a.send(b.node_id(), 1, b"fresh keys").unwrap();
    assert_eq!(
        b.recv(Some(Duration::from_secs(5)))
            .unwrap()
            .unwrap()
            .payload,
        b"fresh keys"
    );
    a.shutdown();
    while b.stats().sessions_expired < 1 {
        assert!(std::time::Instant::now() < deadline, "no expiry");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(b.peers().is_empty());
    assert!(matches!(
        Mesh::builder(key())
            .session_timeout(Duration::from_millis(10))
            .build(),
        Err(SdkError::InvalidMeshConfig(_))
    ));
}

/// Cancels `token` from another thread a little later.
fn cancel_soon(token: &net_sdk::CancelToken) -> std::thread::JoinHandle<()> {
    let token = token.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        token.cancel();
    })
}

#[test]
fn blocking_calls_end_at_once_when_their_token_is_cancelled() {
    use net_sdk::CancelToken;
    let a = Mesh::builder(key()).bind(local()).build().unwrap();
    let b = Mesh::builder(key()).bind(local()).build().unwrap();
    // A receive with no time limit, cancelled from another thread.
    let token = CancelToken::new();
    let canceller = cancel_soon(&token);
    assert!(matches!(
        b.recv_cancellable(None, &token),
        Err(SdkError::Cancelled(_))
    ));
    canceller.join().unwrap();
    // A cancelled token refuses a connect at once; a receive still takes a
    // message already waiting (nothing is left behind).
    assert!(matches!(
        a.connect_cancellable(b.local_addr().unwrap(), &b.public_key(), &token),
        Err(SdkError::Cancelled(_))
    ));
    let peer = a.connect(b.local_addr().unwrap(), &b.public_key()).unwrap();
    a.send(peer.node_id, 1, b"kept").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while b.stats().bytes_received == 0 {
        assert!(std::time::Instant::now() < deadline, "nothing arrived");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(
        b.recv_cancellable(None, &token).unwrap().unwrap().payload,
        b"kept"
    );
    assert!(matches!(
        b.recv_cancellable(None, &token),
        Err(SdkError::Cancelled(_))
    ));
    // A blocking send into a full window nobody acknowledges.
    let fresh = CancelToken::new();
    a.open_stream(peer.node_id, 2, StreamConfig::reliable().with_window(1))
        .unwrap();
    b.shutdown();
    a.send(peer.node_id, 2, b"fills the window").unwrap();
    let canceller = cancel_soon(&fresh);
    assert!(matches!(
        a.send_blocking_cancellable(peer.node_id, 2, b"waits", None, &fresh),
        Err(SdkError::Cancelled(_))
    ));
    canceller.join().unwrap();
}
