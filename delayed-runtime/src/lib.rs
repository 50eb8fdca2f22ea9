//! The runtime of [`delayed`](https://docs.rs/delayed): the task graph, its blake3 keys, and
//! the deduplicating parallel scheduler.
//!
//! Most users depend on the `delayed` crate, which re-exports this one together with the
//! `#[delayed]` attribute and the `delay!` macro; the examples here are written as they
//! write them, with the `delayed` crate's paths (`delayed::value` is this crate's
//! [`value`]). Graphs can be built from [`value`], operators, [`Delayed::map`] and
//! [`collect`] alone:
//!
//! ```
//! use delayed::{compute, value};
//!
//! let text = value(String::from("12345"));
//! let ones = value(vec![1usize; 5]);
//! let total = text.map(|s| s.len()) + ones.get(3);
//! assert_eq!(total.compute().unwrap(), 6);
//!
//! let (a, b) = compute((&total, total.map(|t| t * 2))).unwrap();
//! assert_eq!((a, b), (6, 12));
//! ```
//!
//! Where things live, following a value from a call to its result:
//!
//! - the graph: [`Delayed`] and [`value`] in `delayed.rs`, the nodes (and how far a key
//!   holds, `Scope`) in `node.rs`, the walk over them that drawing and reports share in
//!   `walk.rs`, files as inputs keyed by content in `file.rs`, the type-erased value and
//!   error every module passes around in `value.rs`;
//! - building a task: `call.rs` (identity, arguments, body), its key in `keying.rs` (one
//!   blake3 compression for most calls) over `key.rs` and `tokenize.rs`; argument
//!   conversion in `arg.rs`, operators in `ops.rs`, tuples in `unpack.rs`;
//! - computing: shapes, `compute` and `persist` in `compute.rs`, futures (`submit`, `Job`,
//!   `as_completed`) in `job.rs`; then the pipeline plan → cache rewrite → execute →
//!   watch: the planner in `scheduler/plan.rs`, the on-disk cache in `cache/` (feature
//!   `cache`; the key a result is stored under in `cache/disk_key.rs`), the local executor
//!   in `scheduler/run.rs` and `scheduler/slots.rs` (a task's view of its inputs in
//!   `scheduler/inputs.rs`, memory hints for large graphs in `scheduler/prefetch.rs`), the dask.distributed executor in `dask/` with the functions workers
//!   find by stable id in `remote.rs` and the worker's entry point in `worker.rs` (feature
//!   `dask`), progress, trace and report in `watch/`;
//! - errors in `error.rs` (task panics kept quiet in `panics.rs`), drawing the graph
//!   (`to_dot`, `visualize`) in `render/`.

#![warn(missing_docs)]

/// Calls `$m!` with every tuple arity the crate supports (1 to 12), as `(index Type, ...)`
/// rows: one list for `Tokenize`, `Computable` and `unpack`.
macro_rules! for_each_tuple {
    ($m:ident) => {
        $m! {
            (0 A)
            (0 A, 1 B)
            (0 A, 1 B, 2 C)
            (0 A, 1 B, 2 C, 3 D)
            (0 A, 1 B, 2 C, 3 D, 4 E)
            (0 A, 1 B, 2 C, 3 D, 4 E, 5 F)
            (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G)
            (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H)
            (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I)
            (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J)
            (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K)
            (0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H, 8 I, 9 J, 10 K, 11 L)
        }
    };
}

mod arg;
mod atomic_file;
mod cache;
mod call;
mod compute;
#[cfg(feature = "dask")]
pub mod dask;
mod delayed;
mod error;
mod file;
mod job;
mod key;
mod keying;
mod node;
mod ops;
mod panics;
mod remote;
#[cfg(feature = "visualize")]
mod render;
mod scheduler;
mod tokenize;
mod unpack;
mod value;
mod walk;
mod watch;
pub mod worker;

#[doc(hidden)]
pub mod private;

pub use arg::IntoArg;
#[cfg(feature = "cache")]
pub use cache::{Cache, CacheCounters, CacheMode, CacheStats, Cacheable};
pub use compute::{
    collect, compute, compute_with, compute_with_report, persist, persist_with, Computable, Owned,
    Persistable,
};
pub use delayed::{value, Delayed};
pub use error::Error;
pub use file::file;
pub use job::{as_completed, submit, submit_with, submit_with_report, AsCompleted, Job};
pub use key::{Key, KeyHasher};
pub use node::NodeKind;
pub use scheduler::Scheduler;
pub use tokenize::Tokenize;
pub use watch::{FunctionStats, Progress, Report};

#[cfg(feature = "visualize")]
pub use render::to_dot;

/// Drawing the task graph as Graphviz text, SVG or PNG, with no system Graphviz (feature
/// `visualize`, on by default).
///
/// `d.to_dot()` and [`to_dot`] give DOT text in dask's style: each task an
/// ellipse labelled with its function name, each value a box, edges from inputs to
/// consumers, a shared node drawn once, the same text for the same graph.
/// `d.visualize("graph.svg")` writes `.dot`, `.svg` or `.png` by extension;
/// `d.visualize_with(path, &Options { rankdir: Rankdir::LR, ..Default::default() })`
/// chooses the direction. [`write`](visualize::write) and [`render`](visualize::render)
/// draw several values (any shape `compute` takes) to a file or to bytes.
///
/// Layout and drawing are pure Rust: a layered layout written for these graphs, SVG
/// written directly, PNG rasterized by `tiny-skia` with text drawn from a bundled font
/// (DejaVu Sans, Latin-1) through `ttf-parser`. Graphs over [`Options::max_nodes`](visualize::Options::max_nodes)
/// (default 2,000) are refused with [`VisualizeError::TooBig`](visualize::VisualizeError::TooBig) instead of drawn; DOT text
/// has no limit and is built without recursion, so million-node graphs are fine.
///
/// ```
/// use delayed::value;
/// use delayed::visualize::{Options, Rankdir};
///
/// let var1 = value(String::from("12345"));
/// let oper1 = var1.map(|s| s.len()) + 1;
/// let dot = oper1.to_dot();
/// assert!(dot.contains("shape=box") && dot.contains("label=\"add\""));
///
/// let dir = std::env::temp_dir();
/// let lr = Options { rankdir: Rankdir::LR, ..Default::default() };
/// oper1.visualize_with(dir.join("oper1.svg"), &lr)?;
/// oper1.visualize(dir.join("oper1.png"))?;
/// assert!(oper1.visualize(dir.join("oper1.jpg")).is_err()); // unknown extension
/// # Ok::<(), delayed::visualize::VisualizeError>(())
/// ```
#[cfg(feature = "visualize")]
pub mod visualize {
    pub use crate::render::{
        render, to_dot, to_dot_with, write, Format, Options, Rankdir, VisualizeError,
    };
}
