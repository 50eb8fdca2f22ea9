// A closure given to `delay!` runs later, on another thread: it cannot borrow local data.
use delayed::prelude::*;

fn main() {
    let l = vec![1, 2, 3];
    let n = delay!((|i: usize| l.len() + i)(1));
    println!("{:?}", n.compute());
}
