// Reading the environment in a pure function.
use delayed::prelude::*;

#[delayed]
fn scaled(x: u64) -> u64 {
    let factor: u64 = std::env::var("SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    x * factor
}

fn main() {}
