//! Keys: the 32-byte blake3 identity of every node, and the hasher that builds them.

pub(crate) mod cell;
pub(crate) mod keying;
pub(crate) mod tokenize;

use std::fmt;

/// The content hash of a node: its function identity and the keys of its inputs, or, for
/// data, its type name and content.
///
/// Equal keys mean "the same computation": one `compute` runs each distinct key once, and
/// two different pieces of code never share a key. Keys of code the macros see whole
/// (`#[delayed]` functions, data, the crate's operators) are stable across runs, builds and
/// machines of one toolchain: they contain no addresses, no `TypeId`, no absolute paths and
/// no run order, so caches can rely on them. Keys of code seen only by type name (a plain
/// fn through `delay!`) hold for one executable, and those of closures known only by
/// `TypeId` (through a variable or a generic helper) for one process; the on-disk cache
/// treats them accordingly (see the `delayed` crate docs, "What a key covers").
///
/// ```
/// use delayed::{value, Key};
/// let k: Key = value(42u32).key();
/// assert_eq!(k, value(42u32).key());
/// assert_eq!(k.to_hex().len(), 64);
/// assert_eq!(k.to_string(), k.to_hex());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key([u8; 32]);

impl Key {
    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Key {
        Key(bytes)
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// The first 8 hex digits, as used in `name-1f3a9c0e` labels.
    pub fn short(&self) -> String {
        self.to_hex()[..8].to_owned()
    }

    /// Parses 64 hex digits back into a key.
    pub fn from_hex(hex: &str) -> Option<Key> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            *byte = (hi * 16 + lo) as u8;
        }
        Some(Key(out))
    }

    /// The first 8 bytes as an integer: keys are uniform hashes already, so this is a
    /// perfect `HashMap` hash without hashing again.
    pub(crate) fn prefix64(&self) -> u64 {
        let mut head = [0u8; 8];
        head.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(head)
    }
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.prefix64());
    }
}

/// A `Hasher` for maps keyed by [`Key`]: the key is a uniform hash already, so its first
/// eight bytes are used as they are instead of hashing 32 bytes again with SipHash.
#[derive(Default)]
#[cfg_attr(not(feature = "visualize"), allow(dead_code))] // used by `render/`
pub(crate) struct KeyIdHasher(u64);

impl std::hash::Hasher for KeyIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// `HashMap` keyed by [`Key`] without rehashing.
#[cfg_attr(not(feature = "visualize"), allow(dead_code))]
pub(crate) type KeyMap<V> =
    std::collections::HashMap<Key, V, std::hash::BuildHasherDefault<KeyIdHasher>>;

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

/// The sink that [`Tokenize`](crate::Tokenize) writes a value's content into; a thin layer
/// over a blake3 hasher.
///
/// Every `write_*` method encodes its input so that the encoding is self-delimiting:
/// variable-length data is prefixed by its length, so `("ab", "c")` and `("a", "bc")`
/// never produce the same stream.
///
/// The stream of a typical call (a domain tag, the function's identity, a few argument
/// keys or small values) is well under 160 bytes: it is gathered in an inline
/// buffer and hashed in one go when the key is finished. Only longer streams (large
/// values, calls with many arguments) spill into blake3's streaming hasher, whose ~2 KB
/// state would otherwise be set up and copied for every node. The key is the same
/// either way: blake3 of the whole stream.
pub struct KeyHasher {
    len: usize,
    buf: [u8; INLINE],
    spill: Option<Box<blake3::Hasher>>,
    /// Only gathers bytes (see [`gather`](Self::gather)): what does not fit inline is
    /// dropped instead of hashed, and `overflowed` says so.
    gather_only: bool,
    overflowed: bool,
}

/// Bytes of a key stream kept inline before spilling into a streaming hasher.
const INLINE: usize = 160;

impl KeyHasher {
    /// A hasher whose stream starts with `domain`, a tag that keeps different kinds of
    /// keys (calls, data, fresh keys) apart.
    pub(crate) fn new(domain: &str) -> KeyHasher {
        let mut hasher = KeyHasher {
            len: 0,
            buf: [0; INLINE],
            spill: None,
            gather_only: false,
            overflowed: false,
        };
        hasher.write_str(domain);
        hasher
    }

    #[inline]
    fn update(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if end <= INLINE {
            self.buf[self.len..end].copy_from_slice(bytes);
            self.len = end;
        } else {
            self.update_spilled(bytes);
        }
    }

    #[cold]
    fn update_spilled(&mut self, bytes: &[u8]) {
        if self.gather_only {
            self.overflowed = true;
            return;
        }
        let spill = self
            .spill
            .get_or_insert_with(|| Box::new(blake3::Hasher::new()));
        spill.update(&self.buf[..self.len]);
        self.len = 0;
        if bytes.len() > INLINE {
            spill.update(bytes);
        } else {
            self.buf[..bytes.len()].copy_from_slice(bytes);
            self.len = bytes.len();
        }
    }

