// A method that mutates its receiver: the graph works on a copy, the change would be lost.
use delayed::prelude::*;

#[derive(Clone, Tokenize)]
struct List {
    items: Vec<i32>,
}

impl List {
    #[delayed]
    fn append(&mut self, i: i32) -> usize {
        self.items.push(i);
        self.items.len()
    }
}

fn main() {}
