//! Code generation for `#[delayed] fn`.
//!
//! The function keeps its name but becomes lazy: its parameters accept plain values or
//! `Delayed`s, and it returns a `Delayed` of its result. The generated body only builds a
//! `Call` (identity, arguments) and hands the runtime a task that runs the original
//! function on the computed inputs. The original function stays callable as
//! `<name>_eager`. This file reads the function into the holes of `shape.rs`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::{parse_quote, Ident, ItemFn, ReturnType, Type};

use crate::attr::{self, Args};
use crate::check;
use crate::parts::{identity, lazy_inputs, type_bounds, Reads};
use crate::remote::remote;
use crate::rt::rt;
use crate::shape::{eager_twin, lazy_fn, lazy_signature, Task};
use crate::sig::{self, mentions_generic, mentions_self, output_type, Param, Receiver};
use crate::tokens::hash_tokens;

/// `#[delayed]` on anything but an impl block (`lib.rs` sends those to `methods.rs`).
pub(crate) fn delayed_fn(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        // A function whose body does not parse (rustc reports the syntax error itself):
        // expand its signature, so no false "functions only" or follow-on errors pile on.
        Err(_) => match syn::parse2::<LooseFn>(item.clone()) {
            Ok(loose) => return expand_checked(args, loose.into_item_fn(), false),
            Err(_) => {
                return syn::Error::new_spanned(
                    first_tokens(&item),
                    "`#[delayed]` applies to functions and impl blocks only; to put data into the graph use `value(x)`, to make a call lazy at the call site use `delay!(f(x))`",
                )
                .to_compile_error();
            }
        },
    };
    expand_checked(args, func, true)
}

