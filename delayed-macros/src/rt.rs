//! The one path generated code reaches the runtime through.
//!
//! The facade re-exports `delayed_runtime::private` as `delayed::__private_0_1`: the
//! version in the name is the contract between these macros and the runtime (the facade
//! pins both crates with `=`), so it is written here once.

use proc_macro2::TokenStream;
use quote::quote;

/// `::delayed::__private_0_1`, for `#rt::Item` in `quote!`.
pub(crate) fn rt() -> TokenStream {
    quote!(::delayed::__private_0_1)
}
