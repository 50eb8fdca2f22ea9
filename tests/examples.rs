//! The tutorial's examples (`examples/*.rs`): their functions on small inputs, checked
//! against the eager computation or an independent one, and the built programs on bad
//! input (one-line error, non-zero exit, nothing half-written).

// Each example brings its own copy of `examples/common`, as it does when built alone.
#![allow(clippy::duplicate_mod)]

#[allow(dead_code)]
#[path = "../examples/block_shuffle.rs"]
mod block_shuffle;
#[allow(dead_code)]
#[path = "../examples/data_creation.rs"]
mod data_creation;
#[allow(dead_code)]
#[path = "../examples/histogram.rs"]
mod histogram;
#[allow(dead_code)]
#[path = "../examples/mutable_dict.rs"]
mod mutable_dict;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use image::RgbImage;

fn images_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/images")
}

/// A fresh, empty directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("delayed-examples-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn error_of(result: Result<(), Box<dyn std::error::Error + Send + Sync>>) -> String {
    result.expect_err("expected an error").to_string()
}

// ## histogram

#[test]
fn histogram_lazy_equals_eager_and_an_independent_computation() {
    let path = images_dir().join("rocket.png");
    let image = image::open(&path).unwrap().to_rgb8();
    let corners = histogram::random_corners(image.dimensions(), 8, 3).unwrap();
    assert_eq!(corners.len(), 8);
    assert_eq!(
        corners,
        histogram::random_corners(image.dimensions(), 8, 3).unwrap(),
        "the same seed gives the same blocks"
    );
    assert_ne!(
        corners,
        histogram::random_corners(image.dimensions(), 8, 4).unwrap()
    );

    let lazy = histogram::build_histogram(&path, &corners);
    let computed = lazy.histogram.compute().unwrap();
    let eager = histogram::eager_histogram(&path, &corners).unwrap();
    assert_eq!(computed, eager);

    // Independently: pixel by pixel, then the bins by their edges.
    let block = |&(x, y): &(u32, u32)| -> Vec<i32> {
        let mut v = Vec::new();
        for dy in 0..histogram::BLOCK {
            for dx in 0..histogram::BLOCK {
                v.extend(image.get_pixel(x + dx, y + dy).0.map(i32::from));
            }
        }
        v
    };
    let blocks: Vec<Vec<i32>> = corners.iter().map(block).collect();
    let mut counts = vec![0u64; histogram::BINS];
    for i in 0..blocks.len() {
        for j in i + 1..blocks.len() {
            let total: i32 = blocks[i]
                .iter()
                .zip(&blocks[j])
                .map(|(a, b)| (a - b).abs())
                .sum();
            let mean = f64::from(total) / blocks[i].len() as f64;
            let bin = (0..histogram::BINS)
                .find(|&b| mean < computed.edges[b + 1] || b == histogram::BINS - 1)
                .unwrap();
            counts[bin] += 1;
        }
    }
    assert_eq!(computed.counts, counts);
    assert_eq!(computed.counts.iter().sum::<u64>(), 28); // C(8, 2) pairs

    // The file, 1 load, 8 crops, 28 diffs, 28 means, the means' collect and the
    // histogram, if no two corners coincide.
    let distinct: HashSet<_> = corners.iter().collect();
    assert_eq!(distinct.len(), 8);
    assert_eq!(lazy.tasks(), 1 + 1 + 8 + 2 * 28 + 1 + 1);
}

