//! The process's allocator: the system one, except that large blocks are placed on 2 MiB
//! boundaries, padded to whole 2 MiB pages and offered to the kernel as transparent huge pages.
//!
//! A large simulation touches its per-node arrays (protocol records, link state, counters, the
//! event queue's chunks) at random, a few cache lines per event. Those arrays span far more 4 KiB
//! pages than the TLB holds, so many such touches also miss the TLB; one 2 MiB page covers what
//! 512 small pages do. Where the kernel does not grant huge pages (`transparent_hugepage` set to
//! `never`, or no contiguous memory) the advice is ignored and the memory is ordinary. Results do
//! not depend on where memory lies.

use std::alloc::{GlobalAlloc, Layout, System};

/// The size of a huge page on x86-64 and most AArch64 kernels.
const HUGE_PAGE: usize = 2 << 20;

/// Blocks from this size up are placed on huge pages, so padding at most doubles a block.
const LARGE: usize = 1 << 20;

/// The system allocator with huge pages for large blocks.
pub struct HugePageAlloc;

/// The layout a block of `layout` really has: large blocks aligned and padded to huge pages.
fn placed(layout: Layout) -> Layout {
    if layout.size() < LARGE {
        return layout;
    }
    let size = layout.size().next_multiple_of(HUGE_PAGE);
    Layout::from_size_align(size, layout.align().max(HUGE_PAGE)).unwrap_or(layout)
}

/// Asks the kernel to back `[ptr, ptr + layout.size())` with huge pages when it is large.
#[cfg(target_os = "linux")]
fn advise(ptr: *mut u8, layout: Layout) {
    if !ptr.is_null() && layout.align() >= HUGE_PAGE {
        // SAFETY: the range is one block just allocated from the system allocator, and
        // MADV_HUGEPAGE only changes how the kernel backs it, never its contents.
        unsafe {
            libc::madvise(ptr.cast(), layout.size(), libc::MADV_HUGEPAGE);
        }
    }
}

/// Other kernels get aligned blocks without advice.
#[cfg(not(target_os = "linux"))]
fn advise(_ptr: *mut u8, _layout: Layout) {}

// SAFETY: every block is allocated and freed by `System` with the same (placed) layout, and a
// placed layout is at least as large and as aligned as the one asked for.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let placed = placed(layout);
        // SAFETY: the caller guarantees a non-zero size; `placed` keeps it non-zero.
        let ptr = unsafe { System.alloc(placed) };
        advise(ptr, placed);
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let placed = placed(layout);
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(placed) };
        advise(ptr, placed);
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` with this layout, hence by `System` with `placed`.
        unsafe { System.dealloc(ptr, placed(layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < LARGE && new_size < LARGE {
            // Small before and after: the system allocator may grow the block in place.
            // SAFETY: `ptr` came from `System` with `layout`.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let old = placed(layout);
        // SAFETY: the caller guarantees `new_size` is valid for `layout.align()`.
        let new = placed(unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) });
        if old == new {
            // Still within the same padded huge pages.
            return ptr;
        }
        // SAFETY: `new` has a non-zero size.
        let moved = unsafe { System.alloc(new) };
        if !moved.is_null() {
            advise(moved, new);
            // SAFETY: both blocks are live, distinct, and at least this long.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                System.dealloc(ptr, old);
            }
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_large_blocks_are_placed_on_huge_pages() {
        let small = Layout::from_size_align(LARGE - 1, 8).unwrap();
        assert_eq!(placed(small), small);
        let large = placed(Layout::from_size_align(LARGE, 8).unwrap());
        assert_eq!((large.size(), large.align()), (HUGE_PAGE, HUGE_PAGE));
        let larger = placed(Layout::from_size_align(HUGE_PAGE + 1, 64).unwrap());
        assert_eq!((larger.size(), larger.align()), (2 * HUGE_PAGE, HUGE_PAGE));
    }

    #[test]
    fn blocks_keep_their_contents_across_growth_between_classes() {
        // The test binary runs on this allocator too, so these go through it.
        let mut grown: Vec<u64> = (0..1000).collect();
        grown.reserve_exact(LARGE);
        grown.extend(1000..(LARGE as u64));
        assert!(grown.iter().enumerate().all(|(i, &v)| v == i as u64));
        assert_eq!(grown.as_ptr() as usize % HUGE_PAGE, 0);
        grown.truncate(10);
        grown.shrink_to_fit();
        assert_eq!(grown, (0..10).collect::<Vec<u64>>());
    }
}
