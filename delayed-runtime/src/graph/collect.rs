//! `collect`: many delayed items gathered into one `Delayed<Vec<T>>`, the node the crate
//! inserts when a `Vec<Delayed<T>>` is passed where a `Vec<T>` is expected.

use crate::graph::arg::{Arg, IntoArg};
use crate::graph::call::{Call, FnId};
use crate::graph::delayed::Delayed;
use crate::graph::remote::builtin;

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
    let mut call = Call::new(&ID)
        .with_type::<T>()
        .collect_role()
        .remote_if(builtin::collect::<T>());
    let mut len = 0usize;
    for item in items {
        call.arg(item.into_arg());
        len += 1;
    }
    call.finish(move |inputs| (0..len).map(|_| inputs.take::<T>()).collect())
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
