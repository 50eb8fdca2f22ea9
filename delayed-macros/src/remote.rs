//! What lets another process (`Scheduler::dask`) run a `#[delayed]` fn: a `RemoteOp`
//! that names the task's fn item `__delayed_body` and the codecs of its inputs and
//! output, a constant a worker of the same build finds by its offset in the executable.
//! Emitted only when all its types are known at the definition (no generics, no
//! `Self`); other bodies get an op made for their type by the runtime.

use quote::quote;
use syn::Type;

use crate::attr::Args;
use crate::parts::local;
use crate::rt::rt;
use crate::shape::Remote;
use crate::sig::{Param, Pass};

/// The op of the function at `path` (after the module) with tokens hashed to
/// `token_hash`, sitting beside `__delayed_body` in the lazy function.
pub(crate) fn remote(
    params: &[Param],
    output: &Type,
    (path, token_hash): (&str, &str),
    args: &Args,
) -> Remote {
    let rt = rt();
    // dask's resources and priority (`#[delayed(resources(GPU = 1), priority = 10)]`).
    let annotated = args.annotated_at.map(|_| {
        let (names, amounts): (Vec<&String>, Vec<&f64>) =
            args.resources.iter().map(|(n, a)| (n, a)).unzip();
        let priority = args.priority;
        quote!(.annotated(&[#( (#names, #amounts) ),*], #priority))
    });
    // The reads without `Send + Sync` bounds: those are checked in the lazy function,
    // and a second check here would repeat its errors.
    let reads = params
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (local, owned) = (local(i), &p.owned);
            match p.pass {
                Pass::Value => {
                    quote!(let #local = __delayed_inputs.take_unbounded::<#owned>()?;)
                }
                Pass::Borrow => {
                    quote!(let #local = __delayed_inputs.share_unbounded::<#owned>()?;)
                }
            }
        })
        .collect();
    let owned = params.iter().map(|p| &p.owned);
    let index = 0..params.len();
    let items = quote! {
        fn __delayed_remote_run(
            __delayed_inputs: &mut #rt::Inputs<'_>,
        ) -> ::core::result::Result<#rt::AnyValue, #rt::BoxError> {
            #rt::into_any(__delayed_body(__delayed_inputs))
        }
        #[allow(clippy::needless_borrow)] // the borrows choose the codec (`Probe`)
        fn __delayed_remote_input(i: usize) -> ::core::option::Option<&'static #rt::Codec> {
            #[allow(unused_imports)]
            use #rt::{KnownCodec as _, NoCodec as _, SerdeCodec as _};
            match i {
                #( #index => (&&&#rt::Probe::<#owned>::new()).codec(), )*
                _ => ::core::option::Option::None,
            }
        }
        #[allow(clippy::needless_borrow)]
        fn __delayed_remote_output() -> ::core::option::Option<&'static #rt::Codec> {
            #[allow(unused_imports)]
            use #rt::{KnownCodec as _, NoCodec as _, SerdeCodec as _};
            (&&&#rt::Probe::<#output>::new()).codec()
        }
        static __DELAYED_REMOTE: #rt::RemoteOp = #rt::RemoteOp::new(
            ::core::concat!(::core::module_path!(), "::", #path),
            #token_hash,
            __delayed_remote_run,
            __delayed_remote_input,
            __delayed_remote_output,
        )#annotated;
    };
    Remote { reads, items }
}
