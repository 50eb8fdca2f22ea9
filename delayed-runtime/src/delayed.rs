//! `Delayed<T>`: the handle users hold, a typed pointer to a node of the graph.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::arg::IntoArg;
use crate::call::{data_node, Call, FnId};
use crate::error::Error;
use crate::key::Key;
use crate::node::{Node, NodeKind};
use crate::scheduler::Scheduler;
use crate::tokenize::Tokenize;

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

/// Wraps a plain value as delayed data (dask's `delayed(obj)`), keyed by its type and
/// content: equal values give equal keys, in every run.
///
/// ```
/// use delayed::value;
/// let s = value(String::from("12345"));
/// assert_eq!(s.key(), value(String::from("12345")).key());
/// assert_eq!(s.map(|s| s.len()).compute().unwrap(), 5);
/// ```
pub fn value<T: Tokenize + Send + Sync + 'static>(value: T) -> Delayed<T> {
    data_node(value)
}

static MAP_ID: &str = "delayed::map";
static GET_ID: FnId = FnId::new("delayed::get", "getitem", "");

macro_rules! comparisons {
    ($($(#[$doc:meta])* $method:ident => $name:literal, $op:ident, $bound:ident;)*) => {$(
        $(#[$doc])*
        pub fn $method<U, R>(&self, other: R) -> Delayed<bool>
        where
            T: $bound<U> + Send + Sync + 'static,
            U: Send + Sync + 'static,
            R: IntoArg<U>,
        {
            static ID: FnId = FnId::new(concat!("delayed::cmp::", $name), $name, "");
            let mut call = Call::new(&ID).with_type::<T>().with_type::<U>();
            call.node_arg(self.node.clone());
            call.arg(other.into_arg());
            call.finish(|inputs| {
                let a = inputs.share::<T>()?;
                let b = inputs.share::<U>()?;
                Ok((*a).$op(&*b))
            })
        }
    )*};
}

impl<T> Delayed<T> {
    pub(crate) fn from_node(node: Arc<Node>) -> Delayed<T> {
        Delayed {
            node,
            _output: PhantomData,
        }
    }

    /// The node's key: 32 bytes of blake3 over its function identity and inputs.
    pub fn key(&self) -> Key {
        self.node.key
    }

    /// The display name: the function's name, or the type name for data.
    pub fn name(&self) -> &str {
        self.node.name
    }

    /// The dask-style label, `name-<first 8 hex digits of the key>`.
    pub fn label(&self) -> String {
        self.node.label()
    }

    /// How many distinct nodes (tasks and data) one compute of this value runs: its
    /// graph deduplicated by key (dask's `len(d.__dask_graph__())`).
    ///
    /// ```
    /// use delayed::value;
    /// let a = value(1i64);
    /// assert_eq!((&a + &a).graph_len(), 2);
    /// ```
    pub fn graph_len(&self) -> usize {
        crate::scheduler::plan::Plan::new(&[&self.node]).len()
    }

    /// Whether this is a task (a function call) or data (a value the graph holds).
    pub fn kind(&self) -> NodeKind {
        self.node.kind()
    }

    /// Computes the value on the default scheduler (all cores).
    ///
    /// Every distinct key in the graph runs once. A panic or an `Err` from a task comes
    /// back as an [`Error`]; nothing is left running.
    pub fn compute(&self) -> Result<T, Error>
    where
        T: Clone + Send + Sync + 'static,
    {
        self.compute_with(&Scheduler::default())
    }

    /// Computes the value with the given scheduler.
    pub fn compute_with(&self, scheduler: &Scheduler) -> Result<T, Error>
    where
        T: Clone + Send + Sync + 'static,
    {
        crate::compute::compute_with(self, scheduler)
    }

    /// Computes the value now and returns a `Delayed` that holds it, under the same key:
    /// graphs built on the result do not compute it again. [`persist`](crate::persist)
    /// does several at once, in one graph.
    pub fn persist(&self) -> Result<Delayed<T>, Error>
    where
        T: Send + Sync + 'static,
    {
        crate::compute::persist_one(self)
    }

    /// Applies `f` to the value, lazily: `d.map(|v| v.len())` is a task reading `d`.
    ///
    /// Keys: `map` sees neither the closure's tokens nor where it was written (it may come
    /// through a variable or a generic helper), so a closure is told apart from every other
    /// by its `TypeId`. Two different closures never share a key; the same closure over
    /// the same input does, within this process. A `TypeId` is not stable across builds,
    /// so nothing downstream of a `map` closure is read from or written to the on-disk
    /// cache. A fn item (`d.map(str::len)`) is keyed by its path instead, valid within one
    /// build. For keys that hold across builds (and cached results), write a `#[delayed]`
    /// function. A capturing closure gets a fresh key per call, since its captures are not
    /// hashed.
    ///
    /// The closure is `Fn + Send + Sync + 'static`: it runs later, on any thread, and only
    /// reads the value; it cannot mutate captured state or borrow local variables. Return
    /// the new value instead of changing the old one.
    ///
    /// ```
    /// use delayed::value;
    /// let a = value(10i64);
    /// let (inc, dbl) = (a.map(|v| v + 1), a.map(|v| v * 2));
    /// assert_ne!(inc.key(), dbl.key());
    /// assert_eq!(delayed::compute((inc, dbl)).unwrap(), (11, 20));
    /// ```
    pub fn map<U, F>(&self, f: F) -> Delayed<U>
    where
        T: Send + Sync + 'static,
        U: Send + Sync + 'static,
        F: Fn(&T) -> U + Send + Sync + 'static,
    {
        let mut call = crate::call::identify::<F>(Call::dynamic(MAP_ID, "map"));
        call.node_arg(self.node.clone());
        call.finish(move |inputs| {
            let v = inputs.share::<T>()?;
            Ok(f(&v))
        })
    }

    /// `value[index]`, lazily (dask's `d[i]`). The element is cloned out.
    ///
    /// ```
    /// use delayed::value;
    /// let v = value(vec![10, 20, 30]);
    /// assert_eq!(v.get(1).compute().unwrap(), 20);
    /// ```
    pub fn get<I>(&self, index: I) -> Delayed<<T as std::ops::Index<I>>::Output>
    where
        T: std::ops::Index<I> + Send + Sync + 'static,
        <T as std::ops::Index<I>>::Output: Clone + Send + Sync + Sized + 'static,
        I: Tokenize + Clone + Send + Sync + 'static,
    {
        let mut call = Call::new(&GET_ID).with_type::<T>().with_value(&index);
        call.node_arg(self.node.clone());
        call.finish(move |inputs| {
            let v = inputs.share::<T>()?;
            Ok(v[index.clone()].clone())
        })
    }

    comparisons! {
        /// `self < other`, lazily.
        lt => "lt", lt, PartialOrd;
        /// `self <= other`, lazily.
        le => "le", le, PartialOrd;
        /// `self > other`, lazily.
        gt => "gt", gt, PartialOrd;
        /// `self >= other`, lazily.
        ge => "ge", ge, PartialOrd;
        /// `self == other`, lazily (named `eq_` because `Delayed` is not `PartialEq`).
        eq_ => "eq", eq, PartialEq;
        /// `self != other`, lazily.
        ne_ => "ne", ne, PartialEq;
    }
}
