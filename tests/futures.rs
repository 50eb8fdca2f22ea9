//! Futures (`submit`, `Job`, `as_completed`): results and errors equal `compute`'s on every
//! scheduler; `cancel` before and during a run stops the work not yet started (counted);
//! `as_completed` follows the order in which jobs are released through channels; `.await`
//! under tokio's and `futures`' executors; a thousand jobs at once; unfinished jobs dropped.
//!
//! Tasks that must be in flight block on channels: no test sleeps or measures time. Each
//! test has its own counters and channels, so they run in parallel.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use delayed::prelude::*;
use delayed::{as_completed, submit, submit_with, submit_with_report, Error};

fn schedulers() -> [Scheduler; 3] {
    [Scheduler::new(), Scheduler::threads(2), Scheduler::sync()]
}

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

#[delayed]
fn parse(s: &str) -> Result<i64, std::num::ParseIntError> {
    s.parse()
}

#[test]
fn results_and_errors_equal_compute() {
    support::quiet_expected_panics(&["job boom"]);
    let a = inc(1);
    let shape = (&a, vec![inc(a.clone()), &a + 10], [parse("7")]);
    let boom = a.map(|_| -> i64 { panic!("job boom") });
    // One failing task per graph: with two independent failures, which one a parallel run
    // meets first is a race, and the two runs could name different tasks.
    let failing = &boom + 1;
    for sched in schedulers() {
        let expected = delayed::compute_with(&shape, &sched).unwrap();
        assert_eq!(expected, (2, vec![3, 12], [7]));
        let job = submit_with(&shape, &sched).unwrap();
        assert_eq!(job.wait().unwrap(), expected, "{sched:?}");

        for bad in [&failing, &parse("x")] {
            let want = bad.compute_with(&sched).unwrap_err();
            let got = submit_with(bad, &sched).unwrap().wait().unwrap_err();
            assert_eq!(got.to_string(), want.to_string(), "{sched:?}");
            assert_eq!(got.task(), want.task());
            assert_eq!(got.dependents(), want.dependents());
            assert_eq!(std::mem::discriminant(&got), std::mem::discriminant(&want));
        }
    }
    // The default scheduler, and one value alone.
    assert_eq!(submit(&a).unwrap().wait().unwrap(), 2);
    assert_eq!(submit(inc(41)).unwrap().wait().unwrap(), 42);
}

/// A task that says it started (on `started`) and then waits for `go`; counted in `runs`.
fn gate(
    runs: &Arc<AtomicUsize>,
    started: Sender<()>,
    go: Receiver<()>,
    input: Delayed<i64>,
) -> Delayed<i64> {
    let runs = runs.clone();
    let started = Mutex::new(started);
    let go = Mutex::new(go);
    input.map(move |v| {
        runs.fetch_add(1, SeqCst);
        let _ = started.lock().unwrap().send(());
        let _ = go.lock().unwrap().recv();
        *v
    })
}

/// A chain of `n` counted links after `from`.
fn chain(runs: &Arc<AtomicUsize>, from: Delayed<i64>, n: usize) -> Delayed<i64> {
    (0..n).fold(from, |d, _| {
        let runs = runs.clone();
        d.map(move |v| {
            runs.fetch_add(1, SeqCst);
            v + 1
        })
    })
}

#[test]
fn cancel_during_a_run_stops_the_tasks_not_started() {
    for sched in schedulers() {
        let runs = Arc::new(AtomicUsize::new(0));
        let (started_tx, started) = channel();
        let (go, go_rx) = channel();
        let first = gate(&runs, started_tx, go_rx, value(0i64));
        // Ten independent tasks beside the gate would race it; a chain after it cannot.
        let tail = chain(&runs, first, 10);
        let job = submit_with(&tail, &sched).unwrap();
        started.recv().unwrap(); // the gate is running
        job.cancel();
        assert!(job.is_cancelled());
        go.send(()).unwrap();
        let err = support::watchdog("cancelled job", || job.wait()).unwrap_err();
        assert!(matches!(err, Error::Cancelled { .. }), "{sched:?}: {err}");
        assert_eq!(err.to_string(), "the job was cancelled");
        assert_eq!(err.task(), None);
        assert_eq!(runs.load(SeqCst), 1, "{sched:?}: only the gate ran");
        // The scheduler is not poisoned: the same graph computes in full afterwards.
        let (started_tx, _started) = channel();
        let (go, go_rx) = channel();
        go.send(()).unwrap();
        let again = chain(&runs, gate(&runs, started_tx, go_rx, value(0i64)), 10);
        assert_eq!(again.compute_with(&sched).unwrap(), 10);
    }
}

