//! The completion driver: io_uring, where the loop hands the kernel whole operations and is told
//! when each one has *completed*.
//!
//! The reactor (`reactor.rs`) asks epoll which sockets *can* be read, and then the task reads.
//! This driver turns that around: a task's read is written, with its buffer, as an entry in a
//! **submission queue** shared with the kernel; the kernel does the read when data arrives and
//! writes the outcome (bytes read, or an error) as an entry in a **completion queue**, also
//! shared. One `io_uring_enter` system call hands over every entry queued since the last one and,
//! when the loop has nothing to run, waits for the first completion, with the nearest timer as
//! its timeout. The loop on top does not change: each completion wakes the task that waits for
//! it, which moves from the waiting list to the ready queue. asyncio has no completion loop on
//! Linux (its `ProactorEventLoop` is the same idea on Windows' IOCP); tokio-uring, monoio and
//! glommio are built on io_uring.
//!
//! **Who owns the buffer.** From the moment an entry points at a buffer until its completion is
//! reaped, the kernel may write into that memory at any time. So the buffer must not be freed,
//! moved or reused meanwhile, even if the future that asked for the read is dropped (a timeout
//! gave up on it). That is why an operation *owns* its buffer: [`Uring`] keeps each operation's
//! resources (the buffer, the socket's descriptor, the address) in a slot of its own, from the
//! submission until the completion, and hands them back with the result. A future dropped
//! mid-read leaves them there, sends the kernel a cancel, and the slot drops them when the
//! completion (of the read, or of its cancellation) arrives. Safe Rust's `AsyncRead`, which
//! borrows the caller's buffer for one poll, cannot promise that, and the io-uring crate's
//! `push` is `unsafe` for the same reason: the compiler cannot see the kernel.
//!
//! **Unsafe code lives here and nowhere else.** The crate allows `unsafe` in this one module (and
//! only with the `uring` feature); every block says, in a `// SAFETY:` comment, why the memory it
//! hands the kernel stays valid until the kernel is done with it.
//!
//! **Remote wakes and epoll sockets.** The inbox's eventfd sits in the reactor's epoll set, so
//! the driver keeps one poll operation on the epoll descriptor itself: when anything in the epoll
//! set turns ready (another thread's wake, or a readiness socket of `taketurns::net` used on this
//! runtime), that poll completes, the loop asks epoll without blocking, and the poll is queued
//! again. The readiness reactor runs *inside* the completion driver as one more operation.
//!
//! **A pool of buffers.** A read that owns its buffer holds it for as long as it waits, so ten
//! thousand waiting reads hold ten thousand buffers. The driver also registers a [`Pool`] with
//! the kernel (a *provided buffer ring*): a read from the pool names no buffer, and the kernel
//! picks a free one only when the data arrives; the reader gives it back by dropping it.
//!
//! **A chain.** [`Uring::connect_and_send`] links a send to its connect (`IO_LINK`): the kernel
//! starts the send the moment the connect completes, without the loop in between.
//!
//! Left out: registered buffers and descriptors, multishot operations, other chains and linked
//! timeouts, `SQPOLL` (a kernel thread that polls the submission queue so the program makes no
//! system call at all), and files.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use io_uring::{IoUring, cqueue, opcode, squeue, types};
use slab::Slab;

mod pool;

pub use pool::{POOL_BUF_SIZE, PoolBuf};
use pool::{POOL_BUFFERS, POOL_GROUP, Pool};

/// The environment variable that switches io_uring off (`TAKETURNS_IO_URING=off`): creating a
/// runtime with `Builder::io_uring(true)` then fails exactly as on a kernel without io_uring, so
/// the fallback and the message can be tried on any machine.
pub const SWITCH: &str = "TAKETURNS_IO_URING";

/// Submission queue entries: how many operations can be queued between two `io_uring_enter`s
/// before a push must enter the kernel to make room. The loop enters at least every
/// `event_interval` polls, so a few hundred would do; a full queue is handled, not an error.
const SQ_ENTRIES: u32 = 1024;

/// Completion queue entries. Every operation in flight can complete while the loop sleeps, and a
/// completion that finds the queue full waits in the kernel's overflow list (one more system call
/// to fetch it), so the queue is sized for ten thousand fetches in flight: 16 bytes an entry.
const CQ_ENTRIES: u32 = 16 * 1024;

/// The `user_data` of the poll on the reactor's epoll descriptor.
const EPOLL_TOKEN: u64 = u64::MAX;
/// The `user_data` of every cancel entry: their own completions carry nothing we need.
const CANCEL_TOKEN: u64 = u64::MAX - 1;

// ANCHOR: buffers
/// Memory a write may hand the kernel to *read* from: owned, so that the operation can keep it
/// until the kernel says it is done (`Vec<u8>`, `Box<[u8]>`, `String`, `Rc<[u8]>`, `&'static`
/// slices).
pub trait IoBuf: 'static {
    /// The bytes to send.
    fn bytes(&self) -> &[u8];
}

