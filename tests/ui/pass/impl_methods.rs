// `#[delayed]` on impl blocks: a generic one, method generics, a method with its own
// `#[delayed(pure = false)]`, and a type whose per-method `#[delayed]` (inside a plain impl)
// keeps working beside it.
use delayed::prelude::*;

#[derive(Clone, Default, Tokenize)]
struct Stack<T> {
    items: Vec<T>,
}

#[delayed]
impl<T: Clone + Tokenize + Send + Sync + 'static> Stack<T> {
    fn push(mut self, x: T) -> Stack<T> {
        self.items.push(x);
        self
    }

    fn top(&self) -> Option<T> {
        self.items.last().cloned()
    }

    fn paired<U: Clone + Tokenize + Send + Sync + 'static>(&self, other: U) -> Vec<(T, U)> {
        self.items.iter().map(|x| (x.clone(), other.clone())).collect()
    }

    #[delayed(pure = false)]
    fn snapshot(&self) -> usize {
        self.items.len()
    }
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
}

fn main() -> Result<(), delayed::Error> {
    let s = value(Stack::<i64>::default()).push(1).push(2);
    assert_eq!(s.top().compute()?, Some(2));
    assert_eq!(s.paired('a').compute()?, vec![(1, 'a'), (2, 'a')]);
    assert_ne!(s.paired('a').key(), s.paired(1u8).key());
    assert_ne!(s.snapshot().key(), s.snapshot().key());
    let strings = value(Stack::<String>::default()).push(String::from("a"));
    assert_ne!(strings.top().key(), value(Stack::<i64>::default()).top().key());
    assert_eq!(Counter { n: 3 }.get().compute()?, 3);
    Ok(())
}
