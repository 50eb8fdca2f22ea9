//! A layered (Sugiyama-style) layout, in pure Rust.
//!
//! 1. **Ranks.** Longest path from the sources, then nodes that feed at least as many
//!    consumers as they read inputs (data, loaders) move down next to their first
//!    consumer, so inputs sit beside the task that reads them.
//! 2. **Dummy nodes** split edges that span several ranks, so long edges are routed
//!    between nodes instead of across them.
//! 3. **Order** within each rank: barycenter sweeps, down and up, keeping the order with
//!    the fewest crossings (counted exactly, with a Fenwick tree).
//! 4. **Coordinates** across the ranks: each rank in turn is placed as close as possible to
//!    the mean position of its neighbours, subject to its nodes not overlapping; that
//!    least-squares problem under ordering constraints is solved exactly by pool-adjacent-
//!    violators. Dummy nodes weigh more, which keeps long edges straight.
//! 5. **Edges** are cubic Béziers through their dummy nodes, tangent to the rank axis at
//!    every rank, leaving and entering nodes at ports spread over their sides (so six
//!    inputs of one task do not share one arrowhead).
//!
//! Everything is computed in abstract coordinates (`a` along the ranks, `c` across them)
//! and mapped to x/y for the [`Rankdir`] at the end. All loops are iterative and bounded:
//! the caller refuses graphs over the node limit, and dummy nodes are capped.

use super::font;
use super::graph::Graph;
use super::{Options, Rankdir, VisualizeError};
use crate::node::NodeKind;

/// A point in the picture, in SVG units.
pub(crate) type Point = (f32, f32);

/// A laid-out picture, ready to be written as SVG or rasterized.
pub(crate) struct Scene {
    pub(crate) width: f32,
    pub(crate) height: f32,
    pub(crate) nodes: Vec<SceneNode>,
    pub(crate) edges: Vec<SceneEdge>,
}

pub(crate) struct SceneNode {
    /// Center.
    pub(crate) x: f32,
    pub(crate) y: f32,
    /// Full width and height.
    pub(crate) w: f32,
    pub(crate) h: f32,
    pub(crate) kind: NodeKind,
    /// The text drawn (the name, shortened if very long).
    pub(crate) text: String,
    /// The full `name-1f3a9c0e` label.
    pub(crate) title: String,
}

pub(crate) struct SceneEdge {
    pub(crate) start: Point,
    /// Cubic segments: two control points and the end point.
    pub(crate) curves: Vec<[Point; 3]>,
    /// The arrowhead: tip, then the two base corners.
    pub(crate) arrow: [Point; 3],
}

const MARGIN: f32 = 12.0;
const NODE_GAP: f32 = 22.0;
const DUMMY_GAP: f32 = 10.0;
const RANK_GAP: f32 = 44.0;
const ARROW_LEN: f32 = 9.0;
const ARROW_HALF_WIDTH: f32 = 4.0;
const MAX_CHARS: usize = 40;
/// Dummy nodes beyond this many are not created: the remaining long edges are drawn
/// directly. Keeps the work linear in the drawn nodes whatever the graph's shape.
const MAX_DUMMIES: usize = 100_000;
const ORDER_SWEEPS: usize = 16;
const PLACE_ROUNDS: usize = 8;

/// The text drawn for a name: at most `MAX_CHARS` characters.
fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_CHARS {
        return name.to_owned();
    }
    let mut out: String = name.chars().take(MAX_CHARS - 1).collect();
    out.push('…');
    out
}

/// Width and height of a node drawing `text`.
fn node_size(kind: NodeKind, text: &str) -> (f32, f32) {
    let tw = font::text_width(text, font::SIZE);
    match kind {
        // An ellipse around a text box needs about √2 its size; labels are one line, so
        // less height and a bit more width reads better.
        NodeKind::Task => ((tw * 1.2 + 30.0).max(60.0), 36.0),
        NodeKind::Data => ((tw + 22.0).max(40.0), 30.0),
    }
}

