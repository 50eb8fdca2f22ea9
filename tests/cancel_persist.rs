//! The first failure cancels the rest, and its error names the tasks that needed it;
//! `persist` computes values once and later graphs use them without computing again.
//! Counters kept by the tasks prove what ran; the order is made deterministic with
//! `Scheduler::sync()` / `Scheduler::threads(1)` (one thread, plan order) or with
//! dependencies (a consumer cannot start before its input).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use delayed::prelude::*;
use delayed::{Error, NodeKind};

/// Each test counts its own tasks: run them one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug)]
struct Stop(u32);
impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cancel: stop at {}", self.0)
    }
}
impl std::error::Error for Stop {}

static STARTED: AtomicUsize = AtomicUsize::new(0);

#[delayed]
fn step(i: u32, fail_at: u32) -> Result<u32, Stop> {
    STARTED.fetch_add(1, SeqCst);
    if i == fail_at {
        Err(Stop(i))
    } else {
        Ok(i)
    }
}

#[test]
fn no_task_starts_after_the_first_failure() {
    let _serial = serial();
    // Twenty independent tasks; the sixth fails. On one thread they run in plan order
    // (the order of the roots), so exactly six start.
    let tasks: Vec<Delayed<u32>> = (0..20).map(|i| step(i, 5)).collect();
    for sched in [Scheduler::sync(), Scheduler::threads(1)] {
        STARTED.store(0, SeqCst);
        let err =
            support::watchdog("cancel", || delayed::compute_with(&tasks, &sched)).unwrap_err();
        assert_eq!(
            STARTED.load(SeqCst),
            6,
            "{sched:?}: tasks 6..20 never started"
        );
        assert_eq!(err.task(), Some(tasks[5].label().as_str()));
        assert!(err.dependents().is_empty(), "a root: nothing waits for it");
        assert!(
            matches!(&err, Error::Failed { source, .. } if source.to_string() == "cancel: stop at 5")
        );
    }
}

static AFTER: AtomicUsize = AtomicUsize::new(0);

#[delayed]
fn after(x: u32) -> u32 {
    AFTER.fetch_add(1, SeqCst);
    x + 1
}

#[delayed]
fn join(a: u32, b: u32) -> u32 {
    AFTER.fetch_add(1, SeqCst);
    a + b
}

