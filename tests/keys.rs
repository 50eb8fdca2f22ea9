//! Keys you can trust: different code never shares a key, whatever way it reaches `map`
//! or `delay!`; the on-disk cache never serves results of code or files that changed;
//! the planner runs only what a root needs.

use delayed::prelude::*;
use delayed::{Cache, Error};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

fn apply<F: Fn(&i64) -> i64 + Send + Sync + 'static>(d: &Delayed<i64>, f: F) -> Delayed<i64> {
    d.map(f)
}

fn call_with_one<F: Fn(i64) -> i64 + Send + Sync + 'static>(f: F) -> Delayed<i64> {
    delay!(f(1))
}

#[test]
fn closures_through_a_generic_helper_keep_their_own_keys() {
    let a = value(10i64);
    let inc = apply(&a, |v| v + 1);
    let dbl = apply(&a, |v| v * 2);
    assert_ne!(inc.key(), dbl.key());
    assert_eq!(delayed::compute((&inc, &dbl)).unwrap(), (11, 20));

    let two = call_with_one(|x| x + 1);
    let hundred = call_with_one(|x| x * 100);
    assert_ne!(two.key(), hundred.key());
    assert_eq!(delayed::compute((two, hundred)).unwrap(), (2, 100));
}

fn adder() -> impl Fn(&i64) -> i64 + Send + Sync + 'static {
    |v| v + 1
}

fn doubler() -> impl Fn(&i64) -> i64 + Send + Sync + 'static {
    |v| v * 2
}

#[test]
fn closures_in_variables_and_returned_from_functions() {
    let a = value(5i64);
    let (f, g) = (|v: &i64| v - 1, |v: &i64| v - 2);
    let results = delayed::compute((a.map(f), a.map(g), a.map(adder()), a.map(doubler())));
    assert_eq!(results.unwrap(), (4, 3, 6, 10));
    // The same closure over the same input is the same computation.
    assert_eq!(a.map(adder()).key(), a.map(adder()).key());
    assert_eq!(a.map(f).key(), a.map(f).key());
    assert_ne!(a.map(adder()).key(), a.map(doubler()).key());

    let h = |x: i64| x + 1;
    let k = |x: i64| x + 1; // same tokens, another closure
    assert_eq!(delay!(h(1)).key(), delay!(h(1)).key());
    assert_ne!(delay!(h(1)).key(), delay!(k(1)).key());
    // Closure literals at two places are told apart by their call site.
    let sites = [delay!((|x: i64| x + 1)(1)), delay!((|x: i64| x + 2)(1))];
    assert_ne!(sites[0].key(), sites[1].key());
    assert_eq!(delayed::compute(&sites[..]).unwrap(), [2, 3]);
}

fn generic_literal<T: Default + Into<i64> + Send + Sync + 'static>() -> Delayed<i64> {
    delay!((|x: i64| x
        + T::default().into()
        + std::mem::size_of::<T>() as i64)(0))
}

#[test]
fn a_closure_literal_in_a_generic_function_is_keyed_per_instantiation() {
    let (a, b) = (generic_literal::<u8>(), generic_literal::<u32>());
    assert_ne!(a.key(), b.key());
    assert_eq!(delayed::compute((a, b)).unwrap(), (1, 4));
}

static INNER_RUNS: AtomicUsize = AtomicUsize::new(0);
static OUTER_RUNS: AtomicUsize = AtomicUsize::new(0);

#[delayed]
fn inner(x: i64) -> i64 {
    INNER_RUNS.fetch_add(1, SeqCst);
    x + 1
}

#[delayed]
fn outer(x: i64) -> i64 {
    OUTER_RUNS.fetch_add(1, SeqCst);
    x * 10
}

