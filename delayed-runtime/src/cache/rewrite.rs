//! The pipeline's cache step: before a compute with a cache, the graph is rewritten so
//! that stored results replace their tasks, and work that only fed those tasks
//! disappears; after it, the pipeline writes back what ran ([`write_back`]).
//!
//! 1. Take the graph's plan, made as usual (one task per distinct key, inputs first).
//! 2. Walk it from the roots backwards: a needed cacheable task found on disk is a *hit*
//!    (its value is loaded and decoded now, so a damaged entry is still recomputed with its
//!    inputs); a needed task that runs makes its inputs needed. Tasks never needed are the
//!    *skipped* upstream work.
//! 3. Build the needed part again: a hit becomes a task with no inputs that hands over the
//!    loaded value; tasks downstream of hits are rebuilt over the new inputs (running the
//!    original body); everything else is the original node, untouched.
//!
//! The pipeline then plans and runs the rebuilt graph exactly like any other, so
//! deduplication, freeing results after their last consumer and errors work unchanged;
//! the cacheable tasks of that plan (the misses: a hit has no codec) are the ones whose
//! results the executor hands to the cache as they are computed. Nothing here runs when
//! no cache is configured.

use std::sync::{Arc, Mutex};

use crate::cache::disk_key::disk_key;
use crate::cache::Cache;
use crate::erased::{AnyValue, BoxError};
use crate::graph::node::{Body, Input, InputList, Inputs, Node, Scope, TaskFn};
use crate::plan::{Plan, CONST};

/// The roots of the rewritten graph, or `None` when the cache changes nothing (it is
/// off, or no task in the graph is cacheable): then the original graph runs.
pub(crate) fn rewrite(
    plan: &Plan<'_>,
    roots: &[&Arc<Node>],
    cache: &Cache,
) -> Option<(Vec<Arc<Node>>, u64)> {
    if !cache.is_on() {
        return None;
    }
    if !plan.tasks().iter().any(|node| is_cacheable(node)) {
        return None;
    }
    let (needed, loaded) = look_up(plan, cache);
    let skipped = needed.iter().filter(|&&n| !n).count() as u64;
    let hits = loaded.iter().filter(|v| v.is_some()).count() as u64;
    let rebuilt = rebuild(plan, &handles(plan, roots), &needed, loaded)?;
    cache.count_skipped(skipped);
    let roots = plan.roots().iter().map(|&r| rebuilt[r as usize].clone());
    Some((roots.collect::<Option<Vec<_>>>()?, hits))
}

/// The shared handle of every planned node (the plan holds plain references).
fn handles(plan: &Plan<'_>, roots: &[&Arc<Node>]) -> Vec<Option<Arc<Node>>> {
    let mut arcs: Vec<Option<Arc<Node>>> = vec![None; plan.len()];
    for (root, &t) in roots.iter().zip(plan.roots()) {
        arcs[t as usize].get_or_insert_with(|| Arc::clone(root));
    }
    for (t, node) in plan.tasks().iter().enumerate() {
        for (input, &s) in node.inputs().iter().zip(plan.sources_of(t as u32)) {
            if let Input::Node(child) = input {
                arcs[s as usize].get_or_insert_with(|| Arc::clone(child));
            }
        }
    }
    arcs
}

/// Backwards from the roots: which tasks are needed, and the stored values of the needed
/// cacheable ones found on disk (whose inputs are then not needed for them).
fn look_up(plan: &Plan<'_>, cache: &Cache) -> (Vec<bool>, Vec<Option<AnyValue>>) {
    let n = plan.len();
    let mut needed = vec![false; n];
    for &r in plan.roots() {
        needed[r as usize] = true;
    }
    let mut loaded: Vec<Option<AnyValue>> = vec![None; n];
    for t in (0..n).rev() {
        if !needed[t] {
            continue;
        }
        let node = plan.task(t as u32);
        if let (Some(codec), true, Some(key)) = (node.codec(), node.is_task(), disk_key(node)) {
            if let Some(value) = cache.load(&key, node.name(), codec) {
                loaded[t] = Some(value);
                continue;
            }
        }
        for &s in plan.sources_of(t as u32) {
            if s != CONST {
                needed[s as usize] = true;
            }
        }
    }
    (needed, loaded)
}

