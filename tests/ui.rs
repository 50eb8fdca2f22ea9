//! The compile-time rules (`tests/ui/*.rs` must fail to compile, with the checked-in
//! `.stderr`) and what must stay allowed (`tests/ui/pass/*.rs` compile and run).
//!
//! Compiler messages change between Rust releases, so the `.stderr` files are tied to the
//! `rustc --version` recorded in `tests/ui/RUSTC_VERSION`, and compared only there. On any
//! other toolchain (at least the MSRV, `rust-version` in Cargo.toml) the test still checks
//! that every case fails to compile, and that the passing ones compile and run, without
//! comparing messages: it compiles copies of the cases that have no `.stderr`. To
//! regenerate the snapshots for a new pinned toolchain, run
//! `TRYBUILD=overwrite cargo test --test ui` with it and review the diff; that records
//! the version too.

use std::path::{Path, PathBuf};
use std::process::Command;

const UI_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui");
const VERSION_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui/RUSTC_VERSION");

fn rustc_version() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .arg("--version")
        .output()
        .expect("`rustc --version` runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The compile-fail cases, `tests/ui/*.rs`, sorted.
fn compile_fail_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(UI_DIR)
        .expect("tests/ui is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    cases.sort();
    cases
}

/// Copies of the compile-fail cases without their `.stderr`, in a fresh directory.
fn copies_without_messages(cases: &[PathBuf]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-any-rustc");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the copy directory can be made");
    for case in cases {
        let name = case.file_name().expect("a file name");
        std::fs::copy(case, dir.join(name)).expect("a case can be copied");
    }
    dir
}

#[test]
fn ui() {
    let current = rustc_version();
    let overwrite = std::env::var_os("TRYBUILD").is_some_and(|v| v == "overwrite");
    let recorded = std::fs::read_to_string(VERSION_FILE).unwrap_or_default();
    let pinned = recorded.trim() == current;
    let cases = compile_fail_cases();
    assert!(cases.len() >= 20, "only {} compile-fail cases", cases.len());
    if overwrite {
        std::fs::write(VERSION_FILE, format!("{current}\n"))
            .expect("tests/ui/RUSTC_VERSION is writable");
    }
    let tests = trybuild::TestCases::new();
    if pinned || overwrite {
        tests.compile_fail("tests/ui/*.rs");
    } else {
        println!(
            "note: this is `{current}`, the .stderr files are for `{}`: checking that every \
             case fails to compile, without comparing messages",
            recorded.trim()
        );
        let copies = copies_without_messages(&cases);
        // With no `.stderr` beside them, `overwrite` makes trybuild accept any message
        // (written into the copies' directory) but still fail a case that compiles.
        std::env::set_var("TRYBUILD", "overwrite");
        for case in &cases {
            let name = case.file_name().expect("a file name");
            tests.compile_fail(copies.join(name));
        }
    }
    tests.pass("tests/ui/pass/*.rs");
}
