//! The on-disk cache: results of `#[delayed(cache)]` functions survive the scheduler (and
//! the process); a hit also skips the work that only fed it.
//!
//! Every test uses its own directory under Cargo's per-target temporary directory and its
//! own execution counters, so the tests run in parallel.

#![cfg(feature = "cache")]

use delayed::prelude::*;
use delayed::{Cache, CacheCounters, CacheMode, Error};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cache-test-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn open(dir: &Path) -> Cache {
    Cache::open(dir).expect("open the cache").quiet(true)
}

/// A scheduler with a fresh handle on `dir`, as a new run of the program would have.
fn run_with(dir: &Path, threads: usize) -> (Scheduler, Cache) {
    let cache = open(dir);
    let sched = if threads == 1 {
        Scheduler::sync()
    } else {
        Scheduler::threads(threads)
    };
    (sched.with_cache(cache.clone()), cache)
}

/// Every entry file of a cache directory.
fn entry_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(dir.join("v3")).unwrap() {
        let shard = shard.unwrap().path();
        for file in std::fs::read_dir(&shard).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                !name.starts_with(".tmp"),
                "a temporary file was left: {name}"
            );
            out.push(path);
        }
    }
    out.sort();
    out
}

mod image_like {
    use super::*;

    pub static CROPS: AtomicUsize = AtomicUsize::new(0);
    pub static DIFFS: AtomicUsize = AtomicUsize::new(0);
    pub static TOTALS: AtomicUsize = AtomicUsize::new(0);

    /// Expensive and not cached: only a hit downstream saves it.
    #[delayed]
    pub fn crop(n: u64) -> Vec<u64> {
        CROPS.fetch_add(1, SeqCst);
        (0..n).map(|k| k * k + n).collect()
    }

    #[delayed(cache)]
    pub fn diff(a: Vec<u64>, b: &[u64]) -> Vec<u64> {
        DIFFS.fetch_add(1, SeqCst);
        a.iter().zip(b).map(|(x, y)| y - x).collect()
    }

    #[delayed(cache)]
    pub fn total(d: &[u64]) -> u64 {
        TOTALS.fetch_add(1, SeqCst);
        d.iter().sum()
    }

    pub fn graph() -> Vec<Delayed<u64>> {
        (0..4u64)
            .map(|i| total(diff(crop(10 + i), crop(20 + i))))
            .collect()
    }

    pub fn counts() -> [usize; 3] {
        [CROPS.load(SeqCst), DIFFS.load(SeqCst), TOTALS.load(SeqCst)]
    }

    pub fn reset() {
        for c in [&CROPS, &DIFFS, &TOTALS] {
            c.store(0, SeqCst);
        }
    }
}

#[test]
fn a_second_run_reads_the_results_and_skips_their_inputs() {
    use image_like::*;
    let dir = fresh_dir("second-run");
    // The first 10 + i elements differ by 10 each.
    let expected: Vec<u64> = (0..4).map(|i| 10 * (10 + i)).collect();

    let (sched, cache) = run_with(&dir, 2);
    assert_eq!(delayed::compute_with(graph(), &sched).unwrap(), expected);
    assert_eq!(counts(), [8, 4, 4]);
    let first = cache.counters();
    assert_eq!((first.hits, first.misses, first.writes), (0, 8, 8));
    assert_eq!(cache.stats().unwrap().entries, 8);

    // A new scheduler and a new handle: as a second run of the program.
    reset();
    let (sched, cache) = run_with(&dir, 2);
    assert_eq!(delayed::compute_with(graph(), &sched).unwrap(), expected);
    assert_eq!(
        counts(),
        [0, 0, 0],
        "nothing runs: crop and diff are skipped"
    );
    assert_eq!(
        cache.counters(),
        CacheCounters {
            hits: 4,
            skipped: 12,
            ..CacheCounters::default()
        }
    );

    // The same on one thread.
    let (sched, _) = run_with(&dir, 1);
    assert_eq!(delayed::compute_with(graph(), &sched).unwrap(), expected);
    assert_eq!(counts(), [0, 0, 0]);
}

