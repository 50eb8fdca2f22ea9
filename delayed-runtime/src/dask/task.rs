//! The worker side of a partition: this binary, started by a dask task with
//! `DELAYED_WORKER_TASK` set, reads the partition and its inputs on stdin, runs it on the
//! local scheduler, and writes the values others read (or the failure) to the file named
//! by `DELAYED_WORKER_OUT`.
//!
//! The result blob is `0u8`, a `u32` count and each value as length-prefixed postcard
//! bytes; or `1u8`, the failure's kind (`0` failed, `1` panicked), the task's label, the
//! message, the task's key and the panic's location (empty if none); or `2u8` and a
//! message when the partition could not run.

use std::borrow::Cow;
use std::io::Read;
use std::sync::Arc;

use super::exec::{read_outputs, IN_DEP, IN_LOCAL, IN_TABLE, MAGIC};
use super::wire::{malformed, Reader, Writer};
use crate::error::Error;
use crate::executor::local::{OnCaller, OwnPool};
use crate::executor::{Ctx, Executor};
use crate::graph::names::intern;
use crate::graph::node::{Body, Input, InputList, Node, Scope};
use crate::key::{Key, KeyHasher};
use crate::plan::Plan;

/// Set (to anything) in the environment of a task process.
pub(crate) const TASK_ENV: &str = "DELAYED_WORKER_TASK";
const OUT_ENV: &str = "DELAYED_WORKER_OUT";
const THREADS_ENV: &str = "DELAYED_WORKER_THREADS";

/// Whether this process was started to run a partition.
pub(crate) fn is_task() -> bool {
    std::env::var_os(TASK_ENV).is_some()
}

/// Runs the partition on stdin and writes its result; the process's exit code.
pub(crate) fn main() -> i32 {
    let Some(out) = std::env::var_os(OUT_ENV) else {
        eprintln!("delayed: {TASK_ENV} is set but {OUT_ENV} is not");
        return 2;
    };
    let threads = std::env::var(THREADS_ENV)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let mut input = Vec::new();
    let blob = match std::io::stdin().read_to_end(&mut input) {
        Ok(_) => run_partition(&input, threads),
        Err(e) => infra(&format!("reading the partition: {e}")),
    };
    match std::fs::write(&out, blob) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("delayed: cannot write the task result: {e}");
            2
        }
    }
}

fn infra(message: &str) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(2);
    w.str(message);
    w.buf
}

/// Splits stdin into the payload and the dependencies' blobs.
fn parts(input: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut r = Reader::new(input);
    let count = r.u32()?;
    (0..count)
        .map(|_| {
            let len = usize::try_from(r.u64()?).map_err(|_| malformed())?;
            r.raw(len)
        })
        .collect()
}

fn run_partition(input: &[u8], threads: usize) -> Vec<u8> {
    let built = parts(input).and_then(|parts| build(&parts));
    let (nodes, outputs) = match built {
        Ok(built) => built,
        Err(message) => return infra(&message),
    };
    let roots: Vec<&Arc<Node>> = outputs.iter().map(|&i| &nodes[i]).collect();
    // The local executor directly: a partition is planned already, uncached, unwatched.
    crate::panics::install();
    let plan = Plan::new(&roots);
    let ran = if threads == 1 {
        OnCaller.run(&plan, &Ctx::default())
    } else {
        OwnPool::new(threads).run(&plan, &Ctx::default())
    };
    match ran {
        Ok(values) => {
            let mut w = Writer::default();
            w.u8(0);
            w.u32(values.len() as u32);
            for (node, value) in roots.iter().zip(&values) {
                let encoded = node
                    .remote()
                    .and_then(|op| (op.output)())
                    .ok_or_else(|| format!("`{}` has no codec", node.label()))
                    .and_then(|codec| (codec.encode)(value));
                match encoded {
                    Ok(bytes) => w.bytes(&bytes),
                    Err(e) => return infra(&format!("encoding `{}`: {e}", node.label())),
                }
            }
            w.buf
        }
        Err(error) => failure(&error, &nodes),
    }
}

fn failure(error: &Error, nodes: &[Arc<Node>]) -> Vec<u8> {
    let (kind, task, message, location) = match error {
        Error::Failed { task, source, .. } => (0u8, task, source.to_string(), None),
        Error::Panicked {
            task,
            message,
            location,
            ..
        } => (1u8, task, message.clone(), location.as_deref()),
        other => return infra(&other.to_string()),
    };
    let key = nodes
        .iter()
        .find(|n| n.label() == *task)
        .map_or(Key::from_bytes([0; 32]), |n| n.key());
    let mut w = Writer::default();
    w.u8(1);
    w.u8(kind);
    w.str(task);
    w.str(&message);
    w.raw(key.as_bytes());
    w.str(location.unwrap_or(""));
    w.buf
}

/// A task failure read back on the driver.
pub(crate) struct Failure {
    panicked: bool,
    task: String,
    message: String,
    pub(crate) key: Key,
    /// Where a panic happened (`file:line:column`), if known.
    location: Option<String>,
}

