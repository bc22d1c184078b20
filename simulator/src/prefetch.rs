//! A hint to the processor to start loading memory that is about to be read. The event loop's
//! working set outgrows the caches on large networks, and the queue knows which events come next
//! long before they run, so their memory can be on its way while earlier events run.

/// The cache line size of the targets this is tuned for.
const LINE: usize = 64;

/// Starts loading the cache lines holding `value` without waiting for them: every line a record
/// spans, since a record that straddles lines is read in more than its first. The lines are
/// counted from the type alone, so that the hints unroll into a fixed sequence: one per line
/// from the record's start, plus its last byte when the record may straddle one more line than
/// its size needs. It has no effect on the program's results; on targets without a prefetch
/// hint it does nothing.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start = std::ptr::from_ref(value).cast::<i8>();
        let size = size_of::<T>().max(1);
        let straddles = !size.is_multiple_of(LINE) || align_of::<T>() < LINE;
        // SAFETY: a prefetch never faults and changes no state the program can observe; every
        // address lies within `value`.
        unsafe {
            for line in 0..size.div_ceil(LINE) {
                _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(line * LINE));
            }
            if straddles && size > 1 {
                _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(size - 1));
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
