//! The clients taketurns is measured against when it fetches: tokio's current-thread runtime
//! and a raw mio loop (the floor), plus [`MEMBERS`], the list of every client that can run a
//! whole fetch plan alone, and [`run_alone`], which runs one and reads `getrusage` around it.
//!
//! Two programs use this file, each with `#[path]`: `benches/fetch.rs` (its criterion groups and
//! its at-scale mode) and `measure`'s `fetch_peers` table (`examples/measure/fetch_peers.rs`),
//! so the book's table and the bench run the same clients. It cannot live in the library: tokio
//! is a dev-dependency.
//!
//! - `tokio_current_thread`: the same steps as `workload::fetch` (connect, `write_all`, read the
//!   whole response, parse it with httparse, check `Content-Length`, the whole fetch inside
//!   `tokio::time::timeout`), one `tokio::spawn` per fetch on a `new_current_thread()
//!   .enable_all()` runtime, the one `#[tokio::main(flavor = "current_thread")]` builds. It reads
//!   with `readable().await` + `try_read` into a stack buffer, so (like taketurns' `read_until`)
//!   a waiting task holds no read buffer.
//! - `raw_mio`: the floor for a single-threaded readiness loop: one `mio::Poll`, a [`Slab`] of
//!   connection state machines (Connecting → Writing → Reading → done), registered once,
//!   edge-triggered, no futures, no wakers, no per-fetch timer (all fetches start together, so one
//!   deadline for the run is every fetch's deadline and is the `epoll_wait` timeout). Same
//!   request, parser and checks as the tokio client.
//!
//! In Python the same pair would be asyncio against a loop written by hand over `selectors`.
//! Left out: keep-alive, TLS and redirects, as in the workload's own clients.
//!
//! To add a client (an io_uring loop, say): write a function that runs a whole plan in this
//! process and returns its [`Tally`], add it to [`MEMBERS`] under a new name, and add a row
//! naming it in `examples/measure/fetch_peers.rs`; the bench's at-scale mode can then run it
//! with `--only NAME`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use taketurns::workload::machine::status_kib;
use taketurns::workload::{Client, FetchError, FetchPlan, Tally};
use tokio::io::AsyncWriteExt;

/// Read buffer of the tokio and raw mio clients: the same page the workload's clients use.
const READ_BUF: usize = 4096;
/// The largest response head accepted, as in the workload.
const MAX_HEAD: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// The list

/// A client that can run a whole plan alone in a process.
pub struct Member {
    /// Its name: a member of the fetch bench, and `--client` of `measure child-fetch`.
    pub name: &'static str,
    /// Run the plan once in this process, creating whatever runtime the client needs (inside
    /// the measurement, as every member does).
    pub run: fn(&FetchPlan) -> Result<Tally, String>,
}

/// Every client [`run_alone`] can run.
pub const MEMBERS: [Member; 4] = [
    Member {
        name: "taketurns",
        run: |plan| Client::EventLoop.run(plan).map_err(|e| e.to_string()),
    },
    Member {
        name: "tokio_current_thread",
        run: |plan| {
            let rt = tokio_runtime().map_err(|e| format!("cannot create a tokio runtime: {e}"))?;
            Ok(run_tokio(&rt, plan, &request(plan)?))
        },
    },
    Member {
        name: "raw_mio",
        run: |plan| {
            run_raw_mio(plan, &request(plan)?).map_err(|e| format!("the raw mio loop failed: {e}"))
        },
    },
    Member {
        name: "thread_per_task",
        run: |plan| Client::ThreadPerTask.run(plan).map_err(|e| e.to_string()),
    },
];

/// The loop on io_uring (`Client::Uring`, with `--features uring`): not in [`MEMBERS`], so a
/// run of every member leaves it out; the at-scale mode runs it when `--only` names it
/// (`--only taketurns_uring,raw_mio` compares the completion loop with the readiness floor).
#[cfg(feature = "uring")]
pub const URING_MEMBER: Member = Member {
    name: "taketurns_uring",
    run: |plan| Client::Uring.run(plan).map_err(|e| e.to_string()),
};

/// Every member `--only` may name: [`MEMBERS`], and the io_uring loop when built with it.
pub fn nameable() -> impl Iterator<Item = &'static Member> {
    #[cfg(feature = "uring")]
    let uring = Some(&URING_MEMBER);
    #[cfg(not(feature = "uring"))]
    let uring = None;
    MEMBERS.iter().chain(uring)
}

/// The member called `name`, or a message listing the names there are.
pub fn member(name: &str) -> Result<&'static Member, String> {
    nameable().find(|m| m.name == name).ok_or_else(|| {
        let names: Vec<&str> = nameable().map(|m| m.name).collect();
        format!("no client named {name:?}; the clients are {names:?}")
    })
}

