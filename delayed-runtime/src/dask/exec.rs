//! A compute on a dask cluster: the planned graph cut into phases and partitions, each
//! partition one dask task, results gathered back.
//!
//! **Which node runs where.** A task node runs on the cluster when its body is registered
//! by a stable id (a [`RemoteOp`]: non-generic `#[delayed]` functions, and operators and
//! `collect` over common types) and its inputs and result have codecs (serde types).
//! Every other node (data, `map` and `delay!` closures, generic instantiations, non-serde
//! values, cache hits) runs on the driver, in this process, on the local scheduler.
//! Values cross between the two only where a driver node feeds a cluster node or the
//! other way round, and the cluster side of such an edge always has a codec, so every
//! graph runs: none is refused.
//!
//! **Phases.** In plan order (inputs first), each task gets the earliest phase after its
//! inputs' of its kind: driver phases are even, cluster phases odd. Phases run in order;
//! a graph of cluster functions over values is phase 0 (the values) then phase 1.
//!
//! **Partitions.** The tasks of a cluster phase, in plan order (a depth-first post-order
//! from the roots, so a branch's tasks are contiguous), are cut into up to
//! 4 × (worker threads) contiguous chunks of sizes that differ by at most one (a phase of
//! at most twice that many tasks: one partition per task, or per chain of tasks that each
//! only read the one before). Contiguous chunks of a topological order form
//! an acyclic graph, so each chunk is one dask task that waits only for the chunks it
//! reads from. Only values read outside their partition (or returned) are written out.
//! A partition's dask key is its last task's name and a blake3 of its tasks' keys.

use std::collections::HashMap;
use std::sync::Arc;

use super::wire::{Reader, Writer};
use super::Inner;
use crate::cache::Cache;
use crate::error::Error;
use crate::key::KeyHasher;
use crate::node::{Body, Input, InputList, Node, Role};
use crate::remote::RemoteOp;
use crate::scheduler::plan::Plan;
use crate::scheduler::plan::CONST;
use crate::scheduler::run::{dependents, Run};
use crate::value::AnyValue;
use crate::watch::Recorder;

const NONE: u32 = u32::MAX;

/// The payload format's first bytes.
pub(crate) const MAGIC: &[u8; 4] = b"DLP1";

/// Tags of a partition node's inputs.
pub(crate) const IN_LOCAL: u8 = 0;
pub(crate) const IN_TABLE: u8 = 1;
pub(crate) const IN_DEP: u8 = 2;

struct Part {
    tasks: Vec<u32>,
    /// The tasks written out, in order.
    outputs: Vec<u32>,
    key: String,
}

/// Whether `node` can run on the cluster, and its op.
fn capable(node: &Node) -> Option<&'static RemoteOp> {
    let op = node.remote?;
    if !matches!(node.body, Body::Task(_)) {
        return None;
    }
    (op.output)()?;
    for i in 0..node.inputs.len() {
        (op.input)(i)?;
    }
    Some(op)
}

fn internal(what: &str) -> Error {
    Error::Scheduler {
        message: format!("internal error (dask): {what}"),
    }
}

