//! Procedural macros of [`delayed`](https://docs.rs/delayed): `#[delayed]`, `delay!` and
//! `#[derive(Tokenize)]`. Use them through the `delayed` crate, which they expand into
//! calls of (through its hidden `__private` module).
//!
//! This file holds only the entry points: attribute parsing is in `attr.rs`, the checks
//! that keep delayed functions free of side effects in `check.rs`, code generation in
//! `expand.rs` (functions), `methods.rs` (impl blocks), `delay.rs` (call sites) and `derive.rs` (`Tokenize`).

mod attr;
mod check;
mod delay;
mod derive;
mod expand;
mod methods;
mod rt;
mod tokens;

use proc_macro::TokenStream;

/// Makes a function lazy: calling it builds a task of the graph instead of running.
///
/// Use it through the `delayed` crate (`use delayed::prelude::*;`), whose re-export
/// `delayed::delayed` documents the whole contract with tested examples: arguments, keys,
/// purity, `pure = false` / `name = "…"` / `cache`, methods, errors. (A proc-macro crate
/// cannot run doc examples that use the crate re-exporting it, so they live there.)
#[proc_macro_attribute]
pub fn delayed(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::delayed_fn(args.into(), item.into()).into()
}

/// Wraps one call of any function or closure as a task: `delay!(f(a, b))`,
/// `delay!((|x: i64| x + 1)(a))` (dask's `delayed(f)(a, b)`).
#[proc_macro]
pub fn delay(input: TokenStream) -> TokenStream {
    delay::delay_call(input.into()).into()
}

/// Derives `Tokenize` (content hashing for task keys) for a struct or enum whose fields
/// are all `Tokenize`.
#[proc_macro_derive(Tokenize)]
pub fn derive_tokenize(input: TokenStream) -> TokenStream {
    derive::derive_tokenize(input.into()).into()
}

/// Marks the program's `main` for dask workers: `delayed::worker::enter()` becomes its
/// first statement, so a process that dask started to run a task runs it and exits there,
/// and any other run goes on as written.
///
/// ```ignore
/// #[delayed::main]
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let cluster = delayed::dask::Cluster::local(2)?;
///     // ...
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    if !args.is_empty() {
        return syn::Error::new_spanned(args, "`#[delayed::main]` takes no arguments")
            .to_compile_error()
            .into();
    }
    let item = proc_macro2::TokenStream::from(item);
    let mut func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let first: proc_macro2::TokenStream = item.into_iter().take(3).collect();
            return syn::Error::new_spanned(first, "`#[delayed::main]` applies to `fn main`")
                .to_compile_error()
                .into();
        }
    };
    func.block
        .stmts
        .insert(0, syn::parse_quote!(::delayed::worker::enter();));
    quote::quote!(#func).into()
}