/// Memory a read may hand the kernel to *write* into: owned, for the same reason. The read fills
/// [`IoBufMut::bytes_mut`] from its start, as `std::io::Read::read` fills a `&mut [u8]`: a
/// `vec![0; 4096]` takes up to 4,096 bytes.
pub trait IoBufMut: 'static {
    /// The space to fill.
    fn bytes_mut(&mut self) -> &mut [u8];
}
// ANCHOR_END: buffers

impl IoBuf for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl IoBuf for Box<[u8]> {
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl IoBuf for String {
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl IoBuf for Rc<[u8]> {
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl IoBuf for &'static [u8] {
    fn bytes(&self) -> &[u8] {
        self
    }
}

impl IoBuf for &'static str {
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl IoBufMut for Vec<u8> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl IoBufMut for Box<[u8]> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

/// The driver's counters, for `taketurns::uring::stats` and `Runtime::ring_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    /// `io_uring_enter` system calls (to submit, to wait, or both).
    pub enters: u64,
    /// Entries the kernel took: operations, their cancels, and the poll on the epoll descriptor.
    pub submitted: u64,
    /// Completions reaped.
    pub completions: u64,
    /// Operations submitted whose completion has not arrived yet.
    pub in_flight: u64,
    /// Of those, operations whose future was dropped: the driver holds their buffers until the
    /// kernel is done with them.
    pub held: u64,
    /// Cancels sent for dropped futures.
    pub cancels: u64,
    /// Reads from the pool that found it empty (`ENOBUFS`) and waited for a buffer to come back.
    pub pool_empty: u64,
    /// Pool buffers out of the kernel's hands now: filled by a read and not dropped yet.
    pub pool_out: u64,
    /// The pool's size in buffers; 0 on a kernel without provided buffer rings.
    pub pool_buffers: u64,
}

impl RingStats {
    /// Entries handed to the kernel per `io_uring_enter` (0 before the first).
    pub fn submitted_per_enter(&self) -> f64 {
        if self.enters == 0 {
            0.0
        } else {
            self.submitted as f64 / self.enters as f64
        }
    }
}

/// Where one operation is.
enum OpState {
    /// Submitted (or queued); the waker of the task to wake when it completes, once polled.
    Waiting(Option<Waker>),
    /// Completed with this result (`cqe.res`: a count, or minus an errno), not yet taken, and
    /// the pool buffer the kernel filled, if it picked one.
    Done(i32, Option<u16>),
    /// Its future was dropped before the completion: the slot keeps the resources until then.
    Orphaned,
}

// ANCHOR: op_slot
/// One operation the kernel may still be working on.
struct OpSlot {
    /// Which operation occupies the slot; part of `user_data`, so that a cancel aimed at an
    /// operation that completed can never hit the next one in the same slot.
    generation: u32,
    /// Waiting, done or orphaned.
    state: OpState,
    /// What the kernel reads or writes (the buffer, the address) and the descriptor it works on,
    /// boxed so that it never moves while the slot lives. Owned here from the submission until
    /// the completion is reaped; the future gets it back with the result.
    held: Box<dyn Any>,
}
// ANCHOR_END: op_slot

/// What one [`Uring::poll`] saw.
#[derive(Default)]
pub(crate) struct RingOutcome {
    /// Completions reaped for operations (not counting cancels and the epoll poll).
    pub(crate) completions: usize,
    /// The poll on the reactor's epoll descriptor completed: something in the epoll set (the
    /// eventfd of remote wakes, a readiness socket) is ready. The caller asks epoll, then calls
    /// [`Uring::rearm_epoll`].
    pub(crate) epoll_ready: bool,
}

// ANCHOR: uring
/// The completion half of a runtime built with `Builder::io_uring(true)`: the ring, and every
/// operation the kernel may still be working on.
pub(crate) struct Uring {
    /// The ring: the submission and completion queues shared with the kernel. `ManuallyDrop`
    /// so that `Drop for Uring` can leave it open (leak it) if the kernel never finishes an
    /// operation, rather than free memory the kernel may still write.
    ring: RefCell<ManuallyDrop<IoUring>>,
    /// In-flight operations by slot key. Written by the futures (submit, poll, drop) and by
    /// [`Uring::poll`] (completions).
    ops: RefCell<Slab<OpSlot>>,
    /// The generation for the next operation (wrapping).
    next_generation: Cell<u32>,
    /// The reactor's epoll descriptor, polled through the ring (see the module doc).
    epoll_fd: RawFd,
    /// The poll on `epoll_fd` is queued or in flight.
    epoll_armed: Cell<bool>,
    /// The runtime was dropped: nothing will reap completions any more, so a future polled now
    /// finishes its operation on the spot.
    closed: Cell<bool>,
    /// Counters for [`RingStats`].
    stats: Cell<RingStats>,
    /// Reused buffer for the wakers one reap collects, woken after every borrow ends.
    to_wake: RefCell<Vec<Waker>>,
    /// The buffers the kernel picks from when a read's data arrives; `None` on a kernel without
    /// provided buffer rings (before Linux 5.19), where reads from the pool bring their own.
    pool: Option<Pool>,
}
// ANCHOR_END: uring

/// The error every way of failing to set up the ring turns into: what happened, why it may have,
/// and how to run the same program on epoll instead. `ErrorKind::Unsupported` for the cases
/// where io_uring is missing or forbidden (tests skip on that kind), `Other` otherwise.
pub(crate) fn unavailable(cause: &io::Error) -> io::Error {
    let (kind, why) = match cause.raw_os_error() {
        Some(libc::ENOSYS) => (
            io::ErrorKind::Unsupported,
            "this kernel has no io_uring (it needs Linux 5.11 or later), or a sandbox hides the \
             system call (gVisor, a seccomp filter)",
        ),
        Some(libc::EPERM) => (
            io::ErrorKind::Unsupported,
            "io_uring is forbidden here: the sysctl kernel.io_uring_disabled is set, or a \
             sandbox's seccomp filter denies it (Docker's default profile does)",
        ),
        Some(libc::ENOMEM) => (
            io::ErrorKind::Other,
            "the kernel could not lock the ring's memory: raise the locked-memory limit \
             (`ulimit -l`), which kernels before 5.12 charge rings to",
        ),
        _ => (io::ErrorKind::Other, "io_uring_setup failed"),
    };
    io::Error::new(kind, format!("{why} ({cause}). {}", run_on_epoll()))
}

/// How to run without io_uring, the end of every unavailable message.
fn run_on_epoll() -> &'static str {
    "The same program runs on epoll: build the runtime without `Builder::io_uring(true)` \
     (fetch_many: `--runner event-loop` instead of `--runner uring`)"
}

