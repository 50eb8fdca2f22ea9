//! A layered (Sugiyama-style) layout, in pure Rust.
//!
//! 1. **Ranks.** Longest path from the sources, then nodes that feed at least as many
//!    consumers as they read inputs (data, loaders) move down next to their first
//!    consumer, so inputs sit beside the task that reads them.
//! 2. **Dummy nodes** split edges that span several ranks, so long edges are routed
//!    between nodes instead of across them.
//! 3. **Order** within each rank, as Graphviz's dot does it: sweeps down and up by the
//!    weighted median of the neighbours' places, each followed by transposition of
//!    neighbours (swap while it lowers crossings), then again by barycenters; the order
//!    with the fewest crossings (counted exactly, with a Fenwick tree) wins.
//! 4. **Coordinates** across the ranks, after dot's objective `Σ ω |x_u − x_v|`: each rank
//!    in turn is moved toward the weighted median of each vertex's neighbours on both
//!    sides, subject to its nodes not overlapping (that fit under ordering constraints is
//!    solved exactly by pool-adjacent-violators). Links of chains and dummy nodes weigh
//!    more, which keeps chains of tasks and long edges straight. A wide rank (many nodes,
//!    much wider than the picture is deep) is folded into two staggered rows, which
//!    halves its width.
//!
//! Measured against dot on the histogram exercise's graph (N = 4 to 15 blocks, both
//! directions): as few or fewer edge crossings, and from N = 10 on, thanks to folding,
//! pictures half as wide (`measure.rs`, the `against_dot` test, BENCHMARKS.md).
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
use crate::graph::node::NodeKind;

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
    /// The input and the consumer, as indices into the scene's nodes (read by the tests'
    /// measurements, `measure.rs`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) ends: (u32, u32),
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
/// Sweeps per heuristic (dot's `MaxIter`), stopping early after `ORDER_PATIENCE` sweeps
/// without a better order.
const ORDER_SWEEPS: usize = 24;
const ORDER_PATIENCE: usize = 8;
/// A rank of at least `FOLD_MIN_NODES` nodes packed wider than `FOLD_WIDTH` is folded
/// into two rows, `FOLD_GAP` apart (see `fold`).
const FOLD_MIN_NODES: usize = 16;
const FOLD_WIDTH: f32 = 1600.0;
const FOLD_GAP: f32 = 12.0;
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
    /// Per rank: whether it is folded into two staggered rows (see `fold`).
    folded: Vec<bool>,
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

/// The real nodes' texts and sizes, and their extents along and across the ranks (which
/// of width and height is which depends on the direction).
struct Boxes {
    texts: Vec<String>,
    sizes: Vec<(f32, f32)>,
    along_ext: Vec<f32>,
    across_ext: Vec<f32>,
}

impl Boxes {
    fn new(graph: &Graph, horizontal: bool) -> Boxes {
        let texts: Vec<String> = graph.nodes.iter().map(|g| shorten(&g.name)).collect();
        let sizes: Vec<(f32, f32)> = graph
            .nodes
            .iter()
            .zip(&texts)
            .map(|(g, t)| node_size(g.kind, t))
            .collect();
        let (along_ext, across_ext) = sizes
            .iter()
            .map(|&(w, h)| if horizontal { (w, h) } else { (h, w) })
            .unzip();
        Boxes {
            texts,
            sizes,
            along_ext,
            across_ext,
        }
    }
}

