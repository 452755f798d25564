//! Generates `include/net.h` from `ffi/` with cbindgen.
//!
//! `net-gen-header` writes the header; `net-gen-header --check` exits non-zero
//! when the committed header differs from what the sources generate (drift).

use std::path::PathBuf;
use std::process::ExitCode;

const MUST_USE_DEFINE: &str = "#ifndef NET_MUST_USE\n#if defined(__GNUC__) || defined(__clang__)\n#define NET_MUST_USE __attribute__((warn_unused_result))\n#else\n#define NET_MUST_USE\n#endif\n#endif\n";

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let crate_dir = root.join("ffi");
    let config = match cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gen-header: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut config = config;
    config.after_includes = Some(MUST_USE_DEFINE.to_owned());
    let bindings = match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(b) => b,
        Err(e) => {
            eprintln!("gen-header: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = root.join("include/net.h");
    if check {
        let current = std::fs::read(&path).unwrap_or_default();
        if current != generated {
            eprintln!("include/net.h is out of date: run scripts/gen-header and commit it");
            return ExitCode::FAILURE;
        }
        println!("include/net.h is up to date");
        return ExitCode::SUCCESS;
    }
    if let Err(e) = std::fs::write(&path, generated) {
        eprintln!("gen-header: {e}");
        return ExitCode::FAILURE;
    }
    println!("wrote {}", path.display());
    ExitCode::SUCCESS
}
