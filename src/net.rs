//! TCP sockets that park their task instead of blocking the thread.
//!
//! [`TcpListener`] and [`TcpStream`] wrap mio's non-blocking sockets and register them with the
//! runtime's reactor. Every operation is tried at once; if the kernel answers `WouldBlock`, the
//! task parks in the waiting list (noting "socket, read" or "socket, write") until epoll reports the
//! socket ready. They are shaped like tokio's types of the same names and implement
//! [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`], so `futures::io::AsyncReadExt`,
//! `futures::io::copy`, `BufReader` and every crate built on futures-io work with them. asyncio's
//! counterparts are `asyncio.open_connection`/`start_server` streams and `loop.sock_*` methods.
//!
//! Errors are the operating system's own `io::Error`s (`ConnectionRefused`, `ConnectionReset`,
//! `BrokenPipe`, `AddrInUse`), returned to the task that hit them; end of stream is `Ok(0)`.
//! Other tasks never notice.
//!
//! Left out: UDP, Unix sockets, `split` into owned halves (use `futures::io::AsyncReadExt::split`),
//! and asynchronous name resolution: addresses are resolved with the blocking
//! `std::net::ToSocketAddrs`, which is instant for IP literals and `localhost` but would stall the
//! loop on a slow DNS server (tokio sends lookups to its blocking pool).

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use socket2::{Domain, Socket, Type};

use std::rc::{Rc, Weak};

use crate::driver::reactor::{Direction, Registration, runtime_gone};
use crate::runtime::Core;
use crate::runtime::context;
use crate::runtime::waiting::Wait;

// ANCHOR: listen_backlog
/// How many finished handshakes the kernel may queue before `accept` takes them.
///
/// std and mio use 128. A loop that starts a thousand connections in one tick (the fetch
/// example does) fills that before the accepting task runs, and the kernel then drops or resets
/// connections. Linux caps the number at `net.core.somaxconn` (4096 by default since 5.4).
pub const LISTEN_BACKLOG: i32 = 4096;
// ANCHOR_END: listen_backlog

/// A TCP socket listening for connections.
///
/// ```no_run
/// use futures::io::AsyncWriteExt;
/// taketurns::block_on(async {
///     let listener = taketurns::net::TcpListener::bind("127.0.0.1:8080").await?;
///     loop {
///         let (mut stream, peer) = listener.accept().await?;
///         taketurns::spawn(async move {
///             let _ = stream.write_all(b"hello\n").await;
///             println!("greeted {peer}");
///         });
///     }
///     # #[allow(unreachable_code)]
///     std::io::Result::Ok(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    /// Our registration with the reactor (readiness and the accepting task's waker).
    socket: Registered,
    /// The non-blocking listening socket. Dropping it closes it, which also removes it from epoll.
    io: mio::net::TcpListener,
}

impl TcpListener {
    /// Bind to `addr` and listen, with `SO_REUSEADDR` and a backlog of [`LISTEN_BACKLOG`].
    /// Each resolved address is tried in turn; the last error is returned if none works.
    ///
    /// # Panics
    /// Outside a taketurns runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(addr, |addr| {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
            socket.set_reuse_address(true)?;
            socket.set_nonblocking(true)?;
            socket.bind(&addr.into())?;
            socket.listen(LISTEN_BACKLOG)?;
            TcpListener::register(mio::net::TcpListener::from_std(socket.into()))
        })
    }

    /// Wrap a listener made with `std::net` (it is switched to non-blocking mode).
    ///
    /// # Panics
    /// Outside a taketurns runtime.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::register(mio::net::TcpListener::from_std(listener))
    }

    fn register(mut io: mio::net::TcpListener) -> io::Result<TcpListener> {
        let socket = Registered::register(&mut io, "TcpListener::bind")?;
        Ok(TcpListener { socket, io })
    }

    /// Wait for the next connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Poll for the next connection (for hand-written futures).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match self
            .socket
            .poll_io(cx, Direction::Read, || self.io.accept(), |_| false)
        {
            Poll::Ready(Ok((io, addr))) => Poll::Ready(TcpStream::register(io).map(|s| (s, addr))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The address the listener is bound to (useful after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.io.local_addr().ok())
            .field("token", &self.socket.registration.token())
            .finish()
    }
}

