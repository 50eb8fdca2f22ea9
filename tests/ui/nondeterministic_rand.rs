// Randomness in a pure function: the result would be computed once and reused.
use delayed::prelude::*;

mod rand {
    pub fn random<T: From<u8>>() -> T {
        T::from(4)
    }
}

fn thread_rng() -> u64 {
    4
}

#[delayed]
fn noisy(x: f64) -> f64 {
    x + rand::random::<f64>() + thread_rng() as f64
}

fn main() {}
