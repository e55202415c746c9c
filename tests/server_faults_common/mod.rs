//! What the fault tests of both servers share: one way to start either server (the delay server
//! of `workload::server`, or `workload::http_server` in either flavour) with a short head
//! timeout, one well-behaved client that checks an answer, and the tools of the out-of-descriptors
//! tests (lowering `RLIMIT_NOFILE` to exactly what is open, reading the process's CPU time).
//!
//! A fault test asks one question of all three servers: does the fault stay inside the one
//! connection it happens on? Each starts a server, misbehaves on some connections, and checks
//! that a well-behaved client is served meanwhile, with condition polling and generous upper
//! bounds, never a timing assertion.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, UsageWho, getrlimit, getrusage, setrlimit};
use taketurns::workload::http_server::{Flavor, HttpOptions, HttpServer, get_blocking};
use taketurns::workload::{ServerOptions, ShutdownHandle, spawn_server_thread_with};

/// How long a client may dawdle over a request head in the tests of the head timeout: short, so
/// that a test that waits for a timeout is quick, and long enough for a well-behaved client on a
/// loaded machine. The other tests use [`PATIENCE`], so that a kept-alive connection the test
/// leaves idle for a while on a busy machine is not closed under it.
pub const HEAD_TIMEOUT: Duration = Duration::from_millis(500);

/// The generous bound on anything these tests wait for (a timeout to fire, a reply to arrive).
pub const PATIENCE: Duration = Duration::from_secs(10);

/// One of the three servers under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// `workload::spawn_server_thread_with`.
    DelayServer,
    /// `workload::http_server::HttpServer` of this flavour.
    Http(Flavor),
}

impl Subject {
    /// All three.
    pub const ALL: [Subject; 3] = [
        Subject::DelayServer,
        Subject::Http(Flavor::EventLoop),
        Subject::Http(Flavor::ThreadPerConnection),
    ];

    /// Start it on a free loopback port with [`HEAD_TIMEOUT`] for the first request head and
    /// for each later one on a kept-alive connection.
    pub fn start(self) -> Running {
        self.start_with(HEAD_TIMEOUT)
    }

    /// Start it with [`PATIENCE`] as its head timeouts, for tests that are not about them.
    pub fn start_patient(self) -> Running {
        self.start_with(PATIENCE)
    }

    /// Start it on a free loopback port with `head_timeout` for the first request head and for
    /// each later one on a kept-alive connection.
    fn start_with(self, head_timeout: Duration) -> Running {
        match self {
            Subject::DelayServer => {
                let options = ServerOptions {
                    header_timeout: head_timeout,
                    idle_timeout: head_timeout,
                    ..ServerOptions::default()
                };
                let (addr, handle) = spawn_server_thread_with("127.0.0.1:0", options).unwrap();
                Running {
                    subject: self,
                    addr,
                    handle: Handle::Delay(handle),
                }
            }
            Subject::Http(flavor) => {
                let options = HttpOptions {
                    request_timeout: head_timeout,
                    ..HttpOptions::default()
                };
                let server = HttpServer::start("127.0.0.1:0", flavor, options).unwrap();
                Running {
                    subject: self,
                    addr: server.local_addr(),
                    handle: Handle::Http(server),
                }
            }
        }
    }

    /// A path this server answers with `200` and a short body after `delay_ms`.
    pub fn path(self, delay_ms: u64) -> String {
        match self {
            Subject::DelayServer => format!("/?delay_ms={delay_ms}&size=16"),
            Subject::Http(_) => format!("/delay?ms={delay_ms}"),
        }
    }

    /// Bytes that make this server write more than the socket buffers hold: one 64 MiB body from
    /// the delay server, two thousand pipelined answers from http_server (the requests
    /// themselves fit in the buffers, so sending them does not wait for the answers).
    pub fn flood_request(self) -> Vec<u8> {
        match self {
            Subject::DelayServer => {
                b"GET /?size=67108864 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec()
            }
            Subject::Http(_) => b"GET / HTTP/1.1\r\nHost: t\r\n\r\n".repeat(2_000),
        }
    }
}

/// A started server and its counters.
pub struct Running {
    /// Which server this is.
    pub subject: Subject,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server's own handle; stops it when dropped.
    handle: Handle,
}

/// Either server's handle.
enum Handle {
    /// The delay server's.
    Delay(ShutdownHandle),
    /// http_server's.
    Http(HttpServer),
}

impl Running {
    /// Connections the server has accepted so far.
    pub fn accepted(&self) -> u64 {
        match &self.handle {
            Handle::Delay(h) => h.connections_accepted(),
            Handle::Http(s) => s.stats().connections(),
        }
    }

