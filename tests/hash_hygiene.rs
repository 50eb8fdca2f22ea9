//! Hash hygiene: a key identifies its content unambiguously.
//!
//! `Tokenize` encodings are self-delimiting (lengths before variable-sized data, a tag
//! before enum and `Option` contents) and the value's type name heads every data key, so
//! different values never share a key by construction (only by a blake3 collision). The
//! documented choices are tested here too: floats by bits (`0.0` ≠ `-0.0`, NaNs equal
//! exactly when their bits are), `usize` written as 64 bits but named `usize`, `HashMap`
//! independent of iteration order.

use delayed::prelude::*;
use delayed::Key;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

fn k<T: Tokenize + Send + Sync + 'static>(v: T) -> Key {
    value(v).key()
}

/// Every key in `keys` differs from every other.
fn all_distinct(keys: &[Key]) {
    let set: HashSet<Key> = keys.iter().copied().collect();
    assert_eq!(set.len(), keys.len(), "two different values share a key");
}

#[test]
fn concatenations_do_not_collide() {
    assert_ne!(k(("ab", "c")), k(("a", "bc")));
    assert_ne!(
        k((String::from("ab"), String::from("c"))),
        k((String::from("a"), String::from("bc")))
    );
    assert_ne!(k(vec!["ab", "c"]), k(vec!["a", "bc"]));
    assert_ne!(k(vec!["a\0", "b"]), k(vec!["a", "\0b"]));
    assert_ne!(k(vec![String::new(), "x".into()]), k(vec!["x".to_string()]));
    let a: Vec<Vec<i32>> = vec![vec![1], vec![]];
    let b: Vec<Vec<i32>> = vec![vec![], vec![1]];
    assert_ne!(k(a), k(b));
    all_distinct(&[
        k(Vec::<Vec<u8>>::new()),
        k(vec![Vec::<u8>::new()]),
        k(vec![Vec::<u8>::new(), vec![]]),
        k(vec![vec![0u8]]),
        k(vec![vec![0u8], vec![]]),
        k(vec![vec![], vec![0u8]]),
        k(vec![vec![0u8, 0]]),
    ]);
    // Bytes and the lengths around them.
    all_distinct(&[
        k(vec![1u8, 2, 3]),
        k(vec![1u8, 2]),
        k(vec![vec![1u8, 2], vec![3]]),
        k(vec![vec![1u8], vec![2, 3]]),
    ]);
}

#[test]
fn through_function_arguments_too() {
    #[delayed]
    fn join(a: String, b: String) -> String {
        a + &b
    }
    assert_ne!(join("ab", "c").key(), join("a", "bc").key());
    assert_eq!(join("ab", "c").key(), join("ab", "c").key());
    #[delayed]
    fn lists(a: Vec<u32>, b: Vec<u32>) -> usize {
        a.len() + b.len()
    }
    assert_ne!(
        lists(vec![1u32, 2], Vec::<u32>::new()).key(),
        lists(vec![1u32], vec![2]).key()
    );
}

#[test]
fn type_names_keep_equal_bits_apart() {
    all_distinct(&[
        k(1u8),
        k(1u16),
        k(1u32),
        k(1u64),
        k(1u128),
        k(1usize),
        k(1i8),
        k(1i16),
        k(1i32),
        k(1i64),
        k(1i128),
        k(1isize),
        k(true),
        k('\u{1}'),
        k(f32::from_bits(1)),
        k(f64::from_bits(1)),
        k(Some(1u8)),
        k((1u8,)),
        k(vec![1u8]),
        k([1u8]),
        k("\u{1}"),
        k(String::from("\u{1}")),
    ]);
    // Zero-sized and empty values of different types.
    all_distinct(&[
        k(()),
        k(Vec::<u8>::new()),
        k(Vec::<u16>::new()),
        k(String::new()),
        k(""),
        k(None::<u8>),
        k(None::<u16>),
        k(BTreeMap::<u8, u8>::new()),
        k(HashMap::<u8, u8>::new()),
    ]);
    #[delayed]
    fn ident<T: Clone + Send + Sync + 'static>(x: T) -> T {
        x
    }
    assert_ne!(ident(1u8).key(), ident(1u16).key());
    assert_ne!(ident::<u8>(1).key(), ident::<u16>(1).key());
}

#[test]
fn floats_are_keyed_by_their_bits() {
    assert_ne!(k(0.0f64), k(-0.0f64), "0.0 and -0.0 are different keys");
    assert_ne!(k(0.0f32), k(-0.0f32));
    assert_eq!(k(f64::NAN), k(f64::NAN), "the same NaN bits: the same key");
    assert_eq!(k(f64::NAN), k(f64::from_bits(f64::NAN.to_bits())));
    let payload = f64::from_bits(f64::NAN.to_bits() | 0x1234);
    assert!(payload.is_nan());
    assert_ne!(
        k(f64::NAN),
        k(payload),
        "NaNs with different payloads differ"
    );
    assert_ne!(k(f64::NAN), k(-f64::NAN), "the sign of a NaN counts");
    assert_ne!(
        k(f32::NAN),
        k(f32::from_bits(f32::NAN.to_bits() | 1)),
        "f32 payloads too"
    );
    assert_eq!(k(0.1f64 + 0.2), k(0.30000000000000004f64));
    assert_ne!(k(0.1f64 + 0.2), k(0.3f64));
    assert_ne!(k(1.0f32), k(1.0f64));
}

