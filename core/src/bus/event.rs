//! Events as the bus stores and returns them, and the receipt an emit gives back.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// One buffered event: opaque bytes stamped by the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The shard that holds the event.
    pub shard: u16,
    /// Per-shard sequence number, strictly increasing in emit order.
    pub seq: u64,
    /// Ingest time, nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// The payload exactly as emitted (JSON by convention, any bytes on the raw path).
    pub data: Bytes,
}

impl Event {
    /// The payload bytes.
    pub fn raw(&self) -> &[u8] {
        &self.data
    }

    /// The payload as text; invalid UTF-8 is replaced, never a panic.
    pub fn raw_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.data)
    }

    /// Decodes the payload as JSON into `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.data)
    }
}

/// Proof that the bus accepted an event: it will be delivered or counted in `dropped`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Shard the event went to.
    pub shard: u16,
    /// Its sequence number within that shard.
    pub seq: u64,
}
