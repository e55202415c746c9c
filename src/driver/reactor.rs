//! The reactor: the part of the loop that asks the operating system which sockets are ready.
//!
//! A task that would block on a socket (nothing to read yet, send buffer full, connection still
//! being made) parks in the waiting list, and the reactor remembers its waker in the socket's
//! registration. When the loop has nothing else to do, it calls `epoll_wait` (through `mio::Poll`):
//! the kernel answers with the sockets that became ready, and the reactor wakes exactly the tasks
//! waiting on them. That is how the loop learns *which* waiting tasks can go on without asking each
//! one. asyncio's counterpart is the `selectors` module inside `BaseSelectorEventLoop`
//! (`_process_events` → `_add_callback`); tokio's is its I/O driver.
//!
//! Registrations live in a [`Slab`]; a socket's `mio::Token` is its slab key **plus a generation**.
//! Each registration remembers, per direction (read, write), whether the socket is known to be
//! ready and which tasks wait on it (all of them: several tasks may share a listener).
//!
//! **Edge-triggered rules.** mio registers sockets edge-triggered: epoll reports a socket when it
//! *becomes* ready, not while it *is* ready. So: a ready bit, once set by an event, stays set while
//! operations succeed; it is cleared only when an operation returns `WouldBlock` (or reads or writes
//! less than asked, which on Linux means the buffer was emptied or filled); the next edge sets it
//! again. Spurious events only set a bit that the next `WouldBlock` clears.
//!
//! **Stale events.** A slab key is reused as soon as a socket is dropped. An event for the old
//! socket can still arrive (the kernel keeps the epoll entry alive while any duplicate of the file
//! descriptor is open, e.g. in a child process between `fork` and `exec`). The generation in the
//! token tells the old owner from the new one; a mismatch is counted and ignored.
//!
//! **Dropping a socket does not call `epoll_ctl(DEL)`.** Closing the last descriptor of a socket
//! removes it from every epoll set, so we free the slab slot and let `close` do the rest: two system
//! calls per connection for its epoll life (`epoll_ctl(ADD)`, `close`) instead of three with an
//! explicit `epoll_ctl(DEL)`. The generation guard covers the one case where `close` does not
//! remove the entry (a duplicated descriptor).
//!
//! Left out: registration of arbitrary file descriptors, priority/urgent data, Windows.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::{Interest, Token};
use slab::Slab;

pub(crate) use crate::lifecycle::Direction;

/// The token of the `mio::Waker` that other threads use to interrupt `epoll_wait`.
pub(crate) const WAKER_TOKEN: Token = Token(usize::MAX);

// ANCHOR: direction
/// The bits of [`IoSlot::ready`] for one [`Direction`]: "ready" and "closed".
trait Bits {
    /// The bit that says the socket is ready in this direction.
    fn ready_bit(self) -> u8;
    /// The sticky bit that says this direction is closed.
    fn closed_bit(self) -> u8;
}

impl Bits for Direction {
    fn ready_bit(self) -> u8 {
        match self {
            Direction::Read => 0b01,
            Direction::Write => 0b10,
        }
    }

    /// The sticky bit that says this direction is closed (hang-up or error): kept until an
    /// operation says otherwise by returning `WouldBlock`.
    ///
    /// Why it must be separate: data and the peer's FIN often arrive before one `epoll_wait`,
    /// giving a single edge. A short read then clears the ready bit, and no edge will ever come
    /// again for the FIN; the closed bit keeps the socket readable so the next read returns 0.
    fn closed_bit(self) -> u8 {
        self.ready_bit() << 2
    }
}
// ANCHOR_END: direction

// ANCHOR: io_slot
/// What the reactor knows about one registered socket.
pub(crate) struct IoSlot {
    /// Which registration occupies this slot; part of the token. Compared on every event.
    generation: u32,
    /// Ready bits: per [`Direction`], "ready" (set by events, cleared by a short read or write
    /// and by `WouldBlock`) and "closed" (set by hang-ups and errors, cleared only by
    /// `WouldBlock`, which a closed socket never returns). Starts at 0: epoll reports the
    /// current state of a socket when it is added, so nothing is missed.
    ready: u8,
    /// The tasks waiting to read (or accept), all woken when a read event arrives.
    readers: Waiters,
    /// The tasks waiting to write (or for the connection), all woken when a write event arrives.
    writers: Waiters,
}

