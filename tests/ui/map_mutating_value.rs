// The tutorial's `l = delayed([]); l.append(i)`: `map` only reads the value. Return a new one.
use delayed::prelude::*;

fn main() {
    let l = value(Vec::<i32>::new());
    let tasks: Vec<Delayed<()>> = (0..10).map(|i| l.map(move |l| l.push(i))).collect();
    let _ = delayed::compute(tasks);
}
