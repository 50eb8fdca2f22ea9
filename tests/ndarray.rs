//! `ndarray` arrays as task values (feature `ndarray`): keys by content whatever the
//! memory layout, results equal to eager code, `&Array` parameters borrowing the computed
//! array, and a round trip through the on-disk cache. (The cluster round trip is the
//! `ndarray_values` case of `tests/dask.rs`.)
#![cfg(feature = "ndarray")]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use delayed::ndarray::{array, s, Array1, Array2, ShapeBuilder};
use delayed::prelude::*;

static SCALED: AtomicUsize = AtomicUsize::new(0);

#[delayed]
fn scaled(x: &Array2<f64>, by: f64) -> Array2<f64> {
    SCALED.fetch_add(1, SeqCst);
    x * by
}

#[delayed]
fn row_sums(x: &Array2<f64>) -> Array1<f64> {
    x.sum_axis(delayed::ndarray::Axis(1))
}

#[delayed]
fn std(x: &Array1<f64>) -> f64 {
    x.std(0.0)
}

#[delayed(cache)]
fn cached_grid(n: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, n + 1), |(i, j)| (i * 10 + j) as f64)
}

fn grid() -> Array2<f64> {
    Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64 * 0.5)
}

#[test]
fn keys_follow_content_and_shape_not_memory_layout() {
    let c = grid();
    // The same values stored column-major.
    let mut f = Array2::<f64>::zeros((3, 4).f());
    f.assign(&c);
    assert!(!f.is_standard_layout());
    // And as the transpose of a transpose (a view with swapped strides, owned again).
    let t = c.t().to_owned().t().to_owned();
    let key = value(c.clone()).key();
    assert_eq!(value(f.clone()).key(), key);
    assert_eq!(value(t).key(), key);
    // A non-contiguous slice equals its standard-layout copy.
    let every_other = c.slice(s![.., ..;2]).to_owned();
    let strided = {
        let mut wide = Array2::<f64>::zeros((3, 2).f());
        wide.assign(&c.slice(s![.., ..;2]));
        wide
    };
    assert_eq!(value(every_other).key(), value(strided).key());
    // Another shape of the same numbers, or another number: another key.
    let reshaped = c.clone().into_shape_with_order((4, 3)).unwrap();
    assert_ne!(value(reshaped).key(), key);
    let mut changed = c.clone();
    changed[[2, 3]] += 1.0;
    assert_ne!(value(changed).key(), key);
    // As an argument too: one task for both layouts.
    assert_eq!(scaled(c, 2.0).key(), scaled(f, 2.0).key());
}

#[test]
fn results_equal_eager_and_arrays_are_borrowed() {
    let x = grid();
    let before = SCALED.load(SeqCst);
    let doubled = scaled(x.clone(), 2.0);
    let sums = row_sums(&doubled);
    let spread = std(&sums);
    let (got_sums, got_spread) = delayed::compute((&sums, &spread)).unwrap();
    let want = (&x * 2.0).sum_axis(delayed::ndarray::Axis(1));
    assert_eq!(got_sums, want);
    assert_eq!(got_spread, want.std(0.0));
    assert_eq!(
        SCALED.load(SeqCst) - before,
        1,
        "shared by both readers, run once"
    );
    let small: Array1<f64> = array![1.0, 2.0, 3.0, 4.0];
    assert_eq!(std(small.clone()).compute().unwrap(), small.std(0.0));
}

#[test]
fn arrays_round_trip_through_the_cache() {
    let dir = std::env::temp_dir().join(format!("delayed-ndarray-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let want = Array2::from_shape_fn((5, 6), |(i, j)| (i * 10 + j) as f64);
    let first = Scheduler::new().cache(&dir);
    assert_eq!(cached_grid(5).compute_with(&first).unwrap(), want);
    let again = Scheduler::new().cache(&dir);
    assert_eq!(cached_grid(5).compute_with(&again).unwrap(), want);
    let hits = again.disk_cache().map(|c| c.counters().hits);
    assert_eq!(hits, Some(1));
    std::fs::remove_dir_all(&dir).unwrap();
}
