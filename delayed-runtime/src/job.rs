//! Futures: a compute that runs in the background ([`submit`]) and the handle to its
//! result ([`Job`]), which can be polled, waited for, awaited or cancelled;
//! [`as_completed`] hands back many jobs' results in the order they finish.
//!
//! A job runs the same pipeline as `compute_with` (plan, cache, run, watch) on a thread of
//! its own, which drives the scheduler: on rayon's global pool or a `Scheduler::threads`
//! pool the tasks run on the pool's workers as for any compute, on `Scheduler::sync()` on
//! the job's thread, in plan order. The result is handed over through a mutex, a condition
//! variable (for [`Job::wait`]) and a [`Waker`] (for `.await`): no async runtime is
//! involved. Cancelling sets the flag the run checks before every task, the one the first
//! failure sets.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use crate::error::Error;
use crate::panics::{drop_caught, panic_message};
use crate::pipeline::{self, Options};
use crate::scheduler::Scheduler;
use crate::shape::{internal, Computable, OwnedRoots, Values};
use crate::watch::Report;

/// A compute running in the background: what [`submit`] returns (dask's `Future`, from
/// `client.compute(x)`).
///
/// - [`is_finished`](Job::is_finished) polls; [`wait`](Job::wait) blocks until the
///   result is there and returns exactly what `compute` would have (values, or the same
///   [`Error`]); `job.await` does the same in async code, under any executor (a `Job` is
///   a [`std::future::Future`] woken through its [`Waker`]).
/// - [`cancel`](Job::cancel): tasks that have not started never start, and the result is
///   [`Error::Cancelled`].
/// - Dropping a `Job` before its result was taken cancels it, as dask releases a future
///   nobody holds: tasks not yet started never start, the ones running finish on their
///   threads, and nothing waits for them (the drop returns at once). To let a job run to
///   the end, keep it and `wait`.
/// - Waiting for a job from inside a task (`wait` in a delayed function) can deadlock when
///   every worker of the pool is waiting so: inside a task, compute instead.
///
/// ```
/// use delayed::{submit, value};
///
/// let total = value(20i64) + 1;
/// let job = submit(&total)?;          // starts now, returns at once
/// // ... other work while it runs ...
/// assert_eq!(job.wait()?, 21);
/// # Ok::<(), delayed::Error>(())
/// ```
#[must_use = "a `Job` is cancelled when dropped: `wait()` or `.await` it for its result"]
pub struct Job<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    finished: Condvar,
    /// The run's stop flag: set by `cancel` and by dropping the job.
    stop: AtomicBool,
}