/// The message prefix every unavailable error starts with.
const UNAVAILABLE: &str = "io_uring is unavailable";

/// `user_data` for slot `key` in its `generation`.
fn pack(key: usize, generation: u32) -> u64 {
    assert!(key < (1 << 32), "more than 2^32 operations in flight");
    ((generation as u64) << 32) | key as u64
}

/// The slot key and generation in `user_data`.
fn unpack(user_data: u64) -> (usize, u32) {
    ((user_data & 0xffff_ffff) as usize, (user_data >> 32) as u32)
}

/// A completion's result as an `io::Result`: a count, or minus an errno.
fn to_result(res: i32) -> io::Result<u32> {
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else {
        Ok(res as u32)
    }
}

impl Uring {
    // ANCHOR: new
    /// A ring for a runtime whose reactor waits on `epoll_fd`.
    ///
    /// # Errors
    /// io_uring is missing (`ENOSYS`), forbidden (`EPERM`), switched off by
    /// `TAKETURNS_IO_URING=off`, or too old to wait with a timeout (Linux before 5.11): an error
    /// that says which, and how to run on epoll instead.
    pub(crate) fn new(epoll_fd: RawFd) -> io::Result<Uring> {
        if std::env::var_os(SWITCH).is_some_and(|v| v == "off") {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{UNAVAILABLE}: switched off by {SWITCH}=off. {}",
                    run_on_epoll()
                ),
            ));
        }
        // One thread submits and reaps (the runtime is `!Send`), and it enters the kernel often:
        // so the kernel need not interrupt it to post completions (COOP_TASKRUN, Linux 5.19),
        // only raise a flag the loop checks (TASKRUN_FLAG), and may skip its locking for
        // several submitters (SINGLE_ISSUER, Linux 6.0). An older kernel refuses these flags
        // with EINVAL, and gets a ring without them.
        let ring = IoUring::builder()
            .setup_cqsize(CQ_ENTRIES)
            .setup_coop_taskrun()
            .setup_taskrun_flag()
            .setup_single_issuer()
            .build(SQ_ENTRIES)
            .or_else(|e| match e.raw_os_error() {
                Some(libc::EINVAL) => IoUring::builder()
                    .setup_cqsize(CQ_ENTRIES)
                    .build(SQ_ENTRIES),
                _ => Err(e),
            })
            .map_err(|e| prefixed(unavailable(&e)))?;
        if !ring.params().is_feature_ext_arg() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{UNAVAILABLE}: this kernel's io_uring cannot wait with a timeout \
                     (IORING_FEAT_EXT_ARG, Linux 5.11). {}",
                    run_on_epoll()
                ),
            ));
        }
        let pool = Pool::register(&ring);
        let uring = Uring {
            ring: RefCell::new(ManuallyDrop::new(ring)),
            ops: RefCell::new(Slab::new()),
            next_generation: Cell::new(0),
            epoll_fd,
            epoll_armed: Cell::new(false),
            closed: Cell::new(false),
            stats: Cell::new(RingStats::default()),
            to_wake: RefCell::new(Vec::new()),
            pool,
        };
        uring.rearm_epoll();
        Ok(uring)
    }
    // ANCHOR_END: new

    /// The counters so far.
    pub(crate) fn stats(&self) -> RingStats {
        let mut stats = self.stats.get();
        stats.in_flight = self.ops.borrow().len() as u64;
        if let Some(pool) = &self.pool {
            stats.pool_out = u64::from(pool.out.get());
            stats.pool_buffers = u64::from(POOL_BUFFERS);
        }
        stats
    }

    /// Update the counters.
    fn count(&self, f: impl FnOnce(&mut RingStats)) {
        let mut stats = self.stats.get();
        f(&mut stats);
        self.stats.set(stats);
    }

    /// The runtime is gone: from now on a future polled on this ring finishes its operation
    /// itself (see [`Op`]).
    pub(crate) fn close(&self) {
        self.closed.set(true);
    }

    /// Queue `entry`, entering the kernel first if the submission queue is full.
    ///
    /// # Safety
    /// Every pointer in `entry` must stay valid, and the memory it points to unused by anyone
    /// else, until the entry's completion has been reaped.
    unsafe fn push(&self, entry: &squeue::Entry) -> io::Result<()> {
        loop {
            {
                let mut ring = self.ring.borrow_mut();
                // SAFETY: our caller promises what `push` requires (see `# Safety` above).
                if unsafe { ring.submission().push(entry) }.is_ok() {
                    return Ok(());
                }
            }
            // The submission queue is full: hand it to the kernel now, and take what completed
            // (a full completion queue can make the kernel refuse new entries).
            self.enter(0, None)?;
            self.reap();
        }
    }

    // ANCHOR: enter
    /// One `io_uring_enter`: submit every queued entry, and wait until at least `want`
    /// completions are there or `timeout` passes (`None`: no limit). A timeout, a signal and a
    /// full completion queue are not errors: the caller reaps what is there and comes back.
    fn enter(&self, want: usize, timeout: Option<Duration>) -> io::Result<()> {
        let ring = self.ring.borrow();
        let submitter = ring.submitter();
        let entered = match timeout {
            None => submitter.submit_and_wait(want),
            Some(timeout) => {
                let timespec = types::Timespec::from(timeout);
                let args = types::SubmitArgs::new().timespec(&timespec);
                submitter.submit_with_args(want, &args)
            }
        };
        self.count(|s| s.enters += 1);
        match entered {
            Ok(submitted) => {
                self.count(|s| s.submitted += submitted as u64);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
    // ANCHOR_END: enter

    // ANCHOR: poll
    /// The loop's wait. `Some(ZERO)`: submit what is queued (if anything) and take the
    /// completions already there, without blocking. Otherwise submit, and block until at least
    /// one completion arrives or `timeout` passes; then take every completion and wake the tasks
    /// waiting for them.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> io::Result<RingOutcome> {
        let (queued, completed) = {
            let mut ring = self.ring.borrow_mut();
            let submission = ring.submission();
            // TASKRUN: completions are waiting in the kernel for this thread to enter and post
            // them (see `new`); an enter does that, like one that submits.
            let queued = !submission.is_empty() || submission.taskrun();
            drop(submission);
            (queued, !ring.completion().is_empty())
        };
        if timeout == Some(Duration::ZERO) || completed {
            // Nothing to wait for: completions are read from shared memory, so without entries
            // to submit there is no system call at all.
            if queued {
                self.enter(0, None)?;
            }
        } else {
            self.enter(1, timeout)?;
        }
        Ok(self.reap())
    }
    // ANCHOR_END: poll

    // ANCHOR: reap
    /// Take every completion: note each result in its slot and collect the waker waiting for it;
    /// free the slots of orphaned operations. Then drop the orphans' resources and wake the
    /// tasks, outside every borrow (a destructor or a waker may call back into the driver).
    fn reap(&self) -> RingOutcome {
        let mut outcome = RingOutcome::default();
        let mut to_wake = std::mem::take(&mut *self.to_wake.borrow_mut());
        let mut released: Vec<Box<dyn Any>> = Vec::new();
        let mut reaped = 0;
        {
            let mut ring = self.ring.borrow_mut();
            let mut ops = self.ops.borrow_mut();
            loop {
                for cqe in ring.completion() {
                    reaped += 1;
                    match cqe.user_data() {
                        EPOLL_TOKEN => {
                            self.epoll_armed.set(false);
                            outcome.epoll_ready = true;
                        }
                        CANCEL_TOKEN => {}
                        user_data => {
                            let (key, generation) = unpack(user_data);
                            let Some(slot) =
                                ops.get_mut(key).filter(|s| s.generation == generation)
                            else {
                                debug_assert!(false, "a completion for no operation");
                                continue;
                            };
                            outcome.completions += 1;
                            let picked = cqueue::buffer_select(cqe.flags());
                            if let (Some(_), Some(pool)) = (picked, &self.pool) {
                                pool.out.set(pool.out.get() + 1);
                            }
                            let done = OpState::Done(cqe.result(), picked);
                            match std::mem::replace(&mut slot.state, done) {
                                OpState::Waiting(waker) => to_wake.extend(waker),
                                OpState::Orphaned => {
                                    released.push(ops.remove(key).held);
                                    self.give_back(picked);
                                }
                                OpState::Done(..) => debug_assert!(false, "completed twice"),
                            }
                        }
                    }
                }
                // Completions that found the queue full wait in the kernel's overflow list: an
                // enter with GETEVENTS (which `submit_and_wait(0)` adds then) moves them in.
                if !ring.submission().cq_overflow() {
                    break;
                }
                let _ = ring.submitter().submit_and_wait(0);
                self.count(|s| s.enters += 1);
            }
        }
        let orphans = released.len() as u64;
        self.count(|s| {
            s.completions += reaped;
            s.held -= orphans;
        });
        drop(released);
        for waker in to_wake.drain(..) {
            waker.wake();
        }
        *self.to_wake.borrow_mut() = to_wake;
        outcome
    }
    // ANCHOR_END: reap

    /// Queue the poll on the reactor's epoll descriptor again (after it completed).
    pub(crate) fn rearm_epoll(&self) {
        if self.epoll_armed.replace(true) {
            return;
        }
        let entry = opcode::PollAdd::new(types::Fd(self.epoll_fd), libc::POLLIN as u32)
            .build()
            .user_data(EPOLL_TOKEN);
        // SAFETY: a poll entry holds no pointer into our memory, only a descriptor number.
        if let Err(e) = unsafe { self.push(&entry) } {
            self.epoll_armed.set(false);
            panic!("taketurns: cannot queue the poll on the epoll descriptor: {e}");
        }
    }

    /// Ask the kernel to cancel the operation in `key` of `generation`. Its own completion (with
    /// `-ECANCELED`, or its real result if it finished first) frees the slot.
    fn cancel(&self, key: usize, generation: u32) {
        let entry = opcode::AsyncCancel::new(pack(key, generation))
            .build()
            .user_data(CANCEL_TOKEN);
        self.count(|s| s.cancels += 1);
        // SAFETY: a cancel entry holds no pointer: it names its target by `user_data` only.
        // If it cannot be queued, the operation still completes on its own some day (or
        // `Drop for Uring` cancels it); its resources stay in the slot until then.
        let _ = unsafe { self.push(&entry) };
    }

    /// Put `held` in a new slot and queue the entry `build` makes from it.
    ///
    /// # Safety
    /// `build` gets `held` already in its final place (a box that stays in the slot until the
    /// completion is reaped); the entry it returns must point only into memory that `held` owns
    /// and that stays where it is while nobody touches `held`, or into nothing.
    unsafe fn submit<T: 'static>(
        self: &Rc<Self>,
        held: T,
        build: impl FnOnce(&mut T) -> squeue::Entry,
    ) -> Result<Op<T>, (io::Error, T)> {
        let mut held = Box::new(held);
        let entry = build(&mut held);
        let generation = self.next_generation.get();
        self.next_generation.set(generation.wrapping_add(1));
        let key = self.ops.borrow_mut().insert(OpSlot {
            generation,
            state: OpState::Waiting(None),
            held,
        });
        let entry = entry.user_data(pack(key, generation));
        // SAFETY: the entry points into `held` (our caller's promise), and `held` now sits in
        // slot `key`, which keeps it, untouched, until this entry's completion has been reaped
        // (`reap` frees an orphaned slot only then; `Op` takes `held` back only from a `Done`
        // slot; `Drop for Uring` waits for every completion, or leaks everything).
        match unsafe { self.push(&entry) } {
            Ok(()) => Ok(Op {
                driver: Rc::clone(self),
                key,
                generation,
                finished: false,
                held: PhantomData,
            }),
            Err(e) => {
                // Not queued: nobody else has seen the entry, so `held` is ours again.
                let slot = self.ops.borrow_mut().remove(key);
                Err((e, take_held(slot.held)))
            }
        }
    }

    // ANCHOR: recv
    /// Receive into `buf` on `fd`: the kernel fills `buf.bytes_mut()` from its start.
    pub(crate) fn recv<B: IoBufMut>(
        self: &Rc<Self>,
        fd: Rc<OwnedFd>,
        buf: B,
    ) -> Result<Op<Held<B>>, (io::Error, Held<B>)> {
        // SAFETY: the entry points at `held.buf.bytes_mut()`, memory the buffer owns (safe code
        // can only hand out a `&mut [u8]` into what the value owns, or into memory leaked for
        // `'static`), and `held` sits in its box, untouched, until the completion; the
        // descriptor stays open because `held.fd` is one of its owners.
        unsafe {
            self.submit(Held { fd, buf }, |held| {
                let bytes = held.buf.bytes_mut();
                let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                opcode::Recv::new(types::Fd(held.fd.as_raw_fd()), bytes.as_mut_ptr(), len).build()
            })
        }
    }
    // ANCHOR_END: recv

    /// Send `buf.bytes()[offset..]` on `fd` (without `SIGPIPE`: a closed peer is an error).
    pub(crate) fn send<B: IoBuf>(
        self: &Rc<Self>,
        fd: Rc<OwnedFd>,
        buf: B,
        offset: usize,
    ) -> Result<Op<Held<B>>, (io::Error, Held<B>)> {
        // SAFETY: as in `recv`: the entry points into `held.buf.bytes()`, which the buffer owns
        // or shares immutably (`Rc<[u8]>`, `&'static`); the kernel only reads it.
        unsafe {
            self.submit(Held { fd, buf }, |held| {
                let bytes = held.buf.bytes();
                let bytes = &bytes[offset.min(bytes.len())..];
                let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                opcode::Send::new(types::Fd(held.fd.as_raw_fd()), bytes.as_ptr(), len)
                    .flags(libc::MSG_NOSIGNAL)
                    .build()
            })
        }
    }

    /// Return pool buffer `bid` (if any) to the kernel, and wake the reads waiting for one.
    fn give_back(&self, bid: Option<u16>) {
        let (Some(bid), Some(pool)) = (bid, &self.pool) else {
            return;
        };
        pool.provide(bid);
        pool.out.set(pool.out.get() - 1);
        let waiters = std::mem::take(&mut *pool.waiters.borrow_mut());
        for waker in waiters {
            waker.wake();
        }
    }

    /// Whether this ring has a pool of provided buffers.
    pub(crate) fn has_pool(&self) -> bool {
        self.pool.is_some()
    }

    /// A read from the pool found it empty: ready once a buffer may be free again. Waiting
    /// while every buffer is out, instead of asking again at once, keeps such reads from
    /// spinning through the ring while their readers hold all the buffers.
    pub(crate) fn poll_pool_free(&self, cx: &Context<'_>) -> Poll<()> {
        let Some(pool) = &self.pool else {
            return Poll::Ready(());
        };
        if pool.out.get() < POOL_BUFFERS {
            return Poll::Ready(());
        }
        pool.waiters.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }

    /// Count a read that found the pool empty.
    pub(crate) fn note_pool_empty(&self) {
        self.count(|s| s.pool_empty += 1);
    }

    // ANCHOR: recv_pooled
    /// Receive on `fd` into whichever pool buffer is free when the data arrives.
    ///
    /// # Panics
    /// On a ring without a pool (check [`Uring::has_pool`]).
    pub(crate) fn recv_pooled(self: &Rc<Self>, fd: Rc<OwnedFd>) -> io::Result<Op<Held<()>>> {
        assert!(self.pool.is_some(), "recv_pooled on a ring without a pool");
        let held = Held { fd, buf: () };
        // SAFETY: the entry points at no memory of ours: the kernel picks a buffer from the
        // pool, whose memory lives as long as the ring (see `Pool`); the descriptor stays open
        // because `held.fd` is one of its owners.
        unsafe {
            self.submit(held, |held| {
                opcode::Recv::new(
                    types::Fd(held.fd.as_raw_fd()),
                    std::ptr::null_mut(),
                    POOL_BUF_SIZE as u32,
                )
                .buf_group(POOL_GROUP)
                .build()
                .flags(squeue::Flags::BUFFER_SELECT)
            })
        }
        .map_err(|(e, _)| e)
    }
    // ANCHOR_END: recv_pooled

    // ANCHOR: connect_and_send
    /// Connect `fd` to `addr`, then send `buf.bytes()` on it, as one chain: the send is linked
    /// to the connect (`IO_LINK`), so the kernel starts it the moment the connect completes,
    /// without a trip back to the loop in between, and cancels it (`ECANCELED`) if the connect
    /// fails.
    pub(crate) fn connect_and_send<B: IoBuf>(
        self: &Rc<Self>,
        fd: Rc<OwnedFd>,
        addr: SocketAddr,
        buf: B,
    ) -> Result<Chain<B>, (io::Error, B)> {
        // A chain must reach the kernel in one submission: make room for both entries first.
        if let Err(e) = self.reserve(2) {
            return Err((e, buf));
        }
        let connect = match self.connect_flagged(Rc::clone(&fd), addr, squeue::Flags::IO_LINK) {
            Ok(op) => op,
            Err(e) => return Err((e, buf)),
        };
        match self.send(fd, buf, 0) {
            Ok(send) => Ok((connect, send)),
            Err((e, held)) => Err((e, held.buf)),
        }
    }
    // ANCHOR_END: connect_and_send

    /// Make room for `n` entries in the submission queue, entering the kernel first if it is
    /// too full.
    fn reserve(&self, n: usize) -> io::Result<()> {
        loop {
            {
                let mut ring = self.ring.borrow_mut();
                let submission = ring.submission();
                if submission.capacity() - submission.len() >= n {
                    return Ok(());
                }
            }
            self.enter(0, None)?;
            self.reap();
        }
    }

    /// Connect `fd` to `addr`.
    pub(crate) fn connect(
        self: &Rc<Self>,
        fd: Rc<OwnedFd>,
        addr: SocketAddr,
    ) -> io::Result<Op<HeldAddr>> {
        self.connect_flagged(fd, addr, squeue::Flags::empty())
    }

    /// Connect `fd` to `addr`, with `flags` on the entry (`IO_LINK` to chain what follows).
    fn connect_flagged(
        self: &Rc<Self>,
        fd: Rc<OwnedFd>,
        addr: SocketAddr,
        flags: squeue::Flags,
    ) -> io::Result<Op<HeldAddr>> {
        let held = HeldAddr {
            fd,
            addr: socket2::SockAddr::from(addr),
        };
        // SAFETY: the entry points at `held.addr`, stored inline in the box that stays in the
        // slot until the completion; the kernel reads it (it copies it when the entry is
        // submitted, but keeping it to the completion needs no knowledge of that).
        unsafe {
            self.submit(held, |held| {
                opcode::Connect::new(
                    types::Fd(held.fd.as_raw_fd()),
                    held.addr.as_ptr().cast::<libc::sockaddr>(),
                    held.addr.len(),
                )
                .build()
                .flags(flags)
            })
        }
        .map_err(|(e, _)| e)
    }

    /// The runtime is gone and an operation's future is polled: cancel the operation and wait
    /// for its completion right here, so that its resources can be handed back.
    fn finish_here(&self, key: usize, generation: u32) {
        let done = |uring: &Uring| matches!(uring.ops.borrow()[key].state, OpState::Done(..));
        if done(self) {
            return;
        }
        self.cancel(key, generation);
        while !done(self) {
            if let Err(e) = self.enter(1, Some(Duration::from_secs(1))) {
                panic!("taketurns: io_uring_enter failed while finishing an operation: {e}");
            }
            self.reap();
        }
    }
}

