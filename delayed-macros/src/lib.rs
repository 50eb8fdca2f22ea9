//! Procedural macros of [`delayed`](https://docs.rs/delayed): `#[delayed]`, `delay!` and
//! `#[derive(Tokenize)]`. Use them through the `delayed` crate, which they expand into
//! calls of (through its hidden `__private` module).
//!
//! This file holds only the entry points. For `#[delayed]`, tokens flow one way:
//! `attr.rs` (arguments) and `check.rs` (the purity rules) judge the item; `sig.rs` reads
//! its signature and `parts.rs` computes the pieces of the lazy function from it;
//! `expand.rs` (functions) and `methods.rs` (impl blocks) put those into the templates of
//! `shape.rs`, which is where the generated code can be read (`remote.rs` adds what lets
//! another process run a function). `delay.rs` (call sites) and `derive.rs` (`Tokenize`)
//! stand alone; `tokens.rs` hashes a function's tokens for its key, and every generated
//! path into the runtime starts with `rt.rs`'s one constant.

mod attr;
mod check;
mod delay;
mod derive;
mod expand;
mod methods;
mod parts;
mod remote;
mod rt;
mod shape;
mod sig;
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
    let (args, item) = (args.into(), item.into());
    match syn::parse2::<syn::ItemImpl>(proc_macro2::TokenStream::clone(&item)) {
        Ok(block) => methods::delayed_impl(args, block),
        Err(_) => expand::delayed_fn(args, item),
    }
    .into()
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
