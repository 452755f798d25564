//! Gives `libnet.so` its soname, `libnet.so.<ABI version>`: a program linked
//! against one C ABI never loads a library of another. The version is read
//! from `src/c/common.rs` (`NET_ABI_VERSION`, which a compile-time assert
//! ties to `net_core::ABI_VERSION`), so it is written in one place.

use std::process::ExitCode;

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed=src/c/common.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return ExitCode::SUCCESS;
    }
    let source = std::fs::read_to_string("src/c/common.rs").unwrap_or_default();
    let abi = source.lines().find_map(|line| {
        line.trim()
            .strip_prefix("pub const NET_ABI_VERSION: u32 = ")?
            .strip_suffix(';')
            .map(str::to_owned)
    });
    match abi {
        Some(abi) => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnet.so.{abi}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("net-ffi build: no `pub const NET_ABI_VERSION: u32 = N;` in src/c/common.rs");
            ExitCode::FAILURE
        }
    }
}