/// The plan's request bytes, shared by every fetch of a run.
fn request(plan: &FetchPlan) -> Result<Arc<[u8]>, String> {
    plan.request()
        .map(Arc::from)
        .map_err(|e| format!("bad fetch plan: {e}"))
}

/// tokio's current-thread runtime with its I/O and time drivers.
pub fn tokio_runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

// ---------------------------------------------------------------------------------------------
// What the tokio and raw mio clients share: error sorting and the response parser

/// Sort a socket error as the workload does.
fn fetch_error(e: io::Error) -> FetchError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => FetchError::Refused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => FetchError::Reset,
        _ => FetchError::Other(e),
    }
}

/// A response read chunk by chunk: the head parsed by httparse, the body counted, not kept.
#[derive(Default)]
struct Response {
    /// A head that did not arrive whole in one read (usually empty: no allocation).
    partial: Vec<u8>,
    /// Once the head is parsed: (`Content-Length`, body bytes received).
    body: Option<(u64, u64)>,
}

impl Response {
    /// Take the next chunk; an empty one means the server closed. `Some` once decided.
    fn step(&mut self, chunk: &[u8]) -> Option<Result<u64, FetchError>> {
        if chunk.is_empty() {
            return Some(Err(match self.body {
                Some((expected, got)) => FetchError::ShortBody { expected, got },
                None => FetchError::Malformed("closed before the response head".to_string()),
            }));
        }
        if let Some((_, got)) = &mut self.body {
            *got += chunk.len() as u64;
            return self.body_done();
        }
        let (parsed, total) = if self.partial.is_empty() {
            (parse_head(chunk), chunk.len())
        } else {
            self.partial.extend_from_slice(chunk);
            (parse_head(&self.partial), self.partial.len())
        };
        match parsed {
            Err(e) => Some(Err(e)),
            Ok(Some((head_len, expected))) => {
                self.partial = Vec::new();
                self.body = Some((expected, (total - head_len) as u64));
                self.body_done()
            }
            Ok(None) => {
                if self.partial.is_empty() {
                    self.partial.extend_from_slice(chunk);
                }
                (self.partial.len() > MAX_HEAD)
                    .then(|| Err(FetchError::Malformed("head too long".to_string())))
            }
        }
    }

    /// `Some(Ok(length))` once the whole body has arrived (bytes past it are ignored: the
    /// server closes right after).
    fn body_done(&self) -> Option<Result<u64, FetchError>> {
        let (expected, got) = self.body?;
        (got >= expected).then_some(Ok(expected))
    }
}

/// `Ok(None)`: incomplete. `Ok(Some((head_len, content_length)))`: a 2xx head. Our server always
/// sends `Content-Length`, so a head without one is malformed here.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, u64)>, FetchError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(n)) => n,
        Err(e) => return Err(FetchError::Malformed(e.to_string())),
    };
    let code = response.code.unwrap_or(0);
    if !(200..300).contains(&code) {
        return Err(FetchError::Status(code));
    }
    let length = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
        .ok_or_else(|| FetchError::Malformed("no valid Content-Length".to_string()))?;
    Ok(Some((head_len, length)))
}

// ---------------------------------------------------------------------------------------------
// tokio_current_thread

/// One fetch on tokio: the same steps as `workload::fetch`.
async fn tokio_fetch(
    addr: SocketAddr,
    request: Arc<[u8]>,
    timeout: Duration,
) -> Result<u64, FetchError> {
    match tokio::time::timeout(timeout, tokio_exchange(addr, &request)).await {
        Ok(result) => result,
        Err(_elapsed) => Err(FetchError::Timeout(timeout)),
    }
}

// ANCHOR: tokio_exchange
async fn tokio_exchange(addr: SocketAddr, request: &[u8]) -> Result<u64, FetchError> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(fetch_error)?;
    stream.write_all(request).await.map_err(fetch_error)?;
    let mut response = Response::default();
    loop {
        stream.readable().await.map_err(fetch_error)?;
        // The buffer lives between two awaits only, so it is not part of the task's state.
        let mut buf = [0u8; READ_BUF];
        loop {
            match stream.try_read(&mut buf) {
                Ok(n) => {
                    if let Some(done) = response.step(&buf[..n]) {
                        return done;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fetch_error(e)),
            }
        }
    }
}
// ANCHOR_END: tokio_exchange

