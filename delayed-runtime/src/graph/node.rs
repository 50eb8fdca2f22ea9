//! The graph's one data type: an immutable, reference-counted node, what its body sees of
//! its inputs ([`Inputs`]) and, for bodies another process can run, their named form
//! ([`RemoteOp`]).
//!
//! A node is either a *task* (a function over its inputs) or *data* (a value held by the
//! graph). Its key is made from its function identity and the keys of its inputs: when it
//! is built, or, for a call whose arguments are all inputs, on first demand (shown,
//! cached, sent), by one walk with an explicit stack that makes the missing keys below it,
//! each once. Planning needs no key: it dedups by each node's digest and structure.
//!
//! Invariants, kept here by private fields and one constructor ([`Node::new`]):
//! - a node never changes once built (the planner and the executors read it from many
//!   threads without locks; a shared node is one allocation reached through many edges);
//! - its key names its computation: equal keys, equal results (the builders in `call.rs`
//!   make keys one way only; a data node's key is its content's);
//! - data has no inputs, so walks stop at data and a persisted result cuts its graph;
//! - its scope is never wider than any input's (a key holds only as far as all its
//!   upstream code and data);
//! - a remote op belongs to a task body only; a codec is a task's cache codec, a
//!   process-scope task's transfer codec (its result type's, for a body that stays in
//!   this process but whose result a cluster may read), or data's transfer codec.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::codec::Codec;
use crate::erased::{AnyValue, BoxError};
use crate::key::cell::{digest_of_call, digest_of_key, KeyCell, DIGEST_BITS};
use crate::key::Key;
use crate::slots::Slots;

/// A task body: reads its inputs in order and returns its result.
pub(crate) type TaskFn = dyn Fn(&mut Inputs<'_>) -> Result<AnyValue, BoxError> + Send + Sync;

/// The source index that means "a constant held by the node itself" (in a plan's
/// sources, beside the task numbers of other nodes' results).
pub(crate) const CONST: u32 = u32::MAX;

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
    /// Boxed, so that `Body` is one fat pointer (the task's box is never null): a node
    /// is built far more often as a task than as data.
    Data(Box<AnyValue>),
}

impl Body {
    /// Data holding `value`.
    pub(crate) fn data(value: AnyValue) -> Body {
        Body::Data(Box::new(value))
    }
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

/// How a node's digest, scope and role sit in its key cell's tag: the digest in the top
/// 56 bits, the scope in bits 2–3, the role in bit 4, whether the node stands for another
/// one (has its key and digest: a persisted, stored or fetched result) in bit 5, whether
/// it is keyed on demand from its inputs' keys in bit 6 (bits 0–1 are the cell's).
struct Tag;

impl Tag {
    const SCOPE_SHIFT: u32 = 2;
    const ROLE_BIT: u64 = 1 << 4;
    const COPY_BIT: u64 = 1 << 5;
    /// Keyed on demand from its inputs' keys (bit 6), read by the planner's walk.
    const BY_INPUTS_BIT: u64 = 1 << 6;
    const DIGEST_SHIFT: u32 = 64 - DIGEST_BITS;

    fn of(digest: u64, scope: Scope, role: Role) -> u64 {
        let scope = match scope {
            Scope::Process => 0,
            Scope::Build => 1,
            Scope::Portable => 2,
        };
        let role = match role {
            Role::Plain => 0,
            Role::Collect => Tag::ROLE_BIT,
        };
        (digest << Tag::DIGEST_SHIFT) | (scope << Tag::SCOPE_SHIFT) | role
    }

    fn digest(tag: u64) -> u64 {
        tag >> Tag::DIGEST_SHIFT
    }

    /// `tag` with the digest of `other` (the rest kept).
    fn with_digest(tag: u64, other: u64) -> u64 {
        let low = (1 << Tag::DIGEST_SHIFT) - 1;
        (tag & low) | (other & !low)
    }

    /// `tag` with `role` (the rest kept).
    fn with_role(tag: u64, role: Role) -> u64 {
        match role {
            Role::Plain => tag & !Tag::ROLE_BIT,
            Role::Collect => tag | Tag::ROLE_BIT,
        }
    }

