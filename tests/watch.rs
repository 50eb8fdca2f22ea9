//! Watching a compute: the trace file (Chrome trace events, read back with serde_json),
//! the `Report` (its counts against counters kept by the tasks themselves), and the
//! progress bar (no effect on results). Times are only checked for sanity (ordering,
//! nothing negative), never against a clock.

mod support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use delayed::prelude::*;
use delayed::{Error, Progress};
use serde_json::Value;

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("delayed-watch-{}-{name}", std::process::id()))
}

fn schedulers() -> [Scheduler; 4] {
    [
        Scheduler::sync(),
        Scheduler::threads(1),
        Scheduler::threads(2),
        Scheduler::new(),
    ]
}

/// The `"ph":"X"` events of a trace file, and its `otherData.wall_us`.
fn read_trace(path: &PathBuf) -> (Vec<Value>, Vec<Value>, f64) {
    let text = std::fs::read_to_string(path).expect("the trace file exists");
    let json: Value = serde_json::from_str(&text).expect("the trace is valid JSON");
    let events = json["traceEvents"].as_array().expect("traceEvents").clone();
    let (tasks, meta): (Vec<Value>, Vec<Value>) = events.into_iter().partition(|e| e["ph"] == "X");
    let wall = json["otherData"]["wall_us"].as_f64().expect("wall_us");
    (tasks, meta, wall)
}

static WORK_RUNS: AtomicUsize = AtomicUsize::new(0);

#[delayed]
fn work(x: u64) -> u64 {
    WORK_RUNS.fetch_add(1, SeqCst);
    x * 2
}

/// `work` without the counter, for the tests that run beside the one that counts.
#[delayed]
fn twice(x: u64) -> u64 {
    x * 2
}

#[delayed]
fn total(xs: Vec<u64>) -> u64 {
    xs.iter().sum()
}