/// Every fetch of `plan` as a tokio task, all spawned at once, then joined in order.
pub fn run_tokio(rt: &tokio::runtime::Runtime, plan: &FetchPlan, request: &Arc<[u8]>) -> Tally {
    let (addr, timeout) = (plan.addr, plan.timeout);
    rt.block_on(async {
        let fetches: Vec<_> = (0..plan.count)
            .map(|_| tokio::spawn(tokio_fetch(addr, Arc::clone(request), timeout)))
            .collect();
        let mut tally = Tally::default();
        for fetch in fetches {
            tally.record(fetch.await.expect("a tokio fetch task panicked"));
        }
        tally
    })
}

// ---------------------------------------------------------------------------------------------
// raw_mio

/// Where one connection of the raw mio loop is.
enum Stage {
    /// `connect` returned `EINPROGRESS`; the first writable edge says the handshake is over.
    Connecting,
    /// Sending the request; this many bytes are out.
    Writing(usize),
    /// Request sent; reading the response.
    Reading(Response),
}

/// One fetch of the raw mio loop: its socket and its stage.
struct Conn {
    /// The connection's socket, registered with the loop's `Poll` under the slab key.
    stream: mio::net::TcpStream,
    /// How far the fetch has come.
    stage: Stage,
}

impl Conn {
    /// Move the connection as far as `event` allows. `Some` once the fetch is decided.
    ///
    /// Edge-triggered: each stage does all it can until `WouldBlock`, or until a short read
    /// says the receive buffer is empty (then the next byte to arrive is a new edge; a FIN that
    /// came with this edge is seen through `is_read_closed`, and read too).
    fn advance(
        &mut self,
        event: &Event,
        request: &[u8],
        buf: &mut [u8],
    ) -> Option<Result<u64, FetchError>> {
        loop {
            match &mut self.stage {
                Stage::Connecting => {
                    if !(event.is_writable() || event.is_error() || event.is_write_closed()) {
                        return None;
                    }
                    // On Linux a connecting socket turns writable once the handshake is over;
                    // SO_ERROR says whether it succeeded.
                    match self.stream.take_error() {
                        Ok(None) => self.stage = Stage::Writing(0),
                        Ok(Some(e)) | Err(e) => return Some(Err(fetch_error(e))),
                    }
                }
                Stage::Writing(written) => {
                    while *written < request.len() {
                        match self.stream.write(&request[*written..]) {
                            Ok(0) => {
                                return Some(Err(FetchError::Other(
                                    io::ErrorKind::WriteZero.into(),
                                )));
                            }
                            Ok(n) => *written += n,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Some(Err(fetch_error(e))),
                        }
                    }
                    // The server answers only once it has the request, so the answer will be a
                    // new readable edge: do not spend a `read` to hear `WouldBlock` now.
                    self.stage = Stage::Reading(Response::default());
                    return None;
                }
                Stage::Reading(response) => {
                    if !(event.is_readable() || event.is_read_closed() || event.is_error()) {
                        return None;
                    }
                    loop {
                        match self.stream.read(buf) {
                            Ok(n) => {
                                if let Some(done) = response.step(&buf[..n]) {
                                    return Some(done);
                                }
                                if n < buf.len() && !event.is_read_closed() {
                                    return None;
                                }
                            }
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Some(Err(fetch_error(e))),
                        }
                    }
                }
            }
        }
    }
}

/// Every fetch of `plan` at once on one `mio::Poll`.
///
/// A connection's slab key is its token. Keys are taken only before the loop starts and the
/// `Poll` lives for one run, so no token is reused while an event for its old owner could be in
/// flight (a loop that connects as it goes would need a generation in the token, as taketurns'
/// reactor has).
// ANCHOR: raw_mio_loop
pub fn run_raw_mio(plan: &FetchPlan, request: &[u8]) -> io::Result<Tally> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut conns: Slab<Conn> = Slab::with_capacity(plan.count);
    let mut tally = Tally::default();
    let deadline = Instant::now() + plan.timeout;
    for _ in 0..plan.count {
        let mut stream = match mio::net::TcpStream::connect(plan.addr) {
            Ok(stream) => stream,
            Err(e) => {
                tally.record(Err(fetch_error(e)));
                continue;
            }
        };
        let entry = conns.vacant_entry();
        let interest = Interest::READABLE | Interest::WRITABLE;
        match poll
            .registry()
            .register(&mut stream, Token(entry.key()), interest)
        {
            Ok(()) => {
                entry.insert(Conn {
                    stream,
                    stage: Stage::Connecting,
                });
            }
            Err(e) => tally.record(Err(fetch_error(e))),
        }
    }
    let mut buf = [0u8; READ_BUF];
    while !conns.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            for _ in conns.drain() {
                tally.record(Err(FetchError::Timeout(plan.timeout)));
            }
            break;
        }
        match poll.poll(&mut events, Some(left)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            let key = event.token().0;
            let Some(conn) = conns.get_mut(key) else {
                continue;
            };
            if let Some(outcome) = conn.advance(event, request, &mut buf) {
                tally.record(outcome);
                // Dropping the stream closes the socket, which also takes it out of epoll.
                conns.remove(key);
            }
        }
    }
    Ok(tally)
}
// ANCHOR_END: raw_mio_loop