/// The vertices being laid out: the graph's nodes, then dummy nodes.
struct Vertices {
    rank: Vec<usize>,
    /// Neighbours in the rank before / after.
    up: Vec<Vec<u32>>,
    down: Vec<Vec<u32>>,
    /// Half the size across the ranks (0 for dummies).
    half_across: Vec<f32>,
    real: usize,
}

impl Vertices {
    fn len(&self) -> usize {
        self.rank.len()
    }
    fn is_dummy(&self, v: u32) -> bool {
        v as usize >= self.real
    }
    fn add_dummy(&mut self, rank: usize) -> u32 {
        self.rank.push(rank);
        self.up.push(Vec::new());
        self.down.push(Vec::new());
        self.half_across.push(0.0);
        (self.rank.len() - 1) as u32
    }
}

pub(crate) fn layout(graph: &Graph, options: &Options) -> Result<Scene, VisualizeError> {
    let n = graph.nodes.len();
    let horizontal = options.rankdir.horizontal();
    let texts: Vec<String> = graph.nodes.iter().map(|g| shorten(&g.name)).collect();
    let sizes: Vec<(f32, f32)> = graph
        .nodes
        .iter()
        .zip(&texts)
        .map(|(g, t)| node_size(g.kind, t))
        .collect();
    let (along_ext, across_ext): (Vec<f32>, Vec<f32>) = sizes
        .iter()
        .map(|&(w, h)| if horizontal { (w, h) } else { (h, w) })
        .unzip();

    // 1. Ranks. Inputs always have smaller indices than their consumers.
    let mut ins: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut outs: Vec<Vec<u32>> = vec![Vec::new(); n];
    for &(from, to) in &graph.edges {
        if from >= to || to as usize >= n {
            return Err(VisualizeError::Render {
                message: "internal error: edges out of order".into(),
            });
        }
        ins[to as usize].push(from);
        outs[from as usize].push(to);
    }
    let mut rank = vec![0usize; n];
    for v in 0..n {
        rank[v] = ins[v]
            .iter()
            .map(|&u| rank[u as usize] + 1)
            .max()
            .unwrap_or(0);
    }
    for v in (0..n).rev() {
        if outs[v].is_empty() || outs[v].len() < ins[v].len() {
            continue;
        }
        let first_use = outs[v].iter().map(|&c| rank[c as usize]).min().unwrap_or(0);
        if first_use > rank[v] + 1 {
            rank[v] = first_use - 1;
        }
    }

    // 2. Dummy nodes on long edges.
    let mut verts = Vertices {
        rank,
        up: vec![Vec::new(); n],
        down: vec![Vec::new(); n],
        half_across: across_ext.iter().map(|e| e / 2.0).collect(),
        real: n,
    };
    let mut chains: Vec<Vec<u32>> = Vec::with_capacity(graph.edges.len());
    let mut dummies = 0usize;
    for &(from, to) in &graph.edges {
        let (r0, r1) = (verts.rank[from as usize], verts.rank[to as usize]);
        let mut chain = vec![from];
        if r1 > r0 + 1 && dummies + (r1 - r0 - 1) <= MAX_DUMMIES {
            for r in r0 + 1..r1 {
                chain.push(verts.add_dummy(r));
            }
            dummies += r1 - r0 - 1;
        }
        chain.push(to);
        for pair in chain.windows(2) {
            verts.down[pair[0] as usize].push(pair[1]);
            verts.up[pair[1] as usize].push(pair[0]);
        }
        chains.push(chain);
    }

    // 3. Order within ranks.
    let ranks = verts.rank.iter().max().map_or(0, |r| r + 1);
    let mut layers: Vec<Vec<u32>> = vec![Vec::new(); ranks];
    for v in 0..verts.len() {
        layers[verts.rank[v]].push(v as u32);
    }
    let mut pos = vec![0usize; verts.len()];
    order(&verts, &mut layers, &mut pos);

    // 4. Coordinates across the ranks.
    let across = place(&verts, &layers);

    // Coordinates along the ranks.
    let mut rank_along = vec![0f32; ranks];
    let mut rank_ext = vec![0f32; ranks];
    for (&r, &ext) in verts.rank.iter().zip(&along_ext) {
        rank_ext[r] = rank_ext[r].max(ext);
    }
    let mut a = MARGIN;
    for r in 0..ranks {
        let ext = rank_ext[r].max(8.0);
        rank_along[r] = a + ext / 2.0;
        a += ext + RANK_GAP;
    }
    let along_total = a - RANK_GAP + MARGIN;
    let mut across_min = f32::INFINITY;
    let mut across_max = f32::NEG_INFINITY;
    for (&c, &half) in across.iter().zip(&verts.half_across) {
        across_min = across_min.min(c - half);
        across_max = across_max.max(c + half);
    }
    if !across_min.is_finite() {
        across_min = 0.0;
        across_max = 0.0;
    }
    let shift = MARGIN - across_min;
    let across_total = across_max - across_min + 2.0 * MARGIN;

    let (width, height) = if horizontal {
        (along_total, across_total)
    } else {
        (across_total, along_total)
    };
    let map = |a: f32, c: f32| -> Point {
        let c = c + shift;
        match options.rankdir {
            Rankdir::TB => (c, a),
            Rankdir::BT => (c, along_total - a),
            Rankdir::LR => (a, c),
            Rankdir::RL => (along_total - a, c),
        }
    };

    let nodes: Vec<SceneNode> = (0..n)
        .map(|v| {
            let (x, y) = map(rank_along[verts.rank[v]], across[v]);
            SceneNode {
                x,
                y,
                w: sizes[v].0,
                h: sizes[v].1,
                kind: graph.nodes[v].kind,
                text: texts[v].clone(),
                title: graph.nodes[v].label.clone(),
            }
        })
        .collect();

    // 5. Edges, with ports spread over the sides of their nodes.
    let port = |v: u32, slot: usize, count: usize, leaving: bool| -> Port {
        let v = v as usize;
        let half_a = along_ext[v] / 2.0;
        let half_c = across_ext[v] / 2.0;
        let side = if leaving { 1.0 } else { -1.0 };
        let center = (rank_along[verts.rank[v]], across[v]);
        let middle = (count as f32 - 1.0) / 2.0;
        match graph.nodes[v].kind {
            NodeKind::Task => {
                // Spread by angle around the ellipse, about 14 units apart, within ±66°;
                // the edge leaves along a blend of the rank axis and the normal.
                let step = if count > 1 {
                    (14.0 / half_c).min(2.3 / (count - 1) as f32)
                } else {
                    0.0
                };
                let theta = (slot as f32 - middle) * step;
                let (sin, cos) = theta.sin_cos();
                let normal = unit((cos / half_a, sin / half_c));
                let dir = unit((normal.0 + 1.0, normal.1));
                Port {
                    at: (center.0 + side * half_a * cos, center.1 + half_c * sin),
                    dir: (side * dir.0, dir.1),
                }
            }
            NodeKind::Data => {
                let spacing = if count > 1 {
                    (across_ext[v] * 0.8 / (count - 1) as f32).min(14.0)
                } else {
                    0.0
                };
                Port {
                    at: (
                        center.0 + side * half_a,
                        center.1 + (slot as f32 - middle) * spacing,
                    ),
                    dir: (side, 0.0),
                }
            }
        }
    };
    // Slots: edges leave a node in the order of where they go, and enter in the order of
    // where they come from.
    let mut out_slot = vec![0usize; chains.len()];
    let mut in_slot = vec![0usize; chains.len()];
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut in_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (e, chain) in chains.iter().enumerate() {
        out_edges[chain[0] as usize].push(e);
        in_edges[chain[chain.len() - 1] as usize].push(e);
    }
    for list in &mut out_edges {
        list.sort_by(|&x, &y| {
            across[chains[x][1] as usize].total_cmp(&across[chains[y][1] as usize])
        });
        for (slot, &e) in list.iter().enumerate() {
            out_slot[e] = slot;
        }
    }
    for list in &mut in_edges {
        let prev = |e: usize| across[chains[e][chains[e].len() - 2] as usize];
        list.sort_by(|&x, &y| prev(x).total_cmp(&prev(y)));
        for (slot, &e) in list.iter().enumerate() {
            in_slot[e] = slot;
        }
    }
    let mut edges = Vec::with_capacity(chains.len());
    for (e, chain) in chains.iter().enumerate() {
        let (from, to) = (chain[0], chain[chain.len() - 1]);
        // Points the curve passes through, each with its direction of travel.
        let mut points: Vec<Port> = Vec::with_capacity(chain.len());
        points.push(port(
            from,
            out_slot[e],
            out_edges[from as usize].len(),
            true,
        ));
        for &d in &chain[1..chain.len() - 1] {
            points.push(Port {
                at: (rank_along[verts.rank[d as usize]], across[d as usize]),
                dir: (1.0, 0.0),
            });
        }
        let entry = port(to, in_slot[e], in_edges[to as usize].len(), false);
        let travel = (-entry.dir.0, -entry.dir.1);
        let tip = entry.at;
        let base = (tip.0 - travel.0 * ARROW_LEN, tip.1 - travel.1 * ARROW_LEN);
        points.push(Port {
            at: base,
            dir: travel,
        });
        let mut curves = Vec::with_capacity(points.len() - 1);
        for pair in points.windows(2) {
            let (p, q) = (&pair[0], &pair[1]);
            let reach = ((q.at.0 - p.at.0).abs() / 2.0).max(8.0);
            curves.push([
                map(p.at.0 + p.dir.0 * reach, p.at.1 + p.dir.1 * reach),
                map(q.at.0 - q.dir.0 * reach, q.at.1 - q.dir.1 * reach),
                map(q.at.0, q.at.1),
            ]);
        }
        // The arrowhead's base corners, either side of the direction of travel.
        let side = (-travel.1 * ARROW_HALF_WIDTH, travel.0 * ARROW_HALF_WIDTH);
        edges.push(SceneEdge {
            start: map(points[0].at.0, points[0].at.1),
            curves,
            arrow: [
                map(tip.0, tip.1),
                map(base.0 + side.0, base.1 + side.1),
                map(base.0 - side.0, base.1 - side.1),
            ],
        });
    }
    Ok(Scene {
        width,
        height,
        nodes,
        edges,
    })
}

