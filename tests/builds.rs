//! Keys across checkouts and builds, with real `cargo build`s of a small program that
//! depends on `delayed`:
//!
//! - the same program in two directories prints the same keys (no absolute path, no
//!   machine-specific text in any key);
//! - with an on-disk cache, a rebuild that edits a `map` closure or a plain fn called
//!   through `delay!` recomputes what is downstream of them (never the old entry), while
//!   results of unchanged `#[delayed]` code are still read from the cache.
//!
//! The builds share one target directory (`target/key-builds`), so only the first builds
//! the dependencies.

use std::path::{Path, PathBuf};
use std::process::Command;

const MANIFEST: &str = r#"[package]
name = "keyprobe"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
delayed = { path = "@ROOT@" }
keyprobe-lib = { path = "../lib" }

[workspace]
"#;

/// A dependency outside the program's workspace: rustc sees its files by absolute path
/// (`file!()` there is machine-specific), so nothing of that may reach a key.
const LIB_MANIFEST: &str = r#"[package]
name = "keyprobe-lib"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
delayed = { path = "@ROOT@" }
"#;

const LIB: &str = r#"use delayed::prelude::*;

#[delayed]
pub fn shout(s: String) -> String {
    s.to_uppercase()
}

fn count(s: &String) -> usize {
    s.len()
}

fn double(x: i64) -> i64 {
    x * 2
}

pub fn lengths(d: &Delayed<String>) -> Delayed<usize> {
    d.map(count)
}

pub fn twice(x: i64) -> Delayed<i64> {
    delay!(double(x))
}

pub fn tripled(x: i64) -> Delayed<i64> {
    delay!((|x: i64| x * 3)(x))
}
"#;

const MAIN: &str = r#"use delayed::prelude::*;
use delayed::Cache;

#[delayed(cache)]
fn doubled(x: i64) -> i64 {
    x * 2
}

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

fn plain(x: i64) -> i64 {
    x + 1 // PLAIN_BODY
}

fn main() {
    let cache_dir = std::env::args().nth(1).expect("a cache directory");
    let a = inc(1);
    let keys = [
        ("fn", a.key()),
        ("value", value(String::from("x")).key()),
        ("ops", (&a + 1).key()),
        ("get", value(vec![1i64, 2]).get(1).key()),
        ("collect", delayed::collect(vec![a.clone()]).key()),
        ("delay_literal", delay!((|x: i64| x * 3)(2)).key()),
        ("delay_path", delay!(plain(2)).key()),
        ("file", delayed::file("input.txt").key()),
        ("cached", doubled(inc(3)).key()),
        ("lib_fn", keyprobe_lib::shout(String::from("a")).key()),
        ("lib_map", keyprobe_lib::lengths(&value(String::from("abc"))).key()),
        ("lib_delay_path", keyprobe_lib::twice(2).key()),
        ("lib_delay_literal", keyprobe_lib::tripled(2).key()),
    ];
    for (name, key) in keys {
        println!("key {name} {key}");
    }
    let chains = [
        ("map", doubled(value(10i64).map(|v| v + 1 /* MAP_BODY */))),
        ("plain", doubled(delay!(plain(10)))),
        ("portable", doubled(inc(3))),
    ];
    for (name, d) in chains {
        let cache = Cache::open(&cache_dir).expect("open the cache").quiet(true);
        let sched = Scheduler::sync().with_cache(cache.clone());
        let v = d.compute_with(&sched).expect("compute");
        let c = cache.counters();
        println!("run {name} {v} hits={} writes={}", c.hits, c.writes);
    }
}
"#;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The program in `checkout/app`, its library in `checkout/lib`.
fn write_probe(checkout: &Path) -> PathBuf {
    let root = workspace_root().display().to_string().replace('\\', "/");
    let lib = checkout.join("lib");
    std::fs::create_dir_all(lib.join("src")).unwrap();
    std::fs::write(
        lib.join("Cargo.toml"),
        LIB_MANIFEST.replace("@ROOT@", &root),
    )
    .unwrap();
    std::fs::write(lib.join("src/lib.rs"), LIB).unwrap();
    let dir = checkout.join("app");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), MANIFEST.replace("@ROOT@", &root)).unwrap();
    std::fs::write(dir.join("src/main.rs"), MAIN).unwrap();
    std::fs::write(dir.join("input.txt"), "the same bytes in every checkout\n").unwrap();
    // The workspace's lock file: the same dependency versions, no registry lookups.
    std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    dir
}

/// Builds the probe in `dir` and runs it there with `cache`; its stdout.
fn build_and_run(dir: &Path, cache: &Path) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = workspace_root().join("target/key-builds");
    let status = Command::new(&cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the probe in {}", dir.display());
    let exe = target.join("debug/keyprobe");
    let out = Command::new(exe)
        .arg(cache)
        .current_dir(dir)
        .output()
        .expect("the probe runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn lines<'a>(out: &'a str, prefix: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(prefix)).collect()
}

fn edit(dir: &Path, from: &str, to: &str) {
    let path = dir.join("src/main.rs");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn keys_hold_across_checkouts_and_cache_entries_follow_rebuilds() {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("key-builds");
    let _ = std::fs::remove_dir_all(&base);
    let a = write_probe(&base.join("checkout-a"));
    let b = write_probe(&base.join("elsewhere/checkout-b"));
    let cache = base.join("cache");

    let out_a = build_and_run(&a, &cache);
    let out_b = build_and_run(&b, &base.join("cache-b"));
    let keys_a = lines(&out_a, "key ");
    assert_eq!(keys_a.len(), 13, "{out_a}");
    assert_eq!(
        keys_a,
        lines(&out_b, "key "),
        "the same program in two checkouts has the same keys"
    );

    // First run: everything computed; the map chain is never stored.
    assert_eq!(
        lines(&out_a, "run "),
        [
            "run map 22 hits=0 writes=0",
            "run plain 22 hits=0 writes=1",
            "run portable 8 hits=0 writes=1"
        ]
    );
    // Same build again: what was stored is read back.
    let again = build_and_run(&a, &cache);
    assert_eq!(
        lines(&again, "run "),
        [
            "run map 22 hits=0 writes=0",
            "run plain 22 hits=1 writes=0",
            "run portable 8 hits=1 writes=0"
        ]
    );

    // Edit the map closure and the plain fn: their downstream results must be new;
    // the `#[delayed]` chain, unchanged, still comes from the cache.
    edit(&a, "v + 1 /* MAP_BODY */", "v + 2 /* MAP_BODY */");
    edit(&a, "x + 1 // PLAIN_BODY", "x + 5 // PLAIN_BODY");
    let edited = build_and_run(&a, &cache);
    assert_eq!(
        lines(&edited, "run "),
        [
            "run map 24 hits=0 writes=0",
            "run plain 30 hits=0 writes=1",
            "run portable 8 hits=1 writes=0"
        ]
    );
    // Keys of code the edit did not touch stay the same.
    let edited_keys = lines(&edited, "key ");
    for name in [
        "fn", "value", "ops", "get", "collect", "file", "cached", "lib_fn", "lib_map",
    ] {
        let pick = |keys: &[&str]| {
            keys.iter()
                .find(|l| l.split(' ').nth(1) == Some(name))
                .map(|l| l.to_string())
        };
        assert_eq!(pick(&keys_a), pick(&edited_keys), "{name}");
    }
}
