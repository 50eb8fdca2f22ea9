// A pure function may not hand out a result that its consumers could mutate.
use delayed::prelude::*;
use std::sync::{Arc, Mutex};

#[delayed]
fn make_list(n: usize) -> Arc<Mutex<Vec<i32>>> {
    Arc::new(Mutex::new(Vec::with_capacity(n)))
}

fn main() {}
