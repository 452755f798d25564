//! Typed channels in the Rust SDK: on a node's local channels and over the
//! mesh (UDP on 127.0.0.1), bad messages, bad values, many threads.

use futures::StreamExt;
use net_sdk::channel::ChannelName;
use net_sdk::mesh::{ChannelConfig, Mesh, NetworkKey};
use net_sdk::{Net, SdkError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor_id: String,
    celsius: f64,
}

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

fn reading(i: u32) -> Reading {
    Reading {
        sensor_id: format!("s{i}"),
        celsius: f64::from(i) / 2.0,
    }
}

#[test]
fn local_typed_channels_fan_out_as_async_streams() {
    let net = Net::builder().build_blocking().unwrap();
    let temps = net.channel::<Reading>("sensors/temperature").unwrap();
    let mut a = temps.subscribe().unwrap();
    let b = temps.subscribe().unwrap();
    // A raw subscriber on a pattern sees the JSON.
    let raw = net.subscribe_channel("sensors/*").unwrap();
    for i in 0..3 {
        assert_eq!(temps.publish(&reading(i)).unwrap(), 3);
    }
    let got: Vec<Reading> = futures::executor::block_on(async {
        let mut out = Vec::new();
        while out.len() < 3 {
            out.push(a.next().await.unwrap().unwrap());
        }
        out
    });
    assert_eq!(got, (0..3).map(reading).collect::<Vec<_>>());
    for i in 0..3 {
        assert_eq!(b.next_blocking(WAIT).unwrap(), Some(reading(i)));
    }
    let m = raw.next_blocking(WAIT).unwrap().unwrap();
    assert_eq!((m.publisher, &*m.channel), (0, "sensors/temperature"));
    assert_eq!(m.payload, br#"{"sensor_id":"s0","celsius":0.0}"#);
    assert_eq!(temps.name(), "sensors/temperature");
    assert_eq!(net.channel_stats().subscriptions, 3);
}

#[test]
fn a_bad_message_is_an_error_item_and_the_stream_goes_on() {
    let net = Net::builder().build_blocking().unwrap();
    let temps = net.channel::<Reading>("t").unwrap();
    let sub = temps.subscribe().unwrap();
    net.publish("t", br#"{"sensor_id": 7}"#).unwrap();
    net.publish("t", b"not json").unwrap();
    temps.publish(&reading(1)).unwrap();
    for _ in 0..2 {
        match sub.next_blocking(WAIT) {
            Err(SdkError::InvalidChannelMessage(detail)) => {
                assert!(detail.contains("on t"), "{detail}")
            }
            other => panic!("expected InvalidChannelMessage, got {other:?}"),
        }
    }
    assert_eq!(sub.next_blocking(WAIT).unwrap(), Some(reading(1)));
    assert_eq!(
        sub.next_blocking(Some(Duration::from_millis(20))).unwrap(),
        None
    );

    // A value that has no JSON form fails publish, and nothing is sent.
    let maps = net.channel::<HashMap<(u8, u8), u8>>("maps").unwrap();
    let watcher = net.subscribe_channel("maps").unwrap();
    let err = maps.publish(&HashMap::from([((1, 2), 3)])).unwrap_err();
    assert_eq!(err.kind(), "channel:invalid_message");
    assert_eq!(
        watcher
            .next_blocking(Some(Duration::from_millis(20)))
            .unwrap(),
        None
    );

    // Bad names, and shutdown.
    assert_eq!(
        net.channel::<Reading>("a//b").unwrap_err().kind(),
        "channel:invalid_name"
    );
    assert_eq!(
        net.publish("", b"x").unwrap_err().kind(),
        "channel:invalid_name"
    );
    futures::executor::block_on(net.shutdown()).unwrap();
    assert_eq!(
        temps.publish(&reading(2)).unwrap_err().kind(),
        "bus:shutdown"
    );
    assert_eq!(sub.next_blocking(WAIT).unwrap_err().kind(), "bus:shutdown");
}

#[test]
fn many_threads_publish_and_every_subscriber_gets_everything() {
    let net = Net::builder().build_blocking().unwrap();
    let channel = net.channel::<(u8, u32)>("load/typed").unwrap();
    let subs: Vec<_> = (0..3).map(|_| channel.subscribe().unwrap()).collect();
    let writers: Vec<_> = (0..4u8)
        .map(|w| {
            let channel = channel.clone();
            std::thread::spawn(move || {
                for i in 0..500u32 {
                    assert_eq!(channel.publish(&(w, i)).unwrap(), 3);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    for sub in &subs {
        let mut next = [0u32; 4];
        for _ in 0..2000 {
            let (w, i) = sub.next_blocking(WAIT).unwrap().unwrap();
            assert_eq!(i, next[w as usize], "each writer's values in order");
            next[w as usize] += 1;
        }
    }
}

#[test]
fn a_typed_channel_over_the_mesh() {
    let key = NetworkKey::from_bytes([9; 32]);
    let local = "127.0.0.1:0".parse().unwrap();
    let publisher = Mesh::builder(key.clone()).bind(local).build().unwrap();
    let subscriber = Mesh::builder(key).bind(local).build().unwrap();
    subscriber
        .connect(publisher.local_addr().unwrap(), &publisher.public_key())
        .unwrap();
    // Priority 5: the channel's messages travel on their own data stream.
    let mut config = ChannelConfig::new(ChannelName::new("plant/temps").unwrap());
    config.priority = 5;
    publisher.register_channel(config).unwrap();
    let mut too_high = ChannelConfig::new(ChannelName::new("plant/other").unwrap());
    too_high.priority = net_sdk::mesh::MAX_CHANNEL_PRIORITY + 1;
    assert_eq!(
        publisher.register_channel(too_high).unwrap_err().kind(),
        "channel:invalid_config"
    );
    let out = publisher.channel::<Reading>("plant/temps").unwrap();
    let input = subscriber.channel::<Reading>("plant/temps").unwrap();
    let mut sub = input
        .subscribe(publisher.node_id(), &[], Duration::from_secs(5))
        .unwrap();
    assert_eq!(sub.publisher(), publisher.node_id());
    assert_eq!(sub.accepted(), ["plant/temps"]);
    for i in 0..20 {
        assert_eq!(out.publish(&reading(i)).unwrap().delivered, 1);
    }
    publisher.publish("plant/temps", b"[]").unwrap();
    let got: Vec<Result<Reading, SdkError>> = futures::executor::block_on(async {
        let mut v = Vec::new();
        while v.len() < 21 {
            v.push(sub.next().await.unwrap());
        }
        v
    });
    for (i, r) in got[..20].iter().enumerate() {
        assert_eq!(r.as_ref().unwrap(), &reading(i as u32));
    }
    assert_eq!(
        got[20].as_ref().unwrap_err().kind(),
        "channel:invalid_message"
    );
}

#[test]
fn push_handlers_on_channel_subscriptions() {
    let net = Net::builder().build_blocking().unwrap();
    let temps = net.channel::<Reading>("push/temps").unwrap();
    let sub = temps.subscribe().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let handler = sub.on_message(move |r| {
        tx.send(r.map_err(|e| e.kind())).unwrap();
    });
    for i in 0..100 {
        temps.publish(&reading(i)).unwrap();
    }
    net.publish("push/temps", b"{}").unwrap();
    for i in 0..100 {
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            Ok(reading(i))
        );
    }
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        Err("channel:invalid_message")
    );
    // Closing the subscription ends the handler after what was queued.
    temps.publish(&reading(7)).unwrap();
    sub.close();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)).unwrap(),
        Ok(reading(7))
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !handler.is_closed() {
        assert!(std::time::Instant::now() < deadline, "the handler ends");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(handler.stats().delivered, 102);

    // A raw handler on a local subscription, closed from outside.
    let raw = net.subscribe_channel("push/**").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = raw.on_message(move |m| tx.send(m.payload).unwrap());
    net.publish("push/a/b", b"x").unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), b"x");
    h.close();
    net.publish("push/a/b", b"y").unwrap();
    // After close the handler gets nothing; the message stays for pull.
    assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
    assert_eq!(raw.next_blocking(WAIT).unwrap().unwrap().payload, b"y");
}