/// The laid-out picture of `graph`, in the steps of the module's documentation.
pub(crate) fn layout(graph: &Graph, options: &Options) -> Result<Scene, VisualizeError> {
    let boxes = Boxes::new(graph, options.rankdir.horizontal());
    // 1. Ranks.
    let rank = ranks(graph)?;
    // 2. Dummy nodes on long edges.
    let (mut verts, chains) = split_long_edges(graph, rank, &boxes);
    // 3. Order within ranks; folding a rank depends on its order.
    let layers = ordered_layers(&verts);
    verts.folded = layers.iter().map(|layer| fold(&verts, layer)).collect();
    // 4. Coordinates across the ranks, then along them, then the picture they span.
    let across = place(&verts, &layers);
    let along = Along::new(&verts, &layers, &boxes.along_ext);
    let frame = Frame::new(options.rankdir, along.total, &across, &verts.half_across);
    let placed = Placed {
        graph,
        boxes,
        verts,
        chains,
        across,
        along,
        frame,
    };
    // 5. Edges, with ports spread over the sides of their nodes.
    let edges = placed.edges();
    Ok(Scene {
        width: placed.frame.width,
        height: placed.frame.height,
        nodes: placed.nodes(),
        edges,
    })
}

/// Step 1: each node's rank. The longest path from the sources puts every node after its
/// inputs; then a node that feeds at least as many consumers as it reads inputs (data,
/// loaders) moves down next to its first consumer, so it sits beside the task that reads
/// it rather than at the top.
fn ranks(graph: &Graph) -> Result<Vec<usize>, VisualizeError> {
    let n = graph.nodes.len();
    // Inputs have smaller indices than their consumers (checked here), so one pass in
    // index order finds the longest paths.
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
    Ok(rank)
}

/// Step 2: the vertices to lay out, with a dummy node in every rank an edge skips, so
/// that all links join adjacent ranks and long edges are routed between nodes instead of
/// across them; and per edge its chain of vertices, input first, which it is drawn
/// through. Beyond `MAX_DUMMIES`, long edges stay one link.
fn split_long_edges(graph: &Graph, rank: Vec<usize>, boxes: &Boxes) -> (Vertices, Vec<Vec<u32>>) {
    let n = graph.nodes.len();
    let mut verts = Vertices {
        rank,
        up: vec![Vec::new(); n],
        down: vec![Vec::new(); n],
        half_across: boxes.across_ext.iter().map(|e| e / 2.0).collect(),
        real: n,
        folded: Vec::new(),
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
    (verts, chains)
}

/// Step 3: the vertices of each rank, in the order with the fewest crossings `order`
/// finds.
fn ordered_layers(verts: &Vertices) -> Vec<Vec<u32>> {
    let ranks = verts.rank.iter().max().map_or(0, |r| r + 1);
    let mut layers: Vec<Vec<u32>> = vec![Vec::new(); ranks];
    for v in 0..verts.len() {
        layers[verts.rank[v]].push(v as u32);
    }
    let mut pos = vec![0usize; verts.len()];
    order(verts, &mut layers, &mut pos);
    layers
}

/// Coordinates along the ranks (step 4). Each rank is as thick as its thickest node, a
/// folded one twice that and a gap, since its real nodes alternate between a row before
/// its center line and one after it.
struct Along {
    /// Per rank: its center line (where dummy nodes are).
    rank: Vec<f32>,
    /// Per real node: its center.
    node: Vec<f32>,
    /// The picture's extent along the ranks, margins included.
    total: f32,
}

impl Along {
    fn new(verts: &Vertices, layers: &[Vec<u32>], along_ext: &[f32]) -> Along {
        let ranks = layers.len();
        let mut rank_along = vec![0f32; ranks];
        let mut rank_ext = vec![0f32; ranks];
        for (&r, &ext) in verts.rank.iter().zip(along_ext) {
            rank_ext[r] = rank_ext[r].max(ext);
        }
        let mut a = MARGIN;
        for r in 0..ranks {
            let ext = rank_ext[r].max(8.0);
            let thickness = if verts.folded[r] {
                2.0 * ext + FOLD_GAP
            } else {
                ext
            };
            rank_along[r] = a + thickness / 2.0;
            a += thickness + RANK_GAP;
        }
        let mut node_along: Vec<f32> = (0..verts.real).map(|v| rank_along[verts.rank[v]]).collect();
        for (r, layer) in layers.iter().enumerate() {
            if !verts.folded[r] {
                continue;
            }
            let offset = (rank_ext[r].max(8.0) + FOLD_GAP) / 2.0;
            let reals = layer.iter().filter(|&&v| !verts.is_dummy(v));
            for (i, &v) in reals.enumerate() {
                node_along[v as usize] += if i % 2 == 0 { -offset } else { offset };
            }
        }
        Along {
            rank: rank_along,
            node: node_along,
            total: a - RANK_GAP + MARGIN,
        }
    }
}

/// The picture: its size, and where abstract coordinates (`a` along the ranks, `c`
/// across them) land in it for the direction. The vertices' extent across the ranks is
/// shifted to start at the margin.
struct Frame {
    rankdir: Rankdir,
    along_total: f32,
    shift: f32,
    width: f32,
    height: f32,
}

impl Frame {
    fn new(rankdir: Rankdir, along_total: f32, across: &[f32], half_across: &[f32]) -> Frame {
        let mut across_min = f32::INFINITY;
        let mut across_max = f32::NEG_INFINITY;
        for (&c, &half) in across.iter().zip(half_across) {
            across_min = across_min.min(c - half);
            across_max = across_max.max(c + half);
        }
        if !across_min.is_finite() {
            across_min = 0.0;
            across_max = 0.0;
        }
        let across_total = across_max - across_min + 2.0 * MARGIN;
        let (width, height) = if rankdir.horizontal() {
            (along_total, across_total)
        } else {
            (across_total, along_total)
        };
        Frame {
            rankdir,
            along_total,
            shift: MARGIN - across_min,
            width,
            height,
        }
    }

    /// The picture's point `a` along the ranks and `c` across them.
    fn map(&self, a: f32, c: f32) -> Point {
        let c = c + self.shift;
        match self.rankdir {
            Rankdir::TB => (c, a),
            Rankdir::BT => (c, self.along_total - a),
            Rankdir::LR => (a, c),
            Rankdir::RL => (self.along_total - a, c),
        }
    }
}

/// Everything steps 1 to 4 computed, which the scene's nodes and edges are drawn from.
struct Placed<'a> {
    graph: &'a Graph,
    boxes: Boxes,
    verts: Vertices,
    /// Per edge: its vertices, input first.
    chains: Vec<Vec<u32>>,
    /// Per vertex: its center across the ranks.
    across: Vec<f32>,
    along: Along,
    frame: Frame,
}