    fn scope(tag: u64) -> Scope {
        match (tag >> Tag::SCOPE_SHIFT) & 0b11 {
            0 => Scope::Process,
            1 => Scope::Build,
            _ => Scope::Portable,
        }
    }

    fn role(tag: u64) -> Role {
        if tag & Tag::ROLE_BIT != 0 {
            Role::Collect
        } else {
            Role::Plain
        }
    }
}

// What the nodes of one call site share: a display name, a codec, a remote op and, for
// keys made on demand, the function's shape key. A node holds one pointer to its
// `Origin`, kept for the program's lifetime, instead of four fields: 32 bytes less per
// node, so that a node with its `Arc` header fits a 128-byte allocation. Origins are
// interned by the identity of their parts (all `'static`: names are literals or
// interned, `names.rs`; codecs and remote ops are statics; shapes are kept, `keying.rs`),
// so there are only as many as call sites and shapes; a small per-thread table answers
// repeats without a lock.

/// A node's name, codec, remote op and shape (see the module docs).
#[derive(Clone, Copy)]
pub(crate) struct Origin {
    /// The display name.
    pub(crate) name: &'static str,
    /// A task's cache codec (a process-scope task's transfer codec), or data's transfer
    /// codec.
    pub(crate) codec: Option<&'static Codec>,
    /// How another process runs the task's body.
    pub(crate) remote: Option<&'static RemoteOp>,
    /// For a key made on demand: the shape key hashed with the inputs' keys or held bytes.
    pub(crate) shape: Option<&'static Key>,
}

/// The identity of an origin's parts: addresses, not contents (equal contents at two
/// addresses make two origins, which is harmless; the count stays bounded by the code).
type Parts = [usize; 5];

const RECENT: usize = 64;

impl Origin {
    /// An origin with only a name.
    pub(crate) fn named(name: &'static str) -> Origin {
        Origin {
            name,
            codec: None,
            remote: None,
            shape: None,
        }
    }

    /// The one kept origin with these parts.
    #[inline]
    pub(crate) fn intern(self) -> &'static Origin {
        thread_local! {
            static RECENT_ORIGINS: [Cell<Option<&'static Origin>>; RECENT] =
                const { [const { Cell::new(None) }; RECENT] };
        }
        let parts = self.parts();
        let slot = slot_of(&parts);
        RECENT_ORIGINS.with(|recent| match recent[slot].get() {
            Some(kept) if same_parts(&kept.parts(), &parts) => kept,
            _ => {
                let kept = self.intern_shared(parts);
                recent[slot].set(Some(kept));
                kept
            }
        })
    }

    #[cold]
    fn intern_shared(self, parts: Parts) -> &'static Origin {
        static ORIGINS: OnceLock<Mutex<HashMap<Parts, &'static Origin>>> = OnceLock::new();
        let mut origins = ORIGINS
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        origins
            .entry(parts)
            .or_insert_with(|| Box::leak(Box::new(self)))
    }

    #[inline(always)]
    fn parts(&self) -> Parts {
        fn addr<T>(p: Option<&'static T>) -> usize {
            p.map_or(0, |p| p as *const T as usize)
        }
        [
            self.name.as_ptr() as usize,
            self.name.len(),
            addr(self.codec),
            addr(self.remote),
            addr(self.shape),
        ]
    }
}

/// The per-thread table slot of these parts (a multiplicative hash of the addresses).
#[inline(always)]
fn slot_of(parts: &Parts) -> usize {
    let mixed = parts
        .iter()
        .enumerate()
        .fold(0u64, |h, (i, &p)| h ^ (p as u64).rotate_left(13 * i as u32))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> (64 - RECENT.trailing_zeros())) as usize
}

