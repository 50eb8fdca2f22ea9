//! The shapes `compute` takes and gives back: a `Delayed`, or tuples, `Vec`s, slices,
//! arrays and maps of shapes ([`Computable`], [`Persistable`], [`Owned`]).
//!
//! A shape (a `Delayed`, or tuples, `Vec`s, slices, arrays and maps of shapes) is walked
//! twice: once to collect its roots (`push_roots`), once to rebuild it from the roots'
//! results, in the same order. The rebuild is the same for `Computable` (values in place
//! of `Delayed`s) and `Persistable` (data `Delayed`s holding them) but for the leaves:
//! each shape's structure is read back by one helper of `Values` (`slice`, `array`,
//! `map`), which both traits call with their own rebuild of an item.

use std::sync::Arc;

use crate::erased::AnyValue;
use crate::error::Error;
use crate::graph::call::keyed_data;
use crate::graph::delayed::Delayed;
use crate::graph::node::Node;

/// The roots of a shape, collected in order, and what the type alone does not tell of
/// it. Used by [`Computable`]; not meant to be named.
#[doc(hidden)]
pub struct Roots<'a> {
    nodes: Vec<&'a Arc<Node>>,
    layout: Layout,
}

/// What the roots of a shape record beside its nodes, in the order they are pushed, for
/// the rebuild to read back in the same order.
#[derive(Default)]
struct Layout {
    /// The lengths of its slices and `Vec`s.
    lengths: Vec<usize>,
    /// The keys of maps, one `Vec<K>` per map, in the order its values were pushed.
    keys: Vec<MapKeys>,
    /// The nodes of [`Owned`] roots, to name in an error.
    owned: Vec<Arc<Node>>,
}

/// The keys of one map of a shape, type-erased (`Vec<K>`).
type MapKeys = Box<dyn std::any::Any + Send>;

/// The computed values of the roots, handed back in the order they were pushed, with
/// the `Layout` of their shape (and, to persist, the roots' nodes). Not meant to be
/// named.
#[doc(hidden)]
pub struct Values {
    values: std::vec::IntoIter<AnyValue>,
    /// The roots' nodes, beside their values: only to persist (empty to compute).
    nodes: std::vec::IntoIter<Arc<Node>>,
    lengths: std::vec::IntoIter<usize>,
    keys: std::vec::IntoIter<MapKeys>,
    owned: std::vec::IntoIter<Arc<Node>>,
}

impl<'a> Roots<'a> {
    pub(crate) fn of<C: Computable + ?Sized>(shape: &'a C) -> Roots<'a> {
        let mut roots = Roots {
            nodes: Vec::new(),
            layout: Layout::default(),
        };
        shape.push_roots(&mut roots);
        roots
    }

    /// The root nodes, in order.
    pub(crate) fn nodes(&self) -> &[&'a Arc<Node>] {
        &self.nodes
    }

    /// The computed `values` of these roots, to hand back in shape.
    pub(crate) fn values(self, values: Vec<AnyValue>) -> Values {
        Values::new(values, Vec::new(), self.layout)
    }

    /// The computed `values` of these roots beside their nodes, to persist in shape.
    pub(crate) fn persisted(self, values: Vec<AnyValue>) -> Values {
        let nodes = self.nodes.into_iter().cloned().collect();
        Values::new(values, nodes, self.layout)
    }

    /// Records the length of a slice whose items are pushed next.
    fn push_len(&mut self, len: usize) {
        self.layout.lengths.push(len);
    }

    /// Pushes the root of an [`Owned`], and records its node to name in an error.
    fn push_owned(&mut self, node: &'a Arc<Node>) {
        self.nodes.push(node);
        self.layout.owned.push(node.clone());
    }

    /// Records the keys of a map whose values are pushed next, in that order.
    fn push_keys<K: Send + 'static>(&mut self, keys: Vec<K>) {
        self.layout.keys.push(Box::new(keys));
    }
}

