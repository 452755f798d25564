//! Typed errors: one variant per stable error kind.

use net_core::ErrorKind;

/// Everything that can go wrong in the SDK. Match with a wildcard arm: new
/// variants arrive as the engine grows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// A shard was full and the policy is `Backpressure::Fail`.
    #[error("bus:backpressure: {0}")]
    Backpressure(String),
    /// The node has been shut down.
    #[error("bus:shutdown: {0}")]
    Shutdown(String),
    /// Unknown configuration key or invalid value.
    #[error("bus:invalid_config: {0}")]
    InvalidConfig(String),
    /// The event exceeds `max_event_size`.
    #[error("bus:event_too_large: {0}")]
    EventTooLarge(String),
    /// Invalid JSON on a JSON path, or a payload that did not decode as the
    /// requested type.
    #[error("bus:invalid_json: {0}")]
    InvalidJson(String),
    /// The cursor could not be decoded or does not fit this node.
    #[error("bus:invalid_cursor: {0}")]
    InvalidCursor(String),
    /// The filter is not a valid filter expression.
    #[error("bus:invalid_filter: {0}")]
    InvalidFilter(String),
    /// An argument was out of range.
    #[error("bus:invalid_argument: {0}")]
    InvalidArgument(String),
    /// An identity seed was not 32 bytes.
    #[error("identity:invalid_seed: {0}")]
    InvalidSeed(String),
    /// Bytes that should be a public key are not one.
    #[error("identity:invalid_key: {0}")]
    InvalidKey(String),
    /// A signature did not verify.
    #[error("identity:bad_signature: {0}")]
    BadSignature(String),
    /// A packet or header failed to decode.
    #[error("wire:malformed: {0}")]
    Malformed(String),
    /// A mesh configuration value is out of range.
    #[error("mesh:invalid_config: {0}")]
    InvalidMeshConfig(String),
    /// A handshake failed: another network key, or not the expected peer.
    #[error("mesh:handshake_failed: {0}")]
    HandshakeFailed(String),
    /// A mesh operation got no answer in time.
    #[error("mesh:timeout: {0}")]
    MeshTimeout(String),
    /// No session with that peer.
    #[error("mesh:unknown_peer: {0}")]
    UnknownPeer(String),
    /// A message does not fit in one datagram.
    #[error("mesh:message_too_large: {0}")]
    MessageTooLarge(String),
    /// A reliable stream's window is full: drop, retry or wait.
    #[error("mesh:backpressure: {0}")]
    StreamBackpressure(String),
    /// The mesh node has shut down.
    #[error("mesh:shutdown: {0}")]
    MeshShutdown(String),
    /// A socket operation failed.
    #[error("mesh:io: {0}")]
    MeshIo(String),
    /// The trust policy refused the peer's key.
    #[error("mesh:untrusted_peer: {0}")]
    UntrustedPeer(String),
    /// A mesh argument was invalid (an address, a limit, a timeout, or a
    /// connect to the node itself).
    #[error("mesh:invalid_argument: {0}")]
    InvalidMeshArgument(String),
    /// Any other engine error (boundary kinds such as `ffi:*`).
    #[error("{kind}: {detail}")]
    Other {
        /// The stable kind string.
        kind: &'static str,
        /// What happened.
        detail: String,
    },
}

