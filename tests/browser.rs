//! The performance report in a real browser: headless Chromium (from the system's
//! packages; `.ci/run` installs it) opens a report, and we check what it rendered: the
//! DOM it built has the task stream with one bar per task, the console has no error, and
//! the screenshot is a picture, not a blank page.
//!
//! Without Chromium it skips with a notice, unless `CI` or `DELAYED_CHROMIUM` is set:
//! then it fails. With
//! `DELAYED_SCREENSHOTS=DIR` it also leaves its screenshot there (README's picture).

use std::path::{Path, PathBuf};
use std::process::Command;
#[cfg(feature = "dashboard")]
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

use delayed::prelude::*;

#[delayed]
fn load(i: u64) -> Vec<u64> {
    std::thread::sleep(std::time::Duration::from_millis(20 + 7 * (i % 3)));
    (0..1000).map(|x| x * i).collect()
}

#[delayed]
fn clean(xs: Vec<u64>) -> Vec<u64> {
    std::thread::sleep(std::time::Duration::from_millis(15));
    xs.into_iter().filter(|x| x % 3 != 0).collect()
}

#[delayed]
fn summarize(xs: Vec<Vec<u64>>) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(30));
    xs.iter().flatten().sum()
}

/// The Chromium to use: `DELAYED_CHROMIUM`, else `chromium` or `chromium-browser` on
/// the `PATH`.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DELAYED_CHROMIUM") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Runs headless Chromium on the file `page` with `args`: its stdout and stderr.
fn run_chromium(chromium: &Path, page: &Path, args: &[&str]) -> (String, String) {
    run_page(chromium, &format!("file://{}", page.display()), args)
}

