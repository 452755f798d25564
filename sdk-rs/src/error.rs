//! Typed errors: one variant per stable error kind, built from the engine's
//! one table (`net_core::error_table!`), so a kind added to the engine is a
//! variant here with no second list to keep.
//!
//! ```
//! use net_sdk::SdkError;
//! let err = SdkError::from(net_core::Error::new(net_core::ErrorKind::MeshShutdown, "closed"));
//! assert!(matches!(err, SdkError::MeshShutdown(_)));
//! assert_eq!((err.kind(), err.area(), err.reason()), ("mesh:shutdown", "mesh", "shutdown"));
//! assert_eq!(err.to_string(), "mesh:shutdown: closed");
//! ```

use net_core::ErrorKind;
use std::fmt;

macro_rules! sdk_errors {
    ($( $(#[doc = $doc:literal])* $variant:ident = $code:literal, $area:literal, $reason:literal; )*) => {
        /// Everything that can go wrong in the SDK: one variant per engine
        /// error kind, holding the detail. Displays as `<kind>: <detail>`.
        /// Match with a wildcard arm: new variants arrive as the engine grows.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum SdkError {
            $( $(#[doc = $doc])* $variant(String), )*
            /// A kind this version of the SDK does not know (an engine newer
            /// than the SDK); never produced when both come from one release.
            Other {
                /// The stable kind string.
                kind: &'static str,
                /// What happened.
                detail: String,
            },
        }

        impl SdkError {
            /// The engine's kind (its area, reason and C code), from the one table.
            pub fn error_kind(&self) -> Option<ErrorKind> {
                match self {
                    $( SdkError::$variant(_) => Some(ErrorKind::$variant), )*
                    SdkError::Other { kind, .. } => ErrorKind::from_str_kind(kind),
                }
            }

            /// What happened, without the kind.
            pub fn detail(&self) -> &str {
                match self {
                    $( SdkError::$variant(detail) => detail, )*
                    SdkError::Other { detail, .. } => detail,
                }
            }
        }

        impl From<net_core::Error> for SdkError {
            fn from(err: net_core::Error) -> Self {
                let detail = err.detail().to_owned();
                match err.kind() {
                    $( ErrorKind::$variant => SdkError::$variant(detail), )*
                    other => SdkError::Other { kind: other.as_str(), detail },
                }
            }
        }
    };
}

net_core::error_table!(sdk_errors);

impl SdkError {
    /// The stable `<area>:<reason>` string, the same in every language.
    pub fn kind(&self) -> &'static str {
        match (self, self.error_kind()) {
            (SdkError::Other { kind, .. }, _) => kind,
            (_, Some(kind)) => kind.as_str(),
            (_, None) => "unknown",
        }
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

impl fmt::Display for SdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.detail())
    }
}

impl std::error::Error for SdkError {}

/// Result alias for the SDK.
pub type Result<T, E = SdkError> = std::result::Result<T, E>;
