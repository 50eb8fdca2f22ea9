// Shared mutable state passed to a `delay!` call: it cannot cross into the task graph.
use delayed::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

fn main() {
    let l: Rc<RefCell<Vec<i32>>> = Rc::new(RefCell::new(vec![1, 2, 3]));
    let n = delay!((|l: Rc<RefCell<Vec<i32>>>| l.borrow().len())(l.clone()));
    let _ = n.compute();
}
