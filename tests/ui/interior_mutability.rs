// Interior mutability in the signature of a pure function, at any depth.
use delayed::prelude::*;
use std::cell::{Cell, RefCell};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};

#[delayed]
fn push(l: Arc<Mutex<Vec<i32>>>, i: i32) -> usize {
    let mut l = l.lock().unwrap_or_else(|e| e.into_inner());
    l.push(i);
    l.len()
}

#[delayed]
fn bump(counter: &AtomicUsize) -> usize {
    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

#[delayed]
fn read(cells: Vec<(u8, Cell<i32>)>, shared: &RwLock<RefCell<i32>>) -> i32 {
    cells.len() as i32 + *shared.read().unwrap().borrow()
}

fn main() {}