impl Drop for Uring {
    /// Cancel every operation still in flight and wait for the kernel to finish each one before
    /// the buffers are freed and the ring is closed. If the kernel has not finished after a few
    /// seconds (it always does for sockets), leak the buffers and the ring instead: memory that
    /// is never freed cannot be written after it is freed.
    fn drop(&mut self) {
        let in_flight: Vec<(usize, u32)> = self
            .ops
            .get_mut()
            .iter()
            .map(|(key, slot)| (key, slot.generation))
            .collect();
        for (key, generation) in in_flight {
            self.cancel(key, generation);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while self
            .ops
            .get_mut()
            .iter()
            .any(|(_, s)| !matches!(s.state, OpState::Done(..)))
            && Instant::now() < deadline
        {
            if self.enter(1, Some(Duration::from_millis(100))).is_err() {
                break;
            }
            self.reap();
        }
        if self
            .ops
            .get_mut()
            .iter()
            .any(|(_, s)| !matches!(s.state, OpState::Done(..)))
        {
            std::mem::forget(std::mem::take(self.ops.get_mut()));
            return;
        }
        // SAFETY: every operation has completed, so the kernel holds no pointer into our memory
        // any more, and the ring is never used after this line.
        unsafe { ManuallyDrop::drop(self.ring.get_mut()) };
        if let Some(pool) = &self.pool {
            // SAFETY: the ring is closed: the kernel no longer reads the pool's entries or
            // writes its buffers. (If the ring was leaked above, so is the pool.)
            unsafe { pool.free() };
        }
    }
}

/// What a read or a write keeps alive until its completion: the buffer the kernel reads or
/// fills (none, `()`, for a read from the pool: the kernel picks a pool buffer), and the
/// socket's descriptor (so that its number cannot be reused by another socket while the entry
/// waits in the queue).
pub(crate) struct Held<B> {
    /// One owner of the socket's descriptor.
    pub(crate) fd: Rc<OwnedFd>,
    /// The buffer.
    pub(crate) buf: B,
}

/// A connect and the send linked to it (see [`Uring::connect_and_send`]).
pub(crate) type Chain<B> = (Op<HeldAddr>, Op<Held<B>>);

/// What a connect keeps alive until its completion.
pub(crate) struct HeldAddr {
    /// One owner of the socket's descriptor.
    pub(crate) fd: Rc<OwnedFd>,
    /// The address, in the kernel's layout.
    addr: socket2::SockAddr,
}

/// A slot's resources back in their type.
fn take_held<T: 'static>(held: Box<dyn Any>) -> T {
    match held.downcast::<T>() {
        Ok(held) => *held,
        Err(_) => unreachable!("an operation's slot holds what it was submitted with"),
    }
}