/// A point an edge passes through, and its direction of travel there (abstract
/// coordinates: along, across).
struct Port {
    at: (f32, f32),
    dir: (f32, f32),
}

fn unit(v: (f32, f32)) -> (f32, f32) {
    let len = (v.0 * v.0 + v.1 * v.1).sqrt();
    if len > 0.0 && len.is_finite() {
        (v.0 / len, v.1 / len)
    } else {
        (1.0, 0.0)
    }
}

/// Barycenter ordering: sweeps down (by the positions of the neighbours above) and up,
/// keeping the best order seen.
fn order(verts: &Vertices, layers: &mut [Vec<u32>], pos: &mut [usize]) {
    let set_pos = |layers: &[Vec<u32>], pos: &mut [usize]| {
        for layer in layers {
            for (i, &v) in layer.iter().enumerate() {
                pos[v as usize] = i;
            }
        }
    };
    set_pos(layers, pos);
    let mut best = layers.to_vec();
    let mut best_crossings = crossings(verts, layers, pos);
    for sweep in 0..ORDER_SWEEPS {
        if best_crossings == 0 {
            break;
        }
        let downward = sweep % 2 == 0;
        let count = layers.len();
        for step in 1..count {
            let r = if downward { step } else { count - 1 - step };
            let mut keyed: Vec<(f32, u32)> = layers[r]
                .iter()
                .map(|&v| {
                    let nbrs = if downward {
                        &verts.up[v as usize]
                    } else {
                        &verts.down[v as usize]
                    };
                    let key = if nbrs.is_empty() {
                        pos[v as usize] as f32
                    } else {
                        nbrs.iter().map(|&u| pos[u as usize] as f32).sum::<f32>()
                            / nbrs.len() as f32
                    };
                    (key, v)
                })
                .collect();
            keyed.sort_by(|x, y| x.0.total_cmp(&y.0));
            for (i, &(_, v)) in keyed.iter().enumerate() {
                layers[r][i] = v;
                pos[v as usize] = i;
            }
        }
        transpose(verts, layers, pos, sweep % 4 >= 2);
        let c = crossings(verts, layers, pos);
        if c < best_crossings {
            best_crossings = c;
            best.clone_from_slice(layers);
        }
    }
    layers.clone_from_slice(&best);
    set_pos(layers, pos);
}

