//! A key made once, on first demand: where a node keeps its key when building it did
//! not hash (see `keying.rs`: a call whose arguments are all inputs is keyed only when
//! its key is shown, cached or sent), and the 56-bit digest the planner dedups by
//! instead (its table files nodes under 32 of those bits).
//!
//! Building a node of a `tree` costs about a quarter of a microsecond, and one blake3
//! compression is a third of it. A compute never needs the keys themselves: two calls
//! of one function over the same inputs (inputs deduplicated first) are the same
//! computation, which is what equal keys say. So the planner compares that structure,
//! and the key is made only for what shows, caches or sends it.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Key;

/// The state's bits in the cell's word; the other 62 are the owner's tag.
const STATE: u64 = 0b11;
const EMPTY: u64 = 0;
/// One thread is writing the key (a single compression: its inputs' keys are made).
const BUSY: u64 = 1;
const READY: u64 = 2;
/// The bytes are not a key but what it is made from (a call's plain arguments), for
/// good: the key is made again at every ask (one compression, no inputs to walk).
const HELD: u64 = 3;

/// A key written at most once, by whichever thread asks first, beside 62 bits its owner
/// keeps there (a node's digest, scope and role: one word for all of it keeps a node
/// within 104 bytes).
#[repr(C)] // the word first: the planner reads it, rarely the bytes (`node.rs`)
pub(crate) struct KeyCell {
    /// The state (low 2 bits) and the tag.
    word: AtomicU64,
    bytes: UnsafeCell<[u8; 32]>,
}

// SAFETY: `bytes` is written only by the thread that moved the state from EMPTY to BUSY,
// before it stores READY (release); it is read only after a READY load (acquire), or,
// in a HELD cell, never written after it is made (it is shared only once made). No other
// access exists.
unsafe impl Sync for KeyCell {}

impl KeyCell {
    /// A cell holding `key` from the start.
    pub(crate) fn ready(key: Key) -> KeyCell {
        KeyCell {
            bytes: UnsafeCell::new(*key.as_bytes()),
            word: AtomicU64::new(READY),
        }
    }

    /// A cell whose key is made later ([`fill`](KeyCell::fill)).
    pub(crate) fn empty() -> KeyCell {
        KeyCell {
            bytes: UnsafeCell::new([0; 32]),
            word: AtomicU64::new(EMPTY),
        }
    }

    /// A cell holding, for good, what its key is made from (see [`held`](KeyCell::held)).
    pub(crate) fn holding(bytes: [u8; 32]) -> KeyCell {
        KeyCell {
            bytes: UnsafeCell::new(bytes),
            word: AtomicU64::new(HELD),
        }
    }

    /// What a holding cell holds.
    #[inline]
    pub(crate) fn held(&self) -> Option<&[u8; 32]> {
        if self.word.load(Ordering::Relaxed) & STATE == HELD {
            // SAFETY: a HELD cell is never written once made.
            Some(unsafe { &*self.bytes.get() })
        } else {
            None
        }
    }

    /// Whether the key is still to be made and kept ([`fill`](KeyCell::fill) will store it).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self.word.load(Ordering::Acquire) & STATE, EMPTY | BUSY)
    }

    /// The owner's 62 bits (in place, low 2 bits clear). They never change once the
    /// owner is shared.
    #[inline]
    pub(crate) fn tag(&self) -> u64 {
        self.word.load(Ordering::Relaxed) & !STATE
    }

    /// Sets the owner's bits (while the owner is not shared yet).
    pub(crate) fn set_tag(&mut self, tag: u64) {
        let word = self.word.get_mut();
        *word = (*word & STATE) | (tag & !STATE);
    }

    /// The key, if it is made.
    #[inline]
    pub(crate) fn get(&self) -> Option<Key> {
        if self.word.load(Ordering::Acquire) & STATE == READY {
            // SAFETY: READY was stored after the only write (see `Sync` above).
            Some(Key::from_bytes(unsafe { *self.bytes.get() }))
        } else {
            None
        }
    }

    /// The key, made by `make` if nobody made it yet (made every time in a holding
    /// cell). A thread that finds another one writing waits for it: the writer holds the
    /// cell for one hash of its inputs' keys (those are made before), which for a call
    /// over a million inputs is a few milliseconds, so a waiter soon yields its core.
    pub(crate) fn fill(&self, make: impl FnOnce() -> Key) -> Key {
        if self.held().is_some() {
            return make();
        }
        let mut spins = 0u32;
        loop {
            if let Some(key) = self.get() {
                return key;
            }
            let tag = self.tag();
            match self.word.compare_exchange(
                tag | EMPTY,
                tag | BUSY,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // Should `make` unwind, the cell goes back to EMPTY: a later ask makes
                    // the key again instead of waiting forever.
                    let claim = Claim { cell: self, tag };
                    let key = make();
                    std::mem::forget(claim);
                    // SAFETY: this thread moved the state to BUSY: it is the only writer,
                    // and nobody reads before READY.
                    unsafe { *self.bytes.get() = *key.as_bytes() };
                    self.word.store(tag | READY, Ordering::Release);
                    return key;
                }
                Err(_) if spins < 64 => {
                    spins += 1;
                    std::hint::spin_loop();
                }
                Err(_) => std::thread::yield_now(),
            }
        }
    }
}

