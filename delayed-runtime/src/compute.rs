//! Computing: the public entry points (`compute`, `persist`, their `_with` and
//! `_with_report` forms, and the methods of `Delayed`) take a shape's roots, run them
//! through the pipeline, and give the values back in shape.

use std::sync::Arc;

use crate::erased::AnyValue;
use crate::error::Error;
use crate::graph::delayed::Delayed;
use crate::graph::node::Node;
use crate::pipeline::{self, Options};
use crate::scheduler::Scheduler;
use crate::shape::{internal, Computable, Persistable, Roots, Values};
use crate::watch::Report;

/// The roots' values, computed with `scheduler` (no report, not stoppable).
fn run(scheduler: &Scheduler, roots: &[&Arc<Node>]) -> Result<Vec<AnyValue>, Error> {
    pipeline::run(scheduler, roots, Options::default()).map(|(values, _)| values)
}

impl<T> Delayed<T> {
    /// Computes the value on the default scheduler (all cores).
    ///
    /// Every distinct key in the graph runs once. A panic or an `Err` from a task comes
    /// back as an [`Error`]; nothing is left running.
    pub fn compute(&self) -> Result<T, Error>
    where
        T: Clone + Send + Sync + 'static,
    {
        self.compute_with(&Scheduler::default())
    }

    /// Computes the value with the given scheduler.
    pub fn compute_with(&self, scheduler: &Scheduler) -> Result<T, Error>
    where
        T: Clone + Send + Sync + 'static,
    {
        compute_with(self, scheduler)
    }

    /// Computes the value now and returns a `Delayed` that holds it, under the same key:
    /// graphs built on the result do not compute it again. [`persist`](crate::persist)
    /// does several at once, in one graph.
    pub fn persist(&self) -> Result<Delayed<T>, Error>
    where
        T: Send + Sync + 'static,
    {
        persist_one(self)
    }
}

/// Computes several delayed values in one graph (dask's `compute(a, b, c)`): shared nodes
/// run once. Takes a `Delayed`, or tuples, `Vec`s, slices and arrays of them, nested, and
/// returns the same shape of values.
///
/// ```
/// use delayed::{compute, value};
/// let a = value(1i64) + 1;
/// let b = &a * 10;
/// let (x, ys) = compute((&a, vec![b.clone(), b])).unwrap();
/// assert_eq!((x, ys), (2, vec![20, 20]));
/// ```
pub fn compute<C: Computable>(shape: C) -> Result<C::Output, Error> {
    compute_with(shape, &Scheduler::default())
}

/// [`compute`] with a chosen [`Scheduler`].
pub fn compute_with<C: Computable>(shape: C, scheduler: &Scheduler) -> Result<C::Output, Error> {
    let roots = Roots::of(&shape);
    let values = run(scheduler, roots.nodes())?;
    C::take_values(&mut roots.values(values))
}

/// [`compute_with`], and a [`Report`] of what the compute did: tasks run, calls saved by
/// deduplication, calls and time per function, wall time, peak live results.
///
/// Timing every task costs two clock reads per task; without a report (plain
/// `compute_with`) nothing is timed.
///
/// ```
/// use delayed::{compute_with_report, value, Scheduler};
/// let x = value(1i64) + 2;
/// let (v, report) = compute_with_report(&x, &Scheduler::new())?;
/// assert_eq!((v, report.tasks_run), (3, 1));
/// assert_eq!(report.function("add").map(|f| f.calls), Some(1));
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn compute_with_report<C: Computable>(
    shape: C,
    scheduler: &Scheduler,
) -> Result<(C::Output, Report), Error> {
    let roots = Roots::of(&shape);
    let options = Options {
        report: true,
        ..Options::default()
    };
    let (values, report) = pipeline::run(scheduler, roots.nodes(), options)?;
    let report = report.ok_or_else(|| internal("no report"))?;
    let output = C::take_values(&mut roots.values(values))?;
    Ok((output, report))
}

/// Computes several delayed values now, in one graph, and returns the same shape of
/// `Delayed`s holding their values under the same keys (dask's `persist(a, b)`): graphs
/// built on them later do not compute those values again. [`Delayed::persist`] for one.
///
/// ```
/// use delayed::{persist, value};
/// let a = value(1i64) + 1;
/// let b = &a * 10;
/// let (pa, pbs) = persist((&a, vec![b.clone(), b.clone()]))?;
/// assert_eq!((pa.key(), pbs[1].key()), (a.key(), b.key()));
/// assert_eq!((&pa + &pbs[0]).compute()?, 22);
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn persist<C: Persistable>(shape: C) -> Result<C::Persisted, Error> {
    persist_with(shape, &Scheduler::default())
}

/// [`persist`] with a chosen [`Scheduler`].
pub fn persist_with<C: Persistable>(
    shape: C,
    scheduler: &Scheduler,
) -> Result<C::Persisted, Error> {
    let roots = Roots::of(&shape);
    let values = run(scheduler, roots.nodes())?;
    C::take_persisted(&mut roots.persisted(values))
}

/// [`Delayed::persist`]: one value, on the default scheduler. Unlike [`persist`] it does
/// not need `T: Clone`, since the value is never taken out of its `Arc`.
fn persist_one<T: Send + Sync + 'static>(d: &Delayed<T>) -> Result<Delayed<T>, Error> {
    let values = run(&Scheduler::default(), &[&d.node])?;
    Values::one_persisted(values, d.node.clone()).next_persisted()
}
