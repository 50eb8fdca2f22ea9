//! The same graphs on a real dask.distributed cluster: a `LocalCluster` of worker
//! processes started through the Python of `DELAYED_PYTHON` (default `python3`).
//!
//! A `harness = false` test, since dask's workers run this binary again to execute tasks:
//! `main` calls `delayed::worker::enter()` first. Without Python and `distributed` it skips
//! with a notice, unless `CI` or `DELAYED_PYTHON` is set: then it fails.
//!
//! Executions are counted across processes with one marker file per run of a task (in
//! `DELAYED_TEST_MARKS`, inherited by the workers), holding the pid and parent pid of the
//! process that ran it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use delayed::dask::Cluster;
use delayed::prelude::*;

const MARKS: &str = "DELAYED_TEST_MARKS";

/// Leaves a marker file for one execution: `<tag>-<unique>` holding "pid ppid".
fn mark(tag: &str) {
    let Some(dir) = std::env::var_os(MARKS) else {
        return;
    };
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let pid = std::process::id();
    let ppid = std::os::unix::process::parent_id();
    let name = format!("{tag}-{pid}-{seq}");
    std::fs::write(Path::new(&dir).join(name), format!("{pid} {ppid}")).expect("marker");
}

/// The markers of `tag`: (pid, ppid) per execution.
fn marks(tag: &str) -> Vec<(u32, u32)> {
    let dir = PathBuf::from(std::env::var_os(MARKS).expect("marks dir"));
    let prefix = format!("{tag}-");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read marks") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix(&prefix) {
            // `tag-pid-seq`: the rest must be exactly two numbers.
            if rest.split('-').count() != 2 {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).expect("marker text");
            let mut it = text.split(' ').map(|n| n.parse::<u32>().expect("pid"));
            out.push((it.next().expect("pid"), it.next().expect("ppid")));
        }
    }
    out
}

#[delayed]
fn inc(tag: String, x: i64) -> i64 {
    mark(&format!("{tag}_inc_{x}"));
    x + 1
}

#[delayed]
fn add(tag: String, x: i64, y: i64) -> i64 {
    mark(&format!("{tag}_add"));
    x + y
}

#[delayed]
fn total(xs: &[i64]) -> i64 {
    xs.iter().sum()
}

#[delayed]
fn nap(tag: String, i: u64, ms: u64) -> u64 {
    mark(&format!("{tag}_nap"));
    std::thread::sleep(Duration::from_millis(ms));
    i
}

/// Fails (an `Err`) on its first `fails` runs, counted with marker files under `tag`;
/// then returns which run it is.
#[delayed]
fn flaky(tag: String, fails: u64) -> Result<u64, std::io::Error> {
    let before = marks(&tag).len() as u64;
    mark(&tag);
    if before < fails {
        return Err(std::io::Error::other(format!("flaky: run {}", before + 1)));
    }
    Ok(before + 1)
}

/// Needs a GPU: runs only on workers started with `--resources "GPU=1"`. Returns its
/// input and its process id.
#[delayed(resources(GPU = 1))]
fn train(i: u64) -> (u64, u32) {
    std::thread::sleep(Duration::from_millis(20));
    (i, std::process::id())
}

#[delayed(priority = 10)]
fn urgent(x: u64) -> u64 {
    x + 1
}

/// Sleeps `ms` milliseconds; returns when it started and ended (ms since the epoch).
#[delayed]
fn span(tag: String, i: u64, ms: u64) -> Vec<u64> {
    mark(&tag);
    let _ = i;
    let start = millis_since_epoch();
    std::thread::sleep(Duration::from_millis(ms));
    vec![start, millis_since_epoch()]
}

/// The sum of `data`'s bytes, plus `i`.
#[delayed]
fn byte_sum(data: &[u8], i: u64) -> u64 {
    data.iter().map(|&b| b as u64).sum::<u64>() + i
}

fn millis_since_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Holds `mb` MiB (every page touched) for `ms` milliseconds.
#[delayed]
fn hog(mb: u64, ms: u64) -> u64 {
    let block = vec![1u8; (mb as usize) << 20];
    std::thread::sleep(Duration::from_millis(ms));
    block.iter().step_by(4096).map(|&b| b as u64).sum()
}

/// Where a task ran: the pid of its process, after a short nap (so tasks spread).
#[delayed]
fn pid_after(salt: u64, i: u64, ms: u64) -> u32 {
    let _ = (salt, i);
    std::thread::sleep(Duration::from_millis(ms));
    std::process::id()
}

#[delayed]
fn parse(s: &str) -> Result<i64, std::num::ParseIntError> {
    s.trim().parse()
}

#[delayed]
fn explode(x: i64) -> i64 {
    if x == 13 {
        panic!("unlucky {x}");
    }
    x
}

/// A type without serde: its functions run on the driver.
#[derive(Clone, Tokenize)]
struct Opaque(i64);

#[delayed]
fn wrap(x: i64) -> Opaque {
    Opaque(x)
}

#[delayed]
fn unwrap_opaque(o: Opaque) -> i64 {
    mark("opaque_unwrap");
    o.0
}

#[delayed(cache)]
fn square(tag: String, x: u64) -> u64 {
    mark(&format!("{tag}_square"));
    x * x
}

type Check = fn(&Cluster) -> Result<(), String>;

/// A plain fn (no `#[delayed]`), for `delay!`: its result and where it ran.
fn doubled_here(x: u64) -> (u64, u32) {
    (x * 2, std::process::id())
}

/// Generic: each instantiation is its own op, made by the runtime.
#[delayed]
fn tagged<T: Clone + Send + Sync + 'static>(x: T) -> (T, u32) {
    (x, std::process::id())
}

/// A user type with serde, through `#[delayed] impl` methods.
#[derive(Clone, Debug, Default, PartialEq, Tokenize, serde::Serialize, serde::Deserialize)]
struct Acc {
    total: u64,
    pids: Vec<u32>,
}

#[delayed]
impl Acc {
    fn add(mut self, x: u64) -> Acc {
        self.total += x;
        self.pids.push(std::process::id());
        self
    }
}

/// A result type without serde: whatever makes or reads it stays in the driver.
#[derive(Clone, Debug)]
struct Local(u64);

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

/// The tutorial's graph: inc, add, a sum over many; equal to the local scheduler's; each
/// distinct node ran once, never on the driver.
fn tutorial_graph(cluster: &Cluster) -> Result<(), String> {
    let tag = || "tut";
    let xs: Vec<Delayed<i64>> = (0..40).map(|i| inc(tag(), i % 20)).collect();
    let pairs: Vec<Delayed<i64>> = xs.chunks(2).map(|p| add(tag(), &p[0], &p[1])).collect();
    let sum = total(delayed::collect(pairs.clone()));
    let both = (&sum * 2) + 1;
    let local = both.compute().map_err(|e| e.to_string())?;
    clear_marks("tut");
    let remote = both
        .compute_with(&Scheduler::dask(cluster))
        .map_err(|e| e.to_string())?;
    ensure(remote == local, || {
        format!("dask gave {remote}, local {local}")
    })?;
    ensure(
        remote == 2 * (0..40).map(|i| i % 20 + 1).sum::<i64>() + 1,
        || format!("wrong value {remote}"),
    )?;
    for x in 0..20 {
        let runs = marks(&format!("tut_inc_{x}")).len();
        ensure(runs == 1, || format!("inc({x}) ran {runs} times"))?;
    }
    // The 20 `add`s have 10 distinct keys (the pairs repeat after 20 items).
    let adds = marks("tut_add").len();
    ensure(adds == 10, || format!("add ran {adds} times, expected 10"))?;
    let me = std::process::id();
    let all = marks_all("tut");
    ensure(all.iter().all(|&(pid, _)| pid != me), || {
        "a task ran in the driver process".to_owned()
    })
}

