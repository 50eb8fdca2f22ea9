//! Depth and width at a million nodes, with memory reported: a 1,000,000-node chain and a
//! 1,000,000-leaf fan-in are built, hashed (a call over inputs only is keyed when its
//! `key()` is first asked for, the chain's head here), computed and dropped without
//! recursion. A counting allocator measures the
//! heap of each phase exactly, per node, and checks that dropping the graph frees all of
//! it; the process's peak RSS (`VmHWM`) is printed beside. RELIABILITY.md quotes these.
//!
//! One test, so no other test of this binary runs beside it and distorts the numbers.
//! `#[ignore]`d in debug builds; `.ci/run` runs it in release with `--nocapture`.

mod support;

use delayed::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use support::{proc_status_kib, reset_peak_rss, watchdog};

#[delayed]
fn inc(x: u64) -> u64 {
    x + 1
}

#[delayed]
fn total(xs: &[u64]) -> u64 {
    xs.iter().sum()
}

const N: u64 = 1_000_000;

/// What may stay allocated after a graph is dropped: rayon's work queues keep the capacity
/// they grew to. Nothing per node (a node is over 100 bytes: a leak of 1 in 1,000 would
/// show).
const LEFT_OVER: usize = 128 * 1024;

/// Counts the bytes allocated now and at peak, exactly (RSS only shows what the allocator
/// holds from the system, which it keeps after a free).
struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = NOW.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        NOW.fetch_sub(layout.size(), Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes over a baseline, now and at peak since the last `start`.
struct Meter {
    name: &'static str,
    base: usize,
}

impl Meter {
    fn start(name: &'static str) -> Meter {
        reset_peak_rss();
        let base = NOW.load(Relaxed);
        PEAK.store(base, Relaxed);
        Meter { name, base }
    }

    fn heap_now(&self) -> usize {
        NOW.load(Relaxed).saturating_sub(self.base)
    }

    /// Prints the heap in use now and at peak, per node, and the process's peak RSS.
    fn report(&self, phase: &str) {
        let per_node = |bytes: usize| bytes as f64 / N as f64;
        let peak = PEAK.load(Relaxed).saturating_sub(self.base);
        println!(
            "{:<7} {:<34} heap {:>6.1} MiB ({:>4.0} B/node), peak {:>6.1} MiB ({:>4.0} B/node); process VmHWM {} MiB",
            self.name,
            phase,
            self.heap_now() as f64 / 1048576.0,
            per_node(self.heap_now()),
            peak as f64 / 1048576.0,
            per_node(peak),
            proc_status_kib("VmHWM").map_or("?".into(), |k| (k / 1024).to_string()),
        );
    }
}

#[test]
#[ignore = "a million nodes, memory report: run in release by .ci/run"]
fn million_node_chain_and_fan_in_with_memory() {
    watchdog("million-node chain and fan-in", || {
        let build_chain = || {
            let mut x = inc(0);
            for _ in 1..N {
                x = inc(x);
            }
            x
        };
        for (round, sched) in [Scheduler::new(), Scheduler::sync(), Scheduler::threads(4)]
            .into_iter()
            .enumerate()
        {
            // Start the pool first: its threads and queues are not the graph's.
            assert_eq!(inc(1).compute_with(&sched).unwrap(), 2);
            let m = Meter::start("chain");
            let x = build_chain();
            m.report("built and hashed");
            if round == 0 {
                let again = build_chain();
                assert_eq!(x.key(), again.key(), "a rebuilt chain has the same key");
            }
            assert_eq!(x.compute_with(&sched).unwrap(), N, "{sched:?}");
            m.report(&format!("computed on {sched:?}"));
            drop(x);
            m.report("dropped");
            assert!(
                m.heap_now() < LEFT_OVER,
                "the chain left {} bytes behind",
                m.heap_now()
            );

            let m = Meter::start("fan-in");
            let leaves: Vec<_> = (0..N).map(inc).collect();
            let sum = total(delayed::collect(&leaves));
            drop(leaves);
            m.report("built and hashed");
            assert_eq!(
                sum.compute_with(&sched).unwrap(),
                N * (N + 1) / 2,
                "{sched:?}"
            );
            m.report(&format!("computed on {sched:?}"));
            drop(sum);
            m.report("dropped");
            assert!(
                m.heap_now() < LEFT_OVER,
                "the fan-in left {} bytes behind",
                m.heap_now()
            );
        }
    });
}

/// The same shapes at 100,000 nodes, in every build: no stack overflow in debug either.
#[test]
fn hundred_thousand_node_chain_and_fan_in() {
    let mut x = inc(0);
    for _ in 1..100_000 {
        x = inc(x);
    }
    let leaves: Vec<_> = (0..100_000u64).map(inc).collect();
    let sum = total(&leaves);
    let (a, b) = delayed::compute((&x, &sum)).unwrap();
    assert_eq!((a, b), (100_000, 100_000 * 100_001 / 2));
}
