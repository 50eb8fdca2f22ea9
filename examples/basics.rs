//! The tutorial's "Basic usage", "Delayed Data" and "Memoization" cells, in Rust.
//!
//! ```text
//! cargo run --release --example basics                  # 1 s sleeps, as in the tutorial
//! cargo run --release --example basics -- --sleep-ms 50 # quicker
//! cargo run --release --example basics -- --progress --trace trace.json
//! ```
//!
//! `--progress` and `--trace FILE` watch the memoization computes (the trace file holds
//! the last one: open it in Perfetto).

#[macro_use]
mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use delayed::prelude::*;

// ## Basic usage

fn func(a: i64, b: i64, c: i64) -> i64 {
    (2 * a) + (b - c)
}

#[delayed]
fn lazy_func(a: i64, b: i64, c: i64) -> i64 {
    (2 * a) + (b - c)
}

// ## Memoization: `inc` sleeps, so we can see what runs.

#[delayed]
fn inc(i: i64, sleep_ms: u64) -> i64 {
    std::thread::sleep(Duration::from_millis(sleep_ms));
    i + 1
}

/// The tutorial's "Basic usage", "Delayed Data" and "Memoization" cells.
#[derive(clap::Parser, Debug)]
#[command(name = "basics", version)]
struct Args {
    /// How long each `inc` sleeps, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    sleep_ms: u64,
    /// A progress bar on stderr for the memoization computes (when it is a terminal)
    #[arg(long)]
    progress: bool,
    /// Write the last compute's task stream to FILE (Chrome trace JSON: open in Perfetto)
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
}

fn main() -> ExitCode {
    common::main_with("basics", run)
}

/// The whole program, given the command-line arguments.
fn run(args: Vec<String>) -> common::Result<()> {
    let Some(args) = common::parse::<Args>(args)? else {
        return Ok(()); // --help or --version
    };
    let sleep_ms = args.sleep_ms;
    let mut scheduler = Scheduler::new().progress(args.progress);
    if let Some(trace) = &args.trace {
        common::check_writable(trace)?; // before the work, not after it
        scheduler = scheduler.trace(trace);
    }

    outln!("## Basic usage");
    let (a, b, c) = (3, 4, 5);
    outln!("func(a, b, c) = {}", func(a, b, c));

    let func_delayed = lazy_func(a, b, c);
    outln!("lazy_func(a, b, c) = {func_delayed:?}"); // nothing computed yet
    outln!("func_delayed.compute() = {}", func_delayed.compute()?);

    // dask: e = delayed(mul)(2, a); f = delayed(sub)(b, c); g = delayed(add)(e, f)
    use std::ops::{Add, Mul, Sub};
    let e = delay!(Mul::mul(2i64, a));
    let f = delay!(Sub::sub(b, c));
    let g = delay!(Add::add(e.clone(), f.clone()));
    outln!("g = {g:?}");
    let h = &e + &f; // operators on delayed values work as expected
    outln!("h = {h:?}");
    outln!(
        "g.compute(), h.compute() = {:?}",
        (g.compute()?, h.compute()?)
    );

    outln!("\n## Delayed Data");
    let var1 = value(String::from("12345"));
    outln!("var1 = {var1:?}");
    let var2 = delay!((|n: usize| vec![1i64; n])(5));
    outln!("var2 = {var2:?}");
    // dask's `var1[2] + var2[3] + var1[0]` adds a str to an int: a TypeError at compute
    // time. In Rust the types are checked when the graph is built, so we say what we mean:
    // the digits of var1, as numbers.
    let digit = |i: usize| var1.map(move |s| i64::from(s.as_bytes()[i] - b'0'));
    let oper1 = digit(2) + var2.get(3) + digit(0);
    outln!("oper1 = {oper1:?}");
    outln!("oper1.compute() = {}", oper1.compute()?);

    outln!("\n## Memoization (each inc sleeps {sleep_ms} ms)");
    let a = inc(1, sleep_ms);
    let b = inc(1, sleep_ms); // the same key as `a`: computed once
    let c = inc(a.clone(), sleep_ms);
    let d = &b + &c;
    outln!("a.key() == b.key(): {}", a.key() == b.key());

    let (value, took) = timed(|| d.compute_with(&scheduler))?;
    outln!("d.compute() = {value:<12} in {took:>6.2?}  (inc(1) once, then inc(2): 2 sleeps)");
    let one = |x: &Delayed<i64>| x.compute_with(&scheduler);
    let (values, took) = timed(|| Ok::<_, delayed::Error>([one(&a)?, one(&b)?, one(&c)?]))?;
    outln!("[a, b, c] one by one = {values:?} in {took:>6.2?}  (1 + 1 + 2 sleeps)");
    let (values, took) = timed(|| delayed::compute_with([&a, &b, &c], &scheduler))?;
    outln!("compute([a, b, c]) = {values:?} in {took:>6.2?}  (shared nodes once: 2 sleeps)");
    Ok(())
}

/// `f`'s value and how long it took.
fn timed<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<(T, Duration), E> {
    let start = Instant::now();
    let value = f()?;
    Ok((value, start.elapsed()))
}
