//! How a call's key is built: one blake3 compression for most calls, a tagged stream for
//! the rest.
//!
//! A call of a static function (`#[delayed]`, the crate's own ops without type
//! parameters) with at most two arguments whose bytes fit in 64 — two input keys, or small
//! plain values — is keyed as `keyed_hash(shape key, argument bytes)`: one compression.
//! The shape key is derived once per function and shape (how many arguments, which of
//! them are plain values), so the argument bytes need no tags. Any other call (a type or
//! string added to its identity, more or larger arguments, `map`/`delay!` identities)
//! hashes its whole stream: domain, identity, and each argument tagged `n` (an input's
//! key) or `v` (a plain value's type and content). Keyed and plain blake3 are different
//! modes, so keys of the two paths never meet; a call that leaves the fast path replays
//! what it had gathered into the stream.
//!
//! An input's key is read while the call is built only when the key is made then (a
//! call mixing inputs and plain values, a stream naming a value): otherwise its place in
//! the bytes is kept and filled when the key is made. A call on the one-compression path
//! whose arguments are all inputs is not hashed at all when built ([`Made::OnDemand`]): its node makes its
//! key when asked (`node.rs`), and the planner dedups it by structure. So is a call of
//! the stream whose arguments are all inputs and whose identity names no value (`collect`
//! of many inputs, an operator over two, `map`, a generic function): its stream so far
//! (domain and identity) is hashed into a *shape* of its own, kept once per distinct
//! identity, and its key is `keyed_hash(shape, the inputs' keys)`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::graph::node::{Input, Node};
use crate::key::{fresh_key, Key, KeyHasher};

/// The identity of a delayed function, fixed at compile time: its path, its display name
/// and a hash of its own tokens (so editing its body changes its keys).
///
/// Generated code keeps one in a `static`; its hash is computed once.
#[derive(Debug)]
pub struct FnId {
    path: &'static str,
    name: &'static str,
    tokens: &'static str,
    base: OnceLock<Key>,
    /// Keys of the one-compression path (see [`Keying`]), per argument shape: for
    /// 0, 1 and 2 arguments, which of them are plain values.
    shapes: [OnceLock<Key>; SHAPES],
}

/// Argument shapes with a key of their own: 1 with no arguments, 2 with one, 4 with two.
const SHAPES: usize = 7;

impl FnId {
    /// An identity from the function's path, display name and token hash.
    pub const fn new(path: &'static str, name: &'static str, tokens: &'static str) -> FnId {
        FnId {
            path,
            name,
            tokens,
            base: OnceLock::new(),
            shapes: [const { OnceLock::new() }; SHAPES],
        }
    }

    /// The display name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn base(&self) -> Key {
        *self.base.get_or_init(|| {
            let mut h = KeyHasher::new("delayed.fn");
            h.write_str(self.path);
            h.write_str(self.tokens);
            h.finish()
        })
    }

    /// The blake3 key for calls of this function with `nargs` (at most 2) arguments,
    /// of which those set in `consts` are plain values: derived once per shape.
    pub(crate) fn shape_key(&self, nargs: u8, consts: u8) -> &Key {
        let slot = (1usize << nargs) - 1 + usize::from(consts);
        self.shapes[slot].get_or_init(|| {
            let mut h = KeyHasher::new("delayed.call.shape");
            h.write_key(&self.base());
            h.write_u8(nargs);
            h.write_u8(consts);
            h.finish()
        })
    }
}

/// Argument bytes of the one-compression path: two 32-byte input keys fill one block.
const FAST_BYTES: usize = 64;

pub(crate) enum Keying {
    /// An impure call: a fresh key, inputs not hashed.
    Fresh,
    Fast(Fast),
    /// Boxed: the stream's inline buffer would make every `Call` large to move.
    Stream(Box<Stream>),
}

