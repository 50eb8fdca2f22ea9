// The tutorial's `l = []; delayed(l.append)(i)`: a closure that pushes onto a list outside
// the graph. dask silently leaves `l` empty; here it does not compile. A task's closure is
// `Fn + 'static`: it can neither mutate nor borrow `l`.
use delayed::prelude::*;

fn main() {
    let mut l = vec![];
    let task = delay!((|i| l.push(i))(1));
    let _ = task.compute();
}
