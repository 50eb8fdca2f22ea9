//! The ops of bodies known by their type only: what lets every task whose body captures
//! nothing run in another process of the same build.
//!
//! A [`RemoteOp`] (defined beside the node, `node.rs`) is plain `fn`s over type-erased
//! inputs plus the codecs of its inputs and result. `#[delayed]` emits one per
//! non-generic function, with the codecs of its parameter and result types (found by
//! probing them where they are written). Every other task whose body is a zero-sized
//! closure (a generic `#[delayed]` fn, a method, `map`, `delay!`, an operator, `get`,
//! `collect`, …) gets [`erased`]: one constant per body type, whose result codec is the
//! one known for its type (`codec::of_type`). A cluster names an op by its offset in the
//! executable (`dask/image.rs`). Ops are compiled in every build (they are small).

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::codec::Codec;
use crate::erased::{AnyValue, BoxError};
use crate::graph::node::{Inputs, RemoteOp};

/// The op of a task whose body is the zero-sized closure (or fn item) `F` returning `R`:
/// one constant per `(F, R)`, so every node kind built from such a body (generic
/// `#[delayed]` fns, methods, `map`, `delay!`, operators, `get`, `collect`, …) can run
/// in another process of the same build. The caller checks that `F` is zero-sized.
pub(crate) fn erased<F, R>() -> &'static RemoteOp
where
    F: Fn(&mut Inputs<'_>) -> Result<R, BoxError> + 'static,
    R: Send + Sync + 'static,
{
    &Erased::<F, R>::OP
}

/// As [`erased`], for `collect`'s body `F` making a `Vec<T>`: its result crosses with a
/// codec over `T`'s when no codec is known for `Vec<T>` itself.
pub(crate) fn erased_vec<F, T>() -> &'static RemoteOp
where
    F: Fn(&mut Inputs<'_>) -> Result<Vec<T>, BoxError> + 'static,
    T: Clone + Send + Sync + 'static,
{
    &ErasedVec::<F, T>::OP
}

/// Types only: `fn() -> (F, R)` keeps them `Send + Sync` whatever `F` and `R` are.
struct Erased<F, R>(PhantomData<fn() -> (F, R)>);

struct ErasedVec<F, T>(PhantomData<fn() -> (F, T)>);

impl<F, T> ErasedVec<F, T>
where
    F: Fn(&mut Inputs<'_>) -> Result<Vec<T>, BoxError> + 'static,
    T: Clone + Send + Sync + 'static,
{
    const OP: RemoteOp = RemoteOp::erased(
        run_erased::<F, Vec<T>>,
        vec_codec::<T>,
        std::any::type_name::<Vec<T>>,
    );
}

#[cfg_attr(not(feature = "dask"), allow(clippy::extra_unused_type_parameters))]
fn vec_codec<T: Clone + Send + Sync + 'static>() -> Option<&'static Codec> {
    #[cfg(feature = "dask")]
    return crate::codec::vec_of::<T>();
    #[cfg(not(feature = "dask"))]
    None
}

impl<F, R> Erased<F, R>
where
    F: Fn(&mut Inputs<'_>) -> Result<R, BoxError> + 'static,
    R: Send + Sync + 'static,
{
    const OP: RemoteOp = RemoteOp::erased(
        run_erased::<F, R>,
        codec_of_type::<R>,
        std::any::type_name::<R>,
    );
}

/// Runs the body `F` without a value of it: a zero-sized closure carries no data, so
/// any value of its type is the closure itself (its code is this executable's).
fn run_erased<F, R>(inputs: &mut Inputs<'_>) -> Result<AnyValue, BoxError>
where
    F: Fn(&mut Inputs<'_>) -> Result<R, BoxError> + 'static,
    R: Send + Sync + 'static,
{
    if std::mem::size_of::<F>() != 0 {
        return Err("internal error: a body with captures was sent as code".into());
    }
    // SAFETY: `F` is zero-sized (checked above), so reading one from a dangling, aligned
    // pointer reads no memory; its one value is the closure the driver built, which
    // captured nothing but zero-sized values (fn items, closures without captures). It is
    // never dropped (`ManuallyDrop`), so no `Drop` runs that the driver would not run.
    let body = ManuallyDrop::new(unsafe { NonNull::<F>::dangling().as_ptr().read() });
    (*body)(inputs).map(|r| Arc::new(r) as AnyValue)
}

/// The codec of `R`, if one is known for its type (`codec::of_type`).
#[cfg_attr(not(feature = "dask"), allow(clippy::extra_unused_type_parameters))]
/// The codec known for `R` by its type (`codec::of_type`), with the `dask` feature.
#[inline]
pub(crate) fn codec_of_type<R: 'static>() -> Option<&'static Codec> {
    #[cfg(feature = "dask")]
    return crate::codec::of_type(std::any::TypeId::of::<R>());
    #[cfg(not(feature = "dask"))]
    None
}

#[cfg(all(test, feature = "dask"))]
mod tests {
    use super::*;

    #[test]
    fn erased_ops_are_one_constant_per_body_and_run_it() {
        fn body(inputs: &mut Inputs<'_>) -> Result<u64, BoxError> {
            Ok(inputs.len() as u64 + 41)
        }
        let op = erased::<fn(&mut Inputs<'_>) -> Result<u64, BoxError>, u64>();
        // A fn pointer is not zero-sized: its op refuses to run it.
        let slots = crate::slots::Slots::new(Vec::new());
        let mut inputs = Inputs::new(&[], &[], &slots);
        assert!((op.run)(&mut inputs).is_err());
        let _ = body;
        let closure =
            |inputs: &mut Inputs<'_>| -> Result<u64, BoxError> { Ok(inputs.len() as u64 + 42) };
        fn op_of<F: Fn(&mut Inputs<'_>) -> Result<u64, BoxError> + 'static>(
            _: &F,
        ) -> &'static RemoteOp {
            erased::<F, u64>()
        }
        let op = op_of(&closure);
        assert!(std::ptr::eq(op, op_of(&closure)));
        let value = (op.run)(&mut inputs).unwrap();
        assert_eq!(value.downcast_ref::<u64>(), Some(&42));
        assert_eq!((op.output_name)(), "u64");
        assert!((op.output)().is_some());
    }
}