/// Word by word, without a call to `memcmp`: this runs once per node built.
#[inline(always)]
fn same_parts(a: &Parts, b: &Parts) -> bool {
    a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

// In this order: what the planner's walk reads of every node (the `Arc`'s counts just
// before it, the inputs, the key cell's word) lies in the allocation's first 64 bytes.
#[repr(C)]
pub(crate) struct Node {
    inputs: InputList,
    /// Made when built, or on first demand from `shape` and the inputs' keys (and kept);
    /// or, for a call over plain values only, holding their bytes and made at every ask.
    /// Its tag holds the node's digest (what the planner files it under, `key/cell.rs`),
    /// its scope (how far the key holds: this process, this executable, or everywhere),
    /// its role, and whether it is a copy or keyed by its inputs (see [`Tag`]).
    key: KeyCell,
    /// Its name, codec, remote op and, for a key made on demand, its function's shape key
    /// (`keying.rs`) hashed with the inputs' keys: shared by the nodes of a call site.
    origin: &'static Origin,
    body: Body,
}

impl Node {
    /// A node of `body` over `inputs`, known as `name`, keyed `key` (valid as far as
    /// `scope`); a plain role, no codec, no remote op until set with the methods below.
    /// Data (a [`Body::Data`]) takes no inputs: they are dropped here, in debug builds a
    /// panic.
    #[inline(always)]
    pub(crate) fn new(
        key: Key,
        name: &'static str,
        scope: Scope,
        inputs: InputList,
        body: Body,
    ) -> Node {
        Node::keyed(key, Origin::named(name), scope, inputs, body)
    }

    /// A node of `body` over `inputs`, keyed `key` (valid as far as `scope`), from
    /// `origin` (its shape is ignored: the key is made); a plain role. A remote op is
    /// kept for a task only.
    #[inline(always)]
    pub(crate) fn keyed(
        key: Key,
        mut origin: Origin,
        scope: Scope,
        mut inputs: InputList,
        body: Body,
    ) -> Node {
        if matches!(body, Body::Data(_)) {
            debug_assert!(inputs.is_empty(), "a data node has no inputs");
            inputs = InputList::Zero;
        }
        inputs.shrink();
        let mut cell = KeyCell::ready(key);
        cell.set_tag(Tag::of(digest_of_key(&key), scope, Role::Plain));
        origin.shape = None;
        if matches!(body, Body::Data(_)) {
            origin.remote = None;
        }
        Node {
            key: cell,
            origin: origin.intern(),
            inputs,
            body,
        }
    }

    /// A task whose key is made on demand, the key of a call of the one-compression path
    /// (`keying.rs`): with `held: None`, `keyed_hash(shape, its inputs' keys)`, made once
    /// and kept (`inputs` are all nodes); with `held`, `keyed_hash(shape, the held bytes)`,
    /// made at every ask (`inputs` are all plain values; `held[0]` is the bytes' length).
    #[inline(always)]
    pub(crate) fn lazy(
        shape: &'static Key,
        held: Option<[u8; 32]>,
        origin: Origin,
        scope: Scope,
        mut inputs: InputList,
        body: Box<TaskFn>,
    ) -> Node {
        debug_assert!(inputs
            .iter()
            .all(|i| matches!(i, Input::Node(_)) == held.is_none()));
        inputs.shrink();
        let (digest, mut cell) = match held {
            None => {
                let digests = inputs.iter().map(|input| match input {
                    Input::Node(node) => node.digest(),
                    Input::Const(_) => 0,
                });
                (digest_of_call(shape, digests), KeyCell::empty())
            }
            Some(held) => {
                let words = held
                    .chunks_exact(8)
                    .map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()));
                (digest_of_call(shape, words), KeyCell::holding(held))
            }
        };
        let by_inputs = held.is_none() && !inputs.is_empty();
        let flag = if by_inputs { Tag::BY_INPUTS_BIT } else { 0 };
        cell.set_tag(Tag::of(digest, scope, Role::Plain) | flag);
        Node {
            key: cell,
            origin: Origin {
                shape: Some(shape),
                ..origin
            }
            .intern(),
            inputs,
            body: Body::Task(body),
        }
    }

    /// Filed where `like` is: for a node given `like`'s key (a persisted result, a
    /// stored one, one read from a cluster), so that the planner finds the two twins.
    pub(crate) fn with_digest_of(mut self, like: &Node) -> Node {
        debug_assert!(self.key() == like.key());
        let tag = Tag::with_digest(self.key.tag(), like.key.tag());
        self.key.set_tag(tag | Tag::COPY_BIT);
        self
    }

    /// Whether this node stands for another one (made by [`with_digest_of`]): the
    /// planner then finds twins by digest alone (`plan.rs`).
    ///
    /// [`with_digest_of`]: Node::with_digest_of
    pub(crate) fn is_copy(&self) -> bool {
        self.key.tag() & Tag::COPY_BIT != 0
    }

    /// Whether this is a call keyed on demand from its inputs' keys (it has inputs, all
    /// of them nodes): another node is the same computation only if it reads the same
    /// first input, which lets the planner look among that input's readers.
    pub(crate) fn is_keyed_by_inputs(&self) -> bool {
        self.key.tag() & Tag::BY_INPUTS_BIT != 0
    }

    /// With this role (the crate's own `collect`).
    #[inline(always)]
    pub(crate) fn with_role(mut self, role: Role) -> Node {
        self.key.set_tag(Tag::with_role(self.key.tag(), role));
        self
    }

    /// With a codec: a task's result is cached with it (`#[delayed(cache)]`); data's
    /// value is sent to a cluster with it.
    #[inline(always)]
    pub(crate) fn with_codec(mut self, codec: Option<&'static Codec>) -> Node {
        self.origin = Origin {
            codec,
            ..*self.origin
        }
        .intern();
        self
    }

    /// With the named form of its body, for other processes; only a task has one.
    #[cfg_attr(not(any(feature = "cache", feature = "dask")), allow(dead_code))] // `cache/`, `dask/`
    #[inline(always)]
    pub(crate) fn with_remote(mut self, remote: Option<&'static RemoteOp>) -> Node {
        let remote = remote.filter(|_| matches!(self.body, Body::Task(_)));
        self.origin = Origin {
            remote,
            ..*self.origin
        }
        .intern();
        self
    }

    /// The content key: equal keys, equal results. Made here if nobody asked before.
    #[inline]
    pub(crate) fn key(&self) -> Key {
        match self.key.get() {
            Some(key) => key,
            // Nothing below a held call: its key is one compression of its own bytes.
            None if self.key.held().is_some() => self.lazy_key(),
            None => self.make_key(),
        }
    }

    /// Makes the missing keys below this node, inputs first, with an explicit stack (a
    /// chain of a million calls keyed on demand is a million missing keys).
    #[cold]
    fn make_key(&self) -> Key {
        let mut stack: Vec<&Node> = vec![self];
        while let Some(&node) = stack.last() {
            if !node.key.is_empty() {
                stack.pop();
                continue;
            }
            let waiting = stack.len();
            stack.extend(
                node.node_inputs()
                    .map(|input| &**input)
                    .filter(|input| input.key.is_empty()),
            );
            if stack.len() == waiting {
                stack.pop();
                node.key.fill(|| node.lazy_key());
            }
        }
        self.key.fill(|| self.lazy_key())
    }

    /// The key of a node keyed on demand, once its inputs' keys are made: the bytes of
    /// the one-compression path, `keyed_hash(shape, input keys)` or `keyed_hash(shape,
    /// held bytes)`.
    fn lazy_key(&self) -> Key {
        let Some(shape) = self.origin.shape else {
            // Unreachable: a node without a shape got its key when it was built.
            return Key::from_bytes([0; 32]);
        };
        if let Some(held) = self.key.held() {
            let bytes = &held[1..=usize::from(held[0]).min(31)];
            return Key::from_bytes(*blake3::keyed_hash(shape.as_bytes(), bytes).as_bytes());
        }
        let mut hasher = blake3::Hasher::new_keyed(shape.as_bytes());
        for input in self.node_inputs() {
            hasher.update(input.key().as_bytes());
        }
        Key::from_bytes(*hasher.finalize().as_bytes())
    }

    /// Whether the key is made (built with it, or asked for since).
    #[cfg(test)]
    pub(crate) fn is_keyed(&self) -> bool {
        self.key.get().is_some()
    }

    /// What the planner files this node under (`key/cell.rs`).
    #[inline]
    pub(crate) fn digest(&self) -> u64 {
        Tag::digest(self.key.tag())
    }

    /// Whether `self` and `other`, whose inputs are the same tasks (the planner checks
    /// that), are one computation: for two nodes keyed on demand, one function and shape
    /// and the same plain arguments (their keys are made from those and the inputs'
    /// keys); otherwise, equal keys.
    pub(crate) fn same_as(&self, other: &Node, same_inputs: impl FnOnce() -> bool) -> bool {
        match (self.origin.shape, other.origin.shape) {
            (Some(a), Some(b)) => a == b && self.key.held() == other.key.held() && same_inputs(),
            _ => self.key() == other.key(),
        }
    }

    /// How far the key holds.
    pub(crate) fn scope(&self) -> Scope {
        Tag::scope(self.key.tag())
    }

    /// What the node is for (see [`Role`]).
    pub(crate) fn role(&self) -> Role {
        Tag::role(self.key.tag())
    }

    /// The display name.
    pub(crate) fn name(&self) -> &'static str {
        self.origin.name
    }

    /// The inputs, in parameter order.
    #[inline]
    pub(crate) fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// The body: a task's function, or data's value.
    #[inline]
    pub(crate) fn body(&self) -> &Body {
        &self.body
    }

    /// A task's cache codec (a process-scope task's transfer codec), or data's transfer
    /// codec, if any.
    #[cfg_attr(not(feature = "cache"), allow(dead_code))]
    pub(crate) fn codec(&self) -> Option<&'static Codec> {
        self.origin.codec
    }

    /// The named form of its body, if another process can run it.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn remote(&self) -> Option<&'static RemoteOp> {
        self.origin.remote
    }

    /// Whether this is a task (not data).
    #[cfg_attr(not(feature = "cache"), allow(dead_code))] // read by `cache/` and `dask/`
    #[inline]
    pub(crate) fn is_task(&self) -> bool {
        matches!(self.body, Body::Task(_))
    }

    /// Whether this is the crate's own `collect` (not a user function named so).
    pub(crate) fn is_collect(&self) -> bool {
        self.role() == Role::Collect
    }

    pub(crate) fn kind(&self) -> NodeKind {
        match self.body {
            Body::Task(_) => NodeKind::Task,
            Body::Data(_) => NodeKind::Data,
        }
    }

    /// The dask-style label `name-1f3a9c0e`.
    pub(crate) fn label(&self) -> String {
        format!("{}-{}", self.name(), self.key().short())
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

/// A node body that another process running the same executable can run: plain `fn`s
/// over type-erased inputs, and the codecs of its inputs and result. `#[delayed]` emits
/// one per non-generic function (a `static`); every task whose body is a zero-sized
/// closure gets one made for its types (`remote.rs`). Being all `fn` pointers and
/// `&'static str`s, an op is a constant of the executable's image, so a worker running
/// the same build finds it at the same offset from a fixed symbol (`dask/wire.rs`).
#[cfg_attr(not(feature = "dask"), allow(dead_code))] // read by `dask/`
pub struct RemoteOp {
    path: &'static str,
    /// The body: reads its inputs in order, returns the result.
    pub(crate) run: fn(&mut Inputs<'_>) -> Result<AnyValue, BoxError>,
    /// The codec of input `i`, when the op knows its type (`None`: unknown here, or not
    /// serde; a value is then encoded with the codec of its own type, if one is known).
    pub(crate) input: fn(usize) -> Option<&'static Codec>,
    /// The codec of the result (`None`: not serde, or no codec known for its type).
    pub(crate) output: fn() -> Option<&'static Codec>,
    /// The result type's name, for messages.
    pub(crate) output_name: fn() -> &'static str,
    /// dask resources a worker must have to run it (`#[delayed(resources(GPU = 1))]`).
    pub(crate) resources: &'static [(&'static str, f64)],
    /// dask priority (`#[delayed(priority = 10)]`): higher runs first.
    pub(crate) priority: i32,
}

