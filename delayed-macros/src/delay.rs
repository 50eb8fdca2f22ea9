//! Code generation for `delay!(f(args))`: one lazy call of any function or closure.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Expr, ExprCall};

use crate::rt::rt;
use crate::tokens::hash_tokens;

const MAX_ARGS: usize = 12;

pub(crate) fn delay_call(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(error) => error.to_compile_error(),
    }
}

fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let expr: Expr = syn::parse2(input.clone())?;
    let call: ExprCall = match expr {
        Expr::Call(call) => call,
        Expr::MethodCall(method) => {
            return Err(syn::Error::new_spanned(
                &method,
                format!(
                    "`delay!` wraps a function call like `f(x)` or `(|x: T| ...)(x)`, not a method call: \
                     `.{}(...)` would run on a receiver inside the graph, and any change to it would be lost \
                     (dask's `delayed(l.append)(i)` leaves `l` empty). Write a function that takes the value \
                     and returns the new one, e.g. `delay!(Type::{}(receiver, ...))` for a method that returns its result",
                    method.method, method.method
                ),
            ))
        }
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "`delay!` wraps one function call: `delay!(path::to::f(a, b))` or `delay!((|x: i64| x + 1)(a))`; for a plain value use `value(x)`",
            ))
        }
    };
    if call.args.len() > MAX_ARGS {
        return Err(syn::Error::new_spanned(
            &call.args,
            format!("`delay!` takes at most {MAX_ARGS} arguments; group them in a tuple or struct, or use a `#[delayed]` function"),
        ));
    }

    let mut func = *call.func;
    while let Expr::Paren(paren) = func {
        func = *paren.expr;
    }
    let name = match &func {
        Expr::Path(path) => path
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_else(|| "call".into()),
        Expr::Closure(_) => "closure".into(),
        _ => "call".into(),
    };
    // Closures of one function share a type name: a closure written here is told apart by
    // its call site and tokens (which change its key when it is edited). A path may name
    // a closure from elsewhere, whose site is unknown: the runtime keys it by `TypeId`.
    let site = match &func {
        Expr::Closure(_) => {
            let hash = hash_tokens(quote!(#func));
            quote!(::core::option::Option::Some(::core::concat!(
                ::core::module_path!(), ":", ::core::line!(), ":", ::core::column!(), ":", #hash
            )))
        }
        _ => quote!(::core::option::Option::None),
    };
    let rt = rt();
    let builder = format_ident!("delay{}", call.args.len());
    let args = call.args.iter();
    Ok(quote! {
        #rt::#builder(
            #func,
            #name,
            #site,
            #( #rt::into_arg(#args) ),*
        )
    })
}
