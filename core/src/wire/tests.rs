//! Codec tests: layout vectors, round trips, and arbitrary bytes into every decoder.

use super::*;
use crate::error::ErrorKind;

fn sample() -> NetHeader {
    NetHeader {
        version: VERSION,
        flags: PacketFlags(PacketFlags::RELIABLE | PacketFlags::ENCRYPTED),
        priority: 3,
        hop_ttl: 8,
        hop_count: 1,
        frag_flags: FRAG_FIRST,
        subprotocol_id: 0x0400,
        channel_hash: 0xBEEF,
        nonce: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        session_id: 0x1122_3344_5566_7788,
        stream_id: 42,
        sequence: 7,
        subnet_id: 0x0102_0304,
        origin_hash: 0xDEAD_BEEF,
        fragment_id: 5,
        fragment_offset: 1200,
        payload_len: 3,
        event_count: 1,
    }
}

#[test]
fn header_layout_is_little_endian_and_round_trips() {
    let h = sample();
    let bytes = h.encode();
    assert_eq!(&bytes[0..2], b"EN");
    assert_eq!(bytes[8..10], [0x00, 0x04]);
    assert_eq!(bytes[52..56], [0xEF, 0xBE, 0xAD, 0xDE]);
    assert_eq!(NetHeader::decode(&bytes).unwrap(), h);
    let mut packet = bytes.to_vec();
    packet.extend_from_slice(b"abc");
    let (decoded, payload) = NetHeader::decode_packet(&packet).unwrap();
    assert_eq!((decoded, payload), (h, &b"abc"[..]));
    assert_eq!(classify(&packet).unwrap(), PacketKind::Direct);
}

#[test]
fn header_rejects_malformed_input_with_a_reason() {
    let good = sample().encode();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..63].to_vec(), "shorter"),
        (
            {
                let mut b = good;
                b[0] = 0;
                b.to_vec()
            },
            "magic",
        ),
        (
            {
                let mut b = good;
                b[2] = 2;
                b.to_vec()
            },
            "version",
        ),
        (
            {
                let mut b = good;
                b[3] = 0x80;
                b.to_vec()
            },
            "flag",
        ),
        (
            {
                let mut b = good;
                b[4] = 8;
                b.to_vec()
            },
            "priority",
        ),
        (
            {
                let mut b = good;
                b[7] = 0x04;
                b.to_vec()
            },
            "fragment",
        ),
    ];
    for (bytes, reason) in cases {
        let err = NetHeader::decode(&bytes).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed);
        assert!(
            err.detail().contains(reason),
            "{err} should mention {reason}"
        );
    }
    let err = NetHeader::decode_packet(&good).unwrap_err();
    assert!(err.detail().contains("payload length"));
}

#[test]
fn routing_header_layout_and_forwarding() {
    let r = RoutingHeader {
        ttl: 2,
        hop_count: 0,
        flags: RouteFlags(RouteFlags::REQUIRES_ACK),
        src_id: 0xAABB_CCDD,
        dest_id: 0x0102_0304_0506_0708,
    };
    let mut bytes = r.encode().to_vec();
    assert_eq!(&bytes[0..2], b"RT");
    assert_eq!(bytes.len(), ROUTING_HEADER_LEN);
    assert_eq!(RoutingHeader::decode(&bytes).unwrap(), r);
    assert_eq!(classify(&bytes).unwrap(), PacketKind::Routed);
    assert_eq!(RoutingHeader::forward_in_place(&mut bytes).unwrap().ttl, 1);
    assert_eq!(
        RoutingHeader::forward_in_place(&mut bytes)
            .unwrap()
            .hop_count,
        2
    );
    let expired = RoutingHeader::forward_in_place(&mut bytes).unwrap_err();
    assert!(expired.detail().contains("TTL"));
    assert_eq!(
        RoutingHeader::routing_id(0x1234_5678_9ABC_DEF0),
        0x9ABC_DEF0
    );
    let mut reserved = r.encode();
    reserved[5] = 1;
    assert!(RoutingHeader::decode(&reserved).is_err());
}

/// Property test: arbitrary bytes never panic a decoder, and whatever decodes
/// re-encodes to the same bytes.
#[test]
fn arbitrary_bytes_never_panic_and_decoded_headers_round_trip() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut decoded = 0;
    for round in 0..200_000 {
        let len = (next() % 100) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Half the inputs start with a valid magic and version so the deeper
        // checks are reached too.
        if round % 2 == 0 && bytes.len() >= 6 {
            let magic = if round % 4 == 0 { MAGIC } else { ROUTING_MAGIC };
            bytes[0..2].copy_from_slice(&magic.to_le_bytes());
            bytes[2] = VERSION;
            bytes[3] &= 0x7F;
            bytes[4] &= 0x07;
            bytes[5] = 0;
        }
        let _ = classify(&bytes);
        let _ = NetHeader::decode_packet(&bytes);
        if let Ok(h) = NetHeader::decode(&bytes) {
            decoded += 1;
            assert_eq!(&h.encode()[..], &bytes[..HEADER_LEN]);
        }
        if let Ok(r) = RoutingHeader::decode(&bytes) {
            decoded += 1;
            assert_eq!(&r.encode()[..], &bytes[..ROUTING_HEADER_LEN]);
            let mut copy = bytes.clone();
            let _ = RoutingHeader::forward_in_place(&mut copy);
        }
    }
    assert!(
        decoded > 1000,
        "the generator should reach the success paths ({decoded})"
    );
}
