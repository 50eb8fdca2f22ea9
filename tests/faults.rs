//! Failures in awkward places: panics whose payload is not a string, panics in the `Drop`
//! of a result (consumed, left over after another task failed, or released while a task
//! is unwinding), and errors under load. Each compute runs under a watchdog: an error is
//! fine, a hang or an escaped panic is not.
//!
//! The random-graph version of these checks (random `Err`s and panics anywhere in graphs of
//! up to 2,000 nodes) is in `random_graphs.rs`.

mod support;

use delayed::prelude::*;
use delayed::Error;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use support::watchdog;

/// The tests share the counters below: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    support::quiet_expected_panics(&["bomb", "expected"]);
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn schedulers() -> [Scheduler; 4] {
    [
        Scheduler::sync(),
        Scheduler::threads(1),
        Scheduler::threads(4),
        Scheduler::new(),
    ]
}

/// Live `Bomb`s, and how many of them panicked in `drop`.
static BOMBS: AtomicUsize = AtomicUsize::new(0);
static EXPLODED: AtomicUsize = AtomicUsize::new(0);

/// A result whose `Drop` panics.
struct Bomb(u32);

impl Bomb {
    fn new(id: u32) -> Bomb {
        BOMBS.fetch_add(1, SeqCst);
        Bomb(id)
    }
}

impl Clone for Bomb {
    fn clone(&self) -> Bomb {
        Bomb::new(self.0)
    }
}

impl Drop for Bomb {
    fn drop(&mut self) {
        BOMBS.fetch_sub(1, SeqCst);
        EXPLODED.fetch_add(1, SeqCst);
        panic!("bomb {} went off in drop", self.0);
    }
}

#[delayed]
fn make_bomb(id: u32) -> Bomb {
    Bomb::new(id)
}

#[delayed]
fn defuse(b: Bomb) -> u32 {
    b.0
}

#[delayed]
fn inspect(b: &Bomb) -> u32 {
    b.0
}

#[derive(Debug)]
struct Expected;

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("expected failure")
    }
}

impl std::error::Error for Expected {}

#[delayed]
fn fails(x: u32) -> Result<u32, Expected> {
    let _ = x;
    Err(Expected)
}

#[delayed]
fn both(b: Bomb, x: u32) -> u32 {
    b.0 + x
}

fn reset() {
    BOMBS.store(0, SeqCst);
    EXPLODED.store(0, SeqCst);
}

#[test]
fn non_string_panic_payloads_are_reported() {
    let _serial = serial();
    #[delayed]
    fn odd_panic(kind: u8) -> u8 {
        match kind {
            0 => std::panic::panic_any(42u32),
            1 => std::panic::panic_any(vec![1u8, 2, 3]),
            _ => std::panic::panic_any(String::from("expected: a String payload")),
        }
    }
    for sched in schedulers() {
        for kind in 0..3u8 {
            let d = odd_panic(kind);
            let err = watchdog("odd payload", || d.compute_with(&sched)).unwrap_err();
            let Error::Panicked { task, message, .. } = &err else {
                panic!("{sched:?}: expected Panicked, got {err:?}");
            };
            assert_eq!(task, &d.label());
            if kind == 2 {
                assert_eq!(message, "expected: a String payload");
            } else {
                assert_eq!(message, "(the panic payload is not a string)");
            }
        }
    }
}

/// A panic payload whose own `Drop` panics: dropping the payload must not take the
/// scheduler (or the caller) down.
#[test]
fn a_panic_payload_that_panics_when_dropped() {
    let _serial = serial();
    struct Nasty;
    impl Drop for Nasty {
        fn drop(&mut self) {
            panic!("bomb: the payload's drop");
        }
    }
    #[delayed]
    fn throw_nasty(x: u8) -> u8 {
        let _ = x;
        std::panic::panic_any(Nasty)
    }
    for sched in schedulers() {
        let d = throw_nasty(1);
        let err = watchdog("nasty payload", || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.compute_with(&sched)))
        })
        .expect("compute must not panic");
        assert!(
            matches!(&err, Err(Error::Panicked { task, .. }) if *task == d.label()),
            "{sched:?}: {err:?}"
        );
        assert_eq!(throw_nasty(1).key(), d.key());
    }
}