#[test]
fn the_error_names_the_tasks_that_needed_the_failed_one() {
    let _serial = serial();
    let bad = step(7, 7);
    let user1 = after(&bad);
    let user2 = join(&bad, 1);
    let top = join(&user1, after(&user2));
    for sched in [
        Scheduler::sync(),
        Scheduler::threads(1),
        Scheduler::threads(2),
        Scheduler::new(),
    ] {
        AFTER.store(0, SeqCst);
        let err = support::watchdog("dependents", || top.compute_with(&sched)).unwrap_err();
        assert_eq!(AFTER.load(SeqCst), 0, "{sched:?}: no consumer ran");
        assert_eq!(err.task(), Some(bad.label().as_str()));
        // Direct consumers first, then theirs: user1, user2; after(user2), top.
        let after_user2 = after(&user2).label();
        assert_eq!(
            err.dependents(),
            [user1.label(), user2.label(), after_user2, top.label()],
            "{sched:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("stop at 7") && text.contains(&format!("(needed by `{}`", user1.label())),
            "{text}"
        );
    }
}

#[test]
fn at_most_a_few_dependents_are_named() {
    let _serial = serial();
    let bad = step(9, 9);
    let users: Vec<Delayed<u32>> = (0..50).map(|i| join(&bad, i)).collect();
    let err = delayed::compute_with(&users, &Scheduler::sync()).unwrap_err();
    assert_eq!(err.dependents().len(), Error::MAX_DEPENDENTS);
    let names: Vec<String> = users[..Error::MAX_DEPENDENTS]
        .iter()
        .map(|u| u.label())
        .collect();
    assert_eq!(err.dependents(), names);
    // The others are counted, and the message says the list was cut.
    assert_eq!(err.more_dependents(), 50 - Error::MAX_DEPENDENTS);
    let text = err.to_string();
    assert!(text.ends_with(", … and 45 more)"), "{text}");
}

static EXPENSIVE: AtomicUsize = AtomicUsize::new(0);

#[delayed]
fn expensive(x: u64) -> u64 {
    EXPENSIVE.fetch_add(1, SeqCst);
    x * x
}

#[delayed]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[test]
fn persisted_values_are_not_computed_again() {
    let _serial = serial();
    EXPENSIVE.store(0, SeqCst);
    let a = expensive(3);
    let b = expensive(4);
    let c = add(&a, &b);
    let (pa, [pb, pc], rest) =
        delayed::persist((&a, [&b, &c], vec![expensive(5), expensive(3)])).unwrap();
    assert_eq!(EXPENSIVE.load(SeqCst), 3, "3, 4 and 5, each once");
    assert_eq!((pa.key(), pb.key(), pc.key()), (a.key(), b.key(), c.key()));
    assert_eq!(rest[1].key(), a.key());
    for p in [&pa, &pb, &pc, &rest[0]] {
        assert_eq!(p.kind(), NodeKind::Data);
    }
    assert_eq!(pc.name(), "add");

    // Later graphs over the persisted values, on every scheduler: nothing recomputed.
    for sched in [Scheduler::sync(), Scheduler::threads(2), Scheduler::new()] {
        let later = add(add(&pa, &pc), expensive(&rest[0]));
        assert_eq!(later.compute_with(&sched).unwrap(), 9 + 25 + 625);
        let (x, ys) = delayed::compute_with((&pb, vec![&pa, &rest[1]]), &sched).unwrap();
        assert_eq!((x, ys), (16, vec![9, 9]));
    }
    assert_eq!(
        EXPENSIVE.load(SeqCst),
        3 + 3,
        "only expensive(25), once per scheduler"
    );

    // One value, on a chosen scheduler; and the method.
    let one = delayed::persist_with(expensive(6), &Scheduler::sync()).unwrap();
    let two = expensive(7).persist().unwrap();
    assert_eq!(EXPENSIVE.load(SeqCst), 8);
    assert_eq!(add(&one, &two).compute().unwrap(), 36 + 49);
    assert_eq!(EXPENSIVE.load(SeqCst), 8);
    let (report_value, report) =
        delayed::compute_with_report(add(&one, &two), &Scheduler::sync()).unwrap();
    assert_eq!((report_value, report.tasks_run), (85, 1), "only the add");
}

/// A persisted result and the same call built again (keyed on demand, dedup'd by
/// structure) are one computation: the persisted value stands for both.
#[test]
fn a_persisted_value_stands_for_the_same_call_built_again() {
    let _serial = serial();
    EXPENSIVE.store(0, SeqCst);
    let (a, b) = (expensive(2), expensive(5));
    let sum = add(&a, &b).persist().unwrap();
    assert_eq!(EXPENSIVE.load(SeqCst), 2);
    let again = add(expensive(2), expensive(5));
    let (x, y, n) = delayed::compute((&sum, &again, add(&again, &sum))).unwrap();
    assert_eq!((x, y, n), (29, 29, 58));
    assert_eq!(
        EXPENSIVE.load(SeqCst),
        2,
        "nothing below the persisted value ran"
    );
    let (_, report) = delayed::compute_with_report(add(&again, &sum), &Scheduler::sync()).unwrap();
    assert_eq!(report.tasks_run, 1, "only the outer add");
}

#[test]
fn persist_reports_failures() {
    let _serial = serial();
    let err = delayed::persist((step(1, 0), step(2, 2))).unwrap_err();
    assert!(err.to_string().contains("stop at 2"), "{err}");
}
