//! A thread pool that cannot start is an error of the compute like any other: the trace
//! file is still written (the `trace` docs promise it on every path out of a compute).
//!
//! Threads cannot be made to fail to start in-process, so the test runs itself again
//! (`child`, ignored unless asked for) under an address-space limit that leaves no room
//! for the pool's thread stacks.

use delayed::prelude::*;
use delayed::Error;
use std::path::PathBuf;
use std::process::Command;

const CHILD_ENV: &str = "DELAYED_POOL_FAILURE_TRACE";

#[test]
#[ignore = "run by `the_trace_is_written_when_the_pool_cannot_start`"]
fn child() {
    let trace = PathBuf::from(std::env::var_os(CHILD_ENV).expect("the parent sets the path"));
    let sched = Scheduler::threads(Scheduler::MAX_THREADS).trace(&trace);
    let err = (value(1i64) + 1).compute_with(&sched).unwrap_err();
    assert!(matches!(err, Error::Scheduler { .. }), "{err}");
    assert!(err.to_string().contains("could not start"), "{err}");
    let text = std::fs::read_to_string(&trace).expect("the trace was written");
    assert!(text.contains("traceEvents"), "{text}");
    println!("child: {err}");
}

#[test]
#[cfg(target_os = "linux")]
fn the_trace_is_written_when_the_pool_cannot_start() {
    let trace = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pool-failure-trace.json");
    let _ = std::fs::remove_file(&trace);
    let exe = std::env::current_exe().unwrap();
    // Threads get stacks of 512 MiB (`RUST_MIN_STACK`) under a limit of 900 MB of address
    // space: the test's own thread fits, the pool's first does not, and its stack is the
    // one mapping that fails, in `pthread_create`, which reports it. (With small stacks
    // and a tight limit, whichever allocation came last failed: sometimes a thread's
    // signal stack, which aborts the process.) One malloc arena, not one of 64 MiB per
    // thread, keeps the rest of the address space small and fixed.
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 900000 && exec "$0" child --exact --ignored --nocapture"#)
        .arg(&exe)
        .env(CHILD_ENV, &trace)
        .env("RUST_BACKTRACE", "0")
        .env("RUST_MIN_STACK", (512u64 << 20).to_string())
        .env("MALLOC_ARENA_MAX", "1")
        .output()
        .expect("sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child: scheduler error"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(trace.exists());
}
