//! Watching a compute: the progress bar (`progress.rs`), the task-stream trace
//! (`trace.rs`), the [`Report`] (`report.rs`) and the performance report's page
//! (`html.rs`).
//!
//! A scheduler with none of them on runs no code from here: `Run` holds an
//! `Option<&Recorder>` that is `None`, one predictable branch per task. With one on, the
//! per-task work is an atomic increment (progress), two clock reads and a push into the
//! running worker's own buffer (trace, report), and a few atomic decrements (report's
//! peak live results); no lock is shared between workers.

#[cfg(feature = "dashboard")]
pub(crate) mod dashboard;
mod html;
mod progress;
mod report;
mod trace;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use std::time::{SystemTime, UNIX_EPOCH};

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
    pub(crate) performance_report: Option<PathBuf>,
    #[cfg(feature = "dashboard")]
    pub(crate) dashboard: Option<Arc<dashboard::Board>>,
}

impl Watch {
    /// Before a compute: the performance report's directory exists (a compute of an
    /// hour must not end in "no such directory").
    pub(crate) fn check(&self) -> Result<(), Error> {
        let Some(path) = &self.performance_report else {
            return Ok(());
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let problem = if path.is_dir() {
            Some("it is a directory".to_owned())
        } else if !dir.is_dir() {
            Some(format!("the directory {} does not exist", dir.display()))
        } else {
            None
        };
        match problem {
            None => Ok(()),
            Some(why) => Err(Error::Report {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, why),
            }),
        }
    }
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
    /// The worker runtime's process id, when the worker said (else 0).
    pub(crate) process: u32,
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
    /// `epoch` on the wall clock, which a cluster's workers share.
    epoch_wall: SystemTime,
    /// One per worker plus one for the calling thread; empty when nothing is timed.
    buffers: Box<[Buffer]>,
    /// Whether tasks run on a pool (else every event is on the calling thread).
    pooled: bool,
    /// Tasks finished, read by the progress bar's ticker.
    done: Option<Arc<AtomicU64>>,
    live: Option<Live>,
    /// Bytes sent to a cluster and received from it.
    crossed: [AtomicU64; 2],
    /// Time spent by functions on a cluster's workers, by name (ns).
    worker_time: Mutex<HashMap<String, u64>>,
    /// One task in 2^bits is timed, chosen by a multiplicative hash of its index (so a
    /// pattern in the plan's order does not bias it); 0: every task.
    sample_bits: u32,
}

