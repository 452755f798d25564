//! # net-sdk
//!
//! Net for Rust: a builder, the emit family, cursor polls, and subscriptions as
//! [`futures_core::Stream`]s, over the same engine every other language uses.
//!
//! ```no_run
//! use net_sdk::{Net, Backpressure};
//! use futures::StreamExt;
//!
//! # async fn run() -> net_sdk::error::Result<()> {
//! let node = Net::builder()
//!     .shards(4)
//!     .backpressure(Backpressure::DropOldest)
//!     .memory()
//!     .build()
//!     .await?;
//! node.emit(&serde_json::json!({"token": "hello"}))?;
//! let mut stream = node.subscribe(Default::default());
//! if let Some(event) = stream.next().await {
//!     println!("{}", event?.raw_str());
//! }
//! node.shutdown().await
//! # }
//! ```

pub mod error;
pub mod handler;
pub mod mesh;
mod node;
mod stream;
pub mod typed_channel;

pub use error::{Result, SdkError};
pub use handler::{Handler, HandlerStats};
pub use net_core::bus::{
    Backpressure, Event, Filter, Health, PollRequest, PollResponse, Receipt, Stats,
    SubscribeOptions,
};
pub use node::{Net, NetBuilder};

/// One cancellation for every blocking call (`*_cancellable`): cancel the
/// token from any thread and the call wakes at once with
/// [`SdkError::Cancelled`]. Subscriptions are `Stream`s: drop them instead.
pub use net_core::cancel::CancelToken;

/// Node identity: ed25519 keypairs from seeds, node ids, signatures.
pub mod identity {
    pub use net_core::identity::{Identity, PublicKey, PUBLIC_KEY_LEN, SEED_LEN, SIGNATURE_LEN};
}

/// Permission tokens: signed grants of what a subject may do on which
/// channels, delegation chains, and the cache that checks them (see
/// [`net_core::identity::token`]). Issue and delegate with the methods on
/// [`identity::Identity`] (`issue_token`, `try_issue_token`,
/// `delegate_token`).
pub mod token {
    pub use net_core::identity::token::{
        unix_now, verify_chain, Access, PermissionToken, TokenCache, TokenId, TokenRequest,
        TokenScope, MAX_DELEGATION_DEPTH, TOKEN_LEN, TOKEN_VERSION,
    };
}

/// Channel names and patterns (`sensors/lidar`, `sensors/*`, `sensors/**`).
pub mod channel {
    pub use net_core::channel::{
        ChannelName, ChannelPattern, PatternKind, MAX_NAME_LEN, MAX_SEGMENTS, MAX_SEGMENT_LEN,
    };
}

/// Capabilities: what a node can do as tags and metadata, typed views for
/// hardware, software and limits, predicates that ask for it, validation,
/// diffs, and the index that answers "which nodes can?" (see
/// [`net_core::capability`]).
pub mod capability {
    pub use net_core::capability::{
        validate, CapabilityDiff, CapabilityIndex, CapabilitySet, Gpu, Hardware, IndexEntry, Issue,
        Limits, Predicate, Scope, ScopeFilter, Software, ValidationReport, MAX_KEY_LEN,
        MAX_METADATA, MAX_METADATA_VALUE_LEN, MAX_PREDICATE_DEPTH, MAX_PREDICATE_NODES, MAX_TAGS,
        MAX_VALUE_LEN,
    };
}

/// Subnets: four-level ids, the policy that derives a peer's subnet from
/// its tags, and channel visibility (see [`net_core::subnet`]).
pub mod subnet {
    pub use net_core::subnet::{SubnetId, SubnetPolicy, SubnetRule, Visibility, SUBNET_LEVELS};
}

/// Local append-only logs (RedEX).
pub mod redex {
    pub use net_core::redex::*;
}

/// Event-sourced state: CortEX folds, the tasks and memories models, NetDB.
pub mod cortex {
    pub use net_core::cortex::*;
}

/// Wire codecs of the mesh: the Net header and the routing header.
pub mod wire {
    pub use net_core::wire::*;
}
pub use stream::{EventStream, TypedEventStream};

/// The C ABI version of the engine this SDK was built with.
pub const ABI_VERSION: u32 = net_core::ABI_VERSION;
