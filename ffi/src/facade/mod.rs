//! The safe facade: the operations every binding exposes, in boundary-friendly
//! types (handles, bytes, strings, JSON). One module per engine area.

pub mod bus;
pub mod bus_link;
pub mod capability;
pub mod channel;
pub mod identity;
pub mod json;
pub mod mesh;
pub mod netdb;
pub mod redex;
pub mod token;
pub mod wait;
pub mod wire;

use net_core::{ErrorKind, ABI_VERSION};

/// The ABI version of this library (see `NET_ABI_VERSION` in `net.h`).
pub fn abi_version() -> u32 {
    ABI_VERSION
}

/// Every error kind as a JSON array of `{"kind", "code"}` objects, in code order.
/// The fixture `tests/cross_lang/errors/kinds.json` is checked against this.
pub fn error_kinds_json() -> String {
    let kinds: Vec<serde_json::Value> = ErrorKind::ALL
        .iter()
        .map(|k| serde_json::json!({"kind": k.as_str(), "area": k.area(), "reason": k.reason(), "code": k.code()}))
        .collect();
    serde_json::Value::Array(kinds).to_string()
}
