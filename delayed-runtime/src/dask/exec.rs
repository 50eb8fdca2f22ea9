//! A compute on a dask cluster, as a flow between this process and the cluster: no phase
//! waits for another.
//!
//! **Which node runs where** (`place.rs`). A task runs on the cluster when its body is
//! code without captures (a [`RemoteOp`](crate::graph::node::RemoteOp): every
//! `#[delayed]` fn, generic or not, method, `map` and `delay!` of a closure without
//! captures or of a fn, operator, `get`, `unpack`, `collect`) and the values it reads and
//! makes have codecs (serde types). The others (closures with captures, values without
//! serde, cache hits) run on the driver, in this process, on the local executor. Values
//! cross between the two only where a driver node feeds a cluster node or the other way
//! round, and the cluster side of such an edge always has a codec, so every graph runs,
//! unless the scheduler is strict: then a graph with driver tasks is refused before
//! anything is submitted.
//!
//! **The flow.** The plan is cut into partitions (`layout.rs`), each one dask task. Then,
//! until everything has run: every partition whose driver inputs exist is submitted (dask
//! orders the partitions among themselves), every driver task whose inputs are here runs
//! (a *wave* on the local executor, while the cluster works), and the driver waits
//! for partitions to finish: each finished partition's tasks count as done, and the
//! results the driver needs (roots, inputs of driver tasks, what the cache stores) are
//! gathered from it, once. A cancelled job stops at the next step (within a wait's
//! tenth of a second); its futures are released, so dask drops what has not started.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::layout::{Layout, Part, NONE};
use super::payload::{internal, read_outputs, Payloads};
use super::place::Placement;
use super::wire::{count, text};
use super::Inner;
use crate::erased::AnyValue;
use crate::error::Error;
use crate::executor::local::GlobalPool;
use crate::executor::{Ctx, Executor, Sink};
use crate::graph::node::{Body, InputList, Node};
use crate::plan::{renumbered, Dependents, Plan, CONST};
use crate::watch::Recorder;

/// How long one wait for finished partitions lasts at most, in milliseconds (a cancel
/// is seen within it).
const WAIT_MS: &str = "100";

/// A task of the wave being run (in the scratch numbering).
const IN_WAVE: u32 = NONE - 1;