#[test]
fn histogram_bins_like_numpy() {
    // np.histogram([0, 25.5, 25.499999, 51, 255, 254.9, -1, 256, 127.5], bins=10,
    // range=(0, 255)) gives counts [2, 1, 1, 0, 0, 1, 0, 0, 0, 2] (numpy 2.4): an edge
    // belongs to the bin on its right, 255 to the last bin, out-of-range values to none.
    let values = vec![0.0, 25.5, 25.499999, 51.0, 255.0, 254.9, -1.0, 256.0, 127.5];
    let h = histogram::histogram_eager(values);
    assert_eq!(h.counts, [2, 1, 1, 0, 0, 1, 0, 0, 0, 2]);
    let edges: Vec<f64> = (0..=10).map(|i| f64::from(i) * 25.5).collect();
    assert_eq!(h.edges, edges);
    // The mean of |a - b| in i16: no u8 wrap-around (3 - 5 is 2, not 254).
    let a = RgbImage::from_pixel(2, 1, image::Rgb([3, 3, 3]));
    let b = RgbImage::from_pixel(2, 1, image::Rgb([5, 5, 5]));
    assert_eq!(histogram::mean_eager(&histogram::diff_eager(&a, &b)), 2.0);
}

#[test]
fn histogram_chart_is_written_whole() {
    let dir = scratch("chart");
    let out = dir.join("hist.png");
    let image = images_dir().join("chelsea.png");
    let run = histogram::run(args(&[
        "--image",
        image.to_str().unwrap(),
        "--n",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]));
    run.unwrap();
    let chart = image::open(&out).unwrap();
    assert_eq!((chart.width(), chart.height()), histogram::CHART_SIZE);
    assert_eq!(files_in(&dir), ["hist.png"]);
}

/// Pixels of the bars' color in column `x` of `chart`.
fn bar_pixels(chart: &RgbImage, x: u32) -> usize {
    (0..chart.height())
        .filter(|&y| chart.get_pixel(x, y).0 == [70, 130, 180])
        .count()
}

#[test]
fn histogram_chart_has_title_axes_labels_and_every_bar() {
    let mut counts = vec![0u64; histogram::BINS];
    counts[0] = 1; // one pair among 601: its bar must still show
    counts[1] = 600;
    let edges: Vec<f64> = (0..=histogram::BINS).map(|i| i as f64 * 25.5).collect();
    let hist = histogram::Histogram { counts, edges };
    let chart = histogram::draw_chart(&hist, "a title").unwrap();
    assert_eq!(chart.dimensions(), histogram::CHART_SIZE);
    // Bars: bin 0 (count 1) at least 3 pixels tall, bin 1 tall, bin 2 (count 0) none.
    let (width, height) = histogram::CHART_SIZE;
    let bars: Vec<usize> = (0..width).map(|x| bar_pixels(&chart, x)).collect();
    let columns: Vec<u32> = (0..width).filter(|&x| bars[x as usize] > 0).collect();
    let (first, last) = (columns[0], *columns.last().unwrap());
    let short = bars[first as usize + 2];
    assert!((3..10).contains(&short), "the count-1 bar is {short} px");
    assert!(bars[last as usize - 2] > 300, "{}", bars[last as usize - 2]);
    // Text (dark pixels) in the title band, left of the plot (y labels and description)
    // and below it (x labels and description).
    let dark = |x0: u32, y0: u32, x1: u32, y1: u32| {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| chart.get_pixel(x, y).0.iter().all(|&c| c < 100))
            .count()
    };
    assert!(dark(0, 0, width, 40) > 50, "no title");
    assert!(dark(0, 60, 70, height - 60) > 100, "no y axis labels");
    assert!(
        dark(0, height - 60, width, height) > 200,
        "no x axis labels"
    );
}