/// How a call's key turned out.
pub(crate) enum Made {
    /// Made now.
    Key(Key),
    /// To be made on demand: `keyed_hash(shape, the inputs' keys)` (a call of the
    /// one-compression path whose arguments are all inputs).
    OnDemand(&'static Key),
    /// To be made at every ask: `keyed_hash(shape, bytes)`, with `held[0]` the length of
    /// the bytes that follow it (a call of the one-compression path whose arguments are
    /// all plain values, of at most 31 bytes).
    Held(&'static Key, [u8; 32]),
}

pub(crate) struct Stream {
    h: KeyHasher,
    /// A plain value is part of the stream (an argument, or in the identity): the call
    /// is keyed when built (a shape per value would be kept for good).
    values: bool,
    /// The inputs from this index on are arguments whose keys are not written yet.
    deferred: Option<usize>,
}

impl Stream {
    fn new(h: KeyHasher) -> Box<Stream> {
        Box::new(Stream {
            h,
            values: false,
            deferred: None,
        })
    }

    /// Writes the deferred inputs' keys, tagged `n` (plain inputs among them are not
    /// keyed: they are in the identity already).
    fn write_deferred(&mut self, inputs: &[Input]) {
        if let Some(from) = self.deferred.take() {
            for input in inputs.get(from..).unwrap_or_default() {
                if let Input::Node(node) = input {
                    self.h.write_u8(b'n');
                    self.h.write_key(&node.key());
                }
            }
        }
    }
}

/// The shape key kept for good for `key` (one per distinct identity a program calls:
/// code, types and call sites, never values), first from this thread's own table.
fn kept_shape(key: Key) -> &'static Key {
    thread_local! {
        static LOCAL: RefCell<HashMap<Key, &'static Key>> = RefCell::default();
    }
    static ALL: OnceLock<Mutex<HashMap<Key, &'static Key>>> = OnceLock::new();
    LOCAL.with_borrow_mut(|local| {
        *local.entry(key).or_insert_with(|| {
            let mut all = ALL
                .get_or_init(Mutex::default)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *all.entry(key).or_insert_with(|| Box::leak(Box::new(key)))
        })
    })
}

pub(crate) struct Fast {
    id: &'static FnId,
    /// The arguments' bytes; an input's 32 are filled from its node when the key is made.
    bytes: [u8; FAST_BYTES],
    /// For each argument that is an input: its index among the call's inputs.
    input_of: [u32; 2],
    len: u8,
    /// Where the second argument starts (the first one's length).
    first_len: u8,
    nargs: u8,
    /// Bit `i` set: argument `i` is a plain value, not an input's key.
    consts: u8,
}

impl Keying {
    /// A call of a static function: starts on the fast path.
    pub(crate) fn of(id: &'static FnId) -> Keying {
        Keying::Fast(Fast {
            id,
            bytes: [0; FAST_BYTES],
            input_of: [0; 2],
            len: 0,
            first_len: 0,
            nargs: 0,
            consts: 0,
        })
    }

    /// A call identified by a string known only at run time.
    pub(crate) fn dynamic(identity: &str) -> Keying {
        let mut h = KeyHasher::new("delayed.call");
        h.write_str(identity);
        Keying::Stream(Stream::new(h))
    }

    /// The stream, to add to the identity or arguments (`None` for impure calls). A call
    /// on the fast path leaves it here; `inputs` are the call's inputs so far.
    pub(crate) fn stream(&mut self, inputs: &[Input]) -> Option<&mut KeyHasher> {
        self.leave_fast(inputs);
        match self {
            Keying::Stream(stream) => {
                stream.write_deferred(inputs);
                Some(&mut stream.h)
            }
            _ => None,
        }
    }

    /// A plain value was added to the identity (`with_value`): the call is keyed when
    /// built (a call on the fast path leaves it for the stream here, so that the value
    /// never becomes part of a kept shape).
    pub(crate) fn named_a_value(&mut self, inputs: &[Input]) {
        self.leave_fast(inputs);
        if let Keying::Stream(stream) = self {
            stream.values = true;
        }
    }

    /// A call on the fast path moves to the stream (the stream it would have had).
    fn leave_fast(&mut self, inputs: &[Input]) {
        if let Keying::Fast(fast) = self {
            *self = Keying::Stream(fast.replay(inputs));
        }
    }

    /// The next argument is input `index` of the call, the result of `node` (`inputs`:
    /// the call's inputs so far; on the fast path its key is read only when needed).
    pub(crate) fn node(&mut self, node: &Node, index: usize, inputs: &[Input]) {
        if let Keying::Fast(fast) = self {
            if fast.push(&[0; 32], false) {
                fast.input_of[usize::from(fast.nargs) - 1] = index as u32;
                return;
            }
        }
        self.leave_fast(inputs);
        if let Keying::Stream(stream) = self {
            if !stream.values {
                stream.deferred.get_or_insert(index);
                return;
            }
        }
        if let Some(h) = self.stream(inputs) {
            h.write_u8(b'n');
            h.write_key(&node.key());
        }
    }

