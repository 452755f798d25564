//! # net-core
//!
//! The Net engine. Every behaviour, default, limit and validation of Net lives
//! in this crate, once; the C ABI, the bindings and the SDKs only translate.
//!
//! Today the engine holds the in-memory event [`bus`], node [`identity`] and the
//! [`wire`] codecs the mesh is built on; the mesh, channels, nRPC and local
//! state land beside them as their own modules.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bus;
pub mod cortex;
pub mod error;
pub mod identity;
pub mod mesh;
pub mod redex;
pub mod wire;

pub use error::{Error, ErrorKind, Result};

/// The version of the C ABI this engine implements. Bumped on any breaking
/// change to `include/net.h`; every SDK checks it at load.
pub const ABI_VERSION: u32 = 1;
