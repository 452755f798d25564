//! Mesh foundations: header codecs and identity operations.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use net_core::identity::Identity;
use net_core::wire::{NetHeader, RouteFlags, RoutingHeader};

fn wire(c: &mut Criterion) {
    let mut g = c.benchmark_group("wire");
    let header = NetHeader {
        session_id: 42,
        stream_id: 7,
        sequence: 1_000_000,
        payload_len: 64,
        event_count: 1,
        ..NetHeader::new()
    };
    let bytes = header.encode();
    g.bench_function("net_header_encode", |b| {
        b.iter(|| black_box(&header).encode())
    });
    g.bench_function("net_header_decode", |b| {
        b.iter(|| NetHeader::decode(black_box(&bytes)).expect("decode"))
    });
    let routing = RoutingHeader {
        ttl: 8,
        hop_count: 0,
        flags: RouteFlags(0),
        src_id: 1,
        dest_id: 2,
    };
    let mut packet = routing.encode().to_vec();
    packet.extend_from_slice(&bytes);
    g.bench_function("routing_forward_in_place", |b| {
        b.iter(|| {
            packet[2] = 8;
            RoutingHeader::forward_in_place(black_box(&mut packet)).expect("forward")
        })
    });
    let id = Identity::from_seed(&[7; 32]);
    let pk = id.public_key();
    let msg = [0u8; 64];
    let sig = id.sign(&msg);
    g.bench_function("ed25519_sign_64B", |b| b.iter(|| id.sign(black_box(&msg))));
    g.bench_function("ed25519_verify_64B", |b| {
        b.iter(|| pk.verify(black_box(&msg), &sig).expect("verify"))
    });
    g.bench_function("node_id_derivation", |b| {
        b.iter(|| black_box(&pk).node_id())
    });
    g.finish();
}

criterion_group!(benches, wire);
criterion_main!(benches);
