//! The user's builder: which executor runs a compute, with which cache, watched how.
//!
//! A [`Scheduler`] only holds settings; the pipeline (`pipeline.rs`) reads them. It names
//! no executor's internals: each executor module (`executor/local.rs`, `dask/`) gives it
//! one constructor over [`Scheduler::with_executor`].

use std::path::PathBuf;
use std::sync::Arc;

#[cfg(feature = "cache")]
use crate::cache::Cache;
use crate::executor::local::{GlobalPool, OnCaller, OwnPool};
use crate::executor::Executor;
use crate::watch::{Progress, Watch};

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
#[derive(Clone)]
pub struct Scheduler {
    /// What runs the tasks (shared by clones: a pool starts once).
    executor: Arc<dyn Executor>,
    /// Set by `Scheduler::cache` (see `cache/`).
    #[cfg(feature = "cache")]
    cache: Option<Cache>,
    /// Progress bar and trace (see `watch/`).
    watch: Watch,
    /// Set by `Scheduler::strict`.
    strict: bool,
    /// Set by `Scheduler::retries`.
    retries: u32,
}

impl Default for Scheduler {
    fn default() -> Scheduler {
        Scheduler::with_executor(Arc::new(GlobalPool))
    }
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.executor.describe(f)?;
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
        if let Some(path) = &self.watch.performance_report {
            write!(f, ".performance_report({path:?})")?;
        }
        #[cfg(feature = "dashboard")]
        if let Some(board) = &self.watch.dashboard {
            write!(f, ".dashboard({})", board.link())?;
        }
        if self.strict {
            f.write_str(".strict(true)")?;
        }
        if self.retries > 0 {
            write!(f, ".retries({})", self.retries)?;
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
        Scheduler::with_executor(Arc::new(OwnPool::new(n.min(Scheduler::MAX_THREADS))))
    }

    /// Runs every task on the calling thread, in a fixed order.
    pub fn sync() -> Scheduler {
        Scheduler::with_executor(Arc::new(OnCaller))
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

    /// Writes a performance report of each compute to `path`: one HTML file to keep or
    /// send, as dask's `performance_report` does. On a cluster (`Scheduler::dask`) it is
    /// dask's own report (its task stream, worker profile, bandwidth; the scheduler
    /// needs `bokeh`), covering the compute from its first task to its end. On the local
    /// schedulers it is this crate's: a self-contained page (no network) with the task
    /// stream (a lane per thread, a bar per task coloured by function), a table per
    /// function, the tasks running and the results held over time, and the summary.
    ///
    /// A path whose directory does not exist is an error before the compute starts
    /// ([`Error::Report`](crate::Error::Report)); every compute replaces the file; a
    /// file that cannot be written makes an otherwise successful compute return that
    /// error, after a task's own failure.
    ///
    /// ```
    /// use delayed::{value, Scheduler};
    /// let path = std::env::temp_dir().join("delayed-doc-report.html");
    /// let sched = Scheduler::new().performance_report(&path);
    /// assert_eq!((value(20i64) + 1).compute_with(&sched)?, 21);
    /// assert!(std::fs::read_to_string(&path).unwrap().starts_with("<!DOCTYPE html>"));
    /// let nowhere = Scheduler::new().performance_report("/no/such/dir/report.html");
    /// assert!(matches!(value(1i64).compute_with(&nowhere), Err(delayed::Error::Report { .. })));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn performance_report(mut self, path: impl Into<PathBuf>) -> Scheduler {
        self.watch.performance_report = Some(path.into());
        self
    }

    /// Follows this scheduler's computes on `dashboard` (feature `dashboard`), live in
    /// the browser: progress per function, the task stream of the last seconds, memory,
    /// the list of computes. Several schedulers may share one dashboard. Each task's
    /// times are recorded, as with [`trace`](Scheduler::trace).
    ///
    /// ```
    /// use delayed_runtime::{value, Dashboard, Scheduler};
    /// let dash = Dashboard::start("127.0.0.1:0")?;
    /// let a = Scheduler::new().dashboard(&dash);
    /// let b = Scheduler::sync().dashboard(&dash);
    /// assert_eq!((value(1i64) + 1).compute_with(&a)? + (value(2i64) + 2).compute_with(&b)?, 6);
    /// println!("{}", dash.link());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "dashboard")]
    pub fn dashboard(mut self, dashboard: &crate::Dashboard) -> Scheduler {
        self.watch.dashboard = Some(dashboard.board.clone());
        self
    }

