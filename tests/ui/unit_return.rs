// A delayed function whose only effect would be a side effect.
use delayed::prelude::*;

#[delayed]
fn log_value(x: i32) {
    println!("{x}");
}

#[delayed]
fn store(x: i32) -> () {
    let _ = x;
}

fn main() {}