impl Placed<'_> {
    /// The graph's nodes, at their places in the picture.
    fn nodes(&self) -> Vec<SceneNode> {
        (0..self.verts.real)
            .map(|v| {
                let (x, y) = self.frame.map(self.along.node[v], self.across[v]);
                SceneNode {
                    x,
                    y,
                    w: self.boxes.sizes[v].0,
                    h: self.boxes.sizes[v].1,
                    kind: self.graph.nodes[v].kind,
                    text: self.boxes.texts[v].clone(),
                    title: self.graph.nodes[v].label.clone(),
                }
            })
            .collect()
    }

    /// Step 5: the edges, each through the dummy nodes of its chain.
    fn edges(&self) -> Vec<SceneEdge> {
        let (leaving, entering) = self.slots();
        self.chains
            .iter()
            .enumerate()
            .map(|(e, chain)| self.edge(chain, leaving[e], entering[e]))
            .collect()
    }

    /// Per edge, its `(slot, count)` among the edges leaving its input and among those
    /// entering its consumer. Edges leave a node in the order of where they go, and enter
    /// in the order of where they come from, so they do not cross at the node.
    fn slots(&self) -> (Vec<Slot>, Vec<Slot>) {
        let chains = &self.chains;
        let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); self.verts.real];
        let mut in_edges: Vec<Vec<usize>> = vec![Vec::new(); self.verts.real];
        for (e, chain) in chains.iter().enumerate() {
            out_edges[chain[0] as usize].push(e);
            in_edges[chain[chain.len() - 1] as usize].push(e);
        }
        let next = |e: usize| self.across[chains[e][1] as usize];
        let prev = |e: usize| self.across[chains[e][chains[e].len() - 2] as usize];
        (
            slots_by(out_edges, next, chains.len()),
            slots_by(in_edges, prev, chains.len()),
        )
    }

    /// One edge: cubic segments through its dummy nodes, tangent to the rank axis there,
    /// from its port on the input to the arrowhead's base, then the arrowhead up to its
    /// port on the consumer.
    fn edge(&self, chain: &[u32], leaving: Slot, entering: Slot) -> SceneEdge {
        let (from, to) = (chain[0], chain[chain.len() - 1]);
        let map = |a: f32, c: f32| self.frame.map(a, c);
        // Points the curve passes through, each with its direction of travel.
        let mut points: Vec<Port> = Vec::with_capacity(chain.len());
        points.push(self.port(from, leaving, true));
        for &d in &chain[1..chain.len() - 1] {
            points.push(Port {
                at: (
                    self.along.rank[self.verts.rank[d as usize]],
                    self.across[d as usize],
                ),
                dir: (1.0, 0.0),
            });
        }
        let entry = self.port(to, entering, false);
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
        SceneEdge {
            ends: (from, to),
            start: map(points[0].at.0, points[0].at.1),
            curves,
            arrow: [
                map(tip.0, tip.1),
                map(base.0 + side.0, base.1 + side.1),
                map(base.0 - side.0, base.1 - side.1),
            ],
        }
    }

    /// Where an edge leaves (or enters) node `v`: the `slot`-th of `count` ports spread
    /// over the side facing the next (or previous) rank.
    fn port(&self, v: u32, (slot, count): Slot, leaving: bool) -> Port {
        let v = v as usize;
        let half_a = self.boxes.along_ext[v] / 2.0;
        let half_c = self.boxes.across_ext[v] / 2.0;
        let side = if leaving { 1.0 } else { -1.0 };
        let center = (self.along.node[v], self.across[v]);
        let middle = (count as f32 - 1.0) / 2.0;
        match self.graph.nodes[v].kind {
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
                    (self.boxes.across_ext[v] * 0.8 / (count - 1) as f32).min(14.0)
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
    }
}

