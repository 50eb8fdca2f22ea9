//! Drawing the task graph: DOT text, SVG and PNG, with no system Graphviz.
//!
//! The pipeline, one file per step:
//!
//! - `graph.rs`: the drawable graph, walked from the roots with an explicit stack (a
//!   million-node chain must not overflow the call stack), one node per distinct key,
//!   in a stable order (inputs before consumers, roots in the order given).
//! - `dot.rs`: that graph as Graphviz text, in dask's style.
//! - `layout.rs`: a layered (Sugiyama) layout in pure Rust: longest-path ranks, dummy
//!   nodes on long edges, dot's ordering (weighted median and barycenter sweeps with
//!   transposition), dot-like coordinates that keep chains straight (weighted medians,
//!   overlap-free by isotonic regression), spline edges with spread-out ports.
//! - `measure.rs` (tests): edge crossings and sizes of our pictures and of Graphviz's.
//! - `font.rs`: text metrics and glyph outlines from a bundled font.
//! - `svg.rs` and `png.rs`: the laid-out scene as SVG text, and rasterized with
//!   `tiny-skia`.
//!
//! Why not `layout-rs` and `resvg`: `layout-rs` parses DOT and draws SVG in its own style
//! (node sizes from a fixed character width, no control over ports or colors) and
//! `resvg` needs `usvg`'s text stack (`fontdb`, `rustybuzz`) plus a font to draw the SVG
//! text. Laying out the simple graphs of `delayed` (one label per node, edges between
//! adjacent layers) takes a few hundred lines; drawing the same scene to SVG and to a
//! `tiny-skia` pixmap keeps both outputs identical, and the only dependencies are
//! `tiny-skia` (rasterizer and PNG encoder) and `ttf-parser` (glyph outlines). The font is
//! DejaVu Sans reduced to Latin-1 (27 kB, `assets/`, its license beside it), so PNG text
//! renders the same on every machine without system fonts.

mod dot;
mod font;
mod graph;
mod layout;
#[cfg(test)]
mod measure;
mod png;
mod style;
mod svg;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::graph::delayed::Delayed;
use crate::graph::node::Node;
use crate::shape::{roots_of, Computable};

pub(crate) use graph::Graph;

/// The direction of the drawing: where inputs are drawn relative to their consumers.
///
/// The names are Graphviz's `rankdir` values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rankdir {
    /// Top to bottom: inputs above, results below.
    TB,
    /// Bottom to top: inputs below, results on top (dask's default).
    #[default]
    BT,
    /// Left to right: inputs on the left (`oper1.visualize(rankdir="LR")`).
    LR,
    /// Right to left.
    RL,
}

impl Rankdir {
    /// The Graphviz name: `"TB"`, `"BT"`, `"LR"` or `"RL"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Rankdir::TB => "TB",
            Rankdir::BT => "BT",
            Rankdir::LR => "LR",
            Rankdir::RL => "RL",
        }
    }

    /// Whether ranks are laid out along the horizontal axis.
    pub(crate) fn horizontal(self) -> bool {
        matches!(self, Rankdir::LR | Rankdir::RL)
    }
}

/// How to draw a graph: `visualize_with(path, &Options { rankdir: Rankdir::LR,
/// ..Default::default() })`.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The direction of the drawing (default: [`Rankdir::BT`], as dask).
    pub rankdir: Rankdir,
    /// Graphs with more drawn nodes than this are refused with
    /// [`VisualizeError::TooBig`] when drawing SVG or PNG (default 2,000): laying out and
    /// looking at bigger pictures is not useful. DOT text has no limit.
    pub max_nodes: usize,
    /// Pixels per SVG unit in PNG output (default 2.0, for sharp text). Lowered
    /// automatically when the picture would exceed 64 megapixels.
    pub png_scale: f32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            rankdir: Rankdir::default(),
            max_nodes: 2_000,
            png_scale: 2.0,
        }
    }
}

/// The output formats, chosen by file extension in [`write()`] and `Delayed::visualize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Graphviz text (`.dot`, `.gv`).
    Dot,
    /// An SVG picture (`.svg`).
    Svg,
    /// A PNG picture (`.png`).
    Png,
}

