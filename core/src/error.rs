//! Errors: one table of stable kinds for the whole engine.
//!
//! Every failure in Net has a kind string `<area>:<kind>` and a stable negative
//! numeric code used by the C ABI. The table in [`ErrorKind::ALL`] is the single
//! source of truth: the C header's constants, every SDK's typed errors and the
//! `tests/cross_lang/errors/kinds.json` fixture are all checked against it.
//! Codes are never renumbered; new kinds get new numbers.

use std::fmt;

/// A stable error kind. `#[non_exhaustive]` because new kinds are added over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A required pointer argument was NULL (C ABI only).
    NullPointer,
    /// A handle that was freed, closed or never valid was used.
    InvalidHandle,
    /// A string argument was not valid UTF-8.
    InvalidUtf8,
    /// The engine panicked; the panic was caught at the boundary.
    Panic,
    /// The caller's SDK was built for a different ABI version.
    AbiMismatch,
    /// The bus configuration had an unknown key or an invalid value.
    InvalidConfig,
    /// A shard was full and the policy is `fail`.
    Backpressure,
    /// The bus has been shut down.
    Shutdown,
    /// An event was larger than `max_event_size`.
    EventTooLarge,
    /// A typed or string emit was not valid JSON.
    InvalidJson,
    /// A poll or subscribe cursor could not be decoded or does not fit this bus.
    InvalidCursor,
    /// A poll filter was not a valid filter expression.
    InvalidFilter,
    /// An argument was out of range (for example a poll limit of zero).
    InvalidArgument,
    /// An identity seed was not exactly 32 bytes.
    InvalidSeed,
    /// Bytes that should be an ed25519 public key are not one.
    InvalidKey,
    /// A signature did not verify (or was not 64 bytes).
    BadSignature,
    /// The operating system's random source failed.
    EntropyUnavailable,
    /// A packet or header failed to decode; the detail says why.
    Malformed,
    /// The log has been closed.
    LogClosed,
    /// A payload is larger than a log entry may be.
    PayloadTooLarge,
    /// The log's payload segment has no room left (4 GiB per file).
    SegmentFull,
    /// A file-system operation on a persistent log failed.
    Io,
    /// Persistent log files are damaged beyond what recovery repairs.
    Corrupt,
    /// The fold stopped (on an error, or because the adapter closed) before
    /// reaching the awaited sequence.
    FoldStopped,
    /// A wait ran out of time.
    Timeout,
    /// An event's meta or payload could not be decoded.
    Decode,
    /// The requested model is not enabled on this database.
    ModelMissing,
    /// A snapshot could not be encoded, decoded or restored.
    InvalidSnapshot,
    /// A mesh configuration value is out of range.
    InvalidMeshConfig,
    /// A Noise handshake did not complete: a different network key, a peer
    /// whose key is not the one expected, or a malformed handshake message.
    HandshakeFailed,
    /// A mesh operation ran out of time (no answer from the peer).
    MeshTimeout,
    /// No session with that peer.
    UnknownPeer,
    /// A message does not fit in one datagram.
    MessageTooLarge,
    /// The mesh node has shut down.
    MeshShutdown,
    /// A socket operation failed.
    MeshIo,
    /// A reliable stream's credit window is full: the peer has not yet
    /// acknowledged enough of what was sent. A signal to the caller, who may
    /// drop, retry or wait; the transport never buffers on its behalf.
    StreamBackpressure,
    /// The trust policy refused the peer's key (not on the allowlist, or
    /// another key is pinned at that address).
    UntrustedPeer,
    /// A persistent log is already open in another handle or process (its
    /// directory's lock file is held).
    LogLocked,
    /// A RedEX log configuration had an unknown key or an invalid value.
    InvalidLogConfig,
    /// A RedEX argument was invalid (a channel name, a limit, a timeout).
    InvalidLogArgument,
    /// A log has handed out every sequence number (2^64 of them).
    SequenceExhausted,
    /// A NetDB argument was invalid (a filter, an id, a limit, a timeout).
    InvalidDbArgument,
    /// A mesh argument was invalid (an address, a key, a limit, a timeout, or
    /// a connect to the node itself).
    InvalidMeshArgument,
    /// An audit log could not be opened or written.
    AuditIo,
}