/// `error` with the standard prefix, for the setup path.
fn prefixed(error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{UNAVAILABLE}: {error}"))
}

// ANCHOR: op
/// One operation in flight: a future that resolves to the kernel's result and the resources the
/// operation held. Dropping it before then cancels the operation; the resources stay in the
/// driver's slot until the kernel's completion arrives.
pub(crate) struct Op<T: 'static> {
    /// The driver that holds the slot. Strong: the ring must outlive every operation on it.
    driver: Rc<Uring>,
    /// The slot's key.
    key: usize,
    /// The slot's generation.
    generation: u32,
    /// The result was taken: the slot is free, nothing to cancel.
    finished: bool,
    /// What the slot holds for us (a type, not a value: the value is in the slot).
    held: PhantomData<fn() -> T>,
}

impl<T: 'static> Op<T> {
    /// The operation's `user_data`, which names it in the waiting list.
    pub(crate) fn user_data(&self) -> u64 {
        pack(self.key, self.generation)
    }
}

/// What an operation gives back: the kernel's result, the resources it held, and the pool buffer
/// the kernel filled, if it picked one (only a read from the pool has one).
pub(crate) struct Completed<T> {
    /// A count, or the error.
    pub(crate) result: io::Result<u32>,
    /// The buffer, the descriptor, the address: what the operation owned while in flight.
    pub(crate) held: T,
    /// The pool buffer with the bytes a read from the pool received.
    pub(crate) picked: Option<PoolBuf>,
}