/// A TCP connection.
///
/// Reading and writing go through [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`]; bring
/// `futures::io::{AsyncReadExt, AsyncWriteExt}` into scope for `read`, `write_all`, `read_to_end`.
pub struct TcpStream {
    /// Our registration with the reactor: readiness per direction and the waiting tasks' wakers.
    socket: Registered,
    /// The non-blocking socket. Dropping it closes it, which also removes it from epoll.
    io: mio::net::TcpStream,
}

impl TcpStream {
    /// Open a connection to `addr`. Each resolved address is tried in turn; the last error is
    /// returned if none answers (`ConnectionRefused` when nothing listens there).
    ///
    /// # Panics
    /// Outside a taketurns runtime.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_error = None;
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(no_address))
    }

    // ANCHOR: connect_addr
    /// Connect to one address. A non-blocking `connect` returns at once with the handshake still
    /// under way; the socket turns *writable* when it completes or fails, and only the socket's
    /// pending error (`SO_ERROR`) says which.
    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::register(mio::net::TcpStream::connect(addr)?)?;
        poll_fn(|cx| stream.socket.poll_ready(cx, Direction::Write)).await?;
        // On Linux a connecting socket turns writable only once the handshake is over, so the
        // pending error alone tells success from failure; mio's docs also suggest `peer_addr`
        // for other systems, a system call per connection we do not pay.
        if let Some(e) = stream.io.take_error()? {
            return Err(e);
        }
        Ok(stream)
    }
    // ANCHOR_END: connect_addr

    /// Wrap a connected `std::net::TcpStream` (it is switched to non-blocking mode).
    ///
    /// # Panics
    /// Outside a taketurns runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::register(mio::net::TcpStream::from_std(stream))
    }

    fn register(mut io: mio::net::TcpStream) -> io::Result<TcpStream> {
        let socket = Registered::register(&mut io, "TcpStream::connect")?;
        Ok(TcpStream { socket, io })
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.peer_addr()
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Send small writes at once instead of waiting to fill a packet (disable Nagle's algorithm).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.set_nodelay(nodelay)
    }

    /// Whether Nagle's algorithm is disabled.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.nodelay()
    }

    /// Shut down the reading half, the writing half (the peer then reads end of stream), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// The reactor token this socket is registered under (as shown in a [`crate::Snapshot`]).
    pub fn token(&self) -> usize {
        self.socket.registration.token()
    }

    // ANCHOR: poll_read
    /// Read into `buf` when the socket is readable. A read that fills less than `buf` drained
    /// the socket's receive buffer (Linux never returns short otherwise), so readiness is cleared
    /// at once instead of paying one more `read` to hear `WouldBlock`; tokio does the same.
    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.socket.poll_io(
            cx,
            Direction::Read,
            || (&self.io).read(buf),
            |&n| n > 0 && n < len,
        )
    }
    // ANCHOR_END: poll_read

    /// Write from `buf` when the socket is writable; a short write means the send buffer is full.
    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.socket.poll_io(
            cx,
            Direction::Write,
            || (&self.io).write(buf),
            |&n| n > 0 && n < len,
        )
    }

    fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.socket.poll_io(
            cx,
            Direction::Write,
            || (&self.io).write_vectored(bufs),
            |_| false,
        )
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.io.local_addr().ok())
            .field("peer_addr", &self.io.peer_addr().ok())
            .field("token", &self.socket.registration.token())
            .finish()
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

