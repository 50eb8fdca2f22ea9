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

/// Runs headless Chromium on `page` with `args`: its stdout and stderr.
fn run_chromium(chromium: &Path, page: &Path, args: &[&str]) -> (String, String) {
    let profile = std::env::temp_dir().join(format!("delayed-chromium-{}", std::process::id()));
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
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("Chromium runs");
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
