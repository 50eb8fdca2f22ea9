//! The worker side: this binary, started once per dask worker by its plugin (in
//! `driver.py`) with `DELAYED_WORKER_TASK` set, stays resident and runs the partitions
//! the worker's dask tasks hand it, each with its inputs, on one pool of the worker's
//! threads; each result (the values others read, or the failure) goes back under its
//! request's id.
//!
//! The result blob is `0u8`, a `u32` count and each value as length-prefixed postcard
//! bytes; or `1u8`, the failure's kind (`0` failed, `1` panicked), the message, the
//! task's key (its partition and index, which the driver turns back into its task) and
//! the panic's location (empty if none); or `2u8` and a message when the partition could
//! not run.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use std::collections::HashMap;

use super::image;
use super::payload::{read_outputs, FLAG_EVENTS, FLAG_PROGRESS, IN_DEP, IN_LOCAL, IN_TABLE, MAGIC};
use super::wire::{malformed, Reader, Writer};
use crate::codec::Codec;
use crate::error::Error;
use crate::executor::local::OwnPool;
use crate::executor::{Ctx, Executor};
use crate::graph::names::intern;
use crate::graph::node::{Body, Input, InputList, Node, RemoteOp, Scope};
use crate::key::Key;
use crate::plan::Plan;
use crate::watch::{Event, Recorder};

/// Set (to anything) in the environment of a worker's runtime process.
pub(crate) const TASK_ENV: &str = "DELAYED_WORKER_TASK";
/// The file descriptor the runtime writes its replies to (stdout stays the tasks').
const REPLY_FD_ENV: &str = "DELAYED_WORKER_REPLY_FD";
const THREADS_ENV: &str = "DELAYED_WORKER_THREADS";

/// Whether this process was started as a worker's runtime.
pub(crate) fn is_task() -> bool {
    std::env::var_os(TASK_ENV).is_some()
}

/// The resident runtime of one dask worker: reads partitions on stdin (each a `u64`
/// request id, a `u64` length and the partition's bytes), runs each on one pool of the
/// worker's threads as soon as it arrives (several at once), and writes each result
/// blob, under its id, to the reply descriptor. Exits when stdin closes (the worker's
/// plugin closed it, or the worker died), partitions still running or not; returns the
/// process's exit code on a broken request.
///
/// Beside the results, on the same descriptor: each partition that asked for it gets,
/// ten times a second while it runs, how many of its tasks are done (under its id with
/// [`PROGRESS`] set, 8 bytes). And before each result, stderr gets a line
/// `\0delayed-sync <id>`: what the partition's tasks wrote is before it, so the plugin,
/// which forwards this process's stderr to the driver, can send it ahead of the result.
pub(crate) fn main() -> i32 {
    let threads = std::env::var(THREADS_ENV)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let Some(fd) = std::env::var(REPLY_FD_ENV)
        .ok()
        .and_then(|s| s.parse::<i32>().ok())
    else {
        eprintln!("delayed: {TASK_ENV} is set but {REPLY_FD_ENV} is not");
        return 2;
    };
    // SAFETY: the worker's plugin passed this descriptor, a pipe's write end, to this
    // process for its replies; nothing else in the process uses it.
    let replies = Mutex::new(unsafe { std::fs::File::from_raw_fd(fd) });
    crate::panics::install();
    let pool = OwnPool::new(threads);
    let running = Running::default();
    let mut stdin = std::io::stdin().lock();
    std::thread::scope(|scope| {
        let (pool, replies, running) = (&pool, &replies, &running);
        scope.spawn(move || running.report(replies));
        let status = loop {
            let (id, input) = match read_request(&mut stdin) {
                Ok(Some(request)) => request,
                // The worker has gone (or its plugin closed): no result of a partition
                // still running can reach anyone, so they stop here, not in hours.
                Ok(None) => std::process::exit(0),
                Err(e) => {
                    eprintln!("delayed: reading a partition: {e}");
                    break 2;
                }
            };
            scope.spawn(move || {
                let (blob, costs) = run_partition(&input, pool, |done| running.add(id, done));
                running.remove(id);
                let _ = writeln!(std::io::stderr().lock(), "\0delayed-sync {id}");
                // The reply: the costs (length first), then the partition's result blob.
                let mut body = Vec::with_capacity(4 + costs.len() + blob.len());
                body.extend((costs.len() as u32).to_le_bytes());
                body.extend(costs);
                body.extend(blob);
                reply(replies, id, &body);
            });
        };
        running.end();
        status
    })
}