/// Implements the futures-io traits for `TcpStream` and `&TcpStream` (so one task can read while
/// another writes through a shared reference; two tasks reading at once would take turns being
/// the one whose waker is kept, which is why tokio's `split` hands out one half of each).
macro_rules! impl_async_io {
    ($ty:ty) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_read_priv(cx, buf)
            }
        }

        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_vectored_priv(cx, bufs)
            }

            /// Nothing to flush: every write goes straight to the kernel.
            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shut down the writing half: the peer reads end of stream.
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.io.shutdown(Shutdown::Write) {
                    // Already disconnected: nothing left to close.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
                    result => Poll::Ready(result),
                }
            }
        }
    };
}

impl_async_io!(TcpStream);
impl_async_io!(&TcpStream);

/// Try `f` on each address `addr` resolves to; the first success wins.
fn each_addr<T>(
    addr: impl ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_error = None;
    for addr in addr.to_socket_addrs()? {
        match f(addr) {
            Ok(value) => return Ok(value),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(no_address))
}

fn no_address() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "the address did not resolve to any socket address",
    )
}

// ANCHOR: note_wait
/// A socket's hold on its runtime: its slot in the runtime's reactor, and the runtime itself, to
/// reach that reactor and to note what the running task waits for.
///
/// The reactor knows wakers, not tasks, so the note is the socket's to make: when an operation
/// parks the task, the socket tells its runtime "this task waits for my token, in this
/// direction", which is what a [`crate::Snapshot`] shows.
struct Registered {
    /// The socket's slot in the reactor: readiness per direction, the waiting tasks' wakers.
    registration: Registration,
    /// The runtime whose reactor holds the slot. Weak: a socket inside a task must not keep its
    /// runtime alive (a cycle runtime → task → socket → runtime). One upgrade per operation
    /// reaches both the reactor and the note.
    runtime: Weak<Core>,
}

impl Registered {
    /// Register `source` with the runtime running on this thread (`what` names the caller in
    /// the panic outside a runtime).
    fn register(source: &mut impl mio::event::Source, what: &str) -> io::Result<Registered> {
        let core = context::current(what);
        Ok(Registered {
            registration: Registration::new(core.reactor(), source)?,
            runtime: Rc::downgrade(&core),
        })
    }

    /// `Ready` when the socket is ready in `dir`; otherwise park the task (noting why).
    fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<()>> {
        let Some(core) = self.runtime.upgrade() else {
            return Poll::Ready(Err(runtime_gone()));
        };
        let polled = self.registration.poll_ready(core.reactor(), cx, dir);
        if polled.is_pending() {
            core.note_wait(self.wait(dir));
        }
        polled
    }

    /// Run `op` when the socket is ready in `dir` (see [`Registration::poll_io`]); park the task
    /// (noting why) on `WouldBlock`. `drained(&result)` says that a successful operation emptied
    /// or filled the kernel's buffer (a short read or write, which on Linux means just that), so
    /// readiness is forgotten at once instead of paying one more system call to hear
    /// `WouldBlock`; tokio does the same.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        op: impl FnMut() -> io::Result<R>,
        drained: impl FnOnce(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let Some(core) = self.runtime.upgrade() else {
            return Poll::Ready(Err(runtime_gone()));
        };
        let reactor = core.reactor();
        let polled = self.registration.poll_io(reactor, cx, dir, op);
        match &polled {
            Poll::Ready(Ok(result)) if drained(result) => {
                self.registration.clear_ready(reactor, dir);
            }
            Poll::Pending => core.note_wait(self.wait(dir)),
            Poll::Ready(_) => {}
        }
        polled
    }

    /// What a task parked on this socket in `dir` waits for.
    fn wait(&self, dir: Direction) -> Wait {
        let token = self.registration.token() as u64;
        match dir {
            Direction::Read => Wait::Read(token),
            Direction::Write => Wait::Write(token),
        }
    }
}
// ANCHOR_END: note_wait
