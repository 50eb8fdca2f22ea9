//! The tutorial's exercise "Putting it all together": open an image, take `N` random
//! 100×100 blocks, take the mean absolute difference of every pair of blocks, and make a
//! histogram of those means (`np.histogram`, 10 bins over [0, 255]).
//!
//! ```text
//! cargo run --release --example histogram
//! cargo run --release --example histogram -- --n 20 --seed 7 --out histogram.png
//! cargo run --release --example histogram -- --image ../shared/images/astronaut.png
//! cargo run --release --example histogram -- --progress --trace trace.json  # for Perfetto
//! ```
//!
//! It builds the graph, computes it, then runs the same functions eagerly (their
//! `_eager` versions), checks that both agree, and prints both times.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use delayed::prelude::*;
use image::{imageops, Rgb, RgbImage};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// The side of a block, in pixels.
pub const BLOCK: u32 = 100;
/// `np.histogram(means, bins=10, range=(0, 255))`, as in dask's benchmark of this exercise.
pub const BINS: usize = 10;
/// The range the bins cover: every possible mean absolute difference of two u8 images.
pub const RANGE: (f64, f64) = (0.0, 255.0);

const USAGE: &str = "usage: histogram [--image PATH] [--n N] [--seed S] [--out PNG] [--cache DIR]
                 [--progress] [--trace FILE] [--cluster local:N|tcp://HOST:PORT]
  --image PATH  the photograph (default: examples/images/rocket.png)
  --n N         number of random 100x100 blocks, at least 2 (default 50)
  --seed S      seed for the block positions (default 0)
  --out PNG     also draw the histogram as a bar chart into this PNG file
  --cache DIR   keep results in DIR and reuse them in later runs
  --progress    a progress bar on stderr (when it is a terminal)
  --trace FILE  write the task stream to FILE (Chrome trace JSON: open in Perfetto)
  --cluster C   compute on dask: local:N (a LocalCluster of N worker processes) or
                tcp://HOST:PORT (a running `dask scheduler`); needs `pip install distributed`";

// ## The tasks: the tutorial's functions, with `#[delayed]`

/// `delayed(Image.open)(path)`: the image is read inside the graph, not by the client.
///
/// The graph passes the path as `delayed::file(path)`, whose key is the file's contents:
/// with `--cache`, a changed file at the same path is not mistaken for the old one.
#[delayed]
pub fn load(path: &Path) -> std::io::Result<RgbImage> {
    common::open_rgb(path)
}

/// The 100×100 block whose top-left corner is at (x, y).
#[delayed]
pub fn crop(image: &RgbImage, x: u32, y: u32) -> RgbImage {
    imageops::crop_imm(image, x, y, BLOCK, BLOCK).to_image()
}

/// `np.abs(a - b)`, per channel, in `i16`: in `u8`, 3 - 5 would wrap around to 254.
#[delayed]
pub fn diff(a: &RgbImage, b: &RgbImage) -> Vec<i16> {
    let (a, b) = (a.as_raw(), b.as_raw());
    a.iter()
        .zip(b)
        .map(|(&p, &q)| (i16::from(p) - i16::from(q)).abs())
        .collect()
}

/// `np.mean`: the sum is exact in `i64`, then one division, as numpy does for integers.
/// Kept in the on-disk cache with `--cache`: one small `f64` per pair.
#[delayed(cache)]
pub fn mean(values: &[i16]) -> f64 {
    let sum: i64 = values.iter().map(|&v| i64::from(v)).sum();
    sum as f64 / values.len() as f64
}

/// What `np.histogram` returns: the count in each bin and the `BINS + 1` bin edges.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    /// How many values fell in each bin.
    pub counts: Vec<u64>,
    /// Bin `i` is `[edges[i], edges[i + 1])`; the last bin also holds `edges[BINS]`.
    pub edges: Vec<f64>,
}

/// `np.histogram(values, bins=BINS, range=RANGE)`, with numpy's exact binning: values
/// outside the range are not counted, and the last bin is closed on the right.
#[delayed(cache)]
pub fn histogram(values: Vec<f64>) -> Histogram {
    let (lo, hi) = RANGE;
    // np.linspace(lo, hi, BINS + 1)
    let step = (hi - lo) / BINS as f64;
    let mut edges: Vec<f64> = (0..=BINS).map(|i| lo + i as f64 * step).collect();
    edges[BINS] = hi;

    let mut counts = vec![0; BINS];
    for v in values {
        if !(lo..=hi).contains(&v) {
            continue; // out of range, or NaN
        }
        // The bin from a scaled index, then nudged so that edges[i] <= v < edges[i + 1].
        let mut i = (((v - lo) * (BINS as f64 / (hi - lo))) as usize).min(BINS - 1);
        if v < edges[i] {
            i -= 1;
        } else if i + 1 < BINS && v >= edges[i + 1] {
            i += 1;
        }
        counts[i] += 1;
    }
    Histogram { counts, edges }
}

// ## Building the graph (the tutorial's `build_histogram`)

