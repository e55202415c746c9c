//! The pool of buffers a ring's reads take from: a *provided buffer ring*.
//!
//! A read that owns its buffer holds it for as long as it waits. With a provided buffer ring
//! (Linux 5.19) the program hands the kernel a set of buffers once, a read names the pool
//! instead of a buffer, and the kernel picks a free one only when the data arrives; the
//! completion says which. The reader gets a [`PoolBuf`] and gives the buffer back by dropping
//! it. tokio-uring and monoio offer the same; glommio keeps pools of its own; asyncio has no
//! counterpart (its reads return fresh `bytes`). A read that finds the pool empty completes with
//! `ENOBUFS`, and the data waits in the socket (the caller waits for a buffer to come back).
//!
//! This is part of the completion driver, the one module where `unsafe` is allowed: the kernel
//! reads the ring of entries and writes the buffers, and every block says why the memory stays
//! valid and unaliased. Left out: several pools (of several sizes), incremental consumption of
//! one buffer by several reads (`IOU_PBUF_RING_INC`), and growing the pool on demand.

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::Waker;

use io_uring::IoUring;

use super::Uring;

/// How many buffers the ring's pool holds (a power of two, at most 32,768): a read from the pool
/// holds no buffer while it waits, so the pool need only cover the reads whose data arrives
/// between two turns of the loop, not every read in flight.
pub(super) const POOL_BUFFERS: u16 = 1024;

/// The size of each buffer of the pool, the readiness fetch's `READ_BUF`.
pub const POOL_BUF_SIZE: usize = 4 * 1024;

/// The buffer group the pool registers as (a ring may have several; we use one).
pub(super) const POOL_GROUP: u16 = 0;

// ANCHOR: pool
/// A pool of buffers the kernel picks from only when a read's data arrives (a *provided buffer
/// ring*, Linux 5.19): a read waiting for data holds no memory, and a buffer goes back to the
/// pool as soon as its reader drops it. tokio-uring and monoio offer the same; glommio keeps
/// its own pools.
///
/// Two regions: `memory`, the buffers themselves, and `ring`, a ring of entries shared with the
/// kernel, each naming one free buffer (address, length, id). We append the id of a free buffer
/// at the ring's tail; the kernel takes entries from the head as data arrives and names the
/// buffer it filled in the completion (`IORING_CQE_F_BUFFER`, the id in the flags' upper half).
pub(super) struct Pool {
    /// The entries shared with the kernel: `POOL_BUFFERS` of them, page-aligned as the kernel
    /// requires. Entry 0's last field doubles as the ring's tail, which only we write.
    ring: NonNull<RingEntry>,
    /// The buffers: `POOL_BUFFERS * POOL_BUF_SIZE` bytes, never read by us except the part of
    /// one buffer a completion says the kernel filled and handed back.
    memory: NonNull<u8>,
    /// Our count of entries appended so far (wrapping), the value the shared tail is set to.
    tail: Cell<u16>,
    /// Buffers out of the kernel's hands: picked by a reaped completion and not returned yet.
    pub(super) out: Cell<u16>,
    /// Tasks whose read found the pool empty, woken when a buffer comes back.
    pub(super) waiters: RefCell<Vec<Waker>>,
}

/// One entry of the ring, in the kernel's layout (`struct io_uring_buf`).
#[repr(C)]
struct RingEntry {
    /// The buffer's address.
    addr: u64,
    /// Its length.
    len: u32,
    /// Its id, which the completion names.
    bid: u16,
    /// Unused, except in entry 0, where it is the ring's tail.
    tail: u16,
}

impl Pool {
    /// The layout of the ring of entries.
    fn ring_layout() -> Layout {
        Layout::from_size_align(usize::from(POOL_BUFFERS) * size_of::<RingEntry>(), 4096)
            .expect("a valid layout")
    }

    /// The layout of the buffers.
    fn memory_layout() -> Layout {
        Layout::from_size_align(usize::from(POOL_BUFFERS) * POOL_BUF_SIZE, 4096)
            .expect("a valid layout")
    }

    /// Allocate the pool, register it with `ring` and hand the kernel every buffer; `None` if
    /// the kernel has no provided buffer rings (the reads then bring their own buffers).
    pub(super) fn register(ring: &IoUring) -> Option<Pool> {
        const { assert!(size_of::<RingEntry>() == 16 && POOL_BUFFERS.is_power_of_two()) };
        // SAFETY: both layouts have a non-zero size.
        let (ring_memory, memory) = unsafe {
            (
                std::alloc::alloc_zeroed(Self::ring_layout()),
                std::alloc::alloc(Self::memory_layout()),
            )
        };
        let (Some(ring_entries), Some(memory)) = (
            NonNull::new(ring_memory.cast::<RingEntry>()),
            NonNull::new(memory),
        ) else {
            std::alloc::handle_alloc_error(Self::memory_layout());
        };
        let pool = Pool {
            ring: ring_entries,
            memory,
            tail: Cell::new(0),
            out: Cell::new(0),
            waiters: RefCell::new(Vec::new()),
        };
        // SAFETY: `ring` points at `POOL_BUFFERS` zeroed entries, page-aligned, which live in
        // `pool` until `Drop for Uring` frees them after closing the ring (or leaks them with
        // it), so the kernel's view of them stays valid as long as the ring does.
        let registered = unsafe {
            ring.submitter().register_buf_ring_with_flags(
                ring_entries.as_ptr() as u64,
                POOL_BUFFERS,
                POOL_GROUP,
                0,
            )
        };
        if registered.is_err() {
            // SAFETY: the kernel refused the ring, so it never saw either region.
            unsafe { pool.free() };
            return None;
        }
        for bid in 0..POOL_BUFFERS {
            pool.provide(bid);
        }
        Some(pool)
    }

