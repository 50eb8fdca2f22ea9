//! `collect`: many delayed items gathered into one `Delayed<Vec<T>>`, the node the crate
//! inserts when a `Vec<Delayed<T>>` is passed where a `Vec<T>` is expected.

use crate::erased::BoxError;
use crate::graph::arg::{Arg, IntoArg};
use crate::graph::call::{Call, FnId};
use crate::graph::delayed::Delayed;
use crate::graph::node::{Inputs, RemoteOp};
use crate::graph::remote::erased_vec;

/// Gathers delayed items into one `Delayed<Vec<T>>` (for functions that take a list).
/// Items may be `Delayed<T>`, `&Delayed<T>` or plain `T`.
///
/// ```
/// use delayed::{collect, value};
/// let parts = vec![value(1i64), value(2i64) + 1];
/// assert_eq!(collect(&parts).map(|v| v.iter().sum::<i64>()).compute().unwrap(), 4);
/// ```
pub fn collect<T, I>(items: I) -> Delayed<Vec<T>>
where
    I: IntoIterator,
    I::Item: IntoArg<T>,
    T: Clone + Send + Sync + 'static,
{
    static ID: FnId = FnId::new("delayed::collect", "collect", "");
    let mut call = Call::new(&ID).with_type::<T>().collect_role();
    for item in items {
        call.arg(item.into_arg());
    }
    // The op of `gather`, whose result crosses with a codec over `T`'s (`remote.rs`).
    let body = gather::<T>;
    call.remote(op_of(&body)).finish(body)
}

fn op_of<F, T>(_: &F) -> &'static RemoteOp
where
    F: Fn(&mut Inputs<'_>) -> Result<Vec<T>, BoxError> + 'static,
    T: Clone + Send + Sync + 'static,
{
    erased_vec::<F, T>()
}

/// `collect`'s body: every input, in order.
fn gather<T: Clone + Send + Sync + 'static>(inputs: &mut Inputs<'_>) -> Result<Vec<T>, BoxError> {
    (0..inputs.len()).map(|_| inputs.take::<T>()).collect()
}

/// A list of delayed items passed where a `Vec<T>` is expected is gathered by `collect`.
impl<T: Clone + Send + Sync + 'static> IntoArg<Vec<T>> for Vec<Delayed<T>> {
    fn into_arg(self) -> Arg<Vec<T>> {
        collect(self).into_arg()
    }
}

impl<T: Clone + Send + Sync + 'static> IntoArg<Vec<T>> for &Vec<Delayed<T>> {
    fn into_arg(self) -> Arg<Vec<T>> {
        collect(self).into_arg()
    }
}

impl<T: Clone + Send + Sync + 'static> IntoArg<Vec<T>> for &[Delayed<T>] {
    fn into_arg(self) -> Arg<Vec<T>> {
        collect(self).into_arg()
    }
}