#[test]
fn a_persisted_twin_stands_for_its_task_and_what_fed_it() {
    let p = outer(inner(5)).persist().unwrap();
    assert_eq!((INNER_RUNS.load(SeqCst), OUTER_RUNS.load(SeqCst)), (1, 1));
    for sched in [Scheduler::sync(), Scheduler::threads(2)] {
        // The persisted value first, the rebuilt twin second, and the other way round.
        assert_eq!((&p + &outer(inner(5))).compute_with(&sched).unwrap(), 120);
        assert_eq!((&outer(inner(5)) + &p).compute_with(&sched).unwrap(), 120);
        assert_eq!(delayed::compute((outer(inner(5)), &p)).unwrap(), (60, 60));
    }
    assert_eq!(
        (INNER_RUNS.load(SeqCst), OUTER_RUNS.load(SeqCst)),
        (1, 1),
        "neither the twin nor its input ran again"
    );
    assert_eq!((&p + &outer(inner(5))).graph_len(), 2);
    // Work beside the twin still runs.
    assert_eq!((&p + &inner(7)).compute().unwrap(), 68);
    assert_eq!(INNER_RUNS.load(SeqCst), 2);
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("keys-test-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

static HALVES: AtomicUsize = AtomicUsize::new(0);

#[delayed(cache)]
fn half(x: i64) -> i64 {
    HALVES.fetch_add(1, SeqCst);
    x / 2
}

fn plain_triple(x: i64) -> i64 {
    x * 3
}

#[test]
fn cache_keys_follow_what_the_macros_can_see() {
    let dir = fresh_dir("scopes");
    let run = |d: &Delayed<i64>| {
        let cache = Cache::open(&dir).unwrap().quiet(true);
        let v = d.compute_with(&Scheduler::sync().with_cache(cache.clone()));
        (v.unwrap(), cache.counters())
    };
    // Downstream of a map closure (keyed by `TypeId`): never read or written.
    let through_map = half(value(40i64).map(|v| v + 2));
    let (v, c) = run(&through_map);
    assert_eq!((v, c.hits, c.writes), (21, 0, 0));
    let (v, c) = run(&through_map);
    assert_eq!((v, c.hits, c.writes), (21, 0, 0));
    // Downstream of a plain fn through `delay!`: stored for this executable.
    let through_plain = half(delay!(plain_triple(10)));
    let (v, c) = run(&through_plain);
    assert_eq!((v, c.hits, c.writes), (15, 0, 1));
    let (v, c) = run(&through_plain);
    assert_eq!((v, c.hits, c.writes), (15, 1, 0));
    // ... under a key that is not its graph key (the executable's fingerprint is in it).
    let stored: Vec<String> = walk(&dir.join("v3"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains(&through_plain.key().to_hex()),
        "{stored:?}"
    );
    // Portable keys are stored as they are.
    let portable = half(value(8i64) + 2);
    let (v, c) = run(&portable);
    assert_eq!((v, c.writes), (5, 1));
    assert!(walk(&dir)
        .iter()
        .any(|p| p.to_string_lossy().contains(&portable.key().to_hex())));
    assert_eq!(HALVES.load(SeqCst), 4);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

static LOADS: AtomicUsize = AtomicUsize::new(0);

#[delayed(cache)]
fn line_count(path: &Path) -> Result<usize, std::io::Error> {
    LOADS.fetch_add(1, SeqCst);
    Ok(std::fs::read_to_string(path)?.lines().count())
}

#[test]
fn a_cached_function_of_a_file_sees_its_new_contents() {
    let dir = fresh_dir("file");
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("input.txt");
    std::fs::write(&input, "a\nb\n").unwrap();
    let cache_dir = dir.join("cache");
    let count = || {
        let cache = Cache::open(&cache_dir).unwrap().quiet(true);
        let sched = Scheduler::new().with_cache(cache.clone());
        let n = line_count(delayed::file(&input))
            .compute_with(&sched)
            .unwrap();
        (n, cache.counters().hits)
    };
    assert_eq!(count(), (2, 0));
    assert_eq!(count(), (2, 1), "unchanged file: from the cache");
    let mut text = std::fs::read_to_string(&input).unwrap();
    text.push_str("c\n");
    std::fs::write(&input, text).unwrap();
    assert_eq!(count(), (3, 0), "a line appended: recomputed");
    assert_eq!(count(), (3, 1));
    assert_eq!(LOADS.load(SeqCst), 2);

    let missing = line_count(delayed::file(dir.join("missing.txt")));
    let err = missing.compute().unwrap_err();
    assert!(matches!(err, Error::Failed { .. }), "{err}");
    assert!(err.to_string().contains("missing.txt"), "{err}");
}

#[delayed]
fn collect(xs: Vec<i64>) -> i64 {
    xs.iter().sum()
}

#[test]
#[cfg(feature = "visualize")]
fn a_user_function_named_collect_is_drawn() {
    let total = collect(vec![value(1i64) + 1, value(2i64) + 1]);
    let dot = total.to_dot();
    assert!(dot.contains("label=\"collect\""), "{dot}");
    assert_eq!(total.compute().unwrap(), 5);
    // The crate's own `collect` (gathering the Vec argument) stays invisible.
    assert_eq!(dot.matches("label=\"collect\"").count(), 1, "{dot}");
}

#[test]
fn error_variants_are_matched_with_rest_patterns() {
    #[delayed]
    fn fail(x: i64) -> Result<i64, std::num::TryFromIntError> {
        u8::try_from(x).map(i64::from)
    }
    let err = fail(1000).compute().unwrap_err();
    let Error::Failed { task, source, .. } = &err else {
        panic!("{err}")
    };
    assert!(task.starts_with("fail-"));
    assert!(source.to_string().contains("out of range"), "{source}");
}

#[test]
fn the_crates_own_collect_stays_out_of_counts_and_messages() {
    #[delayed]
    fn item(i: i64) -> Result<i64, std::num::TryFromIntError> {
        u8::try_from(i).map(i64::from)
    }
    #[delayed]
    fn sum(xs: Vec<i64>) -> i64 {
        xs.iter().sum()
    }
    let total = sum((0..4).map(item).collect::<Vec<_>>());
    let (v, report) = delayed::compute_with_report(&total, &Scheduler::sync()).unwrap();
    assert_eq!(v, 6);
    assert_eq!(report.tasks_run, 5, "four items and the sum: {report}");
    assert!(report.function("collect").is_none(), "{report}");

    let failing = sum(vec![item(1), item(300)]);
    let err = failing.compute().unwrap_err();
    assert_eq!(err.dependents(), [failing.label()], "{err}");
    assert!(!err.to_string().contains("collect"), "{err}");
}

static PAIRS: AtomicUsize = AtomicUsize::new(0);

#[delayed]
fn pair(a: i64, b: i64) -> i64 {
    PAIRS.fetch_add(1, SeqCst);
    a.wrapping_mul(1000).wrapping_add(b)
}

/// Calls keyed by their inputs are deduplicated by structure, among the readers of their
/// first input: one input with many readers (more than the planner lists per input),
/// each call built twice, still runs each distinct call once; the same inputs in
/// another order, or under another function, stay apart.
#[test]
fn calls_over_one_shared_input_run_once_each() {
    let x = value(7i64);
    let ys: Vec<Delayed<i64>> = (0..40).map(|i| value(i as i64)).collect();
    let first: Vec<Delayed<i64>> = ys.iter().map(|y| pair(&x, y)).collect();
    let again: Vec<Delayed<i64>> = ys.iter().map(|y| pair(&x, y)).collect();
    let swapped = pair(&ys[3], &x);
    let other = (&x * &ys[3]).map(|v| v + 1);
    PAIRS.store(0, SeqCst);
    let (a, b, s, o) = delayed::compute((&first, &again, &swapped, &other)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a[3], 7003);
    assert_eq!((s, o), (3007, 22));
    assert_eq!(
        PAIRS.load(SeqCst),
        41,
        "40 distinct pairs and the swapped one"
    );
    for (f, g) in first.iter().zip(&again) {
        assert_eq!(f.key(), g.key());
    }
    assert_ne!(swapped.key(), first[3].key());
    // A chain over the shared input, built twice: one chain.
    let chain = |n: usize| (0..n).fold(x.clone(), |acc, _| pair(&acc, &x));
    PAIRS.store(0, SeqCst);
    let (c1, c2) = delayed::compute((chain(30), chain(30))).unwrap();
    assert_eq!(c1, c2);
    assert_eq!(PAIRS.load(SeqCst), 30);
}