/// The roots of a shape, owned: a job ([`crate::submit`]) runs them on another thread,
/// after the shape itself is gone.
pub(crate) struct OwnedRoots {
    nodes: Vec<Arc<Node>>,
    layout: Layout,
}

impl OwnedRoots {
    pub(crate) fn of<C: Computable + ?Sized>(shape: &C) -> OwnedRoots {
        let roots = Roots::of(shape);
        OwnedRoots {
            nodes: roots.nodes.into_iter().cloned().collect(),
            layout: roots.layout,
        }
    }

    /// The root nodes, in order.
    pub(crate) fn nodes(&self) -> Vec<&Arc<Node>> {
        self.nodes.iter().collect()
    }

    /// The computed `values` of these roots, to take in shape.
    pub(crate) fn into_values(self, values: Vec<AnyValue>) -> Values {
        Values::new(values, Vec::new(), self.layout)
    }
}

pub(crate) fn internal(what: &str) -> Error {
    Error::Scheduler {
        message: format!("internal error: {what}"),
    }
}

/// A map's roots: its keys (recorded once, in iteration order), then each value's roots
/// in the same order.
fn push_map_roots<'a, K, C>(entries: impl Iterator<Item = (&'a K, &'a C)>, roots: &mut Roots<'a>)
where
    K: Clone + Send + 'static,
    C: Computable + 'a,
{
    let (keys, items): (Vec<K>, Vec<&'a C>) = entries.map(|(k, c)| (k.clone(), c)).unzip();
    roots.push_keys(keys);
    for item in items {
        item.push_roots(roots);
    }
}

/// Reading the results back in shape. The leaves: `next` (a value, cloned if shared),
/// `next_owned` (a value, moved out), `next_persisted` (a data `Delayed` holding it). The
/// shapes around them: `slice`, `array` and `map`, each given how to rebuild one item, so
/// that computing and persisting read a shape's structure with the same code.
impl Values {
    /// The value of one root (no shape around it) beside its node, to persist.
    pub(crate) fn one_persisted(value: Vec<AnyValue>, node: Arc<Node>) -> Values {
        Values::new(value, vec![node], Layout::default())
    }

    fn new(values: Vec<AnyValue>, nodes: Vec<Arc<Node>>, layout: Layout) -> Values {
        Values {
            values: values.into_iter(),
            nodes: nodes.into_iter(),
            lengths: layout.lengths.into_iter(),
            keys: layout.keys.into_iter(),
            owned: layout.owned.into_iter(),
        }
    }

    fn next_any(&mut self) -> Result<AnyValue, Error> {
        self.values
            .next()
            .ok_or_else(|| internal("too few results"))
    }

    fn next_shared<T: Send + Sync + 'static>(&mut self) -> Result<Arc<T>, Error> {
        self.next_any()?
            .downcast::<T>()
            .map_err(|_| internal("a result has the wrong type"))
    }

    fn next<T: Clone + Send + Sync + 'static>(&mut self) -> Result<T, Error> {
        let shared = self.next_shared::<T>()?;
        Ok(Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// The next value, moved out; [`Error::Shared`] naming its [`Owned`] root's node when
    /// something else still holds it (another root, or the graph itself for data).
    fn next_owned<T: Send + Sync + 'static>(&mut self) -> Result<T, Error> {
        let node = self
            .owned
            .next()
            .ok_or_else(|| internal("missing owned root"))?;
        Arc::try_unwrap(self.next_shared::<T>()?).map_err(|_| Error::Shared {
            task: node.label(),
            type_name: std::any::type_name::<T>().to_owned(),
        })
    }

    /// The next value as data under its root's key: a persisted `Delayed`.
    pub(crate) fn next_persisted<T: Send + Sync + 'static>(&mut self) -> Result<Delayed<T>, Error> {
        let value = self.next_any()?;
        let node = self
            .nodes
            .next()
            .ok_or_else(|| internal("too few results"))?;
        if !value.is::<T>() {
            return Err(internal("a result has the wrong type"));
        }
        Ok(keyed_data(&node, value))
    }

    /// A slice (or `Vec`) of as many items as its roots recorded, each rebuilt by `item`.
    fn slice<O>(
        &mut self,
        mut item: impl FnMut(&mut Values) -> Result<O, Error>,
    ) -> Result<Vec<O>, Error> {
        let len = self
            .lengths
            .next()
            .ok_or_else(|| internal("missing slice length"))?;
        (0..len).map(|_| item(self)).collect()
    }

    /// An array of `N` items, each rebuilt by `item`.
    fn array<O, const N: usize>(
        &mut self,
        mut item: impl FnMut(&mut Values) -> Result<O, Error>,
    ) -> Result<[O; N], Error> {
        let items: Vec<O> = (0..N).map(|_| item(self)).collect::<Result<_, _>>()?;
        items.try_into().map_err(|_| internal("array length"))
    }

    /// A map under the keys its roots recorded, in that order, each value rebuilt by
    /// `item`.
    fn map<K: 'static, O, M: Default + Extend<(K, O)>>(
        &mut self,
        mut item: impl FnMut(&mut Values) -> Result<O, Error>,
    ) -> Result<M, Error> {
        let keys = self
            .keys
            .next()
            .ok_or_else(|| internal("missing map keys"))?;
        let keys = keys
            .downcast::<Vec<K>>()
            .map_err(|_| internal("map keys of the wrong type"))?;
        let mut map = M::default();
        for key in *keys {
            map.extend([(key, item(self)?)]);
        }
        Ok(map)
    }
}

