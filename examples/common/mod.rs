//! Plumbing shared by the image examples: flags, one-line errors, and PNG files that are
//! either complete or absent. Nothing here is about `delayed`.

use std::error::Error;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use image::{ImageFormat, RgbImage};

/// What an example's `run` returns: any error, shown to the user as one line.
pub type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// Runs an example's `run` on the command line's arguments. An error is printed as one
/// line, `NAME: error: …`, with a non-zero exit status (no panic, no backtrace).
pub fn main_with(name: &str, run: fn(Vec<String>) -> Result<()>) -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors that wrap others (delayed's `Failed`) already name their source.
            let line = e.to_string().replace('\n', " ");
            eprintln!("{name}: error: {line}");
            ExitCode::FAILURE
        }
    }
}

/// The value after `flag`, parsed: `--n 50` gives `50`.
pub fn flag_value<T: FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .parse()
        .map_err(|_| format!("{flag}: `{value}` is not a valid value"))
}

/// Opens an image as 8-bit RGB. The error names the file; it is an `io::Error` because a
/// fallible `#[delayed]` function returns a `std::error::Error` type.
pub fn open_rgb(path: &Path) -> io::Result<RgbImage> {
    let image = image::open(path)
        .map_err(|e| io::Error::other(format!("cannot read {}: {e}", path.display())))?;
    Ok(image.to_rgb8())
}

/// Writes `image` as a PNG to `path` through a temporary file in the same directory and a
/// rename, so `path` is never left half-written.
pub fn save_png(image: &RgbImage, path: &Path) -> Result<(), String> {
    let mut tmp = PathBuf::from(path);
    let file_name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    tmp.set_file_name(format!(".{}.tmp", file_name.to_string_lossy()));
    let written = image
        .save_with_format(&tmp, ImageFormat::Png)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp); // best effort: it may never have been created
        format!("cannot write {}: {e}", path.display())
    })
}

/// An image's width and height, read from its header only (like PIL's lazy `Image.open`).
pub fn dimensions(path: &Path) -> Result<(u32, u32), String> {
    image::image_dimensions(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The cluster of `--cluster SPEC`: `local:N` starts a dask `LocalCluster` of `N` worker
/// processes, `tcp://HOST:PORT` connects to a running `dask scheduler`.
pub fn cluster(spec: &str) -> Result<delayed::dask::Cluster> {
    if let Some(n) = spec.strip_prefix("local:") {
        let n: usize = n
            .parse()
            .map_err(|_| format!("--cluster {spec}: expected local:N, N a number of workers"))?;
        Ok(delayed::dask::Cluster::local(n)?)
    } else if spec.contains("://") {
        Ok(delayed::dask::Cluster::connect(spec)?)
    } else {
        Err(format!("--cluster {spec}: expected local:N or tcp://HOST:PORT").into())
    }
}

/// The scheduler of an example: the local one, or dask on `cluster`.
pub fn scheduler(cluster: Option<&delayed::dask::Cluster>) -> delayed::Scheduler {
    match cluster {
        Some(cluster) => delayed::Scheduler::dask(cluster),
        None => delayed::Scheduler::new(),
    }
}
