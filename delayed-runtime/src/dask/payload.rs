//! A partition's payload: the bytes a worker's runtime builds the partition's nodes from
//! (`task.rs` reads them), and the driver values sent to the cluster once for many
//! partitions.
//!
//! A payload names code by offset in the executable (`image.rs`): each node's op, each
//! value's codec. A node's input is a node of the same partition, a result of another
//! partition (a dask dependency), or a value of the payload's own table. A driver value
//! read by several partitions and larger than [`SHARE_MIN`] bytes is *scattered*: sent
//! once as a dask key of its own, read like another partition's result, so dask moves it
//! to each worker once instead of in every payload.

use std::collections::HashMap;

use super::image;
use super::layout::{Layout, NONE};
use super::place::Placement;
use super::wire::{Reader, Writer};
use crate::codec::{self, Codec};
use crate::erased::AnyValue;
use crate::error::Error;
use crate::graph::node::{Input, Node};
use crate::plan::{Plan, CONST};

/// The payload format's first bytes.
pub(crate) const MAGIC: &[u8; 4] = b"DLP4";

/// Bits of a payload's flags byte: the driver wants each task's times (a trace or a
/// report), the count of tasks done while it runs (a progress bar).
pub(crate) const FLAG_EVENTS: u8 = 1;
pub(crate) const FLAG_PROGRESS: u8 = 2;

/// Tags of a partition node's inputs.
pub(crate) const IN_LOCAL: u8 = 0;
pub(crate) const IN_TABLE: u8 = 1;
pub(crate) const IN_DEP: u8 = 2;

/// The size from which a driver value read by several partitions is scattered once
/// rather than copied into each payload.
pub(super) const SHARE_MIN: usize = 4096;

pub(super) fn internal(what: &str) -> Error {
    Error::Scheduler {
        message: format!("internal error (dask): {what}"),
    }
}

/// How a driver value went to the cluster.
#[derive(Clone)]
enum Sent {
    /// In the table of each payload that reads it.
    Inline,
    /// Scattered under this dask key; its blob is a partition result of one value.
    Scattered(String, &'static Codec),
}

/// Writes the partitions' payloads of one compute.
pub(super) struct Payloads<'a, 'p, 'g> {
    pub(super) plan: &'p Plan<'g>,
    pub(super) placement: &'a Placement,
    pub(super) layout: &'a Layout,
    sent: Vec<Option<Sent>>,
    /// Each task's index in the partition being written.
    local_of: Vec<u32>,
    /// Scattered values not yet handed to dask: key and blob.
    pub(super) scatter: Vec<(String, Vec<u8>)>,
    /// Ask the workers for each task's times (a trace or a report is on).
    pub(super) events: bool,
    /// Ask the workers for the count of tasks done while they run (a progress bar).
    pub(super) progress: bool,
}

