//! Executing a plan: each task once, inputs before consumers, on one thread or many.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use super::{Ctx, Sink};
use crate::erased::AnyValue;
use crate::error::Error;
use crate::graph::node::{Body, Inputs, Node};
use crate::panics::{drop_caught, panic_message};
use crate::plan::{Dependents, Plan};
use crate::prefetch::prefetch;
use crate::slots::Slots;
use crate::watch::Recorder;

/// The parallel run's view of the edges: who to notify, and how many inputs each task
/// still waits for.
struct Graph {
    deps: Dependents,
    waiting_on: Box<[AtomicU32]>,
}

pub(crate) struct Run<'p, 'g> {
    plan: &'p Plan<'g>,
    slots: Slots,
    failed: AtomicBool,
    /// The first failure, and the task that failed.
    first_error: Mutex<Option<(u32, Error)>>,
    /// The hooks of [`Ctx`], copied here so a task reads them from the run it already
    /// has in cache: each `None` when unused, a couple of untaken branches per task.
    watch: Option<&'p Recorder>,
    stop: Option<&'p AtomicBool>,
    sink: Option<&'p Sink<'p>>,
}

impl<'p, 'g> Run<'p, 'g> {
    /// A run of `plan` with the pipeline's hooks.
    pub(crate) fn new(plan: &'p Plan<'g>, ctx: &'p Ctx<'p>) -> Self {
        Run {
            plan,
            // The slots count the plan's reads down; the plan keeps its own.
            slots: Slots::new(plan.reads().to_vec()),
            failed: AtomicBool::new(false),
            first_error: Mutex::new(None),
            watch: ctx.recorder,
            stop: ctx.stop,
            sink: ctx.sink.as_ref(),
        }
    }

    fn stopped(&self) -> bool {
        self.stop.is_some_and(|s| s.load(Ordering::Acquire))
    }

    /// Runs task `t`, storing its result; returns `false` if it failed.
    fn execute(&self, t: u32) -> bool {
        let started = self.watch.and_then(|w| w.clock_for(t));
        let node = self.plan.task(t);
        let outcome = match node.body() {
            Body::Data(value) => Ok(AnyValue::clone(value)),
            Body::Task(body) => {
                #[cfg(feature = "tracing")]
                let _span =
                    tracing::debug_span!("task", name = node.name(), key = %node.key().short())
                        .entered();
                let sources = self.plan.sources_of(t);
                // `inputs` lives outside the `catch_unwind`: inputs the body left unread
                // are released (maybe dropped) after it has unwound, not during, where a
                // panicking `Drop` would abort the process.
                let mut inputs = Inputs::new(node.inputs(), sources, &self.slots);
                let outcome = crate::panics::catch(|| body(&mut inputs));
                let drop_panic = drop_caught(inputs);
                let panicked = |message, location| Error::Panicked {
                    task: node.label(),
                    message,
                    location,
                    dependents: Vec::new(),
                    more_dependents: 0,
                };
                match outcome {
                    Ok(Ok(value)) => match drop_panic {
                        None => Ok(value),
                        Some(message) => {
                            // Dropped like any user value here, so its `Drop` cannot
                            // panic out of the worker.
                            drop_caught(value);
                            Err(panicked(message, None))
                        }
                    },
                    Ok(Err(source)) => Err(Error::Failed {
                        task: node.label(),
                        source,
                        dependents: Vec::new(),
                        more_dependents: 0,
                    }),
                    Err((payload, location)) => {
                        let message = panic_message(&*payload);
                        drop_caught(payload);
                        Err(panicked(message, location))
                    }
                }
            }
        };
        let ok = match outcome {
            Ok(value) => {
                if let Some(sink) = self.sink {
                    sink.offer(self.plan, t, &value);
                }
                self.slots.store(t, value);
                true
            }
            Err(error) => {
                self.fail(t, error);
                false
            }
        };
        if let Some(watch) = self.watch {
            watch.executed(self.plan, t, started, ok);
        }
        ok
    }

    fn fail(&self, t: u32, error: Error) {
        self.failed.store(true, Ordering::Release);
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        first.get_or_insert((t, error));
    }

    fn cancelled(&self) -> bool {
        self.failed.load(Ordering::Acquire) || self.stopped()
    }

    /// One thread, in plan order: inputs always come first, and the order is the same
    /// every time.
    pub(crate) fn run_sync(&self) {
        for t in 0..self.plan.len() as u32 {
            if self.stopped() || !self.execute(t) {
                return;
            }
        }
    }

