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
//! Where things live, following a value from a `#[delayed] fn` call to its result (each
//! layer uses only the ones listed before it):
//!
//! 1. the ground: type-erased values and errors (`erased.rs`, `error.rs`), caught panics
//!    (`panics.rs`), keys and hashing (`key/`: [`Key`], [`Tokenize`], function identities
//!    and the one-compression keying of calls), the value codec shared by the cache and
//!    the cluster (`codec.rs`), result slots (`slots.rs`);
//! 2. the graph (`graph/`): a call builds a [`Node`](graph::node) through `call.rs` (or
//!    `value`, an operator, `map`, `collect`, `unpack`, `file`) behind a [`Delayed`];
//! 3. the shapes `compute` takes and gives back (`shape.rs`);
//! 4. the pipeline of one compute (`pipeline.rs`): the plan (`plan.rs`, one task per
//!    distinct key), the cache rewrite (`cache/`), the executor behind one interface
//!    (`executor/`: the local ones; `dask/`: a dask.distributed cluster), the watch
//!    (`watch/`: progress, trace, report);
//! 5. the user's entry points: [`Scheduler`] (the builder: executor + cache + watch) in
//!    `scheduler.rs`, `compute`/`persist` in `compute.rs`, futures (`submit`, [`Job`],
//!    `as_completed`) in `job.rs`; drawing the graph (`to_dot`, `visualize`) in `render/`.

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

mod atomic_file;
#[cfg(feature = "cache")]
mod cache;
mod codec;
mod compute;
#[cfg(feature = "dask")]
pub mod dask;
mod erased;
mod error;
mod executor;
mod graph;
mod job;
mod key;
mod panics;
mod pipeline;
mod plan;
mod prefetch;
#[cfg(feature = "visualize")]
mod render;
mod scheduler;
mod shape;
mod slots;
mod watch;
pub mod worker;

#[doc(hidden)]
pub mod private;

#[cfg(feature = "cache")]
pub use cache::{Cache, CacheCounters, CacheMode, CacheStats};
#[cfg(feature = "cache")]
pub use codec::Cacheable;
pub use compute::{compute, compute_with, compute_with_report, persist, persist_with};
pub use error::Error;
pub use graph::arg::IntoArg;
pub use graph::call::value;
pub use graph::collect::collect;
pub use graph::delayed::Delayed;
pub use graph::file::file;
pub use graph::node::NodeKind;
pub use job::{as_completed, submit, submit_with, submit_with_report, AsCompleted, Job};
pub use key::tokenize::Tokenize;
pub use key::{Key, KeyHasher};
pub use scheduler::Scheduler;
pub use shape::{Computable, Owned, Persistable};
#[cfg(feature = "dashboard")]
pub use watch::dashboard::Dashboard;
pub use watch::{FunctionStats, Progress, Report};

#[cfg(feature = "visualize")]
pub use render::to_dot;

/// The `ndarray` crate (0.17) this crate implements [`Tokenize`] (and, with `cache` or
/// `dask`, serde) for: use it through this path to get the matching version (feature
/// `ndarray`).
#[cfg(feature = "ndarray")]
pub use ndarray;

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