/// Anything `delayed::compute` accepts: a `Delayed<T>`, a reference to one, and tuples
/// (up to 12), `Vec`s, slices, arrays, `HashMap`s and `BTreeMap`s of computables, nested
/// as deep as you like. The output has the same shape with values in place of
/// `Delayed`s (a map keeps its keys, which must be `Clone + Send + 'static`).
///
/// ```
/// use std::collections::{BTreeMap, HashMap};
/// use delayed::{compute, value};
///
/// let x = value(2i64);
/// let sums: HashMap<&str, _> = [("double", &x + &x), ("square", &x * &x)].into();
/// let nested: BTreeMap<u8, _> = [(1, vec![x.clone()]), (2, vec![&x + 1, &x + 2])].into();
/// let (sums, nested) = compute((sums, nested))?;
/// assert_eq!((sums["double"], sums["square"]), (4, 4));
/// assert_eq!(nested[&2], [3, 4]);
/// # Ok::<(), delayed::Error>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be computed",
    label = "expected a `Delayed<T>`, or a tuple, `Vec`, slice, array or map of them",
    note = "`compute` takes `Delayed` values, alone or in tuples (up to 12), `Vec`s, slices, arrays, `HashMap`s and `BTreeMap`s; plain values are already computed"
)]
pub trait Computable {
    /// The same shape, with values in place of `Delayed`s.
    type Output;

    #[doc(hidden)]
    fn push_roots<'a>(&'a self, roots: &mut Roots<'a>);

    #[doc(hidden)]
    fn take_values(values: &mut Values) -> Result<Self::Output, Error>;
}

/// Anything [`persist`] accepts: the shapes [`Computable`] accepts. The result has the
/// same shape with persisted `Delayed`s (holding their values) in place of `Delayed`s
/// and of references to them.
pub trait Persistable: Computable {
    /// The same shape, with persisted `Delayed`s.
    type Persisted;

    #[doc(hidden)]
    fn take_persisted(values: &mut Values) -> Result<Self::Persisted, Error>;
}

impl<T: Clone + Send + Sync + 'static> Computable for Delayed<T> {
    type Output = T;
    fn push_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        roots.nodes.push(&self.node);
    }
    fn take_values(values: &mut Values) -> Result<T, Error> {
        values.next()
    }
}