#[cfg_attr(not(feature = "dask"), allow(dead_code))]
impl RemoteOp {
    /// An op for the function at `path` (`_tokens`, its token hash, is what told
    /// functions apart when ops were found by a stable id; offsets need no id).
    pub const fn new(
        path: &'static str,
        _tokens: &'static str,
        run: fn(&mut Inputs<'_>) -> Result<AnyValue, BoxError>,
        input: fn(usize) -> Option<&'static Codec>,
        output: fn() -> Option<&'static Codec>,
    ) -> RemoteOp {
        RemoteOp {
            path,
            run,
            input,
            output,
            output_name: unnamed,
            resources: &[],
            priority: 0,
        }
    }

    /// With the dask resources and priority its `#[delayed(...)]` asked for.
    pub const fn annotated(
        mut self,
        resources: &'static [(&'static str, f64)],
        priority: i32,
    ) -> RemoteOp {
        self.resources = resources;
        self.priority = priority;
        self
    }

    /// Whether it asks dask for resources or a priority.
    pub(crate) fn is_annotated(&self) -> bool {
        !self.resources.is_empty() || self.priority != 0
    }

    /// An op for a body known by its type only (`remote.rs`): no path, the result's
    /// type named by `output_name`.
    pub(crate) const fn erased(
        run: fn(&mut Inputs<'_>) -> Result<AnyValue, BoxError>,
        output: fn() -> Option<&'static Codec>,
        output_name: fn() -> &'static str,
    ) -> RemoteOp {
        RemoteOp {
            path: "",
            run,
            input: no_input_codec,
            output,
            output_name,
            resources: &[],
            priority: 0,
        }
    }

    /// The function's path, for messages.
    pub(crate) fn path(&self) -> &'static str {
        self.path
    }
}

