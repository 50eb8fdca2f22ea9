//! The rules that keep a delayed function a pure function of its arguments.
//!
//! Every violation is collected before reporting (as serde's `Ctxt` does), so a user sees
//! all the problems of a function at once, each pointing at the offending tokens and
//! saying what to do instead.
//!
//! The rules read the function's tokens, so they match by name: a path `rand::…`, a call of
//! `thread_rng`/`random`, `SystemTime::now`, `Instant::now` or `env::var`; a parameter
//! type named `Cell<…>`, `RefCell<…>`, `Mutex<…>`, `RwLock<…>`, `UnsafeCell<…>`,
//! `OnceCell<…>`, `OnceLock<…>` or `Atomic…` (at any depth: behind references, inside
//! generic arguments, tuples, arrays). What reaches the graph through types is checked
//! by the runtime's trait bounds instead (`Send + Sync + 'static`, `Fn`, `Tokenize`).

use proc_macro2::Span;
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{
    Expr, ExprPath, ExprUnsafe, FnArg, ItemFn, ItemStatic, Macro, Path, PathArguments, ReturnType,
    StaticMutability, Token, Type, TypePath,
};

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

    pub(crate) fn push_at(&mut self, span: Span, message: impl std::fmt::Display) {
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
pub(crate) fn check_fn(func: &ItemFn, args: &Args) -> syn::Result<()> {
    let mut errors = Errors::default();
    check_qualifiers(func, &mut errors);
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(receiver) => check_receiver(receiver, &mut errors),
            FnArg::Typed(typed) => {
                check_param_type(&typed.ty, &mut errors);
                if args.pure {
                    check_interior_mutability(&typed.ty, Position::Param, &mut errors);
                }
            }
        }
    }
    check_output(func, args, &mut errors);
    check_body(func, args, &mut errors);
    check_annotations(func, args, &mut errors);
    errors.finish()
}

/// `resources(...)` and `priority` ride on the function's op for the cluster, which is
/// made where all its types are known: no generic parameters, no `self`/`Self`.
fn check_annotations(func: &ItemFn, args: &Args, errors: &mut Errors) {
    let Some(span) = args.annotated_at else {
        return;
    };
    let (sig, block) = (&func.sig, &func.block);
    let generic = !sig.generics.params.is_empty();
    if generic || crate::sig::mentions_self(quote::quote!(#sig #block)) {
        let what = if generic {
            "generic parameters"
        } else {
            "`self` or `Self`"
        };
        errors.push_at(
            span,
            format!(
                "`resources` and `priority` need a function without {what}: its cluster op is made where all its types are known; call a plain `#[delayed]` fn that carries them"
            ),
        );
    }
}

/// `async`, `const`, `unsafe`, variadic.
fn check_qualifiers(func: &ItemFn, errors: &mut Errors) {
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
}

/// `&self` and `self` only.
fn check_receiver(receiver: &syn::Receiver, errors: &mut Errors) {
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

/// No `&mut T` and no `impl Trait` parameters.
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

/// A value, not `()`, not `impl Trait`, and (when pure) no interior mutability.
fn check_output(func: &ItemFn, args: &Args, errors: &mut Errors) {
    let sig = &func.sig;
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
            } else if args.pure {
                check_interior_mutability(ty, Position::Result, errors);
            }
        }
    }
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(tuple) if tuple.elems.is_empty())
}

#[derive(Clone, Copy)]
enum Position {
    Param,
    Result,
}

/// Interior-mutability types (std's names, matched anywhere inside `ty`).
const CELLS: &[&str] = &[
    "Cell",
    "RefCell",
    "UnsafeCell",
    "SyncUnsafeCell",
    "OnceCell",
    "OnceLock",
    "Mutex",
    "RwLock",
];

const ATOMICS: &[&str] = &[
    "AtomicBool",
    "AtomicI8",
    "AtomicI16",
    "AtomicI32",
    "AtomicI64",
    "AtomicI128",
    "AtomicIsize",
    "AtomicU8",
    "AtomicU16",
    "AtomicU32",
    "AtomicU64",
    "AtomicU128",
    "AtomicUsize",
    "AtomicPtr",
];

/// The name of the interior-mutability type a path segment names, if it does. The cells
/// take a type argument (`Cell<T>`), which keeps a user's own `struct Cell` allowed.
fn interior_mutability(segment: &syn::PathSegment) -> Option<String> {
    let name = segment.ident.to_string();
    let generic = matches!(segment.arguments, PathArguments::AngleBracketed(_));
    let is_cell = generic && CELLS.contains(&name.as_str());
    (is_cell || ATOMICS.contains(&name.as_str())).then_some(name)
}

