//! Result slots: where a task's result waits for its consumers.
//!
//! Each slot counts the reads still to come. Every read but the last clones the `Arc`;
//! the last read takes it out of the slot, so once the last consumer has run the value is
//! gone (peak memory follows the frontier of the graph), and a consumer that takes its
//! argument by value can move it instead of cloning.

use std::sync::{Mutex, MutexGuard};

use crate::node::AnyValue;

/// The source index that means "a constant held by the node itself".
pub(crate) const CONST: u32 = u32::MAX;

struct Slot {
    value: Option<AnyValue>,
    remaining: u32,
}

pub(crate) struct Slots {
    slots: Box<[Mutex<Slot>]>,
}

impl Slots {
    /// One slot per task; `reads[i]` is how many times task `i`'s result will be read.
    pub(crate) fn new(reads: &[u32]) -> Slots {
        Slots {
            slots: reads
                .iter()
                .map(|&remaining| {
                    Mutex::new(Slot {
                        value: None,
                        remaining,
                    })
                })
                .collect(),
        }
    }

    fn lock(&self, i: u32) -> MutexGuard<'_, Slot> {
        // A poisoned slot only means a panic elsewhere; its data is still consistent.
        self.slots[i as usize]
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn store(&self, i: u32, value: AnyValue) {
        let mut slot = self.lock(i);
        if slot.remaining > 0 {
            slot.value = Some(value);
        } else {
            drop(slot);
            drop(value);
        }
    }

    /// One read: a clone of the `Arc`, or the `Arc` itself for the last reader.
    pub(crate) fn fetch(&self, i: u32) -> Option<AnyValue> {
        let mut slot = self.lock(i);
        slot.remaining = slot.remaining.saturating_sub(1);
        if slot.remaining == 0 {
            slot.value.take()
        } else {
            slot.value.clone()
        }
    }

    /// A read that will not happen (its consumer failed first): the value may go.
    pub(crate) fn release(&self, i: u32) {
        let released = {
            let mut slot = self.lock(i);
            slot.remaining = slot.remaining.saturating_sub(1);
            if slot.remaining == 0 {
                slot.value.take()
            } else {
                None
            }
        };
        drop(released);
    }
}

/// Results still here when a compute ends were abandoned by a failure (their consumers
/// never ran). The compute has already failed; a panic from their `Drop` is caught and
/// dropped with them rather than escaping `compute`.
impl Drop for Slots {
    fn drop(&mut self) {
        for slot in self.slots.iter_mut() {
            let slot = slot.get_mut().unwrap_or_else(|poison| poison.into_inner());
            if let Some(value) = slot.value.take() {
                crate::error::drop_caught(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn last_reader_takes_the_value() {
        let slots = Slots::new(&[2]);
        slots.store(0, Arc::new(5u32));
        let first = slots.fetch(0).unwrap();
        let second = slots.fetch(0).unwrap();
        drop(first);
        // The slot no longer holds it: `second` is the only owner and can move the value.
        assert!(second
            .downcast::<u32>()
            .map(Arc::try_unwrap)
            .unwrap()
            .is_ok());
        assert!(slots.fetch(0).is_none());
    }

    #[test]
    fn release_frees_unread_values() {
        let slots = Slots::new(&[1]);
        let value: AnyValue = Arc::new(String::from("x"));
        slots.store(0, value.clone());
        slots.release(0);
        assert_eq!(Arc::strong_count(&value), 1);
    }
}