// ANCHOR: waiters
/// The wakers of every task waiting on one direction of one socket.
///
/// Several tasks may wait on the same direction: tasks sharing a `&TcpListener`, each parked in
/// `accept`. Keeping only the latest waker would strand the others, so every distinct waker is
/// kept (two wakers that `will_wake` the same task count once) and the next event wakes them
/// all; each task then retries, and those that find nothing park again. A waker whose future was
/// dropped in the meantime (a `timeout` gave up) stays until that event and costs its task one
/// spurious poll. tokio and async-io instead give each waiting future its own entry and remove
/// it when the future is dropped; that needs an intrusive list (or a slab key held by the
/// future), more than this teaching runtime wants. The common case, one waiter, allocates
/// nothing, and the rare case pays for its list in a box of its own, so that every socket's slot
/// stays small: a server holds one slot per connection.
#[derive(Default)]
struct Waiters {
    /// The first waiter.
    first: Option<Waker>,
    /// Any others, in the order they parked; `None` until a second task parks. Boxed so that it
    /// takes one pointer in every slot rather than a `Vec`'s three words.
    #[allow(
        clippy::box_collection,
        reason = "a thin pointer keeps every socket's slot small"
    )]
    others: Option<Box<Vec<Waker>>>,
}

impl Waiters {
    /// Remember `waker`, unless a waker that wakes the same task is here already.
    fn add(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(first) if first.will_wake(waker) => {}
            Some(_) => {
                let others = self.others.get_or_insert_default();
                if !others.iter().any(|w| w.will_wake(waker)) {
                    others.push(waker.clone());
                }
            }
        }
    }

    /// Move every waker into `out`.
    fn take_all(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.first.take());
        if let Some(mut others) = self.others.take() {
            out.append(&mut others);
        }
    }
}
// ANCHOR_END: waiters
// ANCHOR_END: io_slot

/// The I/O half of the loop: the `mio::Poll` and what every registered socket waits for.
pub(crate) struct Reactor {
    /// The epoll instance. Borrowed mutably only by [`Reactor::poll`] (epoll_wait) and
    /// registration.
    poll: RefCell<mio::Poll>,
    /// Reused buffer for the events one `epoll_wait` returns.
    events: RefCell<mio::Events>,
    /// Registered sockets by slab key. Written by registrations (on behalf of their tasks) and
    /// by `poll` (on behalf of the kernel).
    sources: RefCell<Slab<IoSlot>>,
    /// Generation for the next registration (wrapping; a collision needs 2³² registrations of the
    /// same slot while an old event is in flight).
    next_generation: Cell<u32>,
    /// Reused buffer for the wakers one `poll` collects, woken after every borrow is released.
    to_wake: RefCell<Vec<Waker>>,
    /// Counters for `Stats`: events received, events dropped as stale, epoll_wait calls.
    pub(crate) counters: Cell<IoCounters>,
}

/// Counters the reactor keeps for [`crate::Stats`].
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct IoCounters {
    /// Socket events received from epoll.
    pub(crate) events: u64,
    /// Events for a token whose slot now belongs to another registration (ignored).
    pub(crate) stale_events: u64,
    /// Calls to `epoll_wait` (blocking or not).
    pub(crate) polls: u64,
}

/// What one call to [`Reactor::poll`] saw.
pub(crate) struct PollOutcome {
    /// The cross-thread waker's eventfd fired.
    pub(crate) remote_wake: bool,
}

impl Reactor {
    /// A new epoll instance with room for `capacity` events per `epoll_wait`.
    ///
    /// # Errors
    /// If the kernel refuses an epoll instance (out of file descriptors).
    pub(crate) fn new(capacity: usize) -> io::Result<Self> {
        Ok(Reactor {
            poll: RefCell::new(mio::Poll::new()?),
            events: RefCell::new(mio::Events::with_capacity(capacity)),
            sources: RefCell::new(Slab::new()),
            next_generation: Cell::new(0),
            to_wake: RefCell::new(Vec::new()),
            counters: Cell::new(IoCounters::default()),
        })
    }

