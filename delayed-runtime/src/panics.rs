//! Panics in tasks are caught and come back as [`Error::Panicked`](crate::Error::Panicked);
//! this keeps them off stderr.
//!
//! Rust prints every panic through the process's panic hook, caught or not, so a task's
//! panic would print `thread '…' panicked at …` (and a backtrace) although the program
//! handles it as an error. The first compute installs a hook that, for panics raised
//! while a task runs (a thread-local flag set around the task's body and around the
//! scheduler's drops of user values), records the location for the error and prints
//! nothing, and hands every other panic to the hook that was installed before it.
//!
//! `DELAYED_BACKTRACE=1` (read once per process) makes it print each task panic on
//! stderr as it happens, with its location, message and a backtrace.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::{Once, OnceLock};

thread_local! {
    /// Whether this thread is running a task's code (the body, or a drop of its values).
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    /// Where the last task panic on this thread happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

/// Installs the hook, once per process (not from a panicking thread, where the standard
/// library forbids changing hooks: the panic then prints as usual).
pub(crate) fn install() {
    if std::thread::panicking() {
        return;
    }
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_TASK.with(Cell::get) {
                return previous(info);
            }
            let location = info.location().map(|l| l.to_string());
            if verbose() {
                report(info, location.as_deref());
            }
            LOCATION.with(|l| *l.borrow_mut() = location);
        }));
    });
}

/// Whether `DELAYED_BACKTRACE` asks for task panics to be printed.
fn verbose() -> bool {
    static VERBOSE: OnceLock<bool> = OnceLock::new();
    *VERBOSE.get_or_init(|| {
        std::env::var_os("DELAYED_BACKTRACE").is_some_and(|v| !v.is_empty() && v != "0")
    })
}

fn report(info: &PanicHookInfo<'_>, location: Option<&str>) {
    let message = panic_message(info.payload());
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let at = location.unwrap_or("an unknown location");
    let backtrace = std::backtrace::Backtrace::force_capture();
    eprintln!("delayed: a task panicked on thread '{name}' at {at}:\n{message}\nstack backtrace:\n{backtrace}");
}

/// Runs `f` as task code: a panic in it is caught, printed only with `DELAYED_BACKTRACE`,
/// and returned with its location (when the hook saw it).
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, (Box<dyn Any + Send>, Option<String>)> {
    let outer = IN_TASK.with(|t| t.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_TASK.with(|t| t.set(outer));
    result.map_err(|payload| (payload, LOCATION.with(|l| l.borrow_mut().take())))
}

/// The text of a panic payload: `&str` and `String` payloads as they are.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(the panic payload is not a string)".to_owned()
    }
}

/// Drops `value` (a task's result, its unread inputs, a panic payload), catching a panic
/// from its `Drop`: returns that panic's message. Never panics: the payload of that panic
/// is dropped the same way, and after a few payloads that each panic again when dropped,
/// the last one is leaked.
///
/// The scheduler drops user values here instead of where they fall out of scope: a panic
/// that escaped a worker would take the whole compute down, and one raised while a task is
/// already unwinding would abort the process.
pub(crate) fn drop_caught<T>(value: T) -> Option<String> {
    let (mut payload, _) = catch(move || drop(value)).err()?;
    let message = panic_message(&*payload);
    for _ in 0..8 {
        match catch(move || drop(payload)) {
            Ok(()) => return Some(message),
            Err((nested, _)) => payload = nested,
        }
    }
    std::mem::forget(payload);
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_panics_keep_their_location() {
        install();
        let line = line!() + 1;
        let (payload, location) = catch(|| panic!("inside")).unwrap_err();
        assert_eq!(panic_message(&*payload), "inside");
        let location = location.unwrap();
        assert!(
            location.starts_with(&format!("{}:{line}:", file!())),
            "{location}"
        );
        assert_eq!(catch(|| 5).ok(), Some(5));
        assert!(!IN_TASK.with(Cell::get));
    }

    #[test]
    fn drop_caught_catches_panicking_drops() {
        struct Loud(&'static str);
        impl Drop for Loud {
            fn drop(&mut self) {
                panic!("{}", self.0);
            }
        }
        assert_eq!(drop_caught(String::from("quiet")), None);
        assert_eq!(drop_caught(Loud("loud")).as_deref(), Some("loud"));
        // A panic whose payload panics again when dropped.
        struct Nested;
        impl Drop for Nested {
            fn drop(&mut self) {
                std::panic::panic_any(Loud("again"));
            }
        }
        assert_eq!(
            drop_caught(Nested).as_deref(),
            Some("(the panic payload is not a string)")
        );
    }

    #[test]
    fn panic_payloads() {
        assert_eq!(panic_message(&"a"), "a");
        assert_eq!(panic_message(&String::from("b")), "b");
        assert_eq!(panic_message(&3u8), "(the panic payload is not a string)");
    }
}
