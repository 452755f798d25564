//! The Rust SDK's channel subscription as an async `Stream`, over UDP.

use futures::StreamExt;
use net_sdk::channel::ChannelName;
use net_sdk::mesh::{ChannelConfig, Mesh, NetworkKey};
use std::time::Duration;

#[test]
fn a_subscription_is_a_stream_that_ends_when_closed() {
    let key = NetworkKey::from_bytes([7; 32]);
    let local = "127.0.0.1:0".parse().unwrap();
    let publisher = Mesh::builder(key.clone()).bind(local).build().unwrap();
    let subscriber = Mesh::builder(key).bind(local).build().unwrap();
    subscriber
        .connect(publisher.local_addr().unwrap(), &publisher.public_key())
        .unwrap();
    publisher
        .register_channel(ChannelConfig::new(ChannelName::new("news/today").unwrap()))
        .unwrap();
    let mut sub = subscriber
        .subscribe(publisher.node_id(), "news/**", &[], Duration::from_secs(5))
        .unwrap();
    assert_eq!(sub.accepted(), ["news/today"]);
    for i in 0..10u8 {
        assert_eq!(publisher.publish("news/today", &[i]).unwrap().delivered, 1);
    }
    let got: Vec<Vec<u8>> = futures::executor::block_on(async {
        let mut out = Vec::new();
        while out.len() < 10 {
            let m = sub.next().await.expect("a message");
            assert_eq!(&*m.channel, "news/today");
            out.push(m.payload);
        }
        out
    });
    assert_eq!(got, (0..10u8).map(|i| vec![i]).collect::<Vec<_>>());
    assert_eq!(
        sub.next_blocking(Some(Duration::from_millis(50))).unwrap(),
        None
    );
    sub.close();
    let end = futures::executor::block_on(sub.next());
    assert_eq!(end, None, "a closed subscription's stream ends");
}
