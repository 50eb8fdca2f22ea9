//! Operators on `Delayed` values: `+ - * / % & | ^ << >>` and unary `-` and `!`, and
//! the lazy methods that apply something to a value: `map`, `get` and the comparisons
//! (`lt`, `eq_`, …).
//!
//! Each works between `Delayed<T>`, `&Delayed<T>` and plain values, on either side, and
//! has the output type of the underlying `std::ops` trait. A plain left operand needs a
//! concrete primitive type (`2i64 + d`), since Rust picks the impl from the left side.

use std::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Not, Rem, Shl, Shr, Sub};

use crate::graph::arg::{Arg, IntoArg};
use crate::graph::call::{Call, FnId};
use crate::graph::delayed::Delayed;
use crate::key::tokenize::Tokenize;

fn binary<T, U, R>(
    id: &'static FnId,
    lhs: Arg<T>,
    rhs: Arg<U>,
    op: impl Fn(T, U) -> R + Send + Sync + 'static,
) -> Delayed<R>
where
    T: Clone + Send + Sync + 'static,
    U: Clone + Send + Sync + 'static,
    R: Send + Sync + 'static,
{
    let mut call = Call::new(id).with_type::<T>().with_type::<U>();
    call.arg(lhs);
    call.arg(rhs);
    call.finish(move |inputs| {
        let a = inputs.take::<T>()?;
        let b = inputs.take::<U>()?;
        Ok(op(a, b))
    })
}

fn unary<T, R>(
    id: &'static FnId,
    operand: Arg<T>,
    op: impl Fn(T) -> R + Send + Sync + 'static,
) -> Delayed<R>
where
    T: Clone + Send + Sync + 'static,
    R: Send + Sync + 'static,
{
    let mut call = Call::new(id).with_type::<T>();
    call.arg(operand);
    call.finish(move |inputs| Ok(op(inputs.take::<T>()?)))
}

macro_rules! binary_ops {
    ($($Trait:ident $method:ident $ID:ident $name:literal;)*) => {$(
        static $ID: FnId = FnId::new(concat!("delayed::ops::", $name), $name, "");

        impl<T, U> $Trait<Delayed<U>> for Delayed<T>
        where
            T: $Trait<U> + Clone + Send + Sync + 'static,
            U: Clone + Send + Sync + 'static,
            T::Output: Send + Sync + 'static,
        {
            type Output = Delayed<T::Output>;
            fn $method(self, rhs: Delayed<U>) -> Self::Output {
                binary(&$ID, Arg::node(self.node), Arg::node(rhs.node), |a: T, b: U| a.$method(b))
            }
        }

        impl<T, U> $Trait<&Delayed<U>> for Delayed<T>
        where
            T: $Trait<U> + Clone + Send + Sync + 'static,
            U: Clone + Send + Sync + 'static,
            T::Output: Send + Sync + 'static,
        {
            type Output = Delayed<T::Output>;
            fn $method(self, rhs: &Delayed<U>) -> Self::Output {
                binary(&$ID, Arg::node(self.node), Arg::node(rhs.node.clone()), |a: T, b: U| a.$method(b))
            }
        }

        impl<T, U> $Trait<Delayed<U>> for &Delayed<T>
        where
            T: $Trait<U> + Clone + Send + Sync + 'static,
            U: Clone + Send + Sync + 'static,
            T::Output: Send + Sync + 'static,
        {
            type Output = Delayed<T::Output>;
            fn $method(self, rhs: Delayed<U>) -> Self::Output {
                binary(&$ID, Arg::node(self.node.clone()), Arg::node(rhs.node), |a: T, b: U| a.$method(b))
            }
        }

        impl<T, U> $Trait<&Delayed<U>> for &Delayed<T>
        where
            T: $Trait<U> + Clone + Send + Sync + 'static,
            U: Clone + Send + Sync + 'static,
            T::Output: Send + Sync + 'static,
        {
            type Output = Delayed<T::Output>;
            fn $method(self, rhs: &Delayed<U>) -> Self::Output {
                binary(&$ID, Arg::node(self.node.clone()), Arg::node(rhs.node.clone()), |a: T, b: U| a.$method(b))
            }
        }

        impl<T, U> $Trait<U> for Delayed<T>
        where
            T: $Trait<U> + Clone + Send + Sync + 'static,
            U: Tokenize + Clone + Send + Sync + 'static,
            T::Output: Send + Sync + 'static,
        {
            type Output = Delayed<T::Output>;
            fn $method(self, rhs: U) -> Self::Output {
                binary(&$ID, Arg::node(self.node), Arg::value(rhs), |a: T, b: U| a.$method(b))
            }
        }

        impl<T, U> $Trait<U> for &Delayed<T>
        where
            T: $Trait<U> + Clone + Send + Sync + 'static,
            U: Tokenize + Clone + Send + Sync + 'static,
            T::Output: Send + Sync + 'static,
        {
            type Output = Delayed<T::Output>;
            fn $method(self, rhs: U) -> Self::Output {
                binary(&$ID, Arg::node(self.node.clone()), Arg::value(rhs), |a: T, b: U| a.$method(b))
            }
        }
    )*};
}

