//! The dask anchor's workloads (`shared/bench/dask_anchor.py`), built with `delayed` the
//! way a user would, printing one JSON line per run with the same fields, so that both
//! sides can be compared line by line (`scripts/compare-dask.sh` does).
//!
//! ```text
//! cargo bench --bench workloads -- tree --n 1000000 --scheduler threads
//! cargo bench --bench workloads -- histogram --n 50 --images ../shared/images
//! ```
//!
//! Workloads (see the anchor's docstring): `tree` (n `inc` leaves summed pairwise with
//! `add`), `chain` (`inc` n times), `fanout` (n `inc`, one `sum` over the list), `dedup` (n
//! calls of `inc(i % 100)`, one `sum`), `histogram` (mean absolute differences of every
//! pair of n random 100x100 blocks of an image, binned), `sleep` (n tasks of 100 ms).
//!
//! Timing follows the anchor: an untimed one-task warm-up compute starts the thread pool;
//! `build_s` is building the graph, `compute_s` is `compute` until the value is back;
//! `tasks` is the number of distinct nodes of the graph. Dropping the graph afterwards is
//! not in `total_s` (dask does not count its garbage collection either) but is reported
//! as `drop_s`. `build_us_per_task` is `build_s / tasks` in µs.
//!
//! `histogram` also runs an eager baseline after the graph is dropped (`--no-eager` skips
//! it): the same work from the same starting point (finding the image, drawing the
//! corners, loading it), with the functions' `_eager` originals called one pair after
//! another on this thread. `eager_s` is its time and `vs_eager = eager_s / total_s` the
//! lazy run's speedup over it; the run fails unless both histograms are equal.

#[path = "support/numpy_rng.rs"]
mod numpy_rng;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use delayed::prelude::*;

/// `sleep`'s task length, as the anchor's `SLEEP_S` (`--sleep-ms` changes it).
const SLEEP_MS: u64 = 100;
const BLOCK: usize = 100;
const HIST_BINS: usize = 10;
const HIST_RANGE: (f64, f64) = (0.0, 255.0);
const SEED: u64 = 0;

// ------------------------------------------------------------------ task bodies

#[delayed]
fn inc(x: i64) -> i64 {
    x + 1
}

#[delayed]
fn add(x: i64, y: i64) -> i64 {
    x + y
}

#[delayed]
fn sum(xs: &[i64]) -> i64 {
    xs.iter().sum()
}

#[delayed]
fn nap(i: i64, ms: u64) -> i64 {
    std::thread::sleep(Duration::from_millis(ms));
    i
}

/// How many times `dedup`'s `inc` ran: must be 100 whatever n (n ≥ 100).
static DEDUP_INC_CALLS: AtomicU64 = AtomicU64::new(0);

fn count_dedup_call() {
    DEDUP_INC_CALLS.fetch_add(1, Ordering::Relaxed);
}

/// `dedup`'s `inc`, counting its executions.
mod counted {
    use delayed::prelude::*;

    #[delayed(name = "inc")]
    pub fn inc(x: i64) -> i64 {
        super::count_dedup_call();
        x + 1
    }
}

#[delayed]
fn load_image(path: &Path) -> Result<image::RgbImage, image::ImageError> {
    Ok(image::open(path)?.to_rgb8())
}

/// `img[y:y+100, x:x+100]`, row-major RGB bytes.
#[delayed]
fn crop(img: &image::RgbImage, y: u32, x: u32) -> Vec<u8> {
    let width = img.width() as usize;
    let raw = img.as_raw();
    let (y, x) = (y as usize, x as usize);
    let mut out = Vec::with_capacity(BLOCK * BLOCK * 3);
    for row in y..y + BLOCK {
        let start = (row * width + x) * 3;
        out.extend_from_slice(&raw[start..start + BLOCK * 3]);
    }
    out
}

/// `np.abs(a.astype(np.int16) - b.astype(np.int16))`.
#[delayed]
fn absdiff(a: &[u8], b: &[u8]) -> Vec<i16> {
    a.iter()
        .zip(b)
        .map(|(&a, &b)| (i16::from(a) - i16::from(b)).abs())
        .collect()
}

/// `np.mean` of an int16 array: an exact integer sum divided in float64.
#[delayed]
fn mean(d: &[i16]) -> f64 {
    let total: i64 = d.iter().map(|&v| i64::from(v)).sum();
    total as f64 / d.len() as f64
}

