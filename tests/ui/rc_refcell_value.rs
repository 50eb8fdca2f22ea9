// Shared mutable state (`Rc<RefCell<_>>`) cannot cross into the task graph.
use delayed::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

#[delayed(pure = false)]
fn append(l: Rc<RefCell<Vec<i32>>>, i: i32) -> usize {
    l.borrow_mut().push(i);
    l.borrow().len()
}

fn main() {
    let l = Rc::new(RefCell::new(Vec::new()));
    let _ = append(l.clone(), 1);
}
