//! The drivers: the parts of the loop that talk to the operating system and to other threads.
//!
//! - [`reactor`]: epoll through mio, which sockets are ready, and the wakers waiting on each.
//! - [`timers`]: every pending deadline, in order, and the timer entry a sleep keeps.
//! - [`inbox`]: wakes from other threads, and the eventfd that interrupts `epoll_wait`.
//! - [`blocking`]: the helper threads of `spawn_blocking`.
//! - `uring` (with the `uring` feature): the completion driver, io_uring, which the same loop
//!   waits on instead of epoll when the runtime is built with `Builder::io_uring(true)`. The one
//!   module of the crate where `unsafe` is allowed.
//!
//! A driver knows wakers, not tasks: it wakes whatever waker it was given and never names the
//! runtime's core, the task table or the context. Each keeps its own state (the core holds an
//! `Rc<Reactor>` and an `Rc<RefCell<Timers>>`), and what a task waits for is noted by the leaf
//! future that called the driver (`net`, `time`), not by the driver. tokio's I/O and time drivers
//! are built the same way (its I/O driver never calls the scheduler), and so is async-io's
//! reactor, which knows nothing of executors.

pub(crate) mod blocking;
pub(crate) mod inbox;
pub(crate) mod reactor;
pub(crate) mod timers;
#[cfg(feature = "uring")]
#[allow(unsafe_code)]
pub(crate) mod uring;
