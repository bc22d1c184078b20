//! A hint to the processor to start loading memory that is about to be read. The event loop's
//! working set outgrows the caches on large networks, and the queue knows which events come next
//! long before they run, so their memory can be on its way while earlier events run.

/// The cache line size of the targets this is tuned for.
const LINE: usize = 64;

/// Starts loading the cache lines holding `value` without waiting for them: every line a record
/// spans, since a record that straddles lines is read in more than its first. It has no effect on
/// the program's results; on targets without a prefetch hint it does nothing.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start = std::ptr::from_ref(value).cast::<i8>();
        let first = start as usize / LINE;
        let last = (start as usize + size_of::<T>().max(1) - 1) / LINE;
        for line in 0..=last - first {
            // SAFETY: a prefetch never faults and changes no state the program can observe; the
            // address lies on line `first + line`, one of the lines `value` spans.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(line * LINE)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