/// Forwards: a hit becomes a task handing over its stored value, a task over a changed
/// input is rebuilt over the new inputs, anything else stays the original node. `None`
/// if a needed node has no handle (cannot happen: every planned node is reached).
fn rebuild(
    plan: &Plan<'_>,
    arcs: &[Option<Arc<Node>>],
    needed: &[bool],
    mut loaded: Vec<Option<AnyValue>>,
) -> Option<Vec<Option<Arc<Node>>>> {
    let n = plan.len();
    let mut rebuilt: Vec<Option<Arc<Node>>> = vec![None; n];
    let mut changed = vec![false; n];
    for t in 0..n {
        if !needed[t] {
            continue;
        }
        let node = plan.task(t as u32);
        let sources = plan.sources_of(t as u32);
        if let Some(value) = loaded[t].take() {
            rebuilt[t] = Some(task(node, InputList::Zero, hand_over(value), None, None));
            changed[t] = true;
            continue;
        }
        let original = arcs[t].clone()?;
        if !sources.iter().any(|&s| s != CONST && changed[s as usize]) {
            rebuilt[t] = Some(original);
            continue;
        }
        let inputs = node
            .inputs()
            .iter()
            .zip(sources)
            .map(|(input, &s)| match input {
                Input::Node(_) => rebuilt[s as usize].clone().map(Input::Node),
                Input::Const(value) => Some(Input::Const(value.clone())),
            })
            .collect::<Option<Vec<Input>>>()?;
        // A rebuilt task keeps its codec (its result is still written back) and its
        // remote op (it still runs on a cluster).
        let inputs = InputList::from_inputs(inputs);
        let body = run_original(original);
        rebuilt[t] = Some(task(node, inputs, body, node.remote(), node.codec()));
        changed[t] = true;
    }
    Some(rebuilt)
}

/// Which tasks of `plan` (the rewritten one) have their results written back to
/// `cache` as they are computed: the cacheable ones (a hit has no codec any more).
/// `None` when nothing would be.
pub(crate) fn write_back(plan: &Plan<'_>, cache: &Cache) -> Option<Vec<bool>> {
    if !cache.is_on() {
        return None;
    }
    let wanted: Vec<bool> = plan.tasks().iter().map(|node| is_cacheable(node)).collect();
    wanted.contains(&true).then_some(wanted)
}

impl Cache {
    /// Writes `node`'s computed `value` back (a task [`write_back`] chose).
    pub(crate) fn keep(&self, node: &Node, value: &AnyValue) {
        if let (Some(codec), Some(key)) = (node.codec(), disk_key(node)) {
            self.store(&key, node.name(), codec, value);
        }
    }
}

fn is_cacheable(node: &Node) -> bool {
    node.codec().is_some() && node.is_task() && node.scope() != Scope::Process
}

fn task(
    like: &Node,
    inputs: InputList,
    body: Box<TaskFn>,
    remote: Option<&'static crate::graph::node::RemoteOp>,
    codec: Option<&'static crate::codec::Codec>,
) -> Arc<Node> {
    let node = Node::new(
        like.key(),
        like.name(),
        like.scope(),
        inputs,
        Body::Task(body),
    )
    .with_role(like.role())
    .with_codec(codec)
    .with_remote(remote)
    .with_digest_of(like);
    Arc::new(node)
}

/// A hit: hands the loaded value over once, so it is freed after its last consumer like
/// any computed result.
fn hand_over(value: AnyValue) -> Box<TaskFn> {
    let slot = Mutex::new(Some(value));
    Box::new(move |_: &mut Inputs<'_>| -> Result<AnyValue, BoxError> {
        slot.lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .take()
            .ok_or_else(|| "internal error: a cached result was taken twice".into())
    })
}

/// The original task over rebuilt inputs.
fn run_original(original: Arc<Node>) -> Box<TaskFn> {
    Box::new(
        move |inputs: &mut Inputs<'_>| -> Result<AnyValue, BoxError> {
            match original.body() {
                Body::Task(body) => body(inputs),
                Body::Data(value) => Ok(AnyValue::clone(value)),
            }
        },
    )
}