impl<T: 'static> Future for Op<T> {
    type Output = Completed<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(
            !this.finished,
            "an io_uring operation polled after it completed"
        );
        if this.driver.closed.get() {
            this.driver.finish_here(this.key, this.generation);
        }
        let mut ops = this.driver.ops.borrow_mut();
        let slot = &mut ops[this.key];
        match &mut slot.state {
            OpState::Done(res, picked) => {
                let (res, picked) = (*res, *picked);
                let slot = ops.remove(this.key);
                drop(ops);
                let picked = picked.map(|bid| PoolBuf::picked(&this.driver, bid));
                this.finished = true;
                let result = match to_result(res) {
                    Err(e) if this.driver.closed.get() && res == -libc::ECANCELED => {
                        Err(runtime_gone(e))
                    }
                    other => other,
                };
                Poll::Ready(Completed {
                    result,
                    held: take_held(slot.held),
                    picked,
                })
            }
            OpState::Waiting(waker) => {
                let old = match waker {
                    Some(w) if w.will_wake(cx.waker()) => None,
                    _ => waker.replace(cx.waker().clone()),
                };
                drop(ops);
                // A replaced waker is dropped outside the borrow.
                drop(old);
                Poll::Pending
            }
            OpState::Orphaned => unreachable!("a live future's slot is never orphaned"),
        }
    }
}