impl Recorder {
    /// A recorder that times one task in `every` (a power of two), for what functions
    /// cost, and watches nothing else: a worker's runtime measuring its partitions.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn sampling(workers: usize, pooled: bool, every: u32) -> Recorder {
        Recorder {
            epoch: Instant::now(),
            epoch_wall: SystemTime::now(),
            buffers: (0..=workers.max(1))
                .map(|_| Buffer(Mutex::new(Vec::new())))
                .collect(),
            pooled,
            done: None,
            live: None,
            crossed: Default::default(),
            worker_time: Mutex::default(),
            sample_bits: every.next_power_of_two().trailing_zeros().min(31),
        }
    }

    /// This recorder also counts the tasks done into `done` (as a progress bar's does).
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn counting(mut self, done: Arc<AtomicU64>) -> Recorder {
        self.done = Some(done);
        self
    }

    /// Whether a progress bar follows this compute's count of tasks done.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn counts(&self) -> bool {
        self.done.is_some()
    }

    /// Moves the count of tasks done by `n`, ahead of the tasks' own records (a cluster's
    /// partition reporting its progress), or back by what was moved ahead (before they
    /// come in).
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn advance(&self, n: i64) {
        if let Some(done) = &self.done {
            if n >= 0 {
                done.fetch_add(n.unsigned_abs(), Ordering::Relaxed);
            } else {
                done.fetch_sub(n.unsigned_abs(), Ordering::Relaxed);
            }
        }
    }

    /// Per function of `plan`: its calls, and their estimated total time (the mean of
    /// the sampled calls times the calls), longest first.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    /// With `keep`, the events too (else none).
    pub(crate) fn sampled_costs(
        self,
        plan: &Plan<'_>,
        keep: bool,
    ) -> (Vec<(&'static str, u32, u64)>, Vec<Event>) {
        let mut by_name: HashMap<&'static str, (u32, u32, u64)> = HashMap::new();
        for node in plan.tasks() {
            if matches!(node.body(), Body::Task(_)) && !node.is_collect() {
                by_name.entry(node.name()).or_default().0 += 1;
            }
        }
        let events = self.take_events(false);
        for e in &events {
            let entry = by_name.entry(plan.task(e.task).name()).or_default();
            entry.1 += 1;
            entry.2 = entry.2.saturating_add(e.dur_ns);
        }
        let mut costs: Vec<(&'static str, u32, u64)> = (by_name.into_iter())
            .filter(|(_, (_, sampled, _))| *sampled > 0)
            .map(|(name, (calls, sampled, ns))| {
                let total = ns as f64 / f64::from(sampled) * f64::from(calls);
                (name, calls, total as u64)
            })
            .collect();
        costs.sort_by_key(|c| std::cmp::Reverse(c.2));
        (costs, if keep { events } else { Vec::new() })
    }

    /// Calls of function `name` took `ns` nanoseconds on a cluster's workers.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn worker_time(&self, name: &str, ns: u64) {
        let mut times = self
            .worker_time
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let total = times.entry(name.to_owned()).or_default();
        *total = total.saturating_add(ns);
    }

    /// `sent` bytes went to a cluster and `received` came back.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn crossed(&self, sent: usize, received: usize) {
        self.crossed[0].fetch_add(sent as u64, Ordering::Relaxed);
        self.crossed[1].fetch_add(received as u64, Ordering::Relaxed);
    }

    /// The start time of a task, when tasks are timed.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))] // a cluster's partitions use it
    #[inline]
    pub(crate) fn clock(&self) -> Option<Instant> {
        (!self.buffers.is_empty()).then(Instant::now)
    }

    /// The start time of task `t`, when it is timed (see [`Recorder::sampling`]).
    #[inline]
    pub(crate) fn clock_for(&self, t: u32) -> Option<Instant> {
        (!self.buffers.is_empty() && self.sampled(t)).then(Instant::now)
    }

    /// Whether task `t` is one of those timed (all of them unless sampling).
    #[inline]
    pub(crate) fn sampled(&self, t: u32) -> bool {
        self.sample_bits == 0 || t.wrapping_mul(0x9E37_79B9) >> (32 - self.sample_bits) == 0
    }

    /// Task `t` has run in this process (`ok`: successfully, its result stored), started
    /// at `started`.
    #[inline]
    pub(crate) fn executed(&self, plan: &Plan<'_>, t: u32, started: Option<Instant>, ok: bool) {
        self.executed_at(plan, t, started, ok, false);
    }

    /// Whether every task is timed (a trace or a report): then a cluster's workers send
    /// each task's times. (A dashboard's sample is timed on arrival.)
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn timed(&self) -> bool {
        !self.buffers.is_empty() && self.sample_bits == 0
    }

    /// `epoch`, on the wall clock (ns since the Unix epoch): what a worker's times are
    /// told against.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn epoch_unix_ns(&self) -> u64 {
        self.epoch_wall.duration_since(UNIX_EPOCH).map_or(0, nanos)
    }

    /// Task `t` ran on a cluster's worker, in runtime process `process` on its thread
    /// `thread`, from `start_ns` (since this compute's start) for `dur_ns`.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn executed_remote(
        &self,
        plan: &Plan<'_>,
        t: u32,
        (start_ns, dur_ns): (u64, u64),
        (process, thread): (u32, u32),
    ) {
        let node = plan.task(t);
        if !matches!(node.body(), Body::Task(_)) || node.is_collect() {
            return;
        }
        if let Some(done) = &self.done {
            done.fetch_add(1, Ordering::Relaxed);
        }
        self.count_live(plan, t, true);
        if !self.sampled(t) {
            return;
        }
        if let Some(buffer) = self.buffers.first() {
            let event = Event {
                task: t,
                tid: thread,
                start_ns,
                dur_ns,
                cluster: true,
                process,
            };
            buffer
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(event);
        }
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
                process: 0,
            };
            self.buffers[tid]
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(event);
        }
        self.count_live(plan, t, ok);
    }

    /// Task results held now, if they are counted (for a report, or a dashboard's
    /// compute whose every task is timed).
    #[cfg_attr(not(feature = "dashboard"), allow(dead_code))]
    pub(crate) fn live_now(&self) -> Option<usize> {
        (self.live.as_ref()).map(|live| live.now.load(Ordering::Relaxed))
    }

    /// The results held now, after task `t` ran (for the report's peak).
    fn count_live(&self, plan: &Plan<'_>, t: u32, ok: bool) {
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

    /// Takes every worker's events (by start time if `sorted`), leaving none.
    fn take_events(&self, sorted: bool) -> Vec<Event> {
        let mut events: Vec<Event> = Vec::new();
        for buffer in self.buffers.iter() {
            let mut buffer = buffer.0.lock().unwrap_or_else(PoisonError::into_inner);
            if events.is_empty() {
                events = std::mem::take(&mut *buffer);
            } else {
                events.append(&mut buffer);
            }
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
    /// Shared with the dashboard, which reads the events while the compute runs.
    recorder: Arc<Recorder>,
    bar: Option<progress::Bar>,
    trace: Option<PathBuf>,
    /// Where this crate's performance report goes (a local compute's).
    html: Option<PathBuf>,
    report: bool,
    /// The compute's entry on the dashboard following it.
    #[cfg(feature = "dashboard")]
    board: Option<dashboard::Entry>,
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
        html: Option<&Path>,
        (workers, pooled): (usize, bool),
        what: &dyn Fn() -> String,
    ) -> Option<Session> {
        let html = html.map(Path::to_path_buf);
        let report = report || html.is_some();
        #[cfg(feature = "dashboard")]
        let board = self.dashboard.clone();
        #[cfg(not(feature = "dashboard"))]
        let board: Option<()> = None;
        if self.progress == Progress::Off && self.trace.is_none() && !report && board.is_none() {
            return None;
        }
        let timed = self.trace.is_some() || report || board.is_some();
        let buffers = if timed {
            (0..=workers.max(1))
                .map(|_| Buffer(Mutex::new(Vec::new())))
                .collect()
        } else {
            Box::default()
        };
        let done = Arc::new(AtomicU64::new(0));
        // Counting walks the plan: only for a bar that may be drawn.
        let total = match self.progress {
            Progress::Off => 0,
            _ => count_tasks(plan) as u64,
        };
        let bar = progress::Bar::start(self.progress, total, done.clone());
        // A dashboard counts results held where that is cheap (with every task timed).
        let sampling = match board {
            Some(_) => dashboard_sampling(plan, self.trace.is_some() || report),
            None => 0,
        };
        let live = (report || (board.is_some() && sampling == 0)).then(|| Live {
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
        let recorder = Arc::new(Recorder {
            epoch: started,
            epoch_wall: SystemTime::now()
                .checked_sub(started.elapsed())
                .unwrap_or(UNIX_EPOCH),
            buffers,
            pooled,
            done: bar.is_some().then_some(done),
            live,
            crossed: Default::default(),
            worker_time: Mutex::default(),
            sample_bits: sampling,
        });
        #[cfg(feature = "dashboard")]
        let board = board.map(|board| board.begin(plan, what(), recorder.clone()));
        #[cfg(not(feature = "dashboard"))]
        let _ = (board, what);
        Some(Session {
            started,
            recorder,
            bar,
            trace: self.trace.clone(),
            html,
            report,
            workers,
            #[cfg(feature = "dashboard")]
            board,
        })
    }
}

/// How many bits of sampling a compute watched by a dashboard uses: a large compute
/// watched by nothing else (no trace, no report, which need every task) times one task in
/// 16, so watching it live costs no more than noise; the dashboard scales its counts.
fn dashboard_sampling(plan: &Plan<'_>, every_task: bool) -> u32 {
    match every_task || plan.len() < 4096 {
        true => 0,
        false => 4,
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
        cache_hits: u64,
    ) -> Result<(Vec<AnyValue>, Option<Report>), Error> {
        if let Some(bar) = self.bar {
            bar.finish(result.is_ok());
        }
        // The dashboard reads its last events before they are taken below.
        #[cfg(feature = "dashboard")]
        if let Some(entry) = self.board {
            entry.end(result.as_ref().err().map(ToString::to_string));
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
        let worker_time = std::mem::take(
            &mut *(self.recorder.worker_time)
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let events = (self.recorder).take_events(self.trace.is_some() || self.html.is_some());
        let written = match &self.trace {
            Some(path) => trace::write(path, plan, &events, self.workers, wall).map_err(|source| {
                Error::Trace {
                    path: path.clone(),
                    source,
                }
            }),
            None => Ok(()),
        };
        let report = self.report.then(|| {
            report::make(
                plan,
                roots,
                &events,
                (wall, peak, self.workers),
                report::FromCluster {
                    crossed,
                    worker_time,
                },
                cache_hits,
            )
        });
        let page = match (&self.html, &report) {
            (Some(path), Some(report)) => {
                html::write(path, plan, roots, &events, report).map_err(|source| Error::Report {
                    path: path.clone(),
                    source,
                })
            }
            _ => Ok(()),
        };
        let values = result?;
        written?;
        page?;
        Ok((values, report))
    }
}
