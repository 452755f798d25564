//! Errors: one table of stable kinds for the whole engine.
//!
//! Every failure in Net has a kind string `<area>:<reason>` and a stable
//! negative numeric code used by the C ABI. The table below, written once in
//! [`error_table!`], is the single source of truth: `tools/gen-tables`
//! generates from it the C constants (`NET_ERR_*` in `include/net.h`), the Go,
//! TypeScript and Python tables and `tests/cross_lang/errors/kinds.json`, and
//! `scripts/test` fails when a generated file differs (`--check`).
//!
//! A kind has an *area* (`bus`, `mesh`, `redex`, ...) and a *reason*
//! (`shutdown`, `io`, `invalid_argument`, ...). Reasons repeat across areas on
//! purpose: `bus:shutdown` and `mesh:shutdown` are different kinds (a caller
//! can tell which object closed), and every SDK also exposes the area and the
//! reason, so "any shutdown" is one comparison in every language.
//! Codes are never renumbered; new kinds get new numbers.

use std::fmt;

/// Declares [`ErrorKind`] from the rows of [`error_table!`].
macro_rules! error_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident = $code:literal, $area:literal, $reason:literal; )*) => {
        /// A stable error kind. `#[non_exhaustive]` because new kinds are added over time.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl ErrorKind {
            /// Every kind, in code order. The fixture `errors/kinds.json` mirrors this list.
            pub const ALL: &'static [ErrorKind] = &[ $( ErrorKind::$variant, )* ];

            /// The stable numeric code used by the C ABI (always negative).
            pub const fn code(self) -> i32 {
                match self { $( ErrorKind::$variant => $code, )* }
            }

            /// The area the kind belongs to (`"bus"`, `"mesh"`, `"redex"`, ...).
            pub const fn area(self) -> &'static str {
                match self { $( ErrorKind::$variant => $area, )* }
            }

            /// What went wrong, without the area (`"shutdown"`, `"io"`, ...).
            pub const fn reason(self) -> &'static str {
                match self { $( ErrorKind::$variant => $reason, )* }
            }

            /// The kind's name in the table (`"InvalidHandle"`): the stem
            /// every language's generated name is built from.
            pub const fn name(self) -> &'static str {
                match self { $( ErrorKind::$variant => stringify!($variant), )* }
            }

            /// The kind's one-paragraph description (its doc comment).
            pub const fn doc(self) -> &'static str {
                match self { $( ErrorKind::$variant => concat!($($doc, "\n",)*), )* }
            }

            /// The kind string, NUL-terminated (static storage, for the C ABI).
            pub const fn as_c_str(self) -> &'static std::ffi::CStr {
                match self {
                    $( ErrorKind::$variant => const {
                        match std::ffi::CStr::from_bytes_with_nul(
                            concat!($area, ":", $reason, "\0").as_bytes(),
                        ) {
                            Ok(s) => s,
                            Err(_) => panic!("an error kind string holds a NUL"),
                        }
                    }, )*
                }
            }
        }
    };
}

