//! The tutorial's exercise "Block randomize an image": for every PNG in a directory, crop it
//! (centered) to a multiple of the block size, cut it into blocks, sharpen each block (PIL's
//! `ImageFilter.SHARPEN`), shuffle the blocks' positions, and save `shuffled_<name>.png`.
//!
//! ```text
//! cargo run --release --example block_shuffle                        # examples/images -> out/shuffled/
//! cargo run --release --example block_shuffle -- --dir ../shared/images --block 200 --seed 3 --out /tmp/s
//! ```
//!
//! The graph has one `load` and one `save_shuffled` task per image and one
//! `sharpened_block` task per block; all images are done in a single `compute`.

#[macro_use]
mod common;

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use delayed::prelude::*;
use image::{imageops, RgbImage};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

// ## The tasks

/// Reads the image inside the graph. The graph passes the path as
/// `delayed::file(path)`, keyed by the file's contents: an image changed on disk is a new
/// input, not the old one under the same name.
#[delayed]
pub fn load(path: &Path) -> io::Result<RgbImage> {
    common::open_rgb(path)
}

/// The `size`×`size` block whose top-left corner is at (x, y), sharpened on its own (the
/// tutorial crops each block, then filters it).
#[delayed]
pub fn sharpened_block(image: &RgbImage, x: u32, y: u32, size: u32) -> RgbImage {
    sharpen(&imageops::crop_imm(image, x, y, size, size).to_image())
}

/// Puts block `i` at position `order[i]` of a grid `columns` blocks wide and saves the
/// result as a PNG to `path` (written to a temporary file, then renamed).
#[delayed]
pub fn save_shuffled(
    blocks: Vec<RgbImage>,
    order: Vec<usize>,
    columns: u32,
    path: PathBuf,
) -> io::Result<PathBuf> {
    common::save_png(&assemble(&blocks, &order, columns), &path).map_err(io::Error::other)?;
    Ok(path)
}

// ## The image operations, as plain functions

/// PIL's `ImageFilter.SHARPEN`: the 3×3 kernel below, divided by 16, rounded, clamped to
/// 0..=255. Like PIL, the one-pixel border is copied unchanged.
pub fn sharpen(image: &RgbImage) -> RgbImage {
    const KERNEL: [[i32; 3]; 3] = [[-2, -2, -2], [-2, 32, -2], [-2, -2, -2]];
    const SCALE: i32 = 16;
    let (width, height) = image.dimensions();
    let mut out = image.clone();
    for y in 1..height.saturating_sub(1) {
        for x in 1..width.saturating_sub(1) {
            for channel in 0..3 {
                let mut sum = 0;
                for (dy, row) in (0..).zip(KERNEL) {
                    for (dx, k) in (0..).zip(row) {
                        let pixel = image.get_pixel(x + dx - 1, y + dy - 1);
                        sum += k * i32::from(pixel[channel]);
                    }
                }
                let rounded = (sum + SCALE / 2).div_euclid(SCALE);
                out.get_pixel_mut(x, y)[channel] = rounded.clamp(0, 255) as u8;
            }
        }
    }
    out
}

/// The image made of `blocks` (all the same size), block `i` at grid position `order[i]`
/// (row-major, `columns` blocks wide).
pub fn assemble(blocks: &[RgbImage], order: &[usize], columns: u32) -> RgbImage {
    let size = blocks.first().map_or(0, RgbImage::width);
    let rows = (blocks.len() as u32).div_ceil(columns.max(1));
    let mut out = RgbImage::new(columns * size, rows * size);
    for (block, &to) in blocks.iter().zip(order) {
        let (col, row) = (to as u32 % columns, to as u32 / columns);
        imageops::replace(
            &mut out,
            block,
            i64::from(col * size),
            i64::from(row * size),
        );
    }
    out
}

// ## Building the graph

/// What to do with one image, decided by the client from the image's header.
pub struct Plan {
    /// The image to read.
    pub source: PathBuf,
    /// Where its shuffled version goes.
    pub output: PathBuf,
    /// The top-left corner of the centered crop.
    pub left: u32,
    /// See `left`.
    pub top: u32,
    /// The crop is `columns × rows` blocks.
    pub columns: u32,
    /// See `columns`.
    pub rows: u32,
    /// Block `i` (row-major) goes to position `order[i]`.
    pub order: Vec<usize>,
}

/// The `.png` files in `dir`, sorted by name.
pub fn png_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read directory {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no .png images in {}", dir.display()));
    }
    Ok(files)
}