// ---------------------------------------------------------------------------------------------
// One client alone in a process: CPU and memory from getrusage

/// What one run of a member measured: its outcome, wall time, CPU and peak-RSS growth. A child
/// process prints it as one line ([`ChildRun::line`]) and its parent reads it back
/// ([`ChildRun::parse`]).
pub struct ChildRun {
    /// Which member ran.
    pub member: String,
    /// Fetches that succeeded.
    pub ok: u64,
    /// Fetches attempted.
    pub count: u64,
    /// Wall time of the run.
    pub wall: Duration,
    /// User CPU time of the whole process during the run (every thread).
    pub user: Duration,
    /// System CPU time of the whole process during the run.
    pub sys: Duration,
    /// How much the process's peak resident set (`VmHWM`) grew during the run, in KiB.
    pub rss_growth_kib: u64,
}

// ANCHOR: run_alone
/// Run `member` once on `plan` in this process, between two readings of the clock, of
/// `getrusage(RUSAGE_SELF)` (CPU time) and of the peak resident set (`VmHWM` in
/// `/proc/self/status`). The process should have run nothing else: its CPU time and its peak
/// memory are the whole process's. The peak is `VmHWM` rather than getrusage's `ru_maxrss`
/// because a child started with `vfork` or `posix_spawn` (as `std::process::Command` does)
/// begins with its parent's `ru_maxrss`, so a large parent would hide the child's growth;
/// `VmHWM` belongs to the child's own memory map. A failed fetch is counted, not an error; the
/// first one is printed on stderr.
pub fn run_alone(member: &Member, plan: &FetchPlan) -> Result<ChildRun, String> {
    let usage = || nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF);
    let peak = || status_kib("VmHWM:").ok_or("no VmHWM in /proc/self/status (Linux only)");
    let (peak_before, before) = (peak()?, usage().map_err(|e| format!("getrusage: {e}"))?);
    let start = Instant::now();
    let tally = (member.run)(plan)?;
    let wall = start.elapsed();
    let (peak_after, after) = (peak()?, usage().map_err(|e| format!("getrusage: {e}"))?);
    let micros = |t: nix::sys::time::TimeVal| t.tv_sec() * 1_000_000 + t.tv_usec();
    let spent = |a, b| Duration::from_micros(u64::try_from(micros(a) - micros(b)).unwrap_or(0));
    if let Some(first) = &tally.first_error {
        eprintln!(
            "{}: {} of {} fetches failed; first: {first}",
            member.name,
            tally.errors.total(),
            plan.count
        );
    }
    Ok(ChildRun {
        member: member.name.to_string(),
        ok: tally.ok,
        count: plan.count as u64,
        wall,
        user: spent(after.user_time(), before.user_time()),
        sys: spent(after.system_time(), before.system_time()),
        rss_growth_kib: peak_after.saturating_sub(peak_before),
    })
}
// ANCHOR_END: run_alone

impl ChildRun {
    /// The run as one line: `member ok count wall_us user_us sys_us rss_growth_kib`.
    pub fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {} {}",
            self.member,
            self.ok,
            self.count,
            self.wall.as_micros(),
            self.user.as_micros(),
            self.sys.as_micros(),
            self.rss_growth_kib
        )
    }

    /// Read a line written by [`ChildRun::line`].
    pub fn parse(line: &str) -> Option<ChildRun> {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [member, ok, count, wall, user, sys, rss] = f.as_slice() else {
            return None;
        };
        let micros = |s: &str| s.parse::<u64>().ok().map(Duration::from_micros);
        Some(ChildRun {
            member: member.to_string(),
            ok: ok.parse().ok()?,
            count: count.parse().ok()?,
            wall: micros(wall)?,
            user: micros(user)?,
            sys: micros(sys)?,
            rss_growth_kib: rss.parse().ok()?,
        })
    }

    /// CPU time (user + system) per fetch.
    pub fn cpu_per_fetch(&self) -> Duration {
        (self.user + self.sys).div_f64(self.count.max(1) as f64)
    }

    /// Peak-RSS growth per fetch, in KiB.
    pub fn kib_per_fetch(&self) -> f64 {
        self.rss_growth_kib as f64 / self.count.max(1) as f64
    }
}
