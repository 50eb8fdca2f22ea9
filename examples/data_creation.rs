//! The tutorial's "Data creation" cell: large data should be created *inside* delayed
//! tasks, not in the client. Five random samples, the standard deviation of each, and the
//! mean of those.
//!
//! ```text
//! cargo run --release --example data_creation
//! ```
//!
//! `make_sample` draws random numbers, so it is `#[delayed(pure = false)]`: each call gets a
//! fresh key. A pure function would give the five equal calls `make_sample(1000)` one key,
//! and they would run once: five copies of the same sample.

use std::process::ExitCode;

use delayed::prelude::*;
use rand::RngExt;

/// `np.expm1(5 * np.random.rand(n) ** 3)`
#[delayed(pure = false)]
pub fn make_sample(n: usize) -> Vec<f64> {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| (5.0 * rng.random::<f64>().powi(3)).exp_m1())
        .collect()
}

/// `np.std`: the population standard deviation.
#[delayed]
pub fn std(values: &[f64]) -> f64 {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    variance.sqrt()
}

/// `np.mean`
#[delayed]
pub fn mean(values: Vec<f64>) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The tutorial's graph: `count` samples of `n` values, their stds, the mean of the stds.
pub fn build(count: usize, n: usize) -> (Vec<Delayed<Vec<f64>>>, Delayed<f64>) {
    let samples: Vec<_> = (0..count).map(|_| make_sample(n)).collect();
    let stds: Vec<_> = samples.iter().map(std).collect();
    let std_avg = mean(stds);
    (samples, std_avg)
}

fn main() -> ExitCode {
    if let Some(arg) = std::env::args().nth(1) {
        eprintln!("data_creation: error: unknown argument `{arg}` (it takes none)");
        return ExitCode::FAILURE;
    }
    let (samples, std_avg) = build(5, 1000);
    println!("std_avg = {std_avg:?}");
    // One compute for both: each sample is made once and feeds its `std`.
    match delayed::compute((&samples, &std_avg)) {
        Ok((samples, std_avg)) => {
            println!("std_avg.compute() = {std_avg:.4}");
            println!("the five samples differ (impure: one key and one run per call):");
            for (d, sample) in samples.iter().enumerate() {
                let head: Vec<String> = sample.iter().take(3).map(|v| format!("{v:.4}")).collect();
                let std = std_eager(sample);
                println!("  sample {d}: [{}, ...]  std {std:.4}", head.join(", "));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("data_creation: error: {e}");
            ExitCode::FAILURE
        }
    }
}