/// Swaps neighbours in a rank while that lowers the crossings with the ranks on either
/// side (Graphviz's "transpose"). With `ties`, swaps that change nothing are made too,
/// which gets out of the plateaus barycenters get stuck on; the caller keeps the best
/// order seen.
fn transpose(verts: &Vertices, layers: &mut [Vec<u32>], pos: &mut [usize], ties: bool) {
    // Crossings between the edges of `u` and of `v` if `u` is left of `v`.
    let pair = |pos: &[usize], u: u32, v: u32| -> u64 {
        let mut count = 0u64;
        for nbrs in [&verts.up, &verts.down] {
            for &a in &nbrs[u as usize] {
                for &b in &nbrs[v as usize] {
                    count += u64::from(pos[a as usize] > pos[b as usize]);
                }
            }
        }
        count
    };
    for _ in 0..4 {
        let mut improved = false;
        for layer in layers.iter_mut() {
            for i in 1..layer.len() {
                let (u, v) = (layer[i - 1], layer[i]);
                // Hubs would make this quadratic; their neighbours stay as ordered.
                let work = (verts.up[u as usize].len() + verts.down[u as usize].len())
                    * (verts.up[v as usize].len() + verts.down[v as usize].len());
                if work > 4096 {
                    continue;
                }
                let (now, swapped) = (pair(pos, u, v), pair(pos, v, u));
                if swapped < now || (ties && swapped == now && now > 0) {
                    layer.swap(i - 1, i);
                    pos[u as usize] = i;
                    pos[v as usize] = i - 1;
                    improved |= swapped < now;
                }
            }
        }
        if !improved {
            break;
        }
    }
}