/// `np.histogram(means, bins=10, range=(0, 255))`.
#[derive(Clone, Debug, PartialEq)]
struct Histogram {
    counts: Vec<u64>,
    edges: Vec<f64>,
}

#[delayed]
fn histogram(means: &[f64]) -> Histogram {
    bin_counts(means)
}

/// numpy's uniform-bin path: an index from the scaled value, then corrected against the
/// edges (so values on an edge land where numpy puts them).
fn bin_counts(values: &[f64]) -> Histogram {
    let (first, last) = HIST_RANGE;
    // np.linspace(first, last, bins + 1): i * step + first, the last edge exactly `last`.
    let step = (last - first) / HIST_BINS as f64;
    let mut edges: Vec<f64> = (0..=HIST_BINS).map(|i| i as f64 * step + first).collect();
    edges[HIST_BINS] = last;
    let mut counts = vec![0u64; HIST_BINS];
    for &v in values.iter().filter(|&&v| v >= first && v <= last) {
        let mut i = (((v - first) / (last - first)) * HIST_BINS as f64) as usize;
        if i == HIST_BINS {
            i -= 1;
        }
        if v < edges[i] {
            i -= 1;
        }
        if v >= edges[i + 1] && i != HIST_BINS - 1 {
            i += 1;
        }
        counts[i] += 1;
    }
    Histogram { counts, edges }
}

// ------------------------------------------------------------------ building

fn pairwise_tree<T: Clone>(mut items: Vec<T>, combine: impl Fn(&T, &T) -> T) -> T {
    while items.len() > 1 {
        let mut next: Vec<T> = items
            .chunks_exact(2)
            .map(|p| combine(&p[0], &p[1]))
            .collect();
        if items.len() % 2 == 1 {
            next.push(items[items.len() - 1].clone());
        }
        items = next;
    }
    items.swap_remove(0)
}

fn first_image(dir: &Path) -> Result<PathBuf, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "cannot read the image directory {}: {e} (pass --images DIR)",
            dir.display()
        )
    })?;
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    names.sort();
    names.into_iter().next().ok_or_else(|| {
        format!(
            "no .png/.jpg image in {} (pass --images DIR)",
            dir.display()
        )
    })
}

/// Block corners as the anchor draws them: `default_rng(0)`, all ys then all xs.
fn block_corners(height: u32, width: u32, n: usize) -> Result<Vec<(u32, u32)>, String> {
    if (height as usize) < BLOCK || (width as usize) < BLOCK {
        return Err(format!(
            "image is {width}x{height}, smaller than one {BLOCK}x{BLOCK} block"
        ));
    }
    let mut rng = numpy_rng::Pcg64::new(SEED);
    let ys = rng.integers(0, i64::from(height) - BLOCK as i64 + 1, n);
    let xs = rng.integers(0, i64::from(width) - BLOCK as i64 + 1, n);
    Ok(ys
        .into_iter()
        .zip(xs)
        .map(|(y, x)| (y as u32, x as u32))
        .collect())
}

enum Check {
    Int(Delayed<i64>),
    Hist(Delayed<Histogram>),
}

struct Built {
    root: Check,
    extra: Vec<(String, String)>,
}

