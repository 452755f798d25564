//! The C ABI: `extern "C"` functions over the safe facade.
//!
//! Conventions (see `include/net.h` for the per-function contract):
//! * fallible functions return `int`: `NET_OK` (0), a positive non-error status
//!   such as `NET_DONE`, or a negative `NET_ERR_*` code; results come back
//!   through out-parameters;
//! * `net_last_error_message()` gives the calling thread's last error text;
//! * inputs are pointer + length and need no NUL terminator, except where a
//!   function documents a NUL-terminated string;
//! * everything the library returns has exactly one matching free function;
//! * no panic crosses the boundary: each body runs under [`guard`].

#![allow(non_camel_case_types)]

mod bus;
mod bus_link;
mod cancel;
mod capability;
mod channel;
mod common;
mod error_codes;
mod identity;
pub(crate) mod mesh;
mod netdb;
mod push;
mod redex;
mod token;
mod wire;

pub use bus::*;
pub use bus_link::*;
pub use cancel::*;
pub use capability::*;
pub use channel::*;
pub use common::*;
pub use error_codes::*;
pub use identity::*;
pub use mesh::*;
pub use netdb::*;
pub use push::*;
pub use redex::*;
pub use token::*;
pub use wire::*;