/// Edge crossings between adjacent ranks, counted as inversions with a Fenwick tree.
fn crossings(verts: &Vertices, layers: &[Vec<u32>], pos: &[usize]) -> u64 {
    let mut total = 0u64;
    let mut ends: Vec<usize> = Vec::new();
    for r in 0..layers.len().saturating_sub(1) {
        let size = layers[r + 1].len();
        let mut tree = vec![0u32; size + 1];
        ends.clear();
        for &u in &layers[r] {
            let start = ends.len();
            ends.extend(verts.down[u as usize].iter().map(|&v| pos[v as usize]));
            ends[start..].sort_unstable();
        }
        for (seen, &p) in ends.iter().enumerate() {
            // Crossings: edges seen so far that end after `p`.
            let mut i = p + 1;
            let mut not_after = 0u64;
            while i > 0 {
                not_after += u64::from(tree[i]);
                i &= i - 1;
            }
            total += seen as u64 - not_after;
            let mut i = p + 1;
            while i <= size {
                tree[i] += 1;
                i += i & i.wrapping_neg();
            }
        }
    }
    total
}

/// Coordinates across the ranks: rounds of "move each rank toward its neighbours without
/// overlapping", alternately down (toward inputs) and up (toward consumers).
fn place(verts: &Vertices, layers: &[Vec<u32>]) -> Vec<f32> {
    let mut x = vec![0f32; verts.len()];
    // Start packed and centered.
    for layer in layers {
        let mut c = 0.0;
        for (i, &v) in layer.iter().enumerate() {
            if i > 0 {
                c += separation(verts, layer[i - 1], v);
            }
            x[v as usize] = c;
        }
        let mid = c / 2.0;
        for &v in layer {
            x[v as usize] -= mid;
        }
    }
    let count = layers.len();
    for round in 0..PLACE_ROUNDS * 2 + 1 {
        // Rounds alternate, the last one downward: consumers end centered over their
        // inputs.
        let downward = round % 2 == 0;
        for step in 0..count {
            let r = if downward { step } else { count - 1 - step };
            let desired: Vec<(f32, f32)> = layers[r]
                .iter()
                .map(|&v| {
                    let v = v as usize;
                    let nbrs = if downward {
                        &verts.up[v]
                    } else {
                        &verts.down[v]
                    };
                    if nbrs.is_empty() {
                        return (x[v], 0.05);
                    }
                    let mean = nbrs.iter().map(|&u| x[u as usize]).sum::<f32>() / nbrs.len() as f32;
                    let weight = if verts.is_dummy(v as u32) { 8.0 } else { 1.0 };
                    (mean, weight)
                })
                .collect();
            let placed = fit_ordered(verts, &layers[r], &desired);
            for (&v, p) in layers[r].iter().zip(placed) {
                x[v as usize] = p;
            }
        }
    }
    x
}