impl SdkError {
    /// The stable `<area>:<kind>` string, the same in every language.
    pub fn kind(&self) -> &'static str {
        match self {
            SdkError::Backpressure(_) => ErrorKind::Backpressure.as_str(),
            SdkError::Shutdown(_) => ErrorKind::Shutdown.as_str(),
            SdkError::InvalidConfig(_) => ErrorKind::InvalidConfig.as_str(),
            SdkError::EventTooLarge(_) => ErrorKind::EventTooLarge.as_str(),
            SdkError::InvalidJson(_) => ErrorKind::InvalidJson.as_str(),
            SdkError::InvalidCursor(_) => ErrorKind::InvalidCursor.as_str(),
            SdkError::InvalidFilter(_) => ErrorKind::InvalidFilter.as_str(),
            SdkError::InvalidArgument(_) => ErrorKind::InvalidArgument.as_str(),
            SdkError::InvalidSeed(_) => ErrorKind::InvalidSeed.as_str(),
            SdkError::InvalidKey(_) => ErrorKind::InvalidKey.as_str(),
            SdkError::BadSignature(_) => ErrorKind::BadSignature.as_str(),
            SdkError::Malformed(_) => ErrorKind::Malformed.as_str(),
            SdkError::InvalidMeshConfig(_) => ErrorKind::InvalidMeshConfig.as_str(),
            SdkError::HandshakeFailed(_) => ErrorKind::HandshakeFailed.as_str(),
            SdkError::MeshTimeout(_) => ErrorKind::MeshTimeout.as_str(),
            SdkError::UnknownPeer(_) => ErrorKind::UnknownPeer.as_str(),
            SdkError::MessageTooLarge(_) => ErrorKind::MessageTooLarge.as_str(),
            SdkError::StreamBackpressure(_) => ErrorKind::StreamBackpressure.as_str(),
            SdkError::MeshShutdown(_) => ErrorKind::MeshShutdown.as_str(),
            SdkError::MeshIo(_) => ErrorKind::MeshIo.as_str(),
            SdkError::UntrustedPeer(_) => ErrorKind::UntrustedPeer.as_str(),
            SdkError::InvalidMeshArgument(_) => ErrorKind::InvalidMeshArgument.as_str(),
            SdkError::Other { kind, .. } => kind,
        }
    }

    /// The engine's kind (its area, reason and C code), from the one table.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        ErrorKind::from_str_kind(self.kind())
    }

    /// The part of Net that failed (`"bus"`, `"mesh"`, `"redex"`, ...).
    pub fn area(&self) -> &'static str {
        self.error_kind().map_or("unknown", ErrorKind::area)
    }

    /// What went wrong, the same word in every area (`"shutdown"`, `"io"`,
    /// ...): compare it to match, say, any shutdown.
    pub fn reason(&self) -> &'static str {
        self.error_kind().map_or("unknown", ErrorKind::reason)
    }
}

impl From<net_core::Error> for SdkError {
    fn from(err: net_core::Error) -> Self {
        let detail = err.detail().to_owned();
        match err.kind() {
            ErrorKind::Backpressure => SdkError::Backpressure(detail),
            ErrorKind::Shutdown => SdkError::Shutdown(detail),
            ErrorKind::InvalidConfig => SdkError::InvalidConfig(detail),
            ErrorKind::EventTooLarge => SdkError::EventTooLarge(detail),
            ErrorKind::InvalidJson => SdkError::InvalidJson(detail),
            ErrorKind::InvalidCursor => SdkError::InvalidCursor(detail),
            ErrorKind::InvalidFilter => SdkError::InvalidFilter(detail),
            ErrorKind::InvalidArgument => SdkError::InvalidArgument(detail),
            ErrorKind::InvalidSeed => SdkError::InvalidSeed(detail),
            ErrorKind::InvalidKey => SdkError::InvalidKey(detail),
            ErrorKind::BadSignature => SdkError::BadSignature(detail),
            ErrorKind::Malformed => SdkError::Malformed(detail),
            ErrorKind::InvalidMeshConfig => SdkError::InvalidMeshConfig(detail),
            ErrorKind::HandshakeFailed => SdkError::HandshakeFailed(detail),
            ErrorKind::MeshTimeout => SdkError::MeshTimeout(detail),
            ErrorKind::UnknownPeer => SdkError::UnknownPeer(detail),
            ErrorKind::MessageTooLarge => SdkError::MessageTooLarge(detail),
            ErrorKind::StreamBackpressure => SdkError::StreamBackpressure(detail),
            ErrorKind::MeshShutdown => SdkError::MeshShutdown(detail),
            ErrorKind::MeshIo => SdkError::MeshIo(detail),
            ErrorKind::UntrustedPeer => SdkError::UntrustedPeer(detail),
            ErrorKind::InvalidMeshArgument => SdkError::InvalidMeshArgument(detail),
            other => SdkError::Other {
                kind: other.as_str(),
                detail,
            },
        }
    }
}

/// Result alias for the SDK.
pub type Result<T, E = SdkError> = std::result::Result<T, E>;
