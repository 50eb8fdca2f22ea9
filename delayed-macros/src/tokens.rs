//! A stable hash of a function's own tokens, computed at compile time: editing the body
//! changes the function's identity, so its keys (and cached results) change too.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// Hex of a blake3 hash over a canonical form of `tokens` (spacing and comments do not
/// matter; every identifier, punctuation and literal does).
pub(crate) fn hash_tokens(tokens: TokenStream) -> String {
    let mut hasher = blake3::Hasher::new();
    // A work list instead of recursion over groups.
    let mut stack: Vec<Option<TokenTree>> = tokens.into_iter().map(Some).collect();
    stack.reverse();
    while let Some(item) = stack.pop() {
        let Some(tree) = item else {
            hasher.update(b")");
            continue;
        };
        match tree {
            TokenTree::Group(group) => {
                let open: &[u8] = match group.delimiter() {
                    Delimiter::Parenthesis => b"(",
                    Delimiter::Brace => b"{",
                    Delimiter::Bracket => b"[",
                    Delimiter::None => b"<",
                };
                hasher.update(open);
                stack.push(None);
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                stack.extend(inner.into_iter().rev().map(Some));
            }
            TokenTree::Ident(ident) => {
                hasher.update(b"i");
                hasher.update(ident.to_string().as_bytes());
                hasher.update(b" ");
            }
            TokenTree::Punct(punct) => {
                hasher.update(b"p");
                hasher.update(punct.as_char().to_string().as_bytes());
            }
            TokenTree::Literal(lit) => {
                let text = lit.to_string();
                hasher.update(b"l");
                hasher.update(&(text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
        }
    }
    hasher.finalize().to_hex()[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn spacing_does_not_matter_but_tokens_do() {
        let a = hash_tokens(quote!(
            fn f(x: i64) -> i64 {
                x + 1
            }
        ));
        let b: TokenStream = "fn f( x:i64 )->i64{x+1}".parse().unwrap();
        assert_eq!(a, hash_tokens(b));
        assert_ne!(
            a,
            hash_tokens(quote!(
                fn f(x: i64) -> i64 {
                    x + 2
                }
            ))
        );
        assert_ne!(hash_tokens(quote!({ a } b)), hash_tokens(quote!({ a b })));
    }
}
