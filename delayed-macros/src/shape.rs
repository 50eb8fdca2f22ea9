//! The shape of what `#[delayed]` emits, in one file: every item is one `quote!`
//! template here with named holes, which the generators (`expand.rs` for functions,
//! `methods.rs` for impl blocks) fill from the user's tokens. (The registration that lets
//! another process run a function is in `remote.rs`.)
//!
//! For `#[delayed] fn f(x: X) -> Out { body }` (paths into the runtime shortened):
//!
//! ```text
//! fn f(x: impl IntoArg<X>) -> Delayed<Out> {                // lazy_signature
//!     assert_by_value::<X>(); …                             // Task::body: type checks
//!     static __DELAYED_FN: FnId = FnId::new(path, display, token_hash);  // identity
//!     fn __delayed_body(inputs: &mut Inputs) -> Result<Out, BoxError> {  // the task
//!         let __delayed_a0 = inputs.take_unbounded::<X>()?;
//!         let __delayed_result = { <call> };
//!         Ok(__delayed_result)
//!     }
//!     <RemoteOp of __delayed_body, for dask workers>         // remote.rs
//!     let mut __delayed_call = Call::new(&__DELAYED_FN) .impure() .cached::<Out>() …;
//!     __delayed_call.arg(IntoArg::into_arg(x));
//!     __delayed_call.finish(__delayed_body)
//! }
//! fn f_eager(x: X) -> Out { body }                          // eager_twin
//! ```
//!
//! A generic function, or one in an impl block, has no `RemoteOp`: its task is a `move`
//! closure with the same reads (`take::<X>()`, bounded). `<call>` is `Self::f_eager(…)`
//! when `f` names `self` or `Self`, else the body as a closure (`expand.rs` says why).
//! Pieces that carry the user's spans (parameter types, bounds, the body) keep them, so
//! an error points at the user's tokens.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, ItemFn, Type, WhereClause};

use crate::rt::rt;

/// `fn name<…>(self?, x: impl IntoArg<X>, …) -> Delayed<Out> where …`.
pub(crate) fn lazy_signature(
    name: &Ident,
    generics: TokenStream,
    receiver: TokenStream,
    inputs: &[TokenStream],
    output: &Type,
    where_clause: &WhereClause,
) -> TokenStream {
    let rt = rt();
    quote! {
        fn #name #generics (#receiver #(#inputs),*) -> #rt::Delayed<#output>
        #where_clause
    }
}

/// The lazy function: `signature` (with what comes before it: attributes, visibility)
/// and a body that builds `task`. Without a task (the function has errors, already
/// reported) the body only panics: callers still type-check, so the user sees the real
/// errors, not follow-on ones at the call sites. `what` names the item in that panic.
pub(crate) fn lazy_fn(signature: TokenStream, task: Option<Task>, what: &str) -> TokenStream {
    match task {
        Some(task) => {
            let body = task.body();
            quote!(#signature { #body })
        }
        None => {
            let message = format!("this `#[delayed]` {what} did not compile");
            quote! {
                #[allow(unused_variables)]
                #signature
                {
                    ::core::panic!(#message)
                }
            }
        }
    }
}

/// One task of a lazy function: what its body needs, in the order it uses it.
pub(crate) struct Task {
    /// Calls that check concrete types, with the runtime's messages (`parts::type_bounds`).
    pub(crate) asserts: Vec<TokenStream>,
    /// The function's identity in keys: its path after the module (`f`, `Acc::add`), and
    /// the hash of its tokens. Its display name is not part of the key.
    pub(crate) path: String,
    pub(crate) token_hash: String,
    pub(crate) display: String,
    /// `Call` builder steps after `Call::new` (`parts::identity`).
    pub(crate) identity: Vec<TokenStream>,
    /// One argument per input (`self` first), and the statements that read them back
    /// into `__delayed_self`, `__delayed_a0`, … in the task (`parts::Reads`).
    pub(crate) add_args: Vec<TokenStream>,
    pub(crate) reads: Vec<TokenStream>,
    /// The user's code run on those locals.
    pub(crate) call: TokenStream,
    pub(crate) output: Type,
    /// Whether the user's function returns `Result` (its error is boxed).
    pub(crate) fallible: bool,
    /// For a function other processes can run (`remote.rs`): the task is the fn item
    /// `__delayed_body`, which they run too, instead of a closure.
    pub(crate) remote: Option<Remote>,
}

/// What lets another process run a function's task (`remote.rs`).
pub(crate) struct Remote {
    /// The reads of `__delayed_body`, without the bounds the lazy function checked.
    pub(crate) reads: Vec<TokenStream>,
    /// The op that names `__delayed_body` and its codecs, and its registration.
    pub(crate) items: TokenStream,
}

impl Task {
    /// The lazy function's body: check the types, name the function, add the arguments,
    /// and hand the runtime the task that reads them back and runs the user's code.
    fn body(self) -> TokenStream {
        let rt = rt();
        let Task {
            asserts,
            path,
            token_hash,
            display,
            mut identity,
            add_args,
            reads,
            call,
            output,
            fallible,
            remote,
        } = self;
        let result = if fallible {
            quote!(#rt::fallible(__delayed_result))
        } else {
            quote!(::core::result::Result::Ok(__delayed_result))
        };
        let (items, run) = match remote {
            Some(Remote {
                reads,
                items: registration,
            }) => {
                identity.push(quote!(.remote(&__DELAYED_REMOTE)));
                let items = quote! {
                    #[allow(clippy::needless_question_mark, clippy::redundant_closure_call)]
                    fn __delayed_body(
                        __delayed_inputs: &mut #rt::Inputs<'_>,
                    ) -> ::core::result::Result<#output, #rt::BoxError> {
                        #(#reads)*
                        let __delayed_result = { #call };
                        #result
                    }
                    #registration
                };
                (items, quote!(__delayed_body))
            }
            None => {
                let run = quote! {
                    move |__delayed_inputs: &mut #rt::Inputs<'_>| {
                        #(#reads)*
                        let __delayed_result = { #call };
                        #result
                    }
                };
                (quote!(), run)
            }
        };
        quote! {
            #(#asserts)*
            static __DELAYED_FN: #rt::FnId = #rt::FnId::new(
                ::core::concat!(::core::module_path!(), "::", #path),
                #display,
                #token_hash,
            );
            #items
            let mut __delayed_call = #rt::Call::new(&__DELAYED_FN) #(#identity)*;
            #( __delayed_call.arg(#add_args); )*
            __delayed_call.finish(#run)
        }
    }
}

/// The original function under the name `<name>_eager`, documented as such.
pub(crate) fn eager_twin(func: &ItemFn, eager: &Ident) -> TokenStream {
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

/// `#[delayed] impl Type { … }`: the block as written, then the extension trait
/// `<Type>Delayed` with one lazy method per method with a receiver (`decls`), implemented
/// for `Delayed<Type>` (`defs`).
pub(crate) fn extension_trait(
    block: &syn::ItemImpl,
    trait_name: &Ident,
    doc: &str,
    decls: &[TokenStream],
    defs: &[TokenStream],
) -> TokenStream {
    let rt = rt();
    let self_ty = &block.self_ty;
    let (impl_generics, type_generics, where_clause) = block.generics.split_for_impl();
    let generic_params = &block.generics.params;
    let trait_generics = if generic_params.is_empty() {
        quote!()
    } else {
        quote!(<#generic_params>)
    };
    quote! {
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