impl Format {
    /// The format for a path's extension (case-insensitive), if it is one of `dot`, `gv`,
    /// `svg` or `png`.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "dot" | "gv" => Some(Format::Dot),
            "svg" => Some(Format::Svg),
            "png" => Some(Format::Png),
            _ => None,
        }
    }
}

/// Why a graph could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VisualizeError {
    /// The path's extension is not `.dot`, `.gv`, `.svg` or `.png`.
    #[error("cannot draw to `{}`: unknown file extension, expected .dot, .gv, .svg or .png", path.display())]
    UnknownFormat {
        /// The path given.
        path: PathBuf,
    },
    /// The graph has more nodes than [`Options::max_nodes`].
    #[error(
        "the graph has {nodes} nodes, more than the drawing limit of {limit}: raise \
         `Options::max_nodes`, or write `.dot` text, which has no limit"
    )]
    TooBig {
        /// Drawn nodes in the graph.
        nodes: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        /// The path given.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The picture could not be rasterized or encoded.
    #[error("cannot render the PNG: {message}")]
    Render {
        /// What went wrong.
        message: String,
    },
}

/// The graph of one or more delayed values as Graphviz text, in dask's style: each task an
/// ellipse labelled with its function name, each value a box, edges from inputs to their
/// consumers, a shared node once. The same graph always gives the same text.
///
/// Takes what [`compute`](crate::compute) takes: a `Delayed`, or tuples, `Vec`s, slices
/// and arrays of them.
///
/// ```
/// use delayed::{to_dot, value};
/// let a = value(2i64);
/// let dot = to_dot((&a + 1, &a * 3));
/// assert!(dot.starts_with("digraph delayed {"));
/// assert_eq!(dot.matches("shape=box").count(), 1); // `a` is drawn once
/// ```
pub fn to_dot<C: Computable>(shape: C) -> String {
    to_dot_with(shape, &Options::default())
}

/// [`to_dot`] with options (the `rankdir` attribute).
pub fn to_dot_with<C: Computable>(shape: C, options: &Options) -> String {
    dot::write(&Graph::from_roots(&roots_of(&shape)), options)
}

/// Draws one or more delayed values in memory, as the bytes of a `.dot`, `.svg` or `.png`
/// file.
///
/// ```
/// use delayed::{value, visualize::{render, Format, Options}};
/// let a = value(2i64) + 1;
/// let svg = render(&a, Format::Svg, &Options::default()).unwrap();
/// assert!(String::from_utf8(svg).unwrap().contains(">add</text>"));
/// ```
pub fn render<C: Computable>(
    shape: C,
    format: Format,
    options: &Options,
) -> Result<Vec<u8>, VisualizeError> {
    render_graph(&Graph::from_roots(&roots_of(&shape)), format, options)
}

/// Draws one or more delayed values to a file; the format follows the extension (`.dot`,
/// `.gv`, `.svg`, `.png`). The file is written only if drawing succeeded.
pub fn write<C: Computable>(
    shape: C,
    path: impl AsRef<Path>,
    options: &Options,
) -> Result<(), VisualizeError> {
    write_roots(&roots_of(&shape), path.as_ref(), options)
}

/// The graph below `roots` as SVG text, if it has at most `max_nodes` nodes and lays out
/// (for the performance report).
pub(crate) fn svg_of(roots: &[&Arc<Node>], max_nodes: usize) -> Option<String> {
    let graph = Graph::from_roots(roots);
    if graph.nodes.len() > max_nodes {
        return None;
    }
    let scene = layout::layout(&graph, &Options::default()).ok()?;
    Some(svg::write(&scene))
}

fn write_roots(roots: &[&Arc<Node>], path: &Path, options: &Options) -> Result<(), VisualizeError> {
    let format = Format::from_path(path).ok_or_else(|| VisualizeError::UnknownFormat {
        path: path.to_owned(),
    })?;
    let bytes = render_graph(&Graph::from_roots(roots), format, options)?;
    std::fs::write(path, bytes).map_err(|source| VisualizeError::Io {
        path: path.to_owned(),
        source,
    })
}