fn unnamed() -> &'static str {
    "the result"
}

fn no_input_codec(_: usize) -> Option<&'static Codec> {
    None
}

impl std::fmt::Debug for RemoteOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteOp({})", self.path)
    }
}

/// The inputs of one running task. Generated code reads them in parameter order with
/// [`take`](Inputs::take) or [`share`](Inputs::share); inputs left unread (because the
/// body failed early) are released when this is dropped, so no result outlives its use.
pub struct Inputs<'a> {
    consts: &'a [Input],
    sources: &'a [u32],
    slots: &'a Slots,
    cursor: usize,
}

impl<'a> Inputs<'a> {
    pub(crate) fn new(consts: &'a [Input], sources: &'a [u32], slots: &'a Slots) -> Self {
        Inputs {
            consts,
            sources,
            slots,
            cursor: 0,
        }
    }

    /// How many inputs the task has.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// `true` when the task has no inputs.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    fn next_any(&mut self) -> Result<AnyValue, BoxError> {
        let i = self.cursor;
        let source = *self
            .sources
            .get(i)
            .ok_or("internal error: a task read more inputs than it has")?;
        self.cursor += 1;
        if source == CONST {
            match &self.consts[i] {
                Input::Const(value) => Ok(value.clone()),
                Input::Node(_) => Err("internal error: input is not a constant".into()),
            }
        } else {
            self.slots.fetch(source).ok_or_else(|| {
                "internal error: an input was released before its consumer ran".into()
            })
        }
    }

    /// The next input by value: moved out when nothing else holds it, cloned otherwise.
    pub fn take<T: Clone + Send + Sync + 'static>(&mut self) -> Result<T, BoxError> {
        let shared = self.share::<T>()?;
        Ok(Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// The next input, shared: for parameters that borrow (`&T`, `&str`, `&[T]`).
    pub fn share<T: Send + Sync + 'static>(&mut self) -> Result<Arc<T>, BoxError> {
        self.next_any()?.downcast::<T>().map_err(|_| {
            format!(
                "internal error: input {} is not a `{}`",
                self.cursor - 1,
                std::any::type_name::<T>()
            )
            .into()
        })
    }
}