impl ErrorKind {
    /// Every kind, in code order. The fixture `errors/kinds.json` mirrors this list.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::NullPointer,
        ErrorKind::InvalidHandle,
        ErrorKind::InvalidUtf8,
        ErrorKind::Panic,
        ErrorKind::AbiMismatch,
        ErrorKind::InvalidConfig,
        ErrorKind::Backpressure,
        ErrorKind::Shutdown,
        ErrorKind::EventTooLarge,
        ErrorKind::InvalidJson,
        ErrorKind::InvalidCursor,
        ErrorKind::InvalidFilter,
        ErrorKind::InvalidArgument,
        ErrorKind::InvalidSeed,
        ErrorKind::InvalidKey,
        ErrorKind::BadSignature,
        ErrorKind::EntropyUnavailable,
        ErrorKind::Malformed,
        ErrorKind::LogClosed,
        ErrorKind::PayloadTooLarge,
        ErrorKind::SegmentFull,
        ErrorKind::Io,
        ErrorKind::Corrupt,
        ErrorKind::LogLocked,
        ErrorKind::InvalidLogConfig,
        ErrorKind::InvalidLogArgument,
        ErrorKind::SequenceExhausted,
        ErrorKind::FoldStopped,
        ErrorKind::Timeout,
        ErrorKind::Decode,
        ErrorKind::ModelMissing,
        ErrorKind::InvalidSnapshot,
        ErrorKind::InvalidDbArgument,
        ErrorKind::InvalidMeshConfig,
        ErrorKind::HandshakeFailed,
        ErrorKind::MeshTimeout,
        ErrorKind::UnknownPeer,
        ErrorKind::MessageTooLarge,
        ErrorKind::MeshShutdown,
        ErrorKind::MeshIo,
        ErrorKind::StreamBackpressure,
        ErrorKind::UntrustedPeer,
        ErrorKind::InvalidMeshArgument,
        ErrorKind::AuditIo,
    ];

    /// The stable `<area>:<kind>` string.
    pub fn as_str(self) -> &'static str {
        self.as_c_str().to_str().unwrap_or("unknown")
    }

    /// The kind string, NUL-terminated (static storage, for the C ABI).
    pub const fn as_c_str(self) -> &'static std::ffi::CStr {
        match self {
            ErrorKind::NullPointer => c"ffi:null_pointer",
            ErrorKind::InvalidHandle => c"ffi:invalid_handle",
            ErrorKind::InvalidUtf8 => c"ffi:invalid_utf8",
            ErrorKind::Panic => c"ffi:panic",
            ErrorKind::AbiMismatch => c"ffi:abi_mismatch",
            ErrorKind::InvalidConfig => c"bus:invalid_config",
            ErrorKind::Backpressure => c"bus:backpressure",
            ErrorKind::Shutdown => c"bus:shutdown",
            ErrorKind::EventTooLarge => c"bus:event_too_large",
            ErrorKind::InvalidJson => c"bus:invalid_json",
            ErrorKind::InvalidCursor => c"bus:invalid_cursor",
            ErrorKind::InvalidFilter => c"bus:invalid_filter",
            ErrorKind::InvalidArgument => c"bus:invalid_argument",
            ErrorKind::InvalidSeed => c"identity:invalid_seed",
            ErrorKind::InvalidKey => c"identity:invalid_key",
            ErrorKind::BadSignature => c"identity:bad_signature",
            ErrorKind::EntropyUnavailable => c"identity:entropy_unavailable",
            ErrorKind::Malformed => c"wire:malformed",
            ErrorKind::LogClosed => c"redex:closed",
            ErrorKind::PayloadTooLarge => c"redex:payload_too_large",
            ErrorKind::SegmentFull => c"redex:segment_full",
            ErrorKind::Io => c"redex:io",
            ErrorKind::Corrupt => c"redex:corrupt",
            ErrorKind::FoldStopped => c"cortex:fold_stopped",
            ErrorKind::Timeout => c"cortex:timeout",
            ErrorKind::Decode => c"cortex:decode",
            ErrorKind::ModelMissing => c"netdb:model_missing",
            ErrorKind::InvalidSnapshot => c"netdb:invalid_snapshot",
            ErrorKind::InvalidMeshConfig => c"mesh:invalid_config",
            ErrorKind::HandshakeFailed => c"mesh:handshake_failed",
            ErrorKind::MeshTimeout => c"mesh:timeout",
            ErrorKind::UnknownPeer => c"mesh:unknown_peer",
            ErrorKind::MessageTooLarge => c"mesh:message_too_large",
            ErrorKind::MeshShutdown => c"mesh:shutdown",
            ErrorKind::MeshIo => c"mesh:io",
            ErrorKind::StreamBackpressure => c"mesh:backpressure",
            ErrorKind::UntrustedPeer => c"mesh:untrusted_peer",
            ErrorKind::LogLocked => c"redex:locked",
            ErrorKind::InvalidLogConfig => c"redex:invalid_config",
            ErrorKind::InvalidLogArgument => c"redex:invalid_argument",
            ErrorKind::SequenceExhausted => c"redex:sequence_exhausted",
            ErrorKind::InvalidDbArgument => c"netdb:invalid_argument",
            ErrorKind::InvalidMeshArgument => c"mesh:invalid_argument",
            ErrorKind::AuditIo => c"audit:io",
        }
    }

    /// The stable numeric code used by the C ABI (always negative).
    pub const fn code(self) -> i32 {
        match self {
            ErrorKind::NullPointer => -1,
            ErrorKind::InvalidHandle => -2,
            ErrorKind::InvalidUtf8 => -3,
            ErrorKind::Panic => -4,
            ErrorKind::AbiMismatch => -5,
            ErrorKind::InvalidConfig => -10,
            ErrorKind::Backpressure => -11,
            ErrorKind::Shutdown => -12,
            ErrorKind::EventTooLarge => -13,
            ErrorKind::InvalidJson => -14,
            ErrorKind::InvalidCursor => -15,
            ErrorKind::InvalidFilter => -16,
            ErrorKind::InvalidArgument => -17,
            ErrorKind::InvalidSeed => -30,
            ErrorKind::InvalidKey => -31,
            ErrorKind::BadSignature => -32,
            ErrorKind::EntropyUnavailable => -33,
            ErrorKind::Malformed => -40,
            ErrorKind::LogClosed => -50,
            ErrorKind::PayloadTooLarge => -51,
            ErrorKind::SegmentFull => -52,
            ErrorKind::Io => -53,
            ErrorKind::Corrupt => -54,
            ErrorKind::FoldStopped => -60,
            ErrorKind::Timeout => -61,
            ErrorKind::Decode => -62,
            ErrorKind::ModelMissing => -70,
            ErrorKind::InvalidSnapshot => -71,
            ErrorKind::InvalidMeshConfig => -80,
            ErrorKind::HandshakeFailed => -81,
            ErrorKind::MeshTimeout => -82,
            ErrorKind::UnknownPeer => -83,
            ErrorKind::MessageTooLarge => -84,
            ErrorKind::MeshShutdown => -85,
            ErrorKind::MeshIo => -86,
            ErrorKind::StreamBackpressure => -87,
            ErrorKind::UntrustedPeer => -88,
            ErrorKind::LogLocked => -55,
            ErrorKind::InvalidLogConfig => -56,
            ErrorKind::InvalidLogArgument => -57,
            ErrorKind::SequenceExhausted => -58,
            ErrorKind::InvalidDbArgument => -72,
            ErrorKind::InvalidMeshArgument => -89,
            ErrorKind::AuditIo => -90,
        }
    }

    /// The kind a bad argument (a limit, an id, a timeout) reports in `area`
    /// (`bus`, `redex`, `netdb`, `mesh`), so an error always names the area
    /// the call belongs to.
    pub fn invalid_argument_in(area: &str) -> Option<ErrorKind> {
        Some(match area {
            "bus" => ErrorKind::InvalidArgument,
            "redex" => ErrorKind::InvalidLogArgument,
            "netdb" => ErrorKind::InvalidDbArgument,
            "mesh" => ErrorKind::InvalidMeshArgument,
            _ => return None,
        })
    }

    /// Looks a kind up by its string form.
    pub fn from_str_kind(kind: &str) -> Option<ErrorKind> {
        Self::ALL.iter().copied().find(|k| k.as_str() == kind)
    }

    /// Looks a kind up by its numeric code.
    pub fn from_code(code: i32) -> Option<ErrorKind> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An engine error: a stable kind plus a human-readable detail.
///
/// Displays as `<area>:<kind>: <detail>`, the format every language shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct Error {
    kind: ErrorKind,
    detail: String,
}

impl Error {
    /// Builds an error of `kind` with a detail message.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Error {
            kind,
            detail: detail.into(),
        }
    }

    /// The stable kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The detail, without the kind prefix.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// Result alias used across the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn kinds_and_codes_are_unique_and_round_trip() {
        let mut kinds = HashSet::new();
        let mut codes = HashSet::new();
        for &k in ErrorKind::ALL {
            assert!(kinds.insert(k.as_str()), "duplicate kind {k}");
            assert!(codes.insert(k.code()), "duplicate code {}", k.code());
            assert!(k.code() < 0);
            assert_eq!(ErrorKind::from_str_kind(k.as_str()), Some(k));
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
        }
    }

    #[test]
    fn the_table_is_in_code_order() {
        let codes: Vec<i32> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(codes, sorted);
    }

    #[test]
    fn display_has_kind_prefix() {
        let e = Error::new(ErrorKind::Shutdown, "bus is closed");
        assert_eq!(e.to_string(), "bus:shutdown: bus is closed");
    }
}