    /// On a cluster (`Scheduler::dask`): refuse, before anything is
    /// submitted, a graph that would run any task in this process instead of on the
    /// workers, with an error naming the task and why (a closure with captures, a value
    /// of a type without serde). The local schedulers run everything in this process by
    /// design: for them it changes nothing.
    ///
    /// ```
    /// use delayed::Scheduler;
    /// let sched = Scheduler::new().strict(true);
    /// assert_eq!(format!("{sched:?}"), "Scheduler::new().strict(true)");
    /// ```
    pub fn strict(mut self, on: bool) -> Scheduler {
        self.strict = on;
        self
    }

    /// On a cluster (`Scheduler::dask`): a task whose function returns `Err` or panics
    /// runs again, up to `n` more times, before the compute fails with the usual
    /// [`Error::Failed`](crate::Error::Failed) or [`Error::Panicked`](crate::Error::Panicked)
    /// (dask's `retries=`, for flaky work: a network read, a busy service). The tasks
    /// of its partition run again with it. Workers lost while running stay dask's
    /// business, as before (its `allowed-failures`). The local schedulers run each task
    /// once (a task's inputs may have been moved into it): for them it changes nothing.
    ///
    /// ```
    /// use delayed::Scheduler;
    /// let sched = Scheduler::new().retries(2);
    /// assert_eq!(format!("{sched:?}"), "Scheduler::new().retries(2)");
    /// ```
    pub fn retries(mut self, n: u32) -> Scheduler {
        self.retries = n;
        self
    }

    /// How many times a failed task runs again ([`retries`](Scheduler::retries)).
    pub(crate) fn retries_of(&self) -> u32 {
        self.retries
    }

    /// Whether [`strict`](Scheduler::strict) is on.
    pub(crate) fn is_strict(&self) -> bool {
        self.strict
    }

    /// How many threads run tasks.
    pub fn workers(&self) -> usize {
        self.executor.workers()
    }

    /// A scheduler running on `executor`, with no cache and nothing watched: what each
    /// executor's constructor (`threads`, `sync`, `dask`, …) builds on.
    pub(crate) fn with_executor(executor: Arc<dyn Executor>) -> Scheduler {
        Scheduler {
            executor,
            #[cfg(feature = "cache")]
            cache: None,
            watch: Watch::default(),
            strict: false,
            retries: 0,
        }
    }

    /// What runs the tasks.
    pub(crate) fn executor(&self) -> &dyn Executor {
        &*self.executor
    }

    /// What is watched.
    pub(crate) fn watch(&self) -> &Watch {
        &self.watch
    }

    /// Keeps the results of `#[delayed(cache)]` functions in `dir` (created if needed)
    /// and reuses them in later computes and later runs: see [`Cache`].
    ///
    /// Never fails: a directory that cannot be written is only read, and one that cannot
    /// be used at all means no cache, each with a warning on stderr (also in
    /// [`Cache::warnings`], through [`disk_cache`](Self::disk_cache)).
    #[cfg(feature = "cache")]
    pub fn cache(self, dir: impl AsRef<std::path::Path>) -> Scheduler {
        self.with_cache(Cache::open_or_off(dir))
    }

    /// Uses an opened [`Cache`] (keep a clone to read its
    /// [`counters`](Cache::counters)).
    #[cfg(feature = "cache")]
    pub fn with_cache(mut self, cache: Cache) -> Scheduler {
        self.cache = Some(cache);
        self
    }

    /// The cache this scheduler uses, if any.
    #[cfg(feature = "cache")]
    pub fn disk_cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }
}
