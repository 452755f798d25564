//! Behaviour of the Rust SDK surface: builder, typed streams, errors, concurrency.

use futures::StreamExt;
use net_sdk::{Backpressure, Net, PollRequest, SdkError, SubscribeOptions};
use serde::Deserialize;
use std::collections::HashSet;

#[derive(Debug, Deserialize, PartialEq)]
struct Reading {
    celsius: f64,
}

#[tokio::test]
async fn builder_validates_and_reports_typed_errors() {
    let err = Net::builder().shards(0).build().await.unwrap_err();
    assert!(matches!(err, SdkError::InvalidConfig(_)));
    assert_eq!(err.kind(), "bus:invalid_config");
    let err = Net::builder()
        .config_json(r#"{"nope":1}"#)
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "bus:invalid_config");

    let node = Net::builder()
        .shards(1)
        .ring_buffer_capacity(1)
        .max_event_size(16)
        .backpressure(Backpressure::Fail)
        .build()
        .await
        .unwrap();
    assert_eq!(node.shards(), 1);
    assert!(matches!(
        node.emit_raw([0u8; 17]),
        Err(SdkError::EventTooLarge(_))
    ));
    assert!(matches!(node.emit_str("{"), Err(SdkError::InvalidJson(_))));
    node.emit_raw(b"1").unwrap();
    assert!(matches!(
        node.emit_raw(b"2"),
        Err(SdkError::Backpressure(_))
    ));
    let err = node
        .poll(PollRequest {
            cursor: Some("junk".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, SdkError::InvalidCursor(_)));
    node.shutdown().await.unwrap();
    assert!(matches!(node.emit_raw(b"x"), Err(SdkError::Shutdown(_))));
    assert!(matches!(node.flush().await, Err(SdkError::Shutdown(_))));
    let mut stream = node.subscribe(SubscribeOptions::default());
    assert!(matches!(
        stream.next().await,
        Some(Err(SdkError::Shutdown(_)))
    ));
    assert!(stream.next().await.is_none());
    assert!(node.try_subscribe(SubscribeOptions::default()).is_err());
}

#[tokio::test]
async fn typed_stream_decodes_and_skips_bad_payloads() {
    let node = Net::builder().shards(1).build().await.unwrap();
    node.emit(&serde_json::json!({"celsius": 21.5})).unwrap();
    node.emit_raw(b"not json").unwrap();
    node.emit_str(r#"{"celsius": 22}"#).unwrap();
    let mut stream = node.subscribe_typed::<Reading>(SubscribeOptions::default());
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        Reading { celsius: 21.5 }
    );
    assert!(matches!(
        stream.next().await.unwrap(),
        Err(SdkError::InvalidJson(_))
    ));
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        Reading { celsius: 22.0 }
    );
    node.shutdown().await.unwrap();
    assert!(stream.next().await.is_none());
}

/// Producers on several tasks race a shutdown while a stream consumes: every
/// receipt is delivered exactly once or counted as dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_producers_and_a_stream_lose_nothing() {
    let node = Net::builder()
        .shards(4)
        .ring_buffer_capacity(128)
        .backpressure(Backpressure::DropOldest)
        .build()
        .await
        .unwrap();
    let mut stream = node.subscribe(SubscribeOptions::default());
    let consumer = tokio::spawn(async move {
        let mut seen = HashSet::new();
        while let Some(event) = stream.next().await {
            let e = event.unwrap();
            assert!(seen.insert((e.shard, e.seq)));
        }
        seen.len() as u64
    });
    let producers: Vec<_> = (0..4)
        .map(|_| {
            let node = node.clone();
            tokio::task::spawn_blocking(move || {
                let mut receipts = 0u64;
                while node.emit_raw(b"0123456789abcdef").is_ok() {
                    receipts += 1;
                }
                receipts
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    node.shutdown().await.unwrap();
    let mut receipts = 0;
    for p in producers {
        receipts += p.await.unwrap();
    }
    let delivered = consumer.await.unwrap();
    let stats = node.stats();
    assert_eq!(stats.ingested, receipts);
    assert_eq!(delivered + stats.dropped, receipts);
}

/// Leaving a stream early (here `break` after one event) gives back what it
/// took but did not yield: a later poll sees the other nine, nothing vanishes.
#[tokio::test]
async fn breaking_out_of_a_stream_gives_back_what_it_did_not_yield() {
    let node = Net::builder().shards(1).build().await.unwrap();
    for i in 0..10 {
        node.emit_raw(format!("e{i}").as_bytes()).unwrap();
    }
    let mut seen = Vec::new();
    {
        let mut stream = node.subscribe(SubscribeOptions::default());
        while let Some(event) = stream.next().await {
            seen.push(event.unwrap().raw_str().into_owned());
            if seen.len() == 1 {
                break;
            }
        }
    }
    assert_eq!(seen, ["e0"]);
    let stats = node.stats();
    assert_eq!((stats.ingested, stats.dropped, stats.buffered), (10, 0, 9));
    let page = node
        .poll(PollRequest {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let texts: Vec<String> = page
        .events
        .iter()
        .map(|e| e.raw_str().into_owned())
        .collect();
    let want: Vec<String> = (1..10).map(|i| format!("e{i}")).collect();
    assert_eq!(texts, want);
    // A typed stream cut short by `take` gives back the same way.
    let taken: Vec<_> = node
        .subscribe(SubscribeOptions::default())
        .take(2)
        .collect()
        .await;
    assert_eq!(taken.len(), 2);
    assert_eq!(node.stats().buffered, 7);
}
