//! The benchmark's port of numpy's `default_rng(seed).integers(...)` (in
//! `benches/support/numpy_rng.rs`) against values printed by numpy 2.4:
//!
//! ```python
//! np.random.SeedSequence(0).generate_state(4, np.uint64)
//! g = np.random.default_rng(0); [g.bit_generator.random_raw() for _ in range(3)]
//! g = np.random.default_rng(0); g.integers(0, 413, size=10); g.integers(0, 413, size=10)
//! g = np.random.default_rng(12345); g.integers(0, 3, size=10); g.integers(-5, 1000000, size=5)
//! ```

#[path = "../benches/support/numpy_rng.rs"]
#[allow(dead_code)]
mod numpy_rng;

use numpy_rng::{seed_sequence_u64, Pcg64};

#[test]
fn seed_sequence_matches_numpy() {
    assert_eq!(
        seed_sequence_u64(0, 4),
        [
            15793235383387715774,
            12390638538380655177,
            2361836109651742017,
            3188717715514472916
        ]
    );
}

#[test]
fn pcg64_raw_matches_numpy() {
    let mut rng = Pcg64::new(0);
    let raw: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
    assert_eq!(
        raw,
        [
            11749869230777074271,
            4976686463289251617,
            755828109848996024
        ]
    );
}

#[test]
fn integers_match_numpy() {
    let mut rng = Pcg64::new(0);
    assert_eq!(
        rng.integers(0, 413, 10),
        [351, 263, 211, 111, 127, 16, 31, 6, 72, 335]
    );
    assert_eq!(
        rng.integers(0, 413, 10),
        [268, 376, 207, 250, 400, 301, 261, 224, 231, 386]
    );
    let mut rng = Pcg64::new(12345);
    assert_eq!(rng.integers(0, 3, 10), [2, 0, 2, 0, 0, 2, 1, 2, 2, 1]);
    assert_eq!(
        rng.integers(-5, 1_000_000, 5),
        [839424, 332810, 567501, 598306, 213139]
    );
}