impl Executor for Inner {
    /// Runs `plan` on the cluster (and its driver-side nodes here), watched: a progress
    /// bar moves as the workers report their tasks done; a trace or a report gets each
    /// task's time on its worker when its partition has finished.
    fn run(&self, plan: &Plan<'_>, ctx: &Ctx<'_>) -> Result<Vec<AnyValue>, Error> {
        let placement = Placement::of(plan);
        if ctx.strict {
            placement.refuse_local(plan)?;
        }
        let costs = self.mean_costs();
        // The cluster's size now: workers that joined since the last compute get work.
        let threads = match placement.ops.iter().any(Option::is_some) {
            true => self.refresh_threads()?,
            false => self.threads(),
        };
        let layout = Layout::of(plan, &placement.ops, 4 * threads.max(1), &costs, ctx);
        let mut flow = Flow::new(self, plan, ctx, &placement, &layout);
        if let Some(path) = ctx.performance_report {
            if let Err(e) = flow.start_report(path) {
                let _ = flow.release(); // the session the driver opened for it
                return Err(e);
            }
        }
        let outcome = flow.run();
        if flow.running + flow.finished > 0 || ctx.performance_report.is_some() {
            // Forget this compute's futures, so dask frees their results and drops the
            // tasks not started (after an error or a cancel); write dask's report.
            let released = flow.release();
            if outcome.is_ok() {
                released?;
            }
        }
        outcome?;
        plan.roots()
            .iter()
            .map(|&r| {
                flow.values[r as usize]
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

    /// dask's own `performance_report`, written by the driver.
    fn writes_performance_report(&self) -> bool {
        true
    }
}

/// One compute's state between the driver and the cluster.
struct Flow<'a, 'p, 'g> {
    cluster: &'a Inner,
    session: String,
    plan: &'p Plan<'g>,
    ctx: &'a Ctx<'a>,
    layout: &'a Layout,
    payloads: Payloads<'a, 'p, 'g>,
    /// The values the driver holds: driver results others read, results gathered.
    values: Vec<Option<AnyValue>>,
    /// Whether each task's value is here (a driver task has run, a result came back).
    here: Vec<bool>,
    /// The driver's tasks not run yet, in plan order.
    driver_left: Vec<u32>,
    /// Who reads each task, computed the first time a wave leaves driver tasks behind.
    readers: Option<Dependents>,
    submitted: Vec<bool>,
    /// Partitions before this one are all submitted.
    first_unsubmitted: usize,
    running: usize,
    finished: usize,
    /// Finished partitions whose costs came in.
    costed: usize,
    /// How far each running partition's progress has moved the bar.
    progressed: Vec<u32>,
    part_of_key: HashMap<String, u32>,
    scratch: Vec<u32>,
}

impl<'a, 'p, 'g> Flow<'a, 'p, 'g> {
    fn new(
        cluster: &'a Inner,
        plan: &'p Plan<'g>,
        ctx: &'a Ctx<'a>,
        placement: &'a Placement,
        layout: &'a Layout,
    ) -> Flow<'a, 'p, 'g> {
        let n = plan.len();
        let parts = &layout.parts;
        let mut payloads = Payloads::new(plan, placement, layout);
        payloads.events = ctx.recorder.is_some_and(|r| r.timed());
        payloads.progress = ctx.recorder.is_some_and(|r| r.counts());
        Flow {
            cluster,
            session: cluster.session(),
            plan,
            ctx,
            layout,
            payloads,
            values: vec![None; n],
            here: vec![false; n],
            driver_left: (0..n as u32)
                .filter(|&t| layout.part[t as usize] == NONE)
                .collect(),
            readers: None,
            submitted: vec![false; parts.len()],
            first_unsubmitted: 0,
            running: 0,
            finished: 0,
            costed: 0,
            progressed: vec![0; parts.len()],
            part_of_key: (parts.iter().enumerate())
                .map(|(p, part)| (part.key.clone(), p as u32))
                .collect(),
            scratch: vec![NONE; n],
        }
    }

    /// Starts dask's `performance_report` for this compute (written at its release).
    fn start_report(&self, path: &std::path::Path) -> Result<(), Error> {
        let roots = self.plan.roots();
        let what = match roots.first() {
            Some(&r) if roots.len() == 1 => format!("`{}`", self.plan.task(r).label()),
            _ => format!("{} roots", roots.len()),
        };
        let code = format!(
            "delayed: a compute of {what}, {} tasks in {} partitions",
            self.plan.len(),
            self.layout.parts.len()
        );
        let report_error = |message: String| Error::Report {
            path: path.to_owned(),
            source: std::io::Error::other(message),
        };
        // Absolute: the driver's working directory need not be this program's.
        let path = std::path::absolute(path).map_err(|e| report_error(e.to_string()))?;
        let path_text = path
            .to_str()
            .ok_or_else(|| report_error("the path is not UTF-8".into()))?;
        let reply = self.cluster.exchange(&[
            b"report",
            self.session.as_bytes(),
            path_text.as_bytes(),
            code.as_bytes(),
        ])?;
        match reply.first().map(Vec::as_slice) {
            Some(b"ok") => Ok(()),
            _ => Err(report_error(format!("dask: {}", text(&reply, 1)))),
        }
    }

    /// Releases this compute's futures on the cluster, and writes dask's performance
    /// report if one was started.
    fn release(&self) -> Result<(), Error> {
        let reply = (self.cluster).exchange(&[b"release", self.session.as_bytes()])?;
        match reply.first().map(Vec::as_slice) {
            Some(b"ok") => Ok(()),
            Some(b"report") => Err(Error::Report {
                path: self
                    .ctx
                    .performance_report
                    .map(Path::to_owned)
                    .unwrap_or_default(),
                source: std::io::Error::other(format!("dask: {}", text(&reply, 1))),
            }),
            _ => Err(Error::Scheduler {
                message: format!("dask: {}", text(&reply, 1)),
            }),
        }
    }

    /// Submits, runs here and waits until every task has run.
    fn run(&mut self) -> Result<(), Error> {
        loop {
            if self.ctx.stopped() {
                return Err(Error::Cancelled {});
            }
            self.submit_ready()?;
            let ran = self.run_wave()?;
            if self.driver_left.is_empty() && self.finished == self.layout.parts.len() {
                return self.late_costs();
            }
            if ran {
                continue; // its values may let more partitions go
            }
            if self.running == 0 {
                return Err(internal("nothing runs and nothing is ready"));
            }
            self.wait()?;
        }
    }

    /// Submits every partition whose driver inputs are here (and the large driver values
    /// they share, once), each as soon as its payload is written: the cluster starts on
    /// the first while the next is written.
    fn submit_ready(&mut self) -> Result<(), Error> {
        let parts = &self.layout.parts;
        for (p, part) in parts.iter().enumerate().skip(self.first_unsubmitted) {
            let ready = !self.submitted[p]
                && part.needs.iter().all(|&s| self.here[s as usize])
                && part.after.iter().all(|&q| self.submitted[q as usize]);
            if ready {
                let (payload, deps) = self.payloads.write(p as u32, &self.values)?;
                self.submit(p as u32, &payload, &deps.join("\n"))?;
                self.submitted[p] = true;
            }
        }
        while self.submitted.get(self.first_unsubmitted) == Some(&true) {
            self.first_unsubmitted += 1;
        }
        Ok(())
    }

    /// Sends partition `p` (and the values to scatter before it) to dask.
    fn submit(&mut self, p: u32, payload: &[u8], deps: &str) -> Result<(), Error> {
        let scatter = std::mem::take(&mut self.payloads.scatter);
        let n_scatter = scatter.len().to_string();
        let key = self.layout.parts[p as usize].key.as_bytes();
        let wanted: &[u8] = if self.gathered(p) { key } else { b"" };
        let mut fields: Vec<&[u8]> = vec![b"submit", self.session.as_bytes()];
        fields.push(n_scatter.as_bytes());
        for (key, blob) in &scatter {
            fields.extend([key.as_bytes(), blob.as_slice()]);
        }
        let retries = self.ctx.retries.to_string();
        let part = &self.layout.parts[p as usize];
        let resources = (part.resources.iter())
            .map(|(name, amount)| format!("{name}={amount}"))
            .collect::<Vec<_>>()
            .join(",");
        let priority = part.priority.to_string();
        fields.extend([b"1", key, payload, deps.as_bytes(), wanted]);
        fields.extend([
            retries.as_bytes(),
            resources.as_bytes(),
            priority.as_bytes(),
        ]);
        self.cluster.request(&fields)?;
        self.running += 1;
        if let Some(recorder) = self.ctx.recorder {
            recorder.crossed(fields.iter().map(|f| f.len()).sum(), 0);
        }
        Ok(())
    }

    /// Whether partition `p` has results the driver needs (every partition does when
    /// its tasks' times are wanted: they come after its values).
    fn gathered(&self, p: u32) -> bool {
        if self.payloads.events {
            return true;
        }
        let part = &self.layout.parts[p as usize];
        part.outputs
            .iter()
            .any(|&t| self.layout.to_driver[t as usize])
    }

    /// Waits (a bounded time) for partitions to finish; takes in their results.
    fn wait(&mut self) -> Result<(), Error> {
        let reply =
            self.cluster
                .exchange(&[b"wait", self.session.as_bytes(), WAIT_MS.as_bytes()])?;
        match reply.first().map(Vec::as_slice) {
            Some(b"ok") => {}
            Some(b"failed") => {
                return Err(self.task_error(reply.get(1).map_or(&[][..], |b| b)));
            }
            Some(b"lost") => return Err(self.lost(&reply)),
            _ => {
                return Err(Error::Scheduler {
                    message: format!("dask: {}", text(&reply, 1)),
                });
            }
        }
        let finished = count(&reply, 1).ok_or_else(|| internal("a wait's reply has no count"))?;
        let (finished, rest) = reply[2..].split_at((2 * finished).min(reply.len() - 2));
        let costed =
            count(rest, 0).ok_or_else(|| internal("a wait's reply has no count of costs"))?;
        let (costs, progress) = rest[1..].split_at((2 * costed).min(rest.len() - 1));
        for pair in finished.chunks(2) {
            let [key, blob] = pair else {
                return Err(internal("a finished partition without its result"));
            };
            let p = std::str::from_utf8(key)
                .ok()
                .and_then(|k| self.part_of_key.get(k).copied())
                .ok_or_else(|| internal("dask finished a partition of another compute"))?;
            self.finished_part(p, blob)?;
        }
        self.learn(costs);
        self.progress(progress);
        Ok(())
    }

    /// Moves the progress bar by what running partitions report (key and count of tasks
    /// done each), ahead of their finishing.
    fn progress(&mut self, pairs: &[Vec<u8>]) {
        let Some(recorder) = self.ctx.recorder else {
            return;
        };
        for pair in pairs.chunks(2) {
            let [key, done] = pair else { continue };
            let p = std::str::from_utf8(key)
                .ok()
                .and_then(|k| self.part_of_key.get(k).copied());
            let done = std::str::from_utf8(done)
                .ok()
                .and_then(|d| d.parse::<u32>().ok());
            if let (Some(p), Some(done)) = (p, done) {
                let part = &self.layout.parts[p as usize];
                let done = done.min(part.tasks.len() as u32);
                let moved = &mut self.progressed[p as usize];
                if done > *moved {
                    recorder.advance(i64::from(done - *moved));
                    *moved = done;
                }
            }
        }
    }

    /// Takes in the costs of the finished partitions that came in since the last wait,
    /// without waiting for the others (they travel as worker events, which may trail the
    /// results; they only steer later cuts, and a compute must not wait for them).
    fn late_costs(&mut self) -> Result<(), Error> {
        if self.costed == self.finished {
            return Ok(());
        }
        let reply = self
            .cluster
            .request(&[b"costs", self.session.as_bytes(), b"0"])?;
        self.learn(&reply[1..]);
        Ok(())
    }

    /// Takes in what finished partitions' functions cost on their workers (key and
    /// costs each): for the next computes' cuts, and this compute's report.
    fn learn(&mut self, pairs: &[Vec<u8>]) {
        for pair in pairs.chunks(2) {
            self.costed += 1;
            // Costs only steer the cut: a garbled record is not this compute's error.
            let Some(Ok(costs)) = pair.get(1).map(|c| super::task::read_costs(c)) else {
                continue;
            };
            for (name, calls, ns) in costs {
                self.cluster.learn(name, calls, ns);
                // With each task's times, the report has them already.
                if let (Some(recorder), false) = (self.ctx.recorder, self.payloads.events) {
                    recorder.worker_time(name, ns);
                }
            }
        }
    }

    /// Partition `p` has finished: its tasks are done, and the results in `blob` (empty
    /// when the driver needs none) are here.
    fn finished_part(&mut self, p: u32, blob: &[u8]) -> Result<(), Error> {
        self.running -= 1;
        self.finished += 1;
        let part = &self.layout.parts[p as usize];
        if let Some(recorder) = self.ctx.recorder {
            recorder.crossed(0, blob.len());
            // Its tasks count themselves now: take back what its progress moved.
            let moved = std::mem::take(&mut self.progressed[p as usize]);
            recorder.advance(-i64::from(moved));
            self.record(recorder, part, blob);
        }
        if !self.gathered(p) {
            return Ok(());
        }
        let outputs = read_outputs(blob).map_err(|e| internal(&e))?;
        if outputs.len() != part.outputs.len() {
            return Err(internal("a partition returned the wrong number of values"));
        }
        for (&t, bytes) in part.outputs.iter().zip(outputs) {
            if !self.layout.to_driver[t as usize] {
                continue;
            }
            let codec = self.payloads.placement.out_codec[t as usize]
                .ok_or_else(|| internal("no codec"))?;
            let value = (codec.decode)(bytes).map_err(|e| Error::Scheduler {
                message: format!(
                    "the result of `{}` ({}) does not decode: {e}",
                    self.plan.task(t).label(),
                    (codec.type_name)()
                ),
            })?;
            self.ctx.deliver(self.plan, t, &value);
            self.values[t as usize] = Some(value);
            self.here[t as usize] = true;
        }
        Ok(())
    }

    /// Counts partition `part`'s tasks done: each with the times its worker sent, if it
    /// did, else all at this instant.
    fn record(&self, recorder: &Recorder, part: &Part, blob: &[u8]) {
        let times = self.payloads.events.then(|| super::task::read_times(blob));
        let Some(Ok(Some((pid, mut times)))) = times else {
            let now = recorder.clock();
            for &t in &part.tasks {
                // Timed (with no duration) as the local executor times: the sampled ones.
                let now = now.filter(|_| recorder.sampled(t));
                recorder.executed_at(self.plan, t, now, true, true);
            }
            return;
        };
        let epoch = recorder.epoch_unix_ns();
        // Inputs before their readers (a reader starts after its inputs ended), as the
        // report's count of held results expects.
        times.sort_unstable_by_key(|&(_, _, start, _)| start);
        for (i, thread, start, dur) in times {
            if let Some(&t) = part.tasks.get(i as usize) {
                let start = start.saturating_sub(epoch);
                recorder.executed_remote(self.plan, t, (start, dur), (pid, thread));
            }
        }
    }

    /// Runs every driver task whose inputs are here (or run in the same wave); whether
    /// any ran.
    fn run_wave(&mut self) -> Result<bool, Error> {
        let mut wave = Vec::new();
        for &t in &self.driver_left {
            let ready = self.plan.sources_of(t).iter().all(|&s| {
                s == CONST || self.here[s as usize] || self.scratch[s as usize] == IN_WAVE
            });
            if ready {
                self.scratch[t as usize] = IN_WAVE;
                wave.push(t);
            }
        }
        if wave.is_empty() {
            return Ok(false);
        }
        if wave.len() < self.driver_left.len() && self.readers.is_none() {
            self.readers = Some(self.plan.dependents());
        }
        // Kept: what partitions or the caller read, and what later waves read.
        let keep: Vec<bool> = (wave.iter())
            .map(|&t| {
                self.layout.exported[t as usize]
                    || self.readers.as_ref().is_some_and(|r| {
                        (r.of(t).iter()).any(|&u| self.scratch[u as usize] != IN_WAVE)
                    })
            })
            .collect();
        run_here(
            self.plan,
            self.ctx,
            &wave,
            &keep,
            &mut self.values,
            &mut self.scratch,
        )?;
        let recorder = self.ctx.recorder;
        let now = recorder.map(|r| r.clock());
        for &t in &wave {
            self.here[t as usize] = true;
            if let Some(recorder) = recorder {
                recorder.executed_at(self.plan, t, now.flatten(), true, false);
            }
        }
        let here = &self.here;
        self.driver_left.retain(|&t| !here[t as usize]);
        Ok(true)
    }

    /// The error for a partition that did not finish (its runtime or worker was lost too
    /// many times), naming its tasks.
    fn lost(&self, reply: &[Vec<u8>]) -> Error {
        let (message, key) = (text(reply, 1), text(reply, 2));
        let tasks = match self.part_of_key.get(key.as_ref()) {
            Some(&p) => {
                let part = &self.layout.parts[p as usize];
                let last = part.tasks[part.tasks.len() - 1];
                match part.tasks.len() {
                    1 => format!("`{}`", self.plan.task(last).label()),
                    n => format!("{n} tasks up to `{}`", self.plan.task(last).label()),
                }
            }
            None => format!("partition {key}"),
        };
        Error::Scheduler {
            message: format!("dask: {tasks} did not run: {message}"),
        }
    }

    /// The error a failed partition reported, as the local scheduler would give it.
    fn task_error(&self, blob: &[u8]) -> Error {
        match super::task::read_failure(blob) {
            Ok(failure) => {
                // The worker numbered the partition's nodes: (partition, index).
                let (p, i) = failure.position;
                let t = (self.layout.parts)
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

/// Runs driver tasks `wave` on the local executor (rayon's global pool, stopped by the
/// job's flag), with the values they read from outside the wave as data nodes; keeps in
/// `values` those marked in `keep` and hands the sink what it wants. `sub_of` is all
/// `NONE` but for the wave's tasks (`IN_WAVE`), and all `NONE` after.
fn run_here(
    plan: &Plan<'_>,
    ctx: &Ctx<'_>,
    wave: &[u32],
    keep: &[bool],
    values: &mut [Option<AnyValue>],
    sub_of: &mut [u32],
) -> Result<(), Error> {
    let mut outside: Vec<u32> = Vec::new();
    for &t in wave {
        for &s in plan.sources_of(t) {
            if s != CONST && sub_of[s as usize] == NONE {
                sub_of[s as usize] = outside.len() as u32;
                outside.push(s);
            }
        }
    }
    let data: Result<Vec<Arc<Node>>, Error> = outside
        .iter()
        .map(|&s| {
            let like = plan.task(s);
            let value = values[s as usize]
                .clone()
                .ok_or_else(|| internal("an input of a driver task is missing"))?;
            let body = Body::data(value);
            let node = Node::new(like.key(), like.name(), like.scope(), InputList::Zero, body);
            Ok(Arc::new(node.with_digest_of(like)))
        })
        .collect();
    let data = match data {
        Ok(data) => data,
        Err(e) => {
            for &s in outside.iter().chain(wave) {
                sub_of[s as usize] = NONE;
            }
            return Err(e);
        }
    };
    let mut sub_tasks: Vec<&Node> = data.iter().map(|d| &**d).collect();
    let mut input_start = vec![0u32; data.len() + 1];
    let mut sources = Vec::new();
    for &t in wave {
        sub_of[t as usize] = sub_tasks.len() as u32;
        sub_tasks.push(plan.task(t));
        sources.extend(renumbered(plan.sources_of(t), sub_of));
        input_start.push(sources.len() as u32);
    }
    let roots: Vec<u32> = (wave.iter().zip(keep))
        .filter(|(_, &k)| k)
        .map(|(&t, _)| sub_of[t as usize])
        .collect();
    // The sink's wishes, in the sub-plan's numbers (the inputs from outside first, never
    // wanted again).
    let sink = ctx.sink.as_ref().map(|sink| {
        let mut wanted = vec![false; outside.len()];
        wanted.extend(wave.iter().map(|&t| ctx.wants(t)));
        Sink {
            wanted,
            take: sink.take,
        }
    });
    for &s in outside.iter().chain(wave) {
        sub_of[s as usize] = NONE;
    }
    let sub = Plan::from_parts(sub_tasks, input_start, sources, roots);
    let sub_ctx = Ctx {
        recorder: None,
        stop: ctx.stop,
        sink,
        strict: false,
        retries: 0,
        performance_report: None,
    };
    let computed = GlobalPool.run(&sub, &sub_ctx)?;
    let kept = (wave.iter().zip(keep)).filter(|(_, &k)| k).map(|(&t, _)| t);
    for (t, value) in kept.zip(computed) {
        values[t as usize] = Some(value);
    }
    Ok(())
}
