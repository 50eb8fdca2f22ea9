//! What `compute` does: dedup, memoization, keys, scheduling, memory, failures.

use delayed::prelude::*;
use delayed::Error;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::Duration;

#[test]
fn one_compute_runs_each_key_once() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn inc(i: i64) -> i64 {
        RUNS.fetch_add(1, SeqCst);
        i + 1
    }
    let a = inc(1);
    let b = inc(1);
    let c = inc(a.clone());
    let d = &b + &c;
    assert_eq!(a.key(), b.key());
    assert_ne!(a.key(), c.key());
    assert_eq!(d.compute().unwrap(), 5);
    assert_eq!(
        RUNS.load(SeqCst),
        2,
        "inc(1) twice + inc(inc(1)) runs inc twice"
    );

    // One by one: each compute is its own graph (a: 1, b: 1, c: 2 runs).
    RUNS.store(0, SeqCst);
    let each = [
        a.compute().unwrap(),
        b.compute().unwrap(),
        c.compute().unwrap(),
    ];
    assert_eq!(each, [2, 2, 3]);
    assert_eq!(RUNS.load(SeqCst), 4);

    // All at once: shared nodes run once.
    RUNS.store(0, SeqCst);
    assert_eq!(delayed::compute(vec![&a, &b, &c]).unwrap(), vec![2, 2, 3]);
    assert_eq!(RUNS.load(SeqCst), 2);
}

#[test]
fn dedup_works_on_every_scheduler() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn square(i: u64) -> u64 {
        RUNS.fetch_add(1, SeqCst);
        i * i
    }
    let calls: Vec<Delayed<u64>> = (0..1000).map(|i| square(i % 10)).collect();
    for scheduler in [
        Scheduler::sync(),
        Scheduler::threads(1),
        Scheduler::threads(4),
        Scheduler::new(),
    ] {
        RUNS.store(0, SeqCst);
        let sum = delayed::collect(&calls).map(|v| v.iter().sum::<u64>());
        assert_eq!(
            sum.compute_with(&scheduler).unwrap(),
            100 * 285,
            "{scheduler:?}"
        );
        assert_eq!(RUNS.load(SeqCst), 10, "{scheduler:?}");
    }
}

#[test]
fn equal_inputs_equal_keys_different_inputs_different_keys() {
    #[delayed]
    fn f(a: i64, s: String) -> i64 {
        a + s.len() as i64
    }
    #[delayed]
    fn g(a: i64, s: String) -> i64 {
        a + s.len() as i64
    }
    assert_eq!(f(1, "x").key(), f(1, "x").key());
    assert_ne!(f(1, "x").key(), f(2, "x").key());
    assert_ne!(f(1, "x").key(), f(1, "y").key());
    assert_ne!(f(1, "x").key(), g(1, "x").key(), "function identity");
    assert_eq!(value(5i64).key(), value(5i64).key());
    assert_ne!(
        value(5i64).key(),
        value(5i32).key(),
        "type names are part of keys"
    );
    // A Delayed input is keyed by its node, not its value.
    assert_ne!(f(value(1), "x").key(), f(1, "x").key());
    assert_eq!(f(value(1), "x").key(), f(value(1), "x").key());
}

/// Keys must not change between runs, builds or machines: these are checked in. If a
/// change to the key scheme is intended, update them (and say so: caches are invalidated;
/// the cache's format version is bumped with it). Last changes: cache format 2, calls of a
/// static function with at most two arguments keyed with one blake3 compression; cache
/// format 3, calls of the stream (generic functions, operators, `map`, `collect`) whose
/// arguments are all inputs keyed as `keyed_hash(their identity's shape, the inputs'
/// keys)`, on demand (none of the values below changed).
#[test]
fn keys_are_stable_checked_in_values() {
    assert_eq!(
        value(42i64).key().to_hex(),
        "7c0d3e775f7063cbe095a91a44b4e60e93d6167d5af575e68ee5ac84121b56c9"
    );
    assert_eq!(
        value(String::from("12345")).key().to_hex(),
        "cf3455e616cc6bd495594a650c0f84d99ab0098007e5e855f50ff5a66ab207b6"
    );
    assert_eq!(
        (value(1i64) + 2i64).key().to_hex(),
        "23f3cd13d2d9e6edcd4516d181b5666bbd3cd0bf92b52fb86fb0e7cb9b6f818f"
    );
    assert_eq!(
        value(vec![1.5f64, -0.0]).get(1usize).key().to_hex(),
        "095c9eb801ddc7553806e39966f97e82fa50879d493b27a07389d0c5aace3bf3"
    );
    assert_eq!(
        stable_fn(3, "four").key().to_hex(),
        "ec60ebeea1cec4cbfe55248859a8cc6e33426303f6d7a881cf7f34e943f578e3"
    );
}

