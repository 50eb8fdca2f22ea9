// The tutorial's `delayed(l.append)(i)` written with `delay!`.
use delayed::prelude::*;

fn main() {
    let mut l: Vec<i32> = Vec::new();
    let _task = delay!(l.push(1));
}