/// Runs headless Chromium on `url` with `args`: its stdout and stderr.
fn run_page(chromium: &Path, url: &str, args: &[&str]) -> (String, String) {
    // A profile of its own per run: two Chromiums cannot share one.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile =
        std::env::temp_dir().join(format!("delayed-chromium-{}-{run}", std::process::id()));
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox", // as root in CI's container
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("Chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "Chromium failed: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn performance_report_renders_in_chromium() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs Chromium (apt-get install chromium) for the browser tests"
        );
        assert!(
            std::env::var_os("DELAYED_CHROMIUM").is_none(),
            "DELAYED_CHROMIUM names no file"
        );
        println!("skipped: no Chromium (set DELAYED_CHROMIUM, or install chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("delayed-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    // 8 loads (2 of them the same key), 6 cleans, one summary: 13 distinct tasks.
    let loads: Vec<Delayed<Vec<u64>>> = (0..8u64).map(|i| load(i % 6)).collect();
    let cleaned: Vec<Delayed<Vec<u64>>> = loads.iter().take(6).map(clean).collect();
    let total = summarize(cleaned);
    let sched = Scheduler::threads(2).performance_report(&page);
    total.compute_with(&sched).unwrap();

    // The DOM Chromium built: the stream and one bar per task.
    let (dom, log) = run_chromium(&chromium, &page, &["--dump-dom"]);
    assert!(dom.contains("id=\"task-stream\""), "{dom}");
    assert_eq!(dom.matches("class=\"task\"").count(), 13, "{dom}");
    for name in ["load", "clean", "summarize"] {
        assert!(dom.contains(&format!("{name}</td>")), "{name} in the table");
    }
    let console: Vec<&str> = (log.lines())
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:?}");

    // The screenshot: a picture with the page's colours, not a blank page.
    let shot = dir.join("report.png");
    let size = "--window-size=1150,1000";
    run_chromium(
        &chromium,
        &page,
        &[size, &format!("--screenshot={}", shot.display())],
    );
    let picture = image::open(&shot).expect("a PNG screenshot").to_rgb8();
    let colours: std::collections::HashSet<[u8; 3]> = picture.pixels().map(|p| p.0).collect();
    let inked = picture.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(colours.len() > 20, "{} colours", colours.len());
    assert!(
        inked * 50 > picture.pixels().len(),
        "{inked} of {} pixels not white",
        picture.pixels().len()
    );
    // The task stream's first colour (the longest function's) is on screen.
    assert!(
        colours.contains(&[0x4c, 0x78, 0xa8]),
        "the stream's bars are drawn"
    );
    if let Some(out) = std::env::var_os("DELAYED_SCREENSHOTS") {
        std::fs::copy(&shot, Path::new(&out).join("report.png")).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The tasks let go by the test (`step_of_work` number k starts once k < RELEASED), the
/// tickets taken, and the tasks finished.
#[cfg(feature = "dashboard")]
static RELEASED: AtomicU64 = AtomicU64::new(0);
#[cfg(feature = "dashboard")]
static TICKETS: AtomicU64 = AtomicU64::new(0);
#[cfg(feature = "dashboard")]
static FINISHED: AtomicU64 = AtomicU64::new(0);

/// Waits for the test to let it go, works 20 ms, and counts itself.
#[cfg(feature = "dashboard")]
#[delayed]
fn step_of_work(i: u64) -> u64 {
    let ticket = TICKETS.fetch_add(1, SeqCst);
    while ticket >= RELEASED.load(SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    FINISHED.fetch_add(1, SeqCst);
    i * 2
}

/// Lets the tasks go up to `n` and waits until they have finished and the dashboard has
/// read them (it reads four times a second).
#[cfg(feature = "dashboard")]
fn release_until(n: u64) {
    RELEASED.store(n, SeqCst);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while FINISHED.load(SeqCst) < n {
        assert!(std::time::Instant::now() < deadline, "tasks stuck");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(600));
}

/// The number in the page's `<span id="done">…</span>`.
#[cfg(feature = "dashboard")]
fn shown_done(dom: &str) -> Option<u64> {
    let start = dom.find("<span id=\"done\">")? + "<span id=\"done\">".len();
    let end = start + dom[start..].find('<')?;
    dom[start..end].trim().parse().ok()
}

#[cfg(feature = "dashboard")]
const TASKS: u64 = 160;

/// The live dashboard during a compute: the test lets its tasks go in steps (20, then
/// 100 of 160), and each look shows that count, the compute running (in the page's DOM;
/// the two screenshots differ); a look after the end shows it done, all tasks counted.
#[test]
#[cfg(feature = "dashboard")]
fn dashboard_follows_a_compute_in_chromium() {
    let Some(chromium) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI needs Chromium");
        println!("skipped: no Chromium");
        return;
    };
    let dir = std::env::temp_dir().join(format!("delayed-dash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dash = delayed::Dashboard::start("127.0.0.1:0").unwrap();
    let sched = Scheduler::threads(2).dashboard(&dash);
    // 160 tasks, let go by the test in steps, so each look sees a count it knows.
    let work = delayed::collect((0..TASKS).map(step_of_work));
    let look = |name: &str| {
        let shot = dir.join(name);
        let (dom, log) = run_page(
            &chromium,
            &dash.link(),
            &["--dump-dom", "--virtual-time-budget=1500"],
        );
        run_page(
            &chromium,
            &dash.link(),
            &[
                "--window-size=1150,900",
                "--virtual-time-budget=1500",
                &format!("--screenshot={}", shot.display()),
            ],
        );
        let errors: Vec<&str> = (log.lines())
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .collect();
        assert!(errors.is_empty(), "console: {errors:?}");
        (dom, image::open(&shot).expect("a screenshot").to_rgb8())
    };
    let (first, second, got) = std::thread::scope(|scope| {
        let running = scope.spawn(|| work.compute_with(&sched).unwrap());
        release_until(20);
        let first = look("dashboard-1.png");
        release_until(100);
        let second = look("dashboard-2.png");
        RELEASED.store(TASKS, SeqCst);
        (first, second, running.join().unwrap())
    });
    assert_eq!(got, (0..TASKS).map(|i| i * 2).collect::<Vec<_>>());
    // The test let 20, then 100 tasks go: the page showed each count.
    let (a, b) = (shown_done(&first.0), shown_done(&second.0));
    assert_eq!((a, b), (Some(20), Some(100)), "{}", second.0);
    assert!(
        first.0.contains("class=\"running\""),
        "the compute is listed as running"
    );
    assert_ne!(
        first.1.as_raw(),
        second.1.as_raw(),
        "the two screenshots differ"
    );
    let inked = second.1.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(inked * 50 > second.1.pixels().len(), "not a blank page");
    // After the end: done, every task counted.
    let (dom, _) = run_page(
        &chromium,
        &dash.link(),
        &["--dump-dom", "--virtual-time-budget=1500"],
    );
    assert_eq!(shown_done(&dom), Some(TASKS), "{dom}");
    assert!(dom.contains("class=\"done\""), "{dom}");
    if let Some(out) = std::env::var_os("DELAYED_SCREENSHOTS") {
        std::fs::copy(
            dir.join("dashboard-2.png"),
            Path::new(&out).join("dashboard.png"),
        )
        .unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
