//! From nodes to a flat plan: one task per distinct key, in dependency order.
//!
//! The graph is walked with an explicit stack (a million-node chain would overflow the
//! call stack), deduplicating by key: two nodes built separately from the same function
//! and inputs become one task.
//!
//! Planning is two passes. The first walks the node *allocations* (post-order, inputs
//! first): when a node is first seen it reserves one source slot per input and pushes
//! each child with the slot it fills; a popped child writes its visit number there. Only
//! shared nodes (an `Arc` with more than one owner) and roots need a lookup, by address;
//! a node with one owner is reached through exactly one edge. The second pass goes
//! through the visits in post-order and dedups: the first visit of a computation becomes
//! a task, its sources translated from visit numbers to task numbers, later ones map to
//! it. Knowing every visit in advance lets it prefetch the table's random slots.
//!
//! Dedup needs no key. Nodes are filed by their digest (`key/cell.rs`), and a hit
//! is confirmed on the whole computation: for two calls keyed on demand, the same
//! function and shape over the same input tasks (which is what their equal keys would
//! say); otherwise equal keys.
//!
//! A call keyed from its inputs' keys can only repeat a task that reads the same first
//! input. Such calls (most of a big graph: every link of a chain, every inner node of a
//! tree) are looked up among the first few readers of their first input, kept in a list
//! per task, which was made a moment ago and is still in cache; only when that input has
//! many readers do they go to the table. The table, a random access per node into
//! memory the size of the graph, is left to the rest (a tree's leaves, data). When the
//! graph holds a copy of another node (a persisted result), twins must meet by digest,
//! and every node goes to the table.

use std::collections::hash_map::{Entry, HashMap};
use std::sync::Arc;

use crate::graph::delayed::Delayed;
pub(crate) use crate::graph::node::CONST;
use crate::graph::node::{Input, Node, NodeKind};
use crate::graph::walk::ByAddress;

pub(crate) struct Plan<'g> {
    /// Distinct tasks; every task comes after all of its inputs.
    tasks: Vec<&'g Node>,
    /// `sources[input_start[t]..input_start[t + 1]]`: for each input of task `t`, the task
    /// that produces it, or `CONST`.
    input_start: Vec<u32>,
    sources: Vec<u32>,
    /// How many times each task's result is read (by tasks and by the caller).
    reads: Vec<u32>,
    /// The task of each root, in the order the roots were given.
    roots: Vec<u32>,
}

/// Who reads each task's result: what the parallel run needs on top of a [`Plan`].
pub(crate) struct Dependents {
    /// `dependents[start[t]..start[t + 1]]`: the tasks reading `t`'s result, once per read.
    start: Vec<u32>,
    dependents: Vec<u32>,
    /// How many of each task's inputs are results of other tasks.
    pub(crate) waiting_on: Vec<u32>,
}

/// One step of the walk: visit `node` and write its visit number into pending source
/// `slot` (`ROOT_SLOT` for roots); or, with `bits` (anything but `Bits::VISIT`), all inputs of
/// visit number `slot` are done: record it in post-order. A struct, not an enum, so a
/// frame is 16 bytes: a chain's walk holds one per link.
struct Frame<'g> {
    node: &'g Arc<Node>,
    slot: u32,
    bits: u32,
}

/// A node's 32 digest bits as the planner keeps them, with whether it is looked up among
/// its first input's readers (see the module doc) in bit 0. Read when the node is first
/// reached, carried by its frame, read back in post-order: the dedup pass reads them
/// front to back without touching the node.
struct Bits;

impl Bits {
    const LISTED: u32 = 1;
    /// Marks a visit frame; no node's bits are this value (see [`Bits::of`]).
    const VISIT: u32 = u32::MAX;

    fn of(node: &Node) -> u32 {
        let bits = (node.digest() as u32 & !Bits::LISTED)
            | if node.is_keyed_by_inputs() {
                Bits::LISTED
            } else {
                0
            };
        // A digest is a hint confirmed on the whole computation: moving one value of
        // 2^31 to its neighbour only makes those nodes share their bits.
        bits.min(Bits::VISIT - 2)
    }