impl<T: 'static> Drop for Op<T> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut ops = self.driver.ops.borrow_mut();
        let state = std::mem::replace(&mut ops[self.key].state, OpState::Orphaned);
        match state {
            OpState::Done(_, picked) => {
                // Completed, never looked at: nothing is in flight, free the slot now.
                let slot = ops.remove(self.key);
                drop(ops);
                drop(slot);
                self.driver.give_back(picked);
            }
            OpState::Waiting(waker) => {
                drop(ops);
                drop(waker);
                self.driver.count(|s| s.held += 1);
                self.driver.cancel(self.key, self.generation);
            }
            OpState::Orphaned => unreachable!("a future is dropped once"),
        }
    }
}
// ANCHOR_END: op

/// The error an operation gives when its runtime was dropped before it completed.
fn runtime_gone(cause: io::Error) -> io::Error {
    io::Error::other(format!(
        "the taketurns runtime this operation was submitted on has been dropped, so the \
         operation was cancelled ({cause}); run I/O inside the runtime that submits it"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enosys_and_eperm_say_io_uring_is_missing_and_how_to_run_on_epoll() {
        for errno in [libc::ENOSYS, libc::EPERM] {
            let e = prefixed(unavailable(&io::Error::from_raw_os_error(errno)));
            let message = e.to_string();
            assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{message}");
            assert!(
                message.starts_with("io_uring is unavailable: "),
                "{message}"
            );
            assert!(message.contains("epoll"), "{message}");
            assert!(message.contains("--runner event-loop"), "{message}");
        }
        let e = unavailable(&io::Error::from_raw_os_error(libc::ENOSYS)).to_string();
        assert!(e.contains("Linux 5.11"), "{e}");
        let e = unavailable(&io::Error::from_raw_os_error(libc::EPERM)).to_string();
        assert!(e.contains("io_uring_disabled"), "{e}");
    }

    #[test]
    fn a_locked_memory_limit_is_named_and_is_not_a_missing_kernel() {
        let e = unavailable(&io::Error::from_raw_os_error(libc::ENOMEM));
        assert_eq!(e.kind(), io::ErrorKind::Other);
        assert!(e.to_string().contains("ulimit -l"), "{e}");
    }

    #[test]
    fn user_data_round_trips_and_never_hits_the_driver_s_own_tokens() {
        assert_eq!(unpack(pack(7, 3)), (7, 3));
        assert_eq!(unpack(pack(0, u32::MAX)), (0, u32::MAX));
        // The largest key the slab can hold is below 2^32 - 2, so no pack is ever a token.
        assert_ne!(pack((1 << 32) - 3, u32::MAX), CANCEL_TOKEN);
    }
}