#[test]
fn histogram_bad_input() {
    let dir = scratch("histogram-bad");
    for n in ["0", "1"] {
        let e = error_of(histogram::run(args(&["--n", n])));
        assert!(
            e.contains(&format!("--n {n}")) && e.contains("at least 2"),
            "{e}"
        );
    }
    let e = error_of(histogram::run(args(&["--n", "many"])));
    assert!(e.contains("--n") && e.contains("many"), "{e}");
    let e = error_of(histogram::run(args(&["--bins", "3"])));
    assert!(e.contains("unexpected argument '--bins'"), "{e}");
    let e = error_of(histogram::run(args(&["--image", "/no/such/image.png"])));
    assert!(e.contains("cannot read /no/such/image.png"), "{e}");

    let corrupt = dir.join("corrupt.png");
    std::fs::write(&corrupt, b"not a png").unwrap();
    let e = error_of(histogram::run(args(&[
        "--image",
        corrupt.to_str().unwrap(),
    ])));
    assert!(
        e.contains("cannot read") && e.contains("corrupt.png"),
        "{e}"
    );

    let small = dir.join("small.png");
    RgbImage::new(60, 200).save(&small).unwrap();
    let e = error_of(histogram::run(args(&["--image", small.to_str().unwrap()])));
    assert!(e.contains("60x200") && e.contains("smaller than"), "{e}");

    // An --out that cannot be written: an error, and nothing left behind.
    let out = dir.join("missing-dir").join("hist.png");
    let e = error_of(histogram::run(args(&[
        "--n",
        "3",
        "--out",
        out.to_str().unwrap(),
    ])));
    assert!(e.contains("cannot write") && e.contains("hist.png"), "{e}");
    assert_eq!(files_in(&dir), ["corrupt.png", "small.png"]);
}

// ## block_shuffle

/// The `size`×`size` blocks of `image`, row-major.
fn blocks_of(image: &RgbImage, size: u32) -> Vec<Vec<u8>> {
    let mut blocks = Vec::new();
    for y in (0..image.height()).step_by(size as usize) {
        for x in (0..image.width()).step_by(size as usize) {
            let block = image::imageops::crop_imm(image, x, y, size, size).to_image();
            blocks.push(block.into_raw());
        }
    }
    blocks
}

#[test]
fn block_shuffle_permutes_the_sharpened_blocks() {
    let (dir, out) = (scratch("shuffle-in"), scratch("shuffle-out"));
    std::fs::copy(images_dir().join("chelsea.png"), dir.join("chelsea.png")).unwrap();
    // A second, synthetic image, so that one compute handles two.
    let gradient = RgbImage::from_fn(130, 95, |x, y| {
        image::Rgb([x as u8, y as u8, (x ^ y) as u8])
    });
    gradient.save(dir.join("gradient.png")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not an image").unwrap();

    let block = 40;
    let files = block_shuffle::png_files(&dir).unwrap();
    assert_eq!(files.len(), 2);
    let plans = block_shuffle::plan(&files, block, 7, &out).unwrap();
    let graphs: Vec<_> = plans
        .iter()
        .map(|p| block_shuffle::block_random(p, block))
        .collect();
    let saved = delayed::compute(&graphs).unwrap();
    assert_eq!(
        files_in(&out),
        ["shuffled_chelsea.png", "shuffled_gradient.png"]
    );

    for ((source, plan), saved) in files.iter().zip(&plans).zip(&saved) {
        assert_eq!(saved, &plan.output);
        let original = image::open(source).unwrap().to_rgb8();
        let (w, h) = original.dimensions();
        let (cw, ch) = (w / block * block, h / block * block);
        let shuffled = image::open(saved).unwrap().to_rgb8();
        assert_eq!(shuffled.dimensions(), (cw, ch), "{}", source.display());

        // The centered crop, cut into blocks, each sharpened: the same multiset of blocks.
        let (left, top) = ((w - cw) / 2, (h - ch) / 2);
        let cropped = image::imageops::crop_imm(&original, left, top, cw, ch).to_image();
        let mut expected: Vec<Vec<u8>> = blocks_of(&cropped, block)
            .into_iter()
            .map(|raw| {
                let b = RgbImage::from_raw(block, block, raw).unwrap();
                block_shuffle::sharpen(&b).into_raw()
            })
            .collect();
        let in_order = expected.clone();
        let mut got = blocks_of(&shuffled, block);
        assert_ne!(got, in_order, "the blocks were not moved");
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "{}", source.display());
    }
}

