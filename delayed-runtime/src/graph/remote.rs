//! Finding a node's body in another process (feature `dask`): the registry of
//! [`RemoteOp`]s by stable id, and the ops of the crate's own built-in nodes.
//!
//! A [`RemoteOp`] (defined beside the node, `node.rs`) is a plain `fn` over type-erased
//! inputs plus the codecs of its inputs and result. `#[delayed]` emits one per
//! non-generic function (a `static` and an `inventory` registration), so a worker running
//! the same binary finds it by its id, the blake3 of the function's path and token hash.
//! A few built-in node kinds have ops of their own for common types (`builtin`). Codecs
//! come from probing the types (`codec.rs`).
//!
//! The ops are compiled in every build (they are small); only the registry needs the
//! `dask` feature.

#[cfg(feature = "dask")]
use std::sync::OnceLock;

use crate::graph::node::RemoteOp;
#[cfg(feature = "dask")]
use crate::key::Key;

/// An op submitted to the registry by `#[delayed]` (through `register_remote!`).
#[cfg(feature = "dask")]
pub struct Registered(pub &'static RemoteOp);

#[cfg(feature = "dask")]
inventory::collect!(Registered);

/// The op with stable id `id`: a `#[delayed]` function of this binary or a built-in.
#[cfg(feature = "dask")]
pub(crate) fn lookup(id: &Key) -> Option<&'static RemoteOp> {
    use std::collections::HashMap;
    static TABLE: OnceLock<HashMap<Key, &'static RemoteOp>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            let registered = inventory::iter::<Registered>.into_iter().map(|r| r.0);
            registered
                .chain(builtin::all())
                .map(|op| (op.id(), op))
                .collect()
        })
        .get(id)
        .copied()
}

/// Remote ops of built-in node kinds (operators, `collect`) over common types: generic
/// code picks one by `TypeId` when it builds the node.
pub(crate) mod builtin {
    use std::any::TypeId;
    use std::sync::Arc;

    use super::RemoteOp;
    #[allow(unused_imports)] // the other arms: unused when every type is serde
    use crate::codec::{KnownCodec as _, NoCodec as _, Probe, SerdeCodec as _};
    use crate::erased::AnyValue;

    macro_rules! binary {
        ($($name:ident $method:ident: $($t:ident),*;)*) => {
            $(
                /// The remote op of this operator over `(T, U)`, when both are one of
                /// the primitive types listed.
                pub(crate) fn $name<T: 'static, U: 'static>() -> Option<&'static RemoteOp> {
                    if TypeId::of::<T>() != TypeId::of::<U>() {
                        return None;
                    }
                    $(
                        if TypeId::of::<T>() == TypeId::of::<$t>() {
                            return Some(&$name::$t);
                        }
                    )*
                    None
                }

                #[allow(non_upper_case_globals)]
                mod $name {
                    use super::*;
                    $(
                        pub(crate) static $t: RemoteOp = RemoteOp::new(
                            concat!("delayed::ops::", stringify!($name), "::", stringify!($t)),
                            "",
                            |inputs| {
                                let a = inputs.take::<$t>()?;
                                let b = inputs.take::<$t>()?;
                                Ok(Arc::new(std::ops::$method::$name(a, b)) as AnyValue)
                            },
                            |_| (&&&Probe::<$t>::new()).codec(),
                            || (&&&Probe::<$t>::new()).codec(),
                        );
                    )*
                }
            )*

            /// Every built-in operator op.
            fn binary_ops() -> impl Iterator<Item = &'static RemoteOp> {
                [$($(&$name::$t,)*)*].into_iter()
            }
        };
    }

    binary! {
        add Add: i32, i64, u32, u64, usize, f32, f64;
        sub Sub: i32, i64, u32, u64, usize, f32, f64;
        mul Mul: i32, i64, u32, u64, usize, f32, f64;
        div Div: i32, i64, u32, u64, usize, f32, f64;
        rem Rem: i32, i64, u32, u64, usize, f32, f64;
    }

    /// The remote op of the operator named `name` (`add`, `sub`, `mul`, `truediv`, `mod`)
    /// over `(T, U)`, if there is one.
    pub(crate) fn binary<T: 'static, U: 'static>(name: &str) -> Option<&'static RemoteOp> {
        match name {
            "add" => add::<T, U>(),
            "sub" => sub::<T, U>(),
            "mul" => mul::<T, U>(),
            "truediv" => div::<T, U>(),
            "mod" => rem::<T, U>(),
            _ => None,
        }
    }

    macro_rules! collect {
        ($($id:ident: $t:ty;)*) => {
            /// The remote op of `collect::<T>`, for the element types listed.
            pub(crate) fn collect<T: 'static>() -> Option<&'static RemoteOp> {
                $(
                    if TypeId::of::<T>() == TypeId::of::<$t>() {
                        return Some(&collect_ops::$id);
                    }
                )*
                None
            }

            #[allow(non_upper_case_globals)]
            mod collect_ops {
                use super::*;
                $(
                    pub(crate) static $id: RemoteOp = RemoteOp::new(
                        concat!("delayed::collect::", stringify!($t)),
                        "",
                        |inputs| {
                            let items = (0..inputs.len())
                                .map(|_| inputs.take::<$t>())
                                .collect::<Result<Vec<$t>, _>>()?;
                            Ok(Arc::new(items) as AnyValue)
                        },
                        |_| (&&&Probe::<$t>::new()).codec(),
                        || (&&&Probe::<Vec<$t>>::new()).codec(),
                    );
                )*
            }

            fn collect_all() -> impl Iterator<Item = &'static RemoteOp> {
                [$(&collect_ops::$id,)*].into_iter()
            }
        };
    }

    collect! {
        i32: i32; i64: i64; u8: u8; u32: u32; u64: u64; usize: usize; f32: f32; f64: f64;
        bool: bool; string: String; vec_u8: Vec<u8>; vec_i64: Vec<i64>; vec_u64: Vec<u64>;
        vec_f64: Vec<f64>; vec_i16: Vec<i16>;
    }

    /// Every built-in op, for the registry.
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) fn all() -> impl Iterator<Item = &'static RemoteOp> {
        binary_ops().chain(collect_all())
    }
}

#[cfg(all(test, feature = "cache"))]
mod tests {
    use super::*;

    #[test]
    fn built_in_ops_by_type() {
        let add = builtin::binary::<i64, i64>("add").unwrap();
        assert!(builtin::binary::<i64, i32>("add").is_none());
        assert!(builtin::binary::<i64, i64>("lshift").is_none());
        assert!(builtin::collect::<String>().is_some());
        assert_ne!(add.id(), builtin::binary::<f64, f64>("add").unwrap().id());
        assert!((add.output)().is_some() && (add.input)(1).is_some());
    }
}
