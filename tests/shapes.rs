//! Maps as shapes (`HashMap`/`BTreeMap` of `Delayed`, nested in tuples and `Vec`s, like
//! dask's dicts) and results that are not `Clone` (`Delayed::owned`): values, and how many
//! times each task ran (counted by the tasks themselves).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use delayed::prelude::*;
use delayed::Error;

/// The tests count runs of shared functions: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

static SQUARES: AtomicUsize = AtomicUsize::new(0);

#[delayed]
fn square(x: i64) -> i64 {
    SQUARES.fetch_add(1, SeqCst);
    x * x
}

#[test]
fn hash_and_btree_maps_compute_under_their_keys() {
    let _serial = serial();
    SQUARES.store(0, SeqCst);
    let by_name: HashMap<String, Delayed<i64>> = ["a", "b", "c"]
        .iter()
        .zip(1..)
        .map(|(k, i)| (k.to_string(), square(i)))
        .collect();
    let by_number: BTreeMap<u32, Delayed<i64>> =
        (1..=3).map(|i| (i, square(i64::from(i)))).collect();
    for sched in [Scheduler::new(), Scheduler::sync()] {
        SQUARES.store(0, SeqCst);
        let (names, numbers) = delayed::compute_with((&by_name, &by_number), &sched).unwrap();
        assert_eq!(names["a"] + names["b"] + names["c"], 14);
        assert_eq!(names.len(), 3);
        assert_eq!(
            numbers.into_iter().collect::<Vec<_>>(),
            [(1, 1), (2, 4), (3, 9)]
        );
        assert_eq!(
            SQUARES.load(SeqCst),
            3,
            "{sched:?}: equal keys across both maps run once"
        );
    }
    // Maps of shapes, and shapes of maps.
    let nested: BTreeMap<&str, Vec<Delayed<i64>>> = [
        ("small", vec![square(1)]),
        ("big", vec![square(10), square(20)]),
    ]
    .into();
    let in_vec = vec![BTreeMap::from([(0u8, square(2))]), BTreeMap::new()];
    let (nested, in_vec) = delayed::compute((nested, in_vec)).unwrap();
    assert_eq!(nested["big"], [100, 400]);
    assert_eq!(nested["small"], [1]);
    assert_eq!(in_vec, [BTreeMap::from([(0, 4)]), BTreeMap::new()]);
    let empty: HashMap<u8, Delayed<i64>> = HashMap::new();
    assert!(delayed::compute(&empty).unwrap().is_empty());
}

#[test]
fn maps_through_submit_and_persist() {
    let _serial = serial();
    let m: HashMap<u8, Delayed<i64>> = (0..5u8).map(|i| (i, square(i64::from(i)))).collect();
    let job = delayed::submit(&m).unwrap();
    let values = job.wait().unwrap();
    assert_eq!(values.len(), 5);
    assert!(values.iter().all(|(k, v)| *v == i64::from(*k).pow(2)));

    SQUARES.store(0, SeqCst);
    let persisted = delayed::persist(&m).unwrap();
    assert_eq!(SQUARES.load(SeqCst), 5);
    assert!(persisted.iter().all(|(k, d)| d.key() == m[k].key()));
    let again = delayed::compute(&persisted).unwrap();
    assert_eq!(again, values);
    assert_eq!(
        SQUARES.load(SeqCst),
        5,
        "persisted values are not computed again"
    );
}

static BUILT: AtomicUsize = AtomicUsize::new(0);

/// Not `Clone`: a result that can only be moved.
#[derive(Debug, PartialEq)]
struct Handle {
    id: u64,
    data: Vec<u8>,
}

#[delayed]
fn open(id: u64) -> Handle {
    BUILT.fetch_add(1, SeqCst);
    Handle {
        id,
        data: vec![id as u8; 4],
    }
}

#[delayed]
fn size(h: &Handle) -> usize {
    h.data.len()
}

#[test]
fn results_that_are_not_clone() {
    let _serial = serial();
    BUILT.store(0, SeqCst);
    let h = open(7);
    // Alone, beside other roots, in a Vec and a map, and read by another task too.
    let (handle, len) = delayed::compute((h.owned(), size(&h))).unwrap();
    assert_eq!(handle.id, 7);
    assert_eq!(len, 4);
    assert_eq!(BUILT.load(SeqCst), 1);
    let many: Vec<_> = (0..3).map(|i| open(i).owned()).collect();
    let handles = delayed::compute(&many).unwrap();
    assert_eq!(handles.iter().map(|h| h.id).collect::<Vec<_>>(), [0, 1, 2]);
    let by_id: BTreeMap<u64, _> = (5..7).map(|i| (i, open(i).owned())).collect();
    let handles = delayed::compute(by_id).unwrap();
    assert_eq!(handles[&6].data, [6; 4]);
    assert_eq!(BUILT.load(SeqCst), 1 + 3 + 2);
    // Through a job.
    assert_eq!(delayed::submit(h.owned()).unwrap().wait().unwrap().id, 7);

    // Needed twice: an error naming the task, and nothing is cloned.
    let err = delayed::compute((h.owned(), h.owned())).unwrap_err();
    assert!(matches!(err, Error::Shared { .. }), "{err}");
    assert_eq!(err.task(), Some(h.label().as_str()));
    assert!(err.to_string().contains("Handle"), "{err}");
    // The same key built twice is one node, so the same.
    let err = delayed::compute(vec![open(9).owned(), open(9).owned()]).unwrap_err();
    assert!(matches!(err, Error::Shared { .. }));
}

#[test]
fn a_single_root_takes_its_value() {
    // A value that counts its clones: a single root is moved out, never cloned.
    static CLONES: AtomicUsize = AtomicUsize::new(0);
    #[derive(Debug)]
    struct Counted(u32);
    impl Clone for Counted {
        fn clone(&self) -> Self {
            CLONES.fetch_add(1, SeqCst);
            Counted(self.0)
        }
    }
    let d = value(2u32).map(|n| Counted(*n));
    CLONES.store(0, SeqCst);
    assert_eq!(d.compute().unwrap().0, 2);
    assert_eq!(delayed::compute((&d, value(1u8) + 1)).unwrap().0 .0, 2);
    assert_eq!(CLONES.load(SeqCst), 0, "one root: moved, not cloned");
    // Twice among the roots: one clone, where the value is read twice.
    let (a, b) = delayed::compute((&d, &d)).unwrap();
    assert_eq!((a.0, b.0), (2, 2));
    assert_eq!(CLONES.load(SeqCst), 1);
}
