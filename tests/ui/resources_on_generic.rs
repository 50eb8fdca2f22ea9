use delayed::prelude::*;

// dask resources ride on the function's cluster op, made where its types are known.
#[delayed(resources(GPU = 1))]
fn train<T: Clone + Send + Sync + 'static>(x: T) -> T {
    x
}

fn main() {
    let _ = train(1u8);
}
