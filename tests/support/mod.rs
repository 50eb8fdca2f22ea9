//! Helpers shared by the reliability tests.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

/// How long any single compute in these tests may take before it counts as a hang. Far
/// above what any of them needs (the heaviest takes well under a second in release), so it
/// only ever fires on a deadlock, never on a slow machine.
pub const HANG_LIMIT: Duration = Duration::from_secs(120);

/// Runs `f`; if it has not returned after [`HANG_LIMIT`], prints what hung and ends the
/// process with a failure (a hung test would otherwise block CI until its own timeout).
pub fn watchdog<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let (done, wait) = mpsc::channel::<()>();
    let what = what.to_owned();
    let dog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(HANG_LIMIT) {
            eprintln!("watchdog: `{what}` did not finish within {HANG_LIMIT:?}: a hang");
            std::process::exit(101);
        }
    });
    let result = f();
    drop(done);
    dog.join().expect("watchdog thread");
    result
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`), where Linux provides it.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the peak resident set size (`VmHWM`) to the current one, where Linux allows it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Silences the panic messages that a test provokes on purpose (payloads starting with one
/// of `prefixes`, and payloads that are not strings), so CI logs show only real failures.
/// Every other panic is reported by the previous hook as usual.
pub fn quiet_expected_panics(prefixes: &'static [&'static str]) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
            match text {
                Some(text) if !prefixes.iter().any(|p| text.starts_with(p)) => previous(info),
                _ => {}
            }
        }));
    });
}