#[test]
fn a_hit_does_not_skip_inputs_that_others_still_need() {
    static CROPS: AtomicUsize = AtomicUsize::new(0);
    static DIFFS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn crop(n: u64) -> Vec<u64> {
        CROPS.fetch_add(1, SeqCst);
        (0..n).collect()
    }
    #[delayed(cache)]
    fn diff(a: &[u64], b: &[u64]) -> Vec<u64> {
        DIFFS.fetch_add(1, SeqCst);
        a.iter().zip(b).map(|(x, y)| x + y).collect()
    }
    let dir = fresh_dir("shared-input");
    let graph = || {
        let x = crop(5);
        let cached = diff(&x, &x);
        let len = x.map(|v| v.len());
        (cached, len)
    };
    let (sched, _) = run_with(&dir, 2);
    assert_eq!(
        delayed::compute_with(graph(), &sched).unwrap(),
        (vec![0, 2, 4, 6, 8], 5)
    );
    assert_eq!((CROPS.load(SeqCst), DIFFS.load(SeqCst)), (1, 1));

    for threads in [1, 2] {
        let (sched, cache) = run_with(&dir, threads);
        assert_eq!(
            delayed::compute_with(graph(), &sched).unwrap(),
            (vec![0, 2, 4, 6, 8], 5)
        );
        assert_eq!(cache.counters().hits, 1);
        assert_eq!(cache.counters().skipped, 0, "crop still feeds `len`");
    }
    assert_eq!((CROPS.load(SeqCst), DIFFS.load(SeqCst)), (3, 1));
}

#[test]
fn changing_one_input_recomputes_only_its_dependents() {
    static LOADS: AtomicUsize = AtomicUsize::new(0);
    static ADDS: AtomicUsize = AtomicUsize::new(0);
    #[delayed(cache)]
    fn load(i: u64) -> u64 {
        LOADS.fetch_add(1, SeqCst);
        i * 10
    }
    #[delayed(cache)]
    fn add(a: u64, b: u64) -> u64 {
        ADDS.fetch_add(1, SeqCst);
        a + b
    }
    let dir = fresh_dir("one-input");
    let runs = || [LOADS.swap(0, SeqCst), ADDS.swap(0, SeqCst)];

    let (sched, _) = run_with(&dir, 2);
    assert_eq!(add(load(1), load(2)).compute_with(&sched).unwrap(), 30);
    assert_eq!(runs(), [2, 1]);

    let (sched, cache) = run_with(&dir, 2);
    assert_eq!(add(load(1), load(3)).compute_with(&sched).unwrap(), 40);
    assert_eq!(runs(), [1, 1], "load(3) and the sum run; load(1) is read");
    assert_eq!(cache.counters().hits, 1);

    let (sched, cache) = run_with(&dir, 1);
    assert_eq!(add(load(1), load(2)).compute_with(&sched).unwrap(), 30);
    assert_eq!(runs(), [0, 0]);
    assert_eq!(cache.counters().skipped, 2);
}

/// Keys must be the same in every run, on every machine: these were computed once and
/// checked in. If one changes, every user's cache is invalidated: change them only with
/// a deliberate change of the key scheme.
mod stable {
    use super::*;

    #[delayed(cache)]
    pub fn scale(x: i64, by: f64) -> f64 {
        x as f64 * by
    }

    #[delayed(cache)]
    pub fn round(x: f64) -> i64 {
        x.round() as i64
    }

    #[delayed(cache)]
    pub fn label(parts: Vec<String>, sep: &str) -> String {
        parts.join(sep)
    }

    #[test]
    fn keys_of_a_fixed_graph_are_checked_in() {
        let three = value(3i64);
        let scaled = scale(&three, 0.5);
        let text = label(vec!["a".to_string(), "b".to_string()], "-");
        let both = scale(round(&scaled), -0.0);
        let keys = [
            three.key().to_hex(),
            scale(3, 0.5).key().to_hex(),
            scaled.key().to_hex(),
            text.key().to_hex(),
            both.key().to_hex(),
        ];
        assert_eq!(
            keys,
            [
                // value(3i64): type name and content.
                "52327b20dcb8f31121b41132dfdd698bb9b5e486c09de49756ee7cedc45518da",
                // scale(3, 0.5): a plain argument is keyed by content...
                "dc6eccc9556c78ee7aaf09343db0c2eece5b4b7b288456efbf7c48080305adda",
                // scale(&value(3), 0.5): ...a node argument by its key.
                "2076236e7bc98a68566eb15bcde74c15d8218ab6899609d8ab9fd23ac15a963a",
                "acd659c7294b4b0bb91b7096a014eff83f3383649311a910bc22f2a94aff2c5e",
                "4b546a968337137ed13959e778eb799684afb4d955f81e376efad335768ebc2c",
            ],
            "{keys:#?}"
        );
    }
}