    /// Writes raw bytes, without a length prefix. Use it only for data whose length is
    /// fixed by its type; otherwise call [`write_len`](Self::write_len) first.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }

    /// Writes a length (or count) as 8 little-endian bytes.
    pub fn write_len(&mut self, len: usize) {
        self.write_u64(len as u64);
    }

    /// Writes one byte.
    pub fn write_u8(&mut self, v: u8) {
        self.update(&[v]);
    }

    /// Writes 8 little-endian bytes.
    pub fn write_u64(&mut self, v: u64) {
        self.update(&v.to_le_bytes());
    }

    /// Writes length-prefixed bytes.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.write_len(bytes.len());
        self.update(bytes);
    }

    /// Writes a length-prefixed UTF-8 string.
    pub fn write_str(&mut self, s: &str) {
        self.write_bytes(s.as_bytes());
    }

    /// Writes another key's 32 bytes.
    pub fn write_key(&mut self, key: &Key) {
        self.update(&key.0);
    }

    /// A sink that gathers a small value's bytes (no domain tag) and gives up, without
    /// hashing anything, once they outgrow the inline buffer: a large value is then
    /// written once more, straight into the stream that hashes it.
    pub(crate) fn gather() -> KeyHasher {
        KeyHasher {
            len: 0,
            buf: [0; INLINE],
            spill: None,
            gather_only: true,
            overflowed: false,
        }
    }

    /// The bytes written since `mark`, while they are all still in the inline buffer.
    pub(crate) fn since(&self, mark: usize) -> Option<&[u8]> {
        if self.spill.is_some() || self.overflowed || mark > self.len {
            return None;
        }
        Some(&self.buf[mark..self.len])
    }

    /// Finishes the stream into a key.
    pub(crate) fn finish(&self) -> Key {
        let tail = &self.buf[..self.len];
        let hash = match &self.spill {
            None => blake3::hash(tail),
            Some(spill) => {
                let mut h = (**spill).clone();
                h.update(tail);
                h.finalize()
            }
        };
        Key(*hash.as_bytes())
    }
}

/// A key no other call will ever have: for impure functions and capturing closures.
pub(crate) fn fresh_key(name: &str) -> Key {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PROCESS_NONCE: OnceLock<[u8; 32]> = OnceLock::new();
    let nonce = PROCESS_NONCE.get_or_init(|| {
        let mut h = KeyHasher::new("delayed.nonce");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        h.write_raw(&now.to_le_bytes());
        h.write_u64(u64::from(std::process::id()));
        *h.finish().as_bytes()
    });
    let mut h = KeyHasher::new("delayed.fresh");
    h.write_raw(nonce);
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_str(name);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let mut h = KeyHasher::new("test");
        h.write_str("x");
        let key = h.finish();
        assert_eq!(Key::from_hex(&key.to_hex()), Some(key));
        assert_eq!(key.short(), key.to_hex()[..8]);
        assert_eq!(Key::from_hex("zz"), None);
    }

    #[test]
    fn length_prefix_separates_strings() {
        let mut a = KeyHasher::new("t");
        a.write_str("ab");
        a.write_str("c");
        let mut b = KeyHasher::new("t");
        b.write_str("a");
        b.write_str("bc");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn long_streams_hash_like_blake3() {
        // Inline, spilled at every boundary, and written in one large piece: all must be
        // blake3 of the whole stream.
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 256) as u8).collect();
        for split in [0, 1, INLINE - 9, INLINE - 8, INLINE, INLINE + 1, 1000, 4991] {
            let mut h = KeyHasher::new("t");
            h.write_raw(&data[..split]);
            h.write_raw(&data[split..]);
            let mut stream = Vec::new();
            stream.extend_from_slice(&1u64.to_le_bytes());
            stream.push(b't');
            stream.extend_from_slice(&data);
            assert_eq!(
                h.finish(),
                Key(*blake3::hash(&stream).as_bytes()),
                "{split}"
            );
        }
        for chunk in [1, 3, 64, 200] {
            let mut h = KeyHasher::new("t");
            for piece in data.chunks(chunk) {
                h.write_raw(piece);
            }
            let mut stream = vec![1, 0, 0, 0, 0, 0, 0, 0, b't'];
            stream.extend_from_slice(&data);
            assert_eq!(
                h.finish(),
                Key(*blake3::hash(&stream).as_bytes()),
                "{chunk}"
            );
        }
    }

    #[test]
    fn gathering_gives_up_on_large_values_without_hashing() {
        let mut small = KeyHasher::gather();
        small.write_str("abc");
        assert_eq!(small.since(0).map(<[u8]>::len), Some(11));
        let mut large = KeyHasher::gather();
        large.write_bytes(&[7u8; 1000]);
        large.write_u8(1);
        assert_eq!(large.since(0), None);
        assert!(large.spill.is_none(), "nothing was hashed");
    }

    #[test]
    fn fresh_keys_differ() {
        assert_ne!(fresh_key("f"), fresh_key("f"));
    }
}
