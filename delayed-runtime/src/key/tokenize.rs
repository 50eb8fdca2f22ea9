//! `Tokenize`: how plain values become keys (dask's `tokenize`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use crate::key::{Key, KeyHasher};

/// Writes a value's content into a [`KeyHasher`], so that equal values get equal keys.
///
/// Plain arguments of delayed functions and [`value`](crate::value) data are keyed by their
/// content through this trait. Implement it with `#[derive(Tokenize)]` for your own types;
/// by hand, write every field with a self-delimiting encoding (lengths before variable-sized
/// data, a variant tag before enum contents).
///
/// Implemented for the primitives, `str`/`String`, `Vec`, `VecDeque`, slices, arrays,
/// tuples up to 12, `Option`, `Result`, `Box`/`Rc`/`Arc`, `BTreeMap`/`BTreeSet` (in
/// their order) and `HashMap`/`HashSet` (independent of iteration order), paths, [`Key`],
/// with the `image` feature `image::ImageBuffer`, and with the `ndarray` feature
/// `ndarray::ArrayBase` (arrays and views, keyed in logical order).
///
/// Documented choices:
/// - `usize`/`isize` are written as 64-bit, so keys match across 32- and 64-bit machines.
/// - Floats are hashed by their bits: `0.0` and `-0.0` get different keys, and two NaNs
///   are equal exactly when their bit patterns are.
/// - The value's type name is added once at the top (by `value(x)` or the argument that
///   holds it), so `1u8` and `1u16` never collide.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be hashed into a task key: it does not implement `Tokenize`",
    label = "plain values given to delayed functions are keyed by their content",
    note = "add `#[derive(Tokenize)]` to the type (all its fields must be `Tokenize` too), or implement `delayed::Tokenize` by hand",
    note = "or wrap the value in a delayed task first: `delay!((|| make_value())())` produces a `Delayed<T>` that needs no `Tokenize`"
)]
pub trait Tokenize {
    /// Writes `self` into `state`.
    fn tokenize(&self, state: &mut KeyHasher);

    /// The codec that sends a value of this type to a cluster's workers, if it has one
    /// (`#[derive(Tokenize)]` finds serde's; common std types are known without it).
    /// Written by the derive, not by hand.
    #[doc(hidden)]
    fn __codec() -> Option<&'static crate::codec::Codec>
    where
        Self: Sized,
    {
        None
    }

    /// Writes a slice of `Self` without its length; element types with a raw byte form
    /// override this to write the slice in one go.
    fn tokenize_slice(items: &[Self], state: &mut KeyHasher)
    where
        Self: Sized,
    {
        for item in items {
            item.tokenize(state);
        }
    }
}

/// The key of a value of type `T`: its type name, then its content.
pub(crate) fn write_typed<T: Tokenize + ?Sized>(value: &T, state: &mut KeyHasher) {
    state.write_str(std::any::type_name::<T>());
    value.tokenize(state);
}

macro_rules! int_impls {
    ($($t:ty),*) => {$(
        impl Tokenize for $t {
            fn tokenize(&self, state: &mut KeyHasher) {
                state.write_raw(&self.to_le_bytes());
            }
            fn tokenize_slice(items: &[Self], state: &mut KeyHasher) {
                let mut buf = [0u8; 256];
                const W: usize = std::mem::size_of::<$t>();
                for chunk in items.chunks(256 / W) {
                    for (slot, item) in buf.chunks_exact_mut(W).zip(chunk) {
                        slot.copy_from_slice(&item.to_le_bytes());
                    }
                    state.write_raw(&buf[..chunk.len() * W]);
                }
            }
        }
    )*};
}
int_impls!(u16, u32, u64, u128, i8, i16, i32, i64, i128);

impl Tokenize for u8 {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_u8(*self);
    }
    fn tokenize_slice(items: &[Self], state: &mut KeyHasher) {
        state.write_raw(items);
    }
}

impl Tokenize for usize {
    fn tokenize(&self, state: &mut KeyHasher) {
        (*self as u64).tokenize(state);
    }
}

impl Tokenize for isize {
    fn tokenize(&self, state: &mut KeyHasher) {
        (*self as i64).tokenize(state);
    }
}

