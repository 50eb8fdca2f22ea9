// State kept between calls in a `static mut` (which also needs `unsafe`): both reported.
use delayed::prelude::*;

#[delayed]
fn count(i: i64) -> i64 {
    static mut CALLS: i64 = 0;
    unsafe {
        CALLS += 1;
    }
    i
}

fn main() {}