impl<T: Clone + Send + Sync + 'static> Persistable for Delayed<T> {
    type Persisted = Delayed<T>;
    fn take_persisted(values: &mut Values) -> Result<Delayed<T>, Error> {
        values.next_persisted()
    }
}

/// A root whose value is moved out of the compute, never cloned, so its type need not be
/// `Clone`: what [`Delayed::owned`] gives. Put it in any shape `compute` and `submit` take.
///
/// A `Delayed<T>` in a shape needs `T: Clone`, because its value may be read twice (the
/// same node twice among the roots, or data the graph holds, like [`value`](crate::value)
/// and persisted results); Rust cannot tell at run time whether a type is `Clone`. An
/// `Owned` root takes the value instead: when it is read twice, the compute returns
/// [`Error::Shared`] naming the task, and nothing is cloned.
///
/// ```
/// use delayed::{compute, value, Error};
///
/// #[derive(Debug)]
/// struct Model(Vec<f64>); // not Clone
/// let model = value(3usize).map(|n| Model(vec![0.5; *n]));
/// let (m, n) = compute((model.owned(), value(1i64) + 1))?;
/// assert_eq!((m.0.len(), n), (3, 2));
///
/// // Twice in one compute: an error naming the task, not a clone.
/// let err = compute((model.owned(), model.owned())).unwrap_err();
/// assert!(matches!(err, Error::Shared { .. }));
/// assert_eq!(err.task(), Some(model.label().as_str()));
/// # Ok::<(), delayed::Error>(())
/// ```
pub struct Owned<T> {
    delayed: Delayed<T>,
}

impl<T> Delayed<T> {
    /// This value as a root that is moved out of the compute, not cloned: computes a
    /// `T` that is not `Clone` (see [`Owned`]).
    ///
    /// ```
    /// use delayed::value;
    /// struct Token(u64); // not Clone
    /// let t = (value(41u64) + 1).map(|n| Token(*n));
    /// assert_eq!(delayed::compute(t.owned())?.0, 42);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn owned(&self) -> Owned<T> {
        Owned {
            delayed: self.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Owned<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Owned({:?})", self.delayed.label())
    }
}

impl<T: Send + Sync + 'static> Computable for Owned<T> {
    type Output = T;
    fn push_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        roots.push_owned(&self.delayed.node);
    }
    fn take_values(values: &mut Values) -> Result<T, Error> {
        values.next_owned()
    }
}

impl<C: Computable + ?Sized> Computable for &C {
    type Output = C::Output;
    fn push_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        (**self).push_roots(roots);
    }
    fn take_values(values: &mut Values) -> Result<C::Output, Error> {
        C::take_values(values)
    }
}

impl<C: Persistable + ?Sized> Persistable for &C {
    type Persisted = C::Persisted;
    fn take_persisted(values: &mut Values) -> Result<C::Persisted, Error> {
        C::take_persisted(values)
    }
}

/// The shapes of a slice and of a `Vec` are only known from the value, not the type:
/// they record their length as they push their roots.
impl<C: Computable> Computable for Vec<C> {
    type Output = Vec<C::Output>;
    fn push_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        self.as_slice().push_roots(roots);
    }
    fn take_values(values: &mut Values) -> Result<Self::Output, Error> {
        <[C]>::take_values(values)
    }
}

impl<C: Persistable> Persistable for Vec<C> {
    type Persisted = Vec<C::Persisted>;
    fn take_persisted(values: &mut Values) -> Result<Self::Persisted, Error> {
        <[C]>::take_persisted(values)
    }
}

impl<C: Computable> Computable for [C] {
    type Output = Vec<C::Output>;
    fn push_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        roots.push_len(self.len());
        for item in self {
            item.push_roots(roots);
        }
    }
    fn take_values(values: &mut Values) -> Result<Self::Output, Error> {
        values.slice(C::take_values)
    }
}

