//! The compile-time rules (`tests/ui/*.rs` must fail to compile, with the checked-in
//! `.stderr`) and what must stay allowed (`tests/ui/pass/*.rs` compile and run).
//!
//! Compiler messages change between Rust releases, so the `.stderr` files are tied to the
//! `rustc --version` recorded in `tests/ui/RUSTC_VERSION`. On another toolchain this test
//! fails with an instruction to regenerate them; `TRYBUILD=overwrite` does, and records the
//! new version.

use std::process::Command;

const VERSION_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui/RUSTC_VERSION");

fn rustc_version() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .arg("--version")
        .output()
        .expect("`rustc --version` runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn ui() {
    let current = rustc_version();
    let overwrite = std::env::var_os("TRYBUILD").is_some_and(|v| v == "overwrite");
    if overwrite {
        std::fs::write(VERSION_FILE, format!("{current}\n"))
            .expect("tests/ui/RUSTC_VERSION is writable");
    } else {
        let recorded = std::fs::read_to_string(VERSION_FILE).unwrap_or_default();
        let recorded = recorded.trim();
        assert!(
            recorded == current,
            "tests/ui/*.stderr were generated with `{recorded}` but this is `{current}`: regenerate them with `TRYBUILD=overwrite cargo test --test ui` and review the diff"
        );
    }
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
