//! A hint to start loading memory that is about to be read: on large graphs the planner's
//! key table and the run's nodes and slots are random accesses into far more memory than
//! the caches hold, and starting the load early overlaps the miss with other work.

/// Starts loading the cache line that holds `*p`. A hint only: it never faults, whatever
/// the address, and does nothing on targets without a prefetch instruction.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `sse` is part of every x86_64 target, and a prefetch is a hint that
        // never faults, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
