//! The scheduler: turns roots into a plan and runs it.

pub(crate) mod plan;
mod run;
pub(crate) mod slots;

use std::sync::{Arc, OnceLock};

use crate::error::Error;
use crate::node::{AnyValue, Node};
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
/// ```
/// use delayed_runtime::{value, Scheduler};
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
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.mode {
            Mode::Global => write!(f, "Scheduler::new()")?,
            Mode::Pool { threads, .. } => write!(f, "Scheduler::threads({threads})")?,
            Mode::Sync => write!(f, "Scheduler::sync()")?,
        }
        #[cfg(feature = "cache")]
        if let Some(cache) = &self.cache {
            write!(f, ".cache({:?})", cache.dir())?;
        }
        Ok(())
    }
}

impl Scheduler {
    /// Runs on rayon's global pool (one thread per core).
    pub fn new() -> Scheduler {
        Scheduler::default()
    }

    /// Runs on a pool of `n` threads owned by this scheduler (and its clones), started at
    /// its first compute. `n = 0` means one per core.
    pub fn threads(n: usize) -> Scheduler {
        Scheduler {
            mode: Mode::Pool {
                threads: n,
                pool: Arc::new(OnceLock::new()),
            },
            #[cfg(feature = "cache")]
            cache: None,
        }
    }

    /// Runs every task on the calling thread, in a fixed order.
    pub fn sync() -> Scheduler {
        Scheduler {
            mode: Mode::Sync,
            #[cfg(feature = "cache")]
            cache: None,
        }
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
        }
    }

    /// Computes `roots`, returning their values in order.
    pub(crate) fn run(&self, roots: &[&Arc<Node>]) -> Result<Vec<AnyValue>, Error> {
        // With a cache, stored results replace their tasks first (`cache/rewrite.rs`).
        #[cfg(feature = "cache")]
        if let Some(rewritten) = self
            .cache
            .as_ref()
            .and_then(|c| crate::cache::rewrite(roots, c))
        {
            return self.run_graph(&rewritten.iter().collect::<Vec<_>>());
        }
        self.run_graph(roots)
    }

    fn run_graph(&self, roots: &[&Arc<Node>]) -> Result<Vec<AnyValue>, Error> {
        let mut plan = Plan::new(roots);
        let reads = std::mem::take(&mut plan.reads);
        let run = Run::new(&plan, reads);
        match &self.mode {
            Mode::Global => run.run_parallel(),
            Mode::Sync => run.run_sync(),
            Mode::Pool { threads, pool } => {
                let pool = pool.get_or_init(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(*threads)
                        .thread_name(|i| format!("delayed-worker-{i}"))
                        .build()
                        .map_err(|e| e.to_string())
                });
                match pool {
                    Ok(pool) => pool.install(|| run.run_parallel()),
                    Err(message) => {
                        return Err(Error::Scheduler {
                            message: format!("could not start {threads} threads: {message}"),
                        })
                    }
                }
            }
        }
        run.finish()
    }
}