#[test]
fn sharpen_is_pils_kernel() {
    // A 3x3 image: the centre is 100 in red, 10 elsewhere in red; green all 200.
    let mut image = RgbImage::from_pixel(3, 3, image::Rgb([10, 200, 0]));
    image.put_pixel(1, 1, image::Rgb([100, 200, 0]));
    let out = block_shuffle::sharpen(&image);
    // (32 * 100 - 2 * 8 * 10) / 16 = 190; a flat channel stays flat: (32 - 16) * 200 / 16.
    assert_eq!(out.get_pixel(1, 1).0, [190, 200, 0]);
    for (x, y, p) in out.enumerate_pixels() {
        if (x, y) != (1, 1) {
            assert_eq!(p, image.get_pixel(x, y), "the border is copied");
        }
    }
    // Rounding half up, then clamping to 0..=255.
    let mut image = RgbImage::from_pixel(3, 3, image::Rgb([0, 255, 1]));
    image.put_pixel(1, 1, image::Rgb([1, 0, 0]));
    // red: 32 / 16 = 2; green: -16 * 255 / 16 < 0 -> 0; blue: -16 / 16 = -1 -> 0.
    assert_eq!(block_shuffle::sharpen(&image).get_pixel(1, 1).0, [2, 0, 0]);
    let mut image = RgbImage::from_pixel(3, 3, image::Rgb([0, 0, 0]));
    image.put_pixel(1, 1, image::Rgb([9, 200, 0]));
    // 288 / 16 = 18; 6400 / 16 = 400 -> 255.
    assert_eq!(
        block_shuffle::sharpen(&image).get_pixel(1, 1).0,
        [18, 255, 0]
    );
}

#[test]
fn block_shuffle_bad_input() {
    let empty = scratch("shuffle-empty");
    let out = scratch("shuffle-bad-out");
    let run = |extra: &[&str]| {
        let mut a = args(&["--out", out.to_str().unwrap()]);
        a.extend(args(extra));
        error_of(block_shuffle::run(a))
    };
    let e = run(&["--dir", empty.to_str().unwrap()]);
    assert!(e.contains("no .png images in"), "{e}");
    let e = run(&["--dir", "/no/such/dir"]);
    assert!(e.contains("cannot read directory /no/such/dir"), "{e}");
    let e = run(&["--block", "400"]);
    assert!(
        e.contains("chelsea.png is 451x300, smaller than one 400x400 block"),
        "{e}"
    );
    let e = run(&["--block", "0"]);
    assert!(e.contains("--block 0"), "{e}");
    let e = run(&["--shuffle"]);
    assert!(e.contains("unexpected argument '--shuffle'"), "{e}");

    // A corrupt image among good ones: an error naming it.
    std::fs::copy(images_dir().join("chelsea.png"), empty.join("a.png")).unwrap();
    std::fs::write(empty.join("b.png"), b"\x89PNG but not really").unwrap();
    let e = run(&["--dir", empty.to_str().unwrap()]);
    assert!(e.contains("cannot read") && e.contains("b.png"), "{e}");
    assert_eq!(files_in(&out), Vec::<String>::new(), "nothing was written");

    // An --out that is a file, not a directory.
    let file = empty.join("a.png");
    let e = error_of(block_shuffle::run(args(&["--out", file.to_str().unwrap()])));
    assert!(e.contains("cannot create") && e.contains("a.png"), "{e}");
}

// ## data_creation and mutable_dict