struct State<T> {
    /// `Some` once the job's thread has finished, until the result is taken.
    result: Option<Result<T, Error>>,
    done: bool,
    /// Who to wake when `done` turns true (the last poll's waker, or `as_completed`'s).
    waker: Option<Waker>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding the lock; a poisoned one is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn complete(&self, result: Result<T, Error>) {
        let waker = {
            let mut state = self.lock();
            state.result = Some(result);
            state.done = true;
            state.waker.take()
        };
        self.finished.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn cancelled(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// Completes the job with an error if its thread ends without a result, so no waiter
/// can hang on a job whose thread died.
struct Completer<T>(Option<Arc<Shared<T>>>);

impl<T> Completer<T> {
    fn complete(mut self, result: Result<T, Error>) {
        if let Some(shared) = self.0.take() {
            shared.complete(result);
        }
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            shared.complete(Err(internal("the job's thread ended without a result")));
        }
    }
}

/// Starts computing `shape` on the default scheduler and returns at once (dask's
/// `client.compute(x)`): a `Delayed`, a reference to one, or any shape
/// [`compute`](crate::compute) takes (tuples, `Vec`s, arrays, maps, nested). The shape
/// may borrow: its roots are taken now.
///
/// Fails only if the job's thread cannot be started; failures of the compute itself
/// come back from [`Job::wait`] / `.await`.
///
/// ```
/// use delayed::{submit, value};
///
/// let a = value(1i64) + 1;
/// let job = submit((&a, vec![&a * 10, &a * 100]))?;
/// assert_eq!(job.wait()?, (2, vec![20, 200]));
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn submit<C>(shape: C) -> Result<Job<C::Output>, Error>
where
    C: Computable,
    C::Output: Send + 'static,
{
    submit_with(shape, &Scheduler::default())
}

/// [`submit`] with a chosen [`Scheduler`]: its threads, and its progress bar, trace and
/// cache, work as with `compute_with`. Many jobs may run at once on one scheduler.
///
/// ```
/// use delayed::{submit_with, value, Scheduler};
///
/// let sched = Scheduler::threads(2);
/// let jobs: Vec<_> = (0..4i64)
///     .map(|i| submit_with(value(i) * 2, &sched))
///     .collect::<Result<_, _>>()?;
/// let values: Vec<i64> = jobs.into_iter().map(|j| j.wait()).collect::<Result<_, _>>()?;
/// assert_eq!(values, [0, 2, 4, 6]);
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn submit_with<C>(shape: C, scheduler: &Scheduler) -> Result<Job<C::Output>, Error>
where
    C: Computable,
    C::Output: Send + 'static,
{
    spawn(OwnedRoots::of(&shape), scheduler, false, |mut values, _| {
        C::take_values(&mut values)
    })
}

/// [`submit_with`], whose job also gives the [`Report`] of what the compute did, as
/// [`compute_with_report`](crate::compute_with_report) does.
///
/// ```
/// use delayed::{submit_with_report, value, Scheduler};
///
/// let job = submit_with_report(value(1i64) + 2, &Scheduler::new())?;
/// let (v, report) = job.wait()?;
/// assert_eq!((v, report.tasks_run), (3, 1));
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn submit_with_report<C>(
    shape: C,
    scheduler: &Scheduler,
) -> Result<Job<(C::Output, Report)>, Error>
where
    C: Computable,
    C::Output: Send + 'static,
{
    spawn(
        OwnedRoots::of(&shape),
        scheduler,
        true,
        |mut values, report| {
            let report = report.ok_or_else(|| internal("no report"))?;
            Ok((C::take_values(&mut values)?, report))
        },
    )
}

fn spawn<T, F>(
    roots: OwnedRoots,
    scheduler: &Scheduler,
    report: bool,
    take: F,
) -> Result<Job<T>, Error>
where
    T: Send + 'static,
    F: FnOnce(Values, Option<Report>) -> Result<T, Error> + Send + 'static,
{
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            result: None,
            done: false,
            waker: None,
        }),
        finished: Condvar::new(),
        stop: AtomicBool::new(false),
    });
    let completer = Completer(Some(shared.clone()));
    let scheduler = scheduler.clone();
    let drive = move || {
        let Some(shared) = completer.0.clone() else {
            return;
        };
        // The pipeline catches the tasks' panics; this catches the rest, so a job always
        // ends with a result.
        let result = catch_unwind(AssertUnwindSafe(|| {
            let options = Options {
                report,
                stop: Some(&shared.stop),
            };
            let (values, report) = pipeline::run(&scheduler, &roots.nodes(), options)?;
            take(roots.into_values(values), report)
        }))
        .unwrap_or_else(|payload| {
            let message = panic_message(&*payload);
            drop_caught(payload);
            Err(internal(&format!("the job's thread panicked: {message}")))
        });
        drop(shared);
        completer.complete(result);
    };
    std::thread::Builder::new()
        .name("delayed-job".into())
        .spawn(drive)
        .map_err(|e| Error::Scheduler {
            message: format!("could not start the job's thread: {e}"),
        })?;
    Ok(Job { shared })
}

impl<T> Job<T> {
    /// Whether the job has finished (its result, or its error, is there): `wait` would
    /// not block. A cancelled job is finished once the tasks that were running are done.
    ///
    /// ```
    /// use delayed::{submit, value};
    /// let job = submit(value(1i64) + 1)?;
    /// while !job.is_finished() {
    ///     std::thread::yield_now(); // a GUI would draw a frame here
    /// }
    /// assert_eq!(job.wait()?, 2);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.shared.lock().done
    }

    /// Blocks until the job has finished and returns its result: the values `compute`
    /// would have returned, or the same [`Error`]; [`Error::Cancelled`] after
    /// [`cancel`](Job::cancel).
    ///
    /// ```
    /// use delayed::{submit, value, Error};
    /// let boom = value(1i64).map(|_| -> i64 { panic!("boom") });
    /// let err = submit(&boom)?.wait().unwrap_err();
    /// assert!(matches!(err, Error::Panicked { .. }));
    /// assert_eq!(err.to_string(), boom.compute().unwrap_err().to_string());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn wait(self) -> Result<T, Error> {
        let mut state = self.shared.lock();
        while !state.done {
            state = self
                .shared
                .finished
                .wait(state)
                .unwrap_or_else(|poison| poison.into_inner());
        }
        self.take(state)
    }

    /// Cancels the job: tasks that have not started never start (those running finish),
    /// and [`wait`](Job::wait) / `.await` then give [`Error::Cancelled`], also when the
    /// job had already finished (as dask's `future.cancel()`). Returns at once; the job
    /// [`is_finished`](Job::is_finished) when its running tasks are done.
    ///
    /// ```
    /// use delayed::{submit, value, Error};
    /// let job = submit(value(1i64) + 1)?;
    /// job.cancel();
    /// assert!(matches!(job.wait(), Err(Error::Cancelled { .. })));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn cancel(&self) {
        self.shared.stop.store(true, Ordering::Release);
    }

    /// Whether [`cancel`](Job::cancel) was called.
    ///
    /// ```
    /// use delayed::{submit, value};
    /// let job = submit(value(1i64) + 1)?;
    /// assert!(!job.is_cancelled());
    /// job.cancel();
    /// assert!(job.is_cancelled());
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancelled()
    }

    /// The finished job's result, taken out (a second take is an error, never a panic).
    fn take(&self, mut state: MutexGuard<'_, State<T>>) -> Result<T, Error> {
        let result = state
            .result
            .take()
            .unwrap_or_else(|| Err(internal("the job's result was already taken")));
        drop(state);
        if self.shared.cancelled() {
            // The values of a cancelled job are dropped like any user value in the graph.
            drop_caught(result);
            return Err(Error::Cancelled {});
        }
        result
    }

    /// Makes `waker` the one woken when the job finishes; `true` if it already has.
    fn register(&self, waker: &Waker) -> bool {
        let mut state = self.shared.lock();
        if state.done {
            return true;
        }
        match &state.waker {
            Some(old) if old.will_wake(waker) => {}
            _ => state.waker = Some(waker.clone()),
        }
        false
    }
}

