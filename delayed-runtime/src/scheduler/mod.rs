//! The scheduler: turns roots into a plan and runs it.

pub(crate) mod inputs;
pub(crate) mod plan;
pub(crate) mod prefetch;
pub(crate) mod run;
pub(crate) mod slots;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::error::Error;
use crate::node::Node;
use crate::value::AnyValue;
use crate::watch::{Progress, Report, Watch};
use plan::Plan;
use run::Run;

/// How a `compute` runs its tasks.
///
/// - [`Scheduler::new`] (the default, used by `compute()`): rayon's global pool, one
///   thread per core.
/// - [`Scheduler::threads`]: a pool of its own with `n` threads.
/// - [`Scheduler::sync`]: the calling thread only, tasks in a fixed dependency order;
///   for debugging and deterministic runs.
///
/// Whatever the scheduler, one compute runs each distinct key exactly once.
///
/// # Panics
///
/// A panic in a task is caught: the compute returns
/// [`Error::Panicked`](crate::Error::Panicked) with its message and location, and prints
/// nothing (the first compute installs a panic hook that stays quiet for panics inside
/// tasks and passes every other panic to the hook installed before it). To see each task
/// panic on stderr as it happens, with a backtrace, run with `DELAYED_BACKTRACE=1`.
///
/// Any of them can be watched: [`progress`](Scheduler::progress) draws a progress bar,
/// [`trace`](Scheduler::trace) writes the task stream for Perfetto, and
/// [`compute_with_report`](crate::compute_with_report) returns a [`Report`]. None of
/// them changes a result.
///
/// ```
/// use delayed::{value, Scheduler};
/// let x = value(20i64) + 1;
/// assert_eq!(x.compute_with(&Scheduler::sync()).unwrap(), 21);
/// assert_eq!(x.compute_with(&Scheduler::threads(2)).unwrap(), 21);
/// ```
#[derive(Clone, Default)]
pub struct Scheduler {
    mode: Mode,
    /// Set by `Scheduler::cache` (see `cache/`).
    #[cfg(feature = "cache")]
    pub(crate) cache: Option<crate::cache::Cache>,
    /// Progress bar and trace (see `watch/`).
    watch: Watch,
}

#[derive(Clone, Default)]
enum Mode {
    #[default]
    Global,
    Pool {
        threads: usize,
        pool: Arc<OnceLock<Result<rayon::ThreadPool, String>>>,
    },
    Sync,
    /// On a dask.distributed cluster (`dask/`).
    #[cfg(feature = "dask")]
    Dask(Arc<crate::dask::Inner>),
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.mode {
            Mode::Global => write!(f, "Scheduler::new()")?,
            Mode::Pool { threads, .. } => write!(f, "Scheduler::threads({threads})")?,
            Mode::Sync => write!(f, "Scheduler::sync()")?,
            #[cfg(feature = "dask")]
            Mode::Dask(inner) => write!(f, "Scheduler::dask({})", inner.address())?,
        }
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.cache {
            write!(f, ".cache({:?})", cache.dir())?;
        }
        if self.watch.progress != Progress::Off {
            write!(f, ".progress(Progress::{:?})", self.watch.progress)?;
        }
        if let Some(path) = &self.watch.trace {
            write!(f, ".trace({path:?})")?;
        }
        Ok(())
    }
}

impl Scheduler {
    /// Runs on rayon's global pool (one thread per core).
    pub fn new() -> Scheduler {
        Scheduler::default()
    }

    /// At most this many threads in a [`Scheduler::threads`] pool: more would only cost
    /// memory and switching (tasks are CPU work; waiting on I/O in hundreds of tasks at
    /// once calls for fewer, bigger tasks).
    pub const MAX_THREADS: usize = 256;

