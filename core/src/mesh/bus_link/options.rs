//! A bus link's options, natively or from the JSON form every language
//! shares: `{"direction": "send" | "receive", "stream_id": N,
//! "max_batch": N, "message_bytes": N}`. Only `direction` is required;
//! unknown keys and values out of range fail with `mesh:invalid_config`.

use super::frame::MIN_MESSAGE_BYTES;
use crate::error::{Error, ErrorKind, Result};
use crate::mesh::session::MAX_PAYLOAD;
use crate::mesh::stream::EPOCH_LEN;
use serde::{Deserialize, Serialize};

/// The stream a link uses unless told otherwise ("bus" in ASCII).
pub const DEFAULT_LINK_STREAM: u64 = 0x62_75_73;
/// Events a send link takes from its bus per batch, by default.
pub const DEFAULT_MAX_BATCH: usize = 1024;
/// The most events per batch.
pub const MAX_BATCH_LIMIT: usize = 65_536;
/// The size of the messages a send link packs events into, by default.
pub const DEFAULT_MESSAGE_BYTES: usize = 16 * 1024;
/// The largest message a link may pack (one reliable stream message).
pub const MAX_MESSAGE_BYTES: usize = MAX_PAYLOAD - EPOCH_LEN;

/// Which way a link carries events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkDirection {
    /// From the local bus to the peer.
    Send,
    /// From the peer into the local bus.
    Receive,
}

/// How a link runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusLinkOptions {
    /// Which way events go.
    pub direction: LinkDirection,
    /// The stream carrying them; both ends must agree. Default
    /// [`DEFAULT_LINK_STREAM`].
    pub stream_id: u64,
    /// Send: events taken from the bus per batch (1 to 65 536, default
    /// 1024). A batch is freed from the bus once the peer acknowledged it.
    pub max_batch: usize,
    /// Send: the size messages are packed to (6 bytes up to one stream
    /// message, 65 423 bytes; default 16 KiB). Bigger events are split.
    pub message_bytes: usize,
}

impl BusLinkOptions {
    /// Defaults for a direction.
    pub fn new(direction: LinkDirection) -> BusLinkOptions {
        BusLinkOptions {
            direction,
            stream_id: DEFAULT_LINK_STREAM,
            max_batch: DEFAULT_MAX_BATCH,
            message_bytes: DEFAULT_MESSAGE_BYTES,
        }
    }

    /// Parses the JSON form (see the module docs).
    pub fn from_json(json: &str) -> Result<BusLinkOptions> {
        let raw: RawOptions = serde_json::from_str(json).map_err(invalid)?;
        let defaults = BusLinkOptions::new(raw.direction);
        let options = BusLinkOptions {
            direction: raw.direction,
            stream_id: raw.stream_id.unwrap_or(defaults.stream_id),
            max_batch: raw.max_batch.unwrap_or(defaults.max_batch),
            message_bytes: raw.message_bytes.unwrap_or(defaults.message_bytes),
        };
        options.validate()?;
        Ok(options)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !(1..=MAX_BATCH_LIMIT).contains(&self.max_batch) {
            return Err(invalid(format!(
                "max_batch must be 1 to {MAX_BATCH_LIMIT}, got {}",
                self.max_batch
            )));
        }
        if !(MIN_MESSAGE_BYTES..=MAX_MESSAGE_BYTES).contains(&self.message_bytes) {
            return Err(invalid(format!(
                "message_bytes must be {MIN_MESSAGE_BYTES} to {MAX_MESSAGE_BYTES}, got {}",
                self.message_bytes
            )));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    direction: LinkDirection,
    stream_id: Option<u64>,
    max_batch: Option<usize>,
    message_bytes: Option<usize>,
}

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidMeshConfig, detail.to_string())
}