/// The table itself: one line per kind, `Variant = code, "area", "reason";`
/// with its doc comment, in code order (a test checks the order). It hands
/// the rows to the macro `$m`, so other crates can build from the same rows
/// (the Rust SDK's `SdkError` does): `net_core::error_table!(my_macro);`.
#[macro_export]
macro_rules! error_table {
    ($m:ident) => {
        $m! {
            /// A required pointer argument was NULL (C ABI only).
            NullPointer = -1, "ffi", "null_pointer";
            /// A handle that was freed, closed or never valid was used.
            InvalidHandle = -2, "ffi", "invalid_handle";
            /// A string argument was not valid UTF-8.
            InvalidUtf8 = -3, "ffi", "invalid_utf8";
            /// The engine panicked; the panic was caught at the boundary.
            Panic = -4, "ffi", "panic";
            /// The caller's SDK was built for a different ABI version.
            AbiMismatch = -5, "ffi", "abi_mismatch";
            /// A blocking call was cancelled by its caller (a cancel token: a
            /// Go context, for example).
            Cancelled = -6, "call", "cancelled";
            /// The bus configuration had an unknown key or an invalid value.
            InvalidConfig = -10, "bus", "invalid_config";
            /// A shard was full and the policy is `fail`.
            Backpressure = -11, "bus", "backpressure";
            /// The bus has been shut down.
            Shutdown = -12, "bus", "shutdown";
            /// An event was larger than `max_event_size`.
            EventTooLarge = -13, "bus", "event_too_large";
            /// A typed or string emit was not valid JSON.
            InvalidJson = -14, "bus", "invalid_json";
            /// A poll or subscribe cursor could not be decoded or does not fit this bus.
            InvalidCursor = -15, "bus", "invalid_cursor";
            /// A poll filter was not a valid filter expression.
            InvalidFilter = -16, "bus", "invalid_filter";
            /// An argument was out of range (for example a poll limit of zero).
            InvalidArgument = -17, "bus", "invalid_argument";
            /// An identity seed was not exactly 32 bytes.
            InvalidSeed = -30, "identity", "invalid_seed";
            /// Bytes that should be an ed25519 public key are not one.
            InvalidKey = -31, "identity", "invalid_key";
            /// A signature did not verify (or was not 64 bytes).
            BadSignature = -32, "identity", "bad_signature";
            /// The operating system's random source failed.
            EntropyUnavailable = -33, "identity", "entropy_unavailable";
            /// A packet or header failed to decode; the detail says why.
            Malformed = -40, "wire", "malformed";
            /// The log has been closed.
            LogClosed = -50, "redex", "closed";
            /// A payload is larger than a log entry may be.
            PayloadTooLarge = -51, "redex", "payload_too_large";
            /// The log's payload segment has no room left (4 GiB per file).
            SegmentFull = -52, "redex", "segment_full";
            /// A file-system operation on a persistent log failed.
            Io = -53, "redex", "io";
            /// Persistent log files are damaged beyond what recovery repairs.
            Corrupt = -54, "redex", "corrupt";
            /// A persistent log is already open in another handle or process (its
            /// directory's lock file is held).
            LogLocked = -55, "redex", "locked";
            /// A RedEX log configuration had an unknown key or an invalid value.
            InvalidLogConfig = -56, "redex", "invalid_config";
            /// A RedEX argument was invalid (a channel name, a limit, a timeout).
            InvalidLogArgument = -57, "redex", "invalid_argument";
            /// A log has handed out every sequence number (2^64 of them).
            SequenceExhausted = -58, "redex", "sequence_exhausted";
            /// The fold stopped (on an error, or because the adapter closed) before
            /// reaching the awaited sequence.
            FoldStopped = -60, "cortex", "fold_stopped";
            /// A wait ran out of time.
            Timeout = -61, "cortex", "timeout";
            /// An event's meta or payload could not be decoded.
            Decode = -62, "cortex", "decode";
            /// The requested model is not enabled on this database.
            ModelMissing = -70, "netdb", "model_missing";
            /// A snapshot could not be encoded, decoded or restored.
            InvalidSnapshot = -71, "netdb", "invalid_snapshot";
            /// A NetDB argument was invalid (a filter, an id, a limit, a timeout).
            InvalidDbArgument = -72, "netdb", "invalid_argument";
            /// A mesh configuration value is out of range.
            InvalidMeshConfig = -80, "mesh", "invalid_config";
            /// A Noise handshake did not complete: a different network key, a peer
            /// whose key is not the one expected, or a malformed handshake message.
            HandshakeFailed = -81, "mesh", "handshake_failed";
            /// A mesh operation ran out of time (no answer from the peer).
            MeshTimeout = -82, "mesh", "timeout";
            /// No session with that peer.
            UnknownPeer = -83, "mesh", "unknown_peer";
            /// A message does not fit in one datagram.
            MessageTooLarge = -84, "mesh", "message_too_large";
            /// The mesh node has shut down.
            MeshShutdown = -85, "mesh", "shutdown";
            /// A socket operation failed.
            MeshIo = -86, "mesh", "io";
            /// A reliable stream's credit window is full: the peer has not yet
            /// acknowledged enough of what was sent. A signal to the caller, who may
            /// drop, retry or wait; the transport never buffers on its behalf.
            StreamBackpressure = -87, "mesh", "backpressure";
            /// The trust policy refused the peer's key (not on the allowlist, or
            /// another key is pinned at that address).
            UntrustedPeer = -88, "mesh", "untrusted_peer";
            /// A mesh argument was invalid (an address, a key, a limit, a timeout, or
            /// a connect to the node itself).
            InvalidMeshArgument = -89, "mesh", "invalid_argument";
            /// An audit log could not be opened or written.
            AuditIo = -90, "audit", "io";
            /// A channel name or pattern is not valid: empty, too long, too
            /// deep, a character other than letters, digits, '-', '_' and '.',
            /// an empty segment, or a wildcard anywhere but alone at the end.
            InvalidChannelName = -100, "channel", "invalid_name";
            /// A channel the publisher has not registered: a subscribe it
            /// refused, or a publish on this node.
            UnknownChannel = -101, "channel", "unknown_channel";
            /// Refused by a channel's rules: a capability predicate not met,
            /// no token or a token that does not grant it (the detail says
            /// which).
            ChannelUnauthorized = -102, "channel", "unauthorized";
            /// Too many refused attempts from this peer lately: refused before
            /// any token was checked.
            ChannelRateLimited = -103, "channel", "rate_limited";
            /// The channel's visibility does not reach the subscriber's subnet.
            ChannelSubnet = -104, "channel", "subnet";
            /// A channel configuration was invalid, or the channel is already
            /// registered.
            InvalidChannelConfig = -105, "channel", "invalid_config";
            /// A typed channel's message did not encode as its type, or a
            /// received one did not decode or validate as it (the detail
            /// says where).
            InvalidChannelMessage = -106, "channel", "invalid_message";
            /// Bytes that should be a permission token are not one (length,
            /// version, reserved bits, channel kind).
            TokenMalformed = -110, "token", "malformed";
            /// A permission token's signature does not verify against its issuer.
            TokenBadSignature = -111, "token", "bad_signature";
            /// A permission token has expired.
            TokenExpired = -112, "token", "expired";
            /// A permission token is not valid yet (its not-before is later).
            TokenNotYetValid = -113, "token", "not_yet_valid";
            /// A token was asked for with a time to live of zero (the strict
            /// issue call; the other rounds it up to one second).
            TokenZeroTtl = -114, "token", "zero_ttl";
            /// A delegation depth above the limit, or a delegation from a token
            /// that may not delegate (no delegate scope, or no depth left).
            TokenDepthExceeded = -115, "token", "depth_exceeded";
            /// A delegated token would grant more than its parent: a scope bit
            /// the parent lacks, or a channel pattern the parent's does not
            /// contain.
            TokenWidened = -116, "token", "widened";
            /// A chain whose links do not hold: a token not issued by its
            /// parent's subject, or not naming its parent.
            TokenBrokenChain = -117, "token", "broken_chain";
            /// A chain's first token was issued by a key not trusted here.
            TokenUntrusted = -118, "token", "untrusted";
            /// A token, or one its chain rests on, was revoked.
            TokenRevoked = -119, "token", "revoked";
            /// A valid chain that does not grant what was asked: another
            /// subject, a scope it lacks, or a channel outside its pattern.
            TokenDenied = -120, "token", "denied";
            /// A token request was invalid: no scope, an unknown scope name or
            /// option, a time that does not fit.
            InvalidTokenArgument = -121, "token", "invalid_argument";
            /// A capability tag is not valid: an empty or too long key or
            /// value, a character a key may not hold, a control character.
            InvalidCapabilityTag = -130, "capability", "invalid_tag";
            /// A capability set is not valid: not the JSON shape, too many
            /// tags or metadata entries, a typed field of the wrong type.
            InvalidCapabilitySet = -131, "capability", "invalid_set";
            /// A capability predicate is not valid: an unknown operator, a
            /// missing operand, a bad version, too deep or too large.
            InvalidPredicate = -132, "capability", "invalid_predicate";
            /// A capability diff does not apply, or is not the JSON shape.
            InvalidCapabilityDiff = -133, "capability", "invalid_diff";
            /// A subnet id is not valid: more than four levels, a level out of
            /// range, or a level set below an unset one.
            InvalidSubnet = -140, "subnet", "invalid_id";
            /// A subnet policy or visibility is not valid: an unknown key, a
            /// level out of range, a subnet byte of zero.
            InvalidSubnetPolicy = -141, "subnet", "invalid_policy";
        }
    };
}

error_table!(error_kinds);

impl ErrorKind {
    /// The stable `<area>:<reason>` string.
    pub fn as_str(self) -> &'static str {
        self.as_c_str().to_str().unwrap_or("unknown")
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
    fn every_kind_has_an_area_a_reason_a_name_and_a_doc() {
        for &k in ErrorKind::ALL {
            assert_eq!(k.as_str(), format!("{}:{}", k.area(), k.reason()));
            assert!(!k.doc().trim().is_empty(), "{k} has no doc");
            assert_eq!(format!("{k:?}"), k.name());
        }
        assert_eq!(
            ErrorKind::MeshShutdown.reason(),
            ErrorKind::Shutdown.reason()
        );
        assert_ne!(ErrorKind::MeshShutdown.area(), ErrorKind::Shutdown.area());
    }

    #[test]
    fn display_has_kind_prefix() {
        let e = Error::new(ErrorKind::Shutdown, "bus is closed");
        assert_eq!(e.to_string(), "bus:shutdown: bus is closed");
    }
}
