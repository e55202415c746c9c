//! Sockets for the completion loop: a read hands the kernel its buffer, and gets it back with
//! the result.
//!
//! On a runtime built with [`Builder::io_uring(true)`](crate::Builder::io_uring), a
//! [`TcpStream`] of this module does not wait for its socket to be *ready* and then read: it
//! submits the read itself, with the buffer, and its task waits until the kernel says the read
//! has *completed*. Because the kernel writes into the buffer while the task waits, the read must
//! own it: `read` takes the buffer by value and returns it beside the result,
//! `(io::Result<usize>, B)`, the shape tokio-uring and monoio use. If the future is dropped before
//! the completion (a timeout gave up), the buffer stays with the driver, which asks the kernel to
//! cancel the read and frees the buffer only when the kernel answers. asyncio's counterpart is
//! Windows' `ProactorEventLoop` (`loop.sock_recv` over IOCP); on Linux asyncio only has readiness.
//!
//! The loop and its two lists do not change: a completion wakes the task that waits for it, as an
//! epoll event does. Everything else of the runtime works on such a runtime too: `spawn`, timers,
//! `spawn_blocking`, wakes from other threads, and the readiness sockets of [`crate::net`] (epoll
//! still watches them; the ring polls epoll's descriptor).
//!
//! ```
//! # if taketurns::uring::skip_without_io_uring() { return Ok(()); }
//! use taketurns::uring::TcpStream;
//! use std::io::Write;
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! std::thread::spawn(move || {
//!     let (mut peer, _) = listener.accept().unwrap();
//!     peer.write_all(b"hello").unwrap();
//! });
//! let rt = taketurns::Runtime::builder().io_uring(true).build()?;
//! let got = rt.block_on(async {
//!     let stream = TcpStream::connect(addr).await?;
//!     let (n, buf) = stream.read(vec![0u8; 64]).await; // the read owns the buffer until here
//!     std::io::Result::Ok(buf[..n?].to_vec())
//! })?;
//! assert_eq!(got, b"hello");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A read that owns its buffer holds it while it waits. [`TcpStream::read_pooled`] holds none:
//! the kernel picks a buffer from the ring's pool when the data arrives, and hands it over as a
//! [`PoolBuf`], which goes back to the pool when dropped.
//!
//! Left out: a listener (accept), UDP, files, and `AsyncRead`/`AsyncWrite` (a trait that borrows
//! the caller's buffer for one poll cannot hand it to the kernel).

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;

use std::rc::{Rc, Weak};

use socket2::{Domain, SockRef, Socket, Type};

use crate::driver::uring::{Completed, Uring};
use crate::runtime::context;
use crate::runtime::waiting::Wait;

pub use crate::driver::uring::{IoBuf, IoBufMut, POOL_BUF_SIZE, PoolBuf, RingStats, SWITCH};

/// The counters of the io_uring driver of the runtime running on this thread; `None` outside a
/// runtime or on a runtime that waits on epoll.
pub fn stats() -> Option<RingStats> {
    context::with_current(|core| core.uring().map(|ring| ring.stats())).flatten()
}

/// Whether `error` says that io_uring is unavailable here (missing, forbidden, too old or
/// switched off): the error [`Builder::build`](crate::Builder::build) returns for
/// [`Builder::io_uring(true)`](crate::Builder::io_uring) on such a machine.
pub fn is_unavailable(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::Unsupported
        && error.to_string().starts_with("io_uring is unavailable")
}

/// For examples and tests that need io_uring: `true` (after printing why to stderr) when a ring
/// cannot be created here, so that the caller can skip instead of failing. Creates one runtime
/// to find out.
///
/// # Panics
/// If creating the runtime fails for another reason (out of file descriptors, say).
pub fn skip_without_io_uring() -> bool {
    match crate::runtime::Runtime::builder().io_uring(true).build() {
        Ok(_) => false,
        Err(e) if is_unavailable(&e) => {
            eprintln!("skipped: {e}");
            true
        }
        Err(e) => panic!("taketurns: cannot create a runtime on io_uring: {e}"),
    }
}

/// The current runtime's ring, or an error that says this runtime waits on epoll.
///
/// # Panics
/// Outside a runtime.
fn current_ring(what: &str) -> io::Result<Rc<Uring>> {
    let core = context::current(what);
    core.uring().cloned().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{what} needs a runtime built with `Builder::io_uring(true)`; this one waits on \
                 epoll (use taketurns::net::TcpStream there)"
            ),
        )
    })
}

// ANCHOR: noted
/// Await `op` (an operation, or the wait for a pool buffer), noting in the waiting list what the
/// task waits for while it is pending (the driver knows wakers, not tasks; noting is the leaf
/// future's job, as in `net`).
async fn noted<F: Future>(op: F, wait: Wait) -> F::Output {
    let mut op = std::pin::pin!(op);
    poll_fn(|cx| {
        let polled = op.as_mut().poll(cx);
        if polled.is_pending() {
            context::note_wait(wait);
        }
        polled
    })
    .await
}
// ANCHOR_END: noted