    /// The digest bits alone (what the table files a node under: a copy, never listed,
    /// must meet its twin, which may be).
    fn digest(bits: u32) -> u32 {
        bits & !Bits::LISTED
    }
}

const ROOT_SLOT: u32 = u32::MAX;
/// A visit number whose node has no task number yet.
const PENDING: u32 = u32::MAX;

/// Computation → task number: an open-addressing table (linear probing, at most half
/// full) of 8-byte entries, a node's digest bits (uniform already: key bits, or a mix)
/// beside the task number. A hit on the digest is confirmed by the caller against the
/// whole computation; on a mismatch probing goes on, so computations that share a digest
/// stay apart. Against a `HashMap<Key, u32>` (40-byte entries, SipHash-free but still
/// twice the lookups), this is a fifth of the memory to fault in and walk. Its length is
/// exactly twice what it is sized for (a slot is `bits × len / 2^32`, not a mask): a
/// power of two would cost up to twice that at the planner's peak.
struct Seen {
    /// `(bits << 32) | (task + 1)`; 0 is empty.
    entries: Vec<u64>,
    len: usize,
}

impl Seen {
    /// A table for `n` keys at most half full (it grows beyond that).
    fn with_capacity(n: usize) -> Seen {
        Seen {
            entries: vec![0; (2 * n).max(1024)],
            len: 0,
        }
    }

    /// Where a key with these bits is looked up first.
    #[inline]
    fn home(&self, bits: u32) -> usize {
        ((u64::from(bits) * self.entries.len() as u64) >> 32) as usize
    }

    /// Doubles the table, when one more entry would fill it beyond half.
    fn reserve_one(&mut self) {
        if 2 * (self.len + 1) <= self.entries.len() {
            return;
        }
        let doubled = vec![0; 2 * self.entries.len()];
        let old = std::mem::replace(&mut self.entries, doubled);
        let size = self.entries.len();
        for entry in old.into_iter().filter(|&e| e != 0) {
            let mut i = self.home((entry >> 32) as u32);
            while self.entries[i] != 0 {
                i = if i + 1 == size { 0 } else { i + 1 };
            }
            self.entries[i] = entry;
        }
    }

    /// Starts loading the slot where a key with these bits is looked up first.
    #[inline]
    fn prefetch(&self, bits: u32) {
        crate::prefetch::prefetch(&self.entries[self.home(bits)]);
    }

    /// The task number of the computation with digest `bits` for which `same` holds, or
    /// `None` after recording `next` under `bits`.
    fn get_or_insert(
        &mut self,
        bits: u32,
        mut same: impl FnMut(u32) -> bool,
        next: u32,
    ) -> Option<u32> {
        self.reserve_one();
        let size = self.entries.len();
        let mut i = self.home(bits);
        loop {
            let entry = self.entries[i];
            if entry == 0 {
                self.entries[i] = (u64::from(bits) << 32) | u64::from(next + 1);
                self.len += 1;
                return None;
            }
            if (entry >> 32) as u32 == bits {
                let t = (entry as u32) - 1;
                if same(t) {
                    return Some(t);
                }
            }
            i = if i + 1 == size { 0 } else { i + 1 };
        }
    }
}

/// For the calls keyed by their inputs: each task's first readers of that kind, at most
/// `LISTED` (the first one per task, and per reader the next one).
struct Readers {
    first: Vec<u32>,
    next: Vec<u32>,
}

impl Readers {
    const LISTED: usize = 8;
    const NONE: u32 = u32::MAX;

    fn with_capacity(n: usize) -> Readers {
        Readers {
            first: Vec::with_capacity(n),
            next: Vec::with_capacity(n),
        }
    }

    /// Among the readers of task `f`, the one for which `same` holds; or `Err(true)` when
    /// there is room to list another reader, `Err(false)` when the list is full.
    fn find(&self, f: u32, mut same: impl FnMut(u32) -> bool) -> Result<u32, bool> {
        let (mut r, mut len) = (self.first[f as usize], 0);
        while r != Readers::NONE {
            if same(r) {
                return Ok(r);
            }
            r = self.next[r as usize];
            len += 1;
        }
        Err(len < Readers::LISTED)
    }

