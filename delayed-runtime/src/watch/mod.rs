//! Watching a compute: the progress bar (`progress.rs`), the task-stream trace
//! (`trace.rs`) and the [`Report`] (`report.rs`).
//!
//! A scheduler with none of them on runs no code from here: `Run` holds an
//! `Option<&Recorder>` that is `None`, one predictable branch per task. With one on, the
//! per-task work is an atomic increment (progress), two clock reads and a push into the
//! running worker's own buffer (trace, report), and a few atomic decrements (report's
//! peak live results); no lock is shared between workers.

mod progress;
mod report;
mod trace;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use progress::Progress;
pub use report::{FunctionStats, Report};

use crate::erased::AnyValue;
use crate::error::Error;
use crate::graph::node::{Body, Node};
use crate::plan::Plan;
use crate::plan::CONST;

/// What a scheduler watches: its builder settings.
#[derive(Clone, Debug, Default)]
pub(crate) struct Watch {
    pub(crate) progress: Progress,
    pub(crate) trace: Option<PathBuf>,
}

/// Where and when one task ran.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    /// The task's index in the plan.
    pub(crate) task: u32,
    /// 0 for the calling thread, `i + 1` for worker `i` of the pool.
    pub(crate) tid: u32,
    /// Since the start of the compute.
    pub(crate) start_ns: u64,
    pub(crate) dur_ns: u64,
    /// Ran on a cluster's worker, not in this process.
    pub(crate) cluster: bool,
}

/// One worker's events, on a cache line of its own.
#[repr(align(128))]
struct Buffer(Mutex<Vec<Event>>);

/// How many task results are held at once (for the report).
struct Live {
    /// Reads still to come of each task's result; `CONST` for data nodes (not counted).
    remaining: Box<[AtomicU32]>,
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// The per-task side of watching: what `run.rs` calls.
pub(crate) struct Recorder {
    epoch: Instant,
    /// One per worker plus one for the calling thread; empty when nothing is timed.
    buffers: Box<[Buffer]>,
    /// Whether tasks run on a pool (else every event is on the calling thread).
    pooled: bool,
    /// Tasks finished, read by the progress bar's ticker.
    done: Option<Arc<AtomicU64>>,
    live: Option<Live>,
    /// Bytes sent to a cluster and received from it.
    crossed: [AtomicU64; 2],
}

impl Recorder {
    /// `sent` bytes went to a cluster and `received` came back.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn crossed(&self, sent: usize, received: usize) {
        self.crossed[0].fetch_add(sent as u64, Ordering::Relaxed);
        self.crossed[1].fetch_add(received as u64, Ordering::Relaxed);
    }

    /// The start time of a task, when tasks are timed.
    #[inline]
    pub(crate) fn clock(&self) -> Option<Instant> {
        (!self.buffers.is_empty()).then(Instant::now)
    }

    /// Task `t` has run in this process (`ok`: successfully, its result stored), started
    /// at `started`.
    #[inline]
    pub(crate) fn executed(&self, plan: &Plan<'_>, t: u32, started: Option<Instant>, ok: bool) {
        self.executed_at(plan, t, started, ok, false);
    }

    /// As [`executed`](Recorder::executed), on a cluster's worker if `cluster`.
    pub(crate) fn executed_at(
        &self,
        plan: &Plan<'_>,
        t: u32,
        started: Option<Instant>,
        ok: bool,
        cluster: bool,
    ) {
        let node = plan.task(t);
        if !matches!(node.body(), Body::Task(_)) {
            return;
        }
        // The crate's own `collect` (gathering a `Vec<Delayed<T>>` argument) is not a task
        // the user wrote: it is left out of the bar, the trace and the report's counts.
        let counted = !node.is_collect();
        if let (Some(done), true) = (&self.done, counted) {
            done.fetch_add(1, Ordering::Relaxed);
        }
        if let (Some(start), true) = (started, counted) {
            let end = Instant::now();
            let tid = if self.pooled {
                rayon::current_thread_index().map_or(0, |i| i + 1)
            } else {
                0
            }
            .min(self.buffers.len() - 1);
            let event = Event {
                task: t,
                tid: tid as u32,
                start_ns: nanos(start.saturating_duration_since(self.epoch)),
                dur_ns: nanos(end.saturating_duration_since(start)),
                cluster,
            };
            self.buffers[tid]
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(event);
        }
        if let Some(live) = &self.live {
            // This task's inputs: the last read of each releases it.
            for &s in plan.sources_of(t) {
                if s != CONST {
                    let remaining = &live.remaining[s as usize];
                    if remaining.load(Ordering::Relaxed) != CONST
                        && remaining.fetch_sub(1, Ordering::AcqRel) == 1
                    {
                        live.now.fetch_sub(1, Ordering::AcqRel);
                    }
                }
            }
            let reads = live.remaining[t as usize].load(Ordering::Relaxed);
            if ok && reads > 0 {
                let now = live.now.fetch_add(1, Ordering::AcqRel) + 1;
                live.peak.fetch_max(now, Ordering::AcqRel);
            }
        }
    }

