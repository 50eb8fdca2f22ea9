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

/// A chain of calls over inputs only is keyed on demand: the first `key()` makes every
/// key below it, with an explicit stack, and they are the keys of a chain whose keys
/// were made link by link while it was built (asking after each link).
fn keyed_on_demand(n: u64) {
    let mut x = inc(0);
    for _ in 1..n {
        x = inc(x);
    }
    let mut y = inc(0);
    let mut keys_as_built = Vec::new();
    for i in 1..n {
        y = inc(y);
        if i % (n / 8) == 0 {
            keys_as_built.push(y.key());
        }
    }
    assert_eq!(x.key(), y.key());
    assert_eq!(x.key(), x.key());
    assert_eq!(keys_as_built.len(), 7);
    assert_ne!(keys_as_built[0], keys_as_built[1]);
}

#[test]
fn keys_on_demand_of_100k() {
    keyed_on_demand(100_000);
}

#[test]
#[ignore = "a million nodes: run in release by .ci/run"]
fn keys_on_demand_of_a_million() {
    keyed_on_demand(1_000_000);
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
