use delayed::prelude::*;

#[delayed(cache, pure = false)]
fn roll(sides: u32) -> u32 {
    sides
}

fn main() {}