    /// Requests the server has answered (with `200`, or `404` for http_server) so far.
    pub fn answered(&self) -> u64 {
        match &self.handle {
            Handle::Delay(h) => h.requests_answered(),
            Handle::Http(s) => s.stats().requests(),
        }
    }

    /// A well-behaved client on a connection of its own: one request, a `200` back.
    pub fn serve_one(&self) {
        let mut conn = self.connect();
        self.ask(&mut conn, 5);
    }

    /// A new connection with [`PATIENCE`] as its read and write timeouts.
    pub fn connect(&self) -> TcpStream {
        let conn = TcpStream::connect(self.addr).unwrap();
        conn.set_read_timeout(Some(PATIENCE)).unwrap();
        conn.set_write_timeout(Some(PATIENCE)).unwrap();
        conn
    }

    /// One keep-alive request on `conn`, answered `200` after `delay_ms`.
    pub fn ask(&self, conn: &mut TcpStream, delay_ms: u64) {
        let path = self.subject.path(delay_ms);
        let reply = get_blocking(conn, &path)
            .unwrap_or_else(|e| panic!("{:?}: GET {path} failed: {e}", self.subject));
        assert_eq!(reply.status, 200, "{:?}: GET {path}", self.subject);
        assert!(
            !reply.closes,
            "{:?}: the connection stays open",
            self.subject
        );
    }

    /// Stop the server; it must not have stopped itself with an error.
    pub fn shutdown(self) -> io::Result<()> {
        match self.handle {
            Handle::Delay(h) => h.shutdown(),
            Handle::Http(s) => s.shutdown(),
        }
    }
}

/// Whether the server closed `conn`, waiting at most [`PATIENCE`]: a read sees the end of
/// stream or a reset. Whatever the server sends first (it should send nothing) is returned too.
pub fn closed_by_server(conn: &mut TcpStream) -> (bool, Vec<u8>) {
    conn.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return (true, got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return (true, got),
            Err(_) => return (false, got),
        }
    }
}

/// The server's side of its open connections on `port`, from `/proc/net/tcp`: every IPv4
/// socket with that local port that is neither listening nor in `TIME_WAIT`. Another process's
/// sockets cannot have the port, since the server holds it.
pub fn server_side_connections(port: u16) -> usize {
    const LISTEN: &str = "0A";
    const TIME_WAIT: &str = "06";
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local_port = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3
                && fields[1].ends_with(&local_port)
                && fields[3] != LISTEN
                && fields[3] != TIME_WAIT
        })
        .count()
}

