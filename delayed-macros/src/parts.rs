//! The pieces of a lazy function that functions (`expand.rs`) and impl blocks
//! (`methods.rs`) compute the same way from a signature: the bounds on its types, the
//! `Call` steps that make its identity, and how each argument is added and read back.
//! `shape.rs` puts them together.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_quote, GenericParam, Type};

use crate::attr::Args;
use crate::rt::rt;
use crate::sig::{Param, Pass};

/// The `Call` builder steps that make a function's identity: purity, the cache codec,
/// the implementing type (`self_ty`, when it is part of the key) and each generic
/// parameter.
pub(crate) fn identity(
    args: &Args,
    output: &Type,
    self_ty: Option<TokenStream>,
    generics: &syn::Generics,
) -> Vec<TokenStream> {
    let mut identity = Vec::new();
    if !args.pure {
        identity.push(quote!(.impure()));
    }
    if args.cache {
        identity.push(quote!(.cached::<#output>()));
    }
    if let Some(self_ty) = self_ty {
        identity.push(quote!(.with_type::<#self_ty>()));
    }
    for generic in &generics.params {
        match generic {
            GenericParam::Type(t) => {
                let ident = &t.ident;
                identity.push(quote!(.with_type::<#ident>()));
            }
            GenericParam::Const(c) => {
                let ident = &c.ident;
                identity.push(quote!(.with_value(&#ident)));
            }
            GenericParam::Lifetime(_) => {}
        }
    }
    identity
}

/// The lazy function's parameters: each accepts a plain value or a `Delayed` of the type
/// that flows through the graph, spanned at the user's type for the runtime's messages.
pub(crate) fn lazy_inputs(params: &[Param]) -> Vec<TokenStream> {
    let rt = rt();
    params
        .iter()
        .map(|p| {
            let (ident, owned) = (&p.ident, &p.owned);
            quote_spanned!(p.ty.span()=> #ident: impl #rt::IntoArg<#owned>)
        })
        .collect()
}

/// How a task's arguments go in and come back out: per input, the argument added to the
/// call, the read in the task body, and the expression handed to the user's function.
#[derive(Default)]
pub(crate) struct Reads {
    pub(crate) add_args: Vec<TokenStream>,
    pub(crate) reads: Vec<TokenStream>,
    pub(crate) call_args: Vec<TokenStream>,
}

impl Reads {
    /// The receiver, added as `arg` and read back as `ty`: shared for `&self`, moved for
    /// `self`.
    pub(crate) fn receiver(arg: TokenStream, ty: TokenStream, by_value: bool) -> Reads {
        let (read, call_arg) = if by_value {
            (quote!(take), quote!(__delayed_self))
        } else {
            (quote!(share), quote!(&*__delayed_self))
        };
        Reads {
            add_args: vec![arg],
            reads: vec![quote!(let __delayed_self = __delayed_inputs.#read::<#ty>()?;)],
            call_args: vec![call_arg],
        }
    }

    /// Then each parameter: moved (`x: T`) or shared (`x: &T`).
    pub(crate) fn params(mut self, params: &[Param]) -> Reads {
        let rt = rt();
        for (i, p) in params.iter().enumerate() {
            let (ident, owned) = (&p.ident, &p.owned);
            let local = local(i);
            self.add_args.push(quote!(#rt::IntoArg::into_arg(#ident)));
            match p.pass {
                Pass::Value => {
                    self.reads
                        .push(quote!(let #local = __delayed_inputs.take::<#owned>()?;));
                    self.call_args.push(quote!(#local));
                }
                Pass::Borrow => {
                    self.reads
                        .push(quote!(let #local = __delayed_inputs.share::<#owned>()?;));
                    self.call_args.push(quote!(&*#local));
                }
            }
        }
        self
    }
}

/// The task's local that holds parameter `i` once read (`remote.rs` reads into it too).
pub(crate) fn local(i: usize) -> syn::Ident {
    format_ident!("__delayed_a{}", i)
}

/// The bounds a delayed function's types must meet, where misuse then fails with the
/// runtime's messages: a by-value parameter `ByValue`, a borrowed one and the output
/// `GraphValue`, a cached output `Cacheable`, and `extra` (a method's `self`) after the
/// parameters. A type that `generic` says depends on a generic parameter gets a
/// where-clause bound; a concrete one is checked by the returned calls, for the body,
/// spanned at the type (rustc reports a false where clause on a concrete type with its own
/// generic message, not the runtime's).
pub(crate) fn type_bounds(
    params: &[Param],
    extra: Option<(&Type, TokenStream, TokenStream)>,
    output: &Type,
    cache: bool,
    generic: impl Fn(&Type) -> bool,
    where_clause: &mut syn::WhereClause,
) -> Vec<TokenStream> {
    let rt = rt();
    let bounds = params
        .iter()
        .map(|p| match p.pass {
            Pass::Value => (&p.owned, quote!(ByValue), quote!(assert_by_value)),
            Pass::Borrow => (&p.owned, quote!(GraphValue), quote!(assert_graph_value)),
        })
        .chain(extra)
        .chain([(output, quote!(GraphValue), quote!(assert_graph_value))])
        .chain(cache.then(|| (output, quote!(Cacheable), quote!(assert_cacheable))));
    let mut asserts = Vec::new();
    for (ty, bound, assert) in bounds {
        if generic(ty) {
            where_clause
                .predicates
                .push(spanned_bound(ty, quote!(#rt::#bound)));
        } else {
            asserts.push(quote_spanned!(ty.span()=> #rt::#assert::<#ty>();));
        }
    }
    asserts
}

/// `ty: bound`, spanned at `ty` so an unmet bound points at the user's type.
fn spanned_bound(ty: &Type, bound: TokenStream) -> syn::WherePredicate {
    let span = ty.span();
    syn::parse2(quote_spanned!(span=> #ty: #bound)).unwrap_or_else(|_| parse_quote!(#ty: #bound))
}