binary_ops! {
    Add add ADD "add";
    Sub sub SUB "sub";
    Mul mul MUL "mul";
    Div div DIV "truediv";
    Rem rem REM "mod";
    BitAnd bitand AND "and";
    BitOr bitor OR "or";
    BitXor bitxor XOR "xor";
    Shl shl SHL "lshift";
    Shr shr SHR "rshift";
}

/// `2i64 + d`: a plain primitive on the left, with a `Delayed` of the same type on the
/// right. One impl per primitive, as Rust picks the impl from the left operand; the right
/// side is not generic, which would send trait inference into a loop (`i64: Mul<Delayed<
/// Delayed<…>>>`) whenever the right type is still unknown.
macro_rules! left_ops {
    ($($Trait:ident $method:ident $ID:ident: $($prim:ty),*;)*) => {$($(
        impl $Trait<Delayed<$prim>> for $prim {
            type Output = Delayed<<$prim as $Trait>::Output>;
            fn $method(self, rhs: Delayed<$prim>) -> Self::Output {
                binary(&$ID, Arg::value(self), Arg::node(rhs.node), |a: $prim, b: $prim| a.$method(b))
            }
        }

        impl $Trait<&Delayed<$prim>> for $prim {
            type Output = Delayed<<$prim as $Trait>::Output>;
            fn $method(self, rhs: &Delayed<$prim>) -> Self::Output {
                binary(&$ID, Arg::value(self), Arg::node(rhs.node.clone()), |a: $prim, b: $prim| a.$method(b))
            }
        }
    )*)*};
}

left_ops! {
    Add add ADD: i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64;
    Sub sub SUB: i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64;
    Mul mul MUL: i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64;
    Div div DIV: i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64;
    Rem rem REM: i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64;
    BitAnd bitand AND: bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize;
    BitOr bitor OR: bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize;
    BitXor bitxor XOR: bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize;
    Shl shl SHL: i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize;
    Shr shr SHR: i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize;
}

macro_rules! unary_ops {
    ($($Trait:ident $method:ident $ID:ident $name:literal;)*) => {$(
        static $ID: FnId = FnId::new(concat!("delayed::ops::", $name), $name, "");

        impl<T> $Trait for Delayed<T>
        where
            T: $Trait + Clone + Send + Sync + 'static,
            T::Output: Send + Sync + 'static,
        {
            type Output = Delayed<T::Output>;
            fn $method(self) -> Self::Output {
                unary(&$ID, Arg::node(self.node), |a: T| a.$method())
            }
        }

        impl<T> $Trait for &Delayed<T>
        where
            T: $Trait + Clone + Send + Sync + 'static,
            T::Output: Send + Sync + 'static,
        {
            type Output = Delayed<T::Output>;
            fn $method(self) -> Self::Output {
                unary(&$ID, Arg::node(self.node.clone()), |a: T| a.$method())
            }
        }
    )*};
}

unary_ops! {
    Neg neg NEG "neg";
    Not not NOT "invert";
}

static MAP_ID: &str = "delayed::map";
static GET_ID: FnId = FnId::new("delayed::get", "getitem", "");

