//! Draws the tutorial's task graphs, as `visualize()` does in dask, with no Graphviz:
//! `g` (basic usage), `oper1` left to right (delayed data), `std_avg` (data creation) and
//! the histogram solution with N = 4 (the exercise). Each graph is written as `.png`,
//! `.svg` and `.dot`.
//!
//! ```text
//! cargo run --release --example visualize                      # into target/visualize
//! cargo run --release --example visualize -- --out /tmp/graphs
//! ```

#[macro_use]
mod common;

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use delayed::prelude::*;
use delayed::visualize::{Options, Rankdir};

/// "Data creation": samples made inside the graph, then their spread.
mod data_creation {
    use super::*;

    /// `np.expm1(5 * np.random.rand(n)**3)`: random, so not pure (a new key per call).
    #[delayed(pure = false)]
    pub fn make_sample(n: usize) -> Vec<f64> {
        let mut state = std::collections::hash_map::RandomState::new().build_hasher();
        (0..n)
            .map(|i| {
                state.write_usize(i);
                let u = (state.finish() >> 11) as f64 / (1u64 << 53) as f64;
                (5.0 * u * u * u).exp_m1()
            })
            .collect()
    }

    /// `np.std`.
    #[delayed(name = "std")]
    pub fn std_dev(sample: &[f64]) -> f64 {
        let n = sample.len().max(1) as f64;
        let mean = sample.iter().sum::<f64>() / n;
        (sample.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt()
    }

    /// `np.mean` of a list of delayed values.
    #[delayed(name = "mean")]
    pub fn mean(values: Vec<f64>) -> f64 {
        values.iter().sum::<f64>() / values.len().max(1) as f64
    }
}

/// The exercise's solution: N blocks of an image, the differences of every pair, the mean
/// of each difference, and a histogram of the means.
mod histogram {
    use super::*;

    /// A grayscale picture.
    #[derive(Clone, Debug, Tokenize)]
    pub struct Image {
        pub width: usize,
        pub height: usize,
        pub pixels: Vec<u8>,
    }

    /// A synthetic 320×240 picture (rings over a gradient), standing in for
    /// `Image.open(path)` so the example needs no file.
    #[delayed]
    pub fn load(width: usize, height: usize) -> Image {
        let pixels = (0..height)
            .flat_map(|y| {
                (0..width).map(move |x| {
                    let (dx, dy) = (x as f64 - 160.0, y as f64 - 120.0);
                    let ring = ((dx * dx + dy * dy).sqrt() / 6.0).sin() * 60.0;
                    (x as f64 * 0.4 + ring + 100.0).clamp(0.0, 255.0) as u8
                })
            })
            .collect();
        Image {
            width,
            height,
            pixels,
        }
    }

    /// Cuts a 100×100 block starting at (x, y), given as fractions of the free space.
    #[delayed]
    pub fn crop(im: &Image, x: f64, y: f64) -> Image {
        let side = 100.min(im.width).min(im.height);
        let x0 = (x * (im.width - side) as f64) as usize;
        let y0 = (y * (im.height - side) as f64) as usize;
        let pixels = (y0..y0 + side)
            .flat_map(|row| im.pixels[row * im.width + x0..row * im.width + x0 + side].to_vec())
            .collect();
        Image {
            width: side,
            height: side,
            pixels,
        }
    }

    /// `np.abs(im1 - im2)`.
    #[delayed]
    pub fn diff(a: &Image, b: &Image) -> Vec<u8> {
        a.pixels
            .iter()
            .zip(&b.pixels)
            .map(|(p, q)| p.abs_diff(*q))
            .collect()
    }

    /// `np.mean`.
    #[delayed]
    pub fn mean(d: &[u8]) -> f64 {
        d.iter().map(|&v| f64::from(v)).sum::<f64>() / d.len().max(1) as f64
    }

    /// `np.histogram(means)`: counts in 10 equal bins between the smallest and largest.
    #[delayed]
    pub fn histogram(means: Vec<f64>) -> Vec<usize> {
        let lo = means.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut bins = vec![0usize; 10];
        for m in &means {
            let at = if hi > lo {
                (m - lo) / (hi - lo) * 10.0
            } else {
                0.0
            };
            bins[(at as usize).min(9)] += 1;
        }
        bins
    }