impl<'a, 'p, 'g> Payloads<'a, 'p, 'g> {
    pub(super) fn new(
        plan: &'p Plan<'g>,
        placement: &'a Placement,
        layout: &'a Layout,
    ) -> Payloads<'a, 'p, 'g> {
        Payloads {
            plan,
            placement,
            layout,
            sent: vec![None; plan.len()],
            local_of: vec![NONE; plan.len()],
            scatter: Vec::new(),
            events: false,
            progress: false,
        }
    }

    /// Partition `p`'s payload, and the dask keys it reads (partitions and scattered
    /// values), in the order its inputs name them. Reads the driver values in `values`.
    pub(super) fn write(
        &mut self,
        p: u32,
        values: &[Option<AnyValue>],
    ) -> Result<(Vec<u8>, Vec<String>), Error> {
        let parts = &self.layout.parts;
        let part = &parts[p as usize];
        let mut out = Payload::default();
        for (i, &t) in part.tasks.iter().enumerate() {
            self.local_of[t as usize] = i as u32;
        }
        for &t in &part.tasks {
            self.write_node(&mut out, p, t, values)?;
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
        w.u8((FLAG_EVENTS * u8::from(self.events)) | (FLAG_PROGRESS * u8::from(self.progress)));
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
            w.u32(self.local_of[t as usize]);
            w.u64(image::offset_of(codec));
        }
        for &t in &part.tasks {
            self.local_of[t as usize] = NONE;
        }
        Ok((w.buf, deps))
    }

    /// Task `t` of partition `p`: its name, op and inputs.
    fn write_node(
        &mut self,
        out: &mut Payload,
        p: u32,
        t: u32,
        values: &[Option<AnyValue>],
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
            let q = if s == CONST {
                NONE
            } else {
                self.layout.part[s as usize]
            };
            if s == CONST {
                let Input::Const(value) = input else {
                    return Err(internal("a constant input is a node"));
                };
                out.nodes.u8(IN_TABLE);
                let slot = out.table.push(encode(value, None)?);
                out.nodes.u32(slot);
            } else if q == p {
                out.nodes.u8(IN_LOCAL);
                out.nodes.u32(self.local_of[s as usize]);
            } else if q != NONE {
                let codec = known.ok_or_else(|| internal("a cluster result has no codec"))?;
                let dep = out.dep(&self.layout.parts[q as usize].key);
                out.nodes.u8(IN_DEP);
                out.nodes.u32(dep);
                out.nodes.u32(self.layout.out_index[s as usize]);
                out.nodes.u64(image::offset_of(codec));
            } else if let Some(slot) = out.table.slot_of(s) {
                out.nodes.u8(IN_TABLE);
                out.nodes.u32(slot);
            } else {
                let value = values[s as usize]
                    .as_ref()
                    .ok_or_else(|| internal("a driver value is missing"))?;
                if self.sent[s as usize].is_none() {
                    let (codec, bytes) = encode(value, known)?;
                    self.sent[s as usize] = Some(self.send(s, codec, bytes, &mut out.table));
                }
                match self.sent[s as usize].clone() {
                    Some(Sent::Scattered(key, codec)) => {
                        let dep = out.dep(&key);
                        out.nodes.u8(IN_DEP);
                        out.nodes.u32(dep);
                        out.nodes.u32(0);
                        out.nodes.u64(image::offset_of(codec));
                    }
                    _ => {
                        let slot = match out.table.slot_of(s) {
                            Some(slot) => slot,
                            None => out.table.push(encode(value, known)?),
                        };
                        out.table.remember(s, slot);
                        out.nodes.u8(IN_TABLE);
                        out.nodes.u32(slot);
                    }
                }
            }
        }
        Ok(())
    }

    /// How driver value `s`, first encoded as `bytes`, goes to the cluster: scattered when
    /// it is shared and large, else inline (then the first payload's table gets `bytes`).
    fn send(&mut self, s: u32, codec: &'static Codec, bytes: Vec<u8>, table: &mut Table) -> Sent {
        if !self.layout.shared[s as usize] || bytes.len() < SHARE_MIN {
            let slot = table.push((codec, bytes));
            table.remember(s, slot);
            return Sent::Inline;
        }
        let key = format!("data-{}", &self.plan.task(s).key().to_hex()[..32]);
        let mut blob = Writer::default();
        blob.u8(0);
        blob.u32(1);
        blob.bytes(&bytes);
        self.scatter.push((key.clone(), blob.buf));
        Sent::Scattered(key, codec)
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
    /// The dask keys it reads, in the order its inputs name them.
    deps: Vec<String>,
    nodes: Writer,
}

impl Payload {
    /// The index of dask key `key` among the payload's dependencies.
    fn dep(&mut self, key: &str) -> u32 {
        let at = self.deps.iter().position(|d| d == key).unwrap_or_else(|| {
            self.deps.push(key.to_string());
            self.deps.len() - 1
        });
        at as u32
    }
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