impl<C: Persistable> Persistable for [C] {
    type Persisted = Vec<C::Persisted>;
    fn take_persisted(values: &mut Values) -> Result<Self::Persisted, Error> {
        values.slice(C::take_persisted)
    }
}

impl<C: Computable, const N: usize> Computable for [C; N] {
    type Output = [C::Output; N];
    fn push_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        for item in self {
            item.push_roots(roots);
        }
    }
    fn take_values(values: &mut Values) -> Result<Self::Output, Error> {
        values.array(C::take_values)
    }
}

impl<C: Persistable, const N: usize> Persistable for [C; N] {
    type Persisted = [C::Persisted; N];
    fn take_persisted(values: &mut Values) -> Result<Self::Persisted, Error> {
        values.array(C::take_persisted)
    }
}

/// A map's values are computed and handed back under the same keys (dask computes
/// dicts of delayed values the same way). The keys are cloned once, when the roots are
/// collected.
impl<K, C, S> Computable for std::collections::HashMap<K, C, S>
where
    K: Eq + std::hash::Hash + Clone + Send + 'static,
    C: Computable,
    S: std::hash::BuildHasher + Default,
{
    type Output = std::collections::HashMap<K, C::Output, S>;
    fn push_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        push_map_roots(self.iter(), roots);
    }
    fn take_values(values: &mut Values) -> Result<Self::Output, Error> {
        values.map(C::take_values)
    }
}

impl<K, C, S> Persistable for std::collections::HashMap<K, C, S>
where
    K: Eq + std::hash::Hash + Clone + Send + 'static,
    C: Persistable,
    S: std::hash::BuildHasher + Default,
{
    type Persisted = std::collections::HashMap<K, C::Persisted, S>;
    fn take_persisted(values: &mut Values) -> Result<Self::Persisted, Error> {
        values.map(C::take_persisted)
    }
}

/// As for `HashMap`, in key order.
impl<K, C> Computable for std::collections::BTreeMap<K, C>
where
    K: Ord + Clone + Send + 'static,
    C: Computable,
{
    type Output = std::collections::BTreeMap<K, C::Output>;
    fn push_roots<'a>(&'a self, roots: &mut Roots<'a>) {
        push_map_roots(self.iter(), roots);
    }
    fn take_values(values: &mut Values) -> Result<Self::Output, Error> {
        values.map(C::take_values)
    }
}

impl<K, C> Persistable for std::collections::BTreeMap<K, C>
where
    K: Ord + Clone + Send + 'static,
    C: Persistable,
{
    type Persisted = std::collections::BTreeMap<K, C::Persisted>;
    fn take_persisted(values: &mut Values) -> Result<Self::Persisted, Error> {
        values.map(C::take_persisted)
    }
}

macro_rules! tuple_computable {
    ($( ($($n:tt $c:ident),+) )*) => {$(
        impl<$($c: Computable),+> Computable for ($($c,)+) {
            type Output = ($($c::Output,)+);
            fn push_roots<'a>(&'a self, roots: &mut Roots<'a>) {
                $( self.$n.push_roots(roots); )+
            }
            fn take_values(values: &mut Values) -> Result<Self::Output, Error> {
                Ok(($($c::take_values(values)?,)+))
            }
        }

        impl<$($c: Persistable),+> Persistable for ($($c,)+) {
            type Persisted = ($($c::Persisted,)+);
            fn take_persisted(values: &mut Values) -> Result<Self::Persisted, Error> {
                Ok(($($c::take_persisted(values)?,)+))
            }
        }
    )*};
}
for_each_tuple!(tuple_computable);

/// The root nodes of a shape, in order (for drawing the graph).
#[cfg(feature = "visualize")]
pub(crate) fn roots_of<C: Computable + ?Sized>(shape: &C) -> Vec<&Arc<Node>> {
    Roots::of(shape).nodes
}