/// Parses the arguments and checks the function, then expands it. Whatever fails, the
/// expansion is still emitted (as tracing-attributes and thiserror do), so that callers
/// of the function type-check: the user sees the real errors, not follow-on ones at the
/// call sites. A function with errors gets a lazy twin whose body only fails (its own
/// body, in the eager twin, is still compiled and reported as written).
fn expand_checked(args: TokenStream, func: ItemFn, body_parses: bool) -> TokenStream {
    let mut errors = Vec::new();
    let args = attr::parse_or_report(args, &mut errors);
    if let Err(error) = check::check_fn(&func, &args) {
        errors.push(error);
    }
    let stub = !errors.is_empty() || !body_parses;
    let expansion = expand(&func, &args, stub);
    let errors = errors.iter().map(syn::Error::to_compile_error);
    quote!(#(#errors)* #expansion)
}

/// `attrs vis sig { … }` with the body kept as unparsed tokens.
struct LooseFn {
    attrs: Vec<syn::Attribute>,
    vis: syn::Visibility,
    sig: syn::Signature,
    body: proc_macro2::Group,
}

impl syn::parse::Parse for LooseFn {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<LooseFn> {
        let attrs = input.call(syn::Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body: proc_macro2::Group = input.parse()?;
        if body.delimiter() != proc_macro2::Delimiter::Brace || !input.is_empty() {
            return Err(input.error("expected a function body"));
        }
        Ok(LooseFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl LooseFn {
    /// The function with a body that only panics: rustc reported the body's syntax
    /// error before expanding the attribute, and emitting the body again would report it
    /// twice.
    fn into_item_fn(self) -> ItemFn {
        let body = quote_spanned!(self.body.span()=> ::core::panic!("the body did not parse"));
        let mut attrs = self.attrs;
        attrs.push(parse_quote!(#[allow(unused_variables)]));
        ItemFn {
            attrs,
            vis: self.vis,
            sig: self.sig,
            block: Box::new(syn::Block {
                brace_token: syn::token::Brace(self.body.delim_span()),
                stmts: vec![syn::Stmt::Expr(syn::Expr::Verbatim(body), None)],
            }),
        }
    }
}

/// The first few tokens of an item, to point an error at.
fn first_tokens(item: &TokenStream) -> TokenStream {
    item.clone().into_iter().take(3).collect()
}

/// The lazy function and its eager twin. With `stub`, the lazy function keeps its
/// signature but its body only panics: the function has errors already reported.
fn expand(func: &ItemFn, args: &Args, stub: bool) -> TokenStream {
    let eager = format_ident!("{}_eager", func.sig.ident);
    let read = Func::read(func, args);
    let (where_clause, asserts) = read.bounds();
    let signature = read.signature(&where_clause);
    let task = (!stub).then(|| read.task(asserts, &eager));
    let lazy = lazy_fn(signature, task, "function");
    let eager_fn = eager_twin(func, &eager);
    quote! {
        #lazy

        #eager_fn
    }
}

/// The user's function, read once for the pieces of its lazy twin.
struct Func<'a> {
    func: &'a ItemFn,
    args: &'a Args,
    receiver: Receiver,
    params: Vec<Param>,
    output: Type,
    fallible: bool,
    /// `self` or `Self` appears: the function is in an impl block, and the implementing
    /// type is part of its identity.
    uses_self: bool,
}

impl<'a> Func<'a> {
    fn read(func: &'a ItemFn, args: &'a Args) -> Func<'a> {
        let (sig, block) = (&func.sig, &func.block);
        let (receiver, params) = sig::inputs(sig);
        let (output, fallible) = output_type(&sig.output);
        let uses_self = receiver != Receiver::None || mentions_self(quote!(#sig #block));
        Func {
            func,
            args,
            receiver,
            params,
            output,
            fallible,
            uses_self,
        }
    }

    /// The lazy function's where clause, and the calls that check its concrete types.
    ///
    /// Bounds make misuse fail at the function, with the runtime's messages. A type that
    /// depends on a generic parameter gets a where-clause bound; a concrete type is
    /// checked by a call in the body, spanned at the type (rustc reports a false where
    /// clause on a concrete type with its own generic message, not the runtime's). In an
    /// impl block the impl's generic parameters are invisible here, so a method keeps
    /// where clauses for all its types.
    fn bounds(&self) -> (syn::WhereClause, Vec<TokenStream>) {
        let generics = &self.func.sig.generics;
        let mut where_clause = generics
            .where_clause
            .clone()
            .unwrap_or_else(|| parse_quote!(where));
        let asserts = type_bounds(
            &self.params,
            None,
            &self.output,
            self.args.cache,
            |ty| self.uses_self || mentions_generic(ty, generics),
            &mut where_clause,
        );
        if self.receiver != Receiver::None {
            let rt = rt();
            where_clause
                .predicates
                .push(parse_quote!(Self: #rt::ByValue + #rt::Tokenize));
        }
        (where_clause, asserts)
    }

    /// The user's attributes and visibility, then the lazy signature.
    fn signature(&self, where_clause: &syn::WhereClause) -> TokenStream {
        let ItemFn {
            attrs, vis, sig, ..
        } = self.func;
        let generics = &sig.generics;
        let receiver = match self.receiver {
            Receiver::None => quote!(),
            Receiver::Ref => quote!(&self,),
            Receiver::Value => quote!(self,),
        };
        let signature = lazy_signature(
            &sig.ident,
            quote!(#generics),
            receiver,
            &lazy_inputs(&self.params),
            &self.output,
            where_clause,
        );
        quote! {
            #(#attrs)*
            #[allow(clippy::too_many_arguments, clippy::multiple_bound_locations)]
            #vis #signature
        }
    }

    /// The task: the function's identity, its arguments, and the call of its code.
    fn task(&self, asserts: Vec<TokenStream>, eager: &Ident) -> Task {
        let rt = rt();
        let (sig, block) = (&self.func.sig, &self.func.block);
        let path = sig.ident.to_string();
        let token_hash = hash_tokens(quote!(#sig #block));
        let self_ty = self.uses_self.then(|| quote!(Self));
        let identity = identity(self.args, &self.output, self_ty, &sig.generics);
        let reads = match self.receiver {
            Receiver::None => Reads::default(),
            Receiver::Ref => Reads::receiver(
                quote!(#rt::Arg::value(::core::clone::Clone::clone(self))),
                quote!(Self),
                false,
            ),
            Receiver::Value => Reads::receiver(quote!(#rt::Arg::value(self)), quote!(Self), true),
        }
        .params(&self.params);
        let call = self.call(&reads.call_args, eager);
        // An op for other processes (`Scheduler::dask`) when its types are all known
        // here: no generics, no `Self`.
        let remote = (!self.uses_self && sig.generics.params.is_empty())
            .then(|| remote(&self.params, &self.output, (&path, &token_hash), self.args));
        Task {
            asserts,
            display: self.args.display(&sig.ident),
            path,
            token_hash,
            identity,
            add_args: reads.add_args,
            reads: reads.reads,
            call,
            output: self.output.clone(),
            fallible: self.fallible,
            remote,
        }
    }

    /// The user's code run on the task's locals.
    ///
    /// In an impl block (the function names `self` or `Self`) that is a call of the eager
    /// twin, so the body is compiled once. A function that names neither may be free or
    /// an associated function, and no one path reaches its twin from both (`f_eager` is
    /// not in scope in an impl block, `Self::f_eager` not in a module): it carries its
    /// body as a closure, which works wherever the function is (module, impl block, or
    /// inside another function).
    fn call(&self, call_args: &[TokenStream], eager: &Ident) -> TokenStream {
        let sig = &self.func.sig;
        if self.uses_self {
            let turbofish = sig::turbofish(&sig.generics);
            return quote!(Self::#eager #turbofish (#(#call_args),*));
        }
        let pats = self.params.iter().map(|p| &p.pat);
        let tys = self.params.iter().map(|p| sig::strip_lifetime(&p.ty));
        let ret = match &sig.output {
            ReturnType::Type(_, ty) => quote!(#ty),
            ReturnType::Default => quote!(()),
        };
        let block = &self.func.block;
        quote! {
            #[allow(clippy::redundant_closure_call)]
            let __delayed_body = |#(#pats: #tys),*| -> #ret #block;
            __delayed_body(#(#call_args),*)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token hash that the expansion of `item` gives its `FnId` (the last string
    /// literal of `FnId::new(path, name, hash)`).
    fn fn_id_hash(args: TokenStream, item: TokenStream) -> String {
        let out = delayed_fn(args, item);
        let mut stack = vec![out];
        while let Some(stream) = stack.pop() {
            let trees: Vec<_> = stream.into_iter().collect();
            for (i, tree) in trees.iter().enumerate() {
                if let proc_macro2::TokenTree::Group(group) = tree {
                    let after_new = i >= 1
                        && matches!(&trees[i - 1], proc_macro2::TokenTree::Ident(id) if id == "new")
                        && i >= 4
                        && matches!(&trees[i - 4], proc_macro2::TokenTree::Ident(id) if id == "FnId");
                    if after_new {
                        let literal = group.stream().into_iter().filter_map(|t| match t {
                            proc_macro2::TokenTree::Literal(l) => Some(l.to_string()),
                            _ => None,
                        });
                        return literal.last().unwrap();
                    }
                    stack.push(group.stream());
                }
            }
        }
        panic!("no FnId::new in the expansion");
    }

    #[test]
    fn the_key_covers_the_body_and_signature_not_spacing() {
        let v1 = fn_id_hash(
            quote!(cache),
            quote!(
                fn f(x: i64) -> i64 {
                    x + 1
                }
            ),
        );
        let spaced: TokenStream = "fn f( x : i64 ) -> i64 {\n    // a comment\n    x+1\n}"
            .parse()
            .unwrap();
        assert_eq!(v1, fn_id_hash(quote!(cache), spaced));
        let body = fn_id_hash(
            quote!(cache),
            quote!(
                fn f(x: i64) -> i64 {
                    x + 2
                }
            ),
        );
        let sig = fn_id_hash(
            quote!(cache),
            quote!(
                fn f(x: i32) -> i32 {
                    x + 1
                }
            ),
        );
        assert_ne!(v1, body, "an edited body changes the identity");
        assert_ne!(v1, sig, "an edited signature changes the identity");
        assert_eq!(v1.len(), 34, "32 hex digits in quotes: {v1}");
        // The display name is not part of the identity; purity flags are not either
        // (they change the key through the call, not the function).
        assert_eq!(
            v1,
            fn_id_hash(
                quote!(name = "g", cache),
                quote!(
                    fn f(x: i64) -> i64 {
                        x + 1
                    }
                )
            )
        );
    }

    #[test]
    fn cache_adds_the_codec_and_its_bound() {
        let out = delayed_fn(
            quote!(cache),
            quote!(
                fn f(x: i64) -> Vec<u8> {
                    vec![]
                }
            ),
        )
        .to_string();
        assert!(out.contains(". cached :: < Vec < u8 > > ()"), "{out}");
        assert!(
            out.contains(":: delayed :: __private_0_1 :: assert_cacheable :: < Vec < u8 > > ()"),
            "{out}"
        );
        // A generic result is bounded in the where clause instead.
        let generic = delayed_fn(
            quote!(cache),
            quote!(
                fn g<T: Clone>(x: T) -> Vec<T> {
                    vec![x]
                }
            ),
        )
        .to_string();
        assert!(
            generic.contains("Vec < T > : :: delayed :: __private_0_1 :: Cacheable"),
            "{generic}"
        );
        let plain = delayed_fn(
            quote!(),
            quote!(
                fn f(x: i64) -> Vec<u8> {
                    vec![]
                }
            ),
        )
        .to_string();
        assert!(!plain.contains("cached"), "{plain}");
        assert!(!plain.contains("acheable"), "{plain}");
    }

    #[test]
    fn a_function_in_an_impl_block_calls_its_eager_twin_for_its_body() {
        let out = delayed_fn(
            quote!(),
            quote!(
                fn make<T: Clone>(w: T) -> Self {
                    Self::build_from(w)
                }
            ),
        )
        .to_string();
        assert_eq!(out.matches("build_from").count(), 1, "{out}");
        assert!(
            out.contains("Self :: make_eager :: < T > (__delayed_a0)"),
            "{out}"
        );
        // A function that names neither `self` nor `Self` may be free or associated: no
        // one path reaches its twin, so the task carries the body as a closure.
        let free = delayed_fn(
            quote!(),
            quote!(
                fn f(x: i64) -> i64 {
                    x.pow(2)
                }
            ),
        )
        .to_string();
        assert_eq!(free.matches("pow").count(), 2, "{free}");
    }
}