    /// Create the `mio::Waker` other threads use to interrupt `epoll_wait` (an eventfd in the
    /// same epoll set, under [`WAKER_TOKEN`]).
    pub(crate) fn new_waker(&self) -> io::Result<mio::Waker> {
        mio::Waker::new(self.poll.borrow().registry(), WAKER_TOKEN)
    }

    /// The epoll descriptor, for the completion driver to poll through its ring.
    #[cfg(feature = "uring")]
    pub(crate) fn epoll_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.poll.borrow().as_raw_fd()
    }

    /// How many sockets are registered now.
    pub(crate) fn len(&self) -> usize {
        self.sources.borrow().len()
    }

    /// Wait for events (at most `timeout`; `Some(ZERO)` only checks), record readiness and wake
    /// the tasks waiting on ready sockets.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> io::Result<PollOutcome> {
        let mut outcome = PollOutcome { remote_wake: false };
        let mut to_wake = std::mem::take(&mut *self.to_wake.borrow_mut());
        {
            let mut events = self.events.borrow_mut();
            let mut counters = self.counters.get();
            counters.polls += 1;
            match self.poll.borrow_mut().poll(&mut events, timeout) {
                Ok(()) => {}
                // A signal interrupted the wait: nothing happened, the loop will come back.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            // ANCHOR: dispatch
            let mut sources = self.sources.borrow_mut();
            for event in events.iter() {
                if event.token() == WAKER_TOKEN {
                    outcome.remote_wake = true;
                    continue;
                }
                counters.events += 1;
                let (key, generation) = split_token(event.token());
                let Some(slot) = sources.get_mut(key).filter(|s| s.generation == generation) else {
                    counters.stale_events += 1;
                    continue;
                };
                // A hang-up or an error sets a "closed" bit that a short read does not clear, so
                // the next operation runs and reports it (end of stream, reset, refused).
                if event.is_read_closed() || event.is_error() {
                    slot.ready |= Direction::Read.closed_bit();
                }
                if event.is_write_closed() || event.is_error() {
                    slot.ready |= Direction::Write.closed_bit();
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    slot.ready |= Direction::Read.ready_bit();
                    slot.readers.take_all(&mut to_wake);
                }
                if event.is_writable() || event.is_write_closed() || event.is_error() {
                    slot.ready |= Direction::Write.ready_bit();
                    slot.writers.take_all(&mut to_wake);
                }
            }
            self.counters.set(counters);
            // ANCHOR_END: dispatch
        }
        // Wake outside every borrow: a waker may be anyone's, and may call back into us.
        for waker in to_wake.drain(..) {
            waker.wake();
        }
        *self.to_wake.borrow_mut() = to_wake;
        Ok(outcome)
    }
}

// ANCHOR: tokens
/// Pack a slab key and a generation into one token.
fn make_token(key: usize, generation: u32) -> Token {
    assert!(key < (1 << 32), "more than 2^32 sockets registered");
    Token(((generation as usize) << 32) | key)
}

/// Unpack a token into slab key and generation.
fn split_token(token: Token) -> (usize, u32) {
    (token.0 & 0xffff_ffff, (token.0 >> 32) as u32)
}
// ANCHOR_END: tokens

/// One socket's registration with the reactor, owned by the socket (`TcpStream`, `TcpListener`).
/// Dropping it frees the slot; the socket's own drop closes the descriptor.
pub(crate) struct Registration {
    /// The reactor that holds the slot, to free it on drop. Weak: a socket must not keep its
    /// runtime's epoll instance open after the runtime is gone. The other methods are handed the
    /// reactor by the socket, which reaches it through its runtime once per operation.
    reactor: Weak<Reactor>,
    /// The slot in the reactor's slab.
    key: usize,
    /// The slot's generation when we took it.
    generation: u32,
}

impl Registration {
    // ANCHOR: registration_new
    /// Register `source` for reading and writing, edge-triggered, with `reactor`.
    pub(crate) fn new(
        reactor: &Rc<Reactor>,
        source: &mut impl mio::event::Source,
    ) -> io::Result<Self> {
        let generation = reactor.next_generation.get();
        reactor.next_generation.set(generation.wrapping_add(1));
        let key = reactor.sources.borrow_mut().insert(IoSlot {
            generation,
            ready: 0,
            readers: Waiters::default(),
            writers: Waiters::default(),
        });
        let token = make_token(key, generation);
        let registered = reactor.poll.borrow().registry().register(
            source,
            token,
            Interest::READABLE | Interest::WRITABLE,
        );
        if let Err(e) = registered {
            reactor.sources.borrow_mut().remove(key);
            return Err(e);
        }
        Ok(Registration {
            reactor: Rc::downgrade(reactor),
            key,
            generation,
        })
    }
    // ANCHOR_END: registration_new