/// A cell claimed for writing (BUSY), given back (EMPTY) if its writer unwinds.
struct Claim<'a> {
    cell: &'a KeyCell,
    tag: u64,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.cell.word.store(self.tag | EMPTY, Ordering::Release);
    }
}

/// Digests are 56 bits (what a node's tag has room for).
pub(crate) const DIGEST_BITS: u32 = 56;
const DIGEST_MASK: u64 = (1 << DIGEST_BITS) - 1;

/// What the planner files a node under: for a node keyed when built, 56 bits of its key;
/// for one keyed on demand, a mix of its function's shape key and its inputs' digests.
/// Equal keys give equal digests either way (a node's digest is a function of what its
/// key is made from), so twins always meet in the planner's table; unequal keys may
/// share a digest, and the planner confirms every hit on the whole structure. (56 bits,
/// not 32: a chain's digests are an iterated function, which on 32 bits would start
/// repeating after some 10^5 links.)
pub(crate) fn digest_of_key(key: &Key) -> u64 {
    key.prefix64() & DIGEST_MASK
}

/// The digest of a call keyed on demand (see [`digest_of_key`]).
pub(crate) fn digest_of_call(shape: &Key, inputs: impl Iterator<Item = u64>) -> u64 {
    let mut h = shape.prefix64();
    for digest in inputs {
        h = (h ^ digest).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= h >> 29;
    }
    // The planner's table indexes by the low bits: fold the well-mixed high half in.
    (h ^ (h >> 32)) & DIGEST_MASK
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn filled_once_whoever_asks() {
        let cell = Arc::new(KeyCell::empty());
        assert!(cell.get().is_none());
        let made = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (cell, made) = (cell.clone(), made.clone());
                std::thread::spawn(move || {
                    cell.fill(|| {
                        made.fetch_add(1, Ordering::Relaxed);
                        Key::from_bytes([7; 32])
                    })
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().ok(), Some(Key::from_bytes([7; 32])));
        }
        assert_eq!(made.load(Ordering::Relaxed), 1);
        assert_eq!(cell.get(), Some(Key::from_bytes([7; 32])));
        let mut ready = KeyCell::ready(Key::from_bytes([1; 32]));
        ready.set_tag(0xabc << 2);
        assert_eq!(
            ready.fill(|| Key::from_bytes([2; 32])),
            Key::from_bytes([1; 32])
        );
        assert_eq!(ready.tag(), 0xabc << 2);
        let mut tagged = KeyCell::empty();
        tagged.set_tag(!0);
        assert_eq!(
            tagged.fill(|| Key::from_bytes([5; 32])),
            Key::from_bytes([5; 32])
        );
        assert_eq!(
            (tagged.tag(), tagged.get()),
            (!STATE, Some(Key::from_bytes([5; 32])))
        );
    }

    #[test]
    fn a_writer_that_unwinds_gives_the_cell_back() {
        let cell = KeyCell::empty();
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cell.fill(|| panic!("no key"));
        }));
        assert!(unwound.is_err());
        assert!(cell.is_empty());
        assert_eq!(
            cell.fill(|| Key::from_bytes([8; 32])),
            Key::from_bytes([8; 32])
        );
    }

    #[test]
    fn a_holding_cell_makes_its_key_at_every_ask() {
        let mut holding = KeyCell::holding([4; 32]);
        holding.set_tag(!0);
        let made = std::sync::atomic::AtomicU32::new(0);
        for _ in 0..2 {
            let key = holding.fill(|| {
                made.fetch_add(1, Ordering::Relaxed);
                Key::from_bytes([6; 32])
            });
            assert_eq!(key, Key::from_bytes([6; 32]));
        }
        assert_eq!(
            made.load(Ordering::Relaxed),
            2,
            "made at every ask, never kept"
        );
        assert_eq!((holding.held(), holding.get()), (Some(&[4; 32]), None));
        assert!(!holding.is_empty() && holding.tag() == !STATE);
    }

    #[test]
    fn chains_of_digests_do_not_cycle() {
        // An iterated digest, as along a chain: no repeat in a million links.
        let shape = Key::from_bytes([9; 32]);
        let mut seen = std::collections::HashSet::new();
        let mut low = std::collections::HashSet::new();
        let mut d = digest_of_key(&Key::from_bytes([1; 32]));
        for _ in 0..1_000_000 {
            assert!(seen.insert(d));
            low.insert(d as u32);
            d = digest_of_call(&shape, std::iter::once(d));
        }
        // The planner's 32 bits: only chance meetings (about 100), not a cycle.
        assert!(low.len() > 999_000, "{}", low.len());
    }

    #[test]
    fn digests_follow_inputs_in_order() {
        let shape = Key::from_bytes([3; 32]);
        let a = digest_of_call(&shape, [1, 2].into_iter());
        assert_eq!(a, digest_of_call(&shape, [1, 2].into_iter()));
        assert_ne!(a, digest_of_call(&shape, [2, 1].into_iter()));
        assert_ne!(
            a,
            digest_of_call(&Key::from_bytes([4; 32]), [1, 2].into_iter())
        );
    }
}
