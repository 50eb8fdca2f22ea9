//! The local executors: rayon's global pool ([`GlobalPool`], the default), a pool of the
//! scheduler's own ([`OwnPool`]), and the calling thread alone ([`OnCaller`]). All three
//! run the same [`Run`]; they differ only in which threads take its tasks.

use std::sync::OnceLock;

use super::run::Run;
use super::{Ctx, Executor};
use crate::erased::AnyValue;
use crate::error::Error;
use crate::plan::Plan;

/// rayon's global pool, one thread per core.
pub(crate) struct GlobalPool;

/// A pool of `threads` threads (0: one per core), started at the first run.
pub(crate) struct OwnPool {
    threads: usize,
    pool: OnceLock<Result<rayon::ThreadPool, String>>,
}

/// The calling thread only, tasks in plan order: for debugging and deterministic runs.
pub(crate) struct OnCaller;

impl Executor for GlobalPool {
    fn run(&self, plan: &Plan<'_>, ctx: &Ctx<'_>) -> Result<Vec<AnyValue>, Error> {
        let run = Run::new(plan, ctx);
        if ctx.on_job_thread() {
            run.run_parallel_from_outside(None);
        } else {
            run.run_parallel();
        }
        run.finish()
    }

    fn workers(&self) -> usize {
        rayon::current_num_threads()
    }

    fn describe(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scheduler::new()")
    }
}

impl OwnPool {
    pub(crate) fn new(threads: usize) -> OwnPool {
        OwnPool {
            threads,
            pool: OnceLock::new(),
        }
    }

    fn pool(&self) -> Result<&rayon::ThreadPool, Error> {
        let pool = self.pool.get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .thread_name(|i| format!("delayed-worker-{i}"))
                .build()
                .map_err(|e| e.to_string())
        });
        pool.as_ref().map_err(|message| Error::Scheduler {
            message: format!("could not start {} threads: {message}", self.threads),
        })
    }
}

impl Executor for OwnPool {
    fn run(&self, plan: &Plan<'_>, ctx: &Ctx<'_>) -> Result<Vec<AnyValue>, Error> {
        // A pool that cannot start is an error of this compute like any other (the
        // pipeline still ends the watch, so a trace is written on this path too).
        let pool = self.pool()?;
        let run = Run::new(plan, ctx);
        if ctx.on_job_thread() {
            run.run_parallel_from_outside(Some(pool));
        } else {
            pool.install(|| run.run_parallel());
        }
        run.finish()
    }

    fn workers(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    fn describe(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scheduler::threads({})", self.threads)
    }
}

impl Executor for OnCaller {
    fn run(&self, plan: &Plan<'_>, ctx: &Ctx<'_>) -> Result<Vec<AnyValue>, Error> {
        let run = Run::new(plan, ctx);
        run.run_sync();
        run.finish()
    }

    fn workers(&self) -> usize {
        1
    }

    fn pooled(&self) -> bool {
        false
    }

    fn describe(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scheduler::sync()")
    }
}