    /// On the current rayon pool. All tasks without inputs start in parallel; a finished
    /// task runs one newly ready dependent itself (chains stay on one thread, with no
    /// spawn per link) and spawns the others.
    pub(crate) fn run_parallel(&self) {
        use rayon::prelude::*;
        let (ready, graph) = self.ready();
        rayon::scope(|scope| {
            ready
                .par_iter()
                .with_max_len(64)
                .for_each(|&t| self.run_from(t, &graph, scope));
        });
    }

    /// As [`run_parallel`](Run::run_parallel) on `pool` (rayon's global pool if `None`),
    /// called from a thread outside it (a job's thread): the tasks are handed to the
    /// pool and this thread only waits. Unlike `install`, no worker waits inside this
    /// run's scope, so a worker never picks up another job's run on top of its own and
    /// many jobs on one pool share its workers task by task.
    pub(crate) fn run_parallel_from_outside(&self, pool: Option<&rayon::ThreadPool>) {
        let (ready, graph) = self.ready();
        match pool {
            Some(pool) => pool.in_place_scope(|scope| self.spawn_ready(&ready, &graph, scope)),
            None => rayon::in_place_scope(|scope| self.spawn_ready(&ready, &graph, scope)),
        }
    }

    fn spawn_ready<'s>(&'s self, ready: &'s [u32], graph: &'s Graph, scope: &rayon::Scope<'s>) {
        for chunk in ready.chunks(64) {
            scope.spawn(move |scope| {
                for &t in chunk {
                    self.run_from(t, graph, scope);
                }
            });
        }
    }

    /// The tasks without inputs, and the edges with their waiting counts.
    fn ready(&self) -> (Vec<u32>, Graph) {
        let mut deps = self.plan.dependents();
        let waiting_on = std::mem::take(&mut deps.waiting_on);
        let ready: Vec<u32> = (0..self.plan.len() as u32)
            .filter(|&t| waiting_on[t as usize] == 0)
            .collect();
        let graph = Graph {
            // In place: `Vec<u32>` → `Box<[AtomicU32]>` reuses the allocation.
            waiting_on: waiting_on.into_iter().map(AtomicU32::new).collect(),
            deps,
        };
        (ready, graph)
    }

    fn run_from<'s>(&'s self, first: u32, graph: &'s Graph, scope: &rayon::Scope<'s>) {
        let mut next = Some(first);
        while let Some(t) = next.take() {
            // What this task's end touches (its own slot, its dependents' counts) and the
            // nodes of those it may make ready (one of them runs next on this thread),
            // loaded while its body runs: on a graph far larger than the caches, each
            // would be a miss.
            self.slots.prefetch(t);
            for &d in graph.deps.of(t) {
                prefetch(&graph.waiting_on[d as usize]);
                let node: *const Node = self.plan.task(d);
                prefetch(node);
                prefetch(node.cast::<u8>().wrapping_add(64));
            }
            if self.cancelled() || !self.execute(t) {
                return;
            }
            for &d in graph.deps.of(t) {
                // The count is of the inputs still to finish: at 1, this edge is the last
                // one and nobody else touches it, so a load does (the acquire pairs with the
                // other producers' decrements); only a join still waiting on others pays
                // for the read-modify-write.
                let waiting = &graph.waiting_on[d as usize];
                if waiting.load(Ordering::Acquire) == 1
                    || waiting.fetch_sub(1, Ordering::AcqRel) == 1
                {
                    if next.is_none() {
                        next = Some(d);
                    } else {
                        scope.spawn(move |scope| self.run_from(d, graph, scope));
                    }
                }
            }
        }
    }

    /// The roots' values in the order the roots were given, or the first error.
    pub(crate) fn finish(self) -> Result<Vec<AnyValue>, Error> {
        if let Some((t, error)) = self
            .first_error
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()
        {
            let (names, more) = self.plan.dependents_of(t, Error::MAX_DEPENDENTS);
            return Err(error.with_dependents(names, more));
        }
        if self.stopped() {
            return Err(Error::Cancelled {});
        }
        self.plan
            .roots()
            .iter()
            .map(|&r| {
                self.slots.fetch(r).ok_or_else(|| Error::Scheduler {
                    message: "internal error: a root result is missing".into(),
                })
            })
            .collect()
    }
}