/// Set in a reply's id: the body is a running partition's count of tasks done.
pub(crate) const PROGRESS: u64 = 1 << 63;

/// Writes one reply frame: its id, its length, its body.
fn reply(replies: &Mutex<std::fs::File>, id: u64, body: &[u8]) {
    let mut frame = Vec::with_capacity(16 + body.len());
    frame.extend(id.to_le_bytes());
    frame.extend((body.len() as u64).to_le_bytes());
    frame.extend(body);
    let mut out = replies.lock().unwrap_or_else(PoisonError::into_inner);
    match out.write_all(&frame).and_then(|()| out.flush()) {
        Ok(()) => {}
        // The worker is gone: nobody waits for this or any later result.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => eprintln!("delayed: writing a result: {e}"),
    }
}

/// The partitions running now that report their progress: each one's count of tasks
/// done, and the count last sent.
#[derive(Default)]
struct Running {
    counts: Mutex<HashMap<u64, (Arc<AtomicU64>, u64)>>,
    ended: Mutex<bool>,
    wake: std::sync::Condvar,
}

impl Running {
    fn add(&self, id: u64, done: Arc<AtomicU64>) {
        self.lock().insert(id, (done, 0));
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (Arc<AtomicU64>, u64)>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends each running partition's count when it has moved, ten times a second,
    /// until [`end`](Running::end).
    fn report(&self, replies: &Mutex<std::fs::File>) {
        loop {
            let moved: Vec<(u64, u64)> = (self.lock().iter_mut())
                .filter_map(|(&id, (done, sent))| {
                    let now = done.load(Ordering::Relaxed);
                    (now != *sent).then(|| {
                        *sent = now;
                        (id, now)
                    })
                })
                .collect();
            // Written without the `ended` lock: `end` never waits behind a full pipe.
            for (id, done) in moved {
                reply(replies, id | PROGRESS, &done.to_le_bytes());
            }
            let ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
            if *ended {
                return;
            }
            let (ended, _) = (self.wake)
                .wait_timeout(ended, std::time::Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner);
            if *ended {
                return;
            }
        }
    }

    fn end(&self) {
        *self.ended.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }
}

/// The next request, or `None` at the end of the input.
fn read_request(input: &mut impl Read) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    let mut head = [0u8; 16];
    match input.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let id = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
    let len = u64::from_le_bytes(head[8..].try_into().unwrap_or_default());
    let mut bytes = vec![0u8; usize::try_from(len).map_err(std::io::Error::other)?];
    input.read_exact(&mut bytes)?;
    Ok(Some((id, bytes)))
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

/// Runs one partition: its result blob, and what its functions cost (see [`costs`]).
/// If the driver wants its progress, `progress` gets the count of its tasks done.
fn run_partition(
    input: &[u8],
    pool: &OwnPool,
    progress: impl FnOnce(Arc<AtomicU64>),
) -> (Vec<u8>, Vec<u8>) {
    let built = parts(input).and_then(|parts| build(&parts));
    let Partition {
        nodes,
        outputs,
        events,
        counted,
    } = match built {
        Ok(built) => built,
        Err(message) => return (infra(&message), Vec::new()),
    };
    let roots: Vec<&Arc<Node>> = outputs.iter().map(|&(i, _)| &nodes[i]).collect();
    // The local executor directly (a partition is planned already, uncached), timed: every
    // task when the driver wants their times or the partition is small, else one in 16
    // (what each function costs, for the driver's cut and report).
    let plan = Plan::new(&roots);
    let every = if events || plan.len() < 4096 { 1 } else { 16 };
    let mut recorder = Recorder::sampling(pool.workers(), pool.pooled(), every);
    if counted {
        let done = Arc::new(AtomicU64::new(0));
        progress(done.clone());
        recorder = recorder.counting(done);
    }
    let epoch = recorder.epoch_unix_ns();
    let ctx = Ctx {
        recorder: Some(&recorder),
        ..Ctx::default()
    };
    let ran = pool.run(&plan, &ctx);
    let (costs, times) = recorder.sampled_costs(&plan, events);
    let costs = costs_blob(&costs);
    let blob = match ran {
        Ok(values) => {
            let mut w = Writer::default();
            w.u8(0);
            w.u32(values.len() as u32);
            for ((node, value), &(_, codec)) in roots.iter().zip(&values).zip(&outputs) {
                match (codec.encode)(value) {
                    Ok(bytes) => w.bytes(&bytes),
                    Err(e) => return (infra(&format!("encoding `{}`: {e}", node.label())), costs),
                }
            }
            if events {
                write_times(&mut w, &plan, epoch, &times);
            }
            w.buf
        }
        Err(error) => failure(&error, &nodes),
    };
    (blob, costs)
}

/// After a result blob's values: this runtime's pid, then each task's position in the
/// partition, thread, start (ns since the Unix epoch) and duration.
fn write_times(w: &mut Writer, plan: &Plan<'_>, epoch: u64, times: &[Event]) {
    w.u32(std::process::id());
    w.u32(times.len() as u32);
    for e in times {
        w.u32(position_of(&plan.task(e.task).key()).1);
        w.u32(e.tid);
        w.u64(epoch.saturating_add(e.start_ns));
        w.u64(e.dur_ns);
    }
}

/// The times [`write_times`] wrote after the values of `blob`, if any: the runtime's pid
/// and, per task, its position, thread, start (Unix ns) and duration.
pub(crate) type Times = (u32, Vec<(u32, u32, u64, u64)>);

pub(crate) fn read_times(blob: &[u8]) -> Result<Option<Times>, String> {
    let mut r = Reader::new(blob);
    if r.u8()? != 0 {
        return Ok(None);
    }
    for _ in 0..r.u32()? {
        r.bytes()?;
    }
    if r.is_empty() {
        return Ok(None);
    }
    let pid = r.u32()?;
    let times = (0..r.u32()?)
        .map(|_| Ok((r.u32()?, r.u32()?, r.u64()?, r.u64()?)))
        .collect::<Result<_, String>>()?;
    Ok(Some((pid, times)))
}

/// Each function's calls and total time in a partition: `u32` count, then name, calls
/// (`u32`) and nanoseconds (`u64`) each.
fn costs_blob(functions: &[(&str, u32, u64)]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(functions.len() as u32);
    for &(name, calls, ns) in functions {
        w.str(name);
        w.u32(calls);
        w.u64(ns);
    }
    w.buf
}

/// The costs [`costs`] wrote: name, calls, nanoseconds.
pub(crate) fn read_costs(bytes: &[u8]) -> Result<Vec<(&str, u32, u64)>, String> {
    let mut r = Reader::new(bytes);
    let count = r.u32()?;
    (0..count)
        .map(|_| Ok((r.str()?, r.u32()?, r.u64()?)))
        .collect()
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
    w.str(&message);
    w.raw(key.as_bytes());
    w.str(location.unwrap_or(""));
    w.buf
}

/// A task failure read back on the driver.
pub(crate) struct Failure {
    panicked: bool,
    message: String,
    /// The failed task's (partition, index).
    pub(crate) position: (u32, u32),
    /// Where a panic happened (`file:line:column`), if known.
    location: Option<String>,
}

impl Failure {
    /// The error, as the local scheduler gives it, with the tasks that needed this one.
    pub(crate) fn into_error(self, task: String, dependents: (Vec<String>, usize)) -> Error {
        let error = if self.panicked {
            Error::Panicked {
                task,
                message: self.message,
                location: self.location,
                dependents: Vec::new(),
                more_dependents: 0,
            }
        } else {
            Error::Failed {
                task,
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
            let message = r.str()?.to_owned();
            let position = position_of(&r.key()?);
            let location = Some(r.str()?.to_owned()).filter(|l| !l.is_empty());
            Ok(Failure {
                panicked,
                message,
                position,
                location,
            })
        }
        2 => Err(r.str()?.to_owned()),
        _ => Err(malformed()),
    }
}

/// A partition read back: its nodes (in order, inputs first), and the index and codec
/// of each output.
struct Partition {
    nodes: Vec<Arc<Node>>,
    outputs: Vec<(usize, &'static Codec)>,
    /// The driver wants each task's times (a trace or a report).
    events: bool,
    /// The driver wants the count of tasks done while it runs (a progress bar).
    counted: bool,
}

/// The partition's nodes and outputs, from its payload and its dependencies' blobs.
fn build(parts: &[&[u8]]) -> Result<Partition, String> {
    let (payload, deps) = parts.split_first().ok_or_else(malformed)?;
    let deps: Vec<Vec<&[u8]>> = deps
        .iter()
        .map(|blob| read_outputs(blob))
        .collect::<Result<_, _>>()?;
    let mut r = Reader::new(payload);
    if r.raw(4)? != MAGIC {
        return Err(malformed());
    }
    if r.u64()? != image::canary() {
        return Err(
            "the partition comes from another build of this program (its layout differs): \
             run the driver's binary on every worker"
                .into(),
        );
    }
    let partition = r.u32()?;
    let flags = r.u8()?;
    let (events, counted) = (flags & FLAG_EVENTS != 0, flags & FLAG_PROGRESS != 0);
    for _ in 0..r.u32()? {
        crate::codec::register(codec_at(r.u64()?));
    }
    let names: Vec<&'static str> = (0..r.u32()?)
        .map(|_| Ok(intern(Cow::Owned(r.str()?.to_owned()))))
        .collect::<Result<_, String>>()?;
    let mut inputs = InputReader {
        table: (0..r.u32()?)
            .map(|_| Ok((codec_at(r.u64()?), r.bytes()?)))
            .collect::<Result<_, String>>()?,
        table_nodes: Vec::new(),
        deps,
        dep_nodes: HashMap::new(),
    };
    inputs.table_nodes = vec![None; inputs.table.len()];
    let count = r.u32()? as usize;
    let mut nodes: Vec<Arc<Node>> = Vec::with_capacity(count);
    for index in 0..count as u32 {
        let key = position_key(partition, index);
        let name = *names.get(r.u32()? as usize).ok_or_else(malformed)?;
        // SAFETY: the canary matched: the driver is this build, and the offset is of one
        // of its ops (`offset_of` in `exec.rs`).
        let op: &'static RemoteOp = unsafe { image::at_offset(r.u64()?) };
        let mut list = InputList::Zero;
        for i in 0..r.u32()? {
            list.push(Input::Node(inputs.read(&mut r, &nodes, name, i)?));
        }
        let body = Body::Task(Box::new(op.run));
        let node = Node::new(key, name, Scope::Process, list, body).with_remote(Some(op));
        nodes.push(Arc::new(node));
    }
    let outputs = (0..r.u32()?)
        .map(|_| {
            let i = r.u32()? as usize;
            let codec = codec_at(r.u64()?);
            if i < nodes.len() {
                Ok((i, codec))
            } else {
                Err(malformed())
            }
        })
        .collect::<Result<_, _>>()?;
    if !r.is_empty() {
        return Err(malformed());
    }
    Ok(Partition {
        nodes,
        outputs,
        events,
        counted,
    })
}

/// The key of node `index` of partition `partition`: made up here (the driver sends
/// none), distinct within the partition, and telling the driver which task failed. Its
/// first bytes are a mix of the two (the planner hashes keys by their first bits); the
/// two themselves follow.
fn position_key(partition: u32, index: u32) -> Key {
    let position = (u64::from(partition) << 32) | u64::from(index);
    tagged_key(position, [0; 8], *b"dlpartnd")
}

/// A key of `position` (a mix of it first, for the planner, then it whole) with two tags:
/// distinct positions or tags give distinct keys.
fn tagged_key(position: u64, kind: [u8; 8], tag: [u8; 8]) -> Key {
    // splitmix64's finalizer: a bijection, so distinct positions keep distinct keys.
    let mut mixed = position.wrapping_add(0x9e37_79b9_7f4a_7c15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^= mixed >> 31;
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&mixed.to_le_bytes());
    bytes[8..16].copy_from_slice(&position.to_le_bytes());
    bytes[16..24].copy_from_slice(&tag);
    bytes[24..32].copy_from_slice(&kind);
    Key::from_bytes(bytes)
}

/// The key of an input read from the payload at `origin` (kind, then two indexes): as
/// [`position_key`], a mix first and the origin itself after, with another tag, so it is
/// distinct from every other key of the partition without hashing (a partition gathering
/// millions of results makes millions of these).
fn input_key((kind, a, b): (u64, u32, u32)) -> Key {
    let position = (u64::from(a) << 32) | u64::from(b);
    tagged_key(position, kind.to_le_bytes(), *b"dlinput.")
}

/// The (partition, index) of a key made by [`position_key`].
fn position_of(key: &Key) -> (u32, u32) {
    let b = key.as_bytes();
    let position = u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
    ((position >> 32) as u32, position as u32)
}

/// The codec at `offset` (read after the canary matched).
fn codec_at(offset: u64) -> &'static Codec {
    // SAFETY: the payload's canary matched this build's, and the driver wrote the offset
    // of a codec (`offset_of` in `exec.rs`).
    unsafe { image::at_offset(offset) }
}

/// The inputs of a partition's nodes that come from outside it: values in its payload
/// and results of the partitions it depends on, each decoded once.
struct InputReader<'a> {
    table: Vec<(&'static Codec, &'a [u8])>,
    table_nodes: Vec<Option<Arc<Node>>>,
    deps: Vec<Vec<&'a [u8]>>,
    dep_nodes: HashMap<(u32, u32), Arc<Node>>,
}

impl InputReader<'_> {
    /// Input `i` of node `name`, read from the payload.
    fn read(
        &mut self,
        r: &mut Reader<'_>,
        nodes: &[Arc<Node>],
        name: &str,
        i: u32,
    ) -> Result<Arc<Node>, String> {
        match r.u8()? {
            IN_LOCAL => nodes.get(r.u32()? as usize).cloned().ok_or_else(malformed),
            IN_TABLE => {
                let slot = r.u32()? as usize;
                let (codec, bytes) = *self.table.get(slot).ok_or_else(malformed)?;
                if let Some(node) = &self.table_nodes[slot] {
                    return Ok(node.clone());
                }
                let node = data(codec, bytes, name, i, (0, slot as u32, 0))?;
                self.table_nodes[slot] = Some(node.clone());
                Ok(node)
            }
            IN_DEP => {
                let (dep, out, codec) = (r.u32()?, r.u32()?, codec_at(r.u64()?));
                if let Some(node) = self.dep_nodes.get(&(dep, out)) {
                    return Ok(node.clone());
                }
                let bytes = self
                    .deps
                    .get(dep as usize)
                    .and_then(|d| d.get(out as usize))
                    .ok_or_else(malformed)?;
                let node = data(codec, bytes, name, i, (1, dep, out))?;
                self.dep_nodes.insert((dep, out), node.clone());
                Ok(node)
            }
            _ => Err(malformed()),
        }
    }
}

