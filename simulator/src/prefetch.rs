//! A hint to the processor to start loading memory that is about to be read. The event loop's
//! working set outgrows the caches on large networks, and the queue knows which events come next
//! long before they run, so their memory can be on its way while earlier events run.

/// Starts loading the cache line holding `value` without waiting for it. It has no effect on the
/// program's results; on targets without a prefetch hint it does nothing.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes no state the program can observe; the pointer
    // comes from a reference, so it is valid anyway.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