mod same_body_a {
    use super::*;
    #[delayed(cache)]
    pub fn f(x: i64) -> i64 {
        x + 1
    }
}

mod same_body_b {
    use super::*;
    #[delayed(cache)]
    pub fn f(x: i64) -> i64 {
        x + 1
    }
}

#[test]
fn the_module_path_is_part_of_the_identity() {
    assert_ne!(same_body_a::f(1).key(), same_body_b::f(1).key());
    assert_eq!(same_body_a::f(1).key(), same_body_a::f(1).key());
}

/// Editing a function's body changes the token hash the macro puts in its `FnId` (the
/// macro's unit test `the_key_covers_the_body_and_signature_not_spacing` shows that on
/// real expansions). Here two builds of one function are the same path with two token
/// hashes, as `#[delayed(cache)]` generates them: the edited one misses, and so does
/// everything downstream; the old entries stay valid for the old code.
mod edited {
    use super::*;
    use delayed::__private_0_1::{into_arg, Call, FnId, Inputs};

    pub static RUNS: AtomicUsize = AtomicUsize::new(0);
    pub static DOWNSTREAM: AtomicUsize = AtomicUsize::new(0);

    pub static BUILD_1: FnId =
        FnId::new("cache::edited::f", "f", "e3b0c44298fc1c149afbf4c8996fb924");
    pub static BUILD_2: FnId =
        FnId::new("cache::edited::f", "f", "9f86d081884c7d659a2feaa0c55ad015");

    pub fn f(build: &'static FnId, x: i64) -> Delayed<i64> {
        let mut call = Call::new(build).cached::<i64>();
        call.arg(into_arg::<i64, _>(x));
        call.finish(|inputs: &mut Inputs<'_>| {
            RUNS.fetch_add(1, SeqCst);
            Ok(inputs.take::<i64>()? + 1)
        })
    }

    #[delayed(cache)]
    pub fn double(x: i64) -> i64 {
        DOWNSTREAM.fetch_add(1, SeqCst);
        x * 2
    }
}

#[test]
fn an_edited_body_invalidates_its_entries_and_everything_downstream() {
    use edited::*;
    let dir = fresh_dir("edited");
    let runs = || [RUNS.swap(0, SeqCst), DOWNSTREAM.swap(0, SeqCst)];
    assert_ne!(f(&BUILD_1, 1).key(), f(&BUILD_2, 1).key());
    assert_ne!(double(f(&BUILD_1, 1)).key(), double(f(&BUILD_2, 1)).key());

    let compute = |build| {
        let (sched, _) = run_with(&dir, 2);
        // The root only: `f` runs only if `double` misses.
        double(f(build, 1)).compute_with(&sched).unwrap()
    };
    assert_eq!(compute(&BUILD_1), 4);
    assert_eq!(runs(), [1, 1]);
    assert_eq!(compute(&BUILD_1), 4);
    assert_eq!(runs(), [0, 0], "unchanged code: read back");
    assert_eq!(compute(&BUILD_2), 4);
    assert_eq!(runs(), [1, 1], "edited code: it and its consumer run again");
    assert_eq!(compute(&BUILD_1), 4);
    assert_eq!(runs(), [0, 0], "the first build's entries are still there");
}

