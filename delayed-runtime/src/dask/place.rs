//! Which task runs where, decided before anything is submitted: on the cluster when its
//! body is code another process of this build can run (a [`RemoteOp`]) and every value
//! it reads or makes that may cross processes has a codec; in this process otherwise
//! (a body with captures, a value of a type without serde). Strict computes refuse the
//! second kind with the reason.

use std::collections::HashSet;

use crate::codec::{self, Codec};
use crate::error::Error;
use crate::graph::node::{Body, Input, RemoteOp};
use crate::plan::{Plan, CONST};

/// Where each task of a plan runs, and the codec each value crosses with.
pub(super) struct Placement {
    /// `Some(op)`: the task runs on the cluster.
    pub(super) ops: Vec<Option<&'static RemoteOp>>,
    /// The codec of each result (of data: its value's), where one is known.
    pub(super) out_codec: Vec<Option<&'static Codec>>,
    /// Why each task that stays here does.
    why: Vec<Option<String>>,
}

impl Placement {
    /// Places every task of `plan`, inputs first (a task reads what its inputs' places
    /// allow).
    pub(super) fn of(plan: &Plan<'_>) -> Placement {
        register_codecs(plan);
        let n = plan.len();
        let mut placement = Placement {
            ops: vec![None; n],
            out_codec: vec![None; n],
            why: vec![None; n],
        };
        for t in 0..n {
            let node = plan.task(t as u32);
            match &node.body() {
                Body::Data(value) => {
                    placement.out_codec[t] = node
                        .codec()
                        .or_else(|| codec::of_type((***value).type_id()));
                }
                Body::Task(_) => match placement.check(plan, t as u32) {
                    Ok((op, out)) => {
                        placement.ops[t] = Some(op);
                        placement.out_codec[t] = Some(out);
                    }
                    Err(why) => {
                        placement.out_codec[t] =
                            (node.remote().and_then(|op| (op.output)())).or(node.codec());
                        placement.why[t] = Some(why);
                    }
                },
            }
        }
        placement
    }

    /// Task `t`'s op and result codec, or why it cannot run on the cluster.
    fn check(
        &self,
        plan: &Plan<'_>,
        t: u32,
    ) -> Result<(&'static RemoteOp, &'static Codec), String> {
        let node = plan.task(t);
        let op = node.remote().ok_or(
            "its body captures values (a closure with captures runs where it was made; \
             pass the captured values as arguments, or write a `#[delayed]` fn)",
        )?;
        let out = (op.output)().ok_or_else(|| {
            format!(
                "its result type `{}` has no codec: derive `serde::Serialize` and \
                 `serde::Deserialize` for it",
                (op.output_name)()
            )
        })?;
        for (i, (input, &s)) in node.inputs().iter().zip(plan.sources_of(t)).enumerate() {
            let known = match input {
                Input::Const(value) => {
                    (op.input)(i).is_some() || codec::of_type((**value).type_id()).is_some()
                }
                Input::Node(_) if s == CONST => false,
                Input::Node(_) => {
                    let s = s as usize;
                    self.ops[s].is_some() || self.out_codec[s].is_some() || (op.input)(i).is_some()
                }
            };
            if !known {
                let from = match input {
                    Input::Node(_) if s != CONST => format!(" (from `{}`)", plan.task(s).label()),
                    _ => String::new(),
                };
                return Err(format!(
                    "its input {i}{from} has a type without a codec: derive \
                     `serde::Serialize` and `serde::Deserialize` for it (and `Tokenize` \
                     for data)"
                ));
            }
        }
        Ok((op, out))
    }

    /// With `strict`, the error for the first task that would run here.
    pub(super) fn refuse_local(&self, plan: &Plan<'_>) -> Result<(), Error> {
        let Some(t) = (0..plan.len()).find(|&t| self.why[t].is_some()) else {
            return Ok(());
        };
        let node = plan.task(t as u32);
        let others = self.why.iter().filter(|w| w.is_some()).count() - 1;
        let more = match others {
            0 => String::new(),
            n => format!(" ({n} more tasks would too)"),
        };
        Err(Error::Scheduler {
            message: format!(
                "strict: `{}` would run in this process, not on the cluster{more}: {}",
                node.label(),
                self.why[t].as_deref().unwrap_or("")
            ),
        })
    }
}

/// Makes the codecs the graph's own code knows (its `#[delayed]` fns' parameters and
/// results, its data of `#[derive(Tokenize)]` serde types) known by type, so values of
/// those types made anywhere can cross.
fn register_codecs(plan: &Plan<'_>) {
    let mut ops: HashSet<*const RemoteOp> = HashSet::new();
    for node in plan.tasks() {
        if let Some(codec) = node.codec() {
            codec::register(codec);
        }
        let Some(op) = node.remote() else { continue };
        if op.path().is_empty() || !ops.insert(op) {
            continue;
        }
        let inputs = (0..node.inputs().len()).filter_map(|i| (op.input)(i));
        for codec in inputs.chain((op.output)()) {
            codec::register(codec);
        }
    }
}