/// Its key depends on its module path, name and tokens: editing it changes the key.
#[delayed]
fn stable_fn(a: i64, b: &str) -> i64 {
    a + b.len() as i64
}

#[test]
fn impure_functions_and_capturing_closures_get_fresh_keys() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[delayed(pure = false)]
    fn roll(sides: u32) -> u32 {
        RUNS.fetch_add(1, SeqCst);
        sides
    }
    let a = roll(6);
    let b = roll(6);
    assert_ne!(a.key(), b.key());
    assert_eq!(delayed::compute((&a, &b)).unwrap(), (6, 6));
    assert_eq!(RUNS.load(SeqCst), 2);

    let offset = 10i64;
    let captured = move |x: i64| x + offset;
    assert_ne!(delay!(captured(1)).key(), delay!(captured(1)).key());
    let pure = |x: i64| x + 10;
    let k1 = delay!(pure(1)).key();
    let k2 = delay!(pure(1)).key();
    assert_eq!(
        k1, k2,
        "one closure, one input: one key, wherever it is called"
    );
    let other = |x: i64| x + 10;
    assert_ne!(delay!(other(1)).key(), k1, "another closure, another key");
    let keys: Vec<_> = (0..2).map(|_| delay!(pure(1)).key()).collect();
    assert_eq!(
        keys[0], keys[1],
        "the same call site and input: the same key"
    );

    let base = value(2i64);
    assert_ne!(
        base.map(move |x| x + offset).key(),
        base.map(move |x| x + offset).key()
    );
    let same_site: Vec<_> = (0..2).map(|_| base.map(|x| x * 2).key()).collect();
    assert_eq!(same_site[0], same_site[1]);
}

#[test]
fn display_names() {
    #[delayed(name = "load-image")]
    fn load(path: String) -> usize {
        path.len()
    }
    let d = load("a.png".to_string());
    assert_eq!(d.name(), "load-image");
    assert_eq!(
        format!("{d:?}"),
        format!("Delayed(\"load-image-{}\")", &d.key().to_hex()[..8])
    );
    assert_eq!(d.label(), format!("load-image-{}", d.key().short()));
    assert_eq!(d.key().as_bytes().len(), 32);
}

#[derive(Clone, Tokenize)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Clone, Tokenize)]
struct Pair(i32, String);

#[derive(Clone, Tokenize)]
enum Shape {
    Dot,
    Circle(f64),
    Box { w: u8, h: u8 },
}

#[test]
fn derived_tokenize_keys_by_content() {
    let k = |v: Point| value(v).key();
    assert_eq!(k(Point { x: 1, y: 2 }), k(Point { x: 1, y: 2 }));
    assert_ne!(k(Point { x: 1, y: 2 }), k(Point { x: 2, y: 1 }));
    assert_ne!(
        value(Pair(1, "a".into())).key(),
        value(Pair(1, "b".into())).key()
    );
    let s = |v: Shape| value(v).key();
    assert_ne!(s(Shape::Dot), s(Shape::Circle(0.0)));
    assert_ne!(s(Shape::Box { w: 1, h: 2 }), s(Shape::Box { w: 2, h: 1 }));
    assert_eq!(s(Shape::Circle(1.0)), s(Shape::Circle(1.0)));
}

#[test]
fn independent_branches_run_concurrently() {
    // Both tasks wait at a two-party barrier: they can only finish if they run at the
    // same time. (A timeout turns a serial run into a failure instead of a hang.)
    let barrier = Arc::new(Barrier::new(2));
    let arrive = |b: &Arc<Barrier>| {
        let b = b.clone();
        move |x: i64| {
            let (tx, rx) = std::sync::mpsc::channel();
            let waiter = b.clone();
            std::thread::spawn(move || {
                waiter.wait();
                let _ = tx.send(());
            });
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(()) => x,
                Err(_) => -1,
            }
        }
    };
    let left = value(1i64).map({
        let f = arrive(&barrier);
        move |x| f(*x)
    });
    let right = value(2i64).map({
        let f = arrive(&barrier);
        move |x| f(*x)
    });
    let both = delayed::compute_with((&left, &right), &Scheduler::threads(2)).unwrap();
    assert_eq!(both, (1, 2));
}

