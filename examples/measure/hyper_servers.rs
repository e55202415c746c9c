//! hyper's HTTP/1.1 server twice, with the same routes and the same `header_read_timeout`: on
//! taketurns through `taketurns::hyper_rt`, and on tokio's current_thread runtime with a
//! `LocalSet` through the small `TokioStream`/`TokioTimer` adapters below (hyper-util's `TokioIo`
//! and `TokioTimer` do the same; this crate does not depend on hyper-util). The routes are
//! `examples/hyper_server.rs`'s: `/` says hello, `/delay?ms=N` answers after N ms.
//!
//! This is what `hyper.rs`'s child runs; in Python the pair would be one ASGI app served on two
//! event loops. Built only with `--features hyper`. Left out: HTTP/2, graceful shutdown (the
//! child process simply ends), and every route but the two the table measures.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use socket2::{Domain, Socket, Type};
use taketurns::hyper_rt::{HyperStream, TaketurnsTimer};

/// How long a client may take to send a request head: hyper's `header_read_timeout`, which
/// keeps one timer per connection busy on both runtimes.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest `/delay` honoured; a longer one gets `400`.
const MAX_DELAY_MS: u64 = 60_000;

/// A listener on a free local port with the hand-written server's backlog
/// (`taketurns::net::LISTEN_BACKLOG`), so that every server gets the same kernel queue.
pub fn listen() -> std::io::Result<std::net::TcpListener> {
    let addr: std::net::SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(taketurns::net::LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// The answer to a request: how long to wait first, the status and the body.
fn route(request: &Request<Incoming>) -> (Option<Duration>, StatusCode, String) {
    match request.uri().path() {
        "/" => (None, StatusCode::OK, "hello\n".to_owned()),
        "/delay" => {
            let ms = request
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("ms="))
                .and_then(|n| n.parse::<u64>().ok());
            match ms {
                Some(ms) if ms <= MAX_DELAY_MS => (
                    Some(Duration::from_millis(ms)),
                    StatusCode::OK,
                    format!("waited {ms} ms\n"),
                ),
                _ => (
                    None,
                    StatusCode::BAD_REQUEST,
                    format!("expected /delay?ms=N with N from 0 to {MAX_DELAY_MS}\n"),
                ),
            }
        }
        _ => (
            None,
            StatusCode::NOT_FOUND,
            "not found: try / or /delay?ms=50\n".to_owned(),
        ),
    }
}

/// A response with `status` and `body`.
fn response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

/// Serve forever on a taketurns runtime on this thread.
pub fn on_taketurns(
    listener: std::net::TcpListener,
    requests: Arc<AtomicU64>,
) -> Result<(), String> {
    let rt = taketurns::Runtime::new().map_err(|e| format!("cannot create a runtime: {e}"))?;
    rt.block_on(async move {
        let listener = taketurns::net::TcpListener::from_std(listener)
            .map_err(|e| format!("cannot register the listener: {e}"))?;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                // Out of descriptors or a connection reset before accept: wait it out.
                Err(_) => {
                    taketurns::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let requests = Arc::clone(&requests);
            drop(taketurns::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    requests.fetch_add(1, Ordering::Relaxed);
                    let (wait, status, body) = route(&request);
                    async move {
                        if let Some(wait) = wait {
                            taketurns::time::sleep(wait).await;
                        }
                        Ok::<_, Infallible>(response(status, body))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TaketurnsTimer)
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(HyperStream::new(stream), service)
                    .await;
            }));
        }
    })
}

/// Serve forever on tokio's current_thread runtime with a `LocalSet` on this thread.
pub fn on_tokio(listener: std::net::TcpListener, requests: Arc<AtomicU64>) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot create a tokio runtime: {e}"))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("cannot register the listener: {e}"))?;
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let requests = Arc::clone(&requests);
            drop(tokio::task::spawn_local(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    requests.fetch_add(1, Ordering::Relaxed);
                    let (wait, status, body) = route(&request);
                    async move {
                        if let Some(wait) = wait {
                            tokio::time::sleep(wait).await;
                        }
                        Ok::<_, Infallible>(response(status, body))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer)
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioStream(stream), service)
                    .await;
            }));
        }
    })
}

/// tokio's `TcpStream` as hyper's connection type, with the same safe copy through a
/// per-thread scratch buffer of the same size as `HyperStream`'s (hyper-util's `TokioIo`
/// skips the copy with `unsafe`).
struct TokioStream(tokio::net::TcpStream);

/// The largest read [`TokioStream`] makes at once, as `HyperStream`'s.
const SCRATCH_BYTES: usize = 64 * 1024;

thread_local! {
    /// Where [`TokioStream`] reads before copying into hyper's buffer, zeroed once.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; SCRATCH_BYTES]);
}

impl hyper::rt::Read for TokioStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let want = buf.remaining().min(SCRATCH_BYTES);
        let stream = &mut self.get_mut().0;
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let mut read = tokio::io::ReadBuf::new(&mut scratch[..want]);
            match tokio::io::AsyncRead::poll_read(Pin::new(stream), cx, &mut read) {
                Poll::Ready(Ok(())) => {
                    buf.put_slice(read.filled());
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    }
}

impl hyper::rt::Write for TokioStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().0), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.get_mut().0), cx, bufs)
    }

    /// As hyper-util's `TokioIo`: tokio's socket writes with `writev`, so hyper queues a
    /// response's head and body instead of copying them into one buffer (as it does on
    /// `HyperStream`).
    fn is_write_vectored(&self) -> bool {
        tokio::io::AsyncWrite::is_write_vectored(&self.0)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().0), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.get_mut().0), cx)
    }
}

/// tokio's timer wheel as hyper's `Timer`, as hyper-util's `TokioTimer`: a sleep is reset
/// in place rather than replaced.
#[derive(Clone, Copy)]
struct TokioTimer;

pin_project_lite::pin_project! {
    /// A `tokio::time::Sleep` as hyper's `Sleep` (it is `Send + Sync` already).
    struct TokioSleep {
        // The tokio sleep, registered in the runtime's timer wheel at its first poll.
        #[pin]
        inner: tokio::time::Sleep,
    }
}

impl Future for TokioSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl hyper::rt::Sleep for TokioSleep {}

impl hyper::rt::Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TokioSleep {
            inner: tokio::time::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TokioSleep {
            inner: tokio::time::sleep_until(deadline.into()),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<TokioSleep>() {
            Some(ours) => ours.project().inner.reset(new_deadline.into()),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
