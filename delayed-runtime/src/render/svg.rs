//! The laid-out scene as SVG text. Shapes, colors and coordinates are the PNG's; the text
//! is `<text>` in the bundled font's family, so it stays selectable and searchable.

use std::fmt::Write;

use super::font;
use super::layout::{Point, Scene};
use super::style;
use crate::graph::node::NodeKind;

/// SVG text for `scene`.
pub(crate) fn write(scene: &Scene) -> String {
    let mut out = String::with_capacity(512 + scene.nodes.len() * 300 + scene.edges.len() * 200);
    let (w, h) = (scene.width.ceil(), scene.height.ceil());
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="{}" font-size="{}">"#,
        font::FAMILY,
        font::SIZE
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="{}"/>"#,
        style::BACKGROUND.hex()
    );
    out.push_str("<g class=\"edges\">\n");
    for edge in &scene.edges {
        let mut d = String::new();
        let _ = write!(d, "M{}", pt(edge.start));
        for [c1, c2, end] in &edge.curves {
            let _ = write!(d, " C{} {} {}", pt(*c1), pt(*c2), pt(*end));
        }
        let [tip, b1, b2] = edge.arrow;
        let _ = writeln!(
            out,
            r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="{sw}"/><path d="M{} L{} L{} Z" fill="{c}"/>"#,
            pt(tip),
            pt(b1),
            pt(b2),
            c = style::EDGE.hex(),
            sw = style::EDGE_WIDTH,
        );
    }
    out.push_str("</g>\n<g class=\"nodes\">\n");
    for node in &scene.nodes {
        let (fill, stroke) = style::colors(node.kind);
        let _ = write!(out, "<g><title>{}</title>", escape(&node.title));
        match node.kind {
            NodeKind::Task => {
                let _ = write!(
                    out,
                    r#"<ellipse cx="{}" cy="{}" rx="{}" ry="{}""#,
                    num(node.x),
                    num(node.y),
                    num(node.w / 2.0),
                    num(node.h / 2.0)
                );
            }
            NodeKind::Data => {
                let _ = write!(
                    out,
                    r#"<rect x="{}" y="{}" width="{}" height="{}" rx="3""#,
                    num(node.x - node.w / 2.0),
                    num(node.y - node.h / 2.0),
                    num(node.w),
                    num(node.h)
                );
            }
        }
        let _ = write!(
            out,
            r#" fill="{}" stroke="{}" stroke-width="{}"/>"#,
            fill.hex(),
            stroke.hex(),
            style::NODE_STROKE_WIDTH
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text></g>"#,
            num(node.x),
            num(node.y + font::baseline_offset(font::SIZE)),
            style::TEXT.hex(),
            escape(&node.text)
        );
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// A coordinate with two decimals at most.
fn num(v: f32) -> String {
    let rounded = (v * 100.0).round() / 100.0;
    format!("{rounded}")
}

fn pt(p: Point) -> String {
    format!("{},{}", num(p.0), num(p.1))
}

/// XML character data and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::graph::Graph;
    use crate::render::{layout, Options};
    use crate::shape::roots_of;
    use crate::value;

    #[test]
    fn every_node_and_edge_is_drawn() {
        let a = value(vec![1u8, 2]);
        let d = a.get(0usize) + a.get(1usize);
        let graph = Graph::from_roots(&roots_of(&d));
        let svg = write(&layout::layout(&graph, &Options::default()).unwrap());
        assert!(svg.starts_with("<?xml"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<ellipse").count(), 3);
        assert_eq!(svg.matches("<rect x=").count(), 1);
        assert_eq!(svg.matches(" Z\" fill=").count(), 4); // arrowheads
        assert_eq!(svg.matches(">getitem</text>").count(), 2);
        assert!(svg.contains(">Vec&lt;u8&gt;</text>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("a<b & 'c'>\"d\""),
            "a&lt;b &amp; &#39;c&#39;&gt;&quot;d&quot;"
        );
        assert_eq!(num(1.0 / 3.0), "0.33");
        assert_eq!(num(2.0), "2");
    }
}
