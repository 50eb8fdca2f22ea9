//! The arguments of `#[delayed(...)]`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{LitBool, LitStr};

/// What `#[delayed(pure = false, name = "…")]` asked for.
#[derive(Clone)]
pub(crate) struct Args {
    /// `false`: every call gets a fresh key and runs.
    pub(crate) pure: bool,
    /// The display name, when not the function's own.
    pub(crate) name: Option<LitStr>,
    /// `cache`: results may be kept in an on-disk cache across runs.
    pub(crate) cache: bool,
    /// `resources(GPU = 1)`: dask resources a worker must have to run its tasks.
    pub(crate) resources: Vec<(String, f64)>,
    /// `priority = 10`: dask's priority for its tasks.
    pub(crate) priority: i32,
    /// Where `resources` or `priority` was written, if it was.
    pub(crate) annotated_at: Option<proc_macro2::Span>,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            pure: true,
            name: None,
            cache: false,
            resources: Vec::new(),
            priority: 0,
            annotated_at: None,
        }
    }
}

impl Args {
    /// The name tasks are shown under: `name = "…"`, else the function's own.
    pub(crate) fn display(&self, ident: &syn::Ident) -> String {
        self.name
            .as_ref()
            .map(|n| n.value())
            .unwrap_or_else(|| ident.to_string())
    }
}

const KNOWN: &[&str] = &["pure", "name", "cache", "resources", "priority"];

/// As [`parse`], but a bad argument goes to `errors` and the defaults stand in, so the
/// item still expands (its callers type-check; no follow-on errors).
pub(crate) fn parse_or_report(tokens: TokenStream, errors: &mut Vec<syn::Error>) -> Args {
    parse(tokens).unwrap_or_else(|error| {
        errors.push(error);
        Args::default()
    })
}

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let mut args = Args::default();
    if tokens.is_empty() {
        return Ok(args);
    }
    let mut cache_span = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("cache") {
            cache_span = Some(meta.path.span());
            args.cache = true;
            return Ok(());
        }
        parse_one(&mut args, meta)
    });
    syn::parse::Parser::parse2(parser, tokens)?;
    if let (Some(span), false) = (cache_span, args.pure) {
        return Err(syn::Error::new(
            span,
            "a `pure = false` function cannot be cached: it must run on every call; remove `cache` or `pure = false`",
        ));
    }
    Ok(args)
}

fn parse_one(args: &mut Args, meta: ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.path.is_ident("pure") {
        let value: LitBool = meta
            .value()?
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected `pure = true` or `pure = false`"))?;
        args.pure = value.value;
        Ok(())
    } else if meta.path.is_ident("name") {
        let value: LitStr = meta
            .value()?
            .parse()
            .map_err(|e| syn::Error::new(e.span(), "expected a string: `name = \"my_task\"`"))?;
        if value.value().is_empty() {
            return Err(syn::Error::new(
                value.span(),
                "the display name cannot be empty",
            ));
        }
        args.name = Some(value);
        Ok(())
    } else if meta.path.is_ident("resources") {
        args.annotated_at = Some(meta.path.span());
        meta.parse_nested_meta(|inner| {
            let name = inner
                .path
                .get_ident()
                .map(|i| i.to_string())
                .ok_or_else(|| inner.error("expected a resource name: `resources(GPU = 1)`"))?;
            let amount = amount(&inner.value()?.parse::<syn::Lit>()?)?;
            args.resources.push((name, amount));
            Ok(())
        })
    } else if meta.path.is_ident("priority") {
        args.annotated_at = Some(meta.path.span());
        let expr: syn::Expr = meta.value()?.parse()?;
        args.priority = priority(&expr)?;
        Ok(())
    } else {
        let given = meta
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let hint = match closest(&given) {
            Some(known) => format!("; did you mean `{known}`?"),
            None => String::new(),
        };
        Err(meta.error(format!(
            "unknown `#[delayed]` argument `{given}`{hint} (expected `pure = true|false`, `name = \"...\"`, `cache`, `resources(NAME = amount, ...)` or `priority = n`)"
        )))
    }
}

/// A resource amount: a positive number.
fn amount(lit: &syn::Lit) -> syn::Result<f64> {
    let value = match lit {
        syn::Lit::Int(i) => i.base10_parse::<f64>()?,
        syn::Lit::Float(f) => f.base10_parse::<f64>()?,
        _ => return Err(syn::Error::new(lit.span(), "expected a number: `GPU = 1`")),
    };
    if value > 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(syn::Error::new(
            lit.span(),
            "a resource amount must be above 0",
        ))
    }
}

/// A priority: an integer, maybe negative.
fn priority(expr: &syn::Expr) -> syn::Result<i32> {
    let (negative, lit) = match expr {
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => (true, &*u.expr),
        other => (false, other),
    };
    match lit {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => {
            let n = i.base10_parse::<i32>()?;
            Ok(if negative { -n } else { n })
        }
        _ => Err(syn::Error::new_spanned(
            expr,
            "expected an integer: `priority = 10` (higher runs first)",
        )),
    }
}

/// The known argument within edit distance 2 of `given`, if any.
fn closest(given: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .map(|k| (edit_distance(given, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn parses_known_arguments() {
        let args = parse(quote!(pure = false, name = "inc")).unwrap();
        assert!(!args.pure);
        assert_eq!(args.name.unwrap().value(), "inc");
        assert!(parse(quote!()).unwrap().pure);
    }

    #[test]
    fn suggests_near_misses() {
        let err = parse(quote!(pur = false)).err().unwrap().to_string();
        assert!(err.contains("did you mean `pure`"), "{err}");
        let err = parse(quote!(colour = 1)).err().unwrap().to_string();
        assert!(!err.contains("did you mean"), "{err}");
        let err = parse(quote!(cach)).err().unwrap().to_string();
        assert!(err.contains("did you mean `cache`"), "{err}");
    }

    #[test]
    fn resources_and_priority() {
        let args = parse(quote!(resources(GPU = 1, MEM = 2.5), priority = -3)).unwrap();
        assert_eq!(
            args.resources,
            vec![("GPU".into(), 1.0), ("MEM".into(), 2.5)]
        );
        assert_eq!(args.priority, -3);
        assert!(args.annotated_at.is_some());
        let err = |t| parse(t).err().unwrap().to_string();
        assert!(err(quote!(resources(GPU = 0))).contains("above 0"));
        assert!(err(quote!(resources(GPU = "one"))).contains("expected a number"));
        assert!(err(quote!(priority = "high")).contains("expected an integer"));
    }

    #[test]
    fn cache_is_a_flag_of_pure_functions() {
        assert!(parse(quote!(cache)).unwrap().cache);
        assert!(parse(quote!(name = "f", cache)).unwrap().cache);
        assert!(!parse(quote!()).unwrap().cache);
        let err = parse(quote!(cache, pure = false))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("cannot be cached"), "{err}");
    }
}