/// A consumer takes the bomb by value and returns normally: the panic happens in its own
/// frame, and is that task's panic.
#[test]
fn a_result_that_panics_when_its_consumer_drops_it() {
    let _serial = serial();
    for sched in schedulers() {
        reset();
        let d = defuse(make_bomb(1));
        let err = watchdog("consumed bomb", || d.compute_with(&sched)).unwrap_err();
        match &err {
            Error::Panicked { task, message, .. } => {
                assert_eq!(task, &d.label(), "{sched:?}");
                assert_eq!(message, "bomb 1 went off in drop");
            }
            other => panic!("{sched:?}: {other:?}"),
        }
        assert_eq!(BOMBS.load(SeqCst), 0, "{sched:?}: the bomb was dropped");

        // A borrowing consumer is the last reader: the result is dropped after it ran.
        let d = inspect(make_bomb(2));
        let err = watchdog("borrowed bomb", || d.compute_with(&sched)).unwrap_err();
        assert!(
            matches!(&err, Error::Panicked { message, .. } if message == "bomb 2 went off in drop"),
            "{sched:?}: {err:?}"
        );
        assert_eq!(BOMBS.load(SeqCst), 0, "{sched:?}");
    }
}

/// The bomb is computed, then another input of its consumer fails: the consumer never
/// runs, and the bomb is dropped by the scheduler when the compute ends. That panic must
/// not escape `compute`; the error is the failing task's.
#[test]
fn a_result_left_over_after_a_failure_is_dropped_quietly() {
    let _serial = serial();
    for sched in schedulers() {
        reset();
        let bomb = make_bomb(3);
        let failing = fails(0);
        let d = both(&bomb, &failing);
        let result = watchdog("left-over bomb", || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.compute_with(&sched)))
        });
        let err = result
            .unwrap_or_else(|_| panic!("{sched:?}: a panic escaped compute"))
            .unwrap_err();
        assert!(
            matches!(&err, Error::Failed { task, .. } if *task == failing.label()),
            "{sched:?}: {err:?}"
        );
        assert_eq!(
            BOMBS.load(SeqCst),
            0,
            "{sched:?}: the left-over bomb was dropped"
        );
        // And the next compute works.
        assert_eq!(value(5u32).compute_with(&sched).unwrap(), 5);
    }
}

/// A task panics while reading its first input (its `Clone` panics), before it read the
/// bomb: the unread bomb is released by the scheduler. Were it dropped while the task is
/// still unwinding, its panic would be a panic during a panic, which aborts the process.
#[test]
fn a_result_released_by_a_panicking_task_is_dropped_after_unwinding() {
    let _serial = serial();
    #[derive(Tokenize)]
    struct BadClone(u32);
    impl Clone for BadClone {
        fn clone(&self) -> BadClone {
            panic!("expected: clone of {} fails", self.0)
        }
    }
    #[delayed]
    fn reads_both(a: BadClone, b: Bomb) -> u32 {
        a.0 + b.0
    }
    for sched in schedulers() {
        reset();
        // A plain argument stays in the graph, so taking it by value clones it.
        let d = reads_both(BadClone(1), make_bomb(4));
        let result = watchdog("released bomb", || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| d.compute_with(&sched)))
        });
        let err = result
            .unwrap_or_else(|_| panic!("{sched:?}: a panic escaped compute"))
            .unwrap_err();
        match &err {
            Error::Panicked { task, message, .. } => {
                assert_eq!(task, &d.label());
                assert_eq!(
                    message, "expected: clone of 1 fails",
                    "the first panic is kept"
                );
            }
            other => panic!("{sched:?}: {other:?}"),
        }
        assert_eq!(BOMBS.load(SeqCst), 0, "{sched:?}");
        assert_eq!(EXPLODED.load(SeqCst), 1, "{sched:?}");
    }
}

