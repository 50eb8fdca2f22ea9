//! Code generation for `#[delayed] fn`.
//!
//! The function keeps its name but becomes lazy: its parameters accept plain values or
//! `Delayed`s, and it returns a `Delayed` of its result. The generated body only builds a
//! `Call` (identity, arguments) and hands the runtime a closure that runs the original
//! body on the computed inputs. The original function stays callable as `<name>_eager`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    parse_quote, FnArg, GenericArgument, GenericParam, Ident, ItemFn, Pat, PathArguments,
    ReturnType, Type,
};

use crate::attr::{self, Args};
use crate::check;
use crate::rt::rt;
use crate::tokens::hash_tokens;

pub(crate) fn delayed_fn(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Ok(block) = syn::parse2::<syn::ItemImpl>(item.clone()) {
        return crate::methods::delayed_impl(args, block);
    }
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
    let args = attr::parse(args).unwrap_or_else(|error| {
        errors.push(error);
        Args::default()
    });
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

/// How a parameter reaches the body.
pub(crate) enum Pass {
    /// `x: T`: the value is moved (last consumer) or cloned.
    Value,
    /// `x: &T`, `&str`, `&[T]`, `&Path`: the computed owned value is borrowed.
    Borrow,
}

pub(crate) struct Param {
    /// The name in the lazy function's signature.
    pub(crate) ident: Ident,
    /// The pattern and type of the original parameter, for the body closure.
    pub(crate) pat: Pat,
    pub(crate) ty: Type,
    /// The type flowing through the graph (`String` for `&str`, ...).
    pub(crate) owned: Type,
    pub(crate) pass: Pass,
}

enum Receiver {
    None,
    Ref,
    Value,
}

/// The lazy function and its eager twin. With `stub`, the lazy function keeps its
/// signature but its body only panics: the function has errors already reported.
fn expand(func: &ItemFn, args: &Args, stub: bool) -> TokenStream {
    let sig = &func.sig;
    let name = &sig.ident;
    let eager = format_ident!("{}_eager", name);
    let vis = &func.vis;
    let display = args
        .name
        .as_ref()
        .map(|n| n.value())
        .unwrap_or_else(|| name.to_string());
    let block = &func.block;
    let token_hash = hash_tokens(quote!(#sig #block));
    let rt = rt();

    let mut receiver = Receiver::None;
    let mut params = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                receiver = if r.reference.is_some() {
                    Receiver::Ref
                } else {
                    Receiver::Value
                };
            }
            FnArg::Typed(typed) => params.push(param(i, &typed.pat, &typed.ty)),
        }
    }

    let (output, fallible) = output_type(&sig.output);
    let uses_self = !matches!(receiver, Receiver::None) || mentions_self(quote!(#sig #block));

    // Bounds that make misuse fail at the function, with the runtime's messages. A type
    // that depends on a generic parameter gets a where-clause bound; a concrete type is
    // checked by a call in the body, spanned at the type (rustc reports a false where
    // clause on a concrete type with its own generic message, not the runtime's). In an
    // impl block the impl's generic parameters are invisible here, so a method keeps
    // where clauses for all its types.
    let mut where_clause = sig
        .generics
        .where_clause
        .clone()
        .unwrap_or_else(|| parse_quote!(where));
    let asserts = type_bounds(
        &params,
        None,
        &output,
        args.cache,
        |ty| uses_self || mentions_generic(ty, &sig.generics),
        &mut where_clause,
    );
    if !matches!(receiver, Receiver::None) {
        where_clause
            .predicates
            .push(parse_quote!(Self: #rt::ByValue + #rt::Tokenize));
    }

    let mut identity = identity(
        args,
        &output,
        uses_self.then(|| quote!(Self)),
        &sig.generics,
    );

    let lazy_inputs = params.iter().map(|p| {
        let (ident, owned) = (&p.ident, &p.owned);
        quote_spanned!(p.ty.span()=> #ident: impl #rt::IntoArg<#owned>)
    });
    let mut add_args = Vec::new();
    let mut reads = Vec::new();
    let mut call_args = Vec::new();
    match receiver {
        Receiver::None => {}
        Receiver::Ref => {
            add_args.push(quote!(#rt::Arg::value(::core::clone::Clone::clone(self))));
            reads.push(quote!(let __delayed_self = __delayed_inputs.share::<Self>()?;));
            call_args.push(quote!(&*__delayed_self));
        }
        Receiver::Value => {
            add_args.push(quote!(#rt::Arg::value(self)));
            reads.push(quote!(let __delayed_self = __delayed_inputs.take::<Self>()?;));
            call_args.push(quote!(__delayed_self));
        }
    }
    read_params(&params, &rt, &mut add_args, &mut reads, &mut call_args);

    // Methods call their eager twin through `Self`; free and associated functions run
    // their body as a closure, which works wherever the function is (module, impl block,
    // or inside another function).
    let run = if matches!(receiver, Receiver::None) {
        let pats = params.iter().map(|p| &p.pat);
        let tys = params.iter().map(|p| strip_lifetime(&p.ty));
        let ret = match &sig.output {
            ReturnType::Type(_, ty) => quote!(#ty),
            ReturnType::Default => quote!(()),
        };
        quote! {
            #[allow(clippy::redundant_closure_call)]
            let __delayed_body = |#(#pats: #tys),*| -> #ret #block;
            __delayed_body(#(#call_args),*)
        }
    } else {
        quote!(Self::#eager(#(#call_args),*))
    };
    let wrap = if fallible {
        quote!(#rt::fallible(__delayed_result))
    } else {
        quote!(::core::result::Result::Ok(__delayed_result))
    };

    let name_str = name.to_string();
    // Registered for other processes (`Scheduler::dask`) when its types are all known
    // here: no generics, no `Self`. Emitted as items of its own, beside the call; the body
    // becomes a fn item that both the local task and the remote op run (one copy, so a
    // type error in it is reported once).
    let remote = (!uses_self && sig.generics.params.is_empty()).then(|| {
        let owned = params.iter().map(|p| &p.owned);
        let index = 0..params.len();
        // The reads without `Send + Sync` bounds: those are checked in the lazy function,
        // and a second check here would repeat its errors.
        let reads = params.iter().enumerate().map(|(i, p)| {
            let (local, owned) = (format_ident!("__delayed_a{}", i), &p.owned);
            match p.pass {
                Pass::Value => {
                    quote!(let #local = __delayed_inputs.take_unbounded::<#owned>()?;)
                }
                Pass::Borrow => {
                    quote!(let #local = __delayed_inputs.share_unbounded::<#owned>()?;)
                }
            }
        });
        let block = quote! {
            #[allow(clippy::needless_question_mark, clippy::redundant_closure_call)]
            fn __delayed_body(
                __delayed_inputs: &mut #rt::Inputs<'_>,
            ) -> ::core::result::Result<#output, #rt::BoxError> {
                #(#reads)*
                let __delayed_result = { #run };
                #wrap
            }
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
                ::core::concat!(::core::module_path!(), "::", #name_str),
                #token_hash,
                __delayed_remote_run,
                __delayed_remote_input,
                __delayed_remote_output,
            );
            #rt::register_remote!(&__DELAYED_REMOTE);
        };
        identity.push(quote!(.remote(&__DELAYED_REMOTE)));
        block
    });
    let finish = if remote.is_some() {
        quote!(__delayed_call.finish(__delayed_body))
    } else {
        quote! {
            __delayed_call.finish(move |__delayed_inputs: &mut #rt::Inputs<'_>| {
                #(#reads)*
                let __delayed_result = { #run };
                #wrap
            })
        }
    };
    let generics = &sig.generics;
    let attrs = &func.attrs;
    let self_param = match receiver {
        Receiver::None => quote!(),
        Receiver::Ref => quote!(&self,),
        Receiver::Value => quote!(self,),
    };
    if stub {
        let eager_fn = eager_twin(func, &eager);
        return quote! {
            #(#attrs)*
            #[allow(unused_variables, clippy::too_many_arguments, clippy::multiple_bound_locations)]
            #vis fn #name #generics (#self_param #(#lazy_inputs),*) -> #rt::Delayed<#output>
            #where_clause
            {
                ::core::panic!("this `#[delayed]` function did not compile")
            }

            #eager_fn
        };
    }
    let lazy = quote! {
        #(#attrs)*
        #[allow(clippy::too_many_arguments, clippy::multiple_bound_locations)]
        #vis fn #name #generics (#self_param #(#lazy_inputs),*) -> #rt::Delayed<#output>
        #where_clause
        {
            #(#asserts)*
            static __DELAYED_FN: #rt::FnId = #rt::FnId::new(
                ::core::concat!(::core::module_path!(), "::", #name_str),
                #display,
                #token_hash,
            );
            #remote
            let mut __delayed_call = #rt::Call::new(&__DELAYED_FN) #(#identity)*;
            #( __delayed_call.arg(#add_args); )*
            #finish
        }
    };

    let eager_fn = eager_twin(func, &eager);
    quote! {
        #lazy

        #eager_fn
    }
}

/// The original function under the name `<name>_eager`, documented as such.
fn eager_twin(func: &ItemFn, eager: &Ident) -> TokenStream {
    let name = &func.sig.ident;
    let mut eager_fn = func.clone();
    eager_fn.sig.ident = eager.clone();
    eager_fn.attrs.retain(|a| !a.path().is_ident("doc"));
    let doc = format!(
        "The eager form of [`{name}`]: the original function, which runs at once. \
         `{name}(…)` builds a task; `{eager}(…)` computes the value now."
    );
    quote! {
        #[doc = #doc]
        #[allow(dead_code)]
        #eager_fn
    }
}

/// The `Call` builder steps that make a function's identity: purity, the cache codec,
/// the implementing type (`self_ty`, when it is part of the key) and each generic
/// parameter. Shared by free functions and `impl` blocks (`methods.rs`).
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

/// For each parameter: the argument added to the call, the read in the task body (moved
/// or shared), and the expression handed to the original function.
pub(crate) fn read_params(
    params: &[Param],
    rt: &TokenStream,
    add_args: &mut Vec<TokenStream>,
    reads: &mut Vec<TokenStream>,
    call_args: &mut Vec<TokenStream>,
) {
    for (i, p) in params.iter().enumerate() {
        let (ident, owned) = (&p.ident, &p.owned);
        let local = format_ident!("__delayed_a{}", i);
        add_args.push(quote!(#rt::IntoArg::into_arg(#ident)));
        match p.pass {
            Pass::Value => {
                reads.push(quote!(let #local = __delayed_inputs.take::<#owned>()?;));
                call_args.push(quote!(#local));
            }
            Pass::Borrow => {
                reads.push(quote!(let #local = __delayed_inputs.share::<#owned>()?;));
                call_args.push(quote!(&*#local));
            }
        }
    }
}

pub(crate) fn param(index: usize, pat: &Pat, ty: &Type) -> Param {
    let ident = match pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
            let mut ident = p.ident.clone();
            ident.set_span(Span::call_site().located_at(p.ident.span()));
            ident
        }
        _ => format_ident!("__delayed_arg{}", index),
    };
    let (owned, pass) = match ty {
        Type::Reference(reference) => (owned_of(&reference.elem), Pass::Borrow),
        _ => (ty.clone(), Pass::Value),
    };
    Param {
        ident,
        pat: pat.clone(),
        ty: ty.clone(),
        owned,
        pass,
    }
}

/// The owned type a borrowed parameter borrows from: `str` → `String`, `[T]` → `Vec<T>`,
/// `Path` → `PathBuf`, anything else as is.
fn owned_of(elem: &Type) -> Type {
    match elem {
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("str") => {
            parse_quote!(::std::string::String)
        }
        Type::Path(path)
            if path.qself.is_none()
                && path.path.segments.last().is_some_and(|s| {
                    s.ident == "Path" && matches!(s.arguments, PathArguments::None)
                }) =>
        {
            parse_quote!(::std::path::PathBuf)
        }
        Type::Slice(slice) => {
            let item = &slice.elem;
            parse_quote!(::std::vec::Vec<#item>)
        }
        other => other.clone(),
    }
}

/// `&'a T` → `&T`: the body closure borrows from a value local to the task.
fn strip_lifetime(ty: &Type) -> Type {
    match ty {
        Type::Reference(reference) => {
            let mut reference = reference.clone();
            reference.lifetime = None;
            Type::Reference(reference)
        }
        other => other.clone(),
    }
}

/// The result type of the lazy function, and whether the original returns `Result`.
pub(crate) fn output_type(output: &ReturnType) -> (Type, bool) {
    let ReturnType::Type(_, ty) = output else {
        return (parse_quote!(()), false);
    };
    if let Type::Path(path) = &**ty {
        if let Some(last) = path.path.segments.last() {
            if last.ident == "Result" {
                if let PathArguments::AngleBracketed(args) = &last.arguments {
                    if let Some(GenericArgument::Type(ok)) = args.args.first() {
                        return (ok.clone(), true);
                    }
                }
            }
        }
    }
    ((**ty).clone(), false)
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
                .push(parse_quote_spanned_bound(ty, quote!(#rt::#bound)));
        } else {
            asserts.push(quote_spanned!(ty.span()=> #rt::#assert::<#ty>();));
        }
    }
    asserts
}

pub(crate) fn parse_quote_spanned_bound(ty: &Type, bound: TokenStream) -> syn::WherePredicate {
    let span = ty.span();
    syn::parse2(quote_spanned!(span=> #ty: #bound)).unwrap_or_else(|_| parse_quote!(#ty: #bound))
}

/// Whether `ty` names `Self`, a lifetime, or a type or const parameter of `generics`.
pub(crate) fn mentions_generic(ty: &Type, generics: &syn::Generics) -> bool {
    let names: Vec<String> = generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(t.ident.to_string()),
            GenericParam::Const(c) => Some(c.ident.to_string()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let mut stack: Vec<TokenStream> = vec![quote!(#ty)];
    while let Some(stream) = stack.pop() {
        for tree in stream {
            match tree {
                proc_macro2::TokenTree::Ident(ident) => {
                    let ident = ident.to_string();
                    if ident == "Self" || names.contains(&ident) {
                        return true;
                    }
                }
                // A lifetime (`'` then an identifier): a where clause on it is harmless.
                proc_macro2::TokenTree::Punct(punct) if punct.as_char() == '\'' => return true,
                proc_macro2::TokenTree::Group(group) => stack.push(group.stream()),
                _ => {}
            }
        }
    }
    false
}

/// Whether `Self` appears anywhere: then the function lives in an impl block, and the
/// implementing type is part of its identity.
fn mentions_self(tokens: TokenStream) -> bool {
    let mut stack: Vec<TokenStream> = vec![tokens];
    while let Some(stream) = stack.pop() {
        for tree in stream {
            match tree {
                proc_macro2::TokenTree::Ident(ident) if ident == "Self" => return true,
                proc_macro2::TokenTree::Group(group) => stack.push(group.stream()),
                _ => {}
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    #[test]
    fn result_outputs_are_unwrapped() {
        let (ty, fallible) = output_type(&parse_quote!(-> Result<i64, std::io::Error>));
        assert!(fallible);
        assert_eq!(ty.to_token_stream().to_string(), "i64");
        let (ty, fallible) = output_type(&parse_quote!(-> Vec<i64>));
        assert!(!fallible);
        assert_eq!(ty.to_token_stream().to_string(), "Vec < i64 >");
    }

    #[test]
    fn borrowed_parameters_map_to_owned_types() {
        let s = |ty: Type| owned_of(&ty).to_token_stream().to_string();
        assert_eq!(s(parse_quote!(str)), ":: std :: string :: String");
        assert_eq!(s(parse_quote!([u8])), ":: std :: vec :: Vec < u8 >");
        assert_eq!(
            s(parse_quote!(std::path::Path)),
            ":: std :: path :: PathBuf"
        );
        assert_eq!(s(parse_quote!(Image)), "Image");
    }

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
    fn tells_generic_types_from_concrete_ones() {
        let generics: syn::Generics = parse_quote!(<'a, T: Clone, const N: usize>);
        let generic = |ty: Type| mentions_generic(&ty, &generics);
        assert!(generic(parse_quote!(Vec<T>)));
        assert!(generic(parse_quote!([u8; N])));
        assert!(generic(parse_quote!(Cow<'a, str>)));
        assert!(generic(parse_quote!(Box<Self>)));
        assert!(!generic(parse_quote!(Vec<Tee>)));
        assert!(!generic(parse_quote!(std::rc::Rc<i64>)));
    }

    #[test]
    fn finds_self() {
        assert!(mentions_self(quote!(
            fn f() -> Self {
                Self::new()
            }
        )));
        assert!(!mentions_self(quote!(
            fn f(x: i64) -> i64 {
                x
            }
        )));
    }
}