impl Inputs<'_> {
    /// [`take`](Inputs::take) without `Send + Sync` bounds, for generated code whose types
    /// are checked elsewhere (so that a type error is reported once, where it is checked).
    #[doc(hidden)]
    pub fn take_unbounded<T: Clone + 'static>(&mut self) -> Result<T, BoxError> {
        let shared = self.share_unbounded::<T>()?;
        Ok(Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// [`share`](Inputs::share) without `Send + Sync` bounds (see
    /// [`take_unbounded`](Inputs::take_unbounded)).
    #[doc(hidden)]
    pub fn share_unbounded<T: 'static>(&mut self) -> Result<Arc<T>, BoxError> {
        let any = self.next_any()?;
        if !(*any).is::<T>() {
            return Err(format!(
                "internal error: input {} is not a `{}`",
                self.cursor - 1,
                std::any::type_name::<T>()
            )
            .into());
        }
        // SAFETY: the value is a `T` (checked just above), so this is `Arc::downcast`
        // minus its `T: Send + Sync` bound. That bound only serves the coercion into
        // `dyn Any + Send + Sync`, which was made when the value was stored: `T` is
        // `Send + Sync` in fact. The pointer comes from `Arc::into_raw` of this very `Arc`.
        Ok(unsafe { Arc::from_raw(Arc::into_raw(any).cast::<T>()) })
    }
}