#[test]
fn damaged_entries_are_recomputed_with_a_warning() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed(cache)]
    fn square(i: u64) -> Vec<u64> {
        RUNS.fetch_add(1, SeqCst);
        vec![i * i; 100]
    }
    let dir = fresh_dir("damaged");
    let graph = || vec![square(1), square(2), square(3)];
    let expected = vec![vec![1; 100], vec![4; 100], vec![9; 100]];
    let (sched, _) = run_with(&dir, 2);
    assert_eq!(delayed::compute_with(graph(), &sched).unwrap(), expected);
    assert_eq!(RUNS.swap(0, SeqCst), 3);

    let files = entry_files(&dir);
    assert_eq!(files.len(), 3);
    // One truncated (as by a crash without the rename), one with a flipped byte.
    let bytes = std::fs::read(&files[0]).unwrap();
    std::fs::write(&files[0], &bytes[..bytes.len() / 2]).unwrap();
    let mut bytes = std::fs::read(&files[1]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&files[1], &bytes).unwrap();

    let (sched, cache) = run_with(&dir, 2);
    assert_eq!(delayed::compute_with(graph(), &sched).unwrap(), expected);
    assert_eq!(RUNS.swap(0, SeqCst), 2);
    let counters = cache.counters();
    assert_eq!(
        (counters.hits, counters.corrupt, counters.writes),
        (1, 2, 2)
    );
    let warnings = cache.warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings.iter().any(|w| w.contains("truncated")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("checksum")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().all(|w| w.contains("square-")),
        "{warnings:?}"
    );

    // Repaired: the next run reads all three.
    let (sched, cache) = run_with(&dir, 1);
    assert_eq!(delayed::compute_with(graph(), &sched).unwrap(), expected);
    assert_eq!(RUNS.load(SeqCst), 0);
    assert_eq!(cache.counters().hits, 3);
}

#[test]
fn failures_are_not_cached() {
    static FAIL: AtomicBool = AtomicBool::new(true);
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed(cache)]
    fn flaky(x: i64) -> Result<i64, std::io::Error> {
        RUNS.fetch_add(1, SeqCst);
        if FAIL.load(SeqCst) {
            Err(std::io::Error::other("not today"))
        } else {
            Ok(x)
        }
    }
    #[delayed(cache)]
    fn inc(x: i64) -> i64 {
        x + 1
    }
    let dir = fresh_dir("failures");
    let (sched, cache) = run_with(&dir, 2);
    let err = inc(flaky(1)).compute_with(&sched).unwrap_err();
    assert!(matches!(err, Error::Failed { .. }), "{err}");
    assert_eq!(cache.counters().writes, 0);
    FAIL.store(false, SeqCst);
    assert_eq!(inc(flaky(1)).compute_with(&sched).unwrap(), 2);
    assert_eq!(cache.counters().writes, 2);
    assert_eq!(inc(flaky(1)).compute_with(&sched).unwrap(), 2);
    assert_eq!(RUNS.load(SeqCst), 2);
}

#[test]
fn a_result_that_cannot_be_encoded_is_computed_and_not_kept() {
    #[derive(Clone, Debug, PartialEq, serde::Deserialize)]
    struct Unwritable(u8);
    impl serde::Serialize for Unwritable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("this type refuses to be written"))
        }
    }
    #[delayed(cache)]
    fn make(x: u8) -> Unwritable {
        Unwritable(x)
    }
    let dir = fresh_dir("unwritable");
    let (sched, cache) = run_with(&dir, 1);
    assert_eq!(make(7).compute_with(&sched).unwrap(), Unwritable(7));
    assert_eq!(cache.counters().errors, 1);
    assert!(
        cache.warnings()[0].contains("cannot encode the result of task `make-"),
        "{:?}",
        cache.warnings()
    );
    assert_eq!(cache.stats().unwrap().entries, 0);
}

mod shared_graph {
    use super::*;

    pub static RUNS: AtomicUsize = AtomicUsize::new(0);

    #[delayed(cache)]
    pub fn block(i: u64) -> Vec<u64> {
        RUNS.fetch_add(1, SeqCst);
        (0..20_000).map(|k| k ^ i).collect()
    }

    #[delayed(cache)]
    pub fn checksum(blocks: Vec<Vec<u64>>) -> u64 {
        blocks
            .iter()
            .flatten()
            .fold(0, |h, &x| h.wrapping_mul(31).wrapping_add(x))
    }

