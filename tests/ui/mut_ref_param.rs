// dask's `delayed(l.append)(i)`: a function that mutates its argument.
use delayed::prelude::*;

#[delayed]
fn append(l: &mut Vec<i32>, i: i32) -> usize {
    l.push(i);
    l.len()
}

fn main() {}