/// The histogram's blocks: the first image of `images`, its path and `n` block corners.
fn histogram_inputs(images: &Path, n: usize) -> Result<(PathBuf, Vec<(u32, u32)>), String> {
    let path = first_image(images)?;
    let (width, height) = image::image_dimensions(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let corners = block_corners(height, width, n)?;
    Ok((path, corners))
}

/// `histogram` eagerly: the `_eager` originals of the same functions, from the same
/// starting point as building (`histogram_inputs`), every pair one after another on the
/// calling thread. Pairs of equal crops are computed again each time (eager code has no
/// dedup); the means, and so the histogram, are the same.
fn eager_histogram(images: &Path, n: usize) -> Result<Histogram, String> {
    let (path, corners) = histogram_inputs(images, n)?;
    let img = load_image_eager(&path).map_err(|e| e.to_string())?;
    let blocks: Vec<Vec<u8>> = corners
        .iter()
        .map(|&(y, x)| crop_eager(&img, y, x))
        .collect();
    let mut means = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for (i, a) in blocks.iter().enumerate() {
        for b in &blocks[i + 1..] {
            means.push(mean_eager(&absdiff_eager(a, b)));
        }
    }
    Ok(histogram_eager(&means))
}

/// `tree` built on `threads` threads at once: each builds the pairwise tree of its share
/// of the leaves (the shares' trees are the whole tree's subtrees when the shares are
/// powers of two), and the shares' roots are combined on this thread.
fn tree_on_threads(n: i64, threads: usize) -> Delayed<i64> {
    let share = (n as usize).div_ceil(threads) as i64;
    let roots: Vec<Delayed<i64>> = std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads as i64)
            .map(|t| (t * share, ((t + 1) * share).min(n)))
            .filter(|(from, to)| from < to)
            .map(|(from, to)| {
                scope.spawn(move || pairwise_tree((from..to).map(inc).collect(), |a, b| add(a, b)))
            })
            .collect();
        parts
            .into_iter()
            .map(|part| part.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    pairwise_tree(roots, |a, b| add(a, b))
}

fn build(
    workload: &str,
    n: usize,
    images: &Path,
    sleep_ms: u64,
    build_threads: usize,
) -> Result<Built, String> {
    let n_i = n as i64;
    let int = |d: Delayed<i64>| Built {
        root: Check::Int(d),
        extra: Vec::new(),
    };
    Ok(match workload {
        "tree" if build_threads > 1 => int(tree_on_threads(n_i, build_threads)),
        "tree" => {
            let leaves: Vec<Delayed<i64>> = (0..n_i).map(inc).collect();
            int(pairwise_tree(leaves, |a, b| add(a, b)))
        }
        "chain" => {
            let mut x = inc(0);
            for _ in 1..n {
                x = inc(x);
            }
            int(x)
        }
        "fanout" => int(sum((0..n_i).map(inc).collect::<Vec<_>>())),
        "dedup" => int(sum((0..n_i)
            .map(|i| counted::inc(i % 100))
            .collect::<Vec<_>>())),
        "sleep" => int(sum((0..n_i).map(|i| nap(i, sleep_ms)).collect::<Vec<_>>())),
        "histogram" => {
            let (path, corners) = histogram_inputs(images, n)?;
            let img = load_image(path.as_path());
            let blocks: Vec<Delayed<Vec<u8>>> =
                corners.iter().map(|&(y, x)| crop(&img, y, x)).collect();
            let mut means = Vec::with_capacity(n * n.saturating_sub(1) / 2);
            for (i, a) in blocks.iter().enumerate() {
                for b in &blocks[i + 1..] {
                    means.push(mean(absdiff(a, b)));
                }
            }
            Built {
                root: Check::Hist(histogram(means)),
                extra: vec![("image".into(), json_str(&path.display().to_string()))],
            }
        }
        other => return Err(format!("unknown workload {other:?}")),
    })
}

/// `histogram` with building and running overlapped: the crops are persisted first, then
/// the pairs are built `chunk` at a time, each chunk's partial histogram submitted as a job
/// as soon as it is built (its tasks start while the next chunk is built), at most
/// `IN_FLIGHT` jobs ahead (so the graphs alive stay small). Bin counts add up: the sum of
/// the partial histograms is `np.histogram` of all the means. Returns the histogram, the
/// time spent building (on this thread, persisting the crops included), the time until
/// the last job was back, and the tasks that ran.
fn overlapped_histogram(
    images: &Path,
    n: usize,
    chunk: usize,
    scheduler: &Scheduler,
) -> Result<(Histogram, f64, f64, usize), String> {
    const IN_FLIGHT: usize = 3;
    let err = |e: delayed::Error| e.to_string();
    let t0 = Instant::now();
    let mut building = Duration::ZERO;
    let (path, corners) = histogram_inputs(images, n)?;
    let img = load_image(path.as_path());
    let blocks: Vec<Delayed<Vec<u8>>> = corners.iter().map(|&(y, x)| crop(&img, y, x)).collect();
    let crop_tasks = graph_len_of(&blocks);
    building += t0.elapsed();
    let blocks = delayed::persist_with(blocks, scheduler).map_err(err)?;
    let mut jobs = std::collections::VecDeque::new();
    let mut tasks = crop_tasks;
    let mut total: Option<Histogram> = None;
    let add = |h: Histogram, total: &mut Option<Histogram>| match total {
        None => *total = Some(h),
        Some(t) => t.counts.iter_mut().zip(h.counts).for_each(|(a, b)| *a += b),
    };
    let mut means = Vec::with_capacity(chunk);
    let pairs = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j)));
    let mut pairs = pairs.peekable();
    let mut built = Instant::now();
    while pairs.peek().is_some() {
        means.extend(
            pairs
                .by_ref()
                .take(chunk)
                .map(|(i, j)| mean(absdiff(&blocks[i], &blocks[j]))),
        );
        let job = delayed::submit_with_report(histogram(std::mem::take(&mut means)), scheduler)
            .map_err(err)?;
        jobs.push_back(job);
        building += built.elapsed();
        if jobs.len() >= IN_FLIGHT {
            if let Some(job) = jobs.pop_front() {
                let (h, report) = job.wait().map_err(err)?;
                tasks += report.tasks_run;
                add(h, &mut total);
            }
        }
        built = Instant::now();
    }
    for job in jobs {
        let (h, report) = job.wait().map_err(err)?;
        tasks += report.tasks_run;
        add(h, &mut total);
    }
    let total_s = t0.elapsed().as_secs_f64();
    let hist = total.unwrap_or_else(|| bin_counts(&[]));
    Ok((
        hist,
        building.as_secs_f64(),
        total_s - building.as_secs_f64(),
        tasks,
    ))
}