/// Runs `plan` on the cluster (and its driver-side nodes here); the roots' values.
pub(crate) fn run(
    cluster: &Inner,
    plan: &Plan<'_>,
    cache: Option<&Cache>,
    recorder: Option<&Recorder>,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> Result<Vec<AnyValue>, Error> {
    let n = plan.len();
    let ops: Vec<Option<&'static RemoteOp>> = plan.tasks().iter().map(|t| capable(t)).collect();
    let mut phase = vec![0u32; n];
    for t in 0..n {
        let latest = plan
            .sources_of(t as u32)
            .iter()
            .filter(|&&s| s != CONST)
            .map(|&s| phase[s as usize])
            .max()
            .unwrap_or(0);
        let on_cluster = ops[t].is_some();
        phase[t] = if on_cluster == (latest % 2 == 1) {
            latest
        } else {
            latest + 1
        };
    }
    let phases = phase.iter().copied().max().map_or(0, |p| p as usize + 1);
    let mut by_phase: Vec<Vec<u32>> = vec![Vec::new(); phases];
    for t in 0..n {
        by_phase[phase[t] as usize].push(t as u32);
    }

    // Partitions of the cluster phases.
    let mut part = vec![NONE; n];
    let mut parts: Vec<Part> = Vec::new();
    let mut parts_of_phase: Vec<std::ops::Range<usize>> = vec![0..0; phases];
    let wanted = 4 * cluster.threads().max(1);
    for (k, tasks) in by_phase.iter().enumerate() {
        if k % 2 == 0 || tasks.is_empty() {
            continue;
        }
        let first = parts.len();
        // Balanced: chunk sizes differ by at most one task. A phase of a few tasks gets
        // one partition per task (nothing is known of their costs, and a few dask tasks
        // more cost less than a long task waiting behind another in one partition), except
        // that a task reading only the one before it, which nothing else reads, joins it.
        let bounds: Vec<usize> = if tasks.len() <= 2 * wanted {
            let mut bounds = vec![0];
            for i in 1..tasks.len() {
                let (prev, t) = (tasks[i - 1], tasks[i]);
                let mut reads = plan.sources_of(t).iter().filter(|&&s| s != CONST);
                let chained = reads.next() == Some(&prev)
                    && reads.next().is_none()
                    && plan.reads()[prev as usize] == 1;
                if !chained {
                    bounds.push(i);
                }
            }
            bounds.push(tasks.len());
            bounds
        } else {
            (0..=wanted).map(|c| c * tasks.len() / wanted).collect()
        };
        for chunk in bounds.windows(2).map(|w| &tasks[w[0]..w[1]]) {
            let p = parts.len() as u32;
            let mut h = KeyHasher::new("delayed.dask.partition");
            for &t in chunk {
                part[t as usize] = p;
                h.write_key(&plan.task(t).key);
            }
            let last = plan.task(chunk[chunk.len() - 1]);
            let name: String = last
                .name
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            parts.push(Part {
                tasks: chunk.to_vec(),
                outputs: Vec::new(),
                key: format!("{name}-{}", &h.finish().to_hex()[..32]),
            });
        }
        parts_of_phase[k] = first..parts.len();
    }

    // What leaves its partition (or driver phase), and what comes back to the driver.
    let mut exported = vec![false; n];
    let mut to_driver = vec![false; n];
    for &r in plan.roots() {
        exported[r as usize] = true;
        to_driver[r as usize] = true;
    }
    // A cacheable cluster task's result comes back to be stored by the driver.
    let stored: Vec<bool> = (0..n)
        .map(|t| cache.is_some() && part[t] != NONE && plan.tasks()[t].codec.is_some())
        .collect();
    for t in 0..n {
        if stored[t] {
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
    let mut out_index = vec![NONE; n];
    for p in &mut parts {
        for &t in &p.tasks {
            if exported[t as usize] {
                out_index[t as usize] = p.outputs.len() as u32;
                p.outputs.push(t);
            }
        }
    }

    let session = cluster.session();
    let mut values: Vec<Option<AnyValue>> = vec![None; n];
    let mut scratch = vec![NONE; n];
    let mut submitted = false;
    let mut outcome = Ok(());
    for k in 0..phases {
        if by_phase[k].is_empty() {
            continue;
        }
        if stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Acquire)) {
            outcome = Err(Error::Cancelled {});
            break;
        }
        outcome = if k % 2 == 0 {
            run_here(
                plan,
                &by_phase[k],
                &phase,
                &exported,
                &mut values,
                &mut scratch,
            )
        } else {
            submitted = true;
            let ctx = Remote {
                plan,
                cache,
                stored: &stored,
                ops: &ops,
                part: &part,
                out_index: &out_index,
                to_driver: &to_driver,
            };
            ctx.run_phase(
                cluster,
                &session,
                &parts,
                parts_of_phase[k].clone(),
                &mut values,
                &mut scratch,
            )
        };
        if outcome.is_err() {
            break;
        }
        // Counted when the phase is done, as ran at that instant: the cluster's own times
        // are on dask's dashboard.
        if let Some(recorder) = recorder {
            let now = recorder.clock();
            for &t in &by_phase[k] {
                recorder.executed(plan, t, now, true);
            }
        }
    }
    if submitted {
        // Forget this compute's futures, so dask frees their results.
        let released = cluster.request(&[b"release", session.as_bytes()]);
        if outcome.is_ok() {
            released?;
        }
    }
    outcome?;
    plan.roots()
        .iter()
        .map(|&r| {
            values[r as usize]
                .clone()
                .ok_or_else(|| internal("a root's value is missing"))
        })
        .collect()
}

/// Runs the driver-side tasks of one phase on the local scheduler, with the values they
/// read from earlier phases as data nodes; keeps the values later phases need.
fn run_here(
    plan: &Plan<'_>,
    tasks: &[u32],
    phase: &[u32],
    exported: &[bool],
    values: &mut [Option<AnyValue>],
    sub_of: &mut [u32],
) -> Result<(), Error> {
    let k = phase[tasks[0] as usize];
    let mut outside: Vec<u32> = Vec::new();
    for &t in tasks {
        for &s in plan.sources_of(t) {
            if s != CONST && phase[s as usize] != k && sub_of[s as usize] == NONE {
                sub_of[s as usize] = outside.len() as u32;
                outside.push(s);
            }
        }
    }
    let data: Vec<Arc<Node>> = outside
        .iter()
        .map(|&s| {
            let like = plan.task(s);
            let value = values[s as usize]
                .clone()
                .ok_or_else(|| internal("an input from an earlier phase is missing"))?;
            Ok(Arc::new(Node {
                key: like.key,
                name: like.name,
                inputs: InputList::Zero,
                body: Body::Data(value),
                codec: None,
                remote: None,
                scope: like.scope,
                role: Role::Plain,
            }))
        })
        .collect::<Result<_, Error>>()?;
    let mut sub_tasks: Vec<&Node> = data.iter().map(|d| &**d).collect();
    let mut input_start = vec![0u32; data.len() + 1];
    let mut sources = Vec::new();
    for &t in tasks {
        sub_of[t as usize] = sub_tasks.len() as u32;
        sub_tasks.push(plan.task(t));
        sources.extend(plan.sources_of(t).iter().map(|&s| {
            if s == CONST {
                CONST
            } else {
                sub_of[s as usize]
            }
        }));
        input_start.push(sources.len() as u32);
    }
    let roots: Vec<u32> = tasks
        .iter()
        .filter(|&&t| exported[t as usize])
        .map(|&t| sub_of[t as usize])
        .collect();
    for &s in outside.iter().chain(tasks) {
        sub_of[s as usize] = NONE;
    }
    let mut sub = Plan::from_parts(sub_tasks, input_start, sources, roots);
    let reads = sub.take_reads();
    let run = Run::new(&sub, reads);
    run.run_parallel();
    let computed = run.finish()?;
    let kept = tasks.iter().filter(|&&t| exported[t as usize]);
    for (&t, value) in kept.zip(computed) {
        values[t as usize] = Some(value);
    }
    Ok(())
}

/// What building and reading partitions needs.
struct Remote<'a, 'p, 'g> {
    plan: &'p Plan<'g>,
    cache: Option<&'a Cache>,
    stored: &'a [bool],
    ops: &'a [Option<&'static RemoteOp>],
    part: &'a [u32],
    out_index: &'a [u32],
    to_driver: &'a [bool],
}