impl<T> Drop for Job<T> {
    /// Cancels the job if it has not finished (see [`Job`]); never blocks.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
    }
}

impl<T> std::fmt::Debug for Job<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("finished", &self.is_finished())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// `job.await`: the job's result, as [`Job::wait`] gives it, without blocking a thread.
/// Works under any executor (tokio, async-std, `futures::executor`, …): the job's thread
/// wakes the task through its [`Waker`]. Polling again after `Ready` gives an error.
///
/// ```
/// use delayed::{submit, value};
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     struct Unpark(std::thread::Thread);
/// #     impl std::task::Wake for Unpark {
/// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
/// #     }
/// #     let waker = std::sync::Arc::new(Unpark(std::thread::current())).into();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop {
/// #         if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; }
/// #         std::thread::park();
/// #     }
/// # }
/// let v = block_on(async { submit(value(20i64) + 1)?.await })?;
/// assert_eq!(v, 21);
/// # Ok::<(), delayed::Error>(())
/// ```
impl<T> Future for Job<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.register(cx.waker()) {
            Poll::Ready(self.take(self.shared.lock()))
        } else {
            Poll::Pending
        }
    }
}

/// Jobs' results in the order they finish (dask's `as_completed`): each item is the
/// job's index in `jobs` and its result, as [`Job::wait`] would give it. The iterator
/// blocks until the next job finishes; dropping it drops (so cancels) the jobs not yet
/// handed out.
///
/// ```
/// use delayed::{as_completed, submit, value};
///
/// let jobs = (1..=3i64).map(|i| submit(value(i) * i)).collect::<Result<Vec<_>, _>>()?;
/// let mut done: Vec<(usize, i64)> = Vec::new();
/// for (i, result) in as_completed(jobs) {
///     done.push((i, result?)); // in finishing order
/// }
/// done.sort();
/// assert_eq!(done, [(0, 1), (1, 4), (2, 9)]);
/// # Ok::<(), delayed::Error>(())
/// ```
pub fn as_completed<T, I>(jobs: I) -> AsCompleted<T>
where
    I: IntoIterator<Item = Job<T>>,
{
    let (tx, rx) = mpsc::channel();
    let jobs: Vec<Option<Job<T>>> = jobs
        .into_iter()
        .enumerate()
        .map(|(index, job)| {
            let waker = Waker::from(Arc::new(Finished {
                index,
                tx: tx.clone(),
            }));
            if job.register(&waker) {
                // Finished already: the receiver is alive, so this cannot fail.
                let _ = tx.send(index);
            }
            Some(job)
        })
        .collect();
    AsCompleted {
        left: jobs.len(),
        jobs,
        finished: rx,
    }
}

/// Wakes [`AsCompleted`] with the index of the job that finished.
struct Finished {
    index: usize,
    tx: mpsc::Sender<usize>,
}

impl Wake for Finished {
    fn wake(self: Arc<Self>) {
        // The receiver may be gone (the iterator was dropped): nothing to tell.
        let _ = self.tx.send(self.index);
    }
}

/// The iterator [`as_completed`] returns: `(index, result)` of each job, in finishing
/// order. Its `len()` is the number of jobs not yet handed out.
///
/// ```
/// use delayed::{as_completed, submit, value};
/// let mut done = as_completed([submit(value(1i64) + 1)?, submit(value(2i64) + 1)?]);
/// assert_eq!(done.len(), 2);
/// let (first, _) = done.next().unwrap();
/// assert_eq!(done.len(), 1);
/// let (second, _) = done.next().unwrap();
/// assert_eq!(first + second, 1); // indices 0 and 1, in either order
/// assert!(done.next().is_none());
/// # Ok::<(), delayed::Error>(())
/// ```
pub struct AsCompleted<T> {
    jobs: Vec<Option<Job<T>>>,
    left: usize,
    finished: mpsc::Receiver<usize>,
}

impl<T> Iterator for AsCompleted<T> {
    type Item = (usize, Result<T, Error>);

    fn next(&mut self) -> Option<Self::Item> {
        while self.left > 0 {
            let index = self.finished.recv().ok()?;
            if let Some(job) = self.jobs.get_mut(index).and_then(Option::take) {
                self.left -= 1;
                return Some((index, job.wait()));
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T> ExactSizeIterator for AsCompleted<T> {}

impl<T> std::fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsCompleted")
            .field("left", &self.left)
            .finish()
    }
}