fn graph_len_of<T: Clone + Send + Sync + 'static>(items: &[Delayed<T>]) -> usize {
    delayed::collect(items).graph_len() - 1
}

// ------------------------------------------------------------------ output

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Python's `round(x, digits)` printed as JSON.
fn json_f64(x: f64, digits: i32) -> String {
    let scale = 10f64.powi(digits);
    let r = (x * scale).round() / scale;
    format!("{r:?}")
}

fn hist_json(h: &Histogram) -> String {
    let counts: Vec<String> = h.counts.iter().map(|c| c.to_string()).collect();
    let edges: Vec<String> = h.edges.iter().map(|e| format!("{e:?}")).collect();
    format!(
        "{{\"counts\": [{}], \"edges\": [{}]}}",
        counts.join(", "),
        edges.join(", ")
    )
}

/// Peak resident set size of this process in MB (`VmHWM`, what `ru_maxrss` reports).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

// ------------------------------------------------------------------ main

struct Args {
    workload: String,
    n: Option<usize>,
    scheduler: String,
    workers: Option<usize>,
    images: PathBuf,
    sleep_ms: u64,
    /// The eager baseline (`--eager`/`--no-eager`); `None`: on for `histogram`.
    eager: Option<bool>,
    /// Follow the compute on a live dashboard (`--dashboard`, feature `dashboard`).
    dashboard: bool,
    /// `histogram` built and run overlapped, this many pairs per job (`--overlap N`).
    overlap: Option<usize>,
    /// `tree` built on this many threads at once (`--build-threads T`).
    build_threads: usize,
}

const USAGE: &str = "usage: workloads {tree|chain|fanout|dedup|histogram|sleep} \
                     [--n N] [--scheduler sync|threads|dask] [--workers W] [--images DIR] \
                     [--sleep-ms MS] [--eager|--no-eager] [--dashboard] [--overlap PAIRS] \
                     [--build-threads T]
  --dashboard: follow the compute on a live delayed::Dashboard (build with
  --features dashboard), to measure what watching costs
  --build-threads T: tree only: T threads build a share of the leaves' subtrees each
  --overlap PAIRS: histogram only: persist the crops, then build the pairs PAIRS at a
  time and submit each chunk's partial histogram as a job while the next is built
  --eager: histogram only (default on): the same work eagerly after the lazy run, timed
  (eager_s, vs_eager) and checked equal; --no-eager skips it
  --scheduler dask: a dask LocalCluster of W worker processes (default: cores), started
  before timing like the anchor's Client (`--scheduler distributed --processes`)";