    /// Runs on a pool of `n` threads owned by this scheduler (and its clones), started at
    /// its first compute. `n = 0` means one per core; `n` above
    /// [`MAX_THREADS`](Scheduler::MAX_THREADS) is capped to it.
    ///
    /// ```
    /// use delayed::Scheduler;
    /// assert_eq!(Scheduler::threads(3).workers(), 3);
    /// assert_eq!(Scheduler::threads(1_000_000).workers(), Scheduler::MAX_THREADS);
    /// ```
    pub fn threads(n: usize) -> Scheduler {
        Scheduler {
            mode: Mode::Pool {
                threads: n.min(Scheduler::MAX_THREADS),
                pool: Arc::new(OnceLock::new()),
            },
            ..Scheduler::default()
        }
    }

    /// Runs every task on the calling thread, in a fixed order.
    pub fn sync() -> Scheduler {
        Scheduler {
            mode: Mode::Sync,
            ..Scheduler::default()
        }
    }

    /// Runs on a dask.distributed cluster: the graph is cut into coarse partitions, each
    /// one dask task run by the local scheduler inside a worker process (see
    /// [`dask`](crate::dask) for which nodes run there and which on this process).
    #[cfg(feature = "dask")]
    pub fn dask(cluster: &crate::dask::Cluster) -> Scheduler {
        Scheduler {
            mode: Mode::Dask(cluster.inner.clone()),
            ..Scheduler::default()
        }
    }

    /// Draws a progress bar on stderr while computing: tasks done out of the total, rate,
    /// time left. `true` draws it when stderr is a terminal ([`Progress::Terminal`]);
    /// [`Progress::Always`] draws it anyway. The bar is moved ten times a second by a
    /// thread of its own, from a counter the workers bump (no lock per task), and stays
    /// on screen when the compute ends. Data nodes are not counted as tasks.
    ///
    /// ```
    /// use delayed::{value, Progress, Scheduler};
    /// let sched = Scheduler::threads(2).progress(true);
    /// assert_eq!((value(1i64) + 1).compute_with(&sched).unwrap(), 2);
    /// let always = Scheduler::sync().progress(Progress::Always);
    /// # let _ = always;
    /// ```
    pub fn progress(mut self, when: impl Into<Progress>) -> Scheduler {
        self.watch.progress = when.into();
        self
    }

