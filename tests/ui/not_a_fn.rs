use delayed::prelude::*;

#[delayed]
struct Config {
    threads: usize,
}

fn main() {}
