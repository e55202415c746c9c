//! The fetch on the completion loop: the same exchange as [`super::fetch`], with
//! [`crate::uring::TcpStream`] on a runtime built with `Builder::io_uring(true)`, and the client
//! that runs a plan with it ([`super::Client::Uring`], `fetch_many --runner uring`).
//!
//! The steps are the readiness fetch's: connect, send the request, read until the response is
//! whole, all inside one [`crate::time::timeout`]. What differs is who does the I/O. Here the
//! task hands the kernel the connect, the send and the read as operations on the ring, and the
//! loop submits every operation its tasks queued in one `io_uring_enter`; the readiness fetch
//! makes one system call per step and waits in `epoll_wait` between them. Two system calls per
//! fetch stay outside the ring: `socket` (socket creation is an operation only from Linux 5.19)
//! and `close`.
//!
//! The buffer: a read in flight that owns one holds it while it waits, so ten thousand waiting
//! fetches would hold ten thousand buffers, where the readiness fetch borrows the thread's one
//! buffer for the length of a poll (`wire::read_until`). So the fetch reads with
//! `read_pooled`: the kernel picks a buffer from the ring's pool only when the response arrives,
//! and the fetch gives it back as soon as it has parsed it.
//!
//! tokio-uring and monoio write the same exchange as `let (res, buf) = stream.read(buf).await`,
//! or with a buffer pool as here.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use super::client::{ClientError, Tally, task_output};
use super::fetch::FetchError;
use super::http::ResponseReader;
use super::plan::FetchPlan;
use crate::uring::TcpStream;
use crate::{Runtime, time};

// ANCHOR: fetch_uring
/// One fetch on the current runtime's ring: connect to `addr`, send `request`, read and check
/// the response, all within `timeout`; the body's length in bytes, or why not.
///
/// # Panics
/// Outside a taketurns runtime. On a runtime that waits on epoll every fetch fails instead, with
/// an error that says to build it with `Builder::io_uring(true)`.
pub async fn fetch_uring(
    addr: SocketAddr,
    request: Rc<[u8]>,
    timeout: Duration,
) -> Result<u64, FetchError> {
    match time::timeout(timeout, exchange(addr, request)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(FetchError::Timeout(timeout)),
    }
}

/// The exchange itself, without the deadline.
async fn exchange(addr: SocketAddr, request: Rc<[u8]>) -> Result<u64, FetchError> {
    let (stream, _request) = TcpStream::connect_and_send(addr, request).await;
    let stream = stream.map_err(FetchError::from_io)?;
    let mut response = ResponseReader::new();
    loop {
        // The kernel picks a buffer from the ring's pool when the data arrives; it goes back
        // to the pool at the end of this iteration.
        let buf = stream.read_pooled().await.map_err(FetchError::from_io)?;
        if let Some(done) = response.step(&buf) {
            return done;
        }
        if buf.is_empty() {
            return Err(FetchError::from_io(
                std::io::ErrorKind::UnexpectedEof.into(),
            ));
        }
    }
    // Dropping `stream` here closes the socket.
}
// ANCHOR_END: fetch_uring

// ANCHOR: run_uring
/// Run `plan` on a runtime on io_uring: one task per fetch, all spawned at once, as the
/// readiness event loop does; under a cap, `limit` worker tasks that take the next fetch from a
/// counter. The tally carries the ring's counters.
pub(super) fn run_uring(
    plan: &FetchPlan,
    request: Rc<[u8]>,
    limit: Option<usize>,
) -> Result<Tally, ClientError> {
    let rt = Runtime::builder()
        .io_uring(true)
        .build()
        .map_err(ClientError::Runtime)?;
    let (addr, timeout, count) = (plan.addr, plan.timeout, plan.count);
    let mut tally = match limit {
        None => rt.block_on(async {
            let fetches: Vec<_> = (0..count)
                .map(|_| crate::spawn(fetch_uring(addr, Rc::clone(&request), timeout)))
                .collect();
            let mut tally = Tally::default();
            for handle in fetches {
                tally.record(task_output(handle.await));
            }
            tally
        }),
        Some(limit) => {
            let next = Rc::new(Cell::new(0));
            rt.block_on(async {
                let workers: Vec<_> = (0..limit.min(count))
                    .map(|_| {
                        let (next, request) = (Rc::clone(&next), Rc::clone(&request));
                        crate::spawn(async move {
                            let mut tally = Tally::default();
                            while next.get() < count {
                                next.set(next.get() + 1);
                                let fetched = fetch_uring(addr, Rc::clone(&request), timeout);
                                tally.record(fetched.await);
                            }
                            tally
                        })
                    })
                    .collect();
                let mut tally = Tally::default();
                for worker in workers {
                    tally.merge(task_output(worker.await));
                }
                tally
            })
        }
    };
    tally.ring = rt.ring_stats();
    Ok(tally)
}
// ANCHOR_END: run_uring
