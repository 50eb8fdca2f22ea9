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
//! returns the new one, and the calls are chained: each one reads the previous list. The
//! second program's method call, `l.append(i)` on a delayed list, is a method of a
//! `#[delayed] impl` block: `l.push(i)` on a `Delayed<List>` builds a task that returns
//! the new list.
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

/// A list of numbers (a type of our own: methods cannot be added to `Vec` itself).
#[derive(Clone, Debug, Default, PartialEq, Tokenize)]
struct List(Vec<i64>);

#[delayed]
impl List {
    /// The list with `i` appended. On a `Delayed<List>`, `l.push(i)` is a lazy call of this.
    fn push(mut self, i: i64) -> List {
        self.0.push(i);
        self
    }
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

    // 2. `l = delayed([]); l.append(i)` → delayed data and a chained method: each `push`
    //    is a task that returns the new list (`l.map(|l| …)` with a closure works too).
    let mut l = value(List::default());
    for i in 0..10 {
        l = l.push(i);
    }
    outln!("2. value(List([])) pushed ten times: {l:?}");
    let result = l.compute()?;
    outln!("   l.compute() = {result:?}");
    assert_eq!(result, List(expected.clone()));
    assert_eq!(result, (0..10).fold(List::default(), List::push)); // the same, run eagerly

    // Equal calls share one task: both chains below are the same ten keys.
    let one = (0..10).fold(value(Vec::<i64>::new()), append);
    let two = (0..10).fold(value(Vec::<i64>::new()), append);
    assert_eq!(one.key(), two.key());
    let (a, b) = delayed::compute((one, two))?;
    outln!("3. two identical chains, computed together (one set of tasks): {a:?}");
    assert_eq!((a, b), (expected.clone(), expected));
    Ok(())
}
