//! Trust policy, audit log and peer store tests over real UDP on 127.0.0.1.

use super::*;
use crate::audit::{self, AuditConfig};
use crate::error::ErrorKind;
use crate::identity::{Identity, PublicKey};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

const KEY: [u8; 32] = [7; 32];

fn config(bind: SocketAddr) -> MeshConfig {
    let mut config = MeshConfig::new(bind, NetworkKey::from_bytes(KEY));
    config.handshake_timeout = Duration::from_millis(800);
    config.handshake_retry = Duration::from_millis(100);
    config
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn bind(seed: u8, config: MeshConfig) -> MeshNode {
    MeshNode::bind(Identity::from_seed(&[seed; 32]), config).unwrap()
}

fn key(seed: u8) -> PublicKey {
    Identity::from_seed(&[seed; 32]).public_key()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("net-trust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn audit_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn tofu_refuses_a_changed_key_at_a_known_address_and_audits_it() {
    let dir = temp_dir("tofu");
    let log = dir.join("audit.jsonl");
    let mut b_config = config(loopback());
    b_config.trust.policy = TrustPolicy::Tofu;
    b_config.audit = Some(AuditConfig::new(&log));
    let b = bind(2, b_config);
    let b_addr = b.local_addr().unwrap();

    // First use: A's key is pinned at A's address.
    let a = bind(1, config(loopback()));
    let a_addr = a.local_addr().unwrap();
    a.connect(b_addr, &b.public_key()).unwrap();
    a.send(b.node_id(), 1, b"hi").unwrap();
    assert!(b.recv(Some(Duration::from_secs(5))).unwrap().is_some());
    drop(a);

    // Another identity at the same address is refused: B never answers.
    let impostor = bind(3, config(a_addr));
    let err = impostor.connect(b_addr, &b.public_key()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshTimeout, "{err}");
    let stats = b.stats();
    assert_eq!((stats.trust_accepted, stats.trust_rejected), (1, 1));
    assert_eq!(b.peers().len(), 1);
    assert_eq!(b.peers()[0].public_key, key(1));

    // The initiator side applies the same pins: B will not dial the new key there.
    let err = b.connect(a_addr, &key(3)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UntrustedPeer, "{err}");

    let lines = audit_lines(&log);
    let verdicts: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["side"].as_str().unwrap(), l["decision"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("responder", "accept"),
            ("responder", "reject"),
            ("initiator", "reject")
        ]
    );
    assert_eq!(lines[1]["public_key"], hex::encode(key(3).as_bytes()));
    assert_eq!(lines[1]["policy"], "tofu");
    assert_eq!(lines[1]["node_id"], key(3).node_id().to_string());
    assert_eq!(audit::verify(&log).unwrap(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_allowlist_admits_only_listed_keys() {
    let mut b_config = config(loopback());
    b_config.trust = TrustConfig {
        policy: TrustPolicy::Allowlist,
        allow: vec![key(1)],
        pinned: vec![],
    };
    let b = bind(2, b_config);
    let listed = bind(1, config(loopback()));
    listed
        .connect(b.local_addr().unwrap(), &b.public_key())
        .unwrap();
    let stranger = bind(5, config(loopback()));
    let err = stranger
        .connect(b.local_addr().unwrap(), &b.public_key())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshTimeout);
    assert_eq!(b.stats().trust_rejected, 1);
    // Retransmitted first messages of a refused handshake cost no more
    // decisions (nor key exchanges).
    assert_eq!(b.stats().trust_accepted, 1);
    let err = b
        .connect(stranger.local_addr().unwrap(), &stranger.public_key())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UntrustedPeer);
}

#[test]
fn a_pinned_key_holds_under_the_open_policy() {
    let b = bind(2, config(loopback()));
    let b_addr = b.local_addr().unwrap();
    let mut a_config = config(loopback());
    a_config.trust.pinned = vec![(b_addr, key(9))];
    let a = bind(1, a_config);
    let err = a.connect(b_addr, &b.public_key()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UntrustedPeer);
    assert_eq!(a.stats().trust_rejected, 1);
}

#[test]
fn the_peer_store_remembers_peers_and_tofu_pins_across_restarts() {
    let dir = temp_dir("store");
    let store = dir.join("peers.json");
    let b_config = |bind_addr| {
        let mut c = config(bind_addr);
        c.trust.policy = TrustPolicy::Tofu;
        c.peer_store = Some(PeerStoreConfig::new(&store));
        c
    };
    let b = bind(2, b_config(loopback()));
    let b_addr = b.local_addr().unwrap();
    let a = bind(1, config(loopback()));
    let a_addr = a.local_addr().unwrap();
    a.connect(b_addr, &b.public_key()).unwrap();
    a.send(b.node_id(), 1, b"x").unwrap();
    assert!(b.recv(Some(Duration::from_secs(5))).unwrap().is_some());
    let known = b.known_peers();
    assert_eq!(known.len(), 1);
    assert_eq!((known[0].addr, known[0].public_key), (a_addr, key(1)));
    drop(b); // flushes the store
    drop(a);

    let b = bind(2, b_config(b_addr));
    assert_eq!(b.known_peers().len(), 1);
    let impostor = bind(3, config(a_addr));
    let err = impostor.connect(b_addr, &b.public_key()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshTimeout);
    assert_eq!(b.stats().trust_rejected, 1);
    // A failed dial counts against the remembered peer.
    drop(impostor);
    let err = b.connect(a_addr, &key(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MeshTimeout);
    assert_eq!(b.known_peers()[0].failures, 1);
    drop(b);
    let text = std::fs::read_to_string(&store).unwrap();
    assert!(text.contains("\"failures\": 1"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn trust_store_and_audit_come_from_the_shared_json_config() {
    let dir = temp_dir("json");
    let json = serde_json::json!({
        "network_key": hex::encode(KEY),
        "bind": "127.0.0.1:0",
        "trust": {
            "policy": "allowlist",
            "allow": [hex::encode(key(1).as_bytes())],
            "pinned": {"127.0.0.1:9": hex::encode(key(2).as_bytes())},
        },
        "peer_store": {"path": dir.join("p.json"), "ttl_ms": 1000, "max_entries": 8, "flush_interval_ms": 50},
        "audit_log": {"path": dir.join("a.jsonl"), "max_bytes": 4096, "keep": 2},
    });
    let (_, config) = parse_node_config(&json.to_string()).unwrap();
    assert_eq!(config.trust.policy, TrustPolicy::Allowlist);
    assert_eq!(config.trust.allow, vec![key(1)]);
    assert_eq!(
        config.trust.pinned,
        vec![("127.0.0.1:9".parse().unwrap(), key(2))]
    );
    let store = config.peer_store.unwrap();
    assert_eq!((store.max_entries, store.ttl), (8, Duration::from_secs(1)));
    let audit = config.audit.unwrap();
    assert_eq!((audit.max_bytes, audit.keep), (4096, 2));
    for (bad, kind) in [
        (
            serde_json::json!({"policy": "sometimes"}),
            ErrorKind::InvalidMeshConfig,
        ),
        (
            serde_json::json!({"allow": ["0102"]}),
            ErrorKind::InvalidKey,
        ),
        (serde_json::json!({"allow": ["zz"]}), ErrorKind::InvalidKey),
        (
            serde_json::json!({"pinned": {"nowhere": hex::encode(key(2).as_bytes())}}),
            ErrorKind::InvalidMeshConfig,
        ),
        (
            serde_json::json!({"color": "blue"}),
            ErrorKind::InvalidMeshConfig,
        ),
    ] {
        let json = serde_json::json!({"network_key": hex::encode(KEY), "trust": bad});
        let err = parse_node_config(&json.to_string()).unwrap_err();
        assert_eq!(err.kind(), kind, "{json}: {err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
