//! `#[delayed] impl Type { … }`: the methods are callable on a `Delayed<Type>`, lazily and
//! chained (`value(Acc::default()).add(5).add(6)` is two nodes), with `self` and `&self`
//! receivers, arguments as for free functions, keys that include `Self`, and dedup across
//! chains. The methods stay eager on the type itself.

use delayed::prelude::*;

#[derive(Clone, Debug, Default, PartialEq, Tokenize)]
struct Acc {
    total: i64,
    items: Vec<i64>,
}

#[delayed]
impl Acc {
    /// A new accumulator with `x` added.
    fn add(mut self, x: i64) -> Acc {
        self.total += x;
        self.items.push(x);
        self
    }

    /// How many items.
    fn len(&self) -> usize {
        self.items.len()
    }

    fn scaled(&self, by: &i64) -> i64 {
        self.total * by
    }

    fn describe(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.total)
    }

    fn checked(&self, max: i64) -> Result<i64, std::num::TryFromIntError> {
        if self.total > max {
            u8::try_from(-1i64).map(i64::from)
        } else {
            Ok(self.total)
        }
    }

    /// Associated functions stay on the type only.
    fn with(total: i64) -> Acc {
        Acc {
            total,
            items: vec![total],
        }
    }

    #[delayed(name = "merged")]
    fn merge(self, other: Acc) -> Acc {
        Acc {
            total: self.total + other.total,
            items: [self.items, other.items].concat(),
        }
    }
}

/// Another type with a method of the same name: keys include `Self`.
#[derive(Clone, Debug, Default, PartialEq, Tokenize)]
struct Other {
    total: i64,
}

#[delayed]
impl Other {
    fn add(mut self, x: i64) -> Other {
        self.total += x;
        self
    }
}

#[test]
fn chains_build_one_node_per_call() {
    let acc = value(Acc::default());
    let two = acc.add(5).add(6);
    assert_eq!(two.graph_len(), 3, "the data and two `add` tasks");
    assert_eq!(two.name(), "add");
    let v = two.compute().unwrap();
    assert_eq!(
        v,
        Acc {
            total: 11,
            items: vec![5, 6]
        }
    );
    // The methods stay eager on the type.
    assert_eq!(Acc::default().add(1).total, 1);
    assert_eq!(Acc::with(3).len(), 1);
}

#[test]
fn ref_and_value_receivers_and_arguments() {
    let acc = value(Acc::with(2)).add(3);
    let by = value(10i64);
    let (len, scaled, text, checked) = delayed::compute((
        acc.len(),
        acc.scaled(&by),
        acc.describe("total: "),
        acc.checked(100),
    ))
    .unwrap();
    assert_eq!(
        (len, scaled, text.as_str(), checked),
        (2, 50, "total: 5", 5)
    );
    // A Delayed argument and a plain one; a fallible method's `Err`.
    let merged = acc.merge(value(Acc::with(1)).add(1));
    assert_eq!(merged.name(), "merged");
    assert_eq!(merged.compute().unwrap().total, 7);
    let err = acc.checked(0).compute().unwrap_err();
    assert!(matches!(err, delayed::Error::Failed { .. }), "{err}");
    assert!(err.task().unwrap().starts_with("checked-"));
    // Through the trait's path, for a name `Delayed` has too.
    assert_eq!(AccDelayed::len(&acc).compute().unwrap(), 2);
}

#[test]
fn keys_equal_for_equal_chains_and_dedup_across_chains() {
    let a = value(Acc::default()).add(5).add(6);
    let b = value(Acc::default()).add(5).add(6);
    assert_eq!(a.key(), b.key());
    assert_ne!(a.key(), value(Acc::default()).add(6).add(5).key());
    assert_ne!(
        value(Acc::default()).add(5).key(),
        value(Acc::default()).add(6).key()
    );
    // Keys include `Self`: the same method name and argument on another type.
    assert_ne!(
        value(Acc::default()).add(1).key(),
        value(Other::default()).add(1).key()
    );
    assert_eq!(value(Other::default()).add(1).compute().unwrap().total, 1);

    // Two chains sharing a prefix: the prefix runs once.
    let base = || value(Acc::default()).add(1).add(2);
    let left = base().add(3);
    let right = base().add(4);
    let ((l, r), report) =
        delayed::compute_with_report((&left, &right), &Scheduler::new()).unwrap();
    assert_eq!((l.total, r.total), (6, 7));
    assert_eq!(
        report.function("add").map(|f| f.calls),
        Some(4),
        "add(1), add(2) once, then add(3) and add(4)"
    );
}
