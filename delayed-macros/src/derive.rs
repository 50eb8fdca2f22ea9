//! `#[derive(Tokenize)]`: hash every field in order; enums first hash the variant index.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_quote, Data, DeriveInput, Fields};

use crate::rt::rt;

pub(crate) fn derive_tokenize(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(error) => error.to_compile_error(),
    }
}

fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let rt = rt();
    let mut input: DeriveInput = syn::parse2(input)?;
    let name = &input.ident;
    for param in input.generics.type_params_mut() {
        param.bounds.push(parse_quote!(#rt::Tokenize));
    }
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();

    let body = match &input.data {
        Data::Struct(data) => {
            let (pattern, writes) = destructure(&data.fields);
            quote!(let Self #pattern = self; #writes)
        }
        Data::Enum(data) => {
            let arms = data.variants.iter().enumerate().map(|(index, variant)| {
                let ident = &variant.ident;
                let index = index as u32;
                let (pattern, writes) = destructure(&variant.fields);
                quote! {
                    Self::#ident #pattern => {
                        #rt::Tokenize::tokenize(&#index, state);
                        #writes
                    }
                }
            });
            if data.variants.is_empty() {
                quote!(match *self {})
            } else {
                quote!(match self { #(#arms)* })
            }
        }
        Data::Union(data) => {
            return Err(syn::Error::new_spanned(
                data.union_token,
                "`Tokenize` cannot be derived for unions: which field holds the value is not known; implement it by hand",
            ))
        }
    };

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #rt::Tokenize for #name #ty_generics #where_clause {
            fn tokenize(&self, state: &mut #rt::KeyHasher) {
                #body
            }

            // The codec a cluster sends values of this type with: serde's, when the type
            // has it (found by `Probe`, which needs the concrete type written here).
            #[allow(clippy::needless_borrow)]
            fn __codec() -> ::core::option::Option<&'static #rt::Codec> {
                #[allow(unused_imports)]
                use #rt::{KnownCodec as _, NoCodec as _, SerdeCodec as _};
                (&&&#rt::Probe::<Self>::new()).codec()
            }
        }
    })
}

/// A pattern binding every field, and the statements that hash them in order.
fn destructure(fields: &Fields) -> (TokenStream, TokenStream) {
    let rt = rt();
    match fields {
        Fields::Named(named) => {
            let idents: Vec<_> = named.named.iter().filter_map(|f| f.ident.clone()).collect();
            let bindings: Vec<_> = idents
                .iter()
                .map(|i| format_ident!("__field_{}", i))
                .collect();
            (
                quote!({ #(#idents: #bindings),* }),
                quote!(#( #rt::Tokenize::tokenize(#bindings, state); )*),
            )
        }
        Fields::Unnamed(unnamed) => {
            let bindings: Vec<_> = (0..unnamed.unnamed.len())
                .map(|i| format_ident!("__field_{}", i))
                .collect();
            (
                quote!(( #(#bindings),* )),
                quote!(#( #rt::Tokenize::tokenize(#bindings, state); )*),
            )
        }
        Fields::Unit => (quote!(), quote!()),
    }
}
