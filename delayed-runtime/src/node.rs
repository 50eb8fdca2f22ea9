//! The task graph: immutable, reference-counted nodes.
//!
//! A node is either a *task* (a function over its inputs) or *data* (a value held by the
//! graph). Its key is computed once, when it is built, from its function identity and the
//! keys of its inputs, so nothing ever hashes the graph recursively.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::key::Key;
use crate::value::{AnyValue, BoxError};

/// A task body: reads its inputs in order and returns its result.
pub(crate) type TaskFn =
    dyn Fn(&mut crate::scheduler::inputs::Inputs<'_>) -> Result<AnyValue, BoxError> + Send + Sync;

pub(crate) enum Input {
    /// The result of another node.
    Node(Arc<Node>),
    /// A plain argument, kept in the graph so the node can be computed again.
    Const(AnyValue),
}

/// A node's inputs, in parameter order. Up to two are stored in the node itself (most
/// tasks have one or two), so building a node is one allocation, not three; read it as a
/// slice (`Deref<Target = [Input]>`).
#[derive(Default)]
pub(crate) enum InputList {
    #[default]
    Zero,
    One([Input; 1]),
    Two([Input; 2]),
    Many(Vec<Input>),
}

impl InputList {
    /// Appends an input.
    pub(crate) fn push(&mut self, input: Input) {
        *self = match std::mem::take(self) {
            InputList::Zero => InputList::One([input]),
            InputList::One([a]) => InputList::Two([a, input]),
            InputList::Two([a, b]) => {
                let mut many = Vec::with_capacity(4);
                many.extend([a, b, input]);
                InputList::Many(many)
            }
            InputList::Many(mut many) => {
                many.push(input);
                InputList::Many(many)
            }
        };
    }

    /// A list of the given inputs.
    #[cfg_attr(not(feature = "cache"), allow(dead_code))] // used by `cache/`
    pub(crate) fn from_inputs(inputs: impl IntoIterator<Item = Input>) -> InputList {
        let mut list = InputList::Zero;
        for input in inputs {
            list.push(input);
        }
        list.shrink();
        list
    }

    /// Gives back spare capacity (a list is never pushed to once its node is built).
    pub(crate) fn shrink(&mut self) {
        if let InputList::Many(many) = self {
            many.shrink_to_fit();
        }
    }
}

impl std::ops::Deref for InputList {
    type Target = [Input];
    fn deref(&self) -> &[Input] {
        match self {
            InputList::Zero => &[],
            InputList::One(one) => one,
            InputList::Two(two) => two,
            InputList::Many(many) => many,
        }
    }
}

impl IntoIterator for InputList {
    type Item = Input;
    type IntoIter = std::iter::Chain<
        std::iter::Chain<std::option::IntoIter<Input>, std::option::IntoIter<Input>>,
        std::vec::IntoIter<Input>,
    >;
    fn into_iter(self) -> Self::IntoIter {
        let (a, b, rest) = match self {
            InputList::Zero => (None, None, Vec::new()),
            InputList::One([a]) => (Some(a), None, Vec::new()),
            InputList::Two([a, b]) => (Some(a), Some(b), Vec::new()),
            InputList::Many(many) => (None, None, many),
        };
        a.into_iter().chain(b).chain(rest)
    }
}

pub(crate) enum Body {
    Task(Box<TaskFn>),
    Data(AnyValue),
}

/// How a node is drawn and named: dask draws functions as ellipses and data as boxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A function call.
    Task,
    /// A value held by the graph (`value(x)`, or a persisted result).
    Data,
}

/// How far a node's key can be trusted beyond this process. A node's scope is the
/// narrowest of its own identity and its inputs' scopes, so it covers all the code and
/// data upstream of it.
///
/// - `Portable`: every identity upstream is one the macros or the content fix (a
///   `#[delayed]` fn's path and token hash, data by content, the crate's own operators):
///   the same key in every build and on every machine of one toolchain.
/// - `Build`: something upstream is code the macros cannot see whole (a plain fn through
///   `delay!`, keyed by its type name; a closure literal of `delay!`, keyed by its call
///   site and tokens): its body can change while the key stays. Valid for one executable;
///   the on-disk cache stores such results under the key *and* a fingerprint of the
///   executable.
/// - `Process`: something upstream has an in-process identity (a closure keyed by its
///   `TypeId`, reaching `map` or `delay!` through a variable or a generic helper) or a
///   fresh key (impure functions, capturing closures). Such keys never reach the
///   on-disk cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Scope {
    Process,
    Build,
    Portable,
}