#[test]
fn data_creation_samples_are_distinct() {
    let (samples, std_avg) = data_creation::build(5, 100);
    let keys: HashSet<_> = samples.iter().map(|s| s.key()).collect();
    assert_eq!(keys.len(), 5, "impure: one key per call");
    let (samples, std_avg) = delayed::compute((&samples, &std_avg)).unwrap();
    assert_eq!(samples.len(), 5);
    for (i, a) in samples.iter().enumerate() {
        assert_eq!(a.len(), 100);
        assert!(a.iter().all(|v| (0.0..=5f64.exp_m1()).contains(v)));
        for b in &samples[i + 1..] {
            assert_ne!(a, b);
        }
    }
    let stds: Vec<f64> = samples
        .iter()
        .map(|s| data_creation::std_eager(s))
        .collect();
    assert_eq!(std_avg, data_creation::mean_eager(stds));
}

#[test]
fn mutable_dict_methods_equal_the_eager_loop() {
    let (datas, result, result2) = mutable_dict::build(6);
    let (datas, result, result2) = delayed::compute((&datas, &result, &result2)).unwrap();
    assert_eq!(datas.len(), 6);
    let expected = mutable_dict::eager(&datas);
    assert!(!expected.is_empty());
    assert_eq!(result, expected);
    assert_eq!(result2, expected);
    // Every matrix went into the map: the values add up to the sum of the analyses.
    let total: f64 = datas
        .iter()
        .map(|d| mutable_dict::analyse_eager(d).1.iter().sum::<f64>())
        .sum();
    let in_map: f64 = result.values().flatten().sum();
    assert!((total - in_map).abs() < 1e-9, "{total} vs {in_map}");
}

// ## The built programs

/// An example program, built by the same cargo into `target/<profile>/examples/<name>`.
///
/// `cargo test` builds the examples, but `cargo test --test examples` does not, and an
/// edited example is only rebuilt by cargo: so build them here first (a no-op when they
/// are fresh; cargo has released its lock by the time tests run).
fn example(name: &str) -> Command {
    static BUILD: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let exe = std::env::current_exe().unwrap(); // target/<profile>/deps/examples-<hash>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    BUILD.get_or_init(|| {
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--examples", "--manifest-path"]);
        cargo.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
        if profile_dir.ends_with("release") {
            cargo.arg("--release");
        }
        let output = cargo.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "building the examples: {stderr}");
    });
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} is missing", path.display());
    let mut command = Command::new(path);
    command.env("RUST_BACKTRACE", "1");
    command
}

