//! Result slots: where a task's result waits for its consumers.
//!
//! Each slot counts the reads still to come. Every read but the last clones the `Arc`;
//! the last read takes it out of the slot, so once the last consumer has run the value is
//! gone (peak memory follows the frontier of the graph), and a consumer that takes its
//! argument by value can move it instead of cloning.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::erased::AnyValue;

/// One value and one read counter per task, without a lock.
///
/// The protocol that makes the `UnsafeCell` sound:
/// 1. [`store`](Slots::store) writes slot `i` once, from the thread that ran task `i`,
///    before any reader of `i` starts: readers are tasks that become ready only after the
///    producer's release (`fetch_sub(AcqRel)` on their `waiting_on`, or program order in
///    the sync run, or the end of the rayon scope for the caller's reads).
/// 2. A reader that is not the last one clones the `Arc` (a shared read) and only then
///    decrements `remaining` (`AcqRel`).
/// 3. The reader that finds `remaining == 1`, or whose decrement takes it from 1 to 0, is
///    the last one: every other reader has already decremented, hence finished its clone,
///    and the acquire makes those clones happen-before, so it alone may take the value
///    out (a write).
pub(crate) struct Slots {
    remaining: Box<[AtomicU32]>,
    values: Box<[UnsafeCell<Option<AnyValue>>]>,
}

// SAFETY: `values` is only accessed under the protocol above (one writer before any
// reader, shared reads, one final take after every other read); `AnyValue` is
// `Send + Sync`.
unsafe impl Sync for Slots {}

impl Slots {
    /// One slot per task; `reads[i]` is how many times task `i`'s result will be read.
    pub(crate) fn new(reads: Vec<u32>) -> Slots {
        let values = (0..reads.len()).map(|_| UnsafeCell::new(None)).collect();
        Slots {
            remaining: reads.into_iter().map(AtomicU32::new).collect(),
            values,
        }
    }

    /// Stores task `i`'s result (once, before any of its readers runs).
    pub(crate) fn store(&self, i: u32, value: AnyValue) {
        let i = i as usize;
        if self.remaining[i].load(Ordering::Acquire) == 0 {
            return;
        }
        // SAFETY: rule 1: no reader of `i` has started, nobody else touches the slot.
        unsafe { *self.values[i].get() = Some(value) };
    }

    /// Starts loading slot `i` (its count and value), which is about to be written or read.
    #[inline]
    pub(crate) fn prefetch(&self, i: u32) {
        crate::prefetch::prefetch(&self.remaining[i as usize]);
        crate::prefetch::prefetch(self.values[i as usize].get());
    }

    /// One read: a clone of the `Arc`, or the `Arc` itself for the last reader.
    pub(crate) fn fetch(&self, i: u32) -> Option<AnyValue> {
        self.read(i, true)
    }

    /// A read that will not happen (its consumer failed first): the value may go.
    pub(crate) fn release(&self, i: u32) {
        drop(self.read(i, false));
    }

    fn read(&self, i: u32, want: bool) -> Option<AnyValue> {
        let i = i as usize;
        let remaining = &self.remaining[i];
        let cell = self.values[i].get();
        match remaining.load(Ordering::Acquire) {
            0 => None,
            1 => {
                remaining.store(0, Ordering::Relaxed);
                // SAFETY: rule 3: this is the last read; the others are done.
                unsafe { (*cell).take() }
            }
            _ => {
                // SAFETY: rule 2: a shared read; the only write (the last reader's take)
                // waits for this reader's decrement below.
                let value = if want {
                    unsafe { (*cell).clone() }
                } else {
                    None
                };
                if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                    // The others finished between the load and the decrement: this read
                    // is the last after all.
                    // SAFETY: rule 3.
                    let last = unsafe { (*cell).take() };
                    return if want { last } else { None };
                }
                value
            }
        }
    }
}

/// Results still here when a compute ends were abandoned by a failure (their consumers
/// never ran). The compute has already failed; a panic from their `Drop` is caught and
/// dropped with them rather than escaping `compute`.
impl Drop for Slots {
    fn drop(&mut self) {
        for cell in self.values.iter_mut() {
            if let Some(value) = cell.get_mut().take() {
                crate::panics::drop_caught(value);
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
        let slots = Slots::new(vec![2]);
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
        let slots = Slots::new(vec![1]);
        let value: AnyValue = Arc::new(String::from("x"));
        slots.store(0, value.clone());
        slots.release(0);
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn concurrent_readers_leave_one_owner() {
        for _ in 0..200 {
            let readers = 4;
            let slots = Slots::new(vec![readers]);
            slots.store(0, Arc::new(vec![1u8; 16]));
            let values: Vec<AnyValue> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..readers)
                    .map(|_| scope.spawn(|| slots.fetch(0).unwrap()))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            // The slot gave its reference away: the readers hold them all.
            assert_eq!(Arc::strong_count(&values[0]), readers as usize);
            assert!(slots.fetch(0).is_none());
        }
    }

    #[test]
    fn unread_results_are_not_kept() {
        let slots = Slots::new(vec![0]);
        let value: AnyValue = Arc::new(3u8);
        slots.store(0, value.clone());
        assert_eq!(Arc::strong_count(&value), 1);
    }
}