impl Failure {
    /// The error, as the local scheduler gives it, with the tasks that needed this one.
    pub(crate) fn into_error(self, dependents: (Vec<String>, usize)) -> Error {
        let error = if self.panicked {
            Error::Panicked {
                task: self.task,
                message: self.message,
                location: self.location,
                dependents: Vec::new(),
                more_dependents: 0,
            }
        } else {
            Error::Failed {
                task: self.task,
                source: self.message.into(),
                dependents: Vec::new(),
                more_dependents: 0,
            }
        };
        error.with_dependents(dependents.0, dependents.1)
    }
}

/// Reads a failure blob (status 1 or 2).
pub(crate) fn read_failure(blob: &[u8]) -> Result<Failure, String> {
    let mut r = Reader::new(blob);
    match r.u8()? {
        1 => {
            let panicked = r.u8()? == 1;
            let task = r.str()?.to_owned();
            let message = r.str()?.to_owned();
            let key = r.key()?;
            let location = Some(r.str()?.to_owned()).filter(|l| !l.is_empty());
            Ok(Failure {
                panicked,
                task,
                message,
                key,
                location,
            })
        }
        2 => Err(r.str()?.to_owned()),
        _ => Err(malformed()),
    }
}

/// The partition's nodes (in order, inputs first) and the indices of its outputs.
fn build(parts: &[&[u8]]) -> Result<(Vec<Arc<Node>>, Vec<usize>), String> {
    let (payload, deps) = parts.split_first().ok_or_else(malformed)?;
    let deps: Vec<Vec<&[u8]>> = deps
        .iter()
        .map(|blob| read_outputs(blob))
        .collect::<Result<_, _>>()?;
    let mut r = Reader::new(payload);
    if r.raw(4)? != MAGIC {
        return Err(malformed());
    }
    let table: Vec<&[u8]> = (0..r.u32()?).map(|_| r.bytes()).collect::<Result<_, _>>()?;
    let mut table_nodes: Vec<Option<Arc<Node>>> = vec![None; table.len()];
    let mut dep_nodes: std::collections::HashMap<(u32, u32), Arc<Node>> = Default::default();
    let count = r.u32()? as usize;
    let mut nodes: Vec<Arc<Node>> = Vec::with_capacity(count);
    for _ in 0..count {
        let key = r.key()?;
        let name = r.str()?.to_owned();
        let id = r.key()?;
        let op = crate::graph::remote::lookup(&id).ok_or_else(|| {
            format!("task `{name}`: no function with this id in this binary (is it the driver's build?)")
        })?;
        let arity = r.u32()? as usize;
        let mut inputs = InputList::Zero;
        for i in 0..arity {
            let codec =
                (op.input)(i).ok_or_else(|| format!("`{}`: input {i} has no codec", op.path()))?;
            let data = |bytes: &[u8], tag: u64, a: u32, b: u32| -> Result<Arc<Node>, String> {
                let value = (codec.decode)(bytes).map_err(|e| {
                    format!(
                        "input {i} of `{name}` ({}) does not decode: {e}",
                        (codec.type_name)()
                    )
                })?;
                let mut h = KeyHasher::new("delayed.dask.input");
                h.write_u64(tag);
                h.write_u64(u64::from(a));
                h.write_u64(u64::from(b));
                // Keys made up here: never cached, never compared across processes.
                let body = Body::Data(value);
                let node = Node::new(h.finish(), "input", Scope::Process, InputList::Zero, body);
                Ok(Arc::new(node))
            };
            let node = match r.u8()? {
                IN_LOCAL => nodes
                    .get(r.u32()? as usize)
                    .cloned()
                    .ok_or_else(malformed)?,
                IN_TABLE => {
                    let slot = r.u32()? as usize;
                    let bytes = *table.get(slot).ok_or_else(malformed)?;
                    match &table_nodes[slot] {
                        Some(node) => node.clone(),
                        None => {
                            let node = data(bytes, 0, slot as u32, 0)?;
                            table_nodes[slot] = Some(node.clone());
                            node
                        }
                    }
                }
                IN_DEP => {
                    let (dep, out) = (r.u32()?, r.u32()?);
                    match dep_nodes.get(&(dep, out)) {
                        Some(node) => node.clone(),
                        None => {
                            let bytes = deps
                                .get(dep as usize)
                                .and_then(|d| d.get(out as usize))
                                .ok_or_else(malformed)?;
                            let node = data(bytes, 1, dep, out)?;
                            dep_nodes.insert((dep, out), node.clone());
                            node
                        }
                    }
                }
                _ => return Err(malformed()),
            };
            inputs.push(Input::Node(node));
        }
        let body = Body::Task(Box::new(op.run));
        let name = intern(Cow::Owned(name));
        let node = Node::new(key, name, Scope::Process, inputs, body).with_remote(Some(op));
        nodes.push(Arc::new(node));
    }
    let outputs = (0..r.u32()?)
        .map(|_| {
            let i = r.u32()? as usize;
            if i < nodes.len() {
                Ok(i)
            } else {
                Err(malformed())
            }
        })
        .collect::<Result<_, _>>()?;
    if !r.is_empty() {
        return Err(malformed());
    }
    Ok((nodes, outputs))
}
