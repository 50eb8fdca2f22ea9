use delayed::prelude::*;

#[derive(Clone, Default, Tokenize)]
struct Acc {
    total: i64,
}

#[delayed]
impl Acc {
    fn add(&mut self, x: i64) -> i64 {
        self.total += x;
        self.total
    }

    fn get(&self) -> i64 {
        self.total
    }
}

fn main() {
    // Still expanded: the other method works, no follow-on errors at the call sites.
    let _ = value(Acc::default()).get();
    let _ = value(Acc::default()).add(1);
}
