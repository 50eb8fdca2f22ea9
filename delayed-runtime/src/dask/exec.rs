//! A compute on a dask cluster: the planned graph cut into phases and partitions, each
//! partition one dask task, results gathered back.
//!
//! **Which node runs where** (`place.rs`). A task runs on the cluster when its body is
//! code without captures (a [`RemoteOp`]: every `#[delayed]` fn, generic or not, method,
//! `map` and `delay!` of a closure without captures or of a fn, operator, `get`,
//! `unpack`, `collect`) and the values it reads and makes have codecs (serde types).
//! The others (closures with captures, values without serde, cache hits) run on the
//! driver, in this process, on the local executor; data is sent to the partitions that
//! read it. Values cross between the two only where a driver node feeds a cluster node or
//! the other way round, and the cluster side of such an edge always has a codec, so every
//! graph runs, unless the scheduler is strict: then a graph with driver tasks is refused
//! before anything is submitted. Ops and codecs are sent as offsets in the executable
//! (`image.rs`).
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

use super::image;
use super::place::Placement;
use super::wire::{Reader, Writer};
use super::Inner;
use crate::codec::{self, Codec};
use crate::erased::AnyValue;
use crate::error::Error;
use crate::executor::local::GlobalPool;
use crate::executor::{Ctx, Executor, Sink};
use crate::graph::node::{Body, Input, InputList, Node, RemoteOp};
use crate::key::KeyHasher;
use crate::plan::{renumbered, Plan, CONST};

const NONE: u32 = u32::MAX;

/// How many results a task gathers to get a partition of its own (see [`chunk_bounds`]).
const WIDE: usize = 4096;

/// The payload format's first bytes.
pub(crate) const MAGIC: &[u8; 4] = b"DLP2";

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

fn internal(what: &str) -> Error {
    Error::Scheduler {
        message: format!("internal error (dask): {what}"),
    }
}

