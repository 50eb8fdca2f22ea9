//! Nothing recurses on the depth of the graph: building, hashing, scheduling, reporting
//! and dropping a long chain must not overflow the stack. The million-node cases are
//! `#[ignore]`d in debug builds and run by `.ci/run` with `cargo test --release --
//! --ignored`.

use delayed::prelude::*;

#[delayed]
fn inc(x: u64) -> u64 {
    x + 1
}

fn chain(n: u64, scheduler: &Scheduler) {
    let mut x = inc(0);
    for _ in 1..n {
        x = inc(x);
    }
    assert_eq!(x.compute_with(scheduler).unwrap(), n);
    // Operators and map chain too.
    let mut y = value(0u64);
    for _ in 0..n / 4 {
        y = (y + 1u64).map(|v| v + 1);
    }
    assert_eq!(y.compute_with(scheduler).unwrap(), n / 2);
    drop(x);
    drop(y);
}

fn fan_in(n: u64, scheduler: &Scheduler) {
    let leaves: Vec<Delayed<u64>> = (0..n).map(inc).collect();
    let total = delayed::collect(&leaves).map(|v| v.iter().sum::<u64>());
    assert_eq!(total.compute_with(scheduler).unwrap(), n * (n + 1) / 2);
}

/// The report's own walk (counting the reachable tasks) does not recurse either; drawing
/// a million-node chain is tested in `visualize.rs`.
fn reported_chain(n: u64) {
    let mut x = inc(0);
    for _ in 1..n {
        x = inc(x);
    }
    let (v, report) = delayed::compute_with_report(&x, &Scheduler::new()).unwrap();
    assert_eq!(
        (v, report.tasks_run, report.deduplicated),
        (n, n as usize, 0)
    );
}

#[test]
fn chain_of_100k() {
    chain(100_000, &Scheduler::new());
    chain(100_000, &Scheduler::sync());
}

#[test]
fn fan_in_of_100k() {
    fan_in(100_000, &Scheduler::new());
}

#[test]
fn report_of_100k() {
    reported_chain(100_000);
}

#[test]
#[ignore = "a million nodes: run in release by .ci/run"]
fn chain_of_a_million() {
    chain(1_000_000, &Scheduler::new());
    chain(1_000_000, &Scheduler::sync());
    chain(1_000_000, &Scheduler::threads(4));
}

#[test]
#[ignore = "a million nodes: run in release by .ci/run"]
fn fan_in_of_a_million() {
    fan_in(1_000_000, &Scheduler::new());
}

#[test]
#[ignore = "a million nodes: run in release by .ci/run"]
fn report_of_a_million() {
    reported_chain(1_000_000);
}
