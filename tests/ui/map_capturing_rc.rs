// The tutorial's `delayed([]).append(i)`: a `map` closure that mutates shared state.
use delayed::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

fn main() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let x = value(1i32);
    let y = x.map(move |v| {
        log.borrow_mut().push(*v);
        *v + 1
    });
    let _ = y.compute();
}
