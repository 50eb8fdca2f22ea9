//! How a plan is cut for the cluster: each task's phase (driver or cluster side), the
//! cluster phases cut into partitions (one dask task each), and which values leave their
//! partition.
//!
//! **Phases.** In plan order (inputs first), each task gets the earliest phase after its
//! inputs' of its kind: driver phases are even, cluster phases odd. Phases only decide the
//! cut (a partition never holds two tasks with a driver task between them, so partitions
//! and driver tasks form an acyclic graph); they are not barriers: `exec.rs` submits a
//! partition as soon as the driver values it reads exist, and runs a driver task as soon
//! as its inputs are here.
//!
//! **Partitions.** The tasks of a cluster phase, in plan order (a depth-first post-order
//! from the roots, so a branch's tasks are contiguous), are cut into up to
//! 4 × (worker threads) contiguous chunks (see [`chunk_bounds`]). Contiguous chunks of a
//! topological order form an acyclic graph, so each chunk is one dask task that waits only
//! for the chunks it reads from. Only values read outside their partition (or returned)
//! are written out. A partition's dask key is its last task's name and a blake3 of its
//! tasks' keys.

use std::collections::HashMap;

use crate::executor::Ctx;
use crate::graph::node::RemoteOp;
use crate::key::KeyHasher;
use crate::plan::{Plan, CONST};

pub(super) const NONE: u32 = u32::MAX;

/// How many results a task gathers to get a partition of its own (see [`chunk_bounds`]).
const WIDE: usize = 4096;

/// How many tasks read a task that goes to its phase's first partition (see [`cut`]).
const SHARED_READS: u32 = 64;

/// One dask task: a contiguous run of a cluster phase's tasks.
pub(super) struct Part {
    pub(super) tasks: Vec<u32>,
    /// The tasks written out, in order.
    pub(super) outputs: Vec<u32>,
    pub(super) key: String,
    /// The driver tasks whose values it reads (each once).
    pub(super) needs: Vec<u32>,
    /// The partitions it reads from (each once).
    pub(super) after: Vec<u32>,
    /// dask resources a worker needs to run it (its tasks' own, the largest of each).
    pub(super) resources: Vec<(&'static str, f64)>,
    /// dask priority (its tasks' highest).
    pub(super) priority: i32,
}

/// Each task's phase (driver phases even, cluster phases odd), and the tasks of each.
struct Phases {
    of: Vec<u32>,
    tasks: Vec<Vec<u32>>,
}

impl Phases {
    /// In plan order (inputs first), each task gets the earliest phase after its inputs'
    /// of its kind.
    fn of(plan: &Plan<'_>, ops: &[Option<&'static RemoteOp>]) -> Phases {
        let n = plan.len();
        let mut of = vec![0u32; n];
        for t in 0..n {
            let latest = plan
                .sources_of(t as u32)
                .iter()
                .filter(|&&s| s != CONST)
                .map(|&s| of[s as usize])
                .max()
                .unwrap_or(0);
            let on_cluster = ops[t].is_some();
            of[t] = if on_cluster == (latest % 2 == 1) {
                latest
            } else {
                latest + 1
            };
        }
        let count = of.iter().copied().max().map_or(0, |p| p as usize + 1);
        let mut tasks: Vec<Vec<u32>> = vec![Vec::new(); count];
        for t in 0..n {
            tasks[of[t] as usize].push(t as u32);
        }
        Phases { of, tasks }
    }
}

/// The partitions of the cluster phases, and which values leave their partition.
pub(super) struct Layout {
    /// Each cluster task's partition; `NONE` for the driver's tasks.
    pub(super) part: Vec<u32>,
    pub(super) parts: Vec<Part>,
    /// Read outside its partition or driver phase (or returned).
    pub(super) exported: Vec<bool>,
    /// Comes back to the driver.
    pub(super) to_driver: Vec<bool>,
    /// A task's index among its partition's outputs.
    pub(super) out_index: Vec<u32>,
    /// A driver value read by two partitions or more (sent to the cluster once when it
    /// is large, see `exec.rs`).
    pub(super) shared: Vec<bool>,
}