/// Rule: a pure function's signature holds no `Cell`, `RefCell`, `Mutex`, atomics, ...
fn check_interior_mutability(ty: &Type, position: Position, errors: &mut Errors) {
    struct Finder<'e> {
        position: Position,
        errors: &'e mut Errors,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_type_path(&mut self, ty: &'ast TypePath) {
            for segment in &ty.path.segments {
                if let Some(name) = interior_mutability(segment) {
                    let message = match self.position {
                        Position::Param => format!(
                            "a pure delayed function cannot take `{name}` (interior mutability) in a parameter: the graph runs each distinct call once and reuses its result, so changes made through it would be skipped or happen in any order; take the plain value and return the new one, or mark the function `#[delayed(pure = false)]` if it really shares state"
                        ),
                        Position::Result => format!(
                            "a pure delayed function cannot return `{name}` (interior mutability) in its result: its result is shared by every task that uses it, which could then change it behind each other's back; return the plain value, or mark the function `#[delayed(pure = false)]`"
                        ),
                    };
                    self.errors.push(segment, message);
                }
            }
            visit::visit_type_path(self, ty);
        }
    }
    Finder { position, errors }.visit_type(ty);
}

/// The body: no `static mut`, no `unsafe` blocks, and (when pure) no sources of
/// nondeterminism. Macro arguments that parse as expressions (`println!`, `vec!`,
/// `assert!`, ...) are checked too.
fn check_body(func: &ItemFn, args: &Args, errors: &mut Errors) {
    let mut visitor = BodyVisitor {
        pure: args.pure,
        name: func.sig.ident.to_string(),
        errors,
    };
    visitor.visit_block(&func.block);
}

struct BodyVisitor<'e> {
    pure: bool,
    name: String,
    errors: &'e mut Errors,
}

impl<'ast> Visit<'ast> for BodyVisitor<'_> {
    fn visit_item_static(&mut self, item: &'ast ItemStatic) {
        check_static_mut(item, self.errors);
        visit::visit_item_static(self, item);
    }

    fn visit_expr_unsafe(&mut self, expr: &'ast ExprUnsafe) {
        check_unsafe_block(expr, self.errors);
        visit::visit_expr_unsafe(self, expr);
    }

    fn visit_expr_path(&mut self, expr: &'ast ExprPath) {
        if self.pure {
            check_nondeterminism(&expr.path, &self.name, self.errors);
        }
        visit::visit_expr_path(self, expr);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        if let Ok(exprs) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            for expr in &exprs {
                self.visit_expr(expr);
            }
        }
        visit::visit_macro(self, mac);
    }
}

/// Rule: no `static mut` (shared mutable state the graph cannot see).
fn check_static_mut(item: &ItemStatic, errors: &mut Errors) {
    if let StaticMutability::Mut(mutability) = &item.mutability {
        let static_token = &item.static_token;
        errors.push(
            quote::quote!(#static_token #mutability),
            "a delayed function cannot use `static mut`: tasks run in any order, on any thread, and a repeated call is skipped, so state kept between calls is lost or raced; pass the state in as an argument and return the new state",
        );
    }
}

/// Rule: no `unsafe` blocks (the compiler could no longer vouch for purity).
fn check_unsafe_block(expr: &ExprUnsafe, errors: &mut Errors) {
    errors.push(
        expr.unsafe_token,
        "a delayed function cannot contain an `unsafe` block: the graph runs it on any thread, in any order, and relies on it having no effect but its result; move the unsafe code into a safe function (with its invariants checked) and call that",
    );
}

/// What a path names that makes a call nondeterministic, if anything.
fn nondeterministic(path: &Path) -> Option<&'static str> {
    let idents: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let names: Vec<&str> = idents.iter().map(String::as_str).collect();
    match names.as_slice() {
        // A generator seeded from the arguments is deterministic.
        [.., "seed_from_u64" | "from_seed"] => None,
        ["rand", _, ..] => Some("randomness (`rand::…`)"),
        [.., "thread_rng"] | [.., "random"] => Some("randomness"),
        [.., "SystemTime" | "Instant", "now"] => Some("the clock"),
        [.., "env", "var" | "var_os" | "vars" | "vars_os"] => Some("the environment"),
        _ => None,
    }
}