#[test]
fn cancel_before_a_run_starts_nothing() {
    // One worker, held by a gate of another job: the second job's tasks cannot start
    // before it is cancelled.
    let sched = Scheduler::threads(1);
    let held_runs = Arc::new(AtomicUsize::new(0));
    let (started_tx, started) = channel();
    let (go, go_rx) = channel();
    let holder = submit_with(gate(&held_runs, started_tx, go_rx, value(1i64)), &sched).unwrap();
    started.recv().unwrap();

    let runs = Arc::new(AtomicUsize::new(0));
    let waiting = chain(&runs, value(0i64), 20);
    let job = submit_with(vec![waiting.clone(), &waiting + 1], &sched).unwrap();
    job.cancel();
    go.send(()).unwrap();
    assert_eq!(holder.wait().unwrap(), 1);
    assert!(matches!(job.wait(), Err(Error::Cancelled { .. })));
    assert_eq!(runs.load(SeqCst), 0, "no task of the cancelled job ran");

    // On a finished job too, `cancel` makes the result `Cancelled` (as dask's).
    let done = submit_with(inc(1), &sched).unwrap();
    while !done.is_finished() {
        std::thread::yield_now();
    }
    done.cancel();
    assert!(matches!(done.wait(), Err(Error::Cancelled { .. })));
}

#[test]
fn as_completed_follows_the_release_order() {
    for sched in [Scheduler::sync(), Scheduler::threads(3)] {
        let runs = Arc::new(AtomicUsize::new(0));
        let mut gos = Vec::new();
        let mut jobs = Vec::new();
        let mut starts = Vec::new();
        for i in 0..3i64 {
            let (started_tx, started) = channel();
            let (go, go_rx) = channel();
            let d = gate(&runs, started_tx, go_rx, value(i * 100)) + 1;
            jobs.push(submit_with(d, &sched).unwrap());
            gos.push(go);
            starts.push(started);
        }
        for started in &starts {
            started.recv().unwrap(); // all three are in flight
        }
        assert!(jobs.iter().all(|j| !j.is_finished()));
        let mut done = as_completed(jobs);
        assert_eq!(done.len(), 3);
        for i in [2usize, 0, 1] {
            gos[i].send(()).unwrap();
            let (index, result) = support::watchdog("as_completed", || done.next()).unwrap();
            assert_eq!(index, i, "{sched:?}");
            assert_eq!(result.unwrap(), i as i64 * 100 + 1);
        }
        assert!(done.next().is_none());
        assert_eq!(runs.load(SeqCst), 3);
    }
}

#[test]
fn as_completed_takes_finished_and_failed_jobs() {
    let jobs = vec![
        submit(inc(1)).unwrap(),
        submit(parse("nope")).unwrap(),
        submit(inc(3)).unwrap(),
    ];
    let mut results: Vec<(usize, Result<i64, Error>)> = as_completed(jobs).collect();
    results.sort_by_key(|(i, _)| *i);
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].1.as_ref().unwrap(), &2);
    assert!(matches!(results[1].1, Err(Error::Failed { .. })));
    assert_eq!(results[2].1.as_ref().unwrap(), &4);
    assert_eq!(as_completed(Vec::<delayed::Job<i64>>::new()).count(), 0);
}

/// Polls `job` once: it must be pending (its gate is shut), then opens the gate and awaits.
async fn pending_then_ready(
    mut job: delayed::Job<i64>,
    go: Sender<()>,
) -> Result<i64, delayed::Error> {
    let pending = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut job).poll(cx).is_pending()));
    assert!(pending.await, "the gate is shut: the job cannot be ready");
    go.send(()).unwrap();
    job.await
}

fn gated_job(sched: &Scheduler) -> (delayed::Job<i64>, Sender<()>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let (started_tx, _started) = channel();
    let (go, go_rx) = channel();
    let d = gate(&runs, started_tx, go_rx, value(20i64)) + 1;
    (submit_with(d, sched).unwrap(), go)
}

#[test]
fn await_under_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for sched in schedulers() {
        let (job, go) = gated_job(&sched);
        let v = support::watchdog("tokio", || rt.block_on(pending_then_ready(job, go)));
        assert_eq!(v.unwrap(), 21);
        let err = rt.block_on(async { submit(parse("x")).unwrap().await });
        assert!(matches!(err, Err(Error::Failed { .. })));
    }
    // Several jobs awaited together on one tokio thread.
    let total = rt.block_on(async {
        let jobs: Vec<_> = (0..8).map(|i| submit(inc(i)).unwrap()).collect();
        let mut total = 0;
        for job in jobs {
            total += job.await.unwrap();
        }
        total
    });
    assert_eq!(total, (1..=8).sum::<i64>());
}

