// An `unsafe` block in a delayed function, even with `pure = false`.
use delayed::prelude::*;

#[delayed(pure = false)]
fn first(xs: Vec<u8>) -> u8 {
    if xs.is_empty() {
        return 0;
    }
    unsafe { *xs.get_unchecked(0) }
}

fn main() {}