    /// The next argument is a plain value, written by `write` after its type name.
    pub(crate) fn value<T>(&mut self, value: &T, write: fn(&T, &mut KeyHasher), inputs: &[Input]) {
        if let Keying::Fast(fast) = self {
            let mut tmp = KeyHasher::gather();
            tmp.write_str(std::any::type_name::<T>());
            write(value, &mut tmp);
            if tmp.since(0).is_some_and(|bytes| fast.push(bytes, true)) {
                return;
            }
        }
        self.named_a_value(inputs);
        if let Some(h) = self.stream(inputs) {
            h.write_u8(b'v');
            h.write_str(std::any::type_name::<T>());
            write(value, h);
        }
    }

    /// The key: fresh, one compression (now, or on demand when every argument is an
    /// input), or the stream's hash (on demand when every argument is an input and the
    /// identity names no value).
    pub(crate) fn finish(&mut self, name: &str, inputs: &[Input]) -> Made {
        match self {
            Keying::Fresh => Made::Key(fresh_key(name)),
            Keying::Fast(fast) => {
                let shape = fast.id.shape_key(fast.nargs, fast.consts);
                let one_per_arg = fast.nargs > 0 && inputs.len() == usize::from(fast.nargs);
                if one_per_arg && fast.consts == 0 {
                    return Made::OnDemand(shape);
                }
                let len = usize::from(fast.len);
                if one_per_arg && fast.consts == (1 << fast.nargs) - 1 && len < 32 {
                    let mut held = [0u8; 32];
                    held[0] = fast.len;
                    held[1..=len].copy_from_slice(&fast.bytes[..len]);
                    return Made::Held(shape, held);
                }
                let bytes = &fast.filled(inputs)[..usize::from(fast.len)];
                Made::Key(Key::from_bytes(
                    *blake3::keyed_hash(shape.as_bytes(), bytes).as_bytes(),
                ))
            }
            Keying::Stream(stream) => {
                let all_inputs = stream.deferred == Some(0)
                    && inputs.iter().all(|i| matches!(i, Input::Node(_)));
                if all_inputs && !stream.values {
                    return Made::OnDemand(kept_shape(stream.h.finish()));
                }
                stream.write_deferred(inputs);
                Made::Key(stream.h.finish())
            }
        }
    }
}

impl Fast {
    /// Appends an argument; `false` when the call must leave the fast path (a third
    /// argument, or more than 64 bytes).
    fn push(&mut self, bytes: &[u8], is_value: bool) -> bool {
        let start = usize::from(self.len);
        let end = start + bytes.len();
        if self.nargs >= 2 || end > FAST_BYTES {
            return false;
        }
        self.bytes[start..end].copy_from_slice(bytes);
        if self.nargs == 0 {
            self.first_len = end as u8;
        }
        if is_value {
            self.consts |= 1 << self.nargs;
        }
        self.nargs += 1;
        self.len = end as u8;
        true
    }

    /// The argument bytes with the inputs' keys in their places.
    fn filled(&self, inputs: &[Input]) -> [u8; FAST_BYTES] {
        let mut bytes = self.bytes;
        let starts = [0, usize::from(self.first_len)];
        for arg in 0..usize::from(self.nargs) {
            if self.consts & (1 << arg) != 0 {
                continue;
            }
            if let Some(Input::Node(node)) = inputs.get(self.input_of[arg] as usize) {
                bytes[starts[arg]..starts[arg] + 32].copy_from_slice(node.key().as_bytes());
            }
        }
        bytes
    }

    /// The stream this call would have had from the start: its arguments so far written,
    /// or, when they are all inputs, deferred.
    fn replay(&self, inputs: &[Input]) -> Box<Stream> {
        let mut h = KeyHasher::new("delayed.call");
        h.write_key(&self.id.base());
        if self.consts == 0 {
            let mut stream = Stream::new(h);
            if self.nargs > 0 {
                stream.deferred = Some(self.input_of[0] as usize);
            }
            return stream;
        }
        let bytes = self.filled(inputs);
        let args = [
            &bytes[..usize::from(self.first_len)],
            &bytes[usize::from(self.first_len)..usize::from(self.len)],
        ];
        for (i, bytes) in args.iter().enumerate().take(usize::from(self.nargs)) {
            h.write_u8(if self.consts & (1 << i) != 0 {
                b'v'
            } else {
                b'n'
            });
            h.write_raw(bytes);
        }
        let mut stream = Stream::new(h);
        stream.values = true;
        stream
    }
}
