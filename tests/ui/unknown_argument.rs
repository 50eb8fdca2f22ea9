use delayed::prelude::*;

#[delayed(pur = false)]
fn roll(sides: u32) -> u32 {
    sides
}

fn main() {}