impl Remote<'_, '_, '_> {
    /// Submits the partitions `range` (one phase) and gathers the values the driver needs.
    fn run_phase(
        &self,
        cluster: &Inner,
        session: &str,
        parts: &[Part],
        range: std::ops::Range<usize>,
        values: &mut [Option<AnyValue>],
        local_of: &mut [u32],
    ) -> Result<(), Error> {
        let mut payloads: Vec<(Vec<u8>, String)> = Vec::with_capacity(range.len());
        for p in range.clone() {
            payloads.push(self.payload(p as u32, parts, values, local_of)?);
        }
        let gather: Vec<usize> = range
            .clone()
            .filter(|&p| parts[p].outputs.iter().any(|&t| self.to_driver[t as usize]))
            .collect();
        let count = range.len().to_string();
        let wanted = gather
            .iter()
            .map(|&p| parts[p].key.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let mut fields: Vec<&[u8]> = vec![b"run", session.as_bytes(), count.as_bytes()];
        for (p, (payload, deps)) in range.clone().zip(&payloads) {
            fields.push(parts[p].key.as_bytes());
            fields.push(payload);
            fields.push(deps.as_bytes());
        }
        fields.push(wanted.as_bytes());
        let reply = cluster.exchange(&fields)?;
        drop(payloads);
        match reply.first().map(Vec::as_slice) {
            Some(b"ok") => {}
            Some(b"failed") => {
                return Err(self.task_error(reply.get(1).map_or(&[][..], |b| b)));
            }
            _ => {
                let message = String::from_utf8_lossy(reply.get(1).map_or(&[][..], |b| b));
                return Err(Error::Scheduler {
                    message: format!("dask: {message}"),
                });
            }
        }
        if reply.len() != gather.len() + 1 {
            return Err(internal("dask returned too few results"));
        }
        for (&p, blob) in gather.iter().zip(&reply[1..]) {
            let outputs = read_outputs(blob).map_err(|e| internal(&e))?;
            if outputs.len() != parts[p].outputs.len() {
                return Err(internal("a partition returned the wrong number of values"));
            }
            for (&t, bytes) in parts[p].outputs.iter().zip(outputs) {
                if !self.to_driver[t as usize] {
                    continue;
                }
                let codec = self.ops[t as usize]
                    .and_then(|op| (op.output)())
                    .ok_or_else(|| internal("no codec"))?;
                let value = (codec.decode)(bytes).map_err(|e| Error::Scheduler {
                    message: format!(
                        "the result of `{}` ({}) does not decode: {e}",
                        self.plan.task(t).label(),
                        (codec.type_name)()
                    ),
                })?;
                if let (true, Some(cache), Some(codec)) =
                    (self.stored[t as usize], self.cache, self.plan.task(t).codec)
                {
                    let node = self.plan.task(t);
                    if let Some(key) = crate::cache::disk_key(node) {
                        cache.store(&key, node.name, codec, &value);
                    }
                }
                values[t as usize] = Some(value);
            }
        }
        Ok(())
    }

    /// Partition `p`'s payload, and the dask keys of the partitions it reads from.
    fn payload(
        &self,
        p: u32,
        parts: &[Part],
        values: &[Option<AnyValue>],
        local_of: &mut [u32],
    ) -> Result<(Vec<u8>, String), Error> {
        let part = &parts[p as usize];
        let mut table: Vec<Vec<u8>> = Vec::new();
        let mut table_of: HashMap<u32, u32> = HashMap::new();
        let mut deps: Vec<u32> = Vec::new();
        let mut nodes = Writer::default();
        for (i, &t) in part.tasks.iter().enumerate() {
            local_of[t as usize] = i as u32;
        }
        for &t in &part.tasks {
            let node = self.plan.task(t);
            let op = self.ops[t as usize].ok_or_else(|| internal("not a cluster task"))?;
            nodes.raw(node.key.as_bytes());
            nodes.str(node.name);
            nodes.raw(op.id().as_bytes());
            nodes.u32(node.inputs.len() as u32);
            for (i, (&s, input)) in self
                .plan
                .sources_of(t)
                .iter()
                .zip(node.inputs.iter())
                .enumerate()
            {
                let encode = |value: &AnyValue| -> Result<Vec<u8>, Error> {
                    let codec = (op.input)(i).ok_or_else(|| internal("no codec"))?;
                    (codec.encode)(value).map_err(|e| Error::Scheduler {
                        message: format!(
                            "input {i} of `{}` ({}) does not encode: {e}",
                            node.label(),
                            (codec.type_name)()
                        ),
                    })
                };
                if s == CONST {
                    let Input::Const(value) = input else {
                        return Err(internal("a constant input is a node"));
                    };
                    nodes.u8(IN_TABLE);
                    nodes.u32(table.len() as u32);
                    table.push(encode(value)?);
                } else if self.part[s as usize] == p {
                    nodes.u8(IN_LOCAL);
                    nodes.u32(local_of[s as usize]);
                } else if self.part[s as usize] != NONE {
                    let q = self.part[s as usize];
                    let dep = match deps.iter().position(|&d| d == q) {
                        Some(d) => d,
                        None => {
                            deps.push(q);
                            deps.len() - 1
                        }
                    };
                    nodes.u8(IN_DEP);
                    nodes.u32(dep as u32);
                    nodes.u32(self.out_index[s as usize]);
                } else {
                    let slot = match table_of.get(&s) {
                        Some(&slot) => slot,
                        None => {
                            let value = values[s as usize]
                                .as_ref()
                                .ok_or_else(|| internal("a driver value is missing"))?;
                            let slot = table.len() as u32;
                            table.push(encode(value)?);
                            table_of.insert(s, slot);
                            slot
                        }
                    };
                    nodes.u8(IN_TABLE);
                    nodes.u32(slot);
                }
            }
        }
        let mut w = Writer::default();
        w.raw(MAGIC);
        w.u32(table.len() as u32);
        for blob in &table {
            w.bytes(blob);
        }
        w.u32(part.tasks.len() as u32);
        w.raw(&nodes.buf);
        w.u32(part.outputs.len() as u32);
        for &t in &part.outputs {
            w.u32(local_of[t as usize]);
        }
        for &t in &part.tasks {
            local_of[t as usize] = NONE;
        }
        let deps = deps
            .iter()
            .map(|&q| parts[q as usize].key.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        Ok((w.buf, deps))
    }

    /// The error a failed partition reported, as the local scheduler would give it.
    fn task_error(&self, blob: &[u8]) -> Error {
        match super::task::read_failure(blob) {
            Ok(failure) => {
                let t = self
                    .plan
                    .tasks()
                    .iter()
                    .position(|node| node.key == failure.key);
                let needed = t.map_or_else(
                    || (Vec::new(), 0),
                    |t| dependents(self.plan, t as u32, Error::MAX_DEPENDENTS),
                );
                failure.into_error(needed)
            }
            Err(message) => Error::Scheduler {
                message: format!("dask: a task failed: {message}"),
            },
        }
    }
}

/// The values in a partition's result blob.
pub(crate) fn read_outputs(blob: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut r = Reader::new(blob);
    if r.u8()? != 0 {
        return Err("a partition failed".into());
    }
    let count = r.u32()?;
    (0..count).map(|_| r.bytes()).collect()
}
