// Fallible and generic functions, and closures that capture nothing or only owned,
// thread-safe data.
use delayed::prelude::*;
use std::sync::Arc;

#[derive(Debug)]
struct Negative(i64);

impl std::fmt::Display for Negative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is negative", self.0)
    }
}

impl std::error::Error for Negative {}

#[delayed]
fn checked_sqrt(x: i64) -> Result<i64, Negative> {
    if x < 0 {
        return Err(Negative(x));
    }
    Ok((x as f64).sqrt() as i64)
}

#[delayed]
fn pair<A: Clone + Send + Sync + 'static, B: Clone + Send + Sync + 'static>(a: A, b: B) -> (A, B) {
    (a, b)
}

#[delayed]
fn first<T: Clone + Send + Sync + 'static>(xs: &[T]) -> Option<T> {
    xs.first().cloned()
}

#[derive(Clone, Tokenize)]
struct Scaled<T> {
    factor: T,
}

impl<T: std::ops::Mul<Output = T> + Clone> Scaled<T> {
    /// A method of a generic impl: `T` is the impl's parameter, bounded only by the
    /// where clauses `#[delayed]` adds to the method.
    #[delayed]
    fn apply(&self, x: T) -> T {
        self.factor.clone() * x
    }
}

fn main() -> Result<(), delayed::Error> {
    assert_eq!(checked_sqrt(16).compute()?, 4);
    let err = checked_sqrt(-4).compute().unwrap_err();
    assert!(err.to_string().contains("-4 is negative"), "{err}");

    assert_eq!(pair(1u8, String::from("x")).compute()?, (1, String::from("x")));
    assert_eq!(first::<u16>(vec![3, 4]).compute()?, Some(3));

    assert_eq!(Scaled { factor: 3i64 }.apply(5).compute()?, 15);
    assert_eq!(Scaled { factor: 0.5f64 }.apply(3.0).compute()?, 1.5);

    let doubled = delay!((|x: i64| x * 2)(21));
    let offsets = Arc::new(vec![1i64, 2, 3]);
    let shifted = doubled.map(move |d| d + offsets.iter().sum::<i64>());
    assert_eq!(shifted.compute()?, 48);
    Ok(())
}