fn render_graph(
    graph: &Graph,
    format: Format,
    options: &Options,
) -> Result<Vec<u8>, VisualizeError> {
    if format == Format::Dot {
        return Ok(dot::write(graph, options).into_bytes());
    }
    if graph.nodes.len() > options.max_nodes {
        return Err(VisualizeError::TooBig {
            nodes: graph.nodes.len(),
            limit: options.max_nodes,
        });
    }
    let scene = layout::layout(graph, options)?;
    match format {
        Format::Svg => Ok(svg::write(&scene).into_bytes()),
        _ => png::write(&scene, options.png_scale),
    }
}

impl<T> Delayed<T> {
    /// This value's graph as Graphviz text, in dask's style (see [`to_dot`]).
    ///
    /// ```
    /// use delayed::value;
    /// let d = value(String::from("12345")).map(|s| s.len());
    /// let dot = d.to_dot();
    /// assert!(dot.contains("label=\"map\""));
    /// assert!(dot.contains("label=\"String\""));
    /// ```
    pub fn to_dot(&self) -> String {
        dot::write(&Graph::from_roots(&[&self.node]), &Options::default())
    }

    /// Draws this value's graph to a file: `.dot` (Graphviz text), `.svg` or `.png` by
    /// extension, laid out and rendered in pure Rust (no Graphviz install needed).
    ///
    /// Errors, never panics, for an unknown extension, an unwritable path, or a graph
    /// over [`Options::max_nodes`] nodes.
    ///
    /// ```no_run
    /// use delayed::value;
    /// let d = value(3i64) * 2 + 1;
    /// d.visualize("graph.png")?;
    /// # Ok::<(), delayed::visualize::VisualizeError>(())
    /// ```
    pub fn visualize(&self, path: impl AsRef<Path>) -> Result<(), VisualizeError> {
        write_roots(&[&self.node], path.as_ref(), &Options::default())
    }

    /// [`visualize`](Delayed::visualize) with [`Options`]:
    /// `d.visualize_with("g.svg", &Options { rankdir: Rankdir::LR, ..Default::default() })`.
    pub fn visualize_with(
        &self,
        path: impl AsRef<Path>,
        options: &Options,
    ) -> Result<(), VisualizeError> {
        write_roots(&[&self.node], path.as_ref(), options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value;

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::from_path(Path::new("a/b.DOT")), Some(Format::Dot));
        assert_eq!(Format::from_path(Path::new("g.gv")), Some(Format::Dot));
        assert_eq!(Format::from_path(Path::new("g.svg")), Some(Format::Svg));
        assert_eq!(Format::from_path(Path::new("g.png")), Some(Format::Png));
        assert_eq!(Format::from_path(Path::new("g.jpeg")), None);
        assert_eq!(Format::from_path(Path::new("graph")), None);
    }

    #[test]
    fn unknown_extension_is_an_error() {
        let d = value(1i64) + 1;
        let err = d.visualize("graph.bmp").unwrap_err();
        assert!(matches!(err, VisualizeError::UnknownFormat { .. }));
        assert!(err.to_string().contains("graph.bmp"), "{err}");
    }

    #[test]
    fn unwritable_path_is_an_error() {
        let d = value(1i64) + 1;
        let err = d
            .visualize("/nonexistent-dir-for-delayed/graph.svg")
            .unwrap_err();
        assert!(matches!(err, VisualizeError::Io { .. }));
        assert!(err.to_string().contains("nonexistent-dir-for-delayed"));
    }

    #[test]
    fn too_big_is_an_error_but_dot_is_not() {
        let mut d = value(0u64);
        for _ in 0..30 {
            d = d + 1u64;
        }
        let options = Options {
            max_nodes: 10,
            ..Options::default()
        };
        let err = render(&d, Format::Png, &options).unwrap_err();
        assert!(matches!(
            err,
            VisualizeError::TooBig {
                nodes: 31,
                limit: 10
            }
        ));
        assert!(render(&d, Format::Dot, &options).is_ok());
    }
}
