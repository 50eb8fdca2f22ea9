use delayed::prelude::*;

#[delayed(pure = "no")]
fn roll(sides: u32) -> u32 {
    sides
}

#[delayed(name = inc)]
fn inc(i: i64) -> i64 {
    i + 1
}

fn main() {}
