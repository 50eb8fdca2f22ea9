//! Executors: what runs a plan's tasks, behind one interface.
//!
//! The pipeline (`pipeline.rs`) hands an executor a [`Plan`] and a [`Ctx`] (the watch
//! hooks, the stop flag of a job, the results the cache keeps) and gets back the roots'
//! values in order, or the first error. An executor reads the plan and calls the hooks;
//! it never plans, rewrites or reports on its own. The local executors (rayon's global
//! pool, a pool of its own, the calling thread) are in `local.rs` over the run of
//! `run.rs`; the dask.distributed executor is in `crate::dask`. A new executor is a new
//! module implementing [`Executor`] and one constructor of
//! [`Scheduler`](crate::Scheduler).

pub(crate) mod local;
pub(crate) mod run;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::erased::AnyValue;
use crate::error::Error;
use crate::graph::node::Node;
use crate::plan::Plan;
use crate::watch::Recorder;

/// Runs plans.
pub(crate) trait Executor: Send + Sync {
    /// Runs every task of `plan` once, each after its inputs; the roots' values in the
    /// order of `plan.roots()`, or the first error (with the tasks that needed it).
    fn run(&self, plan: &Plan<'_>, ctx: &Ctx<'_>) -> Result<Vec<AnyValue>, Error>;

    /// How many tasks can run at once.
    fn workers(&self) -> usize;

    /// Whether tasks run on threads of a pool (a trace track each) rather than on the
    /// calling thread only.
    fn pooled(&self) -> bool {
        true
    }

    /// How it was made, as the user wrote it (`Scheduler::threads(4)`).
    fn describe(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result;

    /// Whether it writes the performance report itself (a cluster's own report, from
    /// [`Ctx::performance_report`]) rather than the watch writing this crate's.
    fn writes_performance_report(&self) -> bool {
        false
    }
}

/// What one run is given beside its plan: hooks the pipeline set up before it.
#[derive(Default)]
pub(crate) struct Ctx<'a> {
    /// Progress, trace and report (see `watch/`); `None` when nothing is watched.
    pub(crate) recorder: Option<&'a Recorder>,
    /// Set from outside (a cancelled job): no task starts after it, the run ends with
    /// [`Error::Cancelled`]. Its presence also says the caller is a job's thread, outside
    /// any pool.
    pub(crate) stop: Option<&'a AtomicBool>,
    /// Results the pipeline keeps beyond the run (the cache's write-back).
    pub(crate) sink: Option<Sink<'a>>,
    /// Refuse to run any task in this process (a cluster executor's option; see
    /// [`Scheduler::strict`](crate::Scheduler::strict)).
    #[cfg_attr(not(feature = "dask"), allow(dead_code))] // read by `dask/`
    pub(crate) strict: bool,
    /// How many times a failed task runs again (a cluster executor's option; see
    /// [`Scheduler::retries`](crate::Scheduler::retries)).
    #[cfg_attr(not(feature = "dask"), allow(dead_code))] // read by `dask/`
    pub(crate) retries: u32,
    /// Where to write the performance report, for an executor that
    /// [writes its own](Executor::writes_performance_report).
    #[cfg_attr(not(feature = "dask"), allow(dead_code))] // read by `dask/`
    pub(crate) performance_report: Option<&'a std::path::Path>,
}

/// Results handed out as they are computed: the value of every task whose flag is set
/// in `wanted` is given to `take` once, on whatever thread (or process, for a cluster,
/// after it came back) computed it.
pub(crate) struct Sink<'a> {
    pub(crate) wanted: Vec<bool>,
    pub(crate) take: &'a (dyn Fn(&Node, &AnyValue) + Sync),
}

impl Ctx<'_> {
    /// Whether the job this run belongs to was cancelled.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))] // read by `dask/`
    pub(crate) fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Acquire))
    }

    /// Whether the caller is a job's thread (outside every pool).
    pub(crate) fn on_job_thread(&self) -> bool {
        self.stop.is_some()
    }

    /// Whether the result of task `t` goes to the sink.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))] // read by `dask/`
    #[inline]
    pub(crate) fn wants(&self, t: u32) -> bool {
        self.sink
            .as_ref()
            .is_some_and(|s| s.wanted.get(t as usize).copied().unwrap_or(false))
    }

    /// Hands task `t`'s result to the sink, if it wants it.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))] // the local run offers directly
    #[inline]
    pub(crate) fn deliver(&self, plan: &Plan<'_>, t: u32, value: &AnyValue) {
        if let Some(sink) = &self.sink {
            sink.offer(plan, t, value);
        }
    }
}

impl Sink<'_> {
    /// Hands task `t`'s result to `take`, if it is wanted.
    #[inline]
    pub(crate) fn offer(&self, plan: &Plan<'_>, t: u32, value: &AnyValue) {
        if self.wanted.get(t as usize).copied().unwrap_or(false) {
            (self.take)(plan.task(t), value);
        }
    }
}
