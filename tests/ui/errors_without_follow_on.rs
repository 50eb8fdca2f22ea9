// A function the checks reject still expands to its lazy signature: its callers
// type-check, so the only errors are the real ones (no E0308, no "no method `compute`").
use delayed::prelude::*;

#[delayed]
fn append(l: &mut Vec<i64>, i: i64) -> usize {
    l.push(i);
    l.len()
}

#[delayed]
fn roll(sides: u32) -> u32 {
    rand::random::<u32>() % sides
}

fn main() {
    let n: Delayed<usize> = append(vec![1], 2);
    let total = &n + 1;
    let sides = roll(6);
    let _ = delayed::compute((total, sides));
}
