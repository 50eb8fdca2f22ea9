//! The laid-out scene rasterized with `tiny-skia`: the same shapes and colors as the SVG,
//! and text drawn from the bundled font's glyph outlines (no system fonts).

use tiny_skia::{Color, FillRule, Paint, Path, PathBuilder, Pixmap, Rect, Stroke, Transform};

use super::font;
use super::layout::{Scene, SceneNode};
use super::style::{self, Rgb};
use super::VisualizeError;
use crate::graph::node::NodeKind;

/// Pictures are scaled down to stay under this many pixels (256 MB of RGBA).
const MAX_PIXELS: f32 = 64.0e6;

/// PNG bytes for `scene`, at `scale` pixels per SVG unit.
pub(crate) fn write(scene: &Scene, scale: f32) -> Result<Vec<u8>, VisualizeError> {
    write_limited(scene, scale, MAX_PIXELS)
}

fn write_limited(scene: &Scene, scale: f32, max_pixels: f32) -> Result<Vec<u8>, VisualizeError> {
    let mut scale = if scale.is_finite() && scale > 0.0 {
        scale.min(8.0)
    } else {
        1.0
    };
    let area = scene.width.max(1.0) * scene.height.max(1.0);
    if area * scale * scale > max_pixels {
        scale = (max_pixels / area).sqrt();
    }
    let width = (scene.width * scale).ceil().max(1.0) as u32;
    let height = (scene.height * scale).ceil().max(1.0) as u32;
    let mut pixmap = Pixmap::new(width, height).ok_or_else(|| VisualizeError::Render {
        message: format!("cannot allocate a {width}x{height} picture"),
    })?;
    pixmap.fill(color(style::BACKGROUND));
    let at = Transform::from_scale(scale, scale);

    let edge_paint = paint(style::EDGE);
    let edge_stroke = Stroke {
        width: style::EDGE_WIDTH,
        ..Stroke::default()
    };
    for edge in &scene.edges {
        let mut pb = PathBuilder::new();
        pb.move_to(edge.start.0, edge.start.1);
        for [c1, c2, end] in &edge.curves {
            pb.cubic_to(c1.0, c1.1, c2.0, c2.1, end.0, end.1);
        }
        if let Some(path) = pb.finish() {
            pixmap.stroke_path(&path, &edge_paint, &edge_stroke, at, None);
        }
        let [tip, b1, b2] = edge.arrow;
        let mut pb = PathBuilder::new();
        pb.move_to(tip.0, tip.1);
        pb.line_to(b1.0, b1.1);
        pb.line_to(b2.0, b2.1);
        pb.close();
        if let Some(path) = pb.finish() {
            pixmap.fill_path(&path, &edge_paint, FillRule::Winding, at, None);
        }
    }

    let node_stroke = Stroke {
        width: style::NODE_STROKE_WIDTH,
        ..Stroke::default()
    };
    let text_paint = paint(style::TEXT);
    for node in &scene.nodes {
        let (fill, outline) = style::colors(node.kind);
        if let Some(shape) = shape(node) {
            pixmap.fill_path(&shape, &paint(fill), FillRule::Winding, at, None);
            pixmap.stroke_path(&shape, &paint(outline), &node_stroke, at, None);
        }
        if let Some(text) = text(node) {
            pixmap.fill_path(&text, &text_paint, FillRule::Winding, at, None);
        }
    }
    pixmap.encode_png().map_err(|e| VisualizeError::Render {
        message: e.to_string(),
    })
}

fn color(c: Rgb) -> Color {
    Color::from_rgba8(c.0, c.1, c.2, 255)
}

fn paint(c: Rgb) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color(color(c));
    paint.anti_alias = true;
    paint
}

/// The node's ellipse or rounded box.
fn shape(node: &SceneNode) -> Option<Path> {
    let rect = Rect::from_xywh(node.x - node.w / 2.0, node.y - node.h / 2.0, node.w, node.h)?;
    match node.kind {
        NodeKind::Task => PathBuilder::from_oval(rect),
        NodeKind::Data => {
            let r = 3.0;
            let (l, t, rt, b) = (rect.left(), rect.top(), rect.right(), rect.bottom());
            let mut pb = PathBuilder::new();
            pb.move_to(l + r, t);
            pb.line_to(rt - r, t);
            pb.quad_to(rt, t, rt, t + r);
            pb.line_to(rt, b - r);
            pb.quad_to(rt, b, rt - r, b);
            pb.line_to(l + r, b);
            pb.quad_to(l, b, l, b - r);
            pb.line_to(l, t + r);
            pb.quad_to(l, t, l + r, t);
            pb.close();
            pb.finish()
        }
    }
}

/// The node's label as glyph outlines, centered.
fn text(node: &SceneNode) -> Option<Path> {
    let (glyphs, advance) = font::shape(&node.text);
    let k = font::SIZE / font::units_per_em();
    let left = node.x - advance * k / 2.0;
    let baseline = node.y + font::baseline_offset(font::SIZE);
    let mut out = Glyphs {
        pb: PathBuilder::new(),
        x: left,
        y: baseline,
        k,
    };
    for g in glyphs {
        out.x = left + g.x * k;
        font::outline(g.glyph, &mut out);
    }
    out.pb.finish()
}