    /// Append buffer `bid` at the ring's tail: the kernel may fill it from now on.
    pub(super) fn provide(&self, bid: u16) {
        let tail = self.tail.get();
        let index = usize::from(tail & (POOL_BUFFERS - 1));
        // SAFETY: `index` is within the ring, and the entry at it is not the kernel's: the
        // kernel reads only entries between its head and the tail we publish below, and every
        // buffer is in the ring at most once (so at most `POOL_BUFFERS` entries are published
        // and unconsumed). The fields are written through raw pointers, never a reference,
        // because entry 0's `tail` may be read by the kernel meanwhile.
        unsafe {
            let entry = self.ring.as_ptr().add(index);
            (&raw mut (*entry).addr).write(self.buffer(bid) as u64);
            (&raw mut (*entry).len).write(POOL_BUF_SIZE as u32);
            (&raw mut (*entry).bid).write(bid);
        }
        let tail = tail.wrapping_add(1);
        self.tail.set(tail);
        // SAFETY: entry 0's `tail` is a properly aligned u16 that lives as long as the pool; the
        // kernel reads it atomically, and the release store publishes the entry written above.
        unsafe { AtomicU16::from_ptr(&raw mut (*self.ring.as_ptr()).tail) }
            .store(tail, Ordering::Release);
    }

    /// The address of buffer `bid`.
    pub(super) fn buffer(&self, bid: u16) -> *mut u8 {
        assert!(bid < POOL_BUFFERS, "a pool buffer id out of range");
        // SAFETY: the offset stays within `memory`.
        unsafe { self.memory.as_ptr().add(usize::from(bid) * POOL_BUF_SIZE) }
    }

    /// Free both regions.
    ///
    /// # Safety
    /// The kernel must hold no pointer into them any more: the ring is closed, or the
    /// registration never happened.
    pub(super) unsafe fn free(&self) {
        // SAFETY: allocated in `register` with these layouts; our caller promises the rest.
        unsafe {
            std::alloc::dealloc(self.ring.as_ptr().cast(), Self::ring_layout());
            std::alloc::dealloc(self.memory.as_ptr(), Self::memory_layout());
        }
    }
}
// ANCHOR_END: pool

// ANCHOR: pool_buf
/// A buffer from the ring's pool with the bytes one read put in it; it goes back to the pool
/// when dropped. Derefs to those bytes.
pub struct PoolBuf {
    /// Where the bytes are.
    inner: Filled,
}

/// Where a [`PoolBuf`]'s bytes are.
enum Filled {
    /// In buffer `bid` of `driver`'s pool, `len` of them. The driver is held strongly: the
    /// pool's memory must outlive the buffer.
    Pool {
        /// The driver whose pool holds the buffer.
        driver: Rc<Uring>,
        /// The buffer's id in the pool.
        bid: u16,
        /// How many bytes the read put in it.
        len: usize,
    },
    /// In a buffer of its own: the ring has no pool (a kernel before 5.19), so the read brought
    /// one.
    Owned(Vec<u8>),
}
// ANCHOR_END: pool_buf

impl PoolBuf {
    /// Pool buffer `bid` of `driver`, its length not known yet.
    pub(super) fn picked(driver: &Rc<Uring>, bid: u16) -> PoolBuf {
        PoolBuf {
            inner: Filled::Pool {
                driver: Rc::clone(driver),
                bid,
                len: 0,
            },
        }
    }

    /// Bytes read into a buffer of their own.
    pub(crate) fn owned(bytes: Vec<u8>) -> PoolBuf {
        PoolBuf {
            inner: Filled::Owned(bytes),
        }
    }

    /// Set how many bytes the read put in it (the completion's result).
    pub(crate) fn filled(mut self, n: usize) -> PoolBuf {
        match &mut self.inner {
            Filled::Pool { len, .. } => *len = n.min(POOL_BUF_SIZE),
            Filled::Owned(bytes) => bytes.truncate(n),
        }
        self
    }
}

impl std::ops::Deref for PoolBuf {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.inner {
            Filled::Pool { driver, bid, len } => {
                let pool = driver.pool.as_ref().expect("a pool buffer has a pool");
                // SAFETY: the buffer is out of the kernel's hands (a completion handed it to
                // us, and it is appended to the ring again only when this value is dropped),
                // and the kernel wrote its first `len` bytes before posting that completion,
                // which the completion queue's acquire load ordered before this read.
                unsafe { std::slice::from_raw_parts(pool.buffer(*bid), *len) }
            }
            Filled::Owned(bytes) => bytes,
        }
    }
}

impl fmt::Debug for PoolBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (bid, len) = match &self.inner {
            Filled::Pool { bid, len, .. } => (Some(*bid), *len),
            Filled::Owned(bytes) => (None, bytes.len()),
        };
        f.debug_struct("PoolBuf")
            .field("bid", &bid)
            .field("len", &len)
            .finish()
    }
}

impl Drop for PoolBuf {
    fn drop(&mut self) {
        if let Filled::Pool { driver, bid, .. } = &self.inner {
            driver.give_back(Some(*bid));
        }
    }
}
