//! Argument conversion: what a delayed function's parameter `x: T` accepts.
//!
//! `T` itself (keyed by content), `Delayed<T>` and `&Delayed<T>` (keyed by the node), and
//! for `Vec<T>` parameters also a `Vec` or slice of `Delayed<T>`. The impls do not overlap
//! because a type can never equal `Delayed` of itself.

use std::sync::Arc;

use crate::graph::delayed::Delayed;
use crate::graph::node::Node;
use crate::key::tokenize::Tokenize;
use crate::key::KeyHasher;

/// One argument of a delayed call: a node of the graph or a plain value.
pub struct Arg<T> {
    pub(crate) inner: ArgInner<T>,
}

pub(crate) enum ArgInner<T> {
    Node(Arc<Node>),
    /// A plain value and how to hash it (kept here so building a call needs no
    /// `Tokenize` bound when every argument is a `Delayed`).
    Value {
        value: T,
        write: fn(&T, &mut KeyHasher),
    },
}

impl<T> Arg<T> {
    pub(crate) fn node(node: Arc<Node>) -> Arg<T> {
        Arg {
            inner: ArgInner::Node(node),
        }
    }

    /// A plain value, keyed by its content.
    pub fn value(value: T) -> Arg<T>
    where
        T: Tokenize,
    {
        Arg {
            inner: ArgInner::Value {
                value,
                write: |v, h| v.tokenize(h),
            },
        }
    }
}

/// Conversion into an argument for a parameter of type `T`.
///
/// Implemented for `T` (when `T: Tokenize`), `Delayed<T>`, `&Delayed<T>`, and, for
/// `Vec<T>` parameters, `Vec<Delayed<T>>`, `&Vec<Delayed<T>>`, `&[Delayed<T>]` and `&[T]`;
/// `&str` converts into a `String` parameter.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an argument a delayed function can take for a parameter of type `{T}`",
    label = "expected `{T}` (with `Tokenize`), `Delayed<{T}>` or `&Delayed<{T}>`",
    note = "a parameter `x: T` of a delayed function accepts a plain `T`, a `Delayed<T>` or a `&Delayed<T>`; a plain value is keyed by its content, so its type must implement `Tokenize`: add `#[derive(Tokenize)]` to it",
    note = "values that cross into the task graph must be `Send + Sync + 'static`, since tasks run later, on any thread: no `Rc`, `RefCell` or borrowed data (shared mutable state would be a side effect: return new values instead)"
)]
pub trait IntoArg<T> {
    /// Converts `self` into an argument.
    fn into_arg(self) -> Arg<T>;
}

impl<T: Tokenize + Send + Sync + 'static> IntoArg<T> for T {
    fn into_arg(self) -> Arg<T> {
        Arg::value(self)
    }
}

impl<T> IntoArg<T> for Delayed<T> {
    fn into_arg(self) -> Arg<T> {
        Arg::node(self.node)
    }
}

impl<T> IntoArg<T> for &Delayed<T> {
    fn into_arg(self) -> Arg<T> {
        Arg::node(self.node.clone())
    }
}

impl IntoArg<String> for &str {
    fn into_arg(self) -> Arg<String> {
        Arg::value(self.to_owned())
    }
}

impl IntoArg<std::path::PathBuf> for &std::path::Path {
    fn into_arg(self) -> Arg<std::path::PathBuf> {
        Arg::value(self.to_path_buf())
    }
}

impl IntoArg<std::path::PathBuf> for &str {
    fn into_arg(self) -> Arg<std::path::PathBuf> {
        Arg::value(self.into())
    }
}

impl<T: Tokenize + Clone + Send + Sync + 'static> IntoArg<Vec<T>> for &[T] {
    fn into_arg(self) -> Arg<Vec<T>> {
        Arg::value(self.to_vec())
    }
}

/// What a value must be to live in the graph: shared between threads and kept until
/// the graph is dropped. Generated code bounds parameter and result types with it, so a
/// violation is reported at the function, in these words.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot live in a task graph: it must be `Send + Sync + 'static`",
    label = "used as an argument or result of a delayed function",
    note = "the graph may run a task on any thread, and keeps values until it is dropped: use owned, thread-safe data (`Arc` instead of `Rc`, no `RefCell`/`Cell`, no borrowed references)",
    note = "a delayed function communicates only through its arguments and its return value: shared mutable state would be a side effect (\"Side effect should not be used!\"); return the new value instead"
)]
pub trait GraphValue: Send + Sync + 'static {}
impl<T: Send + Sync + 'static + ?Sized> GraphValue for T {}

/// A by-value parameter: also `Clone`, since a node's result may feed several consumers
/// and constants stay in the graph for the next compute.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be taken by value by a delayed function: it is not `Clone + Send + Sync + 'static`",
    label = "by-value parameter of a delayed function",
    note = "a result may feed several tasks, so by-value arguments are cloned (the last consumer gets the original): derive `Clone`, or take the parameter by reference (`&T`) to borrow the computed value without cloning",
    note = "values in the graph must also be `Send + Sync + 'static`, since tasks run later, on any thread: no `Rc`, `RefCell` or borrowed data; shared mutable state would be a side effect (\"Side effect should not be used!\"): take the value and return the new one"
)]
pub trait ByValue: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> ByValue for T {}