#[test]
fn options_results_and_nesting_are_tagged() {
    all_distinct(&[
        k(None::<Option<u8>>),
        k(Some(None::<u8>)),
        k(Some(Some(0u8))),
    ]);
    all_distinct(&[k(Ok::<u8, u8>(0)), k(Err::<u8, u8>(0))]);
    all_distinct(&[
        k(vec![None, Some(0u8)]),
        k(vec![Some(0u8), None]),
        k(vec![Some(0u8)]),
        k(vec![None::<u8>]),
    ]);
}

#[test]
fn maps_and_sets() {
    let a: HashMap<String, u32> = (0..100).map(|i| (i.to_string(), i)).collect();
    let b: HashMap<String, u32> = (0..100).rev().map(|i| (i.to_string(), i)).collect();
    assert_eq!(
        k(a.clone()),
        k(b),
        "a HashMap's key ignores iteration order"
    );
    let mut c = a.clone();
    c.insert("0".into(), 1);
    assert_ne!(k(a.clone()), k(c));
    // Entries are not pairs of a flat list: moving a value between keys changes the key.
    let x: HashMap<u8, u8> = [(1, 2), (3, 4)].into();
    let y: HashMap<u8, u8> = [(1, 4), (3, 2)].into();
    assert_ne!(k(x), k(y));
    let bt: BTreeMap<String, u32> = a.clone().into_iter().collect();
    assert_ne!(k(bt), k(a), "a BTreeMap and a HashMap are different types");
    let s1: HashSet<u16> = (0..50).collect();
    let s2: HashSet<u16> = (0..50).rev().collect();
    assert_eq!(k(s1), k(s2));
}

#[derive(Clone, Tokenize)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Clone, Tokenize)]
struct Other {
    x: i32,
    y: i32,
}

#[derive(Clone, Tokenize)]
struct Pair(i32, i32);

#[derive(Clone, Tokenize)]
struct Named {
    name: String,
    tags: Vec<String>,
}

#[derive(Clone, Tokenize)]
enum Shape {
    Dot,
    Empty,
    Circle(f64),
    Ring(f64),
    Rect { w: u8, h: u8 },
    Square { w: u8, h: u8 },
}

#[derive(Clone, Tokenize)]
struct Generic<T> {
    inner: T,
}

#[test]
fn derived_tokenize_structs_and_tuple_structs() {
    assert_eq!(k(Point { x: 1, y: 2 }), k(Point { x: 1, y: 2 }));
    assert_ne!(
        k(Point { x: 1, y: 2 }),
        k(Point { x: 2, y: 1 }),
        "field order matters"
    );
    assert_ne!(
        k(Point { x: 1, y: 2 }),
        k(Other { x: 1, y: 2 }),
        "the type name is part of the key"
    );
    assert_ne!(k(Point { x: 1, y: 2 }), k(Pair(1, 2)));
    assert_ne!(k(Pair(1, 2)), k(Pair(2, 1)));
    assert_ne!(k((1i32, 2i32)), k(Pair(1, 2)));
    // Variable-sized fields are delimited.
    assert_ne!(
        k(Named {
            name: "ab".into(),
            tags: vec!["c".into()]
        }),
        k(Named {
            name: "a".into(),
            tags: vec!["bc".into()]
        })
    );
    assert_ne!(
        k(Named {
            name: "a".into(),
            tags: vec![]
        }),
        k(Named {
            name: "".into(),
            tags: vec!["a".into()]
        })
    );
    assert_ne!(k(Generic { inner: 1u8 }), k(Generic { inner: 1u16 }));
    assert_ne!(k(Generic { inner: 1u8 }), k(Generic { inner: 2u8 }));
}

#[test]
fn derived_tokenize_enums() {
    all_distinct(&[
        k(Shape::Dot),
        k(Shape::Empty),
        k(Shape::Circle(1.0)),
        k(Shape::Ring(1.0)),
        k(Shape::Circle(-1.0)),
        k(Shape::Rect { w: 1, h: 2 }),
        k(Shape::Rect { w: 2, h: 1 }),
        k(Shape::Square { w: 1, h: 2 }),
    ]);
    assert_eq!(k(Shape::Rect { w: 1, h: 2 }), k(Shape::Rect { w: 1, h: 2 }));
    assert_ne!(k(Shape::Circle(0.0)), k(Shape::Circle(-0.0)));
}

/// Key equality is value equality, for random nested values: equal values get equal keys,
/// and (with overwhelming probability, as for any 256-bit hash) unequal ones do not.
fn nested() -> impl Strategy<Value = Vec<(String, Vec<u8>, Option<i16>)>> {
    prop::collection::vec(
        (
            "[ab\\x00]{0,3}",
            prop::collection::vec(0u8..3, 0..3),
            prop::option::of(-2i16..2),
        ),
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn keys_are_equal_exactly_when_values_are(a in nested(), b in nested(), same in any::<bool>()) {
        let b = if same { a.clone() } else { b };
        prop_assert_eq!(a == b, k(a.clone()) == k(b.clone()));
    }

    #[test]
    fn split_points_never_collide(s in "[ab]{0,6}", i in 0usize..7, j in 0usize..7) {
        let (i, j) = (i.min(s.len()), j.min(s.len()));
        let first = (s[..i].to_string(), s[i..].to_string());
        let second = (s[..j].to_string(), s[j..].to_string());
        prop_assert_eq!(i == j, k(first) == k(second));
    }
}