/// Runs `name` with `args`; expects a failure with one line on stderr containing `needle`
/// (exit status 2 for a usage error, 1 for others), and returns its stdout.
fn fails_with(name: &str, args: &[&str], needle: &str) -> String {
    let output = example(name).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{name} {args:?} succeeded");
    assert!(
        matches!(output.status.code(), Some(1 | 2)),
        "{name} {args:?}: {:?}",
        output.status
    );
    assert_eq!(stderr.lines().count(), 1, "{name} {args:?}: {stderr}");
    assert!(
        stderr.starts_with(&format!("{name}: error: ")) && stderr.contains(needle),
        "{name} {args:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// Every example program.
const EXAMPLES: [&str; 7] = [
    "basics",
    "side_effects",
    "visualize",
    "data_creation",
    "mutable_dict",
    "histogram",
    "block_shuffle",
];

#[test]
fn command_lines_are_consistent() {
    for name in EXAMPLES {
        let help = example(name).arg("--help").output().unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(help.status.success(), "{name} --help: {help:?}");
        assert!(text.contains(&format!("Usage: {name}")), "{name}: {text}");
        assert!(text.contains("--version"), "{name}: {text}");
        let version = example(name).arg("-V").output().unwrap();
        assert!(version.status.success());
        assert_eq!(
            String::from_utf8_lossy(&version.stdout).trim(),
            format!("{name} {}", env!("CARGO_PKG_VERSION"))
        );
        // A usage error: one line, exit status 2, and nothing done.
        let bogus = example(name).arg("--bogus").output().unwrap();
        let stderr = String::from_utf8_lossy(&bogus.stderr);
        assert_eq!(bogus.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!("{name}: error: unexpected argument '--bogus' found (try --help)")
        );
        assert!(bogus.stdout.is_empty(), "{name} did work");
    }
}

#[test]
fn closed_stdout_ends_quietly() {
    let out = scratch("pipe");
    let small: [(&str, &[&str]); 7] = [
        ("basics", &["--sleep-ms", "1"]),
        ("side_effects", &[]),
        ("visualize", &["--out"]),
        ("data_creation", &[]),
        ("mutable_dict", &[]),
        ("histogram", &["--n", "3"]),
        ("block_shuffle", &["--block", "200", "--out"]),
    ];
    for (name, args) in small {
        let mut command = example(name);
        command.args(args);
        if args.last() == Some(&"--out") {
            command.arg(out.join(name));
        }
        // `example | head -0`: the reading end is closed before the first line.
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{name}: {:?} {stderr}",
            output.status
        );
        assert!(stderr.is_empty(), "{name}: {stderr}");
    }
}

#[test]
fn outputs_are_checked_before_the_work() {
    let dir = scratch("outputs");
    // Nothing is printed (the work has not started) and nothing is left behind.
    let stdout = fails_with(
        "basics",
        &["--sleep-ms", "1", "--trace", "/no/such/dir/t.json"],
        "cannot write /no/such/dir/t.json",
    );
    assert_eq!(stdout, "");
    let stdout = fails_with(
        "histogram",
        &["--n", "3", "--out", "/no/such/dir/x.png"],
        "cannot write /no/such/dir/x.png",
    );
    assert_eq!(stdout, "");
    let trace = "/no/such/dir/t.json";
    let stdout = fails_with("histogram", &["--n", "3", "--trace", trace], trace);
    assert_eq!(stdout, "");
    let bmp = dir.join("chart.bmp");
    let stdout = fails_with(
        "histogram",
        &["--n", "3", "--out", bmp.to_str().unwrap()],
        "unknown image format",
    );
    assert_eq!(stdout, "");
    let stdout = fails_with(
        "histogram",
        &["--n", "3", "--out", dir.to_str().unwrap()],
        "it is a directory",
    );
    assert_eq!(stdout, "");
    assert_eq!(files_in(&dir), Vec::<String>::new());

    // `--out chart.jpg` writes a JPEG, `.png` a PNG.
    for (file, magic) in [
        ("chart.jpg", &b"\xFF\xD8\xFF"[..]),
        ("chart.png", b"\x89PNG"),
    ] {
        let path = dir.join(file);
        let status = example("histogram")
            .args(["--n", "3", "--out"])
            .arg(&path)
            .output()
            .unwrap()
            .status;
        assert!(status.success());
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(magic), "{file}");
        let chart = image::load_from_memory(&bytes).unwrap();
        assert_eq!((chart.width(), chart.height()), histogram::CHART_SIZE);
    }
    assert_eq!(files_in(&dir), ["chart.jpg", "chart.png"]);
}

#[test]
fn huge_n_is_refused_with_an_estimate() {
    for n in ["18446744073709551615", "4294967296", "100000"] {
        let stdout = fails_with("histogram", &["--n", n], "at most --n ");
        assert_eq!(stdout, "");
    }
    let e = error_of(histogram::run(args(&["--n", "100000"])));
    assert!(
        e.contains("4999950000 pairs make 10000000002 tasks, about 2561.1 GiB of memory"),
        "{e}"
    );
    // The limit follows the memory available: 24 GiB take the 8.9 M tasks of --n 3000,
    // 1 GiB not even --n 2000 (its limit is named).
    let gib = 1u128 << 30;
    assert!(histogram::check_size_within(3000, 24 * gib).is_ok());
    let e = histogram::check_size_within(2000, gib).unwrap_err();
    assert!(
        e.contains("1999000 pairs") && e.contains("at most --n 1767 here"),
        "{e}"
    );
    assert!(histogram::check_size_within(1767, gib).is_ok());
    assert!(histogram::check_size_within(1768, gib).is_err());
}

