//! Code generation for `#[delayed] impl Type { … }`: the methods become callable on a
//! `Delayed<Type>`, lazily.
//!
//! The impl block is kept as written (its methods stay eager on `Type`). Beside it comes
//! an extension trait `<Type>Delayed`, implemented for `Delayed<Type>`, with one lazy
//! method per method that has a receiver (`&self` or `self`): it takes `&self` (the
//! `Delayed`) and arguments as a `#[delayed]` fn does, and builds a task that calls the
//! eager method on the computed value. So `value(Acc::default()).add(5).add(6)` is two
//! nodes. A method may carry its own `#[delayed(...)]` arguments, which replace the
//! block's for it.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_quote, FnArg, Ident, ImplItem, ImplItemFn, ItemFn, ItemImpl, Type};

use crate::attr::{self, Args};
use crate::check;
use crate::parts::{identity, lazy_inputs, type_bounds, Reads};
use crate::rt::rt;
use crate::shape::{extension_trait, lazy_fn, lazy_signature, Task};
use crate::sig::{self, mentions_generic, output_type, Param, Receiver};
use crate::tokens::hash_tokens;

pub(crate) fn delayed_impl(args: TokenStream, mut block: ItemImpl) -> TokenStream {
    let mut errors = Vec::new();
    let args = attr::parse_or_report(args, &mut errors);
    if let Some((_, path, _)) = &block.trait_ {
        errors.push(syn::Error::new_spanned(
            path,
            "`#[delayed]` on an impl block applies to inherent impls (`impl Type { … }`), not trait impls: mark the trait's methods' callers lazy with `delay!` or `map`",
        ));
    }
    let Some(type_ident) = type_ident(&block.self_ty).cloned() else {
        let error = syn::Error::new_spanned(
            &block.self_ty,
            "`#[delayed]` on an impl block needs a named type (`impl Acc { … }`)",
        )
        .to_compile_error();
        return quote!(#error #block);
    };
    let (decls, defs) = lazy_methods(&mut block, &args, &mut errors);
    let trait_name = format_ident!("{}Delayed", type_ident);
    let doc = format!(
        "The methods of [`{type_ident}`] on a `Delayed<{type_ident}>`, lazily (from `#[delayed] impl {type_ident}`): each call builds a task that runs the method on the computed value."
    );
    let errors = errors.iter().map(syn::Error::to_compile_error);
    let expansion = extension_trait(&block, &trait_name, &doc, &decls, &defs);
    quote! {
        #(#errors)*
        #expansion
    }
}

/// The trait's declarations and definitions of the block's lazy methods: one per method
/// with a receiver, each with its own `#[delayed(...)]` arguments (removed from the
/// block) or the block's. A method whose checks fail gets a stub, as a function does.
fn lazy_methods(
    block: &mut ItemImpl,
    args: &Args,
    errors: &mut Vec<syn::Error>,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut decls = Vec::new();
    let mut defs = Vec::new();
    let (self_ty, generics) = ((*block.self_ty).clone(), block.generics.clone());
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        let method_args = match take_delayed_attr(method) {
            Some(tokens) => attr::parse_or_report(tokens, errors),
            None => args.clone(),
        };
        if !matches!(method.sig.inputs.first(), Some(FnArg::Receiver(_))) {
            // Associated functions stay as they are on the type: there is no `Delayed`
            // to call them on.
            continue;
        }
        let as_fn = ItemFn {
            attrs: method.attrs.clone(),
            vis: method.vis.clone(),
            sig: method.sig.clone(),
            block: Box::new(method.block.clone()),
        };
        let stub = match check::check_fn(&as_fn, &method_args) {
            Ok(()) => false,
            Err(error) => {
                errors.push(error);
                true
            }
        };
        let method = Method::read(&self_ty, &generics, method, &method_args);
        let (where_clause, asserts) = method.bounds();
        let signature = method.signature(&where_clause);
        let docs = method.docs();
        decls.push(quote!(#docs #signature;));
        let task = (!stub).then(|| method.task(asserts));
        defs.push(lazy_fn(signature, task, "method"));
    }
    (decls, defs)
}

/// The last identifier of the impl's type path (`Acc` of `crate::m::Acc<T>`).
fn type_ident(ty: &Type) -> Option<&Ident> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().map(|s| &s.ident),
        _ => None,
    }
}

/// Removes a method's own `#[delayed(...)]` (the block's expansion handles it) and
/// returns its arguments.
fn take_delayed_attr(method: &mut ImplItemFn) -> Option<TokenStream> {
    let index = method
        .attrs
        .iter()
        .position(|a| a.path().is_ident("delayed"))?;
    let attr = method.attrs.remove(index);
    Some(match attr.meta {
        syn::Meta::List(list) => list.tokens,
        _ => TokenStream::new(),
    })
}

/// One method of the block, read once for the pieces of its lazy twin on the trait.
struct Method<'a> {
    self_ty: &'a Type,
    /// The block's generic parameters, then the method's.
    generics: syn::Generics,
    method: &'a ImplItemFn,
    args: &'a Args,
    by_value_self: bool,
    params: Vec<Param>,
    output: Type,
    fallible: bool,
}