impl Layout {
    /// Cuts `plan`, whose cluster tasks are those with an op in `ops`, into partitions
    /// of about `wanted` per cluster phase.
    pub(super) fn of(
        plan: &Plan<'_>,
        ops: &[Option<&'static RemoteOp>],
        wanted: usize,
        costs: &Costs,
        ctx: &Ctx<'_>,
    ) -> Layout {
        let phases = Phases::of(plan, ops);
        let n = plan.len();
        let mut part = vec![NONE; n];
        let mut parts: Vec<Part> = Vec::new();
        let mut pulled = vec![false; n];
        for (k, tasks) in phases.tasks.iter().enumerate().skip(1).step_by(2) {
            let phase = (&phases.of[..], k as u32);
            let (tasks, bounds) = cut(plan, tasks, phase, (wanted, costs), &mut pulled);
            for chunk in bounds.windows(2).map(|w| &tasks[w[0]..w[1]]) {
                for &t in chunk {
                    part[t as usize] = parts.len() as u32;
                }
                let (resources, priority) = annotations(plan, chunk);
                parts.push(Part {
                    tasks: chunk.to_vec(),
                    outputs: Vec::new(),
                    key: partition_key(plan, chunk),
                    needs: Vec::new(),
                    after: Vec::new(),
                    resources,
                    priority,
                });
            }
        }
        let (exported, to_driver) = exports(plan, &phases.of, &part, ctx);
        let mut out_index = vec![NONE; n];
        let mut readers = vec![0u32; n];
        // The last partition that listed a task among its needs or its dependencies.
        let mut listed = vec![NONE; n];
        for (p, this) in parts.iter_mut().enumerate() {
            let p = p as u32;
            for &t in &this.tasks {
                if exported[t as usize] {
                    out_index[t as usize] = this.outputs.len() as u32;
                    this.outputs.push(t);
                }
                for &s in plan.sources_of(t) {
                    if s == CONST || part[s as usize] == p || listed[s as usize] == p {
                        continue;
                    }
                    listed[s as usize] = p;
                    let q = part[s as usize];
                    if q == NONE {
                        readers[s as usize] += 1;
                        this.needs.push(s);
                    } else if !this.after.contains(&q) {
                        this.after.push(q);
                    }
                }
            }
        }
        Layout {
            part,
            parts,
            exported,
            to_driver,
            out_index,
            shared: readers.into_iter().map(|r| r >= 2).collect(),
        }
    }
}

/// A cluster phase's tasks (phase `k` of `phase`) in the order they are cut, and where
/// (chunk boundaries).
///
/// The tasks that many others read ([`SHARED_READS`] or more: an image every crop reads,
/// crops every pair reads), with what they read in the phase, come first as a partition
/// of their own when they are few (half a chunk at most). Otherwise they would fall in the
/// phase's first chunk in plan order, and every other chunk would wait for all of it.
/// Both parts keep plan order, and the first holds all its own inputs in the phase, so
/// the partitions stay acyclic. `pulled` is scratch, false for this phase's tasks.
fn cut<'t>(
    plan: &Plan<'_>,
    tasks: &'t [u32],
    (phase, k): (&[u32], u32),
    (wanted, costs): (usize, &Costs),
    pulled: &mut [bool],
) -> (std::borrow::Cow<'t, [u32]>, Vec<usize>) {
    use std::borrow::Cow;
    if tasks.len() <= 2 * wanted {
        return (
            Cow::Borrowed(tasks),
            chunk_bounds(plan, tasks, wanted, costs),
        );
    }
    let reads = plan.reads();
    let mut count = 0;
    // Inputs after their readers: a pulled task pulls its inputs.
    for &t in tasks.iter().rev() {
        if reads[t as usize] < SHARED_READS && !pulled[t as usize] {
            continue;
        }
        pulled[t as usize] = true;
        count += 1;
        for &s in plan.sources_of(t) {
            if s != CONST && phase[s as usize] == k {
                pulled[s as usize] = true;
            }
        }
    }
    if count == 0 || count > tasks.len() / (2 * wanted) {
        return (
            Cow::Borrowed(tasks),
            chunk_bounds(plan, tasks, wanted, costs),
        );
    }
    let (first, rest): (Vec<u32>, Vec<u32>) = tasks.iter().partition(|&&t| pulled[t as usize]);
    let mut bounds = vec![0];
    bounds.extend(
        chunk_bounds(plan, &rest, wanted, costs)
            .into_iter()
            .map(|b| b + count),
    );
    let mut ordered = first;
    ordered.extend(rest);
    (Cow::Owned(ordered), bounds)
}

