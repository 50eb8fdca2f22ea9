//! The drawable graph: one node per distinct key, edges from inputs to consumers.
//!
//! Walked by `walk.rs` (an explicit stack), deduplicated by key, as the scheduler's plan
//! is. Plain arguments are not drawn (dask inlines literals too). `collect` nodes, which
//! `delayed` builds when a `Vec<Delayed<T>>` is passed for a `Vec<T>` parameter, are
//! drawn transparently: their items get edges straight into the consumer, as dask draws
//! a list of delayed arguments. A `collect` that is itself a root is drawn as a task.

use std::collections::hash_map::Entry;
use std::sync::Arc;

use crate::graph::node::{Node, NodeKind};
use crate::graph::walk::{walk, Visit};
use crate::key::KeyMap;

/// A node as drawn.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct GNode {
    /// The text in the shape: the function's name, or the value's type.
    pub(crate) name: String,
    /// The full label `name-1f3a9c0e` (tooltip, title).
    pub(crate) label: String,
    pub(crate) kind: NodeKind,
}

pub(crate) struct Graph {
    /// Every input comes before its consumers; roots in the order given.
    pub(crate) nodes: Vec<GNode>,
    /// `(input, consumer)` indices into `nodes`, grouped by consumer in node order, and by
    /// input index within a consumer; no duplicates.
    pub(crate) edges: Vec<(u32, u32)>,
}

/// The slot of a key entered but not yet left.
const IN_PROGRESS: u32 = u32::MAX;

/// What a walked node became: a drawn node, or (a transparent `collect`) the drawn
/// nodes its items resolve to.
enum Slot {
    Drawn(u32),
    Through(Vec<u32>),
}

/// The graph as it is drawn, during the walk: one slot per distinct key.
struct Drawing {
    /// Each key entered, and its slot once left.
    index: KeyMap<u32>,
    root_keys: KeyMap<()>,
    slots: Vec<Slot>,
    nodes: Vec<GNode>,
    edges: Vec<(u32, u32)>,
    /// Scratch: the drawn inputs of the node being left.
    inputs: Vec<u32>,
}

impl<'g> Visit<'g> for Drawing {
    fn enter(&mut self, node: &'g Node) -> bool {
        match self.index.entry(node.key()) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(IN_PROGRESS);
                true
            }
        }
    }

    /// All inputs are done: resolve them to drawn nodes.
    fn leave(&mut self, node: &'g Node) {
        let inputs = &mut self.inputs;
        inputs.clear();
        for child in node.node_inputs() {
            match self
                .index
                .get(&child.key())
                .and_then(|&s| self.slots.get(s as usize))
            {
                Some(Slot::Drawn(id)) => inputs.push(*id),
                Some(Slot::Through(ids)) => inputs.extend_from_slice(ids),
                None => {}
            }
        }
        inputs.sort_unstable();
        inputs.dedup();
        let slot = self.slots.len() as u32;
        if node.is_collect() && !self.root_keys.contains_key(&node.key()) {
            self.slots.push(Slot::Through(inputs.clone()));
        } else {
            let id = self.nodes.len() as u32;
            self.nodes.push(GNode {
                name: node.name().to_string(),
                label: node.label(),
                kind: node.kind(),
            });
            self.edges.extend(inputs.iter().map(|&i| (i, id)));
            self.slots.push(Slot::Drawn(id));
        }
        self.index.insert(node.key(), slot);
    }
}

impl Graph {
    pub(crate) fn from_roots(roots: &[&Arc<Node>]) -> Graph {
        let mut drawing = Drawing {
            index: KeyMap::default(),
            root_keys: roots.iter().map(|root| (root.key(), ())).collect(),
            slots: Vec::new(),
            nodes: Vec::new(),
            edges: Vec::new(),
            inputs: Vec::new(),
        };
        walk(roots, &mut drawing);
        Graph {
            nodes: drawing.nodes,
            edges: drawing.edges,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::roots_of;
    use crate::{collect, value};

    fn graph_of<C: crate::Computable>(shape: C) -> Graph {
        Graph::from_roots(&roots_of(&shape))
    }

    #[test]
    fn shared_node_once_and_edges_deduplicated() {
        let a = value(2i64);
        let b = &a + &a; // one edge a -> add
        let c = &b * &a;
        let g = graph_of(&c);
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["i64", "add", "mul"]);
        assert_eq!(g.edges, [(0, 1), (0, 2), (1, 2)]);
        assert_eq!(g.nodes[0].kind, NodeKind::Data);
        assert_eq!(g.nodes[1].kind, NodeKind::Task);
    }

    #[test]
    fn collect_is_transparent_unless_root() {
        let items: Vec<_> = (0..3i64).map(|i| value(i) + 1).collect();
        let list = collect(&items);
        let total = list.map(|v| v.iter().sum::<i64>());
        let g = graph_of(&total);
        assert!(g.nodes.iter().all(|n| n.name != "collect"));
        assert_eq!(g.nodes.len(), 7); // 3 values, 3 adds, map
        assert_eq!(g.edges.iter().filter(|e| e.1 == 6).count(), 3);

        let g = graph_of((&list, &total));
        assert_eq!(g.nodes.iter().filter(|n| n.name == "collect").count(), 1);
        assert_eq!(g.nodes.len(), 8);
    }

    #[test]
    fn roots_share_nodes() {
        let a = value(1u8);
        let g = graph_of((a.map(|x| x + 1), a.map(|x| x * 2), &a));
        assert_eq!(
            g.nodes.iter().filter(|n| n.kind == NodeKind::Data).count(),
            1
        );
        assert_eq!(g.nodes.len(), 3);
        assert_eq!(g.edges.len(), 2);
    }

    #[test]
    fn deep_chain_without_recursion() {
        let mut d = value(0u64);
        for _ in 0..50_000 {
            d = d + 1u64;
        }
        let g = graph_of(&d);
        assert_eq!(g.nodes.len(), 50_001);
        assert_eq!(g.edges.len(), 50_000);
    }
}