/// Many independent failures at once, on every scheduler: one error comes back, every
/// result is released, nothing hangs, and the failures do not poison the next compute.
#[test]
fn many_failures_at_once_leave_nothing_behind() {
    let _serial = serial();
    static LIVE: AtomicUsize = AtomicUsize::new(0);
    struct Counted(u64);
    impl Counted {
        fn new(v: u64) -> Counted {
            LIVE.fetch_add(1, SeqCst);
            Counted(v)
        }
    }
    impl Clone for Counted {
        fn clone(&self) -> Counted {
            Counted::new(self.0)
        }
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            LIVE.fetch_sub(1, SeqCst);
        }
    }
    #[delayed]
    fn leaf(i: u64) -> Counted {
        Counted::new(i)
    }
    #[delayed]
    fn step(c: Counted, fail_at: u64) -> Result<Counted, Expected> {
        if c.0 == fail_at {
            Err(Expected)
        } else {
            Ok(Counted::new(c.0 + 1000))
        }
    }
    #[delayed]
    fn gather(cs: Vec<Counted>) -> u64 {
        cs.iter().map(|c| c.0).sum()
    }
    for sched in schedulers() {
        for fail_every in [1u64, 7, 50, 1000] {
            let leaves: Vec<_> = (0..500).map(leaf).collect();
            let steps: Vec<_> = leaves
                .iter()
                .zip(0u64..)
                .map(|(l, i)| step(l, if i % fail_every == 0 { i } else { u64::MAX }))
                .collect();
            let total = gather(steps);
            let got = watchdog("many failures", || total.compute_with(&sched));
            assert!(
                matches!(&got, Err(Error::Failed { task, .. }) if task.starts_with("step-")),
                "{sched:?}, every {fail_every}: {got:?}"
            );
            assert_eq!(LIVE.load(SeqCst), 0, "{sched:?}: results leaked");
            drop((leaves, total));
        }
        // The same shape without failures.
        let leaves: Vec<_> = (0..500).map(leaf).collect();
        let steps: Vec<_> = leaves.iter().map(|l| step(l, u64::MAX)).collect();
        let want: u64 = (0..500u64).map(|i| i + 1000).sum();
        assert_eq!(gather(steps).compute_with(&sched).unwrap(), want);
        assert_eq!(LIVE.load(SeqCst), 0);
    }
}

// ## What a caught panic prints: nothing, unless asked

#[delayed]
fn explode(x: u32) -> u32 {
    assert!(x == 0, "kaboom {x}");
    x
}

/// Run as a child process (this test binary, one test, its output not captured), so that
/// what reaches stderr can be checked.
fn child(mode: &str, backtrace: bool) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut command = std::process::Command::new(exe);
    command
        .args(["--exact", "caught_task_panics_print_nothing", "--nocapture"])
        .env("DELAYED_PANIC_CHILD", mode)
        .env("RUST_BACKTRACE", "1")
        .env_remove("DELAYED_BACKTRACE");
    if backtrace {
        command.env("DELAYED_BACKTRACE", "1");
    }
    command.output().unwrap()
}

#[test]
fn caught_task_panics_print_nothing() {
    match std::env::var("DELAYED_PANIC_CHILD").as_deref() {
        Ok("task" | "verbose") => {
            for sched in schedulers() {
                let err = explode(3).compute_with(&sched).unwrap_err();
                let Error::Panicked {
                    message, location, ..
                } = &err
                else {
                    panic!("{err}");
                };
                assert_eq!(message, "kaboom 3");
                let location = location.as_deref().unwrap();
                assert!(location.starts_with("tests/faults.rs:"), "{location}");
                assert!(err.to_string().contains(" panicked at tests/faults.rs:"));
            }
            println!("child done");
            return;
        }
        Ok("outside") => {
            assert_eq!(explode(0).compute().unwrap(), 0); // the hook is installed
            let outside = std::thread::spawn(|| panic!("not in a task")).join();
            assert!(outside.is_err());
            println!("child done");
            return;
        }
        _ => {}
    }
    let quiet = child("task", false);
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(quiet.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&quiet.stdout).contains("child done"));
    assert!(
        !stderr.contains("panicked") && !stderr.contains("kaboom"),
        "{stderr}"
    );

    // DELAYED_BACKTRACE=1: each one on stderr, with a backtrace.
    let verbose = child("verbose", true);
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    assert!(verbose.status.success(), "{stderr}");
    assert!(
        stderr.contains("a task panicked")
            && stderr.contains("kaboom 3")
            && stderr.contains("stack backtrace:"),
        "{stderr}"
    );

    // Other panics still go to the hook that was there before (the default one).
    let outside = child("outside", false);
    let stderr = String::from_utf8_lossy(&outside.stderr);
    assert!(outside.status.success(), "{stderr}");
    assert!(stderr.contains("not in a task"), "{stderr}");
}
