use delayed::prelude::*;

/// Not serde: its results cannot be kept on disk.
#[derive(Clone)]
struct Blocks(Vec<u8>);

#[delayed(cache)]
fn blocks(n: usize) -> Blocks {
    Blocks(vec![0; n])
}

fn main() {}