impl Executor for Inner {
    /// Runs `plan` on the cluster (and its driver-side nodes here), watched by phase:
    /// each task is counted done, with no duration, when its phase has finished (dask's
    /// dashboard shows the cluster's own task stream). A job's compute is cancelled
    /// between phases; the futures of the phase running then are released.
    fn run(&self, plan: &Plan<'_>, ctx: &Ctx<'_>) -> Result<Vec<AnyValue>, Error> {
        let placement = Placement::of(plan);
        if ctx.strict {
            placement.refuse_local(plan)?;
        }
        let phases = Phases::of(plan, &placement.ops);
        let layout = Layout::of(plan, &phases, 4 * self.threads().max(1), ctx);
        let session = self.session();
        let mut values: Vec<Option<AnyValue>> = vec![None; plan.len()];
        let outcome = self.run_phases(
            plan,
            ctx,
            &placement,
            &phases,
            &layout,
            &session,
            &mut values,
        );
        if layout.submitted(&phases) {
            // Forget this compute's futures, so dask frees their results.
            let released = self.request(&[b"release", session.as_bytes()]);
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

    fn workers(&self) -> usize {
        self.threads()
    }

    fn describe(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scheduler::dask({})", self.address())
    }
}

impl Inner {
    /// Runs the phases in order, each to its end; the values later phases and the caller
    /// read are left in `values`.
    #[allow(clippy::too_many_arguments)]
    fn run_phases(
        &self,
        plan: &Plan<'_>,
        ctx: &Ctx<'_>,
        placement: &Placement,
        phases: &Phases,
        layout: &Layout,
        session: &str,
        values: &mut [Option<AnyValue>],
    ) -> Result<(), Error> {
        let mut scratch = vec![NONE; plan.len()];
        for (k, tasks) in phases.tasks.iter().enumerate() {
            if tasks.is_empty() {
                continue;
            }
            if ctx.stopped() {
                return Err(Error::Cancelled {});
            }
            if k % 2 == 0 {
                run_here(
                    plan,
                    ctx,
                    tasks,
                    phases,
                    &layout.exported,
                    values,
                    &mut scratch,
                )?;
            } else {
                let remote = Remote {
                    plan,
                    ctx,
                    placement,
                    part: &layout.part,
                    out_index: &layout.out_index,
                    to_driver: &layout.to_driver,
                };
                let range = layout.parts_of_phase[k].clone();
                remote.run_phase(self, session, &layout.parts, range, values, &mut scratch)?;
            }
            // Counted when the phase is done, as ran at that instant: the cluster's own
            // times are on dask's dashboard.
            if let Some(recorder) = ctx.recorder {
                let now = recorder.clock();
                for &t in tasks {
                    recorder.executed_at(plan, t, now, true, k % 2 == 1);
                }
            }
        }
        Ok(())
    }
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
struct Layout {
    part: Vec<u32>,
    parts: Vec<Part>,
    parts_of_phase: Vec<std::ops::Range<usize>>,
    /// Read outside its partition or driver phase (or returned).
    exported: Vec<bool>,
    /// Comes back to the driver.
    to_driver: Vec<bool>,
    /// A task's index among its partition's outputs.
    out_index: Vec<u32>,
}

impl Layout {
    fn of(plan: &Plan<'_>, phases: &Phases, wanted: usize, ctx: &Ctx<'_>) -> Layout {
        let n = plan.len();
        let mut part = vec![NONE; n];
        let mut parts: Vec<Part> = Vec::new();
        let mut parts_of_phase: Vec<std::ops::Range<usize>> = vec![0..0; phases.tasks.len()];
        for (k, tasks) in phases.tasks.iter().enumerate() {
            if k % 2 == 0 || tasks.is_empty() {
                continue;
            }
            let first = parts.len();
            for chunk in chunk_bounds(plan, tasks, wanted)
                .windows(2)
                .map(|w| &tasks[w[0]..w[1]])
            {
                for &t in chunk {
                    part[t as usize] = parts.len() as u32;
                }
                parts.push(Part {
                    tasks: chunk.to_vec(),
                    outputs: Vec::new(),
                    key: partition_key(plan, chunk),
                });
            }
            parts_of_phase[k] = first..parts.len();
        }
        let (exported, to_driver) = exports(plan, &phases.of, &part, ctx);
        let mut out_index = vec![NONE; n];
        for p in &mut parts {
            for &t in &p.tasks {
                if exported[t as usize] {
                    out_index[t as usize] = p.outputs.len() as u32;
                    p.outputs.push(t);
                }
            }
        }
        Layout {
            part,
            parts,
            parts_of_phase,
            exported,
            to_driver,
            out_index,
        }
    }

    /// Whether any partition goes to the cluster.
    fn submitted(&self, phases: &Phases) -> bool {
        phases
            .tasks
            .iter()
            .enumerate()
            .any(|(k, tasks)| k % 2 == 1 && !tasks.is_empty())
    }
}

/// Where a cluster phase's tasks are cut into partitions (chunk boundaries).
///
/// Balanced: chunk sizes differ by at most one task, except that a task gathering many
/// results ([`WIDE`] or more: a `collect` of a whole phase) is a partition of its own, so
/// that the tasks beside it in the plan's order run with the others instead of after all
/// of them. A phase of a few tasks gets one partition per
/// task (nothing is known of their costs, and a few dask tasks more cost less than a long
/// task waiting behind another in one partition), except that a task reading only the one
/// before it, which nothing else reads, joins it.
fn chunk_bounds(plan: &Plan<'_>, tasks: &[u32], wanted: usize) -> Vec<usize> {
    if tasks.len() > 2 * wanted {
        let mut bounds: Vec<usize> = (0..=wanted).map(|c| c * tasks.len() / wanted).collect();
        for i in tasks
            .iter()
            .enumerate()
            .filter(|&(_, &t)| plan.sources_of(t).iter().filter(|&&s| s != CONST).count() >= WIDE)
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
            && plan.reads()[prev as usize] == 1;
        if !chained {
            bounds.push(i);
        }
    }
    bounds.push(tasks.len());
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

/// Runs the driver-side tasks of one phase on the local executor (rayon's global pool,
/// stopped by the job's flag), with the values they read from earlier phases as data
/// nodes; keeps the values later phases need and hands the sink what it wants.
fn run_here(
    plan: &Plan<'_>,
    ctx: &Ctx<'_>,
    tasks: &[u32],
    phases: &Phases,
    exported: &[bool],
    values: &mut [Option<AnyValue>],
    sub_of: &mut [u32],
) -> Result<(), Error> {
    let k = phases.of[tasks[0] as usize];
    let mut outside: Vec<u32> = Vec::new();
    for &t in tasks {
        for &s in plan.sources_of(t) {
            if s != CONST && phases.of[s as usize] != k && sub_of[s as usize] == NONE {
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
            let body = Body::Data(value);
            let node = Node::new(like.key(), like.name(), like.scope(), InputList::Zero, body);
            Ok(Arc::new(node))
        })
        .collect::<Result<_, Error>>()?;
    let mut sub_tasks: Vec<&Node> = data.iter().map(|d| &**d).collect();
    let mut input_start = vec![0u32; data.len() + 1];
    let mut sources = Vec::new();
    for &t in tasks {
        sub_of[t as usize] = sub_tasks.len() as u32;
        sub_tasks.push(plan.task(t));
        sources.extend(renumbered(plan.sources_of(t), sub_of));
        input_start.push(sources.len() as u32);
    }
    let roots: Vec<u32> = tasks
        .iter()
        .filter(|&&t| exported[t as usize])
        .map(|&t| sub_of[t as usize])
        .collect();
    // The sink's wishes, in the sub-plan's numbers (the inputs from earlier phases first,
    // never wanted again).
    let sink = ctx.sink.as_ref().map(|sink| {
        let mut wanted = vec![false; outside.len()];
        wanted.extend(tasks.iter().map(|&t| ctx.wants(t)));
        Sink {
            wanted,
            take: sink.take,
        }
    });
    for &s in outside.iter().chain(tasks) {
        sub_of[s as usize] = NONE;
    }
    let sub = Plan::from_parts(sub_tasks, input_start, sources, roots);
    let sub_ctx = Ctx {
        recorder: None,
        stop: ctx.stop,
        sink,
        strict: false,
    };
    let computed = GlobalPool.run(&sub, &sub_ctx)?;
    let kept = tasks.iter().filter(|&&t| exported[t as usize]);
    for (&t, value) in kept.zip(computed) {
        values[t as usize] = Some(value);
    }
    Ok(())
}

/// What building and reading partitions needs.
struct Remote<'a, 'p, 'g> {
    plan: &'p Plan<'g>,
    ctx: &'a Ctx<'a>,
    placement: &'a Placement,
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
                return Err(self.task_error(reply.get(1).map_or(&[][..], |b| b), parts));
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
                let codec =
                    self.placement.out_codec[t as usize].ok_or_else(|| internal("no codec"))?;
                let value = (codec.decode)(bytes).map_err(|e| Error::Scheduler {
                    message: format!(
                        "the result of `{}` ({}) does not decode: {e}",
                        self.plan.task(t).label(),
                        (codec.type_name)()
                    ),
                })?;
                self.ctx.deliver(self.plan, t, &value);
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
        let mut out = Payload::default();
        for (i, &t) in part.tasks.iter().enumerate() {
            local_of[t as usize] = i as u32;
        }
        for &t in &part.tasks {
            self.write_node(&mut out, p, t, values, local_of)?;
        }
        let Payload {
            table,
            names,
            deps,
            nodes,
        } = out;
        let mut w = Writer::default();
        w.raw(MAGIC);
        w.u64(image::canary());
        w.u32(p);
        // The codecs the worker must know by type (beyond the common ones).
        let known = codec::registered();
        w.u32(known.len() as u32);
        for codec in known {
            w.u64(image::offset_of(codec));
        }
        w.u32(names.list.len() as u32);
        for name in &names.list {
            w.str(name);
        }
        w.u32(table.entries.len() as u32);
        for (codec, blob) in &table.entries {
            w.u64(image::offset_of(*codec));
            w.bytes(blob);
        }
        w.u32(part.tasks.len() as u32);
        w.raw(&nodes.buf);
        w.u32(part.outputs.len() as u32);
        for &t in &part.outputs {
            let codec = self.placement.out_codec[t as usize]
                .ok_or_else(|| internal("a cluster result has no codec"))?;
            w.u32(local_of[t as usize]);
            w.u64(image::offset_of(codec));
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

    /// Task `t` of partition `p`: its name, op and inputs (each from this partition, from
    /// another one, or a value of the payload's table).
    fn write_node(
        &self,
        out: &mut Payload,
        p: u32,
        t: u32,
        values: &[Option<AnyValue>],
        local_of: &[u32],
    ) -> Result<(), Error> {
        let node = self.plan.task(t);
        let op = self.placement.ops[t as usize].ok_or_else(|| internal("not a cluster task"))?;
        // No key: a partition's nodes are distinct already; the worker numbers them.
        out.nodes.u32(out.names.index(node.name()));
        out.nodes.u64(image::offset_of(op));
        out.nodes.u32(node.inputs().len() as u32);
        let sources = self.plan.sources_of(t);
        for (i, (&s, input)) in sources.iter().zip(node.inputs()).enumerate() {
            // A value from this process: the codec the op knows for the input, else the
            // one of the value's own type.
            let known = self.placement.out_codec.get(s as usize).copied().flatten();
            let encode = |value: &AnyValue, known: Option<&'static Codec>| {
                let codec = (op.input)(i)
                    .or(known)
                    .or_else(|| codec::of_type((**value).type_id()));
                encode_input(node, i, value, codec)
            };
            if s == CONST {
                let Input::Const(value) = input else {
                    return Err(internal("a constant input is a node"));
                };
                out.nodes.u8(IN_TABLE);
                let slot = out.table.push(encode(value, None)?);
                out.nodes.u32(slot);
            } else if self.part[s as usize] == p {
                out.nodes.u8(IN_LOCAL);
                out.nodes.u32(local_of[s as usize]);
            } else if self.part[s as usize] != NONE {
                let q = self.part[s as usize];
                let dep = out.deps.iter().position(|&d| d == q).unwrap_or_else(|| {
                    out.deps.push(q);
                    out.deps.len() - 1
                });
                let codec = known.ok_or_else(|| internal("a cluster result has no codec"))?;
                out.nodes.u8(IN_DEP);
                out.nodes.u32(dep as u32);
                out.nodes.u32(self.out_index[s as usize]);
                out.nodes.u64(image::offset_of(codec));
            } else {
                let slot = match out.table.slot_of(s) {
                    Some(slot) => slot,
                    None => {
                        let value = values[s as usize]
                            .as_ref()
                            .ok_or_else(|| internal("a driver value is missing"))?;
                        let slot = out.table.push(encode(value, known)?);
                        out.table.remember(s, slot);
                        slot
                    }
                };
                out.nodes.u8(IN_TABLE);
                out.nodes.u32(slot);
            }
        }
        Ok(())
    }

    /// The error a failed partition reported, as the local scheduler would give it.
    fn task_error(&self, blob: &[u8], parts: &[Part]) -> Error {
        match super::task::read_failure(blob) {
            Ok(failure) => {
                // The worker numbered the partition's nodes: (partition, index).
                let (p, i) = failure.position;
                let t = parts
                    .get(p as usize)
                    .and_then(|part| part.tasks.get(i as usize))
                    .copied();
                match t {
                    Some(t) => {
                        let needed = self.plan.dependents_of(t, Error::MAX_DEPENDENTS);
                        failure.into_error(self.plan.task(t).label(), needed)
                    }
                    None => Error::Scheduler {
                        message: "internal error (dask): a failure names no task".into(),
                    },
                }
            }
            Err(message) => Error::Scheduler {
                message: format!("dask: a task failed: {message}"),
            },
        }
    }
}

/// Input `i` of `node` as bytes, with the codec it is decoded with.
fn encode_input(
    node: &Node,
    i: usize,
    value: &AnyValue,
    codec: Option<&'static Codec>,
) -> Result<(&'static Codec, Vec<u8>), Error> {
    let codec = codec.ok_or_else(|| Error::Scheduler {
        message: format!(
            "input {i} of `{}` has a type without a codec, so it cannot be sent to the cluster: \
             derive `serde::Serialize` and `serde::Deserialize` for it",
            node.label()
        ),
    })?;
    let bytes = (codec.encode)(value).map_err(|e| Error::Scheduler {
        message: format!(
            "input {i} of `{}` ({}) does not encode: {e}",
            node.label(),
            (codec.type_name)()
        ),
    })?;
    Ok((codec, bytes))
}

/// A partition's payload while its nodes are written.
#[derive(Default)]
struct Payload {
    table: Table,
    names: Names,
    /// The partitions it reads from, in the order its inputs name them.
    deps: Vec<u32>,
    nodes: Writer,
}

/// The display names of a partition's nodes, each written once.
#[derive(Default)]
struct Names {
    list: Vec<&'static str>,
    index: HashMap<*const u8, u32>,
}

impl Names {
    /// The index of `name` (names are interned: one address per name).
    fn index(&mut self, name: &'static str) -> u32 {
        *self.index.entry(name.as_ptr()).or_insert_with(|| {
            self.list.push(name);
            self.list.len() as u32 - 1
        })
    }
}

/// The values a partition carries in its payload, each once, with its codec.
#[derive(Default)]
struct Table {
    entries: Vec<(&'static Codec, Vec<u8>)>,
    /// The slot of each driver value already in the table, by task.
    of_task: HashMap<u32, u32>,
}

impl Table {
    fn push(&mut self, entry: (&'static Codec, Vec<u8>)) -> u32 {
        self.entries.push(entry);
        self.entries.len() as u32 - 1
    }

    fn slot_of(&self, t: u32) -> Option<u32> {
        self.of_task.get(&t).copied()
    }

    fn remember(&mut self, t: u32, slot: u32) {
        self.of_task.insert(t, slot);
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