/// A TCP connection whose reads and writes are io_uring operations.
///
/// Dropping it closes the socket once no operation holds it any more (an operation cancelled by
/// a dropped future keeps the descriptor open until its completion, so that the number cannot
/// go to another socket while the kernel still works on it).
pub struct TcpStream {
    /// The socket. Shared with every operation in flight on it (see the type's doc).
    fd: Rc<OwnedFd>,
    /// The driver of the runtime that connected it. Weak, as sockets of `net` hold their
    /// reactor: a socket kept in a task must not keep the runtime's ring alive.
    ring: Weak<Uring>,
}

impl TcpStream {
    // ANCHOR: connect
    /// Open a connection to `addr`: a socket made at once (a system call), then the connect as
    /// an operation on the ring. Each resolved address is tried in turn.
    ///
    /// # Errors
    /// The kernel's (`ConnectionRefused` when nothing listens there); `Unsupported` on a runtime
    /// that waits on epoll.
    ///
    /// # Panics
    /// Outside a taketurns runtime.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let ring = current_ring("taketurns::uring::TcpStream::connect")?;
        let mut last_error = None;
        for addr in addr.to_socket_addrs()? {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
            let fd = Rc::new(OwnedFd::from(socket));
            let op = ring.connect(Rc::clone(&fd), addr)?;
            let wait = Wait::Write(op.user_data());
            match noted(op, wait).await.result {
                Ok(_) => {
                    return Ok(TcpStream {
                        fd,
                        ring: Rc::downgrade(&ring),
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address did not resolve to any socket address",
            )
        }))
    }
    // ANCHOR_END: connect

    // ANCHOR: connect_and_send
    /// Connect to `addr` and send `buf.bytes()`, as one chain of two operations: the kernel
    /// starts the send the moment the connect completes, without waking this task in between
    /// (a readiness loop cannot: it must wait for the socket to turn writable, then send). The
    /// stream (or why not) and the buffer back. A client that speaks first (an HTTP request)
    /// saves a wake per connection over [`TcpStream::connect`] then [`TcpStream::write_all`].
    ///
    /// # Errors
    /// The connect's error if it failed (the kernel then cancels the send), else the send's;
    /// `Unsupported` on a runtime that waits on epoll.
    ///
    /// # Panics
    /// Outside a taketurns runtime.
    pub async fn connect_and_send<B: IoBuf>(
        addr: SocketAddr,
        buf: B,
    ) -> (io::Result<TcpStream>, B) {
        let ring = match current_ring("taketurns::uring::TcpStream::connect_and_send") {
            Ok(ring) => ring,
            Err(e) => return (Err(e), buf),
        };
        let fd = match Socket::new(Domain::for_address(addr), Type::STREAM, None) {
            Ok(socket) => Rc::new(OwnedFd::from(socket)),
            Err(e) => return (Err(e), buf),
        };
        let (connect, send) = match ring.connect_and_send(Rc::clone(&fd), addr, buf) {
            Ok(ops) => ops,
            Err((e, buf)) => return (Err(e), buf),
        };
        let wait = Wait::Write(connect.user_data());
        let connected = noted(connect, wait).await.result;
        let wait = Wait::Write(send.user_data());
        let Completed {
            result: sent, held, ..
        } = noted(send, wait).await;
        let stream = TcpStream {
            fd,
            ring: Rc::downgrade(&ring),
        };
        let sent = match (connected, sent) {
            (Err(e), _) | (Ok(_), Err(e)) => return (Err(e), held.buf),
            (Ok(_), Ok(sent)) => sent as usize,
        };
        // A send may take fewer bytes than offered: write the rest the ordinary way.
        let (rest, buf) = if sent < held.buf.bytes().len() {
            stream.write_all_from(held.buf, sent).await
        } else {
            (Ok(()), held.buf)
        };
        (rest.map(|()| stream), buf)
    }
    // ANCHOR_END: connect_and_send

