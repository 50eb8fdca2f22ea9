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

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

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

type Check = fn(&Cluster) -> Result<(), String>;

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
    ensure(remote == local, || format!("dask gave {remote}, local {local}"))?;
    ensure(remote == 2 * (0..40).map(|i| i % 20 + 1).sum::<i64>() + 1, || {
        format!("wrong value {remote}")
    })?;
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
    ensure(took < Duration::from_millis(2200), || format!("took {took:?}"))
}

/// `Err` and panics come back as locally, with the task's name; the cluster still works.
fn failures(cluster: &Cluster) -> Result<(), String> {
    let sched = Scheduler::dask(cluster);
    let err = (parse("forty-two") + 1).compute_with(&sched).err().ok_or("no error")?;
    ensure(matches!(err, delayed::Error::Failed { .. }), || format!("{err:?}"))?;
    ensure(err.task().is_some_and(|t| t.starts_with("parse-")), || format!("{err}"))?;
    ensure(err.to_string().contains("invalid digit"), || format!("{err}"))?;
    ensure(err.dependents().iter().any(|d| d.starts_with("add-")), || format!("{err}"))?;
    let err = explode(13).compute_with(&sched).err().ok_or("no panic error")?;
    ensure(matches!(err, delayed::Error::Panicked { .. }), || format!("{err:?}"))?;
    ensure(err.to_string().contains("unlucky 13"), || format!("{err}"))?;
    ensure(err.task().is_some_and(|t| t.starts_with("explode-")), || format!("{err}"))?;
    let ok = (parse(" 41 ") + 1).compute_with(&sched).map_err(|e| e.to_string())?;
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

fn main() -> ExitCode {
    delayed::worker::enter();
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
        ("failures", failures),
        ("driver_side_nodes", driver_side_nodes),
    ];
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
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
