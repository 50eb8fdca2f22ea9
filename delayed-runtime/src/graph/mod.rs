//! The lazy task graph: what a `#[delayed]` call, `value`, an operator or `collect`
//! builds, before anything runs.
//!
//! Data flows one way through it: a builder (`call.rs` for tasks and `value`, `ops.rs`,
//! `collect.rs`, `unpack.rs`, `file.rs`) takes arguments (`arg.rs`), keys the call over
//! `key/`, and makes one immutable [`Node`](node::Node) (`node.rs`) behind a typed
//! [`Delayed`](delayed::Delayed) handle (`delayed.rs`). Nothing here plans or runs a
//! graph; the readers of a built graph (the planner, drawing, reports) walk it with
//! `walk.rs`. Display names are kept in `names.rs`; `remote.rs` finds a node's body in
//! another process.

pub(crate) mod arg;
pub(crate) mod call;
pub(crate) mod collect;
pub(crate) mod delayed;
pub(crate) mod file;
pub(crate) mod names;
pub(crate) mod node;
pub(crate) mod ops;
pub(crate) mod remote;
pub(crate) mod unpack;
pub(crate) mod walk;