/// Where a cluster phase's tasks are cut into partitions (chunk boundaries).
///
/// A task that asks dask for resources or a priority is a chunk of its own.
///
/// Balanced by cost: each chunk holds about the same measured work (the mean time of each
/// task's function on the workers in earlier computes on this cluster; a function not
/// measured yet counts as the phase's mean), or, when nothing is measured yet, the same
/// number of tasks (sizes differ by at most one), except that a task gathering many
/// results ([`WIDE`] or more: a `collect` of a whole phase) is a partition of its own, so
/// that the tasks beside it in the plan's order run with the others instead of after all
/// of them. A phase of a few tasks gets one partition per
/// task (nothing is known of their costs, and a few dask tasks more cost less than a long
/// task waiting behind another in one partition), except that a task reading only the one
/// before it, which nothing else reads, joins it.
fn chunk_bounds(plan: &Plan<'_>, tasks: &[u32], wanted: usize, costs: &Costs) -> Vec<usize> {
    if tasks.len() > 2 * wanted {
        let mut bounds = match weights(plan, tasks, costs) {
            Some(weights) => balanced(&weights, wanted),
            None => (0..=wanted).map(|c| c * tasks.len() / wanted).collect(),
        };
        for i in tasks
            .iter()
            .enumerate()
            .filter(|&(_, &t)| {
                annotated(plan, t)
                    || plan.sources_of(t).iter().filter(|&&s| s != CONST).count() >= WIDE
            })
            .map(|(i, _)| i)
        {
            bounds.extend([i, i + 1]);
        }
        bounds.sort_unstable();
        bounds.dedup();
        return bounds;
    }
    let mut bounds = vec![0];
    for i in 1..tasks.len() {
        let (prev, t) = (tasks[i - 1], tasks[i]);
        let mut reads = plan.sources_of(t).iter().filter(|&&s| s != CONST);
        let chained = reads.next() == Some(&prev)
            && reads.next().is_none()
            && plan.reads()[prev as usize] == 1
            && !annotated(plan, prev)
            && !annotated(plan, t);
        if !chained {
            bounds.push(i);
        }
    }
    bounds.push(tasks.len());
    bounds
}

