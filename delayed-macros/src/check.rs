//! The rules that keep a delayed function a pure function of its arguments.
//!
//! Every violation is collected before reporting (as serde's `Ctxt` does), so a user sees
//! all the problems of a function at once, each pointing at the offending tokens and
//! saying what to do instead.

use quote::ToTokens;
use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::attr::Args;

/// Collects errors; `finish` combines them into one.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push_error(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn push_at(&mut self, span: proc_macro2::Span, message: impl std::fmt::Display) {
        self.push_error(syn::Error::new(span, message));
    }

    fn push_error(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(all) => all.combine(error),
            None => self.errors = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.errors {
            Some(all) => Err(all),
            None => Ok(()),
        }
    }
}

/// Checks the signature and body of a function marked `#[delayed]`.
pub(crate) fn check_fn(func: &ItemFn, _args: &Args) -> syn::Result<()> {
    let mut errors = Errors::default();
    let sig = &func.sig;

    if let Some(asyncness) = &sig.asyncness {
        errors.push(
            asyncness,
            "`#[delayed]` does not support `async fn` (yet): the scheduler runs tasks on threads; write a synchronous function, or block on the future inside it",
        );
    }
    if let Some(constness) = &sig.constness {
        errors.push(
            constness,
            "`#[delayed]` cannot make a `const fn` lazy: remove `const` (a delayed call builds a graph at run time)",
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(
            unsafety,
            "`#[delayed]` cannot make an `unsafe fn` lazy: the graph calls it later, where nobody can uphold its safety contract; make the function safe",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(variadic, "`#[delayed]` does not support variadic functions");
    }

    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                if receiver.mutability.is_some() && receiver.reference.is_some() {
                    errors.push(
                        receiver,
                        "a delayed method cannot take `&mut self`: the graph would mutate a copy, and the change would be lost; take `&self` or `self` and return the new value instead",
                    );
                } else if receiver.colon_token.is_some() {
                    errors.push(
                        receiver,
                        "a delayed method takes `&self` or `self`; other receiver types (`self: Box<Self>`, `self: Arc<Self>`, ...) are not supported",
                    );
                }
            }
            FnArg::Typed(typed) => check_param_type(&typed.ty, &mut errors),
        }
    }

    match &sig.output {
        ReturnType::Default => errors.push_at(
            sig.paren_token.span.join(),
            "a delayed function must return a value: its result is its only effect (a function returning nothing would be skipped or have effects the graph cannot track); return the new value instead of mutating",
        ),
        ReturnType::Type(_, ty) => {
            if is_unit(ty) {
                errors.push(
                    ty,
                    "a delayed function must return a value, not `()`: its result is its only effect; return the new value instead of mutating",
                );
            } else if let Type::ImplTrait(_) = &**ty {
                errors.push(
                    ty,
                    "a delayed function cannot return `impl Trait`: the graph stores results by type; name the concrete type",
                );
            }
        }
    }

    errors.finish()
}

fn check_param_type(ty: &Type, errors: &mut Errors) {
    match ty {
        Type::Reference(reference) if reference.mutability.is_some() => errors.push(
            ty,
            "a delayed function cannot take a `&mut` parameter: it would mutate a value inside the graph that no one else sees (dask's `delayed(l.append)` bug); take the value (`T` or `&T`) and return the new one",
        ),
        Type::ImplTrait(_) => errors.push(
            ty,
            "a delayed function cannot take an `impl Trait` parameter: use a named generic parameter (`fn f<T: Trait>(x: T)`)",
        ),
        _ => {}
    }
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty())
}