    pub fn graph() -> Delayed<u64> {
        checksum(delayed::collect((0..40).map(block)))
    }

    pub fn expected() -> u64 {
        let blocks: Vec<Vec<u64>> = (0..40)
            .map(|i| (0..20_000).map(|k| k ^ i).collect())
            .collect();
        blocks
            .iter()
            .flatten()
            .fold(0, |h, &x| h.wrapping_mul(31).wrapping_add(x))
    }
}

#[test]
fn concurrent_writers_in_one_process_all_finish() {
    let dir = fresh_dir("threads");
    let start = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.clone();
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let (sched, cache) = run_with(&dir, 2);
                start.wait();
                let got = shared_graph::graph().compute_with(&sched);
                (got.map_err(|e| e.to_string()), cache.counters())
            })
        })
        .collect();
    for handle in handles {
        let (got, counters) = handle.join().unwrap();
        assert_eq!(got, Ok(shared_graph::expected()));
        assert_eq!((counters.corrupt, counters.errors), (0, 0));
    }
    let (sched, cache) = run_with(&dir, 2);
    assert_eq!(
        shared_graph::graph().compute_with(&sched).unwrap(),
        shared_graph::expected()
    );
    assert_eq!(cache.counters().hits, 1);
    assert_eq!(entry_files(&dir).len(), 41);
}

/// The child half of `concurrent_writers_in_two_processes_all_finish`: does nothing in a
/// normal test run.
#[test]
fn child_process_writer() {
    let Some(dir) = std::env::var_os("DELAYED_CACHE_CHILD_DIR") else {
        return;
    };
    let (sched, cache) = run_with(Path::new(&dir), 2);
    assert_eq!(
        shared_graph::graph().compute_with(&sched).unwrap(),
        shared_graph::expected()
    );
    assert_eq!(cache.counters().corrupt, 0);
}

#[test]
fn concurrent_writers_in_two_processes_all_finish() {
    let dir = fresh_dir("processes");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["child_process_writer", "--exact", "--quiet"])
                .env("DELAYED_CACHE_CHILD_DIR", &dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // And this process too, at the same time.
    let (sched, _) = run_with(&dir, 2);
    assert_eq!(
        shared_graph::graph().compute_with(&sched).unwrap(),
        shared_graph::expected()
    );
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "child failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "the child ran its test: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let (sched, cache) = run_with(&dir, 1);
    assert_eq!(
        shared_graph::graph().compute_with(&sched).unwrap(),
        shared_graph::expected()
    );
    assert_eq!(cache.counters().hits, 1);
    assert_eq!(entry_files(&dir).len(), 41);
}

#[test]
fn an_unusable_directory_means_no_cache_with_a_warning() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed(cache)]
    fn inc(x: i64) -> i64 {
        RUNS.fetch_add(1, SeqCst);
        x + 1
    }
    let dir = fresh_dir("unusable");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let sched = Scheduler::sync().cache(file.join("cache"));
    let cache = sched.disk_cache().unwrap().clone().quiet(true);
    assert_eq!(cache.mode(), CacheMode::Off);
    assert!(cache.warnings()[0].contains("computing without a cache"));
    assert_eq!(inc(1).compute_with(&sched).unwrap(), 2);
    assert_eq!(inc(1).compute_with(&sched).unwrap(), 2);
    assert_eq!(RUNS.load(SeqCst), 2);
    assert_eq!(cache.counters(), CacheCounters::default());
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_is_read_but_not_written() {
    use std::os::unix::fs::PermissionsExt;
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed(cache)]
    fn inc(x: i64) -> i64 {
        RUNS.fetch_add(1, SeqCst);
        x + 1
    }
    let dir = fresh_dir("read-only");
    let (sched, _) = run_with(&dir, 1);
    assert_eq!(inc(1).compute_with(&sched).unwrap(), 2);

    let mut dirs = vec![dir.clone(), dir.join("v3")];
    dirs.extend(
        entry_files(&dir)
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf)),
    );
    let chmod = |mode: u32| {
        for d in &dirs {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    };
    chmod(0o555);
    let probe = dir.join("v3").join("probe");
    if std::fs::write(&probe, b"x").is_ok() {
        let _ = std::fs::remove_file(&probe);
        chmod(0o755);
        println!("skipped: running as root (or with CAP_DAC_OVERRIDE), chmod does not make the directory read-only");
        return;
    }
    let cache = Cache::open(&dir).map(|c| c.quiet(true));
    chmod(0o755);
    let cache = cache.unwrap();
    chmod(0o555);
    assert_eq!(cache.mode(), CacheMode::ReadOnly);
    assert!(
        cache.warnings()[0].contains("not writable"),
        "{:?}",
        cache.warnings()
    );
    let sched = Scheduler::sync().with_cache(cache.clone());
    let got = delayed::compute_with((inc(1), inc(5)), &sched);
    chmod(0o755);
    assert_eq!(got.unwrap(), (2, 6));
    assert_eq!(RUNS.load(SeqCst), 2, "inc(1) read, inc(5) computed");
    let counters = cache.counters();
    assert_eq!((counters.hits, counters.writes, counters.errors), (1, 0, 0));
}

