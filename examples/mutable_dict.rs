//! The tutorial's exercise "Working with mutable": `analyse` turns a 10×10 matrix into a
//! `(key, value)` pair, and the eager program adds the values into a dict by key. A delayed
//! task cannot fill a dict owned by the client; the dict must be in a task's *return*.
//! Both solutions of the tutorial, with `Vec<f64>` matrices and a `BTreeMap`:
//!
//! 1. `make_dict`: one task builds the whole map from the list of `(key, value)` results;
//! 2. `add_item`: a chain of tasks, each returning the map with one more item added.
//!
//! ```text
//! cargo run --release --example mutable_dict
//! cargo run --release --example mutable_dict -- --count 50
//! ```

#[macro_use]
mod common;

use std::collections::btree_map::{BTreeMap, Entry};
use std::process::ExitCode;

use delayed::prelude::*;
use rand::RngExt;

/// Matrices are `N`×`N`, stored row by row.
pub const N: usize = 10;
/// An `N`×`N` matrix, row-major.
pub type Matrix = Vec<f64>;
/// The tutorial's `defaultdict`, ordered so that printing it is reproducible.
pub type Map = BTreeMap<i64, Matrix>;

/// `np.random.rand(10, 10)`: random, so not pure.
#[delayed(pure = false)]
pub fn make() -> Matrix {
    let mut rng = rand::rng();
    (0..N * N).map(|_| rng.random()).collect()
}

/// `avg = np.mean(data, axis=0)`, `key = int(avg.sum() * 10)`,
/// `value = data - np.add.outer(avg, avg)`.
#[delayed]
pub fn analyse(data: &[f64]) -> (i64, Matrix) {
    let column_mean = |j: usize| (0..N).map(|i| data[i * N + j]).sum::<f64>() / N as f64;
    let avg: Vec<f64> = (0..N).map(column_mean).collect();
    let key = (avg.iter().sum::<f64>() * 10.0) as i64; // `int()` truncates, as `as` does
    let value = (0..N * N)
        .map(|k| data[k] - (avg[k / N] + avg[k % N]))
        .collect();
    (key, value)
}

/// `result[key] += value`, where a missing key counts as 0 (the `defaultdict`).
pub fn add_into(result: &mut Map, key: i64, value: Matrix) {
    match result.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert(value);
        }
        Entry::Occupied(mut slot) => {
            for (sum, v) in slot.get_mut().iter_mut().zip(value) {
                *sum += v;
            }
        }
    }
}

/// Method one: the full map in one call, from every `(key, value)`.
#[delayed]
pub fn make_dict(analysed: Vec<(i64, Matrix)>) -> Map {
    let mut result = Map::new();
    for (key, value) in analysed {
        add_into(&mut result, key, value);
    }
    result
}

/// Method two: takes the map by value and returns it with the item added. The task owns
/// its copy, so no other task sees it change.
#[delayed]
pub fn add_item(mut result: Map, key: i64, value: Matrix) -> Map {
    add_into(&mut result, key, value);
    result
}

/// The eager loop of the exercise.
pub fn eager(datas: &[Matrix]) -> Map {
    let mut result = Map::new();
    for data in datas {
        let (key, value) = analyse_eager(data);
        add_into(&mut result, key, value);
    }
    result
}

/// The graph: `count` random matrices, and the map built by each method from them.
pub fn build(count: usize) -> (Vec<Delayed<Matrix>>, Delayed<Map>, Delayed<Map>) {
    let datas: Vec<Delayed<Matrix>> = (0..count).map(|_| make()).collect();

    // Method one: create the full map in one call.
    let analysed: Vec<_> = datas.iter().map(analyse).collect();
    let result = make_dict(analysed);

    // Method two: chain `add_item` tasks. `analyse(data)` has the same key as in method
    // one, so each analysis still runs once.
    let mut result2 = value(Map::new());
    for data in &datas {
        let (key, value) = analyse(data).unpack();
        result2 = add_item(result2, key, value);
    }
    (datas, result, result2)
}

/// The tutorial's exercise "Working with mutable": a map built in one task, or by a chain
/// of `add_item` tasks; both must equal the eager loop.
#[derive(clap::Parser, Debug)]
#[command(name = "mutable_dict", version)]
struct Args {
    /// How many random 10x10 matrices
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    count: u32,
}

fn main() -> ExitCode {
    common::main_with("mutable_dict", run)
}

/// The whole program, given the command-line arguments.
fn run(args: Vec<String>) -> common::Result<()> {
    let Some(args) = common::parse::<Args>(args)? else {
        return Ok(()); // --help or --version
    };
    let (datas, result, result2) = build(args.count as usize);
    let (datas, result, result2) = delayed::compute((&datas, &result, &result2))?;
    let expected = eager(&datas);
    outln!("len(result) = {} (keys {:?})", result.len(), result.keys());
    outln!(
        "method one (make_dict) equals the eager loop: {}",
        result == expected
    );
    outln!(
        "method two (add_item) equals the eager loop: {}",
        result2 == expected
    );
    if result == expected && result2 == expected {
        Ok(())
    } else {
        Err("a delayed result differs from the eager loop".into())
    }
}
