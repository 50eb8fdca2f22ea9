//! Many threads building and computing overlapping graphs at once, and tasks that
//! themselves call `compute` (nested computes), on the global pool, on a scheduler's own
//! pool shared by all threads, and on `sync`. Results must be right and nothing may
//! deadlock: every test runs under a watchdog that fails it on a hang. Some computes are
//! watched (progress bar, trace, report) on the shared pool, to run that code
//! concurrently too.

mod support;

use delayed::prelude::*;
use std::sync::{Arc, Barrier, LazyLock};
use support::watchdog;

#[delayed]
fn inc(x: u64) -> u64 {
    x + 1
}

#[delayed]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[delayed]
fn sum(xs: &[u64]) -> u64 {
    xs.iter().sum()
}

/// One pool shared by every thread of these tests.
static SHARED_POOL: LazyLock<Scheduler> = LazyLock::new(|| Scheduler::threads(2));

/// The shared pool, watched: a progress bar (when stderr is a terminal) and a trace that
/// every compute replaces.
static WATCHED: LazyLock<Scheduler> =
    LazyLock::new(|| SHARED_POOL.clone().progress(true).trace(watched_trace()));

fn watched_trace() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("delayed-concurrency-{}.json", std::process::id()))
}

fn pick_scheduler(i: usize) -> Scheduler {
    match i % 3 {
        0 => Scheduler::new(),
        1 => SHARED_POOL.clone(),
        _ => Scheduler::sync(),
    }
}

/// A base graph every thread shares: `base[i] = i + 1`, plus chains on top.
fn base() -> Vec<Delayed<u64>> {
    (0..64u64).map(inc).collect()
}