    /// The graph for `n` blocks at fixed pseudo-random places (a plain function that
    /// calls delayed ones, as the tutorial says).
    pub fn build_histogram(im: &Delayed<Image>, n: usize) -> Delayed<Vec<usize>> {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut random = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let pieces: Vec<_> = (0..n).map(|_| crop(im, random(), random())).collect();
        let mut diffs = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                diffs.push(diff(&pieces[i], &pieces[j]));
            }
        }
        let means: Vec<_> = diffs.iter().map(mean).collect();
        histogram(means)
    }
}

/// Draws the tutorial's task graphs as .png, .svg and .dot files, with no Graphviz.
#[derive(clap::Parser, Debug)]
#[command(name = "visualize", version)]
struct Args {
    /// Where the pictures go, created if needed
    #[arg(long, value_name = "DIR", default_value = "target/visualize")]
    out: PathBuf,
}

fn main() -> ExitCode {
    common::main_with("visualize", run)
}

/// The whole program, given the command-line arguments.
fn run(args: Vec<String>) -> common::Result<()> {
    let Some(Args { out }) = common::parse::<Args>(args)? else {
        return Ok(()); // --help or --version
    };
    std::fs::create_dir_all(&out)
        .map_err(|e| format!("cannot create the output directory {}: {e}", out.display()))?;
    let lr = Options {
        rankdir: Rankdir::LR,
        ..Options::default()
    };

    // Basic usage: e = delayed(mul)(2, a); f = delayed(sub)(b, c); g = delayed(add)(e, f)
    use std::ops::{Add, Mul, Sub};
    let (a, b, c) = (3i64, 4i64, 5i64);
    let e = delay!(Mul::mul(2i64, a));
    let f = delay!(Sub::sub(b, c));
    let g = delay!(Add::add(e, f));
    outln!("g.compute() = {}", g.compute()?);
    draw("g", &out, &Options::default(), |path, o| {
        g.visualize_with(path, o)
    })?;

    // Delayed data: oper1 = var1[2] + var2[3] + var1[0], drawn with rankdir="LR".
    let var1 = value(String::from("12345"));
    let var2 = delay!((|n: usize| vec![1i64; n])(5));
    let digit = |i: usize| var1.map(move |s| i64::from(s.as_bytes()[i] - b'0'));
    let oper1 = digit(2) + var2.get(3) + digit(0);
    outln!("oper1.compute() = {}", oper1.compute()?);
    draw("oper1", &out, &lr, |path, o| oper1.visualize_with(path, o))?;

    // Data creation: the mean of the standard deviations of five random samples.
    use data_creation::{make_sample, mean, std_dev};
    let samples: Vec<_> = (0..5).map(|_| make_sample(1000)).collect();
    let stds: Vec<_> = samples.iter().map(std_dev).collect();
    let std_avg = mean(stds);
    outln!("std_avg.compute() = {:.3}", std_avg.compute()?);
    draw("std_avg", &out, &lr, |path, o| {
        std_avg.visualize_with(path, o)
    })?;

    // The exercise: a histogram of the differences between pairs of N = 4 blocks.
    let im = histogram::load(320, 240);
    let hist = histogram::build_histogram(&im, 4);
    outln!("histogram.compute() = {:?}", hist.compute()?);
    draw("histogram", &out, &lr, |path, o| {
        hist.visualize_with(path, o)
    })?;
    Ok(())
}

/// Writes `name.png`, `name.svg` and `name.dot` into `out` and prints their paths.
fn draw(
    name: &str,
    out: &Path,
    options: &Options,
    visualize: impl Fn(&Path, &Options) -> Result<(), delayed::visualize::VisualizeError>,
) -> common::Result<()> {
    for ext in ["png", "svg", "dot"] {
        let path = out.join(format!("{name}.{ext}"));
        visualize(&path, options)?;
        outln!("  wrote {}", path.display());
    }
    Ok(())
}