impl Tokenize for bool {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_u8(u8::from(*self));
    }
}

impl Tokenize for char {
    fn tokenize(&self, state: &mut KeyHasher) {
        (*self as u32).tokenize(state);
    }
}

impl Tokenize for f32 {
    fn tokenize(&self, state: &mut KeyHasher) {
        self.to_bits().tokenize(state);
    }
}

impl Tokenize for f64 {
    fn tokenize(&self, state: &mut KeyHasher) {
        self.to_bits().tokenize(state);
    }
}

impl Tokenize for () {
    fn tokenize(&self, _state: &mut KeyHasher) {}
}

impl Tokenize for str {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_str(self);
    }
}

impl Tokenize for &'static str {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_str(self);
    }
}

impl Tokenize for String {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_str(self);
    }
}

impl Tokenize for Path {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_bytes(self.as_os_str().as_encoded_bytes());
    }
}

impl Tokenize for PathBuf {
    fn tokenize(&self, state: &mut KeyHasher) {
        self.as_path().tokenize(state);
    }
}

impl Tokenize for Key {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_key(self);
    }
}

impl<T: Tokenize> Tokenize for [T] {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_len(self.len());
        T::tokenize_slice(self, state);
    }
}

impl<T: Tokenize, const N: usize> Tokenize for [T; N] {
    fn tokenize(&self, state: &mut KeyHasher) {
        self.as_slice().tokenize(state);
    }
}

impl<T: Tokenize> Tokenize for Vec<T> {
    fn tokenize(&self, state: &mut KeyHasher) {
        self.as_slice().tokenize(state);
    }
}

impl<T: Tokenize> Tokenize for VecDeque<T> {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_len(self.len());
        let (front, back) = self.as_slices();
        T::tokenize_slice(front, state);
        T::tokenize_slice(back, state);
    }
}

impl<T: Tokenize> Tokenize for Option<T> {
    fn tokenize(&self, state: &mut KeyHasher) {
        match self {
            None => state.write_u8(0),
            Some(v) => {
                state.write_u8(1);
                v.tokenize(state);
            }
        }
    }
}

impl<T: Tokenize, E: Tokenize> Tokenize for Result<T, E> {
    fn tokenize(&self, state: &mut KeyHasher) {
        match self {
            Ok(v) => {
                state.write_u8(0);
                v.tokenize(state);
            }
            Err(e) => {
                state.write_u8(1);
                e.tokenize(state);
            }
        }
    }
}

macro_rules! pointer_impls {
    ($($p:ident),*) => {$(
        impl<T: Tokenize + ?Sized> Tokenize for $p<T> {
            fn tokenize(&self, state: &mut KeyHasher) {
                (**self).tokenize(state);
            }
        }
    )*};
}
pointer_impls!(Box, Rc, Arc);

impl<K: Tokenize, V: Tokenize> Tokenize for BTreeMap<K, V> {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_len(self.len());
        for (k, v) in self {
            k.tokenize(state);
            v.tokenize(state);
        }
    }
}

impl<T: Tokenize> Tokenize for BTreeSet<T> {
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_len(self.len());
        for item in self {
            item.tokenize(state);
        }
    }
}

/// Hash maps iterate in a random order: hash each entry on its own, sort the digests, and
/// write those, so the key depends on the contents only.
fn write_unordered<'a, I, F>(len: usize, entries: I, state: &mut KeyHasher, mut write_entry: F)
where
    I: Iterator,
    F: FnMut(I::Item, &mut KeyHasher) + 'a,
{
    let mut digests: Vec<Key> = entries
        .map(|entry| {
            let mut h = KeyHasher::new("delayed.entry");
            write_entry(entry, &mut h);
            h.finish()
        })
        .collect();
    digests.sort_unstable();
    state.write_len(len);
    for digest in &digests {
        state.write_key(digest);
    }
}

impl<K: Tokenize, V: Tokenize, S> Tokenize for HashMap<K, V, S> {
    fn tokenize(&self, state: &mut KeyHasher) {
        write_unordered(self.len(), self.iter(), state, |(k, v), h| {
            k.tokenize(h);
            v.tokenize(h);
        });
    }
}

