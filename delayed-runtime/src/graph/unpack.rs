//! `unpack()`: a `Delayed` tuple into a tuple of `Delayed`s (dask's `nout`).

use crate::graph::call::{Call, FnId};
use crate::graph::delayed::Delayed;

static FIELD_ID: FnId = FnId::new("delayed::getitem", "getitem", "");

/// One field of a delayed tuple: a task reading the tuple and cloning the field out.
fn field<Tup, E>(
    tuple: &Delayed<Tup>,
    index: usize,
    get: impl Fn(&Tup) -> E + Send + Sync + 'static,
) -> Delayed<E>
where
    Tup: Send + Sync + 'static,
    E: Send + Sync + 'static,
{
    let mut call = Call::new(&FIELD_ID)
        .with_type::<Tup>()
        .with_value(&(index as u64));
    call.node_arg(tuple.node.clone());
    call.finish(move |inputs| Ok(get(&*inputs.share::<Tup>()?)))
}

macro_rules! unpack_impls {
    ($( ($($n:tt $t:ident),+) )*) => {$(
        impl<$($t),+> Delayed<($($t,)+)>
        where
            $($t: Clone + Send + Sync + 'static),+
        {
            /// Splits a delayed tuple into one `Delayed` per field (dask's `nout`). Each
            /// field is its own node, so consumers of one field do not wait on the others'
            /// consumers.
            ///
            /// ```
            /// use delayed::value;
            /// let (a, b) = value((1i32, String::from("x"))).unpack();
            /// assert_eq!(a.compute().unwrap(), 1);
            /// assert_eq!(b.compute().unwrap(), "x");
            /// ```
            pub fn unpack(&self) -> ($(Delayed<$t>,)+) {
                ($( field(self, $n, |t| t.$n.clone()), )+)
            }
        }
    )*};
}

for_each_tuple!(unpack_impls);
