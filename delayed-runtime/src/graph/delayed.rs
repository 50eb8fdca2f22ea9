//! `Delayed<T>`: the handle users hold, a typed pointer to a node of the graph.
//!
//! Only the handle is here. What builds one is beside the other builders (`call.rs` for
//! tasks and `value`, `ops.rs` for operators, `map`, `get` and comparisons), and what
//! computes one is in the pipeline (`compute.rs`).

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::graph::node::{Node, NodeKind};
use crate::key::Key;

/// A value that will be computed: a node of a lazy task graph whose result has type `T`.
///
/// Built by calling a `#[delayed]` function, by `delay!`, by [`value`], or from other
/// `Delayed` values with operators, [`map`](Delayed::map), [`get`](Delayed::get) and
/// comparison methods. Nothing runs until [`compute`](Delayed::compute).
///
/// `Delayed` is a cheap `Clone` (one reference count) and `Send + Sync`. It has no
/// `PartialEq`, `Ord`, `Deref` or `IntoIterator`: those would need the value now. Use
/// the lazy comparisons [`lt`](Delayed::lt), [`eq_`](Delayed::eq_), … instead.
///
/// ```
/// use delayed::value;
/// let a = value(3i64);
/// let b = &a * 2 + &a;              // operators build new nodes
/// assert_eq!(b.compute().unwrap(), 9);
/// assert_eq!(format!("{a:?}"), format!("Delayed(\"i64-{}\")", a.key().short()));
/// ```
#[must_use = "a `Delayed` does nothing until it is computed (`.compute()`, `delayed::compute`)"]
pub struct Delayed<T> {
    pub(crate) node: Arc<Node>,
    pub(crate) _output: PhantomData<fn() -> T>,
}

impl<T> Clone for Delayed<T> {
    fn clone(&self) -> Self {
        Delayed::from_node(self.node.clone())
    }
}

impl<T> fmt::Debug for Delayed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Delayed({:?})", self.node.label())
    }
}

impl<T> Delayed<T> {
    pub(crate) fn from_node(node: Arc<Node>) -> Delayed<T> {
        Delayed {
            node,
            _output: PhantomData,
        }
    }

    /// The node's key: 32 bytes of blake3 over its function identity and inputs. A call
    /// over `Delayed` values only makes it here the first time it is asked for, with the
    /// missing keys below it (no recursion: a chain of a million such calls is fine), and
    /// keeps it; a call over small plain values only makes it at each ask (one
    /// compression).
    pub fn key(&self) -> Key {
        self.node.key()
    }

    /// The display name: the function's name, or the type name for data.
    pub fn name(&self) -> &str {
        self.node.name()
    }

    /// The dask-style label, `name-<first 8 hex digits of the key>`.
    pub fn label(&self) -> String {
        self.node.label()
    }

    /// Whether this is a task (a function call) or data (a value the graph holds).
    pub fn kind(&self) -> NodeKind {
        self.node.kind()
    }
}
