// Reading the clock in a pure function.
use delayed::prelude::*;
use std::time::{Instant, SystemTime};

#[delayed]
fn stamp(x: u64) -> u64 {
    let started = Instant::now();
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    x + since_epoch + started.elapsed().as_secs()
}

fn main() {}
