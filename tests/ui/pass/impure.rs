// `#[delayed(pure = false)]` allows randomness, clocks and the environment: every call gets
// a fresh key and runs.
use delayed::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

mod rand {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(1);

    pub fn random() -> u64 {
        STATE.fetch_add(1, Ordering::SeqCst)
    }

    pub fn thread_rng() -> u64 {
        random()
    }
}

use rand::thread_rng;

#[delayed(pure = false)]
fn roll(sides: u64) -> u64 {
    (rand::random() + thread_rng()) % sides + 1
}

#[delayed(pure = false)]
fn stamp(label: String) -> String {
    let started = Instant::now();
    let epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let user = std::env::var("DELAYED_UI_USER").unwrap_or_default();
    format!("{label}:{}:{}:{user}", epoch > 0, started.elapsed().as_secs() < 60)
}

static RUNS: AtomicU64 = AtomicU64::new(0);

#[delayed(pure = false)]
fn counted(x: u64) -> u64 {
    RUNS.fetch_add(1, Ordering::SeqCst);
    x
}

fn main() -> Result<(), delayed::Error> {
    let (a, b) = (roll(6), roll(6));
    assert_ne!(a.key(), b.key());
    let (a, b) = delayed::compute((a, b))?;
    assert!((1..=6).contains(&a) && (1..=6).contains(&b));
    assert!(stamp("t".to_string()).compute()?.starts_with("t:true:true:"));
    let total = counted(1) + counted(1);
    assert_eq!(total.compute()?, 2);
    assert_eq!(RUNS.load(Ordering::SeqCst), 2);
    Ok(())
}