/// An edge's place among a node's edges on one side: `(slot, count)`.
type Slot = (usize, usize);

/// Per edge, its slot among its node's edges, those listed for each node sorted by
/// `key`, and their count.
fn slots_by(mut lists: Vec<Vec<usize>>, key: impl Fn(usize) -> f32, edges: usize) -> Vec<Slot> {
    let mut slots = vec![(0, 0); edges];
    for list in &mut lists {
        list.sort_by(|&x, &y| key(x).total_cmp(&key(y)));
        for (slot, &e) in list.iter().enumerate() {
            slots[e] = (slot, list.len());
        }
    }
    slots
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

/// How a vertex's place in its rank is chosen from its neighbours' places.
#[derive(Clone, Copy, PartialEq)]
enum Heuristic {
    /// Graphviz's weighted median (`mincross.c`'s `medians`): the middle neighbour, or
    /// for an even count a blend of the two middle ones weighted toward the tighter side.
    Median,
    /// The mean of the neighbours' places.
    Barycenter,
}

/// The key of a vertex whose neighbours are at `places` (sorted), or `None` without
/// neighbours (it keeps its place).
fn order_key(places: &mut [f32], heuristic: Heuristic) -> Option<f32> {
    if places.is_empty() {
        return None;
    }
    if heuristic == Heuristic::Barycenter {
        return Some(places.iter().sum::<f32>() / places.len() as f32);
    }
    places.sort_unstable_by(f32::total_cmp);
    let n = places.len();
    let m = n / 2;
    Some(match n {
        1 => places[0],
        2 => (places[0] + places[1]) / 2.0,
        _ if n % 2 == 1 => places[m],
        _ => {
            let left = places[m - 1] - places[0];
            let right = places[n - 1] - places[m];
            if left + right > 0.0 {
                (places[m - 1] * right + places[m] * left) / (left + right)
            } else {
                (places[m - 1] + places[m]) / 2.0
            }
        }
    })
}

/// Ordering within ranks as Graphviz's dot does it (`mincross.c`): sweeps alternately
/// down (by the places of the neighbours above) and up, each followed by transposition of
/// neighbours, with the weighted median and then with barycenters, from the same start;
/// the order with the fewest crossings (counted exactly) wins.
fn order(verts: &Vertices, layers: &mut [Vec<u32>], pos: &mut [usize]) {
    let set_pos = |layers: &[Vec<u32>], pos: &mut [usize]| {
        for layer in layers {
            for (i, &v) in layer.iter().enumerate() {
                pos[v as usize] = i;
            }
        }
    };
    set_pos(layers, pos);
    let start = layers.to_vec();
    let mut best = layers.to_vec();
    let mut best_crossings = crossings(verts, layers, pos);
    let mut places: Vec<f32> = Vec::new();
    for heuristic in [Heuristic::Median, Heuristic::Barycenter] {
        if best_crossings == 0 {
            break;
        }
        layers.clone_from_slice(&start);
        set_pos(layers, pos);
        let mut stale = 0;
        for sweep in 0..ORDER_SWEEPS {
            let downward = sweep % 2 == 0;
            let count = layers.len();
            for step in 1..count {
                let r = if downward { step } else { count - 1 - step };
                let mut keyed: Vec<(f32, u32)> = Vec::with_capacity(layers[r].len());
                for &v in &layers[r] {
                    let nbrs = if downward {
                        &verts.up[v as usize]
                    } else {
                        &verts.down[v as usize]
                    };
                    places.clear();
                    places.extend(nbrs.iter().map(|&u| pos[u as usize] as f32));
                    keyed.push((order_key(&mut places, heuristic).unwrap_or(f32::NAN), v));
                }
                // Vertices without neighbours keep their places; the others are sorted
                // by key into the remaining places (a stable sort keeps ties in order).
                let fixed: Vec<bool> = keyed.iter().map(|k| k.0.is_nan()).collect();
                let mut movable: Vec<(f32, u32)> =
                    keyed.iter().copied().filter(|k| !k.0.is_nan()).collect();
                movable.sort_by(|x, y| x.0.total_cmp(&y.0));
                let mut next = movable.into_iter();
                for (i, slot) in fixed.iter().enumerate() {
                    let v = if *slot {
                        keyed[i].1
                    } else {
                        next.next().map_or(keyed[i].1, |k| k.1)
                    };
                    layers[r][i] = v;
                    pos[v as usize] = i;
                }
            }
            transpose(verts, layers, pos, sweep % 4 >= 2);
            let c = crossings(verts, layers, pos);
            if c < best_crossings {
                best_crossings = c;
                best.clone_from_slice(layers);
                stale = 0;
            } else {
                stale += 1;
            }
            if best_crossings == 0 || stale >= ORDER_PATIENCE {
                break;
            }
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

/// How strongly the edge from `up` (a rank before) to `down` pulls its ends into line:
/// after Graphviz's weights (`ω` = 1, 2, 8 for real–real, real–dummy and dummy–dummy
/// edges), with 3 for real–dummy and for a link of a chain (the only consumer of `up` and
/// the only input of `down`): odd, so that a vertex with one such link and two other edges
/// follows the link rather than stopping halfway, and chains stay straight as dot keeps
/// them.
fn pull(verts: &Vertices, up: u32, down: u32) -> f32 {
    match (verts.is_dummy(up), verts.is_dummy(down)) {
        (true, true) => 8.0,
        (true, false) | (false, true) => 3.0,
        (false, false)
            if verts.down[up as usize].len() == 1 && verts.up[down as usize].len() == 1 =>
        {
            3.0
        }
        (false, false) => 1.0,
    }
}

/// The weighted median of `(place, weight)` pairs (sorted here): the place where half the
/// weight is on either side, the mean of the two middle places on an exact tie. This is
/// the minimum of `Σ w |x - place|`, dot's objective for placing a vertex between its
/// neighbours: with it, a chain pulls its vertices into line against any number of
/// balanced side pulls, where a mean would compromise.
fn weighted_median(pulls: &mut [(f32, f32)]) -> f32 {
    pulls.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let total: f32 = pulls.iter().map(|p| p.1).sum();
    let mut seen = 0.0;
    for (i, &(place, weight)) in pulls.iter().enumerate() {
        seen += weight;
        if (seen - total / 2.0).abs() < 1e-4 {
            return pulls
                .get(i + 1)
                .map_or(place, |next| (place + next.0) / 2.0);
        }
        if seen > total / 2.0 {
            return place;
        }
    }
    pulls.last().map_or(0.0, |p| p.0)
}

/// Coordinates across the ranks, dot's way (`position.c` minimizes `Σ ω |x_u - x_v|`
/// over the edges, subject to the order and the separations): rounds that move each rank
/// in turn toward the weighted median of each vertex's neighbours on both sides, without
/// overlaps, alternately down and up.
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
    let mut pulls: Vec<(f32, f32)> = Vec::new();
    for round in 0..PLACE_ROUNDS * 2 {
        let downward = round % 2 == 0;
        for step in 0..count {
            let r = if downward { step } else { count - 1 - step };
            let desired: Vec<(f32, f32)> = layers[r]
                .iter()
                .map(|&v| {
                    pulls.clear();
                    let ups = verts.up[v as usize].iter().map(|&u| (u, pull(verts, u, v)));
                    let downs = verts.down[v as usize]
                        .iter()
                        .map(|&w| (w, pull(verts, v, w)));
                    pulls.extend(ups.chain(downs).map(|(u, w)| (x[u as usize], w)));
                    if pulls.is_empty() {
                        return (x[v as usize], 0.05);
                    }
                    let weight: f32 = pulls.iter().map(|p| p.1).sum();
                    (weighted_median(&mut pulls), weight)
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

/// Whether a rank is folded: one with many nodes that would make the picture much wider
/// than it is deep is drawn as two staggered rows (Graphviz's `unflatten` does the same
/// by hand), which halves its width. Its real nodes alternate between the rows, so
/// neighbours in the order overlap across the ranks only in the gap between the rows.
fn fold(verts: &Vertices, layer: &[u32]) -> bool {
    let reals = layer.iter().filter(|&&v| !verts.is_dummy(v)).count();
    if reals < FOLD_MIN_NODES {
        return false;
    }
    let width: f32 = layer
        .windows(2)
        .map(|pair| separation(verts, pair[0], pair[1]))
        .sum();
    width > FOLD_WIDTH
}

/// The smallest gap between the centers of two neighbours in a rank. In a folded rank two
/// real neighbours are in different rows and need only be apart by the wider one's half
/// and half a gap (so that every other node, in the same row, is a full gap apart);
/// dummy nodes run through both rows and keep their full distance.
fn separation(verts: &Vertices, left: u32, right: u32) -> f32 {
    let (l, r) = (left as usize, right as usize);
    let dummy = verts.is_dummy(left) || verts.is_dummy(right);
    let gap = if dummy { DUMMY_GAP } else { NODE_GAP };
    if !dummy && verts.folded.get(verts.rank[l]).copied().unwrap_or(false) {
        return verts.half_across[l].max(verts.half_across[r]) + gap / 2.0;
    }
    verts.half_across[l] + verts.half_across[r] + gap
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
    use crate::shape::roots_of;
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
            folded: Vec::new(),
        };
        let out = fit_ordered(&verts, &[0, 1, 2], &[(0.0, 1.0), (0.0, 1.0), (100.0, 1.0)]);
        let sep = 20.0 + NODE_GAP;
        assert!((out[1] - out[0] - sep).abs() < 1e-3);
        assert!((out[0] + out[1]).abs() < 1e-3); // centered on their common target
        assert!((out[2] - 100.0).abs() < 1e-3);
    }

    /// Edge crossings of `dot` (Graphviz 2.43.0, `-Tplain`, measured as `measure.rs` does)
    /// on the histogram graph: `(n, rankdir, crossings)`. See `against_dot` (`png.rs`) to
    /// measure again.
    const DOT_CROSSINGS: [(usize, Rankdir, usize); 8] = [
        (4, Rankdir::TB, 11),
        (4, Rankdir::LR, 11),
        (6, Rankdir::TB, 85),
        (6, Rankdir::LR, 87),
        (10, Rankdir::TB, 1058),
        (10, Rankdir::LR, 1132),
        (15, Rankdir::TB, 6709),
        (15, Rankdir::LR, 6503),
    ];

    fn histogram_scene(n: usize, rankdir: Rankdir) -> (Graph, Options, Scene) {
        let graph = crate::render::measure::histogram_graph(n);
        let options = Options {
            rankdir,
            ..Options::default()
        };
        let scene = layout(&graph, &options).unwrap();
        (graph, options, scene)
    }

    #[test]
    fn histogram_crossings_within_dots() {
        for (n, rankdir, dot) in DOT_CROSSINGS {
            let (_, _, scene) = histogram_scene(n, rankdir);
            let ours = crate::render::measure::ours(&scene).crossings;
            assert!(
                ours * 10 <= dot * 11,
                "n = {n}, {rankdir:?}: {ours} crossings, dot has {dot}"
            );
        }
    }

    #[test]
    fn wide_ranks_are_folded() {
        // N = 10: ranks of 45 `diff`s and 45 `mean`s. dot draws it 4077 wide and 324 tall.
        let (_, _, s) = histogram_scene(10, Rankdir::TB);
        assert!(
            s.width < 2400.0 && s.height < 500.0,
            "{}x{}",
            s.width,
            s.height
        );
        let (_, _, s) = histogram_scene(10, Rankdir::LR);
        assert!(s.height < 1400.0, "{}x{}", s.width, s.height);
        // Small ranks stay on one line.
        let (_, _, s) = histogram_scene(6, Rankdir::TB);
        let diffs: Vec<f32> = s.nodes[7..]
            .iter()
            .step_by(2)
            .take(15)
            .map(|n| n.y)
            .collect();
        assert!(diffs.iter().all(|&y| (y - diffs[0]).abs() < 0.01));
    }

    #[test]
    fn histogram_chains_are_straight_and_nothing_overlaps() {
        for rankdir in [Rankdir::TB, Rankdir::LR] {
            let (graph, _, s) = histogram_scene(10, rankdir);
            assert_eq!(s.nodes.len(), 102);
            for e in &s.edges {
                let (from, to) = (
                    &graph.nodes[e.ends.0 as usize],
                    &graph.nodes[e.ends.1 as usize],
                );
                if (from.name.as_str(), to.name.as_str()) == ("diff", "mean") {
                    let (a, b) = (&s.nodes[e.ends.0 as usize], &s.nodes[e.ends.1 as usize]);
                    let off = if rankdir.horizontal() {
                        a.y - b.y
                    } else {
                        a.x - b.x
                    };
                    assert!(off.abs() < 0.5, "{rankdir:?}: diff -> mean bends by {off}");
                }
            }
            for (i, a) in s.nodes.iter().enumerate() {
                for b in &s.nodes[i + 1..] {
                    assert!(!overlap(a, b), "{} overlaps {}", a.title, b.title);
                }
            }
            assert!(inside(&s));
        }
    }

    #[test]
    fn long_names_are_shortened() {
        let long = "x".repeat(100);
        assert_eq!(shorten(&long).chars().count(), MAX_CHARS);
        assert_eq!(shorten("add"), "add");
    }
}
