//! The tutorial's opening line, "Dask allows to split a workload to multiple workers
//! using `Futures`", in Rust: computes that run in the background (`delayed::submit`),
//! their results printed as they finish (`delayed::as_completed`), one job cancelled, and
//! a job awaited from async code.
//!
//! ```text
//! cargo run --release --example futures                  # 200 ms per inc
//! cargo run --release --example futures -- --sleep-ms 10 # quicker
//! ```

use std::time::{Duration, Instant};

use delayed::prelude::*;
use delayed::Error;

#[delayed]
fn inc(i: i64, sleep_ms: u64) -> i64 {
    std::thread::sleep(Duration::from_millis(sleep_ms));
    i + 1
}

#[delayed]
fn total(xs: Vec<i64>) -> i64 {
    xs.iter().sum()
}

/// `sum(inc(i) for i in range(n))`: a job of `n` sleeping tasks.
fn work(n: i64, sleep_ms: u64) -> Delayed<i64> {
    total((0..n).map(|i| inc(i, sleep_ms)).collect::<Vec<_>>())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sleep_ms = parse_flags()?;
    let sched = Scheduler::threads(4);
    println!("## Jobs of 8, 1, 4, 2 and 6 incs (each sleeps {sleep_ms} ms), on 4 threads");
    let started = Instant::now();
    let sizes = [8, 1, 4, 2, 6];
    let jobs = sizes
        .iter()
        .map(|&n| delayed::submit_with(work(n, sleep_ms), &sched))
        .collect::<Result<Vec<_>, _>>()?;
    // submit returned at once: the jobs run while this thread goes on.
    println!("submitted {} jobs in {:.2?}", jobs.len(), started.elapsed());
    jobs[0].cancel(); // dask: future.cancel()
    println!("cancelled job 0");

    let mut cancelled = 0;
    for (i, result) in delayed::as_completed(jobs) {
        let t = started.elapsed();
        match result {
            Ok(v) => println!("job {i} (n = {}) finished after {t:>7.2?}: {v}", sizes[i]),
            Err(Error::Cancelled { .. }) => {
                cancelled += 1;
                println!("job {i} (n = {}) cancelled after {t:>7.2?}", sizes[i]);
            }
            Err(e) => return Err(e.into()),
        }
    }
    assert_eq!(cancelled, 1, "exactly the one job was cancelled");

    println!("\n## A job polled, as a GUI's event loop would");
    let job = delayed::submit(work(3, sleep_ms))?;
    let mut frames = 0u64;
    while !job.is_finished() {
        frames += 1; // draw a frame here
        std::thread::yield_now();
    }
    println!("{} after {frames} frames", job.wait()?);

    println!("\n## A job awaited (std::future::Future: any executor)");
    let v = futures::executor::block_on(async { delayed::submit(work(2, sleep_ms))?.await })?;
    println!("awaited: {v}");
    Ok(())
}

fn parse_flags() -> Result<u64, String> {
    let mut args = std::env::args().skip(1);
    let mut sleep_ms = 200;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sleep-ms" => {
                let v = args
                    .next()
                    .ok_or("--sleep-ms needs a number of milliseconds")?;
                sleep_ms = v
                    .parse()
                    .map_err(|_| format!("--sleep-ms: `{v}` is not a number of milliseconds"))?;
            }
            "-h" | "--help" => {
                println!("usage: futures [--sleep-ms MS (default 200)]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(sleep_ms)
}