impl Drop for Inputs<'_> {
    fn drop(&mut self) {
        for &source in &self.sources[self.cursor.min(self.sources.len())..] {
            if source != CONST {
                self.slots.release(source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: u64) -> Arc<Node> {
        let key = Key::from_bytes([n as u8; 32]);
        let body = Body::data(Arc::new(n));
        Arc::new(Node::new(
            key,
            "data",
            Scope::Portable,
            InputList::Zero,
            body,
        ))
    }

    fn task(key: u8, inputs: InputList) -> Arc<Node> {
        let body = Body::Task(Box::new(|_: &mut Inputs<'_>| Ok(Arc::new(()) as AnyValue)));
        let key = Key::from_bytes([key; 32]);
        Arc::new(Node::new(key, "link", Scope::Portable, inputs, body))
    }

    #[test]
    fn deep_chain_drops_without_overflow() {
        let mut head = data(0);
        for _ in 0..1_000_000 {
            head = task(1, InputList::One([Input::Node(head)]));
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
                    Input::Node(node) => node.key().as_bytes()[0],
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
        let parent = task(2, InputList::One([Input::Node(child.clone())]));
        drop(parent);
        assert_eq!(Arc::strong_count(&child), 1);
        assert_eq!(child.kind(), NodeKind::Data);
    }

    #[cfg(feature = "cache")]
    #[test]
    fn data_keeps_a_codec_but_no_remote() {
        static OP: RemoteOp = RemoteOp::erased(|_| Ok(Arc::new(1u8)), || None, || "u8");
        let node = Node::new(
            Key::from_bytes([3; 32]),
            "d",
            Scope::Portable,
            InputList::Zero,
            Body::data(Arc::new(1u8)),
        )
        .with_codec(Some(crate::codec::codec_of::<u8>()))
        .with_remote(Some(&OP));
        assert!(node.codec().is_some() && node.remote().is_none());
    }

    #[test]
    fn equal_parts_give_one_origin() {
        static NAME: &str = "interned-a";
        let a = Origin::named(NAME).intern();
        let b = Origin::named(NAME).intern();
        assert!(std::ptr::eq(a, b));
        assert_eq!(a.name, "interned-a");
        let other = Origin::named("interned-b").intern();
        assert!(!std::ptr::eq(a, other));
    }

    #[test]
    fn each_part_tells_origins_apart() {
        static SHAPE: Key = Key::from_bytes([7; 32]);
        let plain = Origin::named("f").intern();
        let shaped = Origin {
            shape: Some(&SHAPE),
            ..Origin::named("f")
        }
        .intern();
        assert!(!std::ptr::eq(plain, shaped));
        assert_eq!(shaped.shape, Some(&SHAPE));
        assert_eq!(plain.shape, None);
    }

    #[test]
    fn threads_share_origins() {
        // One name, at one address (two equal literals may sit at two).
        static NAME: &str = "shared-across-threads";
        let here = Origin::named(NAME).intern() as *const Origin as usize;
        let there = std::thread::spawn(|| Origin::named(NAME).intern() as *const Origin as usize)
            .join()
            .unwrap_or_default();
        assert_eq!(here, there);
    }

    #[test]
    fn a_full_table_still_interns_correctly() {
        // More distinct origins than the per-thread table holds: collisions fall back to
        // the shared map and still give each name its one origin.
        let names: Vec<&'static str> = (0..4 * RECENT)
            .map(|i| &*Box::leak(format!("origin-{i}").into_boxed_str()))
            .collect();
        let first: Vec<&'static Origin> = names.iter().map(|n| Origin::named(n).intern()).collect();
        for (name, origin) in names.iter().zip(&first) {
            assert!(std::ptr::eq(Origin::named(name).intern(), *origin));
            assert_eq!(origin.name, *name);
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_node_and_its_arc_header_fit_128_bytes() {
        // malloc rounds a request plus its own 8-byte header up to 16: 16 (the `Arc`'s
        // counts) + 104 + 8 = 128. One byte more and every node costs 144.
        assert!(
            std::mem::size_of::<Node>() <= 104,
            "{}",
            std::mem::size_of::<Node>()
        );
    }
}