#[test]
fn a_file_unreadable_in_a_task_is_named() {
    // The header is fine (the client reads the size) but the pixels are cut off: the
    // `load` task fails, and its error names the file.
    let dir = scratch("truncated");
    let bytes = std::fs::read(images_dir().join("chelsea.png")).unwrap();
    let path = dir.join("cut.png");
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    let path = path.to_str().unwrap();
    let stdout = fails_with("histogram", &["--n", "2", "--image", path], "cut.png");
    assert!(stdout.contains("blocks"), "{stdout}"); // it got as far as the compute
}

#[test]
fn the_progress_bar_ends_its_line() {
    // A terminal is needed for the bar: `script` (util-linux) gives the program one, and
    // records everything it writes there, stdout and stderr in order.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` command");
        return;
    }
    let exe = example("histogram").get_program().to_owned();
    let command = format!("{} --n 4 --progress", exe.to_str().unwrap());
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("COLUMNS", "200") // what the bar believes; the pty says 0 columns
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let bar = text.rfind("tasks/s").expect("a progress bar was drawn");
    let counts = text.find("counts: [").expect("the counts");
    assert!(bar < counts, "{text}");
    assert!(
        text[bar..counts].contains('\n'),
        "the next output is glued to the bar: {:?}",
        &text[bar..counts]
    );
}

#[test]
fn programs_fail_with_one_line() {
    let dir = scratch("programs");
    let corrupt = dir.join("corrupt.png");
    std::fs::write(&corrupt, b"not a png").unwrap();
    let corrupt = corrupt.to_str().unwrap();
    let empty = scratch("programs-empty");
    let empty = empty.to_str().unwrap();

    fails_with("histogram", &["--n", "1"], "--n 1");
    fails_with("histogram", &["--n", "0"], "--n 0");
    fails_with("histogram", &["--image", "/no/such.png"], "/no/such.png");
    fails_with("histogram", &["--image", corrupt], "corrupt.png");
    fails_with(
        "histogram",
        &["--n", "2", "--out", "/no/such/dir/h.png"],
        "/no/such/dir/h.png",
    );
    fails_with(
        "histogram",
        &["--frobnicate"],
        "unexpected argument '--frobnicate'",
    );
    fails_with("block_shuffle", &["--dir", empty], "no .png images");
    fails_with(
        "block_shuffle",
        &["--block", "100000", "--out", empty],
        "smaller than",
    );
    fails_with("block_shuffle", &["--out", corrupt], "cannot create");
    fails_with("data_creation", &["--n"], "unexpected argument '--n'");
    fails_with("mutable_dict", &["extra"], "unexpected argument 'extra'");
    assert_eq!(files_in(Path::new(empty)), Vec::<String>::new());
}

#[test]
fn programs_run() {
    let out = scratch("programs-run");
    let chart = out.join("h.png");
    let ok = |command: &mut Command| {
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let stdout = ok(example("histogram")
        .args(["--n", "4", "--seed", "1", "--out"])
        .arg(&chart));
    assert!(
        stdout.contains("counts: [") && stdout.contains("20 tasks"),
        "{stdout}"
    );
    assert!(image::open(&chart).is_ok());
    let stdout = ok(example("block_shuffle")
        .args(["--block", "150", "--out"])
        .arg(out.as_os_str()));
    assert!(stdout.contains("2 images"), "{stdout}");
    for name in ["shuffled_chelsea.png", "shuffled_rocket.png"] {
        assert!(image::open(out.join(name)).is_ok(), "{name}");
    }
    assert!(ok(&mut example("data_creation")).contains("std_avg.compute() = "));
    let stdout = ok(&mut example("mutable_dict"));
    assert_eq!(
        stdout.matches("equals the eager loop: true").count(),
        2,
        "{stdout}"
    );
}
