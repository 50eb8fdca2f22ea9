//! Micro-benchmarks of the runtime's per-node costs, so regressions show up:
//! key hashing (building one node), graph building, planning + scheduling.
//!
//! ```text
//! cargo bench --bench micro                  # all
//! cargo bench --bench micro -- schedule      # a filter
//! ```

use delayed::prelude::*;
use divan::{black_box, Bencher};

fn main() {
    divan::main();
}

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

fn tree(n: i64) -> Delayed<i64> {
    let mut level: Vec<Delayed<i64>> = (0..n).map(inc).collect();
    while level.len() > 1 {
        let mut next: Vec<Delayed<i64>> = level
            .chunks(2)
            .filter(|p| p.len() == 2)
            .map(|p| add(&p[0], &p[1]))
            .collect();
        if level.len() % 2 == 1 {
            next.push(level[level.len() - 1].clone());
        }
        level = next;
    }
    level.swap_remove(0)
}

fn chain(n: usize) -> Delayed<i64> {
    let mut x = inc(0);
    for _ in 1..n {
        x = inc(x);
    }
    x
}

/// One node each: the blake3 key of a call (function identity + inputs) and its allocation.
mod key_hashing {
    use super::*;

    /// A call with one plain argument: hashed by content.
    #[divan::bench]
    fn call_with_value() -> delayed::Key {
        inc(black_box(7)).key()
    }

    /// A call with two node arguments: hashed by their keys.
    #[divan::bench]
    fn call_with_nodes(b: Bencher) {
        let (x, y) = (inc(1), inc(2));
        b.bench_local(|| add(black_box(&x), black_box(&y)).key());
    }

    /// A data node of 4 KB: the streaming (spilled) hasher path.
    #[divan::bench]
    fn value_4k(b: Bencher) {
        let bytes = vec![7u8; 4096];
        b.bench_local(|| value(black_box(bytes.clone())).key());
    }
}

/// Building whole graphs (hashing + allocation), per graph.
mod build {
    use super::*;

    #[divan::bench(args = [1_000, 10_000])]
    fn tree_of(n: i64) -> Delayed<i64> {
        tree(black_box(n))
    }

    #[divan::bench(args = [1_000, 10_000])]
    fn chain_of(n: usize) -> Delayed<i64> {
        chain(black_box(n))
    }
}

/// `compute` of a prebuilt graph: planning (dedup by key), scheduling, running, releasing.
mod schedule {
    use super::*;

    #[divan::bench(args = [1_000, 10_000])]
    fn tree_sync(b: Bencher, n: i64) {
        let graph = tree(n);
        let sched = Scheduler::sync();
        b.bench_local(|| graph.compute_with(&sched));
    }

    #[divan::bench(args = [1_000, 10_000])]
    fn tree_threads(b: Bencher, n: i64) {
        let graph = tree(n);
        let sched = Scheduler::threads(2);
        b.bench_local(|| graph.compute_with(&sched));
    }

    #[divan::bench(args = [1_000, 10_000])]
    fn chain_threads(b: Bencher, n: usize) {
        let graph = chain(n);
        let sched = Scheduler::threads(2);
        b.bench_local(|| graph.compute_with(&sched));
    }

    /// 10 000 calls over 100 distinct keys: the dedup table's hit path.
    #[divan::bench]
    fn dedup_10k(b: Bencher) {
        let calls: Vec<Delayed<i64>> = (0..10_000).map(|i| inc(i % 100)).collect();
        let total = delayed::collect(&calls);
        let sched = Scheduler::sync();
        b.bench_local(|| total.compute_with(&sched));
    }
}
