//! The tutorial's "Data creation" cell: large data should be created *inside* delayed
//! tasks, not in the client. Five random samples, the standard deviation of each, and the
//! mean of those.
//!
//! ```text
//! cargo run --release --example data_creation
//! cargo run --release --example data_creation -- --samples 8 --size 100000
//! cargo run --release --example data_creation --features ndarray  # also with arrays
//! ```
//!
//! `make_sample` draws random numbers, so it is `#[delayed(pure = false)]`: each call gets a
//! fresh key. A pure function would give the five equal calls `make_sample(1000)` one key,
//! and they would run once: five copies of the same sample.

#[macro_use]
mod common;

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

/// The tutorial's "Data creation" cell: five random samples made inside the graph, the
/// standard deviation of each, and the mean of those.
#[derive(clap::Parser, Debug)]
#[command(name = "data_creation", version)]
struct Args {
    /// How many samples
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    samples: u32,
    /// Values in each sample
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    size: u32,
}

fn main() -> ExitCode {
    common::main_with("data_creation", run)
}

/// The whole program, given the command-line arguments.
fn run(args: Vec<String>) -> common::Result<()> {
    let Some(args) = common::parse::<Args>(args)? else {
        return Ok(()); // --help or --version
    };
    let (samples, std_avg) = build(args.samples as usize, args.size as usize);
    outln!("std_avg = {std_avg:?}");
    // One compute for both: each sample is made once and feeds its `std`.
    let (samples, std_avg) = delayed::compute((&samples, &std_avg))?;
    outln!("std_avg.compute() = {std_avg:.4}");
    outln!("the samples differ (impure: one key and one run per call):");
    for (d, sample) in samples.iter().enumerate() {
        let head: Vec<String> = sample.iter().take(3).map(|v| format!("{v:.4}")).collect();
        let std = std_eager(sample);
        outln!("  sample {d}: [{}, ...]  std {std:.4}", head.join(", "));
    }
    #[cfg(feature = "ndarray")]
    {
        // The same cell with arrays, as the tutorial writes it with numpy.
        let samples: Vec<_> = (0..args.samples)
            .map(|_| arrays::make_sample(args.size as usize))
            .collect();
        let stds: Vec<_> = samples.iter().map(arrays::std).collect();
        let std_avg = arrays::mean(stds);
        let (samples, std_avg) = delayed::compute((&samples, &std_avg))?;
        outln!("with ndarray: std_avg.compute() = {std_avg:.4}");
        let eager: Vec<f64> = samples.iter().map(|s| s.std(0.0)).collect();
        let eager = eager.iter().sum::<f64>() / eager.len() as f64;
        if (eager - std_avg).abs() > 1e-9 * eager.abs().max(1.0) {
            return Err(format!("the graph's {std_avg} differs from the eager {eager}").into());
        }
    }
    Ok(())
}

/// The cell with `ndarray` arrays (feature `ndarray`: `cargo run --example data_creation
/// --features ndarray`), line for line the tutorial's numpy.
#[cfg(feature = "ndarray")]
mod arrays {
    use delayed::ndarray::Array1;
    use delayed::prelude::*;
    use rand::RngExt;

    /// `np.expm1(5 * np.random.rand(n) ** 3)`
    #[delayed(pure = false)]
    pub fn make_sample(n: usize) -> Array1<f64> {
        let mut rng = rand::rng();
        let x: Array1<f64> = Array1::from_shape_fn(n, |_| rng.random::<f64>());
        x.mapv(|v| (5.0 * v.powi(3)).exp_m1())
    }

    /// `np.std`, borrowing the computed array.
    #[delayed]
    pub fn std(x: &Array1<f64>) -> f64 {
        x.std(0.0)
    }

    /// `np.mean`
    #[delayed]
    pub fn mean(stds: Vec<f64>) -> f64 {
        Array1::from(stds).mean().unwrap_or(f64::NAN)
    }
}