/// Poll `condition` every 10 ms until it holds or `bound` has passed; whether it held.
pub fn eventually(bound: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Send `bytes` on `conn`, panicking with the subject's name on failure.
pub fn send(conn: &mut TcpStream, bytes: &[u8], subject: Subject) {
    conn.write_all(bytes)
        .unwrap_or_else(|e| panic!("{subject:?}: sending a request failed: {e}"));
}

// ---------------------------------------------------------------------------------------------
// Out of descriptors
// ---------------------------------------------------------------------------------------------

/// The process's CPU time so far, user and system, every thread together.
pub fn cpu_time() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let (user, system) = (usage.user_time(), usage.system_time());
    let micros = (user.tv_sec() + system.tv_sec()) * 1_000_000 + user.tv_usec() + system.tv_usec();
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

/// While it lives, the process can open no new descriptor: the soft `RLIMIT_NOFILE` is set so
/// that every descriptor number below it is taken and any new one would be above it (`EMFILE`).
/// Descriptors already open keep working. Dropping it restores the limit.
///
/// One subtlety: a thread blocked in `accept(2)` has already reserved the number of the
/// descriptor it will return (Linux allocates it before waiting), and that number is neither
/// listed in `/proc/self/fd` nor free. The limit is put at or below the lowest such number, so
/// each blocked `accept` can complete once more, with the number it holds, and then fails like
/// any other; [`FdSqueeze::reserved`] says how many such numbers there were.
pub struct FdSqueeze {
    /// The soft limit before the squeeze.
    soft: u64,
    /// The hard limit, unchanged.
    hard: u64,
    /// Descriptor numbers below the lowest free one that were reserved but not open.
    reserved: u64,
}

impl FdSqueeze {
    /// Squeeze now.
    pub fn new() -> FdSqueeze {
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let listed: Vec<u64> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        // The kernel hands out the lowest free number: this probe's number is the lowest free one.
        let lowest_free = std::fs::File::open("/dev/null").unwrap().as_raw_fd() as u64;
        let unlisted = (0..lowest_free).filter(|n| !listed.contains(n));
        let reserved = unlisted.clone().count() as u64;
        let limit = unlisted.min().unwrap_or(lowest_free);
        setrlimit(Resource::RLIMIT_NOFILE, limit, hard).unwrap();
        let squeeze = FdSqueeze {
            soft,
            hard,
            reserved,
        };
        assert!(
            std::fs::File::open("/dev/null").is_err(),
            "the squeeze leaves no descriptor free"
        );
        squeeze
    }

    /// How many blocked `accept`s may still complete once (see the type's docs).
    pub fn reserved(&self) -> u64 {
        self.reserved
    }
}

impl Drop for FdSqueeze {
    fn drop(&mut self) {
        setrlimit(Resource::RLIMIT_NOFILE, self.soft, self.hard).unwrap();
    }
}

/// Sockets made before a squeeze, to connect during it (connecting needs no new descriptor).
pub fn unconnected_sockets(n: usize) -> Vec<socket2::Socket> {
    (0..n)
        .map(|_| socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap())
        .collect()
}

/// The whole fault for one server: a kept-alive client is connected; descriptors run out; new
/// clients connect (into the listen backlog, since `accept` fails with `EMFILE`); for a second
/// the server must neither spin nor exit, and the kept-alive client is served request after
/// request; then descriptors are free again and every waiting client is served.
///
/// One call at a time in a process: the limit and the CPU time it checks are the process's, so a
/// second call squeezing at the same time would starve the first. The calls take turns on a lock.
pub fn survives_running_out_of_descriptors(subject: Subject) {
    /// Held for the whole call; a call that panicked leaves it poisoned, not held.
    static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _alone = ALONE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    const WAITING: usize = 4;
    const WINDOW: Duration = Duration::from_secs(1);
    let server = subject.start_patient();
    let mut kept = server.connect();
    server.ask(&mut kept, 0);
    let sockets = unconnected_sockets(WAITING);
    let accepted_before = server.accepted();
    let squeeze = FdSqueeze::new();
    let mut waiting: Vec<TcpStream> = sockets
        .into_iter()
        .map(|socket| {
            socket.connect(&server.addr.into()).unwrap();
            let mut conn = TcpStream::from(socket);
            conn.set_read_timeout(Some(PATIENCE)).unwrap();
            let request = format!(
                "GET {} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                subject.path(0)
            );
            send(&mut conn, request.as_bytes(), subject);
            conn
        })
        .collect();
    // The window: the server tries to accept, fails, and must back off rather than retry at
    // once; the kept-alive client keeps being served.
    let (cpu_before, started) = (cpu_time(), Instant::now());
    let mut served = 0;
    while started.elapsed() < WINDOW {
        server.ask(&mut kept, 20);
        served += 1;
    }
    let (cpu, wall) = (cpu_time() - cpu_before, started.elapsed());
    assert!(
        server.accepted() <= accepted_before + squeeze.reserved(),
        "{subject:?}: accept succeeded although no descriptor was free"
    );
    assert!(
        server.accepted() < accepted_before + WAITING as u64,
        "{subject:?}: every waiting client was accepted although no descriptor was free"
    );
    // A server retrying `accept` at once burns a core; one that backs off uses next to nothing.
    assert!(
        cpu < wall / 4,
        "{subject:?}: {cpu:?} of CPU in {wall:?} without descriptors ({served} answers): \
         the accept loop spins"
    );
    drop(squeeze);
    for conn in &mut waiting {
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 200 OK"),
            "{subject:?}: a client that waited for descriptors got {answer:?}"
        );
    }
    server.ask(&mut kept, 0);
    assert_eq!(server.accepted(), accepted_before + WAITING as u64);
    stops_while_out_of_descriptors(server);
}

/// Stopping the server works while descriptors are still exhausted and a client waits in the
/// backlog (the stop must not need a descriptor of its own).
fn stops_while_out_of_descriptors(server: Running) {
    let subject = server.subject;
    let sockets = unconnected_sockets(2);
    let squeeze = FdSqueeze::new();
    for socket in &sockets {
        socket.connect(&server.addr.into()).unwrap();
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(server.shutdown());
    });
    let stopped = done_rx.recv_timeout(PATIENCE);
    drop(squeeze);
    // Only now: a client that left would free a descriptor and let the stop off the hook.
    drop(sockets);
    match stopped {
        Ok(result) => result.unwrap_or_else(|e| panic!("{subject:?}: the server failed: {e}")),
        Err(_) => panic!("{subject:?}: shutdown hangs while descriptors are exhausted"),
    }
}