fn default_images() -> PathBuf {
    if let Some(dir) = std::env::var_os("DELAYED_BENCH_IMAGES") {
        return dir.into();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/images")
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        workload: String::new(),
        n: None,
        scheduler: "threads".into(),
        workers: None,
        images: default_images(),
        sleep_ms: SLEEP_MS,
        eager: None,
        dashboard: false,
        overlap: None,
        build_threads: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => {}
            "--n" => {
                let v = value("--n")?;
                args.n = Some(v.parse().map_err(|_| format!("--n: not a count: {v:?}"))?);
            }
            "--scheduler" => args.scheduler = value("--scheduler")?,
            "--workers" => {
                let v = value("--workers")?;
                args.workers = Some(
                    v.parse()
                        .map_err(|_| format!("--workers: not a count: {v:?}"))?,
                );
            }
            "--images" => args.images = value("--images")?.into(),
            "--sleep-ms" => {
                let v = value("--sleep-ms")?;
                args.sleep_ms = v
                    .parse()
                    .map_err(|_| format!("--sleep-ms: not a number: {v:?}"))?;
            }
            "--eager" => args.eager = Some(true),
            "--no-eager" => args.eager = Some(false),
            "--dashboard" => args.dashboard = true,
            "--build-threads" => {
                let v = value("--build-threads")?;
                match v.parse() {
                    Ok(t) if t > 0 => args.build_threads = t,
                    _ => return Err(format!("--build-threads: not a positive count: {v:?}")),
                }
            }
            "--overlap" => {
                let v = value("--overlap")?;
                match v.parse() {
                    Ok(pairs) if pairs > 0 => args.overlap = Some(pairs),
                    _ => return Err(format!("--overlap: not a positive count: {v:?}")),
                }
            }
            "-h" | "--help" => return Err(USAGE.into()),
            w if !w.starts_with('-') && args.workload.is_empty() => args.workload = w.into(),
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    if args.workload.is_empty() {
        return Err(USAGE.into());
    }
    if args.build_threads > 1 && args.workload != "tree" {
        return Err(format!(
            "--build-threads: only tree is built on several threads, not {:?}",
            args.workload
        ));
    }
    if args.overlap.is_some() && args.workload != "histogram" {
        return Err(format!(
            "--overlap: only histogram is built overlapped, not {:?}",
            args.workload
        ));
    }
    if args.eager == Some(true) && args.workload != "histogram" {
        return Err(format!(
            "--eager: only histogram has an eager baseline, not {:?}",
            args.workload
        ));
    }
    Ok(args)
}

fn run(args: Args) -> Result<String, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = args.n.unwrap_or(match args.workload.as_str() {
        "histogram" => 20,
        "sleep" => 2 * cores,
        _ => 1000,
    });
    // The cluster of `--scheduler dask`, up before anything is timed (its start-up is
    // `cluster_start_s`).
    let mut cluster = None;
    let tc = Instant::now();
    let (scheduler, workers) = match args.scheduler.as_str() {
        "sync" => (Scheduler::sync(), 1),
        "threads" => {
            let w = args.workers.unwrap_or(cores);
            (Scheduler::threads(w), w)
        }
        "dask" => {
            let w = args.workers.unwrap_or(cores);
            let c = cluster.insert(delayed::dask::Cluster::local(w).map_err(|e| e.to_string())?);
            (Scheduler::dask(c), w)
        }
        other => return Err(format!("--scheduler: sync, threads or dask, not {other:?}")),
    };
    let cluster_start_s = tc.elapsed().as_secs_f64();
    #[cfg(feature = "dashboard")]
    let dashboard = match args.dashboard {
        true => Some(delayed::Dashboard::start("127.0.0.1:0").map_err(|e| e.to_string())?),
        false => None,
    };
    #[cfg(feature = "dashboard")]
    let scheduler = match &dashboard {
        Some(dash) => scheduler.dashboard(dash),
        None => scheduler,
    };
    #[cfg(not(feature = "dashboard"))]
    if args.dashboard {
        return Err("--dashboard: build with --features dashboard".into());
    }
    // Warm-up: starts the pool, untimed (the anchor's warmup_s).
    let tw = Instant::now();
    inc(0).compute_with(&scheduler).map_err(|e| e.to_string())?;
    let warmup_s = tw.elapsed().as_secs_f64();
    DEDUP_INC_CALLS.store(0, Ordering::Relaxed);

    let base_rss = peak_rss_mb();
    let mut lazy_hist = None;
    let (build_s, compute_s, check, peak, tasks, drop_s, extra) = match args.overlap {
        None => {
            let t0 = Instant::now();
            let built = build(
                &args.workload,
                n,
                &args.images,
                args.sleep_ms,
                args.build_threads,
            )?;
            let t1 = Instant::now();
            let built_rss = peak_rss_mb();
            let check = match &built.root {
                Check::Int(d) => d
                    .compute_with(&scheduler)
                    .map(|v| v.to_string())
                    .map_err(|e| e.to_string())?,
                Check::Hist(d) => hist_json(
                    lazy_hist.insert(d.compute_with(&scheduler).map_err(|e| e.to_string())?),
                ),
            };
            let t2 = Instant::now();
            let peak = peak_rss_mb();
            let tasks = match &built.root {
                Check::Int(d) => d.graph_len(),
                Check::Hist(d) => d.graph_len(),
            };
            let td = Instant::now();
            drop(built.root);
            let drop_s = td.elapsed().as_secs_f64();
            let (build_s, compute_s) = ((t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64());
            let mut extra = built.extra;
            extra.push(("built_rss_mb".into(), json_f64(built_rss, 1)));
            (build_s, compute_s, check, peak, tasks, drop_s, extra)
        }
        Some(chunk) => {
            let (hist, build_s, compute_s, tasks) =
                overlapped_histogram(&args.images, n, chunk, &scheduler)?;
            let check = hist_json(lazy_hist.insert(hist));
            let extra = vec![("overlap".into(), chunk.to_string())];
            (build_s, compute_s, check, peak_rss_mb(), tasks, 0.0, extra)
        }
    };

    // The eager baseline, after the graph is gone (its memory is not in peak_rss_mb).
    let eager_s = match lazy_hist {
        Some(lazy) if args.eager != Some(false) => {
            let te = Instant::now();
            let eager = eager_histogram(&args.images, n)?;
            let eager_s = te.elapsed().as_secs_f64();
            if eager != lazy {
                return Err(format!(
                    "histogram: the eager baseline differs from the lazy result: {} vs {}",
                    hist_json(&eager),
                    hist_json(&lazy)
                ));
            }
            Some(eager_s)
        }
        _ => None,
    };

    let total_s = build_s + compute_s;
    let mut fields: Vec<(String, String)> = vec![
        ("workload".into(), json_str(&args.workload)),
        ("n".into(), n.to_string()),
        ("scheduler".into(), json_str(&args.scheduler)),
        ("workers".into(), workers.to_string()),
        ("build_s".into(), json_f64(build_s, 6)),
        ("compute_s".into(), json_f64(compute_s, 6)),
        ("total_s".into(), json_f64(total_s, 6)),
        ("tasks".into(), tasks.to_string()),
        (
            "us_per_task".into(),
            json_f64(total_s / tasks as f64 * 1e6, 3),
        ),
        ("peak_rss_mb".into(), json_f64(peak, 1)),
        ("base_rss_mb".into(), json_f64(base_rss, 1)),
        ("warmup_s".into(), json_f64(warmup_s, 4)),
        ("drop_s".into(), json_f64(drop_s, 6)),
        (
            "build_us_per_task".into(),
            json_f64(build_s / tasks as f64 * 1e6, 3),
        ),
    ];
    if let Some(eager_s) = eager_s {
        fields.push(("eager_s".into(), json_f64(eager_s, 6)));
        fields.push(("vs_eager".into(), json_f64(eager_s / total_s, 3)));
    }
    if args.workload == "sleep" {
        let sleep = args.sleep_ms as f64 / 1000.0;
        let ideal = n.div_ceil(workers) as f64 * sleep;
        let serial = n as f64 * sleep;
        fields.push(("ideal_s".into(), json_f64(ideal, 3)));
        fields.push(("serial_s".into(), json_f64(serial, 3)));
        fields.push(("efficiency".into(), json_f64(ideal / compute_s, 4)));
        fields.push(("speedup".into(), json_f64(serial / compute_s, 3)));
    }
    if args.dashboard {
        fields.push(("dashboard".into(), "true".into()));
    }
    if args.build_threads > 1 {
        fields.push(("build_threads".into(), args.build_threads.to_string()));
    }
    if cluster.is_some() {
        fields.push(("processes".into(), "true".into()));
        fields.push(("cluster_start_s".into(), json_f64(cluster_start_s, 3)));
    }
    // On a cluster, `inc` runs (and counts) in the workers' processes.
    if args.workload == "dedup" && cluster.is_none() {
        let calls = DEDUP_INC_CALLS.load(Ordering::Relaxed);
        if calls != n.min(100) as u64 {
            return Err(format!(
                "dedup ran inc {calls} times, expected {}",
                n.min(100)
            ));
        }
        fields.push(("inc_calls".into(), calls.to_string()));
    }
    fields.extend(extra);
    fields.push(("check".into(), check));
    fields.push(("impl".into(), json_str("delayed")));
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {v}", json_str(k)))
        .collect();
    Ok(format!("{{{}}}", body.join(", ")))
}

#[delayed::main] // `--scheduler dask`: the workers run this binary to execute tasks
fn main() {
    match parse_args().and_then(run) {
        Ok(line) => println!("{line}"),
        Err(message) => {
            eprintln!("workloads: {message}");
            std::process::exit(2);
        }
    }
}
