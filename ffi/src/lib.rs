//! # net-ffi
//!
//! The one surface every language goes through.
//!
//! * [`facade`] is the safe Rust facade: opaque handles, bytes, UTF-8 strings and
//!   JSON documents, with stable error kinds. The Node and Python bindings wrap
//!   it directly.
//! * [`c`] exports the same operations as `extern "C"` functions for C and Go;
//!   `include/net.h` is generated from it by `scripts/gen-header`.
//!
//! Nothing here decides behaviour: rules, defaults and limits live in `net-core`.

pub mod c;
pub mod facade;
mod handles;

pub use net_core::{cancel, push, time, Error, ErrorKind, Result, ABI_VERSION};