    /// Writes the task stream of each compute to `path` as a Chrome trace event file
    /// (JSON): one complete event per task that ran, named after its function, on the
    /// worker thread that ran it, with its start and duration in microseconds since the
    /// compute began, and its key prefix (`args.key`: the task's label is `name-key`).
    /// Open it in Perfetto
    /// (<https://ui.perfetto.dev>) or `chrome://tracing`.
    ///
    /// Every compute with this scheduler (or a clone) replaces the file whole, also when
    /// the compute fails. A file that cannot be written makes an otherwise successful
    /// compute return [`Error::Trace`]; a task's failure is reported before it.
    ///
    /// ```
    /// use delayed::{value, Scheduler};
    /// let path = std::env::temp_dir().join("delayed-doc-trace.json");
    /// let sched = Scheduler::new().trace(&path);
    /// assert_eq!((value(20i64) + 1).compute_with(&sched)?, 21);
    /// assert!(std::fs::read_to_string(&path).unwrap().contains("\"ph\":\"X\""));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn trace(mut self, path: impl Into<PathBuf>) -> Scheduler {
        self.watch.trace = Some(path.into());
        self
    }

    /// How many threads run tasks.
    pub fn workers(&self) -> usize {
        match &self.mode {
            Mode::Global => rayon::current_num_threads(),
            Mode::Pool { threads: 0, .. } => {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            }
            Mode::Pool { threads, .. } => *threads,
            Mode::Sync => 1,
            #[cfg(feature = "dask")]
            Mode::Dask(inner) => inner.threads(),
        }
    }

    /// Computes `roots`, returning their values in order.
    pub(crate) fn run(&self, roots: &[&Arc<Node>]) -> Result<Vec<AnyValue>, Error> {
        self.run_reporting(roots, false).map(|(values, _)| values)
    }

    /// [`run`](Scheduler::run), and a [`Report`] if `report`.
    pub(crate) fn run_reporting(
        &self,
        roots: &[&Arc<Node>],
        report: bool,
    ) -> Result<(Vec<AnyValue>, Option<Report>), Error> {
        self.run_stoppable(roots, report, None)
    }

    /// [`run_reporting`](Scheduler::run_reporting), stopped (no task starts any more, the
    /// result is [`Error::Cancelled`]) once `stop` is set: the pipeline of a job, called
    /// with a `stop` flag on the job's own thread, outside any pool.
    pub(crate) fn run_stoppable(
        &self,
        roots: &[&Arc<Node>],
        report: bool,
        stop: Option<&AtomicBool>,
    ) -> Result<(Vec<AnyValue>, Option<Report>), Error> {
        let started = Instant::now();
        let plan = Plan::new(roots);
        // With a cache, stored results replace their tasks first (`cache/rewrite.rs`); when
        // it changes nothing, the plan already made is the one that runs.
        #[cfg(feature = "cache")]
        if let Some(rewritten) = self
            .cache
            .as_ref()
            .and_then(|c| crate::cache::rewrite(&plan, roots, c))
        {
            drop(plan);
            let roots: Vec<&Arc<Node>> = rewritten.iter().collect();
            return self.run_plan(Plan::new(&roots), &roots, report, started, stop);
        }
        self.run_plan(plan, roots, report, started, stop)
    }

    fn run_plan(
        &self,
        mut plan: Plan<'_>,
        roots: &[&Arc<Node>],
        report: bool,
        started: Instant,
        stop: Option<&AtomicBool>,
    ) -> Result<(Vec<AnyValue>, Option<Report>), Error> {
        crate::panics::install();
        #[cfg(feature = "dask")]
        if let Mode::Dask(cluster) = &self.mode {
            let cache = self.cache.as_ref();
            let watch = &self.watch;
            return crate::dask::compute(cluster, watch, cache, plan, roots, report, started, stop);
        }
        let pooled = !matches!(self.mode, Mode::Sync);
        // Before the slots take the read counts: the report's live count copies them.
        let session = self
            .watch
            .start(&plan, started, report, self.workers(), pooled);
        let reads = plan.take_reads();
        let run = Run::new(&plan, reads)
            .watched(session.as_ref().map(|s| s.recorder()))
            .stoppable(stop);
        // A pool that cannot start is an error of this compute like any other: it still
        // goes through the session, so the trace file is written on this path too.
        // A job's thread (`stop` is set) is outside the pool: it hands the tasks over and
        // waits (see `Run::run_parallel_from_outside`).
        let outside = stop.is_some();
        let started_run = match &self.mode {
            Mode::Global if outside => {
                run.run_parallel_from_outside(None);
                Ok(())
            }
            Mode::Global => {
                run.run_parallel();
                Ok(())
            }
            Mode::Sync => {
                run.run_sync();
                Ok(())
            }
            Mode::Pool { threads, pool } => {
                let pool = pool.get_or_init(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(*threads)
                        .thread_name(|i| format!("delayed-worker-{i}"))
                        .build()
                        .map_err(|e| e.to_string())
                });
                match pool {
                    Ok(pool) if outside => {
                        run.run_parallel_from_outside(Some(pool));
                        Ok(())
                    }
                    Ok(pool) => {
                        pool.install(|| run.run_parallel());
                        Ok(())
                    }
                    Err(message) => Err(Error::Scheduler {
                        message: format!("could not start {threads} threads: {message}"),
                    }),
                }
            }
            // Returned above.
            #[cfg(feature = "dask")]
            Mode::Dask(_) => Err(Error::Scheduler {
                message: "internal error: a dask compute reached the local run".into(),
            }),
        };
        let result = started_run.and_then(|()| run.finish());
        match session {
            None => result.map(|values| (values, None)),
            Some(session) => session.end(&plan, roots, result),
        }
    }
}