/// One plan per file: the centered crop to a multiple of `block` pixels (as the tutorial
/// computes it) and a seeded shuffle of the blocks. Reads only the images' headers.
pub fn plan(files: &[PathBuf], block: u32, seed: u64, out_dir: &Path) -> Result<Vec<Plan>, String> {
    if block == 0 {
        return Err("--block 0: blocks must be at least 1 pixel".into());
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut plans = Vec::new();
    for source in files {
        let (width, height) = common::dimensions(source)?;
        let (columns, rows) = (width / block, height / block);
        if columns == 0 || rows == 0 {
            return Err(format!(
                "{} is {width}x{height}, smaller than one {block}x{block} block",
                source.display()
            ));
        }
        let mut order: Vec<usize> = (0..(columns * rows) as usize).collect();
        order.shuffle(&mut rng);
        let stem = source.file_stem().unwrap_or_default().to_string_lossy();
        plans.push(Plan {
            output: out_dir.join(format!("shuffled_{stem}.png")),
            left: (width - columns * block) / 2,
            top: (height - rows * block) / 2,
            source: source.clone(),
            columns,
            rows,
            order,
        });
    }
    Ok(plans)
}

/// The graph for one image: load, one sharpening task per block, assemble and save.
/// Not `#[delayed]` itself: it calls delayed functions.
pub fn block_random(plan: &Plan, block: u32) -> Delayed<PathBuf> {
    let image = load(delayed::file(&plan.source));
    let mut blocks = Vec::new();
    for row in 0..plan.rows {
        for col in 0..plan.columns {
            let (x, y) = (plan.left + col * block, plan.top + row * block);
            blocks.push(sharpened_block(&image, x, y, block));
        }
    }
    save_shuffled(
        blocks,
        plan.order.clone(),
        plan.columns,
        plan.output.clone(),
    )
}

// ## The program

#[delayed::main] // dask's workers run this binary to execute tasks (`--cluster`)
fn main() -> ExitCode {
    common::main_with("block_shuffle", run)
}

/// The tutorial's exercise "Block randomize an image": every PNG in a directory cut into
/// blocks, each block sharpened, the blocks shuffled, saved as shuffled_<name>.png.
#[derive(clap::Parser, Debug)]
#[command(name = "block_shuffle", version)]
struct Args {
    /// Shuffle every .png in DIR [default: examples/images]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Side of the square blocks, in pixels
    #[arg(long, value_name = "SIZE", default_value_t = 100)]
    block: u32,
    /// Seed for the shuffles
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where shuffled_<name>.png go, created if needed
    #[arg(long, value_name = "DIR", default_value = "out/shuffled")]
    out: PathBuf,
    /// Compute on dask: local:N (a LocalCluster of N worker processes) or tcp://HOST:PORT
    /// (a running `dask scheduler`); needs `pip install distributed`
    #[arg(long, value_name = "CLUSTER")]
    cluster: Option<String>,
}

/// The whole program, given the command-line arguments.
pub fn run(args: Vec<String>) -> common::Result<()> {
    let Some(mut options) = common::parse::<Args>(args)? else {
        return Ok(()); // --help or --version
    };
    // Absolute, since with --cluster the images are saved by worker processes.
    options.out = std::path::absolute(&options.out)
        .map_err(|e| format!("--out {}: {e}", options.out.display()))?;
    let dir = options
        .dir
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/images"));
    let files = png_files(&dir)?;
    let plans = plan(&files, options.block, options.seed, &options.out)?;
    std::fs::create_dir_all(&options.out)
        .map_err(|e| format!("cannot create {}: {e}", options.out.display()))?;
    let cluster = options
        .cluster
        .as_deref()
        .map(common::cluster)
        .transpose()?;

    let start = Instant::now();
    let saved: Vec<Delayed<PathBuf>> = plans
        .iter()
        .map(|plan| block_random(plan, options.block))
        .collect();
    // Every image, in one compute (on dask's workers with --cluster).
    let saved = delayed::compute_with(&saved, &common::scheduler(cluster.as_ref()))?;
    let took = start.elapsed();

    for (plan, path) in plans.iter().zip(&saved) {
        outln!(
            "{} -> {} ({}x{} blocks of {})",
            plan.source.display(),
            path.display(),
            plan.columns,
            plan.rows,
            options.block
        );
    }
    outln!("{} images in {took:.2?}", saved.len());
    Ok(())
}