#[test]
fn trace_has_one_event_per_task_that_ran_and_the_report_agrees() {
    // 50 calls over 20 distinct inputs, gathered by one `total`.
    let parts: Vec<Delayed<u64>> = (0..50u64).map(|i| work(i % 20)).collect();
    let sum = total(parts);
    let want: u64 = (0..50u64).map(|i| (i % 20) * 2).sum();
    for (i, sched) in schedulers().into_iter().enumerate() {
        let path = temp_path(&format!("trace-{i}.json"));
        let sched = sched.trace(&path);
        let before = WORK_RUNS.load(SeqCst);
        let (got, report) = delayed::compute_with_report(&sum, &sched).unwrap();
        let runs = WORK_RUNS.load(SeqCst) - before;
        assert_eq!(got, want, "{sched:?}");
        assert_eq!(runs, 20, "{sched:?}: each distinct key once");

        let (tasks, meta, wall) = read_trace(&path);
        // 20 `work` and `total`; the crate's own `collect` that gathers the `Vec` for
        // `total` is not a task of the user's, so it is not in the trace.
        assert_eq!(tasks.len(), runs + 1, "{sched:?}");
        let named = |name: &str| tasks.iter().filter(|e| e["name"] == name).count();
        let counts = (named("work"), named("collect"), named("total"));
        assert_eq!(counts, (20, 0, 1), "{sched:?}");
        let mut end_of_work: f64 = 0.0;
        for e in &tasks {
            let (ts, dur) = (e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap());
            assert!(ts >= 0.0 && dur >= 0.0 && ts + dur <= wall + 0.001, "{e}");
            let key = e["args"]["key"].as_str().unwrap();
            assert!(key.len() == 8 && key.chars().all(|c| c.is_ascii_hexdigit()));
            let name = e["name"].as_str().unwrap();
            let tid = e["tid"].as_u64().unwrap();
            assert!(
                meta.iter()
                    .any(|m| m["name"] == "thread_name" && m["tid"].as_u64() == Some(tid)),
                "{sched:?}: thread {tid} is named"
            );
            if name == "work" {
                end_of_work = end_of_work.max(ts + dur);
            }
        }
        // `total` read every `work`: it started after they all ended.
        let total_event = tasks.iter().find(|e| e["name"] == "total").unwrap();
        assert_eq!(total_event["args"]["key"], sum.key().short());
        assert!(total_event["ts"].as_f64().unwrap() >= end_of_work - 0.001);
        if i == 0 {
            assert!(
                tasks.iter().all(|e| e["tid"] == 0),
                "sync runs on the caller"
            );
        } else {
            assert!(
                tasks.iter().all(|e| e["tid"].as_u64() >= Some(1)),
                "workers"
            );
        }

        assert_eq!(report.tasks_run, tasks.len(), "{sched:?}");
        assert_eq!(report.deduplicated, 30, "{sched:?}: 50 calls, 20 keys");
        let w = report.function("work").unwrap();
        assert_eq!(w.calls, 20);
        assert_eq!(report.function("total").unwrap().calls, 1);
        assert_eq!(report.functions.len(), 2, "work and total");
        // At most the 20 `work` results wait for `collect` at once; in plan order exactly 20.
        assert!((1..=20).contains(&report.peak_live_results), "{report:?}");
        if i == 0 {
            assert_eq!(report.peak_live_results, 20);
            assert_eq!(report.workers, 1);
        }
        assert!(report.wall.as_secs_f64() * 1e6 + 0.001 >= wall);
        let text = report.to_string();
        assert!(
            text.contains("21 tasks") && text.contains("work") && text.contains("30 duplicate")
        );
        // Counts of one are singular: `total` ran once.
        let total_line = text.lines().find(|l| l.trim_start().starts_with("total"));
        assert!(
            total_line.is_some_and(|l| l.contains(" 1 call ")) && !text.contains(" 1 calls"),
            "{text}"
        );
        if i == 0 {
            assert!(text.contains(" on 1 worker ("), "{text}");
        }
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn data_nodes_are_not_tasks_and_dedup_counts_objects_not_references() {
    let a = value(5u64);
    let x = twice(a.clone());
    // The same node used twice is no duplicate; a second node with the same key is.
    let y = total(vec![x.clone(), x.clone(), twice(a)]);
    let (v, report) = delayed::compute_with_report(&y, &Scheduler::sync()).unwrap();
    assert_eq!(v, 30);
    assert_eq!(
        report.tasks_run, 2,
        "twice and total (the crate's collect is no task)"
    );
    assert_eq!(report.deduplicated, 1);
    assert_eq!(report.peak_live_results, 1);
}

#[test]
fn a_failed_compute_still_writes_its_trace() {
    support::quiet_expected_panics(&["watch: "]);
    #[delayed]
    fn boom(x: u64) -> u64 {
        if x == 3 {
            panic!("watch: boom");
        }
        x
    }
    let path = temp_path("failed.json");
    let d = total((0..5u64).map(boom).collect::<Vec<_>>());
    let err = d.compute_with(&Scheduler::sync().trace(&path)).unwrap_err();
    assert!(matches!(err, Error::Panicked { .. }), "{err}");
    let (tasks, _, _) = read_trace(&path);
    // Plan order: boom(0..=3) ran (the last one failed), nothing after it.
    assert_eq!(tasks.len(), 4);
    assert!(tasks.iter().all(|e| e["name"] == "boom"));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn trace_write_errors_are_errors_not_panics() {
    let path = temp_path("no-such-dir").join("trace.json");
    let d = twice(1);
    let err = d.compute_with(&Scheduler::new().trace(&path)).unwrap_err();
    match &err {
        Error::Trace { path: p, .. } => assert_eq!(p, &path),
        other => panic!("expected a trace error, got {other:?}"),
    }
    assert!(err.to_string().contains("trace.json"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
    // A path with no file name at all.
    let err = d.compute_with(&Scheduler::sync().trace("/")).unwrap_err();
    assert!(matches!(err, Error::Trace { .. }), "{err}");
}

#[test]
fn concurrent_computes_tracing_to_one_file_leave_a_whole_trace() {
    let path = temp_path("shared.json");
    let sched = Scheduler::threads(2).trace(&path);
    support::watchdog("concurrent traced computes", || {
        std::thread::scope(|scope| {
            for t in 0..8u64 {
                let sched = &sched;
                scope.spawn(move || {
                    for c in 0..10u64 {
                        let d = total((0..20u64).map(|i| twice(i + t + c)).collect::<Vec<_>>());
                        let want: u64 = (0..20u64).map(|i| 2 * (i + t + c)).sum();
                        assert_eq!(d.compute_with(sched).unwrap(), want);
                    }
                });
            }
        });
    });
    let (tasks, _, _) = read_trace(&path);
    assert_eq!(tasks.len(), 21, "the last compute's trace, whole");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn progress_bars_do_not_change_results() {
    let parts: Vec<Delayed<u64>> = (0..200u64).map(|i| twice(i % 50)).collect();
    let sum = total(parts);
    let want = sum.compute_with(&Scheduler::sync()).unwrap();
    for (i, sched) in schedulers().into_iter().enumerate() {
        // `Always` draws into the test's output: once is enough.
        let always = if i == 2 {
            Progress::Always
        } else {
            Progress::Off
        };
        for when in [Progress::Terminal, always] {
            let sched = sched.clone().progress(when);
            assert_eq!(sum.compute_with(&sched).unwrap(), want, "{sched:?}");
        }
        let both = sched.clone().progress(true).trace(temp_path("both.json"));
        let (got, report) = delayed::compute_with_report(&sum, &both).unwrap();
        assert_eq!((got, report.tasks_run), (want, 51));
    }
    let _ = std::fs::remove_file(temp_path("both.json"));
    assert_eq!(
        format!("{:?}", Scheduler::sync().progress(true).trace("t.json")),
        "Scheduler::sync().progress(Progress::Terminal).trace(\"t.json\")"
    );
    assert_eq!(Progress::from(false), Progress::Off);
}

#[test]
fn performance_report_is_one_html_page_with_a_bar_per_task() {
    let path = temp_path("report.html");
    let parts: Vec<Delayed<u64>> = (0..30u64).map(|i| twice(i % 10)).collect();
    let sum = total(parts);
    for sched in schedulers() {
        let sched = sched.performance_report(&path);
        assert_eq!(sum.compute_with(&sched).unwrap(), 270);
        let page = std::fs::read_to_string(&path).expect("the report exists");
        assert!(page.starts_with("<!DOCTYPE html>"), "{sched:?}");
        assert!(page.trim_end().ends_with("</html>"));
        // 10 distinct `twice` and one `total`: a bar each, on the task stream.
        assert_eq!(
            page.matches("<rect class=\"task\"").count(),
            11,
            "{sched:?}"
        );
        assert!(page.contains("id=\"task-stream\""));
        // The per-function table, and the summary's dedup count (30 calls, 10 keys).
        for row in [
            "<td>10</td>",
            "twice</td>",
            "total</td>",
            "calls saved by dedup</td><td>20</td>",
        ] {
            assert!(page.contains(row), "{row} in {sched:?}");
        }
        // Nothing from the network: no script, style or picture from elsewhere.
        for link in ["src=\"http", "href=\"http", "url(http", "@import"] {
            assert!(!page.contains(link), "{link} in {sched:?}");
        }
        #[cfg(feature = "visualize")]
        assert!(
            page.contains("<div id=\"graph\"><svg"),
            "a small graph is drawn"
        );
    }
    std::fs::remove_file(&path).unwrap();
}

static UNREPORTED_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Counts its runs, for the one test that computes it.
#[delayed]
fn unreported(x: u64) -> u64 {
    UNREPORTED_RUNS.fetch_add(1, SeqCst);
    x
}

#[test]
fn performance_report_in_a_missing_directory_is_an_error_before_anything_runs() {
    let missing = temp_path("no-such-dir").join("report.html");
    let sched = Scheduler::new().performance_report(&missing);
    let e = unreported(1).compute_with(&sched).unwrap_err();
    let Error::Report { path, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(path, &missing);
    assert!(e.to_string().contains("does not exist"), "{e}");
    // A task of its own, which no other test computes: it never ran.
    assert_eq!(UNREPORTED_RUNS.load(SeqCst), 0);
    assert_eq!(
        format!("{:?}", Scheduler::sync().performance_report("r.html")),
        "Scheduler::sync().performance_report(\"r.html\")"
    );
}

/// A million tasks: the report stays a few hundred kB (release only: `.ci/run` runs it).
#[test]
#[cfg_attr(debug_assertions, ignore = "a million tasks: run in release")]
fn performance_report_of_a_million_tasks_is_small() {
    let path = temp_path("million-report.html");
    let n = 1_000_000u64;
    let parts: Vec<Delayed<u64>> = (0..n).map(twice).collect();
    let sched = Scheduler::new().performance_report(&path);
    assert_eq!(total(parts).compute_with(&sched).unwrap(), n * (n - 1));
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size < 2_000_000, "{size} bytes");
    let page = std::fs::read_to_string(&path).unwrap();
    assert!(page.contains("1000001 tasks: binned"));
    println!("a report of 1000001 tasks: {size} bytes");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn performance_report_of_many_tasks_is_binned_and_small() {
    // Over the report's bar limit: the stream is binned, the file stays small.
    let path = temp_path("big-report.html");
    let n = 200_000u64;
    let parts: Vec<Delayed<u64>> = (0..n).map(twice).collect();
    let sched = Scheduler::threads(2).performance_report(&path);
    assert_eq!(total(parts).compute_with(&sched).unwrap(), n * (n - 1));
    let size = std::fs::metadata(&path).unwrap().len();
    let page = std::fs::read_to_string(&path).unwrap();
    assert_eq!(page.matches("<rect class=\"task\"").count(), 0);
    assert!(page.contains("<rect class=\"bin\""));
    assert!(page.contains("200001 tasks: binned"), "the page says how");
    assert!(size < 1_000_000, "{size} bytes");
    assert!(!page.contains("id=\"graph\""), "a big graph is not drawn");
    std::fs::remove_file(&path).unwrap();
}

/// GET `path` from the dashboard at `address`: the response body.
#[cfg(feature = "dashboard")]
fn http_get(address: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    // HTTP/1.0: the body comes whole, not chunked.
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "{head}"
    );
    body.to_owned()
}

/// Two schedulers on one dashboard: both computes listed, done, every task counted (a
/// large compute's counts are sampled while it runs, exact once it succeeded); a failed
/// compute says so.
#[test]
#[cfg(feature = "dashboard")]
fn dashboard_lists_the_computes_of_every_scheduler_given_it() {
    let dash = delayed::Dashboard::start("127.0.0.1:0").unwrap();
    let big = Scheduler::threads(2).dashboard(&dash);
    let small = Scheduler::sync().dashboard(&dash);
    let n = 20_000u64;
    let parts: Vec<Delayed<u64>> = (0..n).map(|i| twice(i + 7)).collect();
    assert_eq!(
        total(parts).compute_with(&big).unwrap(),
        (7..n + 7).map(|i| 2 * i).sum::<u64>()
    );
    assert_eq!(twice(21).compute_with(&small).unwrap(), 42);
    let boom = value(1u64).map(|_| -> u64 { panic!("boom") });
    assert!(boom.compute_with(&small).is_err());
    let page = http_get(dash.address(), "/");
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("id=\"done\""));
    let state: Value = serde_json::from_str(&http_get(dash.address(), "/api/state")).unwrap();
    let computes = state["computes"].as_array().unwrap();
    assert_eq!(computes.len(), 3, "{state}");
    let first = &computes[0];
    assert_eq!(
        (first["state"].as_str(), first["total"].as_u64()),
        (Some("done"), Some(n + 1))
    );
    assert_eq!(first["done"], first["total"]);
    assert!(first["what"]
        .as_str()
        .unwrap()
        .starts_with("Scheduler::threads(2).dashboard(http://127.0.0.1:"));
    let functions = first["functions"].as_array().unwrap();
    assert!(
        functions
            .iter()
            .any(|f| f[0] == "twice" && f[1] == n && f[2] == n),
        "{functions:?}"
    );
    assert_eq!(computes[1]["state"], "done");
    assert_eq!(computes[2]["state"], "failed");
    assert!(computes[2]["error"].as_str().unwrap().contains("boom"));
}

#[delayed(cache)]
fn stored_square(x: u64) -> u64 {
    x * x
}

/// The report and the performance report count the results read from the cache.
#[test]
fn reports_count_cache_hits() {
    let dir = temp_path("cache-hits");
    let page = temp_path("cache-hits.html");
    let _ = std::fs::remove_dir_all(&dir);
    let squares = || delayed::collect((0..5u64).map(stored_square));
    let sched = Scheduler::new().cache(&dir).performance_report(&page);
    let (first, report) = delayed::compute_with_report(squares(), &sched).unwrap();
    assert_eq!((first, report.cache_hits), (vec![0, 1, 4, 9, 16], 0));
    let (again, report) = delayed::compute_with_report(squares(), &sched).unwrap();
    assert_eq!((again, report.cache_hits), (vec![0, 1, 4, 9, 16], 5));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("cache hits</td><td>5</td>"), "{html}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&page).unwrap();
}
