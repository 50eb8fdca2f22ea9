//! Operators on `Delayed` values: `+ - * / % & | ^ << >>` and unary `-` and `!`.
//!
//! Each works between `Delayed<T>`, `&Delayed<T>` and plain values, on either side, and
//! has the output type of the underlying `std::ops` trait. A plain left operand needs a
//! concrete primitive type (`2i64 + d`), since Rust picks the impl from the left side.

use std::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Not, Rem, Shl, Shr, Sub};

use crate::arg::Arg;
use crate::call::{Call, FnId};
use crate::delayed::Delayed;
use crate::tokenize::Tokenize;

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
    let mut call = Call::new(id)
        .with_type::<T>()
        .with_type::<U>()
        .remote_if(crate::remote::builtin::binary::<T, U>(id.name()));
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
