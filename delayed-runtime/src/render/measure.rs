//! Measuring pictures: edge crossings counted on the drawn curves, and picture size, for
//! our layout and for Graphviz's `dot` on the same DOT text (tests only).
//!
//! Crossings are counted geometrically, the same way for both: every edge is flattened to
//! a polyline from its tail's center, along its curve, to its head's center (dot's plain
//! output stops the curve at the arrowhead's base, ours at the arrow's tip: the centers
//! make both whole), and each proper intersection between two edges that share no node
//! counts once. That is what a reader sees, whatever the layout's internal model.

use super::graph::{GNode, Graph};
use super::layout::{Point, Scene};
use crate::graph::node::NodeKind;

/// An edge as drawn: its two nodes and the polyline through it.
pub(crate) struct Drawn {
    pub(crate) ends: (u32, u32),
    pub(crate) points: Vec<Point>,
}

/// A picture's size and its crossings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Measure {
    pub(crate) width: f32,
    pub(crate) height: f32,
    pub(crate) crossings: usize,
    /// Crossings with every edge drawn straight between its nodes' centers: for graphs
    /// whose edges all join adjacent ranks, the crossings of the order chosen.
    #[allow(dead_code)] // printed when comparing orders by hand
    pub(crate) straight: usize,
}

fn straight(centers: &[Point], ends: &[(u32, u32)]) -> usize {
    let edges: Vec<Drawn> = ends
        .iter()
        .map(|&(a, b)| Drawn {
            ends: (a, b),
            points: vec![centers[a as usize], centers[b as usize]],
        })
        .collect();
    crossings(&edges)
}

/// The point at `t` on the cubic Bézier `p0 c1 c2 p3`.
fn bezier(p0: Point, c1: Point, c2: Point, p3: Point, t: f32) -> Point {
    let u = 1.0 - t;
    let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
    (
        a * p0.0 + b * c1.0 + c * c2.0 + d * p3.0,
        a * p0.1 + b * c1.1 + c * c2.1 + d * p3.1,
    )
}

/// `start` followed by cubic segments, flattened (12 pieces per segment).
fn flatten(start: Point, curves: &[[Point; 3]]) -> Vec<Point> {
    const PIECES: usize = 12;
    let mut points = vec![start];
    let mut from = start;
    for &[c1, c2, end] in curves {
        for i in 1..=PIECES {
            points.push(bezier(from, c1, c2, end, i as f32 / PIECES as f32));
        }
        from = end;
    }
    points
}

/// Our scene's edges, flattened.
pub(crate) fn drawn_edges(scene: &Scene) -> Vec<Drawn> {
    scene
        .edges
        .iter()
        .map(|e| {
            let (tail, head) = (
                &scene.nodes[e.ends.0 as usize],
                &scene.nodes[e.ends.1 as usize],
            );
            let mut points = vec![(tail.x, tail.y)];
            points.extend(flatten(e.start, &e.curves));
            points.push(e.arrow[0]);
            points.push((head.x, head.y));
            Drawn {
                ends: e.ends,
                points,
            }
        })
        .collect()
}

