//! Display names: a function's name, or a type's short name for data, kept for the
//! program's lifetime so a node's origin (`node.rs`) carries a `&'static str` and building one
//! allocates nothing for its name.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock, PoisonError};

/// A display name that lives as long as the program: static names as they are, others
/// (names made at run time: a type's short name, a name read from a cluster) kept once
/// each, for good. Names come from code (functions, types), so there are only so many.
pub(crate) fn intern(name: Cow<'static, str>) -> &'static str {
    match name {
        Cow::Borrowed(name) => name,
        Cow::Owned(name) => {
            static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
            let mut names = NAMES
                .get_or_init(Mutex::default)
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match names.get(name.as_str()) {
                Some(&kept) => kept,
                None => {
                    let kept: &'static str = Box::leak(name.into_boxed_str());
                    names.insert(kept);
                    kept
                }
            }
        }
    }
}

/// The display name of data of type `T` (`Vec<String>` for `alloc::vec::Vec<…String>`),
/// made once per type and thread: `value(x)` on many threads takes no lock after each
/// thread's first of a type.
pub(crate) fn type_display_name<T: 'static>() -> &'static str {
    thread_local! {
        static BY_TYPE: std::cell::RefCell<HashMap<std::any::TypeId, &'static str>> =
            std::cell::RefCell::default();
    }
    BY_TYPE.with_borrow_mut(|names| {
        *names
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| intern(Cow::Owned(short_type_name(std::any::type_name::<T>()))))
    })
}

/// `alloc::vec::Vec<alloc::string::String>` → `Vec<String>`: the type's name without paths.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(&word));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(&word));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_type_name("alloc::string::String"), "String");
        assert_eq!(
            short_type_name("alloc::vec::Vec<alloc::string::String>"),
            "Vec<String>"
        );
        assert_eq!(short_type_name("(i32, f64)"), "(i32, f64)");
    }

    #[test]
    fn names_made_at_run_time_are_kept_once() {
        let a = intern(Cow::Owned(format!("made-{}", 7)));
        let b = intern(Cow::Owned(String::from("made-7")));
        assert_eq!(a, "made-7");
        assert!(std::ptr::eq(a, b));
        let s = type_display_name::<Vec<String>>();
        assert_eq!(s, "Vec<String>");
        assert!(std::ptr::eq(s, type_display_name::<Vec<String>>()));
        assert_eq!(type_display_name::<(i32, f64)>(), "(i32, f64)");
    }
}