macro_rules! comparisons {
    ($($(#[$doc:meta])* $method:ident => $name:literal, $op:ident, $bound:ident;)*) => {$(
        $(#[$doc])*
        pub fn $method<U, R>(&self, other: R) -> Delayed<bool>
        where
            T: $bound<U> + Send + Sync + 'static,
            U: Send + Sync + 'static,
            R: IntoArg<U>,
        {
            static ID: FnId = FnId::new(concat!("delayed::cmp::", $name), $name, "");
            let mut call = Call::new(&ID).with_type::<T>().with_type::<U>();
            call.node_arg(self.node.clone());
            call.arg(other.into_arg());
            call.finish(|inputs| {
                let a = inputs.share::<T>()?;
                let b = inputs.share::<U>()?;
                Ok((*a).$op(&*b))
            })
        }
    )*};
}

impl<T> Delayed<T> {
    /// Applies `f` to the value, lazily: `d.map(|v| v.len())` is a task reading `d`.
    ///
    /// Keys: `map` sees neither the closure's tokens nor where it was written (it may come
    /// through a variable or a generic helper), so a closure is told apart from every other
    /// by its `TypeId`. Two different closures never share a key; the same closure over
    /// the same input does, within this process. A `TypeId` is not stable across builds,
    /// so nothing downstream of a `map` closure is read from or written to the on-disk
    /// cache. A fn item (`d.map(str::len)`) is keyed by its path instead, valid within one
    /// build. For keys that hold across builds (and cached results), write a `#[delayed]`
    /// function. A capturing closure gets a fresh key per call, since its captures are not
    /// hashed.
    ///
    /// The closure is `Fn + Send + Sync + 'static`: it runs later, on any thread, and only
    /// reads the value; it cannot mutate captured state or borrow local variables. Return
    /// the new value instead of changing the old one.
    ///
    /// ```
    /// use delayed::value;
    /// let a = value(10i64);
    /// let (inc, dbl) = (a.map(|v| v + 1), a.map(|v| v * 2));
    /// assert_ne!(inc.key(), dbl.key());
    /// assert_eq!(delayed::compute((inc, dbl)).unwrap(), (11, 20));
    /// ```
    pub fn map<U, F>(&self, f: F) -> Delayed<U>
    where
        T: Send + Sync + 'static,
        U: Send + Sync + 'static,
        F: Fn(&T) -> U + Send + Sync + 'static,
    {
        let mut call = crate::graph::call::identify::<F>(Call::dynamic(MAP_ID, "map"));
        call.node_arg(self.node.clone());
        call.finish(move |inputs| {
            let v = inputs.share::<T>()?;
            Ok(f(&v))
        })
    }

    /// `value[index]`, lazily (dask's `d[i]`). The element is cloned out.
    ///
    /// ```
    /// use delayed::value;
    /// let v = value(vec![10, 20, 30]);
    /// assert_eq!(v.get(1).compute().unwrap(), 20);
    /// ```
    pub fn get<I>(&self, index: I) -> Delayed<<T as std::ops::Index<I>>::Output>
    where
        T: std::ops::Index<I> + Send + Sync + 'static,
        <T as std::ops::Index<I>>::Output: Clone + Send + Sync + Sized + 'static,
        I: Tokenize + Clone + Send + Sync + 'static,
    {
        let mut call = Call::new(&GET_ID).with_type::<T>().with_value(&index);
        call.node_arg(self.node.clone());
        call.unkeyed_value(index);
        call.finish(|inputs| {
            let v = inputs.share::<T>()?;
            let index = inputs.take::<I>()?;
            Ok(v[index].clone())
        })
    }

    comparisons! {
        /// `self < other`, lazily.
        lt => "lt", lt, PartialOrd;
        /// `self <= other`, lazily.
        le => "le", le, PartialOrd;
        /// `self > other`, lazily.
        gt => "gt", gt, PartialOrd;
        /// `self >= other`, lazily.
        ge => "ge", ge, PartialOrd;
        /// `self == other`, lazily (named `eq_` because `Delayed` is not `PartialEq`).
        eq_ => "eq", eq, PartialEq;
        /// `self != other`, lazily.
        ne_ => "ne", ne, PartialEq;
    }
}

#[cfg(test)]
mod tests {
    use crate::value;

    #[test]
    fn operators_compute_like_their_traits() {
        let a = value(7i64);
        let b = value(3i64);
        assert_eq!((&a + &b).compute().unwrap(), 10);
        assert_eq!((&a - 1).compute().unwrap(), 6);
        assert_eq!((2i64 * &a).compute().unwrap(), 14);
        assert_eq!((&a / &b).compute().unwrap(), 2);
        assert_eq!((&a % b.clone()).compute().unwrap(), 1);
        assert_eq!((-&a).compute().unwrap(), -7);
        assert!(!(!value(true)).compute().unwrap());
        assert_eq!((value(0b1100u8) & 0b1010u8).compute().unwrap(), 0b1000);
        assert_eq!((1u32 << value(4u32)).compute().unwrap(), 16);
        assert_eq!((value(1.5f64) + 1.0).compute().unwrap(), 2.5);
    }

    #[test]
    fn same_operation_same_key() {
        let a = value(1i32);
        assert_eq!((&a + 1).key(), (&a + 1).key());
        assert_ne!((&a + 1).key(), (&a - 1).key());
        assert_ne!((&a + 1).key(), (&a + 2).key());
    }
}
