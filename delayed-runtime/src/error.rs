//! The errors a `compute` can return.

use thiserror::Error;

/// Why a `compute` did not produce its values.
///
/// After an error nothing is left running and nothing is poisoned: the next `compute` of the
/// same or another graph works as usual.
///
/// The first task to fail cancels the compute: no task starts after it, the ones already
/// running finish, and the error names the failing task and, in `dependents`, some of the
/// tasks that would have used its result (direct consumers first, then theirs, up to
/// [`Error::MAX_DEPENDENTS`]).
///
/// Every variant is `#[non_exhaustive]`: fields may be added (as `dependents` was), so
/// match with `..`.
///
/// ```
/// use delayed_runtime::{value, Error};
/// let boom = value(1i64).map(|_| -> i64 { panic!("boom") });
/// let sum = &boom + 1;
/// let e = sum.compute().unwrap_err();
/// let Error::Panicked { task, message, .. } = &e else { panic!("{e}") };
/// assert_eq!(message, "boom");
/// assert_eq!(e.task(), Some(task.as_str()));
/// assert_eq!(e.dependents(), [sum.label()]);
/// assert_eq!(e.to_string(), format!("task `{task}` panicked: boom (needed by `{}`)", sum.label()));
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A task panicked. `task` is its label (`name-<8 hex of its key>`), `message` the panic
    /// message (or a note when the payload was not a string).
    #[error("task `{task}` panicked: {message}{}", NeededBy(dependents))]
    #[non_exhaustive]
    Panicked {
        /// The failing task's label, `name-1f3a9c0e`.
        task: String,
        /// The panic message.
        message: String,
        /// Labels of tasks that would have used the result: see [`Error::dependents`].
        dependents: Vec<String>,
    },
    /// A delayed function returning `Result` returned `Err`.
    #[error("task `{task}` failed: {source}{}", NeededBy(dependents))]
    #[non_exhaustive]
    Failed {
        /// The failing task's label, `name-1f3a9c0e`.
        task: String,
        /// The error the function returned.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
        /// Labels of tasks that would have used the result: see [`Error::dependents`].
        dependents: Vec<String>,
    },
    /// The scheduler could not run at all (for example its thread pool could not start).
    #[error("scheduler error: {message}")]
    #[non_exhaustive]
    Scheduler {
        /// What went wrong.
        message: String,
    },
    /// The compute ran, but its trace ([`Scheduler::trace`](crate::Scheduler::trace))
    /// could not be written.
    #[error("could not write the trace {}: {source}", path.display())]
    #[non_exhaustive]
    Trace {
        /// The trace file.
        path: std::path::PathBuf,
        /// Why writing failed.
        #[source]
        source: std::io::Error,
    },
    /// The job was cancelled ([`Job::cancel`](crate::Job::cancel)) before it delivered
    /// its result: tasks that had not started never ran.
    #[error("the job was cancelled")]
    #[non_exhaustive]
    Cancelled {},
    /// The value of an [`Owned`](crate::Owned) root was read twice in one compute (the
    /// same node twice among the roots, or data the graph holds), and an owned value is
    /// never cloned. Compute it once, or compute the `Delayed` itself (its type `Clone`).
    #[error("the value of `{task}` is needed twice in this compute (another root, or data the graph holds) and an owned `{type_name}` is never cloned: compute it once, or make it `Clone` and compute the `Delayed` itself")]
    #[non_exhaustive]
    Shared {
        /// The label of the node whose value was needed twice.
        task: String,
        /// Its type.
        type_name: String,
    },
}

impl Error {
    /// At most this many [`dependents`](Error::dependents) are named.
    pub const MAX_DEPENDENTS: usize = 5;

    /// The label of the task that failed, if a task did.
    pub fn task(&self) -> Option<&str> {
        match self {
            Error::Panicked { task, .. }
            | Error::Failed { task, .. }
            | Error::Shared { task, .. } => Some(task),
            Error::Scheduler { .. } | Error::Trace { .. } | Error::Cancelled { .. } => None,
        }
    }

    /// Labels of tasks that would have used the failed task's result and so never ran:
    /// its direct consumers first, then their consumers, in plan order, at most
    /// [`MAX_DEPENDENTS`](Error::MAX_DEPENDENTS). Empty when nothing in the compute
    /// depended on it (it was a root), or when no task failed.
    pub fn dependents(&self) -> &[String] {
        match self {
            Error::Panicked { dependents, .. } | Error::Failed { dependents, .. } => dependents,
            Error::Scheduler { .. }
            | Error::Trace { .. }
            | Error::Cancelled { .. }
            | Error::Shared { .. } => &[],
        }
    }

    /// Sets the dependents of a task error (the scheduler knows them only at the end).
    pub(crate) fn with_dependents(mut self, names: Vec<String>) -> Error {
        if let Error::Panicked { dependents, .. } | Error::Failed { dependents, .. } = &mut self {
            *dependents = names;
        }
        self
    }
}

/// ` (needed by `a-…`, `b-…`)` after a task error's message, or nothing.
struct NeededBy<'a>(&'a [String]);

impl std::fmt::Display for NeededBy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            let sep = if i == 0 { " (needed by " } else { ", " };
            write!(f, "{sep}`{name}`")?;
        }
        if !self.0.is_empty() {
            f.write_str(")")?;
        }
        Ok(())
    }
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
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let mut payload = catch_unwind(AssertUnwindSafe(move || drop(value))).err()?;
    let message = panic_message(&*payload);
    for _ in 0..8 {
        match catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            Ok(()) => return Some(message),
            Err(nested) => payload = nested,
        }
    }
    std::mem::forget(payload);
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn failed_keeps_its_source() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = Error::Failed {
            task: "load-00000000".into(),
            source: Box::new(io),
            dependents: Vec::new(),
        };
        assert_eq!(e.to_string(), "task `load-00000000` failed: no such file");
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("no such file")
        );
    }

    #[test]
    fn dependents_in_display() {
        let e = Error::Panicked {
            task: "a-00000000".into(),
            message: "boom".into(),
            dependents: vec!["b-11111111".into(), "c-22222222".into()],
        };
        assert_eq!(
            e.to_string(),
            "task `a-00000000` panicked: boom (needed by `b-11111111`, `c-22222222`)"
        );
        assert_eq!(e.dependents().len(), 2);
        let e = e.with_dependents(Vec::new());
        assert_eq!(e.to_string(), "task `a-00000000` panicked: boom");
        let s = Error::Scheduler {
            message: "x".into(),
        };
        assert!(s.with_dependents(vec!["y".into()]).dependents().is_empty());
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