    /// Task `t` is made, listed as a reader of `f` if given.
    fn push(&mut self, t: u32, reads: Option<u32>) {
        debug_assert_eq!(self.first.len(), t as usize);
        self.first.push(Readers::NONE);
        match reads {
            Some(f) => {
                self.next.push(self.first[f as usize]);
                self.first[f as usize] = t;
            }
            None => self.next.push(Readers::NONE),
        }
    }
}

/// The node allocations below the roots, each once, numbered in visit order and listed
/// in post-order (inputs first).
struct Visits<'g> {
    /// Per post-order position: the node (this vector becomes the plan's task list, in
    /// place), its visit number, its [`Bits`].
    post_nodes: Vec<&'g Node>,
    post: Vec<u32>,
    post_bits: Vec<u32>,
    /// Per visit number: where its pending sources start.
    pending_start: Vec<u32>,
    /// Inputs as visit numbers (or CONST).
    pending: Vec<u32>,
    /// The visit number of each root, in order.
    root_visits: Vec<u32>,
    /// Whether the graph holds a copy of another node: then every node goes to the table.
    copies: bool,
}

impl<'g> Visits<'g> {
    /// Phase 1 of planning.
    fn walk(roots: &[&'g Arc<Node>]) -> Visits<'g> {
        // Phase 1: the distinct node *allocations*, in post-order (inputs first). A node
        // whose `Arc` has one owner is reached through exactly one edge of this graph (the
        // graph is immutable while we hold it, and every edge of it is an owner), so it
        // needs no lookup; only shared nodes and roots go through `shared`.
        let mut shared: HashMap<*const Node, u32, ByAddress> = HashMap::default();
        let mut post_nodes: Vec<&'g Node> = Vec::new();
        let mut post: Vec<u32> = Vec::new();
        let mut post_bits: Vec<u32> = Vec::new();
        let mut pending_start: Vec<u32> = Vec::new();
        // Inputs as visit numbers (or CONST), filled in as children are visited.
        let mut pending: Vec<u32> = Vec::new();
        let mut root_visits: Vec<u32> = Vec::with_capacity(roots.len());
        let mut stack: Vec<Frame<'g>> = Vec::new();
        let mut copies = false;
        let visit = |node, slot| Frame {
            node,
            slot,
            bits: Bits::VISIT,
        };

        for &root in roots {
            stack.push(visit(root, ROOT_SLOT));
            while let Some(Frame {
                node: arc,
                slot,
                bits,
            }) = stack.pop()
            {
                if bits != Bits::VISIT {
                    post_nodes.push(arc);
                    post.push(slot);
                    post_bits.push(bits);
                    continue;
                }
                let next = pending_start.len() as u32;
                let seen_before = if slot == ROOT_SLOT || Arc::strong_count(arc) > 1 {
                    match shared.entry(Arc::as_ptr(arc)) {
                        Entry::Occupied(e) => Some(*e.get()),
                        Entry::Vacant(e) => {
                            e.insert(next);
                            None
                        }
                    }
                } else {
                    None
                };
                let v = match seen_before {
                    Some(v) => v,
                    None => {
                        let node: &'g Node = arc;
                        copies |= node.is_copy();
                        let start = pending.len() as u32;
                        pending_start.push(start);
                        stack.push(Frame {
                            node: arc,
                            slot: next,
                            bits: Bits::of(node),
                        });
                        // Children pushed in reverse, so they are visited (and numbered)
                        // in argument order.
                        for (i, input) in node.inputs().iter().enumerate().rev() {
                            if let Input::Node(child) = input {
                                stack.push(visit(child, start + i as u32));
                            }
                        }
                        pending.extend(std::iter::repeat_n(CONST, node.inputs().len()));
                        next
                    }
                };
                if slot == ROOT_SLOT {
                    root_visits.push(v);
                } else {
                    pending[slot as usize] = v;
                }
            }
        }
        drop(shared);
        pending_start.push(pending.len() as u32);
        Visits {
            post_nodes,
            post,
            post_bits,
            pending_start,
            pending,
            root_visits,
            copies,
        }
    }

    /// Phase 2 of planning: the plan, and whether twins (a task and a data node with one
    /// key) were found.
    fn dedup(self) -> (Plan<'g>, bool) {
        // Phase 2: one task per distinct key, in post-order (so a task's inputs, whose
        // first occurrences come before it, already have task numbers). The keys' table
        // slots are random accesses: each is prefetched `AHEAD` nodes early.
        const AHEAD: usize = 16;
        let (post, post_bits, pending_start, pending) =
            (self.post, self.post_bits, self.pending_start, self.pending);
        let copies = self.copies;
        let listed = |i: usize| !copies && post_bits[i] & Bits::LISTED != 0;
        let table_nodes = (0..post.len()).filter(|&i| !listed(i)).count();
        let mut readers = Readers::with_capacity(post.len());
        let mut seen = Seen::with_capacity(table_nodes);
        let mut task_of: Vec<u32> = vec![PENDING; pending_start.len() - 1];
        // The tasks are written over the post-order list they are read from (task `next`
        // is made at a position at or after `next`); at most one source per pending input:
        // sized once, no vector grows (and copies itself) on the way.
        let mut tasks = self.post_nodes;
        let mut made = 0usize;
        let mut input_start = Vec::with_capacity(post.len() + 1);
        input_start.push(0u32);
        let mut sources: Vec<u32> = Vec::with_capacity(pending.len());
        // A task and a data node with one key (a persisted result beside the graph that
        // made it): the data stands for both, and what fed only the task is pruned below.
        let mut twins = false;
        for (i, &v) in post.iter().enumerate() {
            if let Some(&bits) = post_bits.get(i + AHEAD) {
                if !listed(i + AHEAD) {
                    seen.prefetch(Bits::digest(bits));
                }
            }
            let bits = Bits::digest(post_bits[i]);
            let node = tasks[i];
            let next = made as u32;
            let inputs = &pending
                [pending_start[v as usize] as usize..pending_start[v as usize + 1] as usize];
            let same = |t: u32| {
                let first = tasks[t as usize];
                first.same_as(node, || {
                    let theirs = &sources
                        [input_start[t as usize] as usize..input_start[t as usize + 1] as usize];
                    theirs.iter().copied().eq(renumbered(inputs, &task_of))
                })
            };
            // A listed call: among its first input's readers, then (when that input has
            // a full list) in the table.
            let mut list = None;
            let found = match inputs.first() {
                Some(&first) if listed(i) => {
                    let f = task_of[first as usize];
                    match readers.find(f, same) {
                        Ok(t) => Some(t),
                        Err(true) => {
                            list = Some(f);
                            None
                        }
                        Err(false) => seen.get_or_insert(bits, same, next),
                    }
                }
                _ => seen.get_or_insert(bits, same, next),
            };
            match found {
                Some(t) => {
                    task_of[v as usize] = t;
                    let first = tasks[t as usize];
                    if first.kind() != node.kind() {
                        if node.kind() == NodeKind::Data {
                            tasks[t as usize] = node;
                        }
                        twins = true;
                    }
                }
                None => {
                    task_of[v as usize] = next;
                    sources.extend(renumbered(inputs, &task_of));
                    input_start.push(sources.len() as u32);
                    tasks[made] = node;
                    made += 1;
                    readers.push(next, list);
                }
            }
        }
        tasks.truncate(made);
        let roots: Vec<u32> = self
            .root_visits
            .iter()
            .map(|&v| task_of[v as usize])
            .collect();
        // Everything but the plan is let go before the plan counts its reads: this is the
        // planner's peak.
        drop((
            seen,
            readers,
            task_of,
            post,
            post_bits,
            pending_start,
            pending,
        ));
        (Plan::from_parts(tasks, input_start, sources, roots), twins)
    }
}

impl<'g> Plan<'g> {
    /// The plan of the graph below `roots`: its node allocations walked once
    /// ([`Visits::walk`]), then deduplicated by key ([`Visits::dedup`]); when a task and a
    /// data node share a key, what fed only the task is pruned.
    pub(crate) fn new(roots: &[&'g Arc<Node>]) -> Plan<'g> {
        let (plan, twins) = Visits::walk(roots).dedup();
        if twins {
            plan.pruned()
        } else {
            plan
        }
    }

    /// A plan of `tasks` (each after its inputs) with their `sources` (see the fields), read
    /// once per source and once per root.
    pub(crate) fn from_parts(
        tasks: Vec<&'g Node>,
        input_start: Vec<u32>,
        sources: Vec<u32>,
        roots: Vec<u32>,
    ) -> Plan<'g> {
        debug_assert_eq!(input_start.len(), tasks.len() + 1);
        let mut reads = vec![0u32; tasks.len()];
        for &s in sources.iter().chain(&roots) {
            if s != CONST {
                reads[s as usize] += 1;
            }
        }
        Plan {
            tasks,
            input_start,
            sources,
            reads,
            roots,
        }
    }

    /// How many distinct tasks (and data nodes) the plan has.
    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    /// The node of task `t`.
    pub(crate) fn task(&self, t: u32) -> &'g Node {
        self.tasks[t as usize]
    }

    /// Every task's node, in plan order.
    pub(crate) fn tasks(&self) -> &[&'g Node] {
        &self.tasks
    }

    /// The task of each root, in the order the roots were given.
    pub(crate) fn roots(&self) -> &[u32] {
        &self.roots
    }

    /// How many times each task's result is read (by tasks and by the caller).
    pub(crate) fn reads(&self) -> &[u32] {
        &self.reads
    }

    /// The plan without the tasks no root needs, once twins (tasks whose key a data
    /// node also has) stand for data: a data node has no inputs, so what fed only its
    /// task twin is not run. Task numbers stay in dependency order.
    fn pruned(self) -> Plan<'g> {
        let n = self.tasks.len();
        let mut needed = vec![false; n];
        for &r in &self.roots {
            needed[r as usize] = true;
        }
        // Tasks come after their inputs: one backward sweep marks everything needed.
        for t in (0..n).rev() {
            if needed[t] && self.tasks[t].kind() == NodeKind::Task {
                for &s in self.sources_of(t as u32) {
                    if s != CONST {
                        needed[s as usize] = true;
                    }
                }
            }
        }
        let mut new_number = vec![PENDING; n];
        let mut tasks = Vec::with_capacity(n);
        let mut input_start = vec![0u32];
        let mut sources = Vec::with_capacity(self.sources.len());
        for t in 0..n {
            if !needed[t] {
                continue;
            }
            new_number[t] = tasks.len() as u32;
            let node = self.tasks[t];
            if node.kind() == NodeKind::Task {
                sources.extend(renumbered(self.sources_of(t as u32), &new_number));
            }
            input_start.push(sources.len() as u32);
            tasks.push(node);
        }
        let roots = self.roots.iter().map(|&r| new_number[r as usize]).collect();
        Plan::from_parts(tasks, input_start, sources, roots)
    }

    /// Labels of up to `limit` tasks that depend on task `failed`, nearest first (direct
    /// consumers, then theirs, …), each in plan order, and how many more depend on it. One
    /// pass over the plan: tasks come after their inputs, so a task's distance is known once
    /// its inputs' are. Runs only on failure.
    pub(crate) fn dependents_of(&self, failed: u32, limit: usize) -> (Vec<String>, usize) {
        let plan = self;
        const FAR: u32 = u32::MAX;
        let n = plan.len();
        let mut distance = vec![FAR; n];
        distance[failed as usize] = 0;
        let mut found: Vec<(u32, u32)> = Vec::new();
        for u in failed as usize + 1..n {
            let nearest = plan
                .sources_of(u as u32)
                .iter()
                .filter(|&&s| s != CONST)
                .map(|&s| distance[s as usize])
                .min()
                .unwrap_or(FAR);
            if nearest != FAR {
                distance[u] = nearest + 1;
                found.push((nearest + 1, u as u32));
            }
        }
        found.sort_unstable();
        // The crate's own `collect` nodes pass the distance on but are not named or counted.
        found.retain(|&(_, u)| !plan.task(u).is_collect());
        let more = found.len().saturating_sub(limit);
        let names = found
            .into_iter()
            .take(limit)
            .map(|(_, u)| plan.task(u).label())
            .collect();
        (names, more)
    }

    pub(crate) fn sources_of(&self, t: u32) -> &[u32] {
        &self.sources
            [self.input_start[t as usize] as usize..self.input_start[t as usize + 1] as usize]
    }

    /// The reverse edges, for scheduling consumers as their inputs finish.
    pub(crate) fn dependents(&self) -> Dependents {
        let n = self.tasks.len();
        let mut waiting_on = vec![0u32; n];
        let mut start = vec![0u32; n + 1];
        for (t, waiting) in waiting_on.iter_mut().enumerate() {
            for &s in self.sources_of(t as u32) {
                if s != CONST {
                    start[s as usize + 1] += 1;
                    *waiting += 1;
                }
            }
        }
        for t in 0..n {
            start[t + 1] += start[t];
        }
        let mut fill = start.clone();
        let mut dependents = vec![0u32; start[n] as usize];
        for t in 0..n {
            for &s in self.sources_of(t as u32) {
                if s != CONST {
                    dependents[fill[s as usize] as usize] = t as u32;
                    fill[s as usize] += 1;
                }
            }
        }
        Dependents {
            start,
            dependents,
            waiting_on,
        }
    }
}

impl Dependents {
    pub(crate) fn of(&self, t: u32) -> &[u32] {
        &self.dependents[self.start[t as usize] as usize..self.start[t as usize + 1] as usize]
    }
}

impl<T> Delayed<T> {
    /// How many distinct nodes (tasks and data) one compute of this value runs: its
    /// graph deduplicated by key (dask's `len(d.__dask_graph__())`).
    ///
    /// ```
    /// use delayed::value;
    /// let a = value(1i64);
    /// assert_eq!((&a + &a).graph_len(), 2);
    /// ```
    pub fn graph_len(&self) -> usize {
        Plan::new(&[&self.node]).len()
    }
}

/// `sources` with every task number `s` replaced by `to[s]` (constants stay constants):
/// how a plan's sources follow its tasks into another numbering.
pub(crate) fn renumbered<'a>(sources: &'a [u32], to: &'a [u32]) -> impl Iterator<Item = u32> + 'a {
    sources
        .iter()
        .map(move |&s| if s == CONST { CONST } else { to[s as usize] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erased::AnyValue;
    use crate::graph::node::{Body, InputList, Inputs, Scope};
    use crate::key::Key;

    /// A task (whatever its body does) keyed `key` over `inputs`.
    fn task(key: [u8; 32], list: InputList) -> Arc<Node> {
        let body = Body::Task(Box::new(|_: &mut Inputs<'_>| Ok(Arc::new(()) as AnyValue)));
        let key = Key::from_bytes(key);
        Arc::new(Node::new(key, "n", Scope::Portable, list, body))
    }

    fn node(key: [u8; 32], inputs: Vec<Arc<Node>>) -> Arc<Node> {
        task(
            key,
            InputList::from_inputs(inputs.into_iter().map(Input::Node)),
        )
    }

    fn key(first: u8, last: u8) -> [u8; 32] {
        let mut k = [first; 32];
        k[31] = last;
        k
    }

    #[test]
    fn dedups_by_key_and_orders_inputs_first() {
        // Two distinct leaf nodes with the same key, a diamond over them.
        let a1 = node(key(1, 1), vec![]);
        let a2 = node(key(1, 1), vec![]);
        let b = node(key(2, 2), vec![a1.clone(), a2]);
        let c = node(key(3, 3), vec![a1, b.clone()]);
        let plan = Plan::new(&[&c, &b]);
        assert_eq!(plan.tasks.len(), 3);
        for t in 0..plan.tasks.len() as u32 {
            assert!(plan.sources_of(t).iter().all(|&s| s == CONST || s < t));
        }
        // a is read twice by b and once by c; b by c and as a root; c as a root.
        let a = plan
            .tasks
            .iter()
            .position(|n| n.key() == Key::from_bytes(key(1, 1)));
        assert_eq!(plan.reads[a.unwrap()], 3);
        assert_eq!(plan.roots.len(), 2);
        assert_eq!(plan.reads[plan.roots[1] as usize], 2);
        let deps = plan.dependents();
        assert_eq!(deps.of(a.unwrap() as u32).len(), 3);
    }

    #[test]
    fn many_keys_survive_growth() {
        let leaves: Vec<Arc<Node>> = (0..5000u32)
            .map(|i| {
                let mut k = [0u8; 32];
                k[..4].copy_from_slice(&i.to_le_bytes());
                k[20] = 1;
                node(k, vec![])
            })
            .collect();
        let twins: Vec<Arc<Node>> = leaves
            .iter()
            .map(|l| node(*l.key().as_bytes(), vec![]))
            .collect();
        let mut all = leaves.clone();
        all.extend(twins);
        let mut list = InputList::Zero;
        for n in all {
            list.push(Input::Node(n));
        }
        let top = task([0xee; 32], list);
        let plan = Plan::new(&[&top]);
        assert_eq!(plan.tasks.len(), 5001);
        let srcs = plan.sources_of(plan.roots[0]);
        assert_eq!(srcs[..5000], srcs[5000..]);
    }

    #[test]
    fn the_table_grows_and_keeps_its_entries() {
        let mut seen = Seen::with_capacity(1);
        let bits = |i: u32| i.wrapping_mul(0x9e37_79b9) | (i & 1);
        for i in 0..5000u32 {
            assert_eq!(seen.get_or_insert(bits(i), |t| t == i, i), None);
        }
        assert!(seen.entries.len() >= 10_000 && seen.len == 5000);
        for i in 0..5000u32 {
            assert_eq!(
                seen.get_or_insert(bits(i), |t| t == i, u32::MAX - 1),
                Some(i)
            );
        }
    }

    #[test]
    fn probing_wraps_past_the_last_slot() {
        // Bits whose home is the last slot: the next ones go to the front.
        let mut seen = Seen::with_capacity(1);
        let size = seen.entries.len();
        for i in 0..5u32 {
            assert_eq!(seen.home(u32::MAX - i), size - 1);
            assert_eq!(seen.get_or_insert(u32::MAX - i, |_| false, i), None);
        }
        assert!(seen.entries[..4].iter().all(|&e| e != 0));
        for i in 0..5u32 {
            assert_eq!(seen.get_or_insert(u32::MAX - i, |t| t == i, 99), Some(i));
        }
    }

    #[test]
    fn keys_sharing_a_prefix_stay_apart() {
        // Same first bytes, different keys: two tasks, and each dedups with itself.
        let x = node(key(7, 1), vec![]);
        let y = node(key(7, 2), vec![]);
        let y2 = node(key(7, 2), vec![]);
        let top = node(key(9, 9), vec![x, y, y2]);
        let plan = Plan::new(&[&top]);
        assert_eq!(plan.tasks.len(), 3);
        let srcs = plan.sources_of(plan.roots[0]);
        assert_ne!(srcs[0], srcs[1]);
        assert_eq!(srcs[1], srcs[2]);
    }

    #[test]
    fn one_allocation_reached_twice_is_one_task() {
        // The same `Arc` as two roots and twice as an input; a uniquely owned child under
        // a key twin of a shared node.
        let leaf = node(key(4, 4), vec![]);
        let twin = node(key(4, 4), vec![]);
        let mid = node(key(5, 5), vec![twin]);
        let top = node(key(6, 6), vec![leaf.clone(), leaf.clone(), mid]);
        let plan = Plan::new(&[&top, &top, &leaf]);
        assert_eq!(plan.tasks.len(), 3);
        assert_eq!(plan.roots[0], plan.roots[1]);
        let l = plan.roots[2];
        assert_eq!(plan.sources_of(plan.roots[0])[..2], [l, l]);
        assert_eq!(plan.reads[l as usize], 4);
        for t in 0..plan.tasks.len() as u32 {
            assert!(plan.sources_of(t).iter().all(|&s| s == CONST || s < t));
        }
    }
}