/// A data node of the value in `bytes`, input `i` of node `name`, keyed by where it came
/// from in the payload (`origin`).
fn data(
    codec: &'static Codec,
    bytes: &[u8],
    name: &str,
    i: u32,
    origin: (u64, u32, u32),
) -> Result<Arc<Node>, String> {
    let value = (codec.decode)(bytes).map_err(|e| {
        format!(
            "input {i} of `{name}` ({}) does not decode: {e}",
            (codec.type_name)()
        )
    })?;
    // Keys made up here: never cached, never compared across processes.
    let body = Body::data(value);
    Ok(Arc::new(Node::new(
        input_key(origin),
        "input",
        Scope::Process,
        InputList::Zero,
        body,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_keys_are_distinct_from_each_other_and_from_positions() {
        let mut keys = std::collections::HashSet::new();
        for kind in 0..2u64 {
            for a in 0..20 {
                for b in 0..50 {
                    assert!(keys.insert(input_key((kind, a, b))));
                    assert!(keys.insert(position_key(a, b)) || kind == 1);
                }
            }
        }
        assert_eq!(keys.len(), 2 * 20 * 50 + 20 * 50);
    }

    #[test]
    fn position_keys_spread_and_come_back() {
        let keys: Vec<Key> = (0..1000).map(|i| position_key(3, i)).collect();
        let low: std::collections::HashSet<u32> =
            keys.iter().map(|k| k.prefix64() as u32).collect();
        assert!(
            low.len() > 990,
            "the planner's hash bits collide: {}",
            low.len()
        );
        assert_eq!(position_of(&keys[17]), (3, 17));
        assert_eq!(position_of(&position_key(u32::MAX, 5)), (u32::MAX, 5));
    }
}
