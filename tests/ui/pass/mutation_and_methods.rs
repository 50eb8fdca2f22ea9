// What stays allowed in a pure function: mutating what it owns (by-value `mut` parameters,
// locals, even a local `RefCell`), `&self` and `self` methods, a user type that happens to
// be called `Cell`, and a generator seeded from the arguments.
use delayed::prelude::*;
use std::cell::RefCell;

/// A spreadsheet cell: not `std::cell::Cell`.
#[derive(Clone, Tokenize)]
struct Cell {
    value: i64,
}

mod rand {
    pub struct SeededRng(pub u64);
    impl SeededRng {
        pub fn seed_from_u64(seed: u64) -> SeededRng {
            SeededRng(seed)
        }
        pub fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
            self.0 >> 33
        }
    }
}

#[delayed]
fn append(mut l: Vec<i64>, i: i64) -> Vec<i64> {
    l.push(i);
    l
}

#[delayed]
fn sum_with_scratch(xs: &[i64]) -> i64 {
    let mut total = 0;
    let scratch = RefCell::new(Vec::new());
    for x in xs {
        total += x;
        scratch.borrow_mut().push(total);
    }
    let partial_sums = scratch.into_inner();
    partial_sums.last().copied().unwrap_or(0)
}

#[delayed]
fn cell_value(c: Cell) -> i64 {
    c.value
}

#[delayed]
fn seeded(seed: u64) -> u64 {
    let mut rng = rand::SeededRng::seed_from_u64(seed);
    rng.next()
}

#[derive(Clone, Tokenize)]
struct Counter {
    n: i64,
}

impl Counter {
    #[delayed]
    fn get(&self) -> i64 {
        self.n
    }

    #[delayed]
    fn incremented(self) -> Counter {
        Counter { n: self.n + 1 }
    }
}

fn main() -> Result<(), delayed::Error> {
    let mut l = value(Vec::<i64>::new());
    for i in 0..5 {
        l = append(l, i);
    }
    assert_eq!(l.compute()?, vec![0, 1, 2, 3, 4]);
    assert_eq!(sum_with_scratch(vec![1, 2, 3]).compute()?, 6);
    assert_eq!(cell_value(Cell { value: 7 }).compute()?, 7);
    assert_eq!(seeded(3).key(), seeded(3).key());
    assert_eq!(seeded(3).compute()?, seeded_eager(3));
    let c = Counter { n: 1 };
    assert_eq!(c.get().compute()?, 1);
    assert_eq!(c.incremented().compute()?.n, 2);
    Ok(())
}
