// A syntax error inside the body is reported by rustc as it is: no false
// "`#[delayed]` applies to functions only", and callers still type-check.
use delayed::prelude::*;

#[delayed]
fn inc(x: i64) -> i64 {
    x +
}

fn main() {
    let _ = inc(1).compute();
}