#[test]
fn stats_clear_and_a_size_cap() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed(cache)]
    fn blob(i: u8) -> Vec<u8> {
        RUNS.fetch_add(1, SeqCst);
        vec![i; 10_000]
    }
    let dir = fresh_dir("stats");
    let (sched, cache) = run_with(&dir, 2);
    delayed::compute_with((0..5).map(blob).collect::<Vec<_>>(), &sched).unwrap();
    let stats = cache.stats().unwrap();
    assert_eq!(stats.entries, 5);
    assert!(stats.bytes > 50_000 && stats.bytes < 51_000, "{stats:?}");

    cache.clear().unwrap();
    assert_eq!(cache.stats().unwrap().entries, 0);
    RUNS.store(0, SeqCst);
    delayed::compute_with((0..5).map(blob).collect::<Vec<_>>(), &sched).unwrap();
    assert_eq!(RUNS.swap(0, SeqCst), 5, "cleared: everything runs again");

    // Room for about two: older entries make way for newer ones.
    let capped = open(&dir).max_bytes(25_000);
    let sched = Scheduler::sync().with_cache(capped.clone());
    delayed::compute_with((5..10).map(blob).collect::<Vec<_>>(), &sched).unwrap();
    let stats = capped.stats().unwrap();
    assert!(stats.bytes <= 25_000 && stats.entries >= 1, "{stats:?}");
    // The newest entry survived.
    assert_eq!(blob(9).compute_with(&sched).unwrap(), vec![9; 10_000]);
    assert_eq!(capped.counters().hits, 1);
}

#[test]
fn without_cache_nothing_is_stored_and_debug_shows_the_cache() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed(cache)]
    fn inc(x: i64) -> i64 {
        RUNS.fetch_add(1, SeqCst);
        x + 1
    }
    assert_eq!(inc(1).compute().unwrap(), 2);
    assert_eq!(inc(1).compute().unwrap(), 2);
    assert_eq!(
        RUNS.load(SeqCst),
        2,
        "no cache configured: every compute runs"
    );
    let dir = fresh_dir("debug");
    let sched = Scheduler::sync().cache(&dir);
    assert!(
        format!("{sched:?}").starts_with("Scheduler::sync().cache("),
        "{sched:?}"
    );
}

#[test]
fn a_long_chain_behind_a_hit_is_skipped_without_recursion() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed(cache)]
    fn last(x: u64) -> u64 {
        RUNS.fetch_add(1, SeqCst);
        x
    }
    let dir = fresh_dir("chain");
    let chain = || {
        let mut x = value(0u64);
        for _ in 0..100_000 {
            x = x + 1;
        }
        last(x)
    };
    let (sched, _) = run_with(&dir, 2);
    assert_eq!(chain().compute_with(&sched).unwrap(), 100_000);
    let (sched, cache) = run_with(&dir, 2);
    assert_eq!(chain().compute_with(&sched).unwrap(), 100_000);
    assert_eq!(RUNS.load(SeqCst), 1);
    assert_eq!(cache.counters().hits, 1);
    assert_eq!(
        cache.counters().skipped,
        100_001,
        "the whole chain and its seed"
    );
}
