//! The tutorial's exercise "Putting it all together": open an image, take `N` random
//! 100×100 blocks, take the mean absolute difference of every pair of blocks, and make a
//! histogram of those means (`np.histogram`, 10 bins over [0, 255]).
//!
//! ```text
//! cargo run --release --example histogram
//! cargo run --release --example histogram -- --n 20 --seed 7 --out histogram.png
//! cargo run --release --example histogram -- --out histogram.jpg            # or a JPEG
//! cargo run --release --example histogram -- --image ../shared/images/astronaut.png
//! cargo run --release --example histogram -- --progress --trace trace.json  # for Perfetto
//! cargo run --release --example histogram -- --report report.html  # one HTML page
//! ```
//!
//! It builds the graph, computes it, then runs the same functions eagerly (their
//! `_eager` versions), checks that both agree, and prints both times.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use delayed::prelude::*;
use image::{imageops, RgbImage};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// The side of a block, in pixels.
pub const BLOCK: u32 = 100;
/// `np.histogram(means, bins=10, range=(0, 255))`, as in dask's benchmark of this exercise.
pub const BINS: usize = 10;
/// The range the bins cover: every possible mean absolute difference of two u8 images.
pub const RANGE: (f64, f64) = (0.0, 255.0);

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

/// The lazy histogram: its graph, built, not computed yet.
pub struct LazyHistogram {
    /// The histogram, not computed yet.
    pub histogram: Delayed<Histogram>,
}

impl LazyHistogram {
    /// Distinct nodes in the graph ([`Delayed::graph_len`]): equal crops, and the pairs
    /// they repeat, count once. Not free (a walk of the whole graph), so not part of
    /// building.
    pub fn tasks(&self) -> usize {
        self.histogram.graph_len()
    }
}