/// What a task node is for, where the crate itself needs to know (drawing and counting
/// look through the `collect` nodes it inserts for `Vec<Delayed<T>>` arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Anything built by a function, an operator, `map`, `delay!`, or data.
    Plain,
    /// The crate's own `collect`: gathers its inputs into a `Vec`.
    Collect,
}

pub(crate) struct Node {
    pub(crate) key: Key,
    /// How far `key` holds: this process, this executable, or everywhere.
    pub(crate) scope: Scope,
    #[cfg_attr(not(feature = "visualize"), allow(dead_code))] // read by `render/`
    pub(crate) role: Role,
    /// The display name (static, or interned: see [`intern`]), so a node carries 16
    /// bytes for it and building one allocates nothing for its name.
    pub(crate) name: &'static str,
    pub(crate) inputs: InputList,
    pub(crate) body: Body,
    /// How to write and read this task's result in an on-disk cache: set only for pure
    /// `#[delayed(cache)]` functions (see `cache/`).
    #[cfg_attr(not(feature = "cache"), allow(dead_code))]
    pub(crate) codec: Option<&'static crate::cache::codec::Codec>,
    /// How another process runs this task (feature `dask`): set for `#[delayed]`
    /// functions and built-ins whose body is registered by a stable id (`remote.rs`).
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) remote: Option<&'static crate::remote::RemoteOp>,
}

/// A display name that lives as long as the program: static names as they are, others
/// (names made at run time: a type's short name, a name read from a cluster) kept once
/// each, for good. Names come from code (functions, types), so there are only so many.
pub(crate) fn intern(name: Cow<'static, str>) -> &'static str {
    match name {
        Cow::Borrowed(name) => name,
        Cow::Owned(name) => {
            static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
            let mut names = NAMES
                .get_or_init(Mutex::default)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match names.get(name.as_str()) {
                Some(&kept) => kept,
                None => {
                    let kept: &'static str = Box::leak(name.into_boxed_str());
                    names.insert(kept);
                    kept
                }
            }
        }
    }
}

/// The display name of data of type `T` (`Vec<String>` for `alloc::vec::Vec<…String>`),
/// made once per type and thread: `value(x)` on many threads takes no lock after each
/// thread's first of a type.
pub(crate) fn type_display_name<T: 'static>() -> &'static str {
    thread_local! {
        static BY_TYPE: std::cell::RefCell<HashMap<std::any::TypeId, &'static str>> =
            std::cell::RefCell::default();
    }
    BY_TYPE.with_borrow_mut(|names| {
        *names
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| intern(Cow::Owned(short_type_name(std::any::type_name::<T>()))))
    })
}

/// `alloc::vec::Vec<alloc::string::String>` → `Vec<String>`: the type's name without paths.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(&word));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(&word));
    out
}

/// Hashes a node's address, for sets and maps keyed by `*const Node` (graph walks that
/// visit each allocation once): one multiply, where SipHash over a million addresses
/// would cost more than the walk.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits of an aligned address at zero: fold high in.
        self.0 ^ (self.0 >> 32)
    }
}

/// The hasher of maps and sets keyed by node address.
pub(crate) type ByAddress = std::hash::BuildHasherDefault<AddressHasher>;

impl Node {
    /// Whether this is the crate's own `collect` (not a user function named so).
    #[cfg_attr(not(feature = "visualize"), allow(dead_code))]
    pub(crate) fn is_collect(&self) -> bool {
        self.role == Role::Collect
    }

    pub(crate) fn kind(&self) -> NodeKind {
        match self.body {
            Body::Task(_) => NodeKind::Task,
            Body::Data(_) => NodeKind::Data,
        }
    }