/// Glyph outlines (font units, y up) into a path (picture units, y down).
struct Glyphs {
    pb: PathBuilder,
    x: f32,
    y: f32,
    k: f32,
}

impl Glyphs {
    fn at(&self, x: f32, y: f32) -> (f32, f32) {
        (self.x + x * self.k, self.y - y * self.k)
    }
}

impl ttf_parser::OutlineBuilder for Glyphs {
    fn move_to(&mut self, x: f32, y: f32) {
        let p = self.at(x, y);
        self.pb.move_to(p.0, p.1);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let p = self.at(x, y);
        self.pb.line_to(p.0, p.1);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (c, p) = (self.at(x1, y1), self.at(x, y));
        self.pb.quad_to(c.0, c.1, p.0, p.1);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (c1, c2, p) = (self.at(x1, y1), self.at(x2, y2), self.at(x, y));
        self.pb.cubic_to(c1.0, c1.1, c2.0, c2.1, p.0, p.1);
    }
    fn close(&mut self) {
        self.pb.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::graph::Graph;
    use crate::render::{layout, Options};
    use crate::shape::roots_of;
    use crate::value;

    fn scene() -> Scene {
        let d = value(String::from("12345")).map(|s| s.len()) + 1;
        let graph = Graph::from_roots(&roots_of(&d));
        layout::layout(&graph, &Options::default()).unwrap()
    }

    #[test]
    fn draws_shapes_and_text() {
        let scene = scene();
        let bytes = write(&scene, 2.0).unwrap();
        let pixmap = Pixmap::decode_png(&bytes).unwrap();
        assert_eq!(pixmap.width(), (scene.width * 2.0).ceil() as u32);
        // The center of the first node's label has dark text pixels nearby.
        let node = &scene.nodes[0];
        let (cx, cy) = ((node.x * 2.0) as u32, (node.y * 2.0) as u32);
        let dark = (cx.saturating_sub(20)..cx + 20)
            .flat_map(|x| (cy.saturating_sub(8)..cy + 8).map(move |y| (x, y)))
            .filter_map(|(x, y)| pixmap.pixel(x, y))
            .filter(|p| p.red() < 100 && p.green() < 100)
            .count();
        assert!(dark > 20, "{dark} dark pixels");
    }

    #[test]
    fn huge_scenes_are_scaled_down() {
        let scene = Scene {
            width: 40_000.0,
            height: 40_000.0,
            nodes: Vec::new(),
            edges: Vec::new(),
        };
        let bytes = write_limited(&scene, 2.0, 1.0e6).unwrap();
        let pixmap = Pixmap::decode_png(&bytes).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (1000, 1000));
    }

    #[test]
    fn glyphs_have_outlines() {
        let node = &scene().nodes[0];
        let path = text(node).unwrap();
        let b = path.bounds();
        assert!(b.width() > 10.0 && b.height() > 5.0);
        assert!((b.top() + b.height() / 2.0 - node.y).abs() < 4.0);
    }

    /// Our layout of the histogram graph against Graphviz's `dot` on the same DOT text:
    /// prints the table of BENCHMARKS.md's "Pictures" section and checks ours has at most
    /// dot's crossings + 10 % (the figures `layout.rs` checks in `DOT_CROSSINGS`). Needs
    /// `dot` on the PATH:
    /// `cargo test -p delayed-runtime --lib -- --ignored --nocapture against_dot`
    /// (`DELAYED_LAYOUT_OUT=dir` also writes our PNGs and the DOT text there).
    #[test]
    #[ignore]
    fn against_dot() {
        use crate::render::{dot, measure, Rankdir};
        println!("| N | rankdir | crossings: ours | dot | size: ours | dot |");
        println!("|---|---|---|---|---|---|");
        for n in [4, 6, 10, 15] {
            for rankdir in [Rankdir::TB, Rankdir::LR] {
                let graph = measure::histogram_graph(n);
                let options = Options {
                    rankdir,
                    ..Options::default()
                };
                let scene = layout::layout(&graph, &options).unwrap();
                let ours = measure::ours(&scene);
                let text = dot::write(&graph, &options);
                let theirs = measure::graphviz(&text).expect("`dot` (Graphviz) runs");
                if let Some(dir) = std::env::var_os("DELAYED_LAYOUT_OUT") {
                    let name = format!("histogram-{n}-{}", rankdir.as_str());
                    let dir = std::path::Path::new(&dir);
                    std::fs::write(
                        dir.join(format!("{name}-ours.png")),
                        write(&scene, 1.0).unwrap(),
                    )
                    .unwrap();
                    std::fs::write(dir.join(format!("{name}.dot")), text).unwrap();
                }
                println!(
                    "| {n} | {} | {} | {} | {:.0}×{:.0} | {:.0}×{:.0} |",
                    rankdir.as_str(),
                    ours.crossings,
                    theirs.crossings,
                    ours.width,
                    ours.height,
                    theirs.width,
                    theirs.height
                );
                assert!(ours.crossings * 10 <= theirs.crossings * 11);
            }
        }
    }
}
