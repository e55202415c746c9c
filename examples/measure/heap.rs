//! Live heap bytes and their high-water mark, for the server children's "peak heap" column.
//!
//! Peak RSS counts pages the process touched, so where the allocator happened to place a
//! connection's small allocations between hyper's large buffers moves it by a page here and
//! there; the heap's high-water mark counts the bytes the program asked for, which a run repeats
//! closely. Counting is switched on only in `child-http`, before it allocates anything of its
//! own, so the timing loops in the parent pay nothing but a relaxed load per allocation. Python
//! has `tracemalloc` for the same question; tokio leaves it to the allocator (jemalloc's
//! statistics, dhat). Only sizes are counted: no call sites, no histogram.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};

/// The system allocator, counting while [`ON`] is set.
pub struct Counting;

/// Count from now on (set once, at the start of a server child).
pub static ON: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed since counting started (memory allocated before then
/// and freed after makes it start slightly below zero).
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// The highest `LIVE` seen.
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(bytes: usize) {
    if ON.load(Relaxed) {
        let now = LIVE.fetch_add(bytes as isize, Relaxed) + bytes as isize;
        PEAK.fetch_max(now, Relaxed);
    }
}

fn shrank(bytes: usize) {
    if ON.load(Relaxed) {
        LIVE.fetch_sub(bytes as isize, Relaxed);
    }
}

/// The high-water mark of live heap bytes since counting started, in KiB.
pub fn peak_kib() -> u64 {
    (PEAK.load(Relaxed).max(0) / 1024) as u64
}

// SAFETY: every call is forwarded unchanged to `System`; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            grew(new_size);
            shrank(layout.size());
        }
        new
    }
}