fn clear_marks(tag: &str) {
    let dir = PathBuf::from(std::env::var_os(MARKS).expect("marks dir"));
    for entry in std::fs::read_dir(dir).expect("read marks").flatten() {
        if entry.file_name().to_string_lossy().starts_with(tag) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn marks_all(tag: &str) -> Vec<(u32, u32)> {
    let dir = PathBuf::from(std::env::var_os(MARKS).expect("marks dir"));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read marks").flatten() {
        if entry.file_name().to_string_lossy().starts_with(tag) {
            let text = std::fs::read_to_string(entry.path()).expect("marker text");
            let mut it = text.split(' ').map(|n| n.parse::<u32>().expect("pid"));
            out.push((it.next().expect("pid"), it.next().expect("ppid")));
        }
    }
    out
}

/// Independent branches spread over every worker: the parents of the processes that
/// ran tasks include each worker's pid, and the sleeps overlap.
/// `.retries(2)`: a task failing twice succeeds on its third run; one that keeps failing
/// fails the compute after three runs; without retries, one run.
fn retries(cluster: &Cluster) -> Result<(), String> {
    for tag in ["retry_ok", "retry_bad", "retry_none"] {
        clear_marks(tag);
    }
    let dask = Scheduler::dask(cluster).retries(2);
    let ok = flaky("retry_ok", 2)
        .compute_with(&dask)
        .map_err(|e| e.to_string())?;
    ensure(ok == 3, || format!("succeeded on run {ok}"))?;
    ensure(marks("retry_ok").len() == 3, || {
        format!("{:?}", marks("retry_ok"))
    })?;
    let err = flaky("retry_bad", 5)
        .compute_with(&dask)
        .err()
        .ok_or("a task failing five times succeeded with two retries")?;
    ensure(matches!(err, delayed::Error::Failed { .. }), || {
        format!("{err:?}")
    })?;
    ensure(err.to_string().contains("flaky: run 3"), || err.to_string())?;
    ensure(marks("retry_bad").len() == 3, || {
        format!("{:?}", marks("retry_bad"))
    })?;
    let once = flaky("retry_none", 1).compute_with(&Scheduler::dask(cluster));
    ensure(once.is_err() && marks("retry_none").len() == 1, || {
        format!("{once:?} after {} runs", marks("retry_none").len())
    })
}

/// The report's per-function times come from the workers, where the tasks ran.
fn worker_times(cluster: &Cluster) -> Result<(), String> {
    let naps: Vec<Delayed<u64>> = (0..6).map(|i| nap("times", i, 100)).collect();
    let (got, report) = delayed::compute_with_report(&naps, &Scheduler::dask(cluster))
        .map_err(|e| e.to_string())?;
    ensure(got == (0..6).collect::<Vec<u64>>(), || format!("{got:?}"))?;
    let stats = report.function("nap").ok_or("no `nap` in the report")?;
    ensure(stats.calls == 6, || format!("{stats:?}"))?;
    // Six naps of 100 ms each, measured where they slept.
    ensure(stats.total >= Duration::from_millis(600), || {
        format!("{stats:?}")
    })?;
    ensure(stats.total < Duration::from_secs(5), || {
        format!("{stats:?}")
    })
}

fn spreads_over_workers(cluster: &Cluster) -> Result<(), String> {
    let workers = cluster.worker_pids().map_err(|e| e.to_string())?;
    ensure(workers.len() == 2, || format!("worker pids {workers:?}"))?;
    let naps: Vec<Delayed<u64>> = (0..8).map(|i| nap("spread", i, 300)).collect();
    let started = Instant::now();
    let got = delayed::compute_with(&naps, &Scheduler::dask(cluster)).map_err(|e| e.to_string())?;
    let took = started.elapsed();
    ensure(got == (0..8).collect::<Vec<u64>>(), || format!("{got:?}"))?;
    let parents: Vec<u32> = marks("spread_nap").iter().map(|&(_, ppid)| ppid).collect();
    ensure(parents.len() == 8, || format!("{} naps ran", parents.len()))?;
    for w in &workers {
        ensure(parents.contains(w), || {
            format!("no task ran on worker {w}: parents {parents:?}")
        })?;
    }
    // 8 × 300 ms on 2 workers: about 1.2 s when spread, 2.4 s on one.
    ensure(took < Duration::from_millis(2200), || {
        format!("took {took:?}")
    })
}

/// `Err` and panics come back as locally, with the task's name; the cluster still works.
fn failures(cluster: &Cluster) -> Result<(), String> {
    let sched = Scheduler::dask(cluster);
    let err = (parse("forty-two") + 1)
        .compute_with(&sched)
        .err()
        .ok_or("no error")?;
    ensure(matches!(err, delayed::Error::Failed { .. }), || {
        format!("{err:?}")
    })?;
    ensure(err.task().is_some_and(|t| t.starts_with("parse-")), || {
        format!("{err}")
    })?;
    ensure(err.to_string().contains("invalid digit"), || {
        format!("{err}")
    })?;
    ensure(
        err.dependents().iter().any(|d| d.starts_with("add-")),
        || format!("{err}"),
    )?;
    let err = explode(13)
        .compute_with(&sched)
        .err()
        .ok_or("no panic error")?;
    ensure(matches!(err, delayed::Error::Panicked { .. }), || {
        format!("{err:?}")
    })?;
    ensure(err.to_string().contains("unlucky 13"), || format!("{err}"))?;
    ensure(
        err.task().is_some_and(|t| t.starts_with("explode-")),
        || format!("{err}"),
    )?;
    let ok = (parse(" 41 ") + 1)
        .compute_with(&sched)
        .map_err(|e| e.to_string())?;
    ensure(ok == 42, || format!("after failures: {ok}"))
}

/// A non-serde value runs on the driver; its serde consumers go to the cluster.
fn driver_side_nodes(cluster: &Cluster) -> Result<(), String> {
    let sched = Scheduler::dask(cluster);
    let v = value(vec![1i64, 2, 3]);
    let shown = v.map(|v| v.len() as i64); // a closure: on the driver
    let o = unwrap_opaque(wrap(&shown + 4)); // Opaque: no serde, on the driver
    let x = inc("drv", o.clone()) + v.get(2);
    let got = x.compute_with(&sched).map_err(|e| e.to_string())?;
    ensure(got == 11, || format!("got {got}"))?;
    let me = std::process::id();
    let opaque = marks("opaque_unwrap");
    ensure(opaque.iter().all(|&(pid, _)| pid == me), || {
        format!("the non-serde task ran elsewhere: {opaque:?}")
    })?;
    let inc_runs = marks("drv_inc_7");
    ensure(inc_runs.len() == 1 && inc_runs[0].0 != me, || {
        format!("inc: {inc_runs:?}")
    })
}

/// Every node kind runs on the workers: `map` closures (on data and on a task's result),
/// `delay!` of a plain fn and of a closure, a generic `#[delayed]` fn, `#[delayed] impl`
/// methods, operators, `get`, `unpack`, `collect` of a user type. Results equal the local
/// scheduler's, the report counts no task in the driver, and a strict scheduler accepts
/// the graph.
fn every_node_kind_on_workers(cluster: &Cluster) -> Result<(), String> {
    let me = std::process::id();
    let mapped = value(21u64).map(|x| (x * 2, std::process::id()));
    let on_task = inc("kinds", 1).map(|x| (x * 3, std::process::id()));
    let plain = delay!(doubled_here(14u64));
    let closure = delay!((|x: u64| (x + 1, std::process::id()))(41u64));
    let generic = tagged::<String>(String::from("text"));
    let acc = value(Acc::default()).add(1).add(2);
    let sum = value(vec![10i64, 20, 30]).get(1) + 5i64;
    let (left, right) = value((7i64, 0.5f64)).unpack();
    let accs = delayed::collect(vec![
        value(Acc::default()).add(3),
        value(Acc::default()).add(4),
    ]);
    let graph = (
        (&mapped, &on_task, &plain, &closure),
        (&generic, &acc, &sum, (&left, &right), &accs),
    );
    let strict = Scheduler::dask(cluster).strict(true);
    let (got, report) = delayed::compute_with_report(&graph, &strict).map_err(|e| e.to_string())?;
    let local = delayed::compute(&graph).map_err(|e| e.to_string())?;
    let ((m, t, p, c), (g, a, s, (l, r), v)) = got;
    // Equal to the local scheduler's, pids aside.
    ensure(
        m.0 == local.0 .0 .0 && t.0 == local.0 .1 .0 && p.0 == 28 && c.0 == 42,
        || format!("{m:?} {t:?} {p:?} {c:?}"),
    )?;
    ensure(
        g.0 == "text" && a.total == 3 && s == 25 && (l, r) == (7, 0.5),
        || format!("{g:?} {a:?} {s} {l} {r}"),
    )?;
    ensure(
        v.iter().map(|a| a.total).collect::<Vec<_>>() == [3, 4],
        || format!("{v:?}"),
    )?;
    let pids = [m.1, t.1, p.1, c.1, g.1]
        .into_iter()
        .chain(a.pids.iter().copied())
        .chain(v.iter().flat_map(|a| a.pids.clone()));
    for pid in pids {
        ensure(pid != me, || "a node ran in the driver".to_owned())?;
    }
    ensure(
        report.tasks_in_driver == 0 && report.tasks_on_cluster == report.tasks_run,
        || {
            format!(
                "{} in the driver, {} on the cluster, of {}",
                report.tasks_in_driver, report.tasks_on_cluster, report.tasks_run
            )
        },
    )
}

/// A value without serde stays in the driver with what makes and reads it (counted in
/// the report); a strict scheduler refuses the graph before submitting anything, naming
/// the task and the fix.
/// No phase waits for another: a driver task (a closure with captures) runs as soon as
/// its input is back, and the cluster task after it runs at once, while a long cluster
/// task beside them is still running.
fn no_barriers(cluster: &Cluster) -> Result<(), String> {
    let me = std::process::id();
    let slow = nap("barrier_slow", 1, 3000);
    let quick = nap("barrier_quick", 2, 0);
    let ran_at: Arc<Mutex<Option<Duration>>> = Arc::default();
    let seen = ran_at.clone();
    let started = Instant::now();
    let start_ms = millis_since_epoch();
    let here = quick.map(move |x| {
        if let Ok(mut at) = seen.lock() {
            *at = Some(started.elapsed());
        }
        x + 10
    });
    // A `Vec<u64>`: a type with a codec known by type (a triple has none).
    let after = here.map(|x| vec![x * 2, std::process::id() as u64, millis_since_epoch()]);
    let (got, report) = delayed::compute_with_report((&slow, &after), &Scheduler::dask(cluster))
        .map_err(|e| e.to_string())?;
    let took = started.elapsed();
    let (s, after) = got;
    let [a, pid, after_ms] = after[..] else {
        return Err(format!("{after:?}"));
    };
    ensure((s, a) == (1, 24), || format!("{s} {a}"))?;
    ensure(pid != me as u64, || {
        "the task after the driver's ran in the driver".into()
    })?;
    ensure(
        (report.tasks_on_cluster, report.tasks_in_driver) == (3, 1),
        || format!("{report:?}"),
    )?;
    let ran_at = ran_at
        .lock()
        .map_err(|e| e.to_string())?
        .ok_or("never ran")?;
    ensure(took >= Duration::from_millis(3000), || {
        format!("took {took:?}")
    })?;
    // The slow task takes 3 s: both ran well before it finished.
    ensure(ran_at < Duration::from_millis(2000), || {
        format!("the driver task waited for the slow one: it ran at {ran_at:?}")
    })?;
    let after_at = after_ms.saturating_sub(start_ms);
    ensure(after_at < 2000, || {
        format!("the cluster task after it waited: it ran at {after_at} ms")
    })
}

/// A large driver value read by many partitions is sent to the cluster once (scattered),
/// not copied into each payload; every reader gets it.
fn data_once(cluster: &Cluster) -> Result<(), String> {
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let data = value(big.clone());
    let sums: Vec<Delayed<u64>> = (0..24).map(|i| byte_sum(&data, i)).collect();
    let trace = std::env::temp_dir().join(format!("delayed-data-once-{}.json", std::process::id()));
    let dask = Scheduler::dask(cluster).trace(&trace);
    let (got, report) = delayed::compute_with_report(&sums, &dask).map_err(|e| e.to_string())?;
    // The trace says where each task ran.
    let text = std::fs::read_to_string(&trace).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&trace);
    let on_cluster = text.matches("\"where\":\"cluster\"").count();
    ensure(on_cluster == 24, || {
        format!("{on_cluster} tasks marked on the cluster")
    })?;
    let base: u64 = big.iter().map(|&b| b as u64).sum();
    ensure(got == (0..24).map(|i| base + i).collect::<Vec<_>>(), || {
        format!("{got:?}")
    })?;
    ensure(report.tasks_on_cluster == 24, || format!("{report:?}"))?;
    // 24 readers in 8 partitions: once is about 1 MiB, once per payload would be 8.
    let sent = report.bytes_to_cluster;
    ensure(
        sent > big.len() as u64 && sent < 3 * big.len() as u64 / 2,
        || format!("{sent} bytes sent for a value of {}", big.len()),
    )?;
    ensure(report.bytes_from_cluster < 4096, || format!("{report:?}"))
}

