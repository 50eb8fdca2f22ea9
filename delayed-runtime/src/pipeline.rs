//! One compute, start to end: roots → plan → cache rewrite → execute → watch → values.
//!
//! Each step is a function of the one before and none calls back up: the planner
//! (`plan.rs`) dedups the graph below the roots; with a cache, stored results replace
//! their tasks (`cache/rewrite.rs`) and the rewritten graph is planned again; the
//! scheduler's executor (`executor/`, `dask/`) runs the plan, handing each result the
//! cache wants to its write-back as it is computed; the watch (`watch/`) is started before
//! the run and ended after it (the bar, the trace file, the report).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crate::erased::AnyValue;
use crate::error::Error;
use crate::executor::{Ctx, Sink};
use crate::graph::node::Node;
use crate::plan::Plan;
use crate::scheduler::Scheduler;
use crate::watch::Report;

/// What a compute asks of the pipeline beside its roots.
#[derive(Clone, Copy, Default)]
pub(crate) struct Options<'a> {
    /// Make a [`Report`].
    pub(crate) report: bool,
    /// A job's stop flag: set, no task starts any more and the result is
    /// [`Error::Cancelled`].
    pub(crate) stop: Option<&'a AtomicBool>,
}

/// Computes `roots` with `scheduler`: their values in order, and a report if asked.
pub(crate) fn run(
    scheduler: &Scheduler,
    roots: &[&Arc<Node>],
    options: Options<'_>,
) -> Result<(Vec<AnyValue>, Option<Report>), Error> {
    let started = Instant::now();
    crate::panics::install();
    scheduler.watch().check()?;
    let plan = Plan::new(roots);
    match rewrite(scheduler, &plan, roots) {
        None => execute(scheduler, &plan, roots, (started, 0), options),
        Some((rewritten, hits)) => {
            drop(plan);
            let roots: Vec<&Arc<Node>> = rewritten.iter().collect();
            execute(
                scheduler,
                &Plan::new(&roots),
                &roots,
                (started, hits),
                options,
            )
        }
    }
}

/// The roots of the graph with stored results in place of their tasks (and how many
/// stored results it read), or `None` when the cache (if any) changes nothing: then the
/// plan already made is the one that runs.
fn rewrite(
    scheduler: &Scheduler,
    plan: &Plan<'_>,
    roots: &[&Arc<Node>],
) -> Option<(Vec<Arc<Node>>, u64)> {
    #[cfg(feature = "cache")]
    if let Some(cache) = scheduler.disk_cache() {
        return crate::cache::rewrite(plan, roots, cache);
    }
    let _ = (scheduler, plan, roots);
    None
}

/// Runs `plan` on the scheduler's executor, watched, writing cacheable results back.
fn execute(
    scheduler: &Scheduler,
    plan: &Plan<'_>,
    roots: &[&Arc<Node>],
    (started, cache_hits): (Instant, u64),
    options: Options<'_>,
) -> Result<(Vec<AnyValue>, Option<Report>), Error> {
    let executor = scheduler.executor();
    // One report file: the executor's own (a cluster's), or the watch's.
    let report_path = scheduler.watch().performance_report.as_deref();
    let executor_reports = executor.writes_performance_report();
    let session = scheduler.watch().start(
        plan,
        started,
        options.report,
        report_path.filter(|_| !executor_reports),
        (executor.workers(), executor.pooled()),
        &|| format!("{scheduler:?}"),
    );
    #[cfg(feature = "cache")]
    let keep = |node: &Node, value: &AnyValue| {
        if let Some(cache) = scheduler.disk_cache() {
            cache.keep(node, value);
        }
    };
    #[cfg(feature = "cache")]
    let sink = scheduler
        .disk_cache()
        .and_then(|cache| crate::cache::write_back(plan, cache))
        .map(|wanted| Sink {
            wanted,
            take: &keep,
        });
    #[cfg(not(feature = "cache"))]
    let sink: Option<Sink<'_>> = None;
    let ctx = Ctx {
        recorder: session.as_ref().map(|s| s.recorder()),
        stop: options.stop,
        sink,
        strict: scheduler.is_strict(),
        retries: scheduler.retries_of(),
        performance_report: report_path.filter(|_| executor_reports),
    };
    let result = executor.run(plan, &ctx);
    match session {
        None => result.map(|values| (values, None)),
        Some(session) => session.end(plan, roots, result, cache_hits),
    }
}