/// What `chunk`'s tasks ask of dask: each resource at the most any task needs, and the
/// highest priority.
fn annotations(plan: &Plan<'_>, chunk: &[u32]) -> (Vec<(&'static str, f64)>, i32) {
    let mut resources: Vec<(&'static str, f64)> = Vec::new();
    let mut priority = None;
    for op in chunk.iter().filter_map(|&t| plan.task(t).remote()) {
        for &(name, amount) in op.resources {
            match resources.iter_mut().find(|(n, _)| *n == name) {
                Some((_, have)) => *have = have.max(amount),
                None => resources.push((name, amount)),
            }
        }
        priority = Some(priority.map_or(op.priority, |p: i32| p.max(op.priority)));
    }
    (resources, priority.unwrap_or(0))
}

/// Whether task `t` asks dask for resources or a priority: it gets a partition of its
/// own, so the rest does not wait for (or hold) what it needs.
fn annotated(plan: &Plan<'_>, t: u32) -> bool {
    plan.task(t).remote().is_some_and(|op| op.is_annotated())
}

/// The measured mean cost of each function (ns), by name.
pub(super) type Costs = HashMap<String, f64>;

/// Each task's cost, when any of `tasks` has a measured one (the others get their mean).
fn weights(plan: &Plan<'_>, tasks: &[u32], costs: &Costs) -> Option<Vec<f64>> {
    if costs.is_empty() {
        return None;
    }
    let known: Vec<Option<f64>> = (tasks.iter())
        .map(|&t| costs.get(plan.task(t).name()).copied())
        .collect();
    let (sum, count) = (known.iter().flatten()).fold((0.0, 0usize), |(s, c), &x| (s + x, c + 1));
    if count == 0 {
        return None;
    }
    let mean = sum / count as f64;
    Some(
        known
            .into_iter()
            .map(|k| k.unwrap_or(mean).max(1.0))
            .collect(),
    )
}

/// Boundaries cutting `weights` into `wanted` runs of about equal sums (none empty).
fn balanced(weights: &[f64], wanted: usize) -> Vec<usize> {
    let total: f64 = weights.iter().sum();
    let mut bounds = vec![0];
    let (mut acc, mut next) = (0.0, 1);
    for (i, &w) in weights.iter().enumerate() {
        acc += w;
        while next < wanted && acc >= total * next as f64 / wanted as f64 {
            if bounds.last() != Some(&(i + 1)) {
                bounds.push(i + 1);
            }
            next += 1;
        }
    }
    if bounds.last() != Some(&weights.len()) {
        bounds.push(weights.len());
    }
    bounds
}

/// A partition's dask key: its last task's name and a blake3 of its tasks' keys.
fn partition_key(plan: &Plan<'_>, chunk: &[u32]) -> String {
    let mut h = KeyHasher::new("delayed.dask.partition");
    for &t in chunk {
        h.write_key(&plan.task(t).key());
    }
    let name: String = plan
        .task(chunk[chunk.len() - 1])
        .name()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}-{}", &h.finish().to_hex()[..32])
}

/// Which values leave their partition (or driver phase), and which come back to the
/// driver: the roots, what driver tasks read, and what the pipeline's sink wants.
fn exports(plan: &Plan<'_>, phase: &[u32], part: &[u32], ctx: &Ctx<'_>) -> (Vec<bool>, Vec<bool>) {
    let n = plan.len();
    let mut exported = vec![false; n];
    let mut to_driver = vec![false; n];
    for &r in plan.roots() {
        exported[r as usize] = true;
        to_driver[r as usize] = true;
    }
    for t in 0..n {
        if part[t] != NONE && ctx.wants(t as u32) {
            exported[t] = true;
            to_driver[t] = true;
        }
    }
    for u in 0..n {
        for &s in plan.sources_of(u as u32) {
            if s == CONST {
                continue;
            }
            let s = s as usize;
            let (ps, pu) = (part[s], part[u]);
            if ps != NONE {
                if pu != ps {
                    exported[s] = true;
                }
                if pu == NONE {
                    to_driver[s] = true;
                }
            } else if phase[u] != phase[s] {
                exported[s] = true;
            }
        }
    }
    (exported, to_driver)
}

#[cfg(test)]
mod tests {
    use super::balanced;

    #[test]
    fn balanced_cuts_by_weight_not_by_count() {
        // Ten cheap tasks then two that cost as much as all of them.
        let mut weights = vec![1.0; 10];
        weights.extend([10.0, 10.0]);
        assert_eq!(balanced(&weights, 3), vec![0, 10, 11, 12]);
        // Equal weights: equal counts.
        assert_eq!(balanced(&[2.0; 8], 4), vec![0, 2, 4, 6, 8]);
    }

    #[test]
    fn balanced_never_makes_an_empty_chunk() {
        let bounds = balanced(&[100.0, 1.0, 1.0, 1.0], 4);
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
        assert_eq!((bounds[0], bounds[bounds.len() - 1]), (0, 4));
    }
}