fn strict_refuses_driver_tasks(cluster: &Cluster) -> Result<(), String> {
    let local = value(5u64).map(|x| Local(*x * 2));
    let back = local.map(|l| l.0 + 1);
    let (got, report) = delayed::compute_with_report(&back, &Scheduler::dask(cluster))
        .map_err(|e| e.to_string())?;
    ensure(got == 11, || format!("got {got}"))?;
    ensure(
        report.tasks_in_driver == 2 && report.tasks_on_cluster == 0,
        || format!("{report:?}"),
    )?;
    let err = back
        .compute_with(&Scheduler::dask(cluster).strict(true))
        .expect_err("strict refuses a driver task");
    let text = err.to_string();
    ensure(
        text.contains("strict") && text.contains("map-") && text.contains("serde::Serialize"),
        || text.clone(),
    )?;
    // A closure with captures: also named, with its own reason.
    let offset = 3u64;
    let captured = value(1u64).map(move |x| x + offset);
    let err = captured
        .compute_with(&Scheduler::dask(cluster).strict(true))
        .expect_err("strict refuses a capturing closure");
    ensure(err.to_string().contains("captures"), || err.to_string())
}

/// Shapes as `delayed::compute` takes them; operators and `collect` on the cluster.
fn shapes(cluster: &Cluster) -> Result<(), String> {
    let sched = Scheduler::dask(cluster);
    let a = inc("shape", 1);
    let b = &a * 10i64;
    let items: Vec<Delayed<f64>> = (0..5).map(|i| value(i as f64) * 0.5).collect();
    let all = delayed::collect(items);
    let (x, (y, v)) =
        delayed::compute_with((&a, (vec![&b, &a], &all)), &sched).map_err(|e| e.to_string())?;
    ensure(
        x == 2 && y == [20, 2] && v == [0.0, 0.5, 1.0, 1.5, 2.0],
        || format!("{x} {y:?} {v:?}"),
    )?;
    // A report and a progress bar over a cluster compute.
    let (value, report) = delayed::compute_with_report(&b, &sched.clone().progress(true))
        .map_err(|e| e.to_string())?;
    ensure(value == 20 && report.tasks_run >= 2, || {
        format!("{value} {report}")
    })
}

/// Computes from several threads on one cluster: each gets its own values (they take
/// turns phase by phase, and each releases only its own futures).
fn concurrent_computes(cluster: &Cluster) -> Result<(), String> {
    let results: Vec<Result<i64, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4i64)
            .map(|k| {
                s.spawn(move || {
                    let xs: Vec<Delayed<i64>> = (0..20).map(|i| inc("conc", i * 10 + k)).collect();
                    let sum = total(delayed::collect(xs)) + k;
                    sum.compute_with(&Scheduler::dask(cluster))
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())))
            .collect()
    });
    for (k, got) in results.into_iter().enumerate() {
        let k = k as i64;
        let want = (0..20).map(|i| i * 10 + k + 1).sum::<i64>() + k;
        let got = got?;
        ensure(got == want, || format!("thread {k}: {got} != {want}"))?;
    }
    Ok(())
}