/// The smallest gap between the centers of two neighbours in a rank.
fn separation(verts: &Vertices, left: u32, right: u32) -> f32 {
    let gap = if verts.is_dummy(left) || verts.is_dummy(right) {
        DUMMY_GAP
    } else {
        NODE_GAP
    };
    verts.half_across[left as usize] + verts.half_across[right as usize] + gap
}

/// Positions for a rank's vertices, in order, minimizing `Σ w (x - desired)²` subject to
/// every neighbour pair being at least `separation` apart: isotonic regression on
/// `x - offset`, solved by pool-adjacent-violators.
fn fit_ordered(verts: &Vertices, layer: &[u32], desired: &[(f32, f32)]) -> Vec<f32> {
    let mut offsets = Vec::with_capacity(layer.len());
    let mut o = 0.0;
    for (i, &v) in layer.iter().enumerate() {
        if i > 0 {
            o += separation(verts, layer[i - 1], v);
        }
        offsets.push(o);
    }
    // Blocks of (total weight, weighted sum, count).
    let mut blocks: Vec<(f32, f32, usize)> = Vec::new();
    for (i, &(d, w)) in desired.iter().enumerate() {
        blocks.push((w, w * (d - offsets[i]), 1));
        while blocks.len() > 1 {
            let (w2, s2, n2) = blocks[blocks.len() - 1];
            let (w1, s1, n1) = blocks[blocks.len() - 2];
            if s1 / w1 <= s2 / w2 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = (w1 + w2, s1 + s2, n1 + n2);
        }
    }
    let mut out = Vec::with_capacity(layer.len());
    for (w, s, count) in blocks {
        let y = s / w;
        for _ in 0..count {
            out.push(y + offsets[out.len()]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::roots_of;
    use crate::value;

    fn scene_of<C: crate::Computable>(shape: C, rankdir: Rankdir) -> Scene {
        let graph = Graph::from_roots(&roots_of(&shape));
        let options = Options {
            rankdir,
            ..Options::default()
        };
        layout(&graph, &options).unwrap()
    }

    fn overlap(a: &SceneNode, b: &SceneNode) -> bool {
        (a.x - b.x).abs() < (a.w + b.w) / 2.0 && (a.y - b.y).abs() < (a.h + b.h) / 2.0
    }

    fn inside(s: &Scene) -> bool {
        s.nodes.iter().all(|n| {
            n.x - n.w / 2.0 >= 0.0
                && n.y - n.h / 2.0 >= 0.0
                && n.x + n.w / 2.0 <= s.width + 0.01
                && n.y + n.h / 2.0 <= s.height + 0.01
        })
    }

    #[test]
    fn fan_in_has_no_overlaps_and_inputs_before_consumers() {
        let leaves: Vec<_> = (0..8i64).map(|i| value(i) * 2).collect();
        let total = crate::collect(&leaves).map(|v| v.iter().sum::<i64>());
        for rankdir in [Rankdir::TB, Rankdir::BT, Rankdir::LR, Rankdir::RL] {
            let s = scene_of(&total, rankdir);
            assert_eq!(s.nodes.len(), 17);
            assert_eq!(s.edges.len(), 16);
            assert!(inside(&s));
            for (i, a) in s.nodes.iter().enumerate() {
                for b in &s.nodes[i + 1..] {
                    assert!(!overlap(a, b), "{} overlaps {}", a.title, b.title);
                }
            }
            let root = s.nodes.last().unwrap();
            let leaf = &s.nodes[0];
            match rankdir {
                Rankdir::TB => assert!(leaf.y < root.y),
                Rankdir::BT => assert!(leaf.y > root.y),
                Rankdir::LR => assert!(leaf.x < root.x),
                Rankdir::RL => assert!(leaf.x > root.x),
            }
        }
    }

    #[test]
    fn long_edges_get_bends_and_end_at_their_target() {
        let a = value(1i64);
        let mut d = &a + 1;
        for _ in 0..4 {
            d = d * 2;
        }
        let d = &d + &a; // `a` moves next to its first consumer; this edge is long
        let s = scene_of(&d, Rankdir::TB);
        let long = s.edges.iter().map(|e| e.curves.len()).max().unwrap();
        assert!(long >= 4, "{long}");
        for e in &s.edges {
            // The arrow's tip is on the outline of a node (all are ellipses here).
            let tip = e.arrow[0];
            assert!(s.nodes.iter().any(|n| {
                let (dx, dy) = ((tip.0 - n.x) / (n.w / 2.0), (tip.1 - n.y) / (n.h / 2.0));
                (dx * dx + dy * dy - 1.0).abs() < 0.01
            }));
        }
    }

    #[test]
    fn ordering_removes_crossings() {
        // Two independent pairs, built crossed.
        let (a, b) = (value(1i64), value(2i64));
        let (x, y) = (b.map(|v| v + 1), a.map(|v| v + 2));
        let graph = Graph::from_roots(&roots_of(&(&y, &x, &a, &b)));
        let s = layout(&graph, &Options::default()).unwrap();
        for e in &s.edges {
            let (x0, x1) = (e.start.0, e.arrow[0].0);
            assert!((x0 - x1).abs() < 1.0, "edge bends: {x0} -> {x1}");
        }
    }

    #[test]
    fn isotonic_fit_keeps_separation() {
        let verts = Vertices {
            rank: vec![0; 3],
            up: vec![Vec::new(); 3],
            down: vec![Vec::new(); 3],
            half_across: vec![10.0; 3],
            real: 3,
        };
        let out = fit_ordered(&verts, &[0, 1, 2], &[(0.0, 1.0), (0.0, 1.0), (100.0, 1.0)]);
        let sep = 20.0 + NODE_GAP;
        assert!((out[1] - out[0] - sep).abs() < 1e-3);
        assert!((out[0] + out[1]).abs() < 1e-3); // centered on their common target
        assert!((out[2] - 100.0).abs() < 1e-3);
    }

    #[test]
    fn long_names_are_shortened() {
        let long = "x".repeat(100);
        assert_eq!(shorten(&long).chars().count(), MAX_CHARS);
        assert_eq!(shorten("add"), "add");
    }
}
