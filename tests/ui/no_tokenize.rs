// A plain value is keyed by its content: its type must implement `Tokenize`.
use delayed::prelude::*;

#[derive(Clone)]
struct Point {
    x: i64,
    y: i64,
}

#[delayed]
fn norm1(p: Point) -> i64 {
    p.x.abs() + p.y.abs()
}

fn main() {
    let _ = norm1(Point { x: 1, y: -2 });
    let _ = value(Point { x: 3, y: 4 });
}