    /// The dask-style label `name-1f3a9c0e`.
    pub(crate) fn label(&self) -> String {
        format!("{}-{}", self.name, self.key.short())
    }

    /// The inputs that are nodes (for walks over the graph: rendering, reports).
    pub(crate) fn node_inputs(&self) -> impl DoubleEndedIterator<Item = &Arc<Node>> {
        self.inputs.iter().filter_map(|input| match input {
            Input::Node(node) => Some(node),
            Input::Const(_) => None,
        })
    }
}

impl Drop for Node {
    /// Unlinks children onto an explicit stack: dropping a chain of a million nodes
    /// recursively would overflow the thread's stack.
    fn drop(&mut self) {
        let mut stack: Vec<Arc<Node>> = Vec::new();
        take_node_inputs(&mut self.inputs, &mut stack);
        while let Some(child) = stack.pop() {
            // Only the last owner unlinks; other owners just decrement the count.
            if let Some(mut node) = Arc::into_inner(child) {
                take_node_inputs(&mut node.inputs, &mut stack);
            }
        }
    }
}

fn take_node_inputs(inputs: &mut InputList, stack: &mut Vec<Arc<Node>>) {
    if inputs.iter().all(|i| matches!(i, Input::Const(_))) {
        return;
    }
    for input in std::mem::take(inputs) {
        if let Input::Node(node) = input {
            stack.push(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: u64) -> Arc<Node> {
        Arc::new(Node {
            key: Key::from_bytes([n as u8; 32]),
            name: "data",
            inputs: InputList::Zero,
            body: Body::Data(Arc::new(n)),
            codec: None,
            remote: None,
            scope: Scope::Portable,
            role: Role::Plain,
        })
    }

    #[test]
    fn short_names() {
        assert_eq!(short_type_name("alloc::string::String"), "String");
        assert_eq!(
            short_type_name("alloc::vec::Vec<alloc::string::String>"),
            "Vec<String>"
        );
        assert_eq!(short_type_name("(i32, f64)"), "(i32, f64)");
    }

    #[test]
    fn names_made_at_run_time_are_kept_once() {
        let a = intern(Cow::Owned(format!("made-{}", 7)));
        let b = intern(Cow::Owned(String::from("made-7")));
        assert_eq!(a, "made-7");
        assert!(std::ptr::eq(a, b));
        let s = type_display_name::<Vec<String>>();
        assert_eq!(s, "Vec<String>");
        assert!(std::ptr::eq(s, type_display_name::<Vec<String>>()));
        assert_eq!(type_display_name::<(i32, f64)>(), "(i32, f64)");
    }

    #[test]
    fn deep_chain_drops_without_overflow() {
        let mut head = data(0);
        for _ in 0..1_000_000 {
            head = Arc::new(Node {
                key: Key::from_bytes([1; 32]),
                name: "link",
                inputs: InputList::One([Input::Node(head)]),
                body: Body::Data(Arc::new(())),
                codec: None,
                remote: None,
                scope: Scope::Portable,
                role: Role::Plain,
            });
        }
        drop(head);
    }

    #[test]
    fn input_list_keeps_order() {
        for n in 0..6u64 {
            let mut list = InputList::Zero;
            for i in 0..n {
                list.push(Input::Node(data(i)));
            }
            list.shrink();
            let keys: Vec<u8> = list
                .iter()
                .map(|input| match input {
                    Input::Node(node) => node.key.as_bytes()[0],
                    Input::Const(_) => u8::MAX,
                })
                .collect();
            assert_eq!(keys, (0..n as u8).collect::<Vec<_>>());
            assert_eq!(list.into_iter().count(), n as usize);
        }
    }

    #[test]
    fn shared_child_survives_parent_drop() {
        let child = data(7);
        let parent = Arc::new(Node {
            key: Key::from_bytes([2; 32]),
            name: "p",
            inputs: InputList::One([Input::Node(child.clone())]),
            body: Body::Data(Arc::new(())),
            codec: None,
            remote: None,
            scope: Scope::Portable,
            role: Role::Plain,
        });
        drop(parent);
        assert_eq!(Arc::strong_count(&child), 1);
        assert_eq!(child.kind(), NodeKind::Data);
    }
}
