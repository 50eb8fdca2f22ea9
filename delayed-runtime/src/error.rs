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
/// [`Error::MAX_DEPENDENTS`]; `more_dependents` counts the others, and the message ends
/// "… and N more").
///
/// Every variant is `#[non_exhaustive]`: fields may be added (as `dependents` was), so
/// match with `..`.
///
/// ```
/// use delayed::{value, Error};
/// let boom = value(1i64).map(|_| -> i64 { panic!("boom") });
/// let sums: Vec<_> = (0..8i64).map(|i| &boom + i).collect();
/// let e = delayed::compute(&sums).unwrap_err();
/// let Error::Panicked { task, message, location, .. } = &e else { panic!("{e}") };
/// assert_eq!(message, "boom");
/// assert!(location.as_deref().is_some_and(|l| l.contains(".rs:")));
/// assert_eq!(e.task(), Some(task.as_str()));
/// assert_eq!(e.dependents().len(), Error::MAX_DEPENDENTS);
/// assert_eq!(e.more_dependents(), 3);
/// let text = e.to_string();
/// assert!(text.starts_with(&format!("task `{task}` panicked at ")), "{text}");
/// assert!(text.ends_with(", … and 3 more)"), "{text}");
/// ```
///
/// A panic caught in a task prints nothing: it comes back as [`Error::Panicked`], with the
/// panic's message and location. To have each task panic reported on stderr as it happens,
/// with a backtrace, set `DELAYED_BACKTRACE=1` in the environment (see
/// [`Scheduler`](crate::Scheduler)'s "Panics").
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A task panicked. `task` is its label (`name-<8 hex of its key>`), `message` the panic
    /// message (or a note when the payload was not a string).
    #[error(
        "task `{task}` panicked{}: {message}{}",
        At(location.as_deref()),
        NeededBy(dependents, *more_dependents)
    )]
    #[non_exhaustive]
    Panicked {
        /// The failing task's label, `name-1f3a9c0e`.
        task: String,
        /// The panic message.
        message: String,
        /// Where it panicked, `file:line:column`, when known (`None` for a panic raised
        /// while dropping a value).
        location: Option<String>,
        /// Labels of tasks that would have used the result: see [`Error::dependents`].
        dependents: Vec<String>,
        /// How many more tasks would have used it than `dependents` names.
        more_dependents: usize,
    },
    /// A delayed function returning `Result` returned `Err`.
    #[error("task `{task}` failed: {source}{}", NeededBy(dependents, *more_dependents))]
    #[non_exhaustive]
    Failed {
        /// The failing task's label, `name-1f3a9c0e`.
        task: String,
        /// The error the function returned.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
        /// Labels of tasks that would have used the result: see [`Error::dependents`].
        dependents: Vec<String>,
        /// How many more tasks would have used it than `dependents` names.
        more_dependents: usize,
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
    /// The performance report ([`Scheduler::performance_report`](crate::Scheduler::performance_report))
    /// could not be written: its directory does not exist (found before the compute
    /// starts), or writing failed.
    #[error("could not write the performance report {}: {source}", path.display())]
    #[non_exhaustive]
    Report {
        /// The report file.
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
            Error::Scheduler { .. }
            | Error::Trace { .. }
            | Error::Report { .. }
            | Error::Cancelled { .. } => None,
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
            | Error::Report { .. }
            | Error::Cancelled { .. }
            | Error::Shared { .. } => &[],
        }
    }

    /// How many tasks would have used the failed task's result beyond those named in
    /// [`dependents`](Error::dependents) (0 when the list is complete).
    pub fn more_dependents(&self) -> usize {
        match self {
            Error::Panicked {
                more_dependents, ..
            }
            | Error::Failed {
                more_dependents, ..
            } => *more_dependents,
            Error::Scheduler { .. }
            | Error::Trace { .. }
            | Error::Report { .. }
            | Error::Cancelled { .. }
            | Error::Shared { .. } => 0,
        }
    }

    /// Sets the dependents of a task error (the scheduler knows them only at the end):
    /// the names given, and how many more there are.
    pub(crate) fn with_dependents(mut self, names: Vec<String>, more: usize) -> Error {
        if let Error::Panicked {
            dependents,
            more_dependents,
            ..
        }
        | Error::Failed {
            dependents,
            more_dependents,
            ..
        } = &mut self
        {
            *dependents = names;
            *more_dependents = more;
        }
        self
    }
}

/// ` at src/lib.rs:3:5` in a panic's message, or nothing.
struct At<'a>(Option<&'a str>);

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(location) => write!(f, " at {location}"),
            None => Ok(()),
        }
    }
}

/// ` (needed by `a-…`, `b-…`)` after a task error's message, ending `, … and N more)` when
/// the list was cut, or nothing.
struct NeededBy<'a>(&'a [String], usize);

impl std::fmt::Display for NeededBy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            let sep = if i == 0 { " (needed by " } else { ", " };
            write!(f, "{sep}`{name}`")?;
        }
        match (self.0.is_empty(), self.1) {
            (true, 0) => Ok(()),
            (false, 0) => f.write_str(")"),
            (true, more) => write!(f, " (needed by {more} tasks)"),
            (false, more) => write!(f, ", … and {more} more)"),
        }
    }
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
            more_dependents: 0,
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
            location: None,
            dependents: vec!["b-11111111".into(), "c-22222222".into()],
            more_dependents: 0,
        };
        assert_eq!(
            e.to_string(),
            "task `a-00000000` panicked: boom (needed by `b-11111111`, `c-22222222`)"
        );
        assert_eq!(e.dependents().len(), 2);
        let e = e.with_dependents(vec!["b-11111111".into()], 7);
        assert_eq!(
            e.to_string(),
            "task `a-00000000` panicked: boom (needed by `b-11111111`, … and 7 more)"
        );
        assert_eq!(e.more_dependents(), 7);
        let e = e.with_dependents(Vec::new(), 0);
        assert_eq!(e.to_string(), "task `a-00000000` panicked: boom");
        let s = Error::Scheduler {
            message: "x".into(),
        };
        let s = s.with_dependents(vec!["y".into()], 3);
        assert!(s.dependents().is_empty());
        assert_eq!(s.more_dependents(), 0);
    }
}
