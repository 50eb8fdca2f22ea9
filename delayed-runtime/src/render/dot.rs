//! The graph as Graphviz text, in dask's style: tasks are ellipses labelled with their
//! function's name, data are boxes, edges go from inputs to consumers.
//!
//! Node ids are `n0`, `n1`, … in the graph's stable order (inputs first), so the same
//! graph always gives the same text; each node's full `name-1f3a9c0e` label is its
//! `tooltip`.

use std::fmt::Write;

use super::graph::Graph;
use super::Options;
use crate::graph::node::NodeKind;

/// Graphviz text for `graph`.
pub(crate) fn write(graph: &Graph, options: &Options) -> String {
    let mut out = String::with_capacity(64 + graph.nodes.len() * 64 + graph.edges.len() * 16);
    out.push_str("digraph delayed {\n");
    let _ = writeln!(out, "  graph [rankdir={}];", options.rankdir.as_str());
    out.push_str("  node [fontname=\"DejaVu Sans\"];\n");
    for (id, node) in graph.nodes.iter().enumerate() {
        let shape = match node.kind {
            NodeKind::Task => "ellipse",
            NodeKind::Data => "box",
        };
        let _ = writeln!(
            out,
            "  n{id} [label={}, shape={shape}, tooltip={}];",
            quote(&node.name),
            quote(&node.label)
        );
    }
    for &(from, to) in &graph.edges {
        let _ = writeln!(out, "  n{from} -> n{to};");
    }
    out.push_str("}\n");
    out
}

/// A Graphviz double-quoted string.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Rankdir;
    use crate::shape::roots_of;
    use crate::value;

    #[test]
    fn dask_style_text() {
        let a = value(2i64);
        let d = (&a + 1i64) * &a;
        let dot = write(&Graph::from_roots(&roots_of(&d)), &Options::default());
        let lines: Vec<&str> = dot.lines().collect();
        assert_eq!(lines[0], "digraph delayed {");
        assert_eq!(lines[1], "  graph [rankdir=BT];");
        assert!(lines[3].starts_with("  n0 [label=\"i64\", shape=box, tooltip=\"i64-"));
        assert!(lines[4].starts_with("  n1 [label=\"add\", shape=ellipse, tooltip=\"add-"));
        assert!(lines[5].starts_with("  n2 [label=\"mul\", shape=ellipse"));
        assert_eq!(
            &lines[6..],
            ["  n0 -> n1;", "  n0 -> n2;", "  n1 -> n2;", "}"]
        );
    }

    #[test]
    fn stable_and_rankdir() {
        let d = value(String::from("x")).map(|s| s.len());
        let g = Graph::from_roots(&roots_of(&d));
        let lr = Options {
            rankdir: Rankdir::LR,
            ..Options::default()
        };
        assert_eq!(write(&g, &lr), write(&g, &lr));
        assert!(write(&g, &lr).contains("rankdir=LR"));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(quote("Vec<(i32, f64)>"), "\"Vec<(i32, f64)>\"");
    }
}