#[test]
fn await_under_futures_executor() {
    for sched in schedulers() {
        let (job, go) = gated_job(&sched);
        let v = support::watchdog("futures", || {
            futures::executor::block_on(pending_then_ready(job, go))
        });
        assert_eq!(v.unwrap(), 21);
    }
    let (a, b) = (submit(inc(1)).unwrap(), submit(inc(2)).unwrap());
    let both = futures::executor::block_on(async { (a.await, b.await) });
    assert_eq!((both.0.unwrap(), both.1.unwrap()), (2, 3));
    // A cancelled job awaits to `Cancelled`.
    let (job, go) = gated_job(&Scheduler::sync());
    job.cancel();
    go.send(()).unwrap();
    assert!(matches!(
        futures::executor::block_on(job),
        Err(Error::Cancelled { .. })
    ));
}

#[test]
fn a_thousand_jobs_at_once() {
    let sched = Scheduler::threads(2);
    let shared = inc(0); // one node in every job's graph
    let jobs: Vec<_> = (0..1000i64)
        .map(|i| submit_with(inc(&shared + i), &sched).unwrap())
        .collect();
    let mut seen = vec![false; 1000];
    support::watchdog("1000 jobs", || {
        for (i, result) in as_completed(jobs) {
            assert_eq!(result.unwrap(), i as i64 + 2);
            assert!(!std::mem::replace(&mut seen[i], true), "job {i} twice");
        }
    });
    assert!(seen.iter().all(|&s| s));
    // And on the default scheduler, waited in order.
    let jobs: Vec<_> = (0..1000i64).map(|i| submit(inc(i)).unwrap()).collect();
    let values: Vec<i64> = jobs.into_iter().map(|j| j.wait().unwrap()).collect();
    assert_eq!(values, (1..=1000).collect::<Vec<_>>());
}

/// Sends on a channel when dropped: tells when the graph holding it is gone.
struct Dropped(Mutex<Sender<()>>);
impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = self.0.lock().unwrap().send(());
    }
}

#[test]
fn dropping_an_unfinished_job_cancels_it() {
    for sched in schedulers() {
        let runs = Arc::new(AtomicUsize::new(0));
        let (started_tx, started) = channel();
        let (go, go_rx) = channel();
        let (gone_tx, gone) = channel();
        let sentinel = Dropped(Mutex::new(gone_tx));
        // The closure holds the sentinel: it goes when the job's graph is dropped.
        let first = gate(&runs, started_tx, go_rx, value(0i64)).map(move |v| {
            let _ = &sentinel;
            *v
        });
        let job = submit_with(chain(&runs, first, 5), &sched).unwrap();
        started.recv().unwrap();
        drop(job); // returns at once, with the gate still shut
        go.send(()).unwrap();
        support::watchdog("dropped job", || gone.recv()).unwrap();
        assert_eq!(
            runs.load(SeqCst),
            1,
            "{sched:?}: nothing after the gate ran"
        );
    }
    // A job dropped before its thread got going, and a finished one: no hang, no panic.
    for _ in 0..50 {
        drop(submit(inc(1)).unwrap());
    }
    let done = submit(inc(1)).unwrap();
    while !done.is_finished() {
        std::thread::yield_now();
    }
    drop(done);
}

#[test]
fn watch_and_cache_options_work_with_submit_with() {
    let dir = std::env::temp_dir().join(format!("delayed-futures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.json");
    let sched = Scheduler::threads(2).progress(true).trace(&trace);
    let total = delayed::collect((0..20i64).map(|i| inc(i % 5)));
    let (values, report) = submit_with_report(&total, &sched).unwrap().wait().unwrap();
    assert_eq!(values.len(), 20);
    assert_eq!(report.function("inc").map(|f| f.calls), Some(5));
    assert_eq!(report.deduplicated, 15);
    let text = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(text.matches("\"name\":\"inc\"").count(), 5, "{text}");

    #[cfg(feature = "cache")]
    {
        #[delayed(cache)]
        fn square(x: i64) -> i64 {
            x * x
        }
        let cached = Scheduler::new().cache(dir.join("cache"));
        assert_eq!(submit_with(square(7), &cached).unwrap().wait().unwrap(), 49);
        let again = Scheduler::new().cache(dir.join("cache"));
        assert_eq!(submit_with(square(7), &again).unwrap().wait().unwrap(), 49);
        assert_eq!(again.disk_cache().unwrap().counters().hits, 1);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
