//! The tutorial's "Side effect" section, done the functional way.
//!
//! dask's two programs silently do the wrong thing:
//!
//! ```text
//! l = []
//! tasks = [delayed(l.append)(i) for i in range(10)]
//! compute(tasks)
//! l                     # [] -- the appends ran on a copy, or not at all
//!
//! l = delayed([])
//! tasks = [l.append(i) for i in range(10)]
//! compute(tasks)
//! l.compute()           # []
//! ```
//!
//! In `delayed` neither compiles: `delay!(l.push(i))`, `delay!((|i| l.push(i))(i))`, a
//! `#[delayed] fn` taking `&mut Vec<_>` and `value(l).map(|l| l.push(i))` are all rejected
//! (see `tests/ui/`). A task's only effect is its result, so `append` takes the list and
//! returns the new one, and the calls are chained: each one reads the previous list.
//!
//! ```text
//! cargo run --release --example side_effects
//! ```

#[macro_use]
mod common;

use std::process::ExitCode;

use delayed::prelude::*;

/// Returns `l` with `i` appended: the list comes in by value and goes out as the result.
#[delayed]
fn append(mut l: Vec<i64>, i: i64) -> Vec<i64> {
    l.push(i);
    l
}

/// The tutorial's side-effect programs, rewritten functionally: each list is the result
/// of a chain of tasks, and equals the eager loop.
#[derive(clap::Parser, Debug)]
#[command(name = "side_effects", version)]
struct Args {}

fn main() -> ExitCode {
    common::main_with("side_effects", run)
}

/// The whole program, given the command-line arguments (none but `--help`, `--version`).
fn run(args: Vec<String>) -> common::Result<()> {
    if common::parse::<Args>(args)?.is_none() {
        return Ok(()); // --help or --version
    }
    let expected: Vec<i64> = (0..10).collect();

    // 1. `delayed(l.append)(i)` → a chain of `append` tasks, starting from a plain list.
    let mut l = append(Vec::<i64>::new(), 0);
    for i in 1..10 {
        l = append(l, i);
    }
    outln!("1. chained append tasks: {l:?}");
    let result = l.compute()?;
    outln!("   l.compute() = {result:?}");
    assert_eq!(result, expected);
    assert_eq!(result, (0..10).fold(Vec::new(), append_eager)); // the same, run eagerly

    // 2. `delayed([]).append(i)` → delayed data, then `map`s that each return a new list.
    let mut l = value(Vec::<i64>::new());
    for i in 0..10 {
        l = l.map(move |l| {
            let mut l = l.clone();
            l.push(i);
            l
        });
    }
    let result = l.compute()?;
    outln!("2. value([]) mapped ten times: l.compute() = {result:?}");
    assert_eq!(result, expected);

    // Equal calls share one task: both chains below are the same ten keys.
    let one = (0..10).fold(value(Vec::<i64>::new()), append);
    let two = (0..10).fold(value(Vec::<i64>::new()), append);
    assert_eq!(one.key(), two.key());
    let (a, b) = delayed::compute((one, two))?;
    outln!("3. two identical chains, computed together (one set of tasks): {a:?}");
    assert_eq!((a, b), (expected.clone(), expected));
    Ok(())
}