    /// Every worker's events, by start time if `sorted`.
    fn into_events(self, sorted: bool) -> Vec<Event> {
        let mut events: Vec<Event> = Vec::new();
        for buffer in self.buffers.into_vec() {
            events.extend(
                buffer
                    .0
                    .into_inner()
                    .unwrap_or_else(PoisonError::into_inner),
            );
        }
        if sorted {
            events.sort_unstable_by_key(|e| (e.start_ns, e.tid));
        }
        events
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Watching one compute: made before it runs, ended after.
pub(crate) struct Session {
    started: Instant,
    recorder: Recorder,
    bar: Option<progress::Bar>,
    trace: Option<PathBuf>,
    report: bool,
    workers: usize,
}

impl Watch {
    /// Starts watching a compute of `plan`, if anything is to be watched: the bar, the
    /// trace, or a report (`report`). `workers` is the size of the pool that runs it
    /// (`pooled`) or 1.
    pub(crate) fn start(
        &self,
        plan: &Plan<'_>,
        started: Instant,
        report: bool,
        workers: usize,
        pooled: bool,
    ) -> Option<Session> {
        if self.progress == Progress::Off && self.trace.is_none() && !report {
            return None;
        }
        let timed = self.trace.is_some() || report;
        let buffers = if timed {
            (0..=workers.max(1))
                .map(|_| Buffer(Mutex::new(Vec::new())))
                .collect()
        } else {
            Box::default()
        };
        let done = Arc::new(AtomicU64::new(0));
        let bar = progress::Bar::start(self.progress, count_tasks(plan) as u64, done.clone());
        let live = report.then(|| Live {
            remaining: plan
                .tasks()
                .iter()
                .zip(plan.reads())
                .map(|(node, &reads)| match node.body() {
                    Body::Task(_) => AtomicU32::new(reads),
                    Body::Data(_) => AtomicU32::new(CONST),
                })
                .collect(),
            now: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        });
        Some(Session {
            started,
            recorder: Recorder {
                epoch: started,
                buffers,
                pooled,
                done: bar.is_some().then_some(done),
                live,
                crossed: Default::default(),
            },
            bar,
            trace: self.trace.clone(),
            report,
            workers,
        })
    }
}

/// The plan's tasks (function calls): data nodes and the crate's own `collect` nodes
/// left out.
fn count_tasks(plan: &Plan<'_>) -> usize {
    plan.tasks()
        .iter()
        .filter(|n| matches!(n.body(), Body::Task(_)) && !n.is_collect())
        .count()
}

impl Session {
    pub(crate) fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Ends the bar, writes the trace, makes the report. The compute's own error comes
    /// first; a trace that cannot be written fails an otherwise successful compute.
    pub(crate) fn end(
        self,
        plan: &Plan<'_>,
        roots: &[&Arc<Node>],
        result: Result<Vec<AnyValue>, Error>,
    ) -> Result<(Vec<AnyValue>, Option<Report>), Error> {
        if let Some(bar) = self.bar {
            bar.finish(result.is_ok());
        }
        let wall = self.started.elapsed();
        let peak = self
            .recorder
            .live
            .as_ref()
            .map_or(0, |l| l.peak.load(Ordering::Acquire));
        let crossed = self
            .recorder
            .crossed
            .each_ref()
            .map(|c| c.load(Ordering::Relaxed));
        let events = self.recorder.into_events(self.trace.is_some());
        let written = match &self.trace {
            Some(path) => trace::write(path, plan, &events, self.workers, wall).map_err(|source| {
                Error::Trace {
                    path: path.clone(),
                    source,
                }
            }),
            None => Ok(()),
        };
        let values = result?;
        written?;
        let report = self
            .report
            .then(|| report::make(plan, roots, &events, wall, peak, self.workers, crossed));
        Ok((values, report))
    }
}
