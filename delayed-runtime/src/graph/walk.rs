//! One walk over the node graph for the crate's readers of it (drawing, reports): depth
//! first from each root in order, inputs in argument order, with an explicit stack. A
//! graph may be a million nodes deep, so no walk over it may recurse.
//!
//! The walk does not choose what "the same node" is: its [`Visit`] does, in
//! [`enter`](Visit::enter) (by address to count allocations, by key to draw one node per
//! key). A node it refuses is not walked into, so each node the visitor admits is walked
//! once, and [`leave`](Visit::leave) sees it after all its inputs (post-order).

use std::sync::Arc;

use crate::graph::node::Node;

/// Hashes a node's address, for sets and maps keyed by `*const Node` (graph walks that
/// visit each allocation once): one multiply, where SipHash over a million addresses
/// would cost more than the walk.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits of an aligned address at zero: fold high in.
        self.0 ^ (self.0 >> 32)
    }
}

/// The hasher of maps and sets keyed by node address.
pub(crate) type ByAddress = std::hash::BuildHasherDefault<AddressHasher>;

/// What a [`walk`] does at each node.
pub(crate) trait Visit<'g> {
    /// `node` is reached (from a root or from one of its consumers): whether to walk into
    /// it. Returns `false` for a node already entered, by whatever identity the visitor
    /// goes by, so that each is walked once.
    fn enter(&mut self, node: &'g Node) -> bool;

    /// `node`, entered before, once every input it has was entered and left or refused:
    /// inputs come before their consumers here.
    fn leave(&mut self, node: &'g Node) {
        let _ = node;
    }
}

/// Walks the graph below `roots`, in their order, telling `visitor` of each node.
pub(crate) fn walk<'g>(roots: &[&'g Arc<Node>], visitor: &mut impl Visit<'g>) {
    // A node, and whether it was entered (so what is left is to leave it).
    let mut stack: Vec<(&'g Node, bool)> = Vec::new();
    for &root in roots {
        stack.push((root, false));
        while let Some((node, entered)) = stack.pop() {
            if entered {
                visitor.leave(node);
            } else if visitor.enter(node) {
                stack.push((node, true));
                // Reversed, so the inputs are entered in argument order.
                stack.extend(node.node_inputs().rev().map(|child| (&**child, false)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value;

    /// Records the walk, entering each allocation once.
    #[derive(Default)]
    struct Log {
        seen: Vec<*const Node>,
        events: Vec<String>,
    }

    impl<'g> Visit<'g> for Log {
        fn enter(&mut self, node: &'g Node) -> bool {
            if self.seen.contains(&(node as *const Node)) {
                return false;
            }
            self.seen.push(node);
            self.events.push(format!("+{}", node.name()));
            true
        }
        fn leave(&mut self, node: &'g Node) {
            self.events.push(format!("-{}", node.name()));
        }
    }

    #[test]
    fn inputs_in_order_before_consumers_each_once() {
        let a = value(1u8);
        let b = a.map(|x| x + 1);
        let c = (&b * &a).map(|x| x * 2);
        let mut log = Log::default();
        walk(&[&c.node, &a.node, &b.node], &mut log);
        assert_eq!(
            log.events,
            ["+map", "+mul", "+map", "+u8", "-u8", "-map", "-mul", "-map"]
        );
    }

    #[test]
    fn deep_chain_without_recursion() {
        let mut d = value(0u64);
        for _ in 0..200_000 {
            d = d + 1u64;
        }
        struct Count(usize);
        impl<'g> Visit<'g> for Count {
            fn enter(&mut self, _: &'g Node) -> bool {
                self.0 += 1;
                true
            }
        }
        let mut count = Count(0);
        walk(&[&d.node], &mut count);
        assert_eq!(count.0, 200_001);
    }
}
