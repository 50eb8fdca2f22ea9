//! The API generated code calls. Not for direct use: it may change in any release.
//!
//! The facade re-exports this module as `delayed::__private_0_1`: the version in the
//! name is the contract between the macros and the runtime (the facade pins both crates
//! with `=`), and every path the macros emit goes through it.

pub use crate::codec::Cacheable;
pub use crate::erased::BoxError;
pub use crate::graph::arg::{Arg, ByValue, GraphValue, IntoArg};
pub use crate::graph::call::{Call, FnId};
pub use crate::graph::delayed::Delayed;
pub use crate::graph::node::Inputs;
pub use crate::key::tokenize::Tokenize;
pub use crate::key::KeyHasher;
pub use std::any::type_name;

/// The argument-conversion trait, named for generated code.
pub fn into_arg<T, A: IntoArg<T>>(arg: A) -> Arg<T> {
    arg.into_arg()
}

/// The result of a fallible delayed function, with its error boxed.
pub fn fallible<T, E>(result: Result<T, E>) -> Result<T, BoxError>
where
    E: Into<BoxError>,
{
    result.map_err(Into::into)
}

/// `delay!(f(args))` where `f` is any callable: pure when `F` is zero-sized (a fn item or
/// a closure that captures nothing), fresh-keyed otherwise.
///
/// `site` is `Some` when the macro saw a closure literal (`delay!((|x| …)(a))`): module,
/// line, column and a hash of the closure's tokens identify it, together with its type
/// name (which names the generic arguments of the enclosing function), valid for this
/// build. Otherwise `f` is a path: a fn item is told by its type name, a closure that
/// arrives through a variable or a generic helper by its `TypeId`.
fn delayed_call<F: 'static>(name: &'static str, site: Option<&'static str>) -> Call {
    let call = Call::dynamic("delayed::delay", name);
    match site {
        Some(site) => {
            let call = call.with_str(type_name::<F>()).with_str(site);
            if std::mem::size_of::<F>() != 0 {
                call.impure()
            } else {
                call
            }
        }
        None => crate::graph::call::identify::<F>(call),
    }
}

/// Generated code checks a by-value parameter of a concrete type with this call (in the
/// function body, spanned at the type), so the error says [`ByValue`]'s sentence at the
/// parameter instead of the compiler's generic one about a where clause.
pub fn assert_by_value<T: ByValue>() {}

/// As [`assert_by_value`], for borrowed parameters and results.
pub fn assert_graph_value<T: GraphValue + ?Sized>() {}

/// As [`assert_by_value`], for the result of a `#[delayed(cache)]` function.
pub fn assert_cacheable<T: Cacheable>() {}

macro_rules! delay_fns {
    ($($fn_name:ident: $($a:ident $A:ident),*;)*) => {$(
        /// Builds the task of a `delay!` call with this many arguments.
        #[allow(non_snake_case, unused_mut, clippy::too_many_arguments)]
        pub fn $fn_name<F, R, $($A),*>(
            f: F,
            name: &'static str,
            site: Option<&'static str>,
            $($a: Arg<$A>),*
        ) -> crate::Delayed<R>
        where
            F: Fn($($A),*) -> R + Send + Sync + 'static,
            R: GraphValue,
            $($A: ByValue),*
        {
            let mut call = delayed_call::<F>(name, site);
            $( call.arg($a); )*
            call.finish(move |_inputs| {
                $( let $a = _inputs.take::<$A>()?; )*
                Ok(f($($a),*))
            })
        }
    )*};
}

delay_fns! {
    delay0: ;
    delay1: a A;
    delay2: a A, b B;
    delay3: a A, b B, c C;
    delay4: a A, b B, c C, d D;
    delay5: a A, b B, c C, d D, e E;
    delay6: a A, b B, c C, d D, e E, f6 G;
    delay7: a A, b B, c C, d D, e E, f6 G, g H;
    delay8: a A, b B, c C, d D, e E, f6 G, g H, h I;
    delay9: a A, b B, c C, d D, e E, f6 G, g H, h I, i J;
    delay10: a A, b B, c C, d D, e E, f6 G, g H, h I, i J, j K;
    delay11: a A, b B, c C, d D, e E, f6 G, g H, h I, i J, j K, k L;
    delay12: a A, b B, c C, d D, e E, f6 G, g H, h I, i J, j K, k L, l M;
}

// What `#[delayed]` emits so that another process can run a function (feature `dask`):
// see `remote.rs`.
pub use crate::codec::{Codec, Known, KnownCodec, NoCodec, Probe, SerdeCodec};
pub use crate::erased::AnyValue;
pub use crate::graph::node::RemoteOp;

/// A remote body's result, type-erased.
pub fn into_any<R: GraphValue>(result: Result<R, BoxError>) -> Result<AnyValue, BoxError> {
    result.map(|r| std::sync::Arc::new(r) as AnyValue)
}
