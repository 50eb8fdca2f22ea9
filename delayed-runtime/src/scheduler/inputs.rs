//! What a running task sees: its inputs, read in order, each either moved out of the
//! producer's result (when this is its last consumer) or cloned/shared from it.

use std::sync::Arc;

use crate::node::Input;

use crate::scheduler::plan::CONST;
use crate::scheduler::slots::Slots;
use crate::value::{AnyValue, BoxError};

/// The inputs of one running task. Generated code reads them in parameter order with
/// [`take`](Inputs::take) or [`share`](Inputs::share); inputs left unread (because the
/// body failed early) are released when this is dropped, so no result outlives its use.
pub struct Inputs<'a> {
    consts: &'a [Input],
    sources: &'a [u32],
    slots: &'a Slots,
    cursor: usize,
}

impl<'a> Inputs<'a> {
    pub(crate) fn new(consts: &'a [Input], sources: &'a [u32], slots: &'a Slots) -> Self {
        Inputs {
            consts,
            sources,
            slots,
            cursor: 0,
        }
    }

    /// How many inputs the task has.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// `true` when the task has no inputs.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    fn next_any(&mut self) -> Result<AnyValue, BoxError> {
        let i = self.cursor;
        let source = *self
            .sources
            .get(i)
            .ok_or("internal error: a task read more inputs than it has")?;
        self.cursor += 1;
        if source == CONST {
            match &self.consts[i] {
                Input::Const(value) => Ok(value.clone()),
                Input::Node(_) => Err("internal error: input is not a constant".into()),
            }
        } else {
            self.slots.fetch(source).ok_or_else(|| {
                "internal error: an input was released before its consumer ran".into()
            })
        }
    }

    /// The next input by value: moved out when nothing else holds it, cloned otherwise.
    pub fn take<T: Clone + Send + Sync + 'static>(&mut self) -> Result<T, BoxError> {
        let shared = self.share::<T>()?;
        Ok(Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// The next input, shared: for parameters that borrow (`&T`, `&str`, `&[T]`).
    pub fn share<T: Send + Sync + 'static>(&mut self) -> Result<Arc<T>, BoxError> {
        self.next_any()?.downcast::<T>().map_err(|_| {
            format!(
                "internal error: input {} is not a `{}`",
                self.cursor - 1,
                std::any::type_name::<T>()
            )
            .into()
        })
    }
}

impl Inputs<'_> {
    /// [`take`](Inputs::take) without `Send + Sync` bounds, for generated code whose types
    /// are checked elsewhere (so that a type error is reported once, where it is checked).
    #[doc(hidden)]
    pub fn take_unbounded<T: Clone + 'static>(&mut self) -> Result<T, BoxError> {
        let shared = self.share_unbounded::<T>()?;
        Ok(Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// [`share`](Inputs::share) without `Send + Sync` bounds (see
    /// [`take_unbounded`](Inputs::take_unbounded)).
    #[doc(hidden)]
    pub fn share_unbounded<T: 'static>(&mut self) -> Result<Arc<T>, BoxError> {
        let any = self.next_any()?;
        if !(*any).is::<T>() {
            return Err(format!(
                "internal error: input {} is not a `{}`",
                self.cursor - 1,
                std::any::type_name::<T>()
            )
            .into());
        }
        // SAFETY: the value is a `T` (checked just above), so this is `Arc::downcast`
        // minus its `T: Send + Sync` bound. That bound only serves the coercion into
        // `dyn Any + Send + Sync`, which was made when the value was stored: `T` is
        // `Send + Sync` in fact. The pointer comes from `Arc::into_raw` of this very `Arc`.
        Ok(unsafe { Arc::from_raw(Arc::into_raw(any).cast::<T>()) })
    }
}

impl Drop for Inputs<'_> {
    fn drop(&mut self) {
        for &source in &self.sources[self.cursor.min(self.sources.len())..] {
            if source != CONST {
                self.slots.release(source);
            }
        }
    }
}