/// Not `#[delayed]` itself: it calls delayed functions, which build the graph.
pub fn build_histogram(path: &Path, corners: &[(u32, u32)]) -> LazyHistogram {
    let image = load(delayed::file(path));
    let blocks: Vec<Delayed<RgbImage>> = corners.iter().map(|&(x, y)| crop(&image, x, y)).collect();
    let diffs: Vec<Delayed<Vec<i16>>> = pairs(&blocks).map(|(a, b)| diff(a, b)).collect();
    let means: Vec<Delayed<f64>> = diffs.iter().map(mean).collect();
    LazyHistogram {
        histogram: histogram(means),
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

/// The tutorial's image exercise: a histogram of the mean absolute differences between
/// pairs of random 100x100 blocks of a photograph, computed lazily and checked against
/// the eager run.
#[derive(clap::Parser, Debug)]
#[command(name = "histogram", version)]
struct Args {
    /// The photograph [default: examples/images/rocket.png]
    #[arg(long, value_name = "PATH")]
    image: Option<PathBuf>,
    /// Number of random 100x100 blocks, at least 2
    #[arg(long, default_value_t = 50)]
    n: usize,
    /// Seed for the block positions
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also draw the histogram as a bar chart into this .png or .jpg file
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Keep results in DIR and reuse them in later runs
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// A progress bar on stderr (when it is a terminal)
    #[arg(long)]
    progress: bool,
    /// Write the task stream to FILE (Chrome trace JSON: open in Perfetto)
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write a performance report to FILE (one HTML page; dask's own on a cluster)
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Compute on dask: local:N (a LocalCluster of N worker processes) or tcp://HOST:PORT
    /// (a running `dask scheduler`); needs `pip install distributed`
    #[arg(long, value_name = "CLUSTER")]
    cluster: Option<String>,
}

/// Memory per pair while the graph is built and computed: the `diff` and `mean` nodes,
/// their keys, the plan's tables and the means. Measured as the growth of peak RSS from
/// `--n 500` (92 MB) to `--n 1000` (291 MB), release build: 543 bytes per pair.
pub const BYTES_PER_PAIR: u128 = 550;

/// The memory a run may use when the machine does not say what it has available.
const FALLBACK_AVAILABLE: u128 = 4 << 30;

/// Refuses, before anything is allocated, an `n` whose graph would not fit in the memory
/// this machine has available now (`MemAvailable` of `/proc/meminfo`; 4 GiB where that
/// cannot be read).
pub fn check_size(n: usize) -> Result<(), String> {
    check_size_within(n, available_memory().unwrap_or(FALLBACK_AVAILABLE))
}

/// [`check_size`] against `available` bytes, of which a run may use 80 %: `n` blocks
/// make `n (n - 1) / 2` pairs, and each pair two tasks.
pub fn check_size_within(n: usize, available: u128) -> Result<(), String> {
    if n < 2 {
        return Err(format!("--n {n}: need at least 2 blocks to make a pair"));
    }
    let budget = available / 5 * 4;
    let n = n as u128;
    let pairs = n * (n - 1) / 2;
    let tasks = 2 * pairs + n + 2;
    if pairs.saturating_mul(BYTES_PER_PAIR) > budget {
        let gib = |bytes: u128| bytes as f64 / f64::from(1u32 << 30);
        let need = gib(pairs.saturating_mul(BYTES_PER_PAIR));
        let memory = if need < 1e6 {
            format!("about {need:.1} GiB of memory")
        } else {
            "more memory than any machine has".to_owned()
        };
        // The largest n whose pairs fit the budget: n (n - 1) / 2 ≤ budget / BYTES_PER_PAIR.
        let max_pairs = budget / BYTES_PER_PAIR;
        let mut max_n = ((2.0 * max_pairs as f64).sqrt() as u128).max(2);
        while max_n * (max_n - 1) / 2 > max_pairs && max_n > 2 {
            max_n -= 1;
        }
        return Err(format!(
            "--n {n}: {pairs} pairs make {tasks} tasks, {memory}, more than this machine \
             can spare ({:.1} GiB available); at most --n {max_n} here",
            gib(available)
        ));
    }
    Ok(())
}

/// `MemAvailable` of `/proc/meminfo`, in bytes (Linux).
fn available_memory() -> Option<u128> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The whole program, given the command-line arguments.
pub fn run(args: Vec<String>) -> common::Result<()> {
    let Some(args) = common::parse::<Args>(args)? else {
        return Ok(()); // --help or --version
    };
    let image = args.image.clone().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/images/rocket.png")
    });
    check_size(args.n).map_err(common::Usage)?;
    // Everything that will be written is checked before the work.
    let chart_format = match &args.out {
        Some(out) => {
            common::check_writable(out)?;
            Some(common::image_format(out)?)
        }
        None => None,
    };
    if let Some(trace) = &args.trace {
        common::check_writable(trace)?;
    }
    let size = common::dimensions(&image)?;
    let corners = random_corners(size, args.n, args.seed)?;
    outln!(
        "{}: {}x{}, {} blocks of {BLOCK}x{BLOCK} (seed {}), {} pairs",
        image.display(),
        size.0,
        size.1,
        args.n,
        args.seed,
        args.n * (args.n - 1) / 2
    );

    let cluster = args.cluster.as_deref().map(common::cluster).transpose()?;
    if let Some(cluster) = &cluster {
        let dashboard = cluster.dashboard_link();
        let dashboard = dashboard.as_deref().unwrap_or("none (pip install bokeh)");
        outln!(
            "dask cluster at {}: {} worker threads, dashboard {dashboard}",
            cluster.scheduler_address(),
            cluster.threads()
        );
    }

    // Lazy: build the graph, then compute it; every distinct task runs once, in parallel.
    let start = Instant::now();
    let lazy = build_histogram(&image, &corners);
    let built = start.elapsed();
    let mut scheduler = common::scheduler(cluster.as_ref()).progress(args.progress);
    if let Some(dir) = &args.cache {
        scheduler = scheduler.cache(dir);
    }
    if let Some(file) = &args.trace {
        scheduler = scheduler.trace(file);
    }
    if let Some(file) = &args.report {
        scheduler = scheduler.performance_report(file);
    }
    let hist = lazy.histogram.compute_with(&scheduler)?;
    let lazy_time = start.elapsed();
    // Counted after the timer: walking 9 M nodes is not building them.
    let tasks = lazy.tasks();
    drop(lazy);

    // Eager: the same work, one call after another on this thread.
    let start = Instant::now();
    let eager = eager_histogram(&image, &corners)?;
    let eager_time = start.elapsed();
    if hist != eager {
        return Err(format!("lazy and eager histograms differ: {hist:?} vs {eager:?}").into());
    }

    outln!("counts: {:?}", hist.counts);
    outln!("edges:  {:?}", hist.edges);
    outln!("lazy:  {tasks} tasks, {lazy_time:.2?} (building the graph: {built:.2?})");
    outln!("eager: {eager_time:.2?} (same counts)");
    if let Some(file) = &args.trace {
        outln!(
            "trace: {} (open in https://ui.perfetto.dev)",
            file.display()
        );
    }
    if let Some(cache) = scheduler.disk_cache() {
        let c = cache.counters();
        outln!(
            "cache {}: {} hits, {} computed and stored, {} tasks skipped",
            cache.dir().display(),
            c.hits,
            c.writes,
            c.skipped
        );
    }

    if let (Some(out), Some(format)) = (&args.out, chart_format) {
        let title = format!(
            "{}: {} pairs of {} blocks",
            image.file_name().unwrap_or_default().to_string_lossy(),
            args.n * (args.n - 1) / 2,
            args.n
        );
        let chart = draw_chart(&hist, &title)?;
        common::save_image(&chart, out, format)?;
        outln!("bar chart: {}", out.display());
    }
    Ok(())
}

// ## The bar chart, drawn with `plotters` into a pixel buffer

/// The font of the chart's text: DejaVu Sans (Latin-1), the one the runtime bundles for
/// its pictures, so no system font is needed.
const FONT: &[u8] = include_bytes!("../delayed-runtime/assets/DejaVuSans-Latin1.ttf");
/// The chart's size in pixels.
pub const CHART_SIZE: (u32, u32) = (800, 500);

/// A bar chart of `hist`: a title, a y axis of counts and an x axis of mean absolute
/// differences (both with ticks and labels), one bar per bin with its count above it. A
/// bin of count 1 still shows a bar (the y axis always reaches above the highest count).
pub fn draw_chart(hist: &Histogram, title: &str) -> Result<RgbImage, String> {
    use plotters::prelude::*;
    use plotters::style::{register_font, FontStyle};

    static FONT_REGISTERED: std::sync::Once = std::sync::Once::new();
    FONT_REGISTERED.call_once(|| {
        // Fails only for a font that does not parse: the text then is not drawn, which
        // `chart_draws_its_text` would notice.
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });

    let (width, height) = CHART_SIZE;
    let mut pixels = vec![255u8; width as usize * height as usize * 3];
    let failed = |e: &dyn std::fmt::Display| format!("cannot draw the chart: {e}");
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        // x runs over bin numbers (bin i is [i, i + 1)), labelled with the bin edges.
        let bins = hist.counts.len();
        let highest = hist.counts.iter().copied().max().unwrap_or(0);
        // Room above the highest bar for its count.
        let top = (highest + highest / 8).max(highest + 1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..bins as f64, 0u64..top)
            .map_err(|e| failed(&e))?;
        let edge_label = |x: &f64| {
            let i = x.round() as usize;
            match hist.edges.get(i) {
                Some(edge) if (x - i as f64).abs() < 1e-9 => format!("{edge}"),
                _ => String::new(),
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            // No fine grid (`y_max_light_lines(0)` would hang plotters 0.3.7).
            .light_line_style(WHITE)
            .x_labels(bins + 1)
            .x_label_formatter(&edge_label)
            .x_desc("mean absolute difference between two blocks (bin edges)")
            .y_desc("pairs of blocks")
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| failed(&e))?;
        // A bar is at least 3 pixels tall, so a count of 1 among hundreds still shows.
        let plot_height = chart.plotting_area().dim_in_pixel().1.max(1);
        let least = (top * 3).div_ceil(u64::from(plot_height));
        let shown = |count: u64| if count == 0 { 0 } else { count.max(least) };
        let bar = RGBColor(70, 130, 180);
        let bars = (0..).zip(&hist.counts).map(|(i, &count)| {
            let x = f64::from(i);
            Rectangle::new([(x + 0.06, 0), (x + 0.94, shown(count))], bar.filled())
        });
        chart.draw_series(bars).map_err(|e| failed(&e))?;
        let anchor = plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Bottom,
        );
        let labels = (0..).zip(&hist.counts).map(|(i, &count)| {
            let style = TextStyle::from(("sans-serif", 14).into_font())
                .color(&BLACK)
                .pos(anchor);
            Text::new(count.to_string(), (f64::from(i) + 0.5, shown(count)), style)
        });
        chart.draw_series(labels).map_err(|e| failed(&e))?;
        root.present().map_err(|e| failed(&e))?;
    }
    RgbImage::from_raw(width, height, pixels).ok_or_else(|| failed(&"wrong buffer size"))
}