/// Futures on the cluster: jobs submitted with `Scheduler::dask`, running at once, each
/// give what `compute` gives.
fn jobs_on_the_cluster(cluster: &Cluster) -> Result<(), String> {
    let sched = Scheduler::dask(cluster);
    let graphs: Vec<Delayed<i64>> = (0..3i64)
        .map(|k| total(delayed::collect((0..10).map(|i| inc("job", i + 100 * k)))))
        .collect();
    let jobs = graphs
        .iter()
        .map(|g| delayed::submit_with(g.clone(), &sched).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    for (k, job) in jobs.into_iter().enumerate() {
        let got = job.wait().map_err(|e| e.to_string())?;
        let want = (0..10).map(|i| i + 100 * k as i64 + 1).sum::<i64>();
        ensure(got == want, || format!("job {k}: {got} != {want}"))?;
    }
    Ok(())
}

/// Two jobs on one cluster run at the same time: the second job's task runs on the
/// workers while the first's is still running (each compute waits on the driver at most
/// a tenth of a second at a time, so neither holds the cluster). On a cluster of its own:
/// one worker with two threads, so both tasks have a thread whichever worker dask picks.
fn two_jobs_overlap(_: &Cluster) -> Result<(), String> {
    let cluster = Cluster::local(1).map_err(|e| e.to_string())?;
    if cluster.threads() < 2 {
        return Err(format!("needs a worker with 2 threads: {cluster:?}"));
    }
    let sched = Scheduler::dask(&cluster);
    clear_marks("overlap_long");
    let long =
        delayed::submit_with(span("overlap_long", 0, 2500), &sched).map_err(|e| e.to_string())?;
    // The long task has started (a fresh runtime may take a moment).
    let deadline = Instant::now() + Duration::from_secs(20);
    while marks("overlap_long").is_empty() {
        ensure(Instant::now() < deadline, || {
            "the long task never started".into()
        })?;
        std::thread::sleep(Duration::from_millis(20));
    }
    let short =
        delayed::submit_with(span("overlap_short", 1, 300), &sched).map_err(|e| e.to_string())?;
    let short = short.wait().map_err(|e| e.to_string())?;
    let long_running = !long.is_finished();
    let long = long.wait().map_err(|e| e.to_string())?;
    let (a, b) = ((long[0], long[1]), (short[0], short[1]));
    ensure(long_running && b.0 >= a.0 && b.1 <= a.1, || {
        format!("the short job ran {b:?}, the long one {a:?} (ms since the epoch)")
    })
}

/// A cluster job cancelled returns at once (within 0.5 s) and no task of it starts after
/// (those running may finish).
fn cancel_on_the_cluster(cluster: &Cluster) -> Result<(), String> {
    let sched = Scheduler::dask(cluster);
    clear_marks("cancel_span");
    let naps = delayed::collect((0..12).map(|i| span("cancel_span", i, 500)));
    let job = delayed::submit_with(naps, &sched).map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(700));
    let asked = Instant::now();
    job.cancel();
    let outcome = job.wait();
    let took = asked.elapsed();
    ensure(
        matches!(outcome, Err(delayed::Error::Cancelled { .. })),
        || format!("{outcome:?}"),
    )?;
    ensure(took < Duration::from_millis(500), || {
        format!("cancel took {took:?}")
    })?;
    let at_cancel = marks("cancel_span").len();
    // Twelve naps of 0.5 s on two threads: 1.5 s more would have started six more.
    std::thread::sleep(Duration::from_millis(1500));
    let later = marks("cancel_span").len();
    ensure(later <= at_cancel + 2 && later < 8, || {
        format!("{at_cancel} naps had started at the cancel, {later} 1.5 s later")
    })
}

#[delayed]
fn reported_distinctly(x: u64) -> u64 {
    mark("reported_distinctly");
    x * 3
}

/// `.performance_report(path)` on a cluster writes dask's own report of the compute (the
/// HTML page of bokeh plots dask users know), naming our tasks; a path in a missing
/// directory is an error before anything is submitted.
fn performance_report(cluster: &Cluster) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("delayed-dask-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("dask-report.html");
    let sched = Scheduler::dask(cluster).performance_report(&path);
    let xs = delayed::collect((0..16u64).map(reported_distinctly));
    let got = xs.compute_with(&sched).map_err(|e| e.to_string())?;
    ensure(got == (0..16u64).map(|x| x * 3).collect::<Vec<_>>(), || {
        format!("{got:?}")
    })?;
    let page = std::fs::read_to_string(&path).map_err(|e| format!("no report: {e}"))?;
    ensure(page.contains("<html") && page.contains("</html>"), || {
        format!("not HTML: {}", &page[..page.len().min(200)])
    })?;
    ensure(page.contains("Dask Performance Report"), || {
        "not dask's report".into()
    })?;
    ensure(page.contains("reported_distinctly"), || {
        "the report does not name the tasks".into()
    })?;
    clear_marks("reported_distinctly");
    let missing = dir.join("no-such-dir").join("r.html");
    let sched = Scheduler::dask(cluster).performance_report(&missing);
    let ys = delayed::collect((100..104u64).map(reported_distinctly));
    let outcome = ys.compute_with(&sched);
    ensure(
        matches!(&outcome, Err(delayed::Error::Report { path, .. }) if *path == missing),
        || format!("{outcome:?}"),
    )?;
    ensure(marks("reported_distinctly").is_empty(), || {
        "a task ran despite the report's error".into()
    })?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `.cache(dir)` composes: results computed on the cluster are stored by the driver, and
/// a second compute submits nothing (no task runs again).
fn cache_composes(cluster: &Cluster) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("delayed-dask-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let graph = delayed::collect((0..6u64).map(|i| square("cache", i)));
    let first = Scheduler::dask(cluster).cache(&dir);
    let got = graph.compute_with(&first).map_err(|e| e.to_string())?;
    ensure(got == [0, 1, 4, 9, 16, 25], || format!("{got:?}"))?;
    let me = std::process::id();
    let runs = marks("cache_square");
    ensure(
        runs.len() == 6 && runs.iter().all(|&(pid, _)| pid != me),
        || format!("first compute: {runs:?}"),
    )?;
    let again = Scheduler::dask(cluster).cache(&dir);
    let got = graph.compute_with(&again).map_err(|e| e.to_string())?;
    ensure(got == [0, 1, 4, 9, 16, 25], || format!("{got:?}"))?;
    let hits = again.disk_cache().map(|c| c.counters().hits);
    ensure(hits == Some(6), || format!("hits {hits:?}"))?;
    let runs = marks("cache_square").len();
    let _ = std::fs::remove_dir_all(&dir);
    ensure(runs == 6, || {
        format!("the second compute ran {} tasks", runs - 6)
    })
}

#[cfg(feature = "ndarray")]
mod arrays {
    use delayed::ndarray::{Array1, Array2, Axis};
    use delayed::prelude::*;

    #[delayed]
    pub fn grid(n: usize) -> Array2<f64> {
        Array2::from_shape_fn((n, n + 2), |(i, j)| (i * 3 + j) as f64)
    }

    #[delayed]
    pub fn sums(x: &Array2<f64>) -> Array1<f64> {
        x.sum_axis(Axis(0))
    }
}

/// `ndarray` arrays (feature `ndarray`) go to the workers and come back: made there,
/// read there by reference, returned to the driver.
#[cfg(feature = "ndarray")]
fn ndarray_values(cluster: &Cluster) -> Result<(), String> {
    use arrays::{grid, sums};
    use delayed::ndarray::{Array2, Axis, ShapeBuilder};
    let sched = Scheduler::dask(cluster);
    let g = grid(4);
    let (got, report) =
        delayed::compute_with_report(sums(&g), &sched).map_err(|e| e.to_string())?;
    let want = Array2::from_shape_fn((4, 6), |(i, j)| (i * 3 + j) as f64).sum_axis(Axis(0));
    ensure(got == want, || format!("{got} != {want}"))?;
    ensure(report.tasks_on_cluster == 2, || format!("{report}"))?;
    // An array made here goes out as an input and comes back as a result.
    let here = Array2::from_shape_fn((3, 3).f(), |(i, j)| (i + 10 * j) as f64);
    let back = sums(here.clone())
        .compute_with(&sched)
        .map_err(|e| e.to_string())?;
    ensure(back == here.sum_axis(Axis(0)), || format!("{back}"))
}

/// Connecting to nothing fails within a bounded time, naming the address.
fn bad_address(_: &Cluster) -> Result<(), String> {
    std::env::set_var("DELAYED_DASK_TIMEOUT", "3");
    let started = Instant::now();
    let result = Cluster::connect("tcp://127.0.0.1:9");
    std::env::remove_var("DELAYED_DASK_TIMEOUT");
    let took = started.elapsed();
    let err = result.err().ok_or("connected to nothing")?.to_string();
    ensure(err.contains("tcp://127.0.0.1:9"), || err.clone())?;
    ensure(took < Duration::from_secs(20), || {
        format!("took {took:?}: {err}")
    })
}

/// No Python, or a Python without `distributed`: one line that says what to install.
fn missing_python(_: &Cluster) -> Result<(), String> {
    let saved = std::env::var_os("DELAYED_PYTHON");
    let real = saved.clone().unwrap_or_else(|| "python3".into());
    let wrapper = std::env::temp_dir().join(format!("delayed-no-site-{}", std::process::id()));
    // The same Python without its site-packages: no `distributed`.
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec '{}' -S \"$@\"\n", real.to_string_lossy()),
    )
    .map_err(|e| e.to_string())?;
    let status = std::process::Command::new("chmod")
        .arg("755")
        .arg(&wrapper)
        .status();
    ensure(status.is_ok_and(|s| s.success()), || "chmod".to_owned())?;
    std::env::set_var("DELAYED_PYTHON", "/nonexistent/python3");
    let none = Cluster::local(1).err().map(|e| e.to_string());
    std::env::set_var("DELAYED_PYTHON", &wrapper);
    let bare = Cluster::local(1).err().map(|e| e.to_string());
    match saved {
        Some(python) => std::env::set_var("DELAYED_PYTHON", python),
        None => std::env::remove_var("DELAYED_PYTHON"),
    }
    let _ = std::fs::remove_file(&wrapper);
    for err in [&none, &bare] {
        let err = err.as_deref().ok_or("started without Python/distributed")?;
        ensure(
            err.contains("pip install distributed") && !err.contains('\n'),
            || err.to_owned(),
        )?;
    }
    Ok(())
}