#[test]
fn sixteen_threads_compute_overlapping_graphs() {
    const THREADS: usize = 16;
    const COMPUTES: usize = 100;
    let shared = Arc::new(base());
    let start = Arc::new(Barrier::new(THREADS));
    watchdog("16 threads × 100 computes", || {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let shared = shared.clone();
                let start = start.clone();
                std::thread::spawn(move || {
                    start.wait();
                    for c in 0..COMPUTES {
                        let i = (t * 7 + c) % shared.len();
                        let j = (t + c * 3) % shared.len();
                        // Built here, separately in each thread, over shared nodes; equal
                        // expressions in different threads have equal keys.
                        let mut chain = add(&shared[i], &shared[j]);
                        for _ in 0..(c % 20) {
                            chain = inc(chain);
                        }
                        let window: Vec<_> = shared[i.min(j)..=i.max(j)].to_vec();
                        let total = add(&chain, sum(delayed::collect(&window)));
                        let expected_chain = (i as u64 + 1) + (j as u64 + 1) + (c % 20) as u64;
                        let expected_window: u64 =
                            (i.min(j)..=i.max(j)).map(|x| x as u64 + 1).sum();
                        let sched = pick_scheduler(t + c);
                        let (a, b) = if (t + c) % 4 == 3 {
                            // Watched, with a report: each distinct task once, none saved
                            // (the shared nodes are the same objects, not equal copies).
                            let (ab, report) =
                                delayed::compute_with_report((&chain, &total), &WATCHED)
                                    .unwrap_or_else(|e| panic!("thread {t}, compute {c}: {e}"));
                            let window_tasks = i.max(j) - i.min(j) + 1;
                            // inc per window item, add, c % 20 incs, sum, add (the
                            // crate's own `collect` is not counted as a task).
                            let tasks = window_tasks + 1 + c % 20 + 2;
                            assert_eq!(report.tasks_run, tasks, "thread {t}, compute {c}");
                            assert_eq!(report.deduplicated, 0, "thread {t}, compute {c}");
                            ab
                        } else {
                            delayed::compute_with((&chain, &total), &sched)
                                .unwrap_or_else(|e| panic!("thread {t}, compute {c}: {e}"))
                        };
                        assert_eq!(a, expected_chain, "thread {t}, compute {c}");
                        assert_eq!(
                            b,
                            expected_chain + expected_window,
                            "thread {t}, compute {c}"
                        );
                        // Also compute a node shared with every other thread.
                        assert_eq!(shared[i].compute_with(&sched).unwrap(), i as u64 + 1);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("a computing thread panicked");
        }
    });
    std::fs::remove_file(watched_trace()).expect("the watched computes wrote a trace");
}

/// The same nodes computed from many threads at once: one `Delayed` shared by all.
#[test]
fn one_graph_computed_from_many_threads_at_once() {
    let mut x = value(0u64);
    for i in 0..2_000u64 {
        x = if i % 2 == 0 { inc(x) } else { add(&x, 1) };
    }
    let x = Arc::new(x);
    let start = Arc::new(Barrier::new(8));
    watchdog("8 threads, one graph", || {
        let hs: Vec<_> = (0..8)
            .map(|t| {
                let (x, start) = (x.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    for c in 0..10 {
                        assert_eq!(x.compute_with(&pick_scheduler(t + c)).unwrap(), 2_000);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
}

#[delayed]
fn nested_on_default(n: u64) -> u64 {
    let mut x = inc(0);
    for _ in 1..n {
        x = inc(x);
    }
    x.compute().expect("inner compute on the global pool")
}

#[delayed]
fn nested_on_shared_pool(n: u64) -> u64 {
    // The same two-thread pool the outer compute may be running on.
    let parts: Vec<_> = (0..n).map(inc).collect();
    sum(delayed::collect(&parts))
        .compute_with(&SHARED_POOL)
        .expect("inner compute on the shared pool")
}

#[delayed]
fn nested_on_own_pool(n: u64) -> u64 {
    let inner = Scheduler::threads(2);
    let parts: Vec<_> = (0..n).map(|i| add(i, i)).collect();
    sum(delayed::collect(&parts))
        .compute_with(&inner)
        .expect("inner compute on a pool of its own")
}

#[delayed]
fn nested_twice(n: u64) -> u64 {
    // A task whose inner graph has tasks that compute again.
    let inner: Vec<_> = (1..=3).map(|k| nested_on_default(n * k)).collect();
    sum(delayed::collect(&inner))
        .compute_with(&SHARED_POOL)
        .expect("two levels of nesting")
}

#[test]
fn tasks_that_compute_inside_compute() {
    for sched in [
        Scheduler::new(),
        SHARED_POOL.clone(),
        Scheduler::threads(2),
        Scheduler::threads(1),
        Scheduler::sync(),
    ] {
        watchdog(&format!("nested computes on {sched:?}"), || {
            // More nested tasks than threads, all ready at once, so every worker of the
            // outer pool blocks in an inner compute at the same time.
            let outer: Vec<_> = (1..=12u64)
                .flat_map(|n| {
                    [
                        nested_on_default(n * 10),
                        nested_on_shared_pool(n * 10),
                        nested_on_own_pool(n * 10),
                    ]
                })
                .collect();
            let got = delayed::compute_with(&outer, &sched).unwrap();
            let want: Vec<u64> = (1..=12u64)
                .flat_map(|n| {
                    let n = n * 10;
                    [n, (1..=n).sum(), (0..n).map(|i| 2 * i).sum()]
                })
                .collect();
            assert_eq!(got, want, "{sched:?}");
            assert_eq!(
                nested_twice(5).compute_with(&sched).unwrap(),
                5 + 10 + 15,
                "{sched:?}"
            );
        });
    }
}

#[test]
fn nested_computes_from_many_threads() {
    watchdog("threads × nested computes", || {
        let hs: Vec<_> = (0..8u64)
            .map(|t| {
                std::thread::spawn(move || {
                    for c in 0..5u64 {
                        let n = 10 + t + c;
                        let d = add(nested_on_shared_pool(n), nested_on_default(n));
                        let got = d.compute_with(&pick_scheduler((t + c) as usize)).unwrap();
                        assert_eq!(got, (1..=n).sum::<u64>() + n);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
}

/// A failure inside a nested compute is an ordinary error for the inner compute; the
/// outer task turns it into its own result, and nothing stays blocked.
#[test]
fn failures_inside_nested_computes() {
    support::quiet_expected_panics(&["inner failure"]);
    #[delayed]
    fn explode(x: u64) -> u64 {
        if x > 0 {
            panic!("inner failure {x}");
        }
        x
    }
    #[delayed]
    fn outer(x: u64) -> String {
        match explode(x).compute_with(&SHARED_POOL) {
            Ok(v) => v.to_string(),
            Err(e) => e.to_string(),
        }
    }
    watchdog("nested failures", || {
        for sched in [Scheduler::new(), SHARED_POOL.clone(), Scheduler::sync()] {
            let all: Vec<_> = (0..8u64).map(outer).collect();
            let got = delayed::compute_with(&all, &sched).unwrap();
            assert_eq!(got[0], "0");
            for (x, text) in got.iter().enumerate().skip(1) {
                assert!(text.contains(&format!("inner failure {x}")), "{text}");
            }
        }
    });
}

/// Keys made on demand, from many threads at once: four threads build the same chain
/// (each its own nodes), then all ask the keys of one shared chain's links at once, from
/// the top and from the middle. Every thread sees the same keys, equal to those of the
/// chains built apart, and the combined graph runs each distinct link once.
#[test]
fn keys_on_demand_from_many_threads() {
    watchdog("keys on demand from many threads", || {
        const N: u64 = 20_000;
        let chain = || (0..N).fold(inc(0), |x, _| inc(x));
        let built: Vec<Delayed<u64>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4).map(|_| s.spawn(chain)).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let shared = chain();
        let mut middle = inc(0);
        let mut links = vec![];
        for i in 0..N {
            middle = inc(middle);
            if i == N / 2 {
                links.push(middle.clone());
            }
        }
        let top = add(&shared, &middle);
        let barrier = Barrier::new(4);
        let keys: Vec<_> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|i| {
                    let (top, link, barrier) = (&top, &links[0], &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        if i % 2 == 0 {
                            (top.key(), link.key())
                        } else {
                            let link = link.key();
                            (top.key(), link)
                        }
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
        for b in &built {
            assert_eq!(b.key(), shared.key());
        }
        let all = add(&top, &built[0]);
        let (value, report) = delayed::compute_with_report(&all, &Scheduler::threads(2)).unwrap();
        assert_eq!(value, 3 * (N + 1));
        // One chain of N + 1 links (all four copies and `shared` and `middle` are one),
        // and the two adds.
        assert_eq!(report.tasks_run, N as usize + 1 + 2);
    });
}
