//! # net-core
//!
//! The Net engine. Every behaviour, default, limit and validation of Net lives
//! in this crate, once; the C ABI, the bindings and the SDKs only translate.
//!
//! Today the engine holds the in-memory event [`bus`], node [`identity`], the
//! [`wire`] codecs, the encrypted [`mesh`], local state ([`redex`] logs and
//! [`cortex`] folds) and the hash-chained [`audit`] log; channels, nRPC,
//! MeshDB and daemons land beside them as their own modules.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod bus;
pub mod cancel;
pub mod capability;
pub mod channel;
pub mod cortex;
pub mod error;
pub mod identity;
pub mod mesh;
pub mod push;
pub mod redex;
pub mod runtime;
pub mod subnet;
pub mod time;
pub mod wire;

pub use error::{Error, ErrorKind, Result};

/// The version of the C ABI this engine implements. Bumped on any breaking
/// change to `include/net.h`; every SDK checks it at load.
pub const ABI_VERSION: u32 = 1;