impl<'a> Method<'a> {
    fn read(
        self_ty: &'a Type,
        block_generics: &syn::Generics,
        method: &'a ImplItemFn,
        args: &'a Args,
    ) -> Method<'a> {
        let (receiver, params) = sig::inputs(&method.sig);
        let (output, fallible) = output_type(&method.sig.output);
        let mut generics = block_generics.clone();
        generics
            .params
            .extend(method.sig.generics.params.iter().cloned());
        Method {
            self_ty,
            generics,
            method,
            args,
            by_value_self: receiver == Receiver::Value,
            params,
            output,
            fallible,
        }
    }

    /// The where clause, which the declaration and the definition share, and the calls
    /// that check concrete types in the definition: types that mention a generic
    /// parameter (of the block or the method) are bounded in the where clause; concrete
    /// ones are checked by a call in the body, spanned at the type, for the runtime's
    /// message.
    fn bounds(&self) -> (syn::WhereClause, Vec<TokenStream>) {
        let mut where_clause = self
            .method
            .sig
            .generics
            .where_clause
            .clone()
            .unwrap_or_else(|| parse_quote!(where));
        let self_bound = if self.by_value_self {
            (self.self_ty, quote!(ByValue), quote!(assert_by_value))
        } else {
            (self.self_ty, quote!(GraphValue), quote!(assert_graph_value))
        };
        let asserts = type_bounds(
            &self.params,
            Some(self_bound),
            &self.output,
            self.args.cache,
            |ty| mentions_generic(ty, &self.generics),
            &mut where_clause,
        );
        (where_clause, asserts)
    }

    /// `fn name<…>(&self, …) -> Delayed<Out> where …`: `&self` is the `Delayed`.
    fn signature(&self, where_clause: &syn::WhereClause) -> TokenStream {
        let sig = &self.method.sig;
        let generics = &sig.generics;
        lazy_signature(
            &sig.ident,
            quote!(#generics),
            quote!(&self,),
            &lazy_inputs(&self.params),
            &self.output,
            where_clause,
        )
    }

    /// The method's own docs, or a line that says what the lazy method does.
    fn docs(&self) -> TokenStream {
        let docs: Vec<_> = self
            .method
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect();
        if docs.is_empty() {
            let doc = format!(
                "`{}::{}`, lazily: a task that calls it on the computed value.",
                type_path(self.self_ty),
                self.method.sig.ident
            );
            quote!(#[doc = #doc])
        } else {
            quote!(#(#docs)*)
        }
    }

    /// The task: the method's identity (its type is part of it), the receiver and
    /// arguments, and the call of the eager method on the computed value.
    fn task(&self, asserts: Vec<TokenStream>) -> Task {
        let rt = rt();
        let (self_ty, sig, block) = (self.self_ty, &self.method.sig, &self.method.block);
        let name = &sig.ident;
        let token_hash = hash_tokens(quote!(#self_ty #sig #block));
        let identity = identity(
            self.args,
            &self.output,
            Some(quote!(#self_ty)),
            &sig.generics,
        );
        let reads = Reads::receiver(
            quote!(#rt::IntoArg::<#self_ty>::into_arg(self)),
            quote!(#self_ty),
            self.by_value_self,
        )
        .params(&self.params);
        let turbofish = sig::turbofish(&sig.generics);
        let call_args = &reads.call_args;
        Task {
            asserts,
            path: format!("{}::{}", type_path(self_ty), name),
            token_hash,
            display: self.args.display(name),
            identity,
            call: quote!(<#self_ty>::#name #turbofish (#(#call_args),*)),
            add_args: reads.add_args,
            reads: reads.reads,
            output: self.output.clone(),
            fallible: self.fallible,
            remote: None,
        }
    }
}

/// `crate::m::Acc<T>` without spaces, for the key path and docs.
fn type_path(ty: &Type) -> String {
    quote!(#ty).to_string().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use quote::quote;

    fn expand(item: proc_macro2::TokenStream) -> String {
        super::delayed_impl(quote!(), syn::parse2(item).unwrap()).to_string()
    }

    #[test]
    fn an_impl_gets_a_trait_for_its_delayed_and_keeps_its_methods() {
        let out = expand(quote! {
            impl Acc {
                fn add(mut self, x: i64) -> Acc { self.total += x; self }
                #[delayed(pure = false)]
                fn total(&self) -> i64 { self.total }
                fn new() -> Acc { Acc { total: 0 } }
            }
        });
        assert!(out.contains("pub trait AccDelayed"), "{out}");
        assert!(
            out.contains("impl AccDelayed for :: delayed :: __private_0_1 :: Delayed < Acc >"),
            "{out}"
        );
        // The eager methods are kept, without the inner attribute; `new` has no receiver.
        assert!(out.contains("fn add (mut self , x : i64) -> Acc"), "{out}");
        assert!(!out.contains("# [delayed"), "{out}");
        assert_eq!(out.matches("fn new").count(), 1, "{out}");
        assert_eq!(out.matches(". impure ()").count(), 1, "{out}");
        assert_eq!(out.matches(". with_type :: < Acc > ()").count(), 2, "{out}");
        // Every path into the crate goes through the versioned private module.
        for (i, _) in out.match_indices(":: delayed ::") {
            assert!(
                out[i..].starts_with(":: delayed :: __private_0_1 ::"),
                "{}",
                &out[i..i + 60]
            );
        }
    }

    #[test]
    fn a_trait_impl_or_unnamed_type_is_an_error_and_still_expands() {
        let out = expand(quote! {
            impl Clone for Acc { fn clone(&self) -> Acc { Acc } }
        });
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("impl Clone for Acc"), "{out}");
        let out = expand(quote! {
            impl Acc { fn bump(&mut self) -> i64 { 1 } fn get(&self) -> i64 { 1 } }
        });
        assert!(out.contains("cannot take `&mut self`"), "{out}");
        assert!(
            out.contains("did not compile"),
            "the stub keeps callers type-checking"
        );
        assert!(
            out.contains("fn get (& self ,) -> :: delayed :: __private_0_1 :: Delayed < i64 >"),
            "{out}"
        );
    }
}