    /// Wrap a connected `std::net::TcpStream` (switched to blocking mode: the ring waits for it,
    /// the thread never does).
    ///
    /// # Errors
    /// `Unsupported` on a runtime that waits on epoll.
    ///
    /// # Panics
    /// Outside a taketurns runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let ring = current_ring("taketurns::uring::TcpStream::from_std")?;
        stream.set_nonblocking(false)?;
        Ok(TcpStream {
            fd: Rc::new(OwnedFd::from(stream)),
            ring: Rc::downgrade(&ring),
        })
    }

    /// The ring, or the error every operation gives once the runtime is gone.
    fn ring(&self) -> io::Result<Rc<Uring>> {
        self.ring.upgrade().ok_or_else(|| {
            io::Error::other(
                "the taketurns runtime this socket was connected on has been dropped; create \
                 sockets inside the runtime that uses them",
            )
        })
    }

    // ANCHOR: read
    /// Read into `buf` (filling `buf.bytes_mut()` from its start): the number of bytes read, 0
    /// at the end of the stream, and the buffer back. While the read is in flight the kernel owns
    /// the buffer; if this future is dropped first, the buffer is freed only after the kernel has
    /// finished with it (or cancelled the read).
    ///
    /// A `Vec<u8>` offers its *length*, not its capacity: pass `vec![0; 4096]`. An empty buffer is
    /// an `InvalidInput` error (its read would return 0, which means end of stream).
    pub async fn read<B: IoBufMut>(&self, mut buf: B) -> (io::Result<usize>, B) {
        if buf.bytes_mut().is_empty() {
            let e = io::Error::new(
                io::ErrorKind::InvalidInput,
                "read into an empty buffer: give the read room to fill (`vec![0; 4096]`, not \
                 `Vec::with_capacity(4096)`)",
            );
            return (Err(e), buf);
        }
        let ring = match self.ring() {
            Ok(ring) => ring,
            Err(e) => return (Err(e), buf),
        };
        match ring.recv(Rc::clone(&self.fd), buf) {
            Ok(op) => {
                let wait = Wait::Read(op.user_data());
                let done = noted(op, wait).await;
                (done.result.map(|n| n as usize), done.held.buf)
            }
            Err((e, held)) => (Err(e), held.buf),
        }
    }
    // ANCHOR_END: read

    // ANCHOR: read_pooled
    /// Read into a buffer of the ring's pool, picked by the kernel when the data arrives: the
    /// bytes read (none at the end of the stream), in a [`PoolBuf`] that goes back to the pool
    /// when dropped. While it waits, this read holds no buffer, so ten thousand of them waiting
    /// cost no memory for buffers; drop each `PoolBuf` once its bytes are used, since the pool
    /// is shared (a read that finds it empty waits for a buffer to come back).
    ///
    /// On a kernel without provided buffer rings (before Linux 5.19) it reads into a buffer of
    /// its own of [`POOL_BUF_SIZE`] bytes, with the same result.
    pub async fn read_pooled(&self) -> io::Result<PoolBuf> {
        let ring = self.ring()?;
        if !ring.has_pool() {
            let (n, buf) = self.read(vec![0u8; POOL_BUF_SIZE]).await;
            return Ok(PoolBuf::owned(buf).filled(n?));
        }
        loop {
            let op = ring.recv_pooled(Rc::clone(&self.fd))?;
            let wait = Wait::Read(op.user_data());
            let done = noted(op, wait).await;
            match done.result {
                Ok(n) => {
                    // No buffer picked: nothing was read (the end of the stream).
                    return Ok(done
                        .picked
                        .map_or_else(|| PoolBuf::owned(Vec::new()), |buf| buf.filled(n as usize)));
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    // Every buffer is out: the data waits in the socket until one comes back.
                    ring.note_pool_empty();
                    noted(poll_fn(|cx| ring.poll_pool_free(cx)), Wait::Other).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
    // ANCHOR_END: read_pooled

    /// Write from `buf.bytes()`: how many bytes the kernel took (maybe fewer than all), and the
    /// buffer back.
    pub async fn write<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
        self.write_from(buf, 0).await
    }

    /// Write `buf.bytes()[offset..]`.
    async fn write_from<B: IoBuf>(&self, buf: B, offset: usize) -> (io::Result<usize>, B) {
        let ring = match self.ring() {
            Ok(ring) => ring,
            Err(e) => return (Err(e), buf),
        };
        match ring.send(Rc::clone(&self.fd), buf, offset) {
            Ok(op) => {
                let wait = Wait::Write(op.user_data());
                let done = noted(op, wait).await;
                (done.result.map(|n| n as usize), done.held.buf)
            }
            Err((e, held)) => (Err(e), held.buf),
        }
    }

    /// Write all of `buf.bytes()`, one operation per partial write; the buffer back.
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> (io::Result<()>, B) {
        self.write_all_from(buf, 0).await
    }

    /// Write all of `buf.bytes()[offset..]`.
    async fn write_all_from<B: IoBuf>(&self, mut buf: B, mut offset: usize) -> (io::Result<()>, B) {
        let len = buf.bytes().len();
        while offset < len {
            let (result, back) = self.write_from(buf, offset).await;
            buf = back;
            match result {
                Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
                Ok(n) => offset += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (Err(e), buf),
            }
        }
        (Ok(()), buf)
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket_addr(SockRef::from(&*self.fd).peer_addr()?)
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket_addr(SockRef::from(&*self.fd).local_addr()?)
    }

    /// Shut down the reading half, the writing half (the peer then reads end of stream), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        SockRef::from(&*self.fd).shutdown(how)
    }
}

/// A socket2 address as a std one (a TCP socket always has one).
fn socket_addr(addr: socket2::SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket()
        .ok_or_else(|| io::Error::other("not an IP socket address"))
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("uring::TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