/// The dashboard link is dask's (http) with bokeh installed, and `None` without it (here
/// a Python whose `import bokeh` fails, through a `sitecustomize`).
fn dashboard_needs_bokeh(cluster: &Cluster) -> Result<(), String> {
    let link = cluster
        .dashboard_link()
        .ok_or("no dashboard although bokeh is installed")?;
    ensure(link.starts_with("http://"), || link.clone())?;
    let saved = std::env::var_os("DELAYED_PYTHON");
    let real = saved.clone().unwrap_or_else(|| "python3".into());
    let dir = std::env::temp_dir().join(format!("delayed-no-bokeh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let site = "import sys\nsys.modules['bokeh'] = None\n";
    std::fs::write(dir.join("sitecustomize.py"), site).map_err(|e| e.to_string())?;
    let wrapper = dir.join("python");
    let script = format!(
        "#!/bin/sh\nPYTHONPATH='{}' exec '{}' \"$@\"\n",
        dir.display(),
        real.to_string_lossy()
    );
    std::fs::write(&wrapper, script).map_err(|e| e.to_string())?;
    let status = std::process::Command::new("chmod")
        .arg("755")
        .arg(&wrapper)
        .status();
    ensure(status.is_ok_and(|s| s.success()), || "chmod".to_owned())?;
    std::env::set_var("DELAYED_PYTHON", &wrapper);
    let plain = Cluster::local(1);
    match saved {
        Some(python) => std::env::set_var("DELAYED_PYTHON", python),
        None => std::env::remove_var("DELAYED_PYTHON"),
    }
    let plain = plain.map_err(|e| e.to_string())?;
    let link = plain.dashboard_link();
    let works = (inc("nobokeh", 1) + 1i64)
        .compute_with(&Scheduler::dask(&plain))
        .map_err(|e| e.to_string())?;
    drop(plain);
    let _ = std::fs::remove_dir_all(&dir);
    ensure(link.is_none(), || {
        format!("dashboard without bokeh: {link:?}")
    })?;
    ensure(works == 3, || format!("{works}"))
}

/// A worker killed mid-compute: dask reruns its work and the result is right; dropping
/// the cluster then leaves no process behind.
fn worker_killed_and_shutdown(_: &Cluster) -> Result<(), String> {
    let cluster = Cluster::local(2).map_err(|e| e.to_string())?;
    let workers = cluster.worker_pids().map_err(|e| e.to_string())?;
    let victim = *workers.first().ok_or("no workers")?;
    let naps: Vec<Delayed<u64>> = (0..8).map(|i| nap("kill", i, 700)).collect();
    let sched = Scheduler::dask(&cluster);
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(900));
        std::process::Command::new("kill")
            .args(["-9", &victim.to_string()])
            .status()
    });
    let got = delayed::compute_with(&naps, &sched).map_err(|e| e.to_string())?;
    let killed = killer.join().map_err(|_| "killer panicked")?;
    ensure(killed.is_ok_and(|s| s.success()), || {
        format!("kill {victim} failed")
    })?;
    ensure(got == (0..8).collect::<Vec<u64>>(), || format!("{got:?}"))?;
    // The nanny restarts the worker; the cluster keeps working.
    let after = (inc("kill", 41) + 0i64)
        .compute_with(&sched)
        .map_err(|e| e.to_string())?;
    ensure(after == 42, || format!("after the kill: {after}"))?;
    let mut pids = cluster.worker_pids().map_err(|e| e.to_string())?;
    pids.push(cluster.driver_pid());
    drop(sched);
    drop(cluster);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let alive: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
        if alive.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("still running after drop: {alive:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The processes that ran 16 short tasks spread over the cluster (`salt` keeps them
/// apart from other computes' tasks).
fn runtime_pids(cluster: &Cluster, salt: u64) -> Result<BTreeSet<u32>, String> {
    let pids: Vec<Delayed<u32>> = (0..16).map(|i| pid_after(salt, i, 60)).collect();
    let got = delayed::compute_with(&pids, &Scheduler::dask(cluster)).map_err(|e| e.to_string())?;
    Ok(got.into_iter().collect())
}

/// The parent of process `pid` (from `/proc`).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (name) state ppid …`: the name may hold spaces, so read after its `)`.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One resident runtime per worker: the partitions of two computes all run in the same
/// two long-lived processes, each a child of its worker.
fn resident_runtime(cluster: &Cluster) -> Result<(), String> {
    let first = runtime_pids(cluster, 1)?;
    let second = runtime_pids(cluster, 2)?;
    let workers = cluster.worker_pids().map_err(|e| e.to_string())?;
    ensure(first.len() == 2 && first == second, || {
        format!("first {first:?}, second {second:?}")
    })?;
    for pid in &first {
        let parent = parent_of(*pid);
        ensure(parent.is_some_and(|p| workers.contains(&p)), || {
            format!("runtime {pid} has parent {parent:?}, workers are {workers:?}")
        })?;
    }
    Ok(())
}

/// A runtime killed (SIGKILL) in the middle of a compute: its worker starts another, the
/// partitions it held run again there, and the compute gives the right result.
fn runtime_killed(cluster: &Cluster) -> Result<(), String> {
    let before = runtime_pids(cluster, 3)?;
    let naps: Vec<Delayed<u64>> = (0..8).map(|i| nap("rtkill", i, 500)).collect();
    let job =
        delayed::submit_with(naps.clone(), &Scheduler::dask(cluster)).map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(300));
    for pid in &before {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    let got = job.wait().map_err(|e| e.to_string())?;
    ensure(got == (0..8).collect::<Vec<u64>>(), || format!("{got:?}"))?;
    let after = runtime_pids(cluster, 4)?;
    ensure(after.is_disjoint(&before) && after.len() == 2, || {
        format!("before {before:?}, after {after:?}")
    })
}

/// `dask scheduler` on loopback, writing its address to `file`.
fn start_scheduler(python: &str, file: &Path) -> Result<std::process::Child, String> {
    std::process::Command::new(python)
        .args([
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
        ])
        .args([
            "--port",
            "0",
            "--dashboard-address",
            ":0",
            "--scheduler-file",
        ])
        .arg(file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("dask scheduler: {e}"))
}

/// The address the scheduler wrote to its scheduler file, once it has.
fn scheduler_address(file: &Path, deadline: Instant) -> Result<String, String> {
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let found = text
            .split('"')
            .skip_while(|s| *s != "address")
            .nth(2)
            .filter(|a| a.starts_with("tcp://") || a.starts_with("tls://"));
        if let Some(address) = found {
            return Ok(address.to_owned());
        }
        if Instant::now() > deadline {
            return Err("the scheduler wrote no address".to_owned());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `cluster` has `n` workers.
fn wait_for_workers(cluster: &Cluster, n: usize, deadline: Instant) -> Result<Vec<u32>, String> {
    loop {
        let pids = cluster.worker_pids().map_err(|e| e.to_string())?;
        if pids.len() >= n {
            return Ok(pids);
        }
        if Instant::now() > deadline {
            return Err(format!("{} of {n} workers registered", pids.len()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// "Another host": a worker that joins after the first compute, in a mount namespace
/// where the driver's build directory is hidden under a tmpfs (so the binary's path does
/// not exist there), gets the binary from the plugin and runs the next compute's tasks.
/// Needs root (`unshare -m`), as CI runs.
fn late_worker_elsewhere(_: &Cluster) -> Result<(), String> {
    let python = std::env::var("DELAYED_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let dir = std::env::temp_dir().join(format!("delayed-dask-late-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("scheduler.json");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let hidden = exe
        .parent()
        .ok_or("the test binary has no directory")?
        .to_owned();
    let mut scheduler = start_scheduler(&python, &file)?;
    let mut children: Vec<std::process::Child> = Vec::new();
    let result = (|| {
        let deadline = Instant::now() + Duration::from_secs(60);
        let address = scheduler_address(&file, deadline)?;
        let worker = |local: &str| {
            let mut cmd = std::process::Command::new(&python);
            cmd.args([
                "-m",
                "distributed.cli.dask_worker",
                &address,
                "--nthreads",
                "1",
            ])
            .arg("--local-directory")
            .arg(dir.join(local));
            cmd
        };
        let here = worker("here")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("dask worker: {e}"))?;
        children.push(here);
        let cluster = Cluster::connect(&address).map_err(|e| e.to_string())?;
        wait_for_workers(&cluster, 1, deadline)?;
        let first = runtime_pids(&cluster, 7)?;
        ensure(first.len() == 1, || {
            format!("one worker, runtimes {first:?}")
        })?;
        // The second worker: the binary's directory is an empty tmpfs where it runs.
        let script = r#"mount -t tmpfs tmpfs "$1" && test ! -e "$2" && shift 2 && exec "$@""#;
        let w = worker("elsewhere");
        let elsewhere = std::process::Command::new("unshare")
            .args(["-m", "sh", "-c", script, "sh"])
            .arg(&hidden)
            .arg(&exe)
            .arg(w.get_program())
            .args(w.get_args())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("unshare (needs root): {e}"))?;
        let elsewhere_pid = elsewhere.id();
        children.push(elsewhere);
        let workers = wait_for_workers(&cluster, 2, deadline)?;
        // `dask worker` runs its worker under a nanny: the late one is the nanny's child.
        let late = workers
            .iter()
            .copied()
            .find(|&w| w == elsewhere_pid || parent_of(w) == Some(elsewhere_pid))
            .ok_or_else(|| format!("the late worker {elsewhere_pid} is not among {workers:?}"))?;
        let before = cluster.threads();
        let second = runtime_pids(&cluster, 8)?;
        // One thread each: the compute after the join cut for two.
        ensure((before, cluster.threads()) == (1, 2), || {
            format!(
                "threads {before} → {} after a worker joined",
                cluster.threads()
            )
        })?;
        let parents: Vec<Option<u32>> = second.iter().map(|&p| parent_of(p)).collect();
        ensure(parents.contains(&Some(late)), || {
            format!(
                "no task ran on the late worker {late}: runtimes {second:?}, parents {parents:?}"
            )
        })
    })();
    for child in &mut children {
        stop(child);
    }
    stop(&mut scheduler);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Stops a child process with SIGTERM (dask's CLIs then close cleanly), SIGKILL after 10 s.
fn stop(child: &mut std::process::Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `dask scheduler` and two `dask worker` processes, as on many machines: the same graph
/// gives the same result through `Cluster::connect`, on both workers; dropping the
/// `Cluster` leaves the scheduler running for the next client.
/// dask resources: of two workers, only one has a GPU (`--resources "GPU=1"`), and every
/// `train` runs there; the other tasks run anywhere; a prioritised task runs too.
fn resources_and_priority(_: &Cluster) -> Result<(), String> {
    let python = std::env::var("DELAYED_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let dir = std::env::temp_dir().join(format!("delayed-dask-gpu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("scheduler.json");
    let mut scheduler = start_scheduler(&python, &file)?;
    let mut workers = Vec::new();
    let result = (|| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let address = scheduler_address(&file, deadline)?;
        for extra in [&[][..], &["--resources", "GPU=1"][..]] {
            let worker = std::process::Command::new(&python)
                .args(["-m", "distributed.cli.dask_worker", &address])
                .args(["--nthreads", "1", "--no-nanny", "--local-directory"])
                .arg(&dir)
                .args(extra)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| format!("dask worker: {e}"))?;
            workers.push(worker);
        }
        let gpu = workers[1].id();
        let cluster = Cluster::connect(&address).map_err(|e| e.to_string())?;
        wait_for_workers(&cluster, 2, deadline)?;
        let trains: Vec<_> = (0..6).map(train).collect();
        let others: Vec<_> = (0..6).map(|i| pid_after(11, i, 100)).collect();
        let first = urgent(1);
        let (trained, pids, u) =
            delayed::compute_with((&trains, &others, &first), &Scheduler::dask(&cluster))
                .map_err(|e| e.to_string())?;
        ensure(u == 2, || format!("urgent gave {u}"))?;
        ensure(trained.iter().map(|t| t.0).eq(0..6), || {
            format!("{trained:?}")
        })?;
        for &(i, pid) in &trained {
            ensure(parent_of(pid) == Some(gpu), || {
                format!(
                    "train({i}) ran in {pid} (parent {:?}), not on the GPU worker {gpu}",
                    parent_of(pid)
                )
            })?;
        }
        ensure(pids.len() == 6, || format!("{pids:?}"))
    })();
    for child in &mut workers {
        stop(child);
    }
    stop(&mut scheduler);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A runtime's memory counts against its worker's memory limit: a partition holding more
/// than the limit gets its runtime killed (and sent again, then fails with an error that
/// says why and names the task); the next compute on the same worker runs.
fn memory_limit(_: &Cluster) -> Result<(), String> {
    let python = std::env::var("DELAYED_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let dir = std::env::temp_dir().join(format!("delayed-dask-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("scheduler.json");
    let mut scheduler = start_scheduler(&python, &file)?;
    let mut worker = None;
    let result = (|| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let address = scheduler_address(&file, deadline)?;
        worker = Some(
            std::process::Command::new(&python)
                .args(["-m", "distributed.cli.dask_worker", &address])
                .args(["--nthreads", "1", "--memory-limit", "300MiB"])
                .arg("--local-directory")
                .arg(&dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| format!("dask worker: {e}"))?,
        );
        let cluster = Cluster::connect(&address).map_err(|e| e.to_string())?;
        wait_for_workers(&cluster, 1, deadline)?;
        let dask = Scheduler::dask(&cluster);
        let err = hog(400, 1500)
            .compute_with(&dask)
            .err()
            .ok_or("400 MiB on a worker limited to 300 MiB ran")?
            .to_string();
        ensure(err.contains("memory limit") && err.contains("hog"), || {
            err.clone()
        })?;
        let small = hog(16, 0).compute_with(&dask).map_err(|e| e.to_string())?;
        ensure(small == 16 << 8, || format!("{small}"))
    })();
    if let Some(child) = &mut worker {
        stop(child);
    }
    stop(&mut scheduler);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A CA and one certificate signed by it for 127.0.0.1 (scheduler, worker and client
/// share it), made with the `openssl` command: `(ca, cert, key)`.
fn make_certs(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let openssl = |args: &[&str]| -> Result<(), String> {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("openssl: {e} (install openssl)"))?;
        ensure(out.status.success(), || {
            format!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr))
        })
    };
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .map_err(|e| e.to_string())?;
    let rsa = ["-newkey", "rsa:2048", "-nodes", "-days", "2"];
    let ca_out = [
        "-subj",
        "/CN=delayed-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ];
    openssl(&[&["req", "-x509"], &rsa[..], &ca_out[..]].concat())?;
    let node_out = [
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "node.key",
        "-out",
        "node.csr",
    ];
    openssl(&[&["req"], &rsa[..3], &node_out[..]].concat())?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "node.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "node.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ])?;
    Ok((
        dir.join("ca.pem"),
        dir.join("node.pem"),
        dir.join("node.key"),
    ))
}

/// A scheduler and a worker that require TLS (certificates made by the test): a plain
/// connect is refused with a hint, a missing certificate file is named, `connect_with`
/// computes; a missing scheduler file is a clear error (`connect_to_scheduler` connects
/// through the file a scheduler wrote).
fn tls_and_scheduler_file(_: &Cluster) -> Result<(), String> {
    let python = std::env::var("DELAYED_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let dir = std::env::temp_dir().join(format!("delayed-dask-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (ca, cert, key) = make_certs(&dir)?;
    let tls = |cmd: &mut std::process::Command| {
        cmd.arg("--tls-ca-file").arg(&ca);
        cmd.arg("--tls-cert").arg(&cert);
        cmd.arg("--tls-key").arg(&key);
    };
    let file = dir.join("scheduler.json");
    let mut command = std::process::Command::new(&python);
    command.args([
        "-m",
        "distributed.cli.dask_scheduler",
        "--host",
        "127.0.0.1",
    ]);
    command.args([
        "--port",
        "0",
        "--protocol",
        "tls",
        "--dashboard-address",
        ":0",
    ]);
    command.arg("--scheduler-file").arg(&file);
    tls(&mut command);
    let quiet = || std::process::Stdio::null();
    let mut scheduler = (command.stdout(quiet()).stderr(quiet()).spawn())
        .map_err(|e| format!("dask scheduler: {e}"))?;
    let mut worker = None;
    let result = (|| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let address = scheduler_address(&file, deadline)?;
        ensure(address.starts_with("tls://"), || address.clone())?;
        let mut command = std::process::Command::new(&python);
        command.args([
            "-m",
            "distributed.cli.dask_worker",
            &address,
            "--nthreads",
            "1",
        ]);
        command.arg("--local-directory").arg(&dir);
        tls(&mut command);
        worker = Some(
            (command.stdout(quiet()).stderr(quiet()).spawn())
                .map_err(|e| format!("dask worker: {e}"))?,
        );
        std::env::set_var("DELAYED_DASK_TIMEOUT", "5");
        let plain = Cluster::connect(&address);
        std::env::remove_var("DELAYED_DASK_TIMEOUT");
        let err = plain
            .err()
            .ok_or("a plain connect to a TLS scheduler worked")?
            .to_string();
        ensure(err.contains("connect_with"), || err.clone())?;
        let missing = delayed::dask::Security::tls(dir.join("nope.pem"), &cert, &key);
        let err = Cluster::connect_with(&address, &missing)
            .err()
            .ok_or("connected with a missing CA file")?
            .to_string();
        ensure(err.contains("nope.pem"), || err.clone())?;
        let sec = delayed::dask::Security::tls(&ca, &cert, &key);
        let cluster = Cluster::connect_with(&address, &sec).map_err(|e| e.to_string())?;
        wait_for_workers(&cluster, 1, deadline)?;
        let x = (inc("tls", 1) * 2i64)
            .compute_with(&Scheduler::dask(&cluster))
            .map_err(|e| e.to_string())?;
        ensure(x == 4, || format!("over TLS: {x}"))?;
        drop(cluster);
        let err = Cluster::from_scheduler_file(dir.join("missing.json"))
            .err()
            .ok_or("a missing scheduler file worked")?
            .to_string();
        ensure(err.contains("--scheduler-file"), || err.clone())?;
        Ok(())
    })();
    if let Some(child) = &mut worker {
        stop(child);
    }
    stop(&mut scheduler);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn connect_to_scheduler(_: &Cluster) -> Result<(), String> {
    let python = std::env::var("DELAYED_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let dir = std::env::temp_dir().join(format!("delayed-dask-connect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("scheduler.json");
    let quiet = || std::process::Stdio::null();
    let mut scheduler = start_scheduler(&python, &file)?;
    let mut children = Vec::new();
    let result = (|| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let address = scheduler_address(&file, deadline)?;
        for _ in 0..2 {
            let worker = std::process::Command::new(&python)
                .args(["-m", "distributed.cli.dask_worker", &address])
                .args(["--nthreads", "1", "--nworkers", "1", "--local-directory"])
                .arg(&dir)
                .stdout(quiet())
                .stderr(quiet())
                .spawn()
                .map_err(|e| format!("dask worker: {e}"))?;
            children.push(worker);
        }
        // Both workers registered, or wait.
        let cluster = loop {
            let cluster = Cluster::connect(&address).map_err(|e| e.to_string())?;
            if cluster.worker_pids().map_err(|e| e.to_string())?.len() == 2 {
                break cluster;
            }
            drop(cluster);
            if Instant::now() > deadline {
                return Err("the workers did not register".to_owned());
            }
            std::thread::sleep(Duration::from_millis(300));
        };
        ensure(cluster.scheduler_address() == address, || {
            format!("{} vs {address}", cluster.scheduler_address())
        })?;
        let workers = cluster.worker_pids().map_err(|e| e.to_string())?;
        let naps: Vec<Delayed<u64>> = (0..8).map(|i| nap("connect", i, 200)).collect();
        let sum = total(delayed::collect(naps.iter().map(|n| n.map(|&v| v as i64))));
        let remote = delayed::compute_with((&naps, &sum), &Scheduler::dask(&cluster))
            .map_err(|e| e.to_string())?;
        ensure(remote == ((0..8).collect(), 28), || format!("{remote:?}"))?;
        let parents: Vec<u32> = marks("connect_nap").iter().map(|&(_, p)| p).collect();
        for w in &workers {
            ensure(parents.contains(w), || {
                format!("nothing ran on {w}: {parents:?}")
            })?;
        }
        drop(cluster);
        let again = Cluster::from_scheduler_file(&file).map_err(|e| e.to_string())?;
        ensure(again.scheduler_address() == address, || {
            format!("the file's scheduler: {}", again.scheduler_address())
        })?;
        let x = (inc("connect", 1) * 2i64)
            .compute_with(&Scheduler::dask(&again))
            .map_err(|e| e.to_string())?;
        ensure(x == 4, || format!("second client: {x}"))
    })();
    for child in &mut children {
        stop(child);
    }
    stop(&mut scheduler);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

/// The program `quiet_exit` runs: a compute on a local cluster, then an exit that drops
/// nothing (the driver finds its input closed while the cluster is up).
fn exit_abruptly() -> ! {
    let cluster = Cluster::local(1).expect("a local cluster");
    let x = inc("abrupt", 1).compute_with(&Scheduler::dask(&cluster));
    println!("computed {x:?}");
    std::process::exit(0)
}

/// A program that exits without closing its cluster leaves no Python traceback on its
/// terminal (its driver's stderr is the program's).
fn quiet_exit(_: &Cluster) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    for _ in 0..3 {
        let out = std::process::Command::new(&exe)
            .env(QUIET_EXIT, "1")
            .output()
            .map_err(|e| e.to_string())?;
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        ensure(stdout.contains("computed Ok(2)"), || {
            format!("{stdout}\n{stderr}")
        })?;
        ensure(
            !stderr.contains("Traceback") && !stderr.contains("Error"),
            || format!("the terminal got: {stderr}"),
        )?;
    }
    Ok(())
}

const QUIET_EXIT: &str = "DELAYED_TEST_QUIET_EXIT";
const TERMINAL: &str = "DELAYED_TEST_TERMINAL";

/// Writes a line to stderr on whichever worker runs it.
#[delayed]
fn shout(word: String, i: u64) -> u64 {
    eprintln!("task {i} says {word}");
    i
}

/// One step of a chain, `ms` long.
#[delayed]
fn step(before: u64, ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    before + 1
}

/// The program `terminal` runs, with a progress bar on its stderr: a task that writes to
/// stderr on a worker, a chain of 30 steps of 100 ms, then a long task it is interrupted
/// in (Ctrl-C).
fn terminal_program() -> ! {
    let cluster = Cluster::local(1).expect("a local cluster");
    println!("driver {}", cluster.driver_pid());
    let sched = Scheduler::dask(&cluster);
    println!(
        "shouted {:?}",
        shout("hello-from-a-task", 7).compute_with(&sched)
    );
    match pid_after(4242, 0, 0).compute_with(&sched) {
        Ok(pid) => println!("runtime {pid}"),
        Err(e) => println!("no runtime pid: {e}"),
    }
    let mut chain = step(value(0u64), 100);
    for _ in 1..30 {
        chain = step(chain, 100);
    }
    let bar = sched.clone().progress(delayed::Progress::Always);
    println!("stepped {:?}", chain.compute_with(&bar));
    println!("sleeping");
    let long = nap("interrupted", 0, 60_000).compute_with(&sched);
    println!("woke {long:?}");
    std::process::exit(0)
}

/// What a user's terminal gets from a program computing on a cluster: each line a task
/// writes to stderr on a worker, once, prefixed with the worker; a progress bar that
/// moves task by task (not partition by partition); and, when the program is
/// interrupted with Ctrl-C (SIGINT to its process group, as a terminal sends it), no
/// Python traceback, and no driver or worker runtime left behind (the runtime was in the
/// middle of a 60 s task).
fn terminal(_: &Cluster) -> Result<(), String> {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = std::process::Command::new(&exe);
    command
        .env(TERMINAL, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    // SAFETY: `signal` is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|e| e.to_string())?;
    let pid = child.id();
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let errors = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let stdout = std::io::BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut lines = Vec::new();
    let (mut driver, mut runtime) = (None, None);
    for line in stdout.lines() {
        let Ok(line) = line else { break };
        if let Some(pid) = line.strip_prefix("driver ") {
            driver = pid.parse::<u32>().ok();
        }
        if let Some(pid) = line.strip_prefix("runtime ") {
            runtime = pid.parse::<u32>().ok();
        }
        if line == "sleeping" {
            // The long task started: interrupt, as Ctrl-C in a terminal does.
            std::thread::sleep(Duration::from_millis(1500));
            let interrupted = std::process::Command::new("kill")
                .args(["-INT", "--", &format!("-{pid}")])
                .status();
            if !interrupted.as_ref().is_ok_and(|s| s.success()) {
                let _ = child.kill();
                return Err(format!("kill -INT failed: {interrupted:?}"));
            }
        }
        lines.push(line);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let stderr = errors.join().map_err(|_| "the stderr reader panicked")?;
    let stdout = lines.join("\n");
    let context = || format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    ensure(stdout.contains("shouted Ok(7)"), context)?;
    ensure(stdout.contains("stepped Ok(30)"), context)?;
    ensure(!stdout.contains("woke"), context)?;
    ensure(!status.success(), || format!("{status:?} {}", context()))?;
    // The task's line, once, with its worker.
    let said: Vec<&str> = (stderr.lines())
        .filter(|l| l.contains("task 7 says hello-from-a-task"))
        .collect();
    ensure(
        said.len() == 1 && said[0].starts_with("[worker tcp://"),
        || format!("the task's line, prefixed, once: {said:?}\n{}", context()),
    )?;
    // The bar's counts: one per task, not per partition (30 tasks in several partitions).
    let counts: BTreeSet<u32> = (stderr.split("/30 tasks").filter_map(|before| {
        let digits: String = (before.chars().rev())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.chars().rev().collect::<String>().parse().ok()
    }))
    .collect();
    ensure(counts.len() >= 12 && counts.contains(&30), || {
        format!("the bar showed {counts:?}\n{}", context())
    })?;
    ensure(
        !stderr.contains("Traceback") && !stderr.contains("KeyboardInterrupt"),
        || format!("a traceback reached the terminal\n{}", context()),
    )?;
    // The driver, the local cluster and the worker's runtime (running its 60 s task) end
    // once the program has.
    let driver = driver.ok_or_else(|| format!("no driver pid\n{}", context()))?;
    let runtime = runtime.ok_or_else(|| format!("no runtime pid\n{}", context()))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    for (what, pid) in [("driver", driver), ("runtime", runtime)] {
        while alive(pid) {
            ensure(Instant::now() < deadline, || {
                format!("the {what} {pid} outlived its program by 30 s")
            })?;
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    delayed::worker::enter();
    if std::env::var_os(QUIET_EXIT).is_some() {
        exit_abruptly();
    }
    if std::env::var_os(TERMINAL).is_some() {
        terminal_program();
    }
    let marks = std::env::temp_dir().join(format!("delayed-dask-marks-{}", std::process::id()));
    std::fs::create_dir_all(&marks).expect("marks dir");
    // Inherited by the cluster's workers (started below) and the task processes.
    std::env::set_var(MARKS, &marks);
    let required = std::env::var_os("CI").is_some() || std::env::var_os("DELAYED_PYTHON").is_some();
    let started = Instant::now();
    let cluster = match Cluster::local(2) {
        Ok(cluster) => cluster,
        Err(e) if !required => {
            println!("dask tests skipped (set DELAYED_PYTHON or CI to require them): {e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("dask tests need Python with distributed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "LocalCluster(2) up in {:.2?} (distributed {}), dashboard {:?}",
        started.elapsed(),
        cluster.dask_version(),
        cluster.dashboard_link()
    );
    let checks: &[(&str, Check)] = &[
        ("tutorial_graph", tutorial_graph),
        ("spreads_over_workers", spreads_over_workers),
        ("worker_times", worker_times),
        ("retries", retries),
        ("failures", failures),
        ("driver_side_nodes", driver_side_nodes),
        ("every_node_kind_on_workers", every_node_kind_on_workers),
        ("strict_refuses_driver_tasks", strict_refuses_driver_tasks),
        ("no_barriers", no_barriers),
        ("data_once", data_once),
        ("shapes", shapes),
        ("concurrent_computes", concurrent_computes),
        ("jobs_on_the_cluster", jobs_on_the_cluster),
        ("cancel_on_the_cluster", cancel_on_the_cluster),
        ("two_jobs_overlap", two_jobs_overlap),
        ("performance_report", performance_report),
        ("cache_composes", cache_composes),
        #[cfg(feature = "ndarray")]
        ("ndarray_values", ndarray_values),
        ("bad_address", bad_address),
        ("missing_python", missing_python),
        ("dashboard_needs_bokeh", dashboard_needs_bokeh),
        ("worker_killed_and_shutdown", worker_killed_and_shutdown),
        ("connect_to_scheduler", connect_to_scheduler),
        ("tls_and_scheduler_file", tls_and_scheduler_file),
        ("memory_limit", memory_limit),
        ("resources_and_priority", resources_and_priority),
        ("quiet_exit", quiet_exit),
        ("terminal", terminal),
        ("resident_runtime", resident_runtime),
        ("runtime_killed", runtime_killed),
        ("late_worker_elsewhere", late_worker_elsewhere),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = 0;
    for (name, check) in checks {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let t = Instant::now();
        match check(&cluster) {
            Ok(()) => println!("test {name} ... ok ({:.2?})", t.elapsed()),
            Err(e) => {
                println!("test {name} ... FAILED: {e}");
                failed += 1;
            }
        }
    }
    drop(cluster);
    let _ = std::fs::remove_dir_all(&marks);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