#[test]
fn panics_become_errors_and_the_next_compute_works() {
    #[delayed]
    fn explode(x: i64) -> i64 {
        if x < 0 {
            panic!("negative input {x}");
        }
        x
    }
    for scheduler in [Scheduler::sync(), Scheduler::new(), Scheduler::threads(3)] {
        let err = (explode(-1) + explode(5))
            .compute_with(&scheduler)
            .unwrap_err();
        match &err {
            Error::Panicked { task, message, .. } => {
                assert!(task.starts_with("explode-"), "{task}");
                assert_eq!(message, "negative input -1");
            }
            other => panic!("expected a panic error, got {other:?}"),
        }
        assert!(err.to_string().contains("negative input -1"));
        assert_eq!(explode(5).compute_with(&scheduler).unwrap(), 5);
    }
}

#[test]
fn errors_from_result_functions() {
    #[derive(Debug)]
    struct Invalid(i64);
    impl std::fmt::Display for Invalid {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{} is not valid", self.0)
        }
    }
    impl std::error::Error for Invalid {}

    static AFTER: AtomicUsize = AtomicUsize::new(0);
    #[delayed]
    fn check(x: i64) -> Result<i64, Invalid> {
        if x == 13 {
            Err(Invalid(x))
        } else {
            Ok(x)
        }
    }
    #[delayed]
    fn after(x: i64) -> i64 {
        AFTER.fetch_add(1, SeqCst);
        x
    }
    let ok: Delayed<i64> = check(1);
    assert_eq!(ok.compute().unwrap(), 1);
    let err = after(check(13))
        .compute_with(&Scheduler::sync())
        .unwrap_err();
    assert_eq!(
        AFTER.load(SeqCst),
        0,
        "a consumer of a failed task never runs"
    );
    let Error::Failed { task, source, .. } = &err else {
        panic!("expected Failed, got {err:?}");
    };
    assert!(task.starts_with("check-"));
    assert_eq!(source.to_string(), "13 is not valid");
    assert!(source.downcast_ref::<Invalid>().is_some());
    assert_eq!(
        std::error::Error::source(&err)
            .map(|s| s.to_string())
            .as_deref(),
        Some("13 is not valid")
    );
    assert!(err.to_string().contains("13 is not valid") && err.to_string().contains("check-"));
}

/// Counts live instances and clones, to see when results are moved and dropped.
struct Tracked {
    id: u32,
}
static LIVE: AtomicUsize = AtomicUsize::new(0);
static CLONES: AtomicUsize = AtomicUsize::new(0);
impl Tracked {
    fn new(id: u32) -> Tracked {
        LIVE.fetch_add(1, SeqCst);
        Tracked { id }
    }
}
impl Clone for Tracked {
    fn clone(&self) -> Self {
        CLONES.fetch_add(1, SeqCst);
        Tracked::new(self.id)
    }
}
impl Drop for Tracked {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, SeqCst);
    }
}

#[test]
fn results_are_moved_into_their_last_consumer_and_released() {
    #[delayed]
    fn make(id: u32) -> Tracked {
        Tracked::new(id)
    }
    #[delayed]
    fn consume(t: Tracked) -> u32 {
        t.id
    }
    #[delayed]
    fn peek(t: &Tracked) -> u32 {
        t.id
    }
    #[delayed]
    fn live_now(x: u32) -> usize {
        let _ = x;
        LIVE.load(SeqCst)
    }

    CLONES.store(0, SeqCst);
    // One consumer by value: moved, never cloned; gone before the next task runs.
    let made = make(7);
    let n = live_now(consume(made.clone()));
    assert_eq!(n.compute_with(&Scheduler::sync()).unwrap(), 0);
    assert_eq!(CLONES.load(SeqCst), 0);

    // A borrower and a by-value consumer: at most one clone; the borrower clones nothing.
    let both = peek(&made) + consume(&made);
    assert_eq!(both.compute_with(&Scheduler::sync()).unwrap(), 14);
    assert!(CLONES.load(SeqCst) <= 1);
    CLONES.store(0, SeqCst);
    assert_eq!(peek(&made).compute().unwrap(), 7);
    assert_eq!(CLONES.load(SeqCst), 0, "borrowing never clones");
    assert_eq!(LIVE.load(SeqCst), 0, "no result outlives its compute");
}
