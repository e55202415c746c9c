//! A task woken a million times from another thread while the loop is busy must sit in the
//! cross-thread inbox once: memory stays flat.
//!
//! Its own test binary, because it counts every byte the process allocates (a global allocator
//! that keeps a running total), and other tests running beside it would add to the count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;

use futures::future::poll_fn;

/// The system allocator, counting the bytes live at any moment.
struct Counting;

/// Bytes allocated and not yet freed.
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed straight to the system allocator, which upholds the contract;
// the counter only adds and subtracts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn a_million_remote_wakes_of_one_task_keep_memory_flat() {
    let rt = taketurns::Runtime::new().unwrap();
    let grew = rt.block_on(async {
        let (send_waker, receive_waker) = mpsc::channel::<Waker>();
        let mut polls = 0;
        let task = taketurns::spawn(poll_fn(move |cx| {
            polls += 1;
            if polls == 2 {
                return Poll::Ready(polls);
            }
            send_waker.send(cx.waker().clone()).unwrap();
            Poll::Pending
        }));
        taketurns::yield_now().await; // the task parks and hands over its waker
        let waker = receive_waker.recv().unwrap();
        let before = LIVE.load(Ordering::Relaxed);
        // The loop is busy inside this poll while another thread wakes the task a million times.
        let peak = thread::spawn(move || {
            let mut peak = 0;
            for _ in 0..1_000_000 {
                waker.wake_by_ref();
                peak = peak.max(LIVE.load(Ordering::Relaxed));
            }
            peak
        })
        .join()
        .unwrap();
        assert_eq!(task.await.unwrap(), 2, "polled once more for all the wakes");
        peak - before
    });
    assert_eq!(rt.stats().remote_wakes, 1_000_000);
    // One inbox entry is a pointer; a million of them would be 8 MB and more.
    assert!(
        grew < 64 * 1024,
        "memory grew by {grew} bytes while one task was woken a million times"
    );
}