fn cross(o: Point, a: Point, b: Point) -> f32 {
    (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
}

/// Whether segments `p1 p2` and `q1 q2` cross. A point exactly on the other line counts
/// as on its negative side (a simulated perturbation): two polylines that meet at a
/// vertex of both and go on to the other side cross once, not zero or two times.
fn segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool {
    let side = |o: Point, a: Point, b: Point| cross(o, a, b) > 0.0;
    side(q1, q2, p1) != side(q1, q2, p2) && side(p1, p2, q1) != side(p1, p2, q2)
}

fn bounds(points: &[Point]) -> (f32, f32, f32, f32) {
    points.iter().fold(
        (
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ),
        |(x0, y0, x1, y1), p| (x0.min(p.0), y0.min(p.1), x1.max(p.0), y1.max(p.1)),
    )
}

/// Crossings between edges that share no node.
pub(crate) fn crossings(edges: &[Drawn]) -> usize {
    let boxes: Vec<_> = edges.iter().map(|e| bounds(&e.points)).collect();
    let mut total = 0;
    for i in 0..edges.len() {
        for j in i + 1..edges.len() {
            let (a, b) = (&edges[i], &edges[j]);
            let shared = a.ends.0 == b.ends.0
                || a.ends.0 == b.ends.1
                || a.ends.1 == b.ends.0
                || a.ends.1 == b.ends.1;
            let (ba, bb) = (boxes[i], boxes[j]);
            if shared || ba.2 < bb.0 || bb.2 < ba.0 || ba.3 < bb.1 || bb.3 < ba.1 {
                continue;
            }
            for p in a.points.windows(2) {
                let pb = bounds(p);
                if pb.2 < bb.0 || bb.2 < pb.0 || pb.3 < bb.1 || bb.3 < pb.1 {
                    continue;
                }
                for q in b.points.windows(2) {
                    total += usize::from(segments_cross(p[0], p[1], q[0], q[1]));
                }
            }
        }
    }
    total
}

/// Our layout of `graph`, measured.
pub(crate) fn ours(scene: &Scene) -> Measure {
    let centers: Vec<Point> = scene.nodes.iter().map(|n| (n.x, n.y)).collect();
    let ends: Vec<(u32, u32)> = scene.edges.iter().map(|e| e.ends).collect();
    Measure {
        width: scene.width,
        height: scene.height,
        crossings: crossings(&drawn_edges(scene)),
        straight: straight(&centers, &ends),
    }
}

/// `dot -Tplain` on `dot_text`, measured (sizes in points, as our SVG units), or `None`
/// when Graphviz is not installed.
pub(crate) fn graphviz(dot_text: &str) -> Option<Measure> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("dot")
        .arg("-Tplain")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(dot_text.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    const POINTS: f32 = 72.0;
    let (mut width, mut height) = (0.0, 0.0);
    let mut edges = Vec::new();
    let mut centers: Vec<Point> = Vec::new();
    let id = |name: &str| name.trim_start_matches('n').parse::<u32>().ok();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first() {
            Some(&"graph") => {
                width = words.get(2)?.parse::<f32>().ok()? * POINTS;
                height = words.get(3)?.parse::<f32>().ok()? * POINTS;
            }
            Some(&"node") => {
                let v = id(words.get(1)?)? as usize;
                let x: f32 = words.get(2)?.parse().ok()?;
                let y: f32 = words.get(3)?.parse().ok()?;
                if centers.len() <= v {
                    centers.resize(v + 1, (0.0, 0.0));
                }
                centers[v] = (x * POINTS, y * POINTS);
            }
            Some(&"edge") => {
                let ends = (id(words.get(1)?)?, id(words.get(2)?)?);
                let n: usize = words.get(3)?.parse().ok()?;
                let mut control = Vec::with_capacity(n);
                for k in 0..n {
                    let x: f32 = words.get(4 + 2 * k)?.parse().ok()?;
                    let y: f32 = words.get(5 + 2 * k)?.parse().ok()?;
                    control.push((x * POINTS, y * POINTS));
                }
                let curves: Vec<[Point; 3]> = control[1..]
                    .chunks_exact(3)
                    .map(|c| [c[0], c[1], c[2]])
                    .collect();
                edges.push(Drawn {
                    ends,
                    points: flatten(*control.first()?, &curves),
                });
            }
            _ => {}
        }
    }
    for e in &mut edges {
        let (tail, head) = (e.ends.0 as usize, e.ends.1 as usize);
        e.points.insert(0, *centers.get(tail)?);
        e.points.push(*centers.get(head)?);
    }
    let ends: Vec<(u32, u32)> = edges.iter().map(|e| e.ends).collect();
    Some(Measure {
        width,
        height,
        crossings: crossings(&edges),
        straight: straight(&centers, &ends),
    })
}

/// The graph of the tutorial's histogram exercise for `n` blocks, as `graph.rs` draws it:
/// `load`, `n` `crop`s of it, a `diff` of every pair of crops, a `mean` of each diff, and
/// one `histogram` of all the means (its `collect` is transparent).
pub(crate) fn histogram_graph(n: usize) -> Graph {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let mut add = |name: &str, inputs: &[u32]| -> u32 {
        let id = nodes.len() as u32;
        nodes.push(GNode {
            name: name.to_owned(),
            label: format!("{name}-{id:08x}"),
            kind: NodeKind::Task,
        });
        edges.extend(inputs.iter().map(|&i| (i, id)));
        id
    };
    let load = add("load", &[]);
    let crops: Vec<u32> = (0..n).map(|_| add("crop", &[load])).collect();
    let mut means = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let diff = add("diff", &[crops[i], crops[j]]);
            means.push(add("mean", &[diff]));
        }
    }
    add("histogram", &means);
    Graph { nodes, edges }
}