/// Rule: a pure function does not read randomness, clocks or the environment.
fn check_nondeterminism(path: &Path, name: &str, errors: &mut Errors) {
    if let Some(source) = nondeterministic(path) {
        let shown = path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::");
        errors.push(
            path,
            format!(
                "`{shown}` reads {source}, so `{name}` would not be a pure function of its arguments: a pure delayed call runs once per distinct arguments and its result is reused; mark it `#[delayed(pure = false)]` to run it on every call, or pass the value in as an argument"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    /// The messages of every error `check_fn` reports for `func`.
    fn errors(func: ItemFn, pure: bool) -> Vec<String> {
        let args = Args {
            pure,
            ..Args::default()
        };
        match check_fn(&func, &args) {
            Ok(()) => Vec::new(),
            Err(all) => all.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    fn assert_one(found: &[String], needle: &str) {
        assert_eq!(found.len(), 1, "expected one error, got {found:#?}");
        assert!(found[0].contains(needle), "{:?} lacks {needle:?}", found[0]);
    }

    #[test]
    fn pure_functions_pass() {
        let func: ItemFn = parse_quote! {
            fn f(mut xs: Vec<i64>, s: &str, c: Grid<Cell>) -> Result<Vec<i64>, E> {
                let mut local = std::cell::RefCell::new(0);
                *local.get_mut() += 1;
                xs.push(s.len() as i64);
                println!("{}", xs.len());
                let rng = rand::rngs::StdRng::seed_from_u64(7);
                Ok(xs)
            }
        };
        assert_eq!(errors(func, true), Vec::<String>::new());
    }

    #[test]
    fn rejects_mut_references_and_unit_returns() {
        let found = errors(
            parse_quote!(
                fn f(l: &mut Vec<i32>, i: i32) {}
            ),
            true,
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].contains("`&mut` parameter"));
        assert!(found[1].contains("must return a value"));
        let found = errors(
            parse_quote!(
                fn f(&mut self) -> i32 {
                    1
                }
            ),
            true,
        );
        assert_one(&found, "`&mut self`");
    }

    #[test]
    fn rejects_static_mut_and_unsafe_blocks() {
        let found = errors(
            parse_quote! {
                fn f(i: i32) -> i32 {
                    static mut COUNT: i32 = 0;
                    unsafe { COUNT += i; COUNT }
                }
            },
            false,
        );
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[0].contains("`static mut`"));
        assert!(found[1].contains("`unsafe` block"));
    }

    #[test]
    fn finds_interior_mutability_at_any_depth() {
        let found = errors(
            parse_quote! {
                fn f(a: &std::rc::Rc<RefCell<Vec<i32>>>, b: (u8, Vec<AtomicUsize>), c: Arc<Mutex<i32>>) -> i32 { 1 }
            },
            true,
        );
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].contains("`RefCell`"));
        assert!(found[1].contains("`AtomicUsize`"));
        assert!(found[2].contains("`Mutex`"));
        let found = errors(
            parse_quote!(
                fn f() -> Arc<RwLock<i32>> {
                    todo!()
                }
            ),
            true,
        );
        assert_one(&found, "cannot return `RwLock`");
        // Allowed once the function says it is not pure.
        let impure: ItemFn = parse_quote!(
            fn f(a: Arc<Mutex<i32>>) -> i32 {
                1
            }
        );
        assert!(errors(impure, false).is_empty());
    }

    #[test]
    fn rejects_nondeterminism_unless_impure() {
        let func: ItemFn = parse_quote! {
            fn f(n: u64) -> u64 {
                let a: u64 = rand::random();
                let b = thread_rng().gen::<u64>();
                let t = std::time::Instant::now();
                let s = SystemTime::now();
                let v = std::env::var("N");
                println!("{}", random::<u8>());
                a + b + n
            }
        };
        let found = errors(func.clone(), true);
        assert_eq!(found.len(), 6, "{found:#?}");
        for (message, shown) in found.iter().zip([
            "rand::random",
            "thread_rng",
            "std::time::Instant::now",
            "SystemTime::now",
            "std::env::var",
            "random",
        ]) {
            assert!(
                message.starts_with(&format!("`{shown}` reads")),
                "{message}"
            );
            assert!(message.contains("#[delayed(pure = false)]"), "{message}");
        }
        assert!(errors(func, false).is_empty());
    }

    #[test]
    fn reports_every_problem_at_once() {
        let func: ItemFn = parse_quote! {
            async fn f(x: &mut i32, c: Cell<i32>) {
                unsafe { std::hint::unreachable_unchecked() }
            }
        };
        assert_eq!(errors(func, true).len(), 5);
    }
}
