//! What a delayed function's signature says: its receiver, how each parameter reaches
//! the body, the result type, and which types depend on generic parameters. Read by
//! both `expand.rs` (functions) and `methods.rs` (impl blocks); emits no code.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{
    parse_quote, FnArg, GenericArgument, GenericParam, Ident, Pat, PathArguments, ReturnType,
    Signature, Type,
};

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

/// The `self` of a method, if any.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Receiver {
    None,
    Ref,
    Value,
}

/// The receiver and the typed parameters of `sig`, in order.
pub(crate) fn inputs(sig: &Signature) -> (Receiver, Vec<Param>) {
    let mut receiver = Receiver::None;
    let mut params = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) if r.reference.is_some() => receiver = Receiver::Ref,
            FnArg::Receiver(_) => receiver = Receiver::Value,
            FnArg::Typed(typed) => params.push(param(i, &typed.pat, &typed.ty)),
        }
    }
    (receiver, params)
}

fn param(index: usize, pat: &Pat, ty: &Type) -> Param {
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
pub(crate) fn strip_lifetime(ty: &Type) -> Type {
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

/// `::<T, N>` for a function's type and const parameters (lifetimes are inferred), or
/// nothing when it has none.
pub(crate) fn turbofish(generics: &syn::Generics) -> TokenStream {
    let names: Vec<&Ident> = generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(&t.ident),
            GenericParam::Const(c) => Some(&c.ident),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    if names.is_empty() {
        quote!()
    } else {
        quote!(::<#(#names),*>)
    }
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
pub(crate) fn mentions_self(tokens: TokenStream) -> bool {
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
    fn turbofish_names_types_and_consts_not_lifetimes() {
        let generics: syn::Generics = parse_quote!(<'a, T: Clone, const N: usize>);
        assert_eq!(turbofish(&generics).to_string(), ":: < T , N >");
        assert!(turbofish(&parse_quote!(<'a>)).is_empty());
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