/// `itertools.combinations(items, 2)`: every unordered pair, in order.
pub fn pairs<T>(items: &[T]) -> impl Iterator<Item = (&T, &T)> {
    items
        .iter()
        .enumerate()
        .flat_map(move |(i, a)| items[i + 1..].iter().map(move |b| (a, b)))
}

/// `n` random top-left corners of blocks inside a `width`×`height` image, from `seed`.
/// Chosen by the client while it builds the graph, as `np.random.random(N)` is in the
/// tutorial: randomness stays out of the (pure) tasks.
pub fn random_corners(
    (width, height): (u32, u32),
    n: usize,
    seed: u64,
) -> Result<Vec<(u32, u32)>, String> {
    if width < BLOCK || height < BLOCK {
        return Err(format!(
            "the image is {width}x{height}, smaller than one {BLOCK}x{BLOCK} block"
        ));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    Ok((0..n)
        .map(|_| {
            let x = rng.random_range(0..=width - BLOCK);
            let y = rng.random_range(0..=height - BLOCK);
            (x, y)
        })
        .collect())
}

/// The lazy histogram, and how many distinct tasks its graph has.
pub struct LazyHistogram {
    /// The histogram, not computed yet.
    pub histogram: Delayed<Histogram>,
    /// Distinct keys in the graph (dask's `len(dict(graph))`); equal crops count once.
    pub tasks: usize,
}

/// Not `#[delayed]` itself: it calls delayed functions, which build the graph.
pub fn build_histogram(path: &Path, corners: &[(u32, u32)]) -> LazyHistogram {
    let image = load(delayed::file(path));
    let blocks: Vec<Delayed<RgbImage>> = corners.iter().map(|&(x, y)| crop(&image, x, y)).collect();
    let diffs: Vec<Delayed<Vec<i16>>> = pairs(&blocks).map(|(a, b)| diff(a, b)).collect();
    let means: Vec<Delayed<f64>> = diffs.iter().map(mean).collect();
    let histogram = histogram(means.clone());

    let keys = [image.key(), histogram.key()].into_iter();
    let keys = keys.chain(blocks.iter().map(Delayed::key));
    let keys = keys.chain(diffs.iter().map(Delayed::key));
    let keys: HashSet<_> = keys.chain(means.iter().map(Delayed::key)).collect();
    LazyHistogram {
        histogram,
        tasks: keys.len(),
    }
}

/// The same computation, eagerly: the functions as written, called one after another.
pub fn eager_histogram(path: &Path, corners: &[(u32, u32)]) -> std::io::Result<Histogram> {
    let image = load_eager(path)?;
    let blocks: Vec<RgbImage> = corners
        .iter()
        .map(|&(x, y)| crop_eager(&image, x, y))
        .collect();
    let means = pairs(&blocks).map(|(a, b)| mean_eager(&diff_eager(a, b)));
    Ok(histogram_eager(means.collect()))
}

// ## The program

#[delayed::main] // dask's workers run this binary to execute tasks (`--cluster`)
fn main() -> ExitCode {
    common::main_with("histogram", run)
}

/// The command-line options.
struct Options {
    image: PathBuf,
    n: usize,
    seed: u64,
    out: Option<PathBuf>,
    cache: Option<PathBuf>,
    progress: bool,
    trace: Option<PathBuf>,
    cluster: Option<String>,
}

fn parse_args(args: Vec<String>) -> Result<Options, String> {
    let mut options = Options {
        image: Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/images/rocket.png"),
        n: 50,
        seed: 0,
        out: None,
        cache: None,
        progress: false,
        trace: None,
        cluster: None,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--image" => options.image = common::flag_value(&arg, args.next())?,
            "--n" => options.n = common::flag_value(&arg, args.next())?,
            "--seed" => options.seed = common::flag_value(&arg, args.next())?,
            "--out" => options.out = Some(common::flag_value(&arg, args.next())?),
            "--cache" => options.cache = Some(common::flag_value(&arg, args.next())?),
            "--progress" => options.progress = true,
            "--trace" => options.trace = Some(common::flag_value(&arg, args.next())?),
            "--cluster" => options.cluster = Some(common::flag_value(&arg, args.next())?),
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    if options.n < 2 {
        return Err(format!(
            "--n {}: need at least 2 blocks to make a pair",
            options.n
        ));
    }
    Ok(options)
}

/// The whole program, given the command-line arguments.
pub fn run(args: Vec<String>) -> common::Result<()> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let options = parse_args(args)?;
    let size = common::dimensions(&options.image)?;
    let corners = random_corners(size, options.n, options.seed)?;
    println!(
        "{}: {}x{}, {} blocks of {BLOCK}x{BLOCK} (seed {}), {} pairs",
        options.image.display(),
        size.0,
        size.1,
        options.n,
        options.seed,
        options.n * (options.n - 1) / 2
    );

    let cluster = options
        .cluster
        .as_deref()
        .map(common::cluster)
        .transpose()?;
    if let Some(cluster) = &cluster {
        let dashboard = cluster.dashboard_link();
        let dashboard = dashboard.as_deref().unwrap_or("none (pip install bokeh)");
        println!(
            "dask cluster at {}: {} worker threads, dashboard {dashboard}",
            cluster.scheduler_address(),
            cluster.threads()
        );
    }

    // Lazy: build the graph, then compute it; every distinct task runs once, in parallel.
    let start = Instant::now();
    let lazy = build_histogram(&options.image, &corners);
    let built = start.elapsed();
    let mut scheduler = common::scheduler(cluster.as_ref()).progress(options.progress);
    if let Some(dir) = &options.cache {
        scheduler = scheduler.cache(dir);
    }
    if let Some(file) = &options.trace {
        scheduler = scheduler.trace(file);
    }
    let hist = lazy.histogram.compute_with(&scheduler)?;
    let lazy_time = start.elapsed();

    // Eager: the same work, one call after another on this thread.
    let start = Instant::now();
    let eager = eager_histogram(&options.image, &corners)?;
    let eager_time = start.elapsed();
    if hist != eager {
        return Err(format!("lazy and eager histograms differ: {hist:?} vs {eager:?}").into());
    }

    println!("counts: {:?}", hist.counts);
    println!("edges:  {:?}", hist.edges);
    println!(
        "lazy:  {} tasks, {lazy_time:.2?} (building the graph: {built:.2?})",
        lazy.tasks
    );
    println!("eager: {eager_time:.2?} (same counts)");
    if let Some(file) = &options.trace {
        println!(
            "trace: {} (open in https://ui.perfetto.dev)",
            file.display()
        );
    }
    if let Some(cache) = scheduler.disk_cache() {
        let c = cache.counters();
        println!(
            "cache {}: {} hits, {} computed and stored, {} tasks skipped",
            cache.dir().display(),
            c.hits,
            c.writes,
            c.skipped
        );
    }

    if let Some(out) = &options.out {
        common::save_png(&draw_chart(&hist), out)?;
        println!("bar chart: {}", out.display());
    }
    Ok(())
}

// ## The bar chart: drawn with `image` alone, digits from a tiny built-in font

/// A bar chart of `hist`: one bar per bin, its count above it, the bin edges below.
pub fn draw_chart(hist: &Histogram) -> RgbImage {
    const WIDTH: u32 = 640;
    const HEIGHT: u32 = 360;
    const LEFT: u32 = 30; // margins around the plot area
    const TOP: u32 = 30;
    const BOTTOM: u32 = 40;
    let (white, ink, bar) = (Rgb([255, 255, 255]), Rgb([40, 40, 40]), Rgb([70, 130, 180]));

    let mut chart = RgbImage::from_pixel(WIDTH, HEIGHT, white);
    let plot_width = WIDTH - 2 * LEFT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let base = HEIGHT - BOTTOM; // the x axis
    let bins = hist.counts.len().max(1) as u32;
    let bin_width = plot_width / bins;
    let highest = hist.counts.iter().copied().max().unwrap_or(0).max(1);

    for (i, &count) in (0..).zip(&hist.counts) {
        let x = LEFT + i * bin_width;
        let height = (count * u64::from(plot_height) / highest) as u32;
        fill(
            &mut chart,
            (x + 2, base - height),
            (x + bin_width - 2, base),
            bar,
        );
        draw_text(
            &mut chart,
            x + bin_width / 2,
            base - height - 14,
            &count.to_string(),
            ink,
        );
    }
    fill(
        &mut chart,
        (LEFT, base),
        (LEFT + bins * bin_width + 1, base + 2),
        ink,
    );
    for (i, edge) in (0..).zip(&hist.edges) {
        let x = LEFT + i * bin_width;
        fill(&mut chart, (x, base), (x + 1, base + 6), ink);
        draw_text(&mut chart, x, base + 10, &edge.to_string(), ink);
    }
    chart
}

/// Fills the rectangle from `(x0, y0)` to `(x1, y1)` (exclusive), clipped to the image.
fn fill(image: &mut RgbImage, (x0, y0): (u32, u32), (x1, y1): (u32, u32), color: Rgb<u8>) {
    for y in y0..y1.min(image.height()) {
        for x in x0..x1.min(image.width()) {
            image.put_pixel(x, y, color);
        }
    }
}

/// Draws `text` centered on `x`, from `y` down, 3×5 glyphs scaled by 2 (digits and `.`).
fn draw_text(image: &mut RgbImage, x: u32, y: u32, text: &str, color: Rgb<u8>) {
    const SCALE: u32 = 2;
    const ADVANCE: u32 = 4 * SCALE;
    let width = text.chars().count() as u32 * ADVANCE;
    let mut left = x.saturating_sub(width / 2);
    for c in text.chars() {
        for (row, bits) in (0..).zip(glyph(c)) {
            for col in 0..3 {
                if bits & (0b100 >> col) != 0 {
                    let (px, py) = (left + col * SCALE, y + row * SCALE);
                    fill(image, (px, py), (px + SCALE, py + SCALE), color);
                }
            }
        }
        left += ADVANCE;
    }
}

/// Five rows of three pixels each, top to bottom.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b001, 0b001, 0b001],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        _ => [0; 5],
    }
}
