//! Naming code and constants across processes of one build: the technique of the
//! `relative` and `serde_closure` crates. Every worker runs the driver's exact
//! executable (its sha256 is checked before it runs anything), and an executable is
//! mapped whole, so a constant of its image (a [`RemoteOp`](crate::graph::node::RemoteOp),
//! a [`Codec`](crate::codec::Codec)) lies at the same offset from a fixed symbol in every
//! process running it. The driver sends offsets; the worker turns them back into
//! references after checking that it is the same build ([`canary`]).

/// The fixed symbol offsets are taken from.
static ANCHOR: u8 = 0;

/// A second symbol: its offset from [`ANCHOR`] differs between builds that differ in
/// layout, so a payload from another build is refused before any offset is used.
static CANARY: [u8; 8] = *b"delayed!";

/// The offset of `item`, a constant of this executable's image (a `static`, or a
/// promoted constant: never a heap or stack value).
pub(crate) fn offset_of<T>(item: &'static T) -> u64 {
    (item as *const T as usize).wrapping_sub(&ANCHOR as *const u8 as usize) as u64
}

/// The constant at `offset`.
///
/// # Safety
///
/// `offset` must come from [`offset_of`] with the same `T` in a process of this very
/// executable (the payload's [`canary`] matched this one's).
pub(crate) unsafe fn at_offset<T>(offset: u64) -> &'static T {
    let address = (&ANCHOR as *const u8 as usize).wrapping_add(offset as usize);
    // SAFETY: by the contract, `address` is where this build put that constant of type
    // `T`, which lives as long as the program.
    unsafe { &*std::ptr::with_exposed_provenance::<T>(address) }
}

/// This build's canary: the offset of a second fixed symbol.
pub(crate) fn canary() -> u64 {
    offset_of(&CANARY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_come_back_to_the_same_constants() {
        static THING: (u32, &str) = (7, "seven");
        let back: &(u32, &str) = unsafe { at_offset(offset_of(&THING)) };
        assert!(std::ptr::eq(back, &THING));
        let codec = crate::codec::codec_of::<Vec<u8>>();
        let again: &crate::codec::Codec = unsafe { at_offset(offset_of(codec)) };
        assert!(std::ptr::eq(again, codec));
        assert_ne!(canary(), 0);
    }
}