impl<T: Tokenize, S> Tokenize for HashSet<T, S> {
    fn tokenize(&self, state: &mut KeyHasher) {
        write_unordered(self.len(), self.iter(), state, |item, h| item.tokenize(h));
    }
}

macro_rules! tuple_impls {
    ($( ($($n:tt $t:ident),+) )*) => {$(
        impl<$($t: Tokenize),+> Tokenize for ($($t,)+) {
            fn tokenize(&self, state: &mut KeyHasher) {
                $( self.$n.tokenize(state); )+
            }
        }
    )*};
}
for_each_tuple!(tuple_impls);

#[cfg(feature = "image")]
impl<P, C> Tokenize for image::ImageBuffer<P, C>
where
    P: image::Pixel,
    P::Subpixel: Tokenize,
    C: std::ops::Deref<Target = [P::Subpixel]>,
{
    fn tokenize(&self, state: &mut KeyHasher) {
        state.write_str(std::any::type_name::<P>());
        self.width().tokenize(state);
        self.height().tokenize(state);
        (**self).tokenize(state);
    }
}

/// Shape and elements in logical (row-major) order, whatever the memory layout: a
/// transposed copy, a Fortran-order array and a view of equal content and shape get one
/// key. Owned arrays, views and shared arrays of the same content are keyed alike (the
/// value's type name, added once at the top, still tells them apart as arguments).
#[cfg(feature = "ndarray")]
impl<S, D> Tokenize for ndarray::ArrayBase<S, D>
where
    S: ndarray::Data,
    S::Elem: Tokenize,
    D: ndarray::Dimension,
{
    fn tokenize(&self, state: &mut KeyHasher) {
        self.shape().tokenize(state);
        match self.as_slice() {
            // Standard layout: the slice is in logical order already, in one go.
            Some(slice) => S::Elem::tokenize_slice(slice, state),
            None => {
                for item in self.iter() {
                    item.tokenize(state);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of<T: Tokenize + ?Sized>(v: &T) -> Key {
        let mut h = KeyHasher::new("test");
        write_typed(v, &mut h);
        h.finish()
    }

    #[test]
    fn nested_lengths_are_unambiguous() {
        assert_ne!(key_of(&("ab", "c")), key_of(&("a", "bc")));
        let a: Vec<Vec<i32>> = vec![vec![1], vec![]];
        let b: Vec<Vec<i32>> = vec![vec![], vec![1]];
        assert_ne!(key_of(&a), key_of(&b));
    }

    #[test]
    fn type_names_separate_equal_bits() {
        assert_ne!(key_of(&1u8), key_of(&1u16));
        assert_ne!(key_of(&1i64), key_of(&1u64));
    }

    #[test]
    fn floats_hash_by_bits() {
        assert_eq!(key_of(&1.5f64), key_of(&1.5f64));
        assert_ne!(key_of(&0.0f64), key_of(&-0.0f64));
        assert_eq!(key_of(&f64::NAN), key_of(&f64::NAN));
        assert_ne!(
            key_of(&f64::NAN),
            key_of(&f64::from_bits(f64::NAN.to_bits() | 1))
        );
    }

    #[test]
    fn hash_map_ignores_order() {
        let a: HashMap<i32, &str> = (0..50).map(|i| (i, "x")).collect();
        let b: HashMap<i32, &str> = (0..50).rev().map(|i| (i, "x")).collect();
        assert_eq!(key_of(&a), key_of(&b));
        let mut c = b.clone();
        c.insert(0, "y");
        assert_ne!(key_of(&a), key_of(&c));
    }

    #[test]
    fn slice_fast_path_matches_element_order() {
        let long: Vec<u32> = (0..1000).collect();
        let mut other = long.clone();
        other.swap(10, 900);
        assert_ne!(key_of(&long), key_of(&other));
        assert_eq!(key_of(&long), key_of(&long.clone()));
    }

    #[test]
    fn option_and_result_are_tagged() {
        assert_ne!(key_of(&Some(0u8)), key_of(&None::<u8>));
        assert_ne!(key_of(&Ok::<u8, u8>(1)), key_of(&Err::<u8, u8>(1)));
    }
}
