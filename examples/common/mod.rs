//! Plumbing shared by the examples: command lines (`clap`), one-line errors, output that
//! survives `| head`, outputs checked before the work, and image files that are either
//! complete or absent. Nothing here is about `delayed`.
//!
//! Each example declares it with `#[macro_use] mod common;` (for `outln!`) and runs
//! `common::main_with("NAME", run)`: usage errors exit with status 2, other errors with 1,
//! each as one line `NAME: error: …` on stderr; `--help` and `--version` print and exit 0.
//! When stdout is closed early (`example | head -1`) the program stops quietly, status 0.

// Not every example uses every helper.
#![allow(dead_code)]

use std::error::Error;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use image::{ImageFormat, RgbImage};

/// `println!` that stops quietly when stdout is closed (see [`write_line`]). Use it in an
/// example's top module, where `common` is in scope.
macro_rules! outln {
    () => {
        common::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        common::write_line(format_args!($($arg)*))
    };
}

/// What an example's `run` returns: any error, shown to the user as one line.
pub type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

/// The program's name, for messages (set by [`main_with`]).
static NAME: OnceLock<&'static str> = OnceLock::new();

fn name() -> &'static str {
    NAME.get().copied().unwrap_or("example")
}

/// A command-line mistake: exit status 2, as `clap` and most tools use.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Usage {}

/// Runs an example's `run` on the command line's arguments. An error is printed as one
/// line, `NAME: error: …`, with exit status 2 for a usage error and 1 otherwise (no
/// panic, no backtrace).
pub fn main_with(name: &'static str, run: fn(Vec<String>) -> Result<()>) -> ExitCode {
    let _ = NAME.set(name);
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors that wrap others (delayed's `Failed`) already name their source.
            let line = e.to_string().replace('\n', " ");
            let _ = writeln!(io::stderr(), "{name}: error: {line}");
            if e.downcast_ref::<Usage>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Parses `args` (without the program name) into `A`. `Ok(None)` when `--help` or
/// `--version` was asked for and printed; a mistake is a one-line [`Usage`] error.
pub fn parse<A: clap::Parser>(args: Vec<String>) -> Result<Option<A>> {
    use clap::error::ErrorKind;
    let argv = std::iter::once(name().to_owned()).chain(args);
    match A::try_parse_from(argv) {
        Ok(parsed) => Ok(Some(parsed)),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let text = e.render().to_string();
            write_line(format_args!("{}", text.trim_end()));
            Ok(None)
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            Err(Box::new(Usage(format!("{first} (try --help)"))))
        }
    }
}

/// Writes one line to stdout. When stdout is closed (`| head -1`), the program ends
/// quietly with status 0: whoever read the output has what they wanted. Any other write
/// error ends it with status 1 and one line on stderr.
pub fn write_line(args: fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| out.write_all(b"\n"));
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            let _ = writeln!(
                io::stderr(),
                "{}: error: cannot write to stdout: {e}",
                name()
            );
            std::process::exit(1);
        }
    }
}

/// Checks, before any work, that a file can be created at `path` (its directory exists
/// and is writable, and `path` is not a directory), without touching `path` itself: a
/// probe file is created beside it and removed.
pub fn check_writable(path: &Path) -> Result<(), String> {
    let fail = |why: &dyn fmt::Display| format!("cannot write {}: {why}", path.display());
    if path.is_dir() {
        return Err(fail(&"it is a directory"));
    }
    let file_name = path.file_name().ok_or_else(|| fail(&"not a file name"))?;
    let mut probe = PathBuf::from(path);
    probe.set_file_name(format!(
        ".{}.probe-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| fail(&e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The image format for an output path: PNG or JPEG by extension (case-insensitive), or
/// an error naming the path, before any work is done.
pub fn image_format(path: &Path) -> Result<ImageFormat, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => Ok(ImageFormat::Png),
        Some("jpg" | "jpeg") => Ok(ImageFormat::Jpeg),
        _ => Err(format!(
            "cannot write {}: unknown image format, use a .png, .jpg or .jpeg file name",
            path.display()
        )),
    }
}

/// Opens an image as 8-bit RGB. The error names the file; it is an `io::Error` because a
/// fallible `#[delayed]` function returns a `std::error::Error` type.
pub fn open_rgb(path: &Path) -> io::Result<RgbImage> {
    let image = image::open(path)
        .map_err(|e| io::Error::other(format!("cannot read {}: {e}", path.display())))?;
    Ok(image.to_rgb8())
}

/// Writes `image` as a PNG to `path` (see [`save_image`]).
pub fn save_png(image: &RgbImage, path: &Path) -> Result<(), String> {
    save_image(image, path, ImageFormat::Png)
}

/// Writes `image` in `format` to `path` through a temporary file in the same directory and
/// a rename, so `path` is never left half-written.
pub fn save_image(image: &RgbImage, path: &Path, format: ImageFormat) -> Result<(), String> {
    let mut tmp = PathBuf::from(path);
    let file_name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    tmp.set_file_name(format!(".{}.tmp", file_name.to_string_lossy()));
    let written = image
        .save_with_format(&tmp, format)
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
