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

use std::sync::OnceLock;

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
    pub(crate) fn shape_key(&self, nargs: u8, consts: u8) -> Key {
        let slot = (1usize << nargs) - 1 + usize::from(consts);
        *self.shapes[slot].get_or_init(|| {
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
    Stream(Box<KeyHasher>),
}

pub(crate) struct Fast {
    id: &'static FnId,
    bytes: [u8; FAST_BYTES],
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
            len: 0,
            first_len: 0,
            nargs: 0,
            consts: 0,
        })
    }

    /// A call identified by a string known only at run time.
    pub(crate) fn dynamic(identity: &str) -> Keying {
        let mut h = Box::new(KeyHasher::new("delayed.call"));
        h.write_str(identity);
        Keying::Stream(h)
    }

    /// The stream, to add to the identity or arguments (`None` for impure calls). A call
    /// on the fast path leaves it here.
    pub(crate) fn stream(&mut self) -> Option<&mut KeyHasher> {
        if let Keying::Fast(fast) = self {
            *self = Keying::Stream(fast.replay());
        }
        match self {
            Keying::Stream(h) => Some(h),
            _ => None,
        }
    }

    /// The next argument is the result of a node with `key`.
    pub(crate) fn node(&mut self, key: &Key) {
        if let Keying::Fast(fast) = self {
            if fast.push(key.as_bytes(), false) {
                return;
            }
        }
        if let Some(h) = self.stream() {
            h.write_u8(b'n');
            h.write_key(key);
        }
    }

    /// The next argument is a plain value, written by `write` after its type name.
    pub(crate) fn value<T>(&mut self, value: &T, write: fn(&T, &mut KeyHasher)) {
        if let Keying::Fast(fast) = self {
            let mut tmp = KeyHasher::gather();
            tmp.write_str(std::any::type_name::<T>());
            write(value, &mut tmp);
            if tmp.since(0).is_some_and(|bytes| fast.push(bytes, true)) {
                return;
            }
        }
        if let Some(h) = self.stream() {
            h.write_u8(b'v');
            h.write_str(std::any::type_name::<T>());
            write(value, h);
        }
    }

    /// The key: fresh, one compression, or the stream's hash.
    pub(crate) fn finish(&self, name: &str) -> Key {
        match self {
            Keying::Fresh => fresh_key(name),
            Keying::Fast(fast) => {
                let shape = fast.id.shape_key(fast.nargs, fast.consts);
                let bytes = &fast.bytes[..usize::from(fast.len)];
                Key::from_bytes(*blake3::keyed_hash(shape.as_bytes(), bytes).as_bytes())
            }
            Keying::Stream(h) => h.finish(),
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

    /// The stream this call would have had from the start.
    fn replay(&self) -> Box<KeyHasher> {
        let mut h = Box::new(KeyHasher::new("delayed.call"));
        h.write_key(&self.id.base());
        let args = [
            &self.bytes[..usize::from(self.first_len)],
            &self.bytes[usize::from(self.first_len)..usize::from(self.len)],
        ];
        for (i, bytes) in args.iter().enumerate().take(usize::from(self.nargs)) {
            h.write_u8(if self.consts & (1 << i) != 0 {
                b'v'
            } else {
                b'n'
            });
            h.write_raw(bytes);
        }
        h
    }
}
