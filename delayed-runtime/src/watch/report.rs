//! [`Report`]: what a compute did, from the same events as the trace.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::Event;
use crate::graph::node::{Body, Node};
use crate::graph::walk::ByAddress;
use crate::graph::walk::{walk, Visit};
use crate::plan::Plan;

/// What one compute did: returned by [`compute_with_report`](crate::compute_with_report).
///
/// Its `Display` is a short summary with one line per function, longest total first.
///
/// ```
/// use delayed::{compute_with_report, value, Scheduler};
/// let a = value(2i64) + 1;
/// let (x, report) = compute_with_report((&a * 10) + (&a * 10), &Scheduler::sync())?;
/// assert_eq!(x, 60);
/// // `a`, one `a * 10` (built twice, one key) and the sum.
/// assert_eq!((report.tasks_run, report.deduplicated), (3, 1));
/// println!("{report}");
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// Tasks (function calls) that ran. Data nodes (`value(x)`, persisted or cached
    /// results) are not tasks.
    pub tasks_run: usize,
    /// Calls saved by deduplication: task nodes reachable from the roots (distinct
    /// objects) minus distinct task keys. Two `inc(1)` built separately count one.
    pub deduplicated: usize,
    /// Calls and total time per function name, longest total first.
    pub functions: Vec<FunctionStats>,
    /// The whole compute, planning (and reading the cache) included.
    pub wall: Duration,
    /// The most task results held at once, waiting for consumers or for the caller.
    pub peak_live_results: usize,
    /// Threads that could run tasks (1 for [`Scheduler::sync`](crate::Scheduler::sync)).
    pub workers: usize,
    /// Of the tasks run, those that ran on a cluster's workers (`Scheduler::dask`).
    pub tasks_on_cluster: usize,
    /// Of the tasks run, those that ran in this process (all of them, locally).
    pub tasks_in_driver: usize,
    /// Bytes sent to the cluster: partitions (code offsets, small values) and the
    /// driver's values the cluster reads, each large value once.
    pub bytes_to_cluster: u64,
    /// Bytes of results gathered from the cluster (each once).
    pub bytes_from_cluster: u64,
    /// Results read from the on-disk cache instead of computed
    /// ([`Scheduler::cache`](crate::Scheduler::cache)).
    pub cache_hits: u64,
}

/// One function's share of a [`Report`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FunctionStats {
    /// The function's display name (`inc`, `map`, `add`, …).
    pub name: String,
    /// How many of its calls ran.
    pub calls: usize,
    /// Their summed run time (on all threads, so it can exceed the wall time; on a
    /// cluster, as its workers measured it).
    pub total: Duration,
}

impl Report {
    /// The entry of the function named `name`, if any of its calls ran.
    pub fn function(&self, name: &str) -> Option<&FunctionStats> {
        self.functions.iter().find(|f| f.name == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} in {:.2?} on {} ({} saved, at most {} held at once)",
            Count(self.tasks_run, "task"),
            self.wall,
            Count(self.workers, "worker"),
            Count(self.deduplicated, "duplicate call"),
            Count(self.peak_live_results, "result"),
        )?;
        let width = self
            .functions
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0);
        for s in &self.functions {
            let calls = if s.calls == 1 { "call " } else { "calls" };
            writeln!(
                f,
                "  {:<width$}  {:>8} {calls}  {:>10.2?}",
                s.name, s.calls, s.total
            )?;
        }
        Ok(())
    }
}

/// `1 task`, `2 tasks`: a count and its noun, plural unless the count is 1.
struct Count(usize, &'static str);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.0 == 1 { "" } else { "s" };
        write!(f, "{} {}{s}", self.0, self.1)
    }
}

/// What a cluster told of a compute: bytes sent and received, and its functions' time on
/// the workers by name (ns).
pub(super) struct FromCluster {
    pub(super) crossed: [u64; 2],
    pub(super) worker_time: HashMap<String, u64>,
}

pub(super) fn make(
    plan: &Plan<'_>,
    roots: &[&Arc<Node>],
    events: &[Event],
    (wall, peak_live_results, workers): (Duration, usize, usize),
    cluster: FromCluster,
    cache_hits: u64,
) -> Report {
    let [bytes_to_cluster, bytes_from_cluster] = cluster.crossed;
    let mut by_name: HashMap<&str, (usize, u64)> = HashMap::new();
    for e in events {
        let entry = by_name.entry(plan.task(e.task).name()).or_default();
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(e.dur_ns);
    }
    // A cluster's tasks are counted by their events (without durations), timed here.
    for (name, &ns) in &cluster.worker_time {
        if let Some(entry) = by_name.get_mut(name.as_str()) {
            entry.1 = entry.1.saturating_add(ns);
        }
    }
    let mut functions: Vec<FunctionStats> = by_name
        .into_iter()
        .map(|(name, (calls, ns))| FunctionStats {
            name: name.to_owned(),
            calls,
            total: Duration::from_nanos(ns),
        })
        .collect();
    functions.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.name.cmp(&b.name)));
    let tasks_on_cluster = events.iter().filter(|e| e.cluster).count();
    Report {
        tasks_on_cluster,
        tasks_in_driver: events.len() - tasks_on_cluster,
        bytes_to_cluster,
        bytes_from_cluster,
        cache_hits,
        tasks_run: events.len(),
        deduplicated: reachable_tasks(roots).saturating_sub(super::count_tasks(plan)),
        functions,
        wall,
        peak_live_results,
        workers,
    }
}

/// Task nodes reachable from `roots`, each object once.
fn reachable_tasks(roots: &[&Arc<Node>]) -> usize {
    /// The allocations entered, and how many of them are tasks.
    struct Tasks {
        seen: HashSet<*const Node, ByAddress>,
        tasks: usize,
    }
    impl<'g> Visit<'g> for Tasks {
        fn enter(&mut self, node: &'g Node) -> bool {
            if !self.seen.insert(node) {
                return false;
            }
            if matches!(node.body(), Body::Task(_)) && !node.is_collect() {
                self.tasks += 1;
            }
            true
        }
    }
    let mut count = Tasks {
        seen: HashSet::default(),
        tasks: 0,
    };
    walk(roots, &mut count);
    count.tasks
}
