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
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_quote, FnArg, GenericParam, Ident, ImplItem, ImplItemFn, ItemFn, ItemImpl, Type};

use crate::attr::{self, Args};
use crate::check;
use crate::expand::{identity, mentions_generic, output_type, param, read_params, type_bounds};
use crate::rt::rt;
use crate::tokens::hash_tokens;

pub(crate) fn delayed_impl(args: TokenStream, mut block: ItemImpl) -> TokenStream {
    let mut errors = Vec::new();
    let args = attr::parse(args).unwrap_or_else(|error| {
        errors.push(error);
        Args::default()
    });
    if let Some((_, path, _)) = &block.trait_ {
        errors.push(syn::Error::new_spanned(
            path,
            "`#[delayed]` on an impl block applies to inherent impls (`impl Type { … }`), not trait impls: mark the trait's methods' callers lazy with `delay!` or `map`",
        ));
    }
    let Some(type_ident) = type_ident(&block.self_ty) else {
        let error = syn::Error::new_spanned(
            &block.self_ty,
            "`#[delayed]` on an impl block needs a named type (`impl Acc { … }`)",
        )
        .to_compile_error();
        return quote!(#error #block);
    };
    let trait_name = format_ident!("{}Delayed", type_ident);

    let mut decls = Vec::new();
    let mut defs = Vec::new();
    let (self_ty, generics) = ((*block.self_ty).clone(), block.generics.clone());
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        let own = take_delayed_attr(method);
        let method_args = match own {
            Some(tokens) => attr::parse(tokens).unwrap_or_else(|error| {
                errors.push(error);
                Args::default()
            }),
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
        let (decl, def) = lazy_method(&self_ty, &generics, method, &method_args, stub);
        decls.push(decl);
        defs.push(def);
    }

    let rt = rt();
    let self_ty = &block.self_ty;
    let (impl_generics, type_generics, where_clause) = block.generics.split_for_impl();
    let doc = format!(
        "The methods of [`{type_ident}`] on a `Delayed<{type_ident}>`, lazily (from `#[delayed] impl {type_ident}`): each call builds a task that runs the method on the computed value."
    );
    let errors = errors.iter().map(syn::Error::to_compile_error);
    let generic_params = &block.generics.params;
    let trait_generics = if generic_params.is_empty() {
        quote!()
    } else {
        quote!(<#generic_params>)
    };
    quote! {
        #(#errors)*
        #block

        #[doc = #doc]
        #[allow(private_interfaces, private_bounds, clippy::too_many_arguments)]
        pub trait #trait_name #trait_generics #where_clause {
            #(#decls)*
        }

        #[allow(clippy::too_many_arguments, clippy::multiple_bound_locations)]
        impl #impl_generics #trait_name #type_generics for #rt::Delayed<#self_ty> #where_clause {
            #(#defs)*
        }
    }
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

/// The trait's declaration of one lazy method, and its definition for `Delayed<Self>`.
fn lazy_method(
    self_ty: &Type,
    block_generics: &syn::Generics,
    method: &ImplItemFn,
    args: &Args,
    stub: bool,
) -> (TokenStream, TokenStream) {
    let rt = rt();
    let sig = &method.sig;
    let name = &sig.ident;
    let by_value_self = matches!(
        sig.inputs.first(),
        Some(FnArg::Receiver(r)) if r.reference.is_none()
    );
    let params: Vec<_> = sig
        .inputs
        .iter()
        .enumerate()
        .filter_map(|(i, input)| match input {
            FnArg::Typed(typed) => Some(param(i, &typed.pat, &typed.ty)),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let (output, fallible) = output_type(&sig.output);

    // Types that mention a generic parameter (of the block or the method) are bounded in
    // the where clause, which the declaration and the definition share; concrete ones are
    // checked by a call in the body, spanned at the type, for the runtime's message.
    let mut generics = block_generics.clone();
    generics.params.extend(sig.generics.params.iter().cloned());
    let mut where_clause = sig
        .generics
        .where_clause
        .clone()
        .unwrap_or_else(|| parse_quote!(where));
    let self_bound = if by_value_self {
        (self_ty, quote!(ByValue), quote!(assert_by_value))
    } else {
        (self_ty, quote!(GraphValue), quote!(assert_graph_value))
    };
    let asserts = type_bounds(
        &params,
        Some(self_bound),
        &output,
        args.cache,
        |ty| mentions_generic(ty, &generics),
        &mut where_clause,
    );

    let method_generics = &sig.generics.params;
    let method_generics = if method_generics.is_empty() {
        quote!()
    } else {
        quote!(<#method_generics>)
    };
    let lazy_inputs: Vec<_> = params
        .iter()
        .map(|p| {
            let (ident, owned) = (&p.ident, &p.owned);
            quote_spanned!(p.ty.span()=> #ident: impl #rt::IntoArg<#owned>)
        })
        .collect();
    let docs: Vec<_> = method
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();
    let fallback_doc = format!(
        "`{}::{name}`, lazily: a task that calls it on the computed value.",
        quote!(#self_ty).to_string().replace(' ', "")
    );
    let docs = if docs.is_empty() {
        quote!(#[doc = #fallback_doc])
    } else {
        quote!(#(#docs)*)
    };
    let signature = quote! {
        fn #name #method_generics (&self, #(#lazy_inputs),*) -> #rt::Delayed<#output>
        #where_clause
    };
    let decl = quote! {
        #docs
        #signature;
    };
    if stub {
        let def = quote! {
            #[allow(unused_variables)]
            #signature {
                ::core::panic!("this `#[delayed]` method did not compile")
            }
        };
        return (decl, def);
    }

    let display = args
        .name
        .as_ref()
        .map(|n| n.value())
        .unwrap_or_else(|| name.to_string());
    let block_tokens = &method.block;
    let token_hash = hash_tokens(quote!(#self_ty #sig #block_tokens));
    let path = format!(
        "{}::{}",
        quote!(#self_ty).to_string().replace(' ', ""),
        name
    );

    let identity = identity(args, &output, Some(quote!(#self_ty)), &sig.generics);

    let mut add_args = vec![quote!(#rt::IntoArg::<#self_ty>::into_arg(self))];
    let mut reads = vec![if by_value_self {
        quote!(let __delayed_self = __delayed_inputs.take::<#self_ty>()?;)
    } else {
        quote!(let __delayed_self = __delayed_inputs.share::<#self_ty>()?;)
    }];
    let mut call_args = vec![if by_value_self {
        quote!(__delayed_self)
    } else {
        quote!(&*__delayed_self)
    }];
    read_params(&params, &rt, &mut add_args, &mut reads, &mut call_args);
    let turbofish = method_generics_turbofish(sig);
    let wrap = if fallible {
        quote!(#rt::fallible(__delayed_result))
    } else {
        quote!(::core::result::Result::Ok(__delayed_result))
    };
    let def = quote! {
        #signature {
            #(#asserts)*
            static __DELAYED_FN: #rt::FnId = #rt::FnId::new(
                ::core::concat!(::core::module_path!(), "::", #path),
                #display,
                #token_hash,
            );
            let mut __delayed_call = #rt::Call::new(&__DELAYED_FN) #(#identity)*;
            #( __delayed_call.arg(#add_args); )*
            __delayed_call.finish(move |__delayed_inputs: &mut #rt::Inputs<'_>| {
                #(#reads)*
                let __delayed_result = <#self_ty>::#name #turbofish (#(#call_args),*);
                #wrap
            })
        }
    };
    (decl, def)
}

/// `::<T, N>` for a method's type and const parameters (lifetimes are inferred).
fn method_generics_turbofish(sig: &syn::Signature) -> TokenStream {
    let names: Vec<TokenStream> = sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => {
                let ident = &t.ident;
                Some(quote!(#ident))
            }
            GenericParam::Const(c) => {
                let ident = &c.ident;
                Some(quote!(#ident))
            }
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    if names.is_empty() {
        quote!()
    } else {
        quote!(::<#(#names),*>)
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    fn expand(item: proc_macro2::TokenStream) -> String {
        crate::expand::delayed_fn(quote!(), item).to_string()
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