    /// The token epoll reports this socket under.
    pub(crate) fn token(&self) -> usize {
        make_token(self.key, self.generation).0
    }

    // ANCHOR: poll_ready
    /// `Ready` if the socket is known to be ready in `dir`; otherwise add the task's waker to the
    /// direction's waiters and return `Pending`. (What the task now waits for is the caller's to
    /// note: the reactor knows wakers, not tasks.)
    pub(crate) fn poll_ready(
        &self,
        reactor: &Reactor,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<()>> {
        debug_assert!(
            self.belongs_to(reactor),
            "a registration polled on another reactor"
        );
        let mut sources = reactor.sources.borrow_mut();
        let slot = &mut sources[self.key];
        if slot.ready & (dir.ready_bit() | dir.closed_bit()) != 0 {
            return Poll::Ready(Ok(()));
        }
        let waiters = match dir {
            Direction::Read => &mut slot.readers,
            Direction::Write => &mut slot.writers,
        };
        waiters.add(cx.waker());
        Poll::Pending
    }
    // ANCHOR_END: poll_ready

    /// A short read or write emptied or filled the socket's buffer: forget the readiness until
    /// the next edge, but keep a "closed" bit (the end of stream or error is still to be read).
    pub(crate) fn clear_ready(&self, reactor: &Reactor, dir: Direction) {
        self.clear_bits(reactor, dir.ready_bit());
    }

    /// The operation in `dir` returned `WouldBlock`: the kernel says the socket is neither ready
    /// nor closed in that direction, so clear both bits (a stale "closed" bit must not make
    /// `poll_io` retry forever).
    fn clear_would_block(&self, reactor: &Reactor, dir: Direction) {
        self.clear_bits(reactor, dir.ready_bit() | dir.closed_bit());
    }

    fn clear_bits(&self, reactor: &Reactor, bits: u8) {
        if let Some(slot) = reactor.sources.borrow_mut().get_mut(self.key) {
            slot.ready &= !bits;
        }
    }

    /// Whether `reactor` is the one this registration's slot is in (for debug assertions).
    fn belongs_to(&self, reactor: &Reactor) -> bool {
        std::ptr::eq(self.reactor.as_ptr(), reactor)
    }

    // ANCHOR: poll_io
    /// Run `op` when the socket is ready in `dir`, retrying until it stops returning
    /// `WouldBlock`; a `WouldBlock` clears readiness and parks the task.
    pub(crate) fn poll_io<R>(
        &self,
        reactor: &Reactor,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match self.poll_ready(reactor, cx, dir) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.clear_would_block(reactor, dir)
                }
                result => return Poll::Ready(result),
            }
        }
    }
    // ANCHOR_END: poll_io
}

// ANCHOR: drop_registration
impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(reactor) = self.reactor.upgrade() {
            let removed = {
                let mut sources = reactor.sources.borrow_mut();
                match sources.get(self.key) {
                    Some(slot) if slot.generation == self.generation => {
                        Some(sources.remove(self.key))
                    }
                    _ => None,
                }
            };
            // The slot's wakers are dropped here, outside the borrow.
            drop(removed);
        }
    }
}
// ANCHOR_END: drop_registration

/// The error a socket gives when its runtime has been dropped.
pub(crate) fn runtime_gone() -> io::Error {
    io::Error::other(
        "the taketurns runtime this socket was registered with has been dropped; \
         create sockets inside the runtime that uses them",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server keeps one slot per connection, so the slot's size is memory per connection: two
    /// directions of one inline waker and one thin pointer, a generation and the ready bits.
    #[test]
    fn a_socket_slot_stays_small() {
        let waiters = std::mem::size_of::<Option<Waker>>() + std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<Waiters>(), waiters);
        assert!(std::mem::size_of::<IoSlot>() <= 2 * waiters + std::mem::size_of::<u64>());
    }
}
