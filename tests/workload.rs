//! The fetch workload: the delay server, the four clients, their errors, reports and limits.
//!
//! A misbehaving server written here with `std::net` (one behaviour per connection, in accept
//! order) checks that every kind of failure reaches the fetch it happened to, as its own
//! [`FetchError`] kind, while the other fetches of the same plan succeed. The last test counts the
//! process's file descriptors and threads, which other tests change: every test takes a shared
//! lock, and that one takes it exclusively, so it counts alone.

// The CPU tables of the lab bench (`taketurns::workload::cpu`), built small.
#[path = "workload/cpu_tables.rs"]
mod cpu_tables;
mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use taketurns::workload::{
    Client, FetchError, FetchErrorKind, FetchPlan, LimitError, Report, ServerOptions,
    raise_fd_limit, spawn_server_thread, spawn_server_thread_with,
};

/// Held shared by every test, exclusively by the one that counts descriptors and threads.
static PROCESS: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    PROCESS.read().unwrap_or_else(PoisonError::into_inner)
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    PROCESS.write().unwrap_or_else(PoisonError::into_inner)
}

const ALL_CLIENTS: [Client; 4] = [
    Client::Sequential,
    Client::ThreadPerTask,
    Client::ThreadPool(4),
    Client::EventLoop,
];

#[test]
fn four_clients_agree_on_the_same_plan() {
    let _g = shared();
    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    let plan = FetchPlan::delay_server(addr, 20, Duration::from_millis(5), 1000);
    for client in ALL_CLIENTS {
        let tally = client.run(&plan).unwrap();
        assert_eq!(
            (tally.ok, tally.bytes, tally.errors.total()),
            (20, 20_000, 0),
            "{client}: {:?}",
            tally.first_error
        );
    }
    server.shutdown().unwrap();
}

#[test]
fn the_delay_is_waited_and_the_body_has_the_size_asked() {
    let _g = shared();
    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    let plan = FetchPlan::delay_server(addr, 1, Duration::from_millis(100), 70_000);
    let request = plan.request().unwrap();
    let start = Instant::now();
    let bytes = taketurns::workload::fetch_blocking(addr, &request, plan.timeout).unwrap();
    assert_eq!(bytes, 70_000);
    assert!(start.elapsed() >= Duration::from_millis(100));
    let bytes = taketurns::block_on(taketurns::workload::fetch(addr, &request, plan.timeout));
    assert_eq!(bytes.unwrap(), 70_000);
    server.shutdown().unwrap();
}

// ---------------------------------------------------------------------------------------------
// A server that misbehaves
// ---------------------------------------------------------------------------------------------

/// What the test server does with one connection, after reading its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    /// A correct response with a 5-byte body.
    Answer,
    /// A first line that is not HTTP.
    Garbage,
    /// `Content-Length: 100`, then 10 bytes, then close.
    ShortBody,
    /// Close without a word.
    CloseEarly,
    /// Close with `SO_LINGER` 0: the kernel sends a reset.
    Reset,
    /// Keep the connection open and never answer.
    Silence,
    /// A correct `404 Not Found`.
    NotFound,
}

const EVERY_BEHAVIOUR: [Behaviour; 7] = [
    Behaviour::Answer,
    Behaviour::Garbage,
    Behaviour::ShortBody,
    Behaviour::CloseEarly,
    Behaviour::Reset,
    Behaviour::Silence,
    Behaviour::NotFound,
];

/// A `std::net` server on its own thread that treats the k-th connection it accepts according to
/// `behaviours[k % len]`. Connections are handled one at a time, in accept order, so the number
/// of fetches that meet each behaviour is exact whatever order the client connects in.
struct MisbehavingServer {
    /// Where it listens.
    addr: SocketAddr,
    /// Set by `Drop`; the accept loop checks it after every connection.
    stop: Arc<AtomicBool>,
    /// The accept loop, joined by `Drop`.
    thread: Option<thread::JoinHandle<()>>,
}

impl MisbehavingServer {
    fn start(behaviours: &[Behaviour]) -> MisbehavingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let behaviours = behaviours.to_vec();
        let thread = thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                // Silent connections are kept here until the server stops.
                let mut silent = Vec::new();
                for (k, stream) in listener.incoming().enumerate() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    if let Some(kept) = misbehave(stream, behaviours[k % behaviours.len()]) {
                        silent.push(kept);
                    }
                }
            }
        });
        MisbehavingServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for MisbehavingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with one last connection.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

/// Read the request (so that closing never resets because of unread bytes), then misbehave.
fn misbehave(mut stream: TcpStream, behaviour: Behaviour) -> Option<TcpStream> {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.ends_with(b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let answer: &[u8] = match behaviour {
        Behaviour::Answer => {
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        }
        Behaviour::Garbage => b"SPLAT\r\n\r\n",
        Behaviour::ShortBody => b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
        Behaviour::NotFound => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        Behaviour::CloseEarly => b"",
        Behaviour::Reset => {
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            return None;
        }
        Behaviour::Silence => return Some(stream),
    };
    let _ = stream.write_all(answer);
    None
}

/// The error kind each behaviour must produce (`None`: success).
fn expected_kind(behaviour: Behaviour) -> Option<FetchErrorKind> {
    match behaviour {
        Behaviour::Answer => None,
        Behaviour::Garbage | Behaviour::CloseEarly => Some(FetchErrorKind::Malformed),
        Behaviour::ShortBody => Some(FetchErrorKind::ShortBody),
        Behaviour::Reset => Some(FetchErrorKind::Reset),
        Behaviour::Silence => Some(FetchErrorKind::Timeout),
        Behaviour::NotFound => Some(FetchErrorKind::Status),
    }
}

/// A short timeout, so that the silent server costs little.
const IMPATIENT: Duration = Duration::from_millis(300);

#[test]
fn each_misbehaviour_gives_its_own_error_blocking_and_async() {
    let _g = shared();
    for behaviour in EVERY_BEHAVIOUR {
        let server = MisbehavingServer::start(&[behaviour]);
        let plan = FetchPlan::new(server.addr, 1).with_timeout(IMPATIENT);
        let request = plan.request().unwrap();
        let blocking = taketurns::workload::fetch_blocking(server.addr, &request, IMPATIENT);
        let nonblocking =
            taketurns::block_on(taketurns::workload::fetch(server.addr, &request, IMPATIENT));
        for outcome in [blocking, nonblocking] {
            match (behaviour, outcome) {
                (Behaviour::Answer, Ok(5)) => {}
                (Behaviour::Garbage, Err(FetchError::Malformed(detail))) => {
                    assert!(detail.contains("SPLAT"), "{detail}");
                }
                (Behaviour::CloseEarly, Err(FetchError::Malformed(detail))) => {
                    assert!(detail.contains("without sending a response"), "{detail}");
                }
                (
                    Behaviour::ShortBody,
                    Err(FetchError::ShortBody {
                        expected: 100,
                        got: 10,
                    }),
                ) => {}
                (Behaviour::Reset, Err(FetchError::Reset)) => {}
                (Behaviour::Silence, Err(FetchError::Timeout(after))) => {
                    assert_eq!(after, IMPATIENT);
                }
                (Behaviour::NotFound, Err(FetchError::Status(404))) => {}
                (behaviour, outcome) => panic!("{behaviour:?} gave {outcome:?}"),
            }
        }
    }
}

#[test]
fn one_bad_connection_spoils_no_other_fetch_in_any_client() {
    let _g = shared();
    for client in ALL_CLIENTS {
        let server = MisbehavingServer::start(&EVERY_BEHAVIOUR);
        // Three connections meet each behaviour.
        let plan = FetchPlan::new(server.addr, 3 * EVERY_BEHAVIOUR.len()).with_timeout(IMPATIENT);
        let tally = client.run(&plan).unwrap();
        assert_eq!(tally.ok, 3, "{client}: {:?}", tally.errors);
        assert_eq!(tally.bytes, 15);
        for kind in FetchErrorKind::ALL {
            let expected = 3 * EVERY_BEHAVIOUR
                .iter()
                .filter(|&&b| expected_kind(b) == Some(kind))
                .count() as u64;
            assert_eq!(
                tally.errors.get(kind),
                expected,
                "{client}: {} errors: {:?}",
                kind.name(),
                tally.errors
            );
        }
    }
}

#[test]
fn nothing_listening_is_refused_with_a_helpful_message() {
    let _g = shared();
    // A port that was free a moment ago: bind, note it, close.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let plan = FetchPlan::new(addr, 3);
    for client in ALL_CLIENTS {
        let tally = client.run(&plan).unwrap();
        assert_eq!(tally.errors.get(FetchErrorKind::Refused), 3, "{client}");
        let message = tally.first_error.unwrap().to_string();
        assert!(
            message.contains("refused") && message.contains("server running"),
            "{message}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The delay server's own defences
// ---------------------------------------------------------------------------------------------

/// Send `bytes` on a new connection and read everything until the server closes.
fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn bad_requests_get_400_405_431_and_the_server_goes_on() {
    let _g = shared();
    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    let answer = raw_exchange(addr, b"NONSENSE\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request"), "{answer}");
    let answer = raw_exchange(addr, b"GET /?delay_ms=soon HTTP/1.1\r\n\r\n");
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("delay_ms"),
        "{answer}"
    );
    let answer = raw_exchange(addr, b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    let mut huge = b"GET / HTTP/1.1\r\nX-Padding: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 20_000));
    huge.extend_from_slice(b"\r\n\r\n");
    let answer = raw_exchange(addr, &huge);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // And a good request right after.
    let tally = Client::EventLoop
        .run(&FetchPlan::delay_server(addr, 5, Duration::ZERO, 10))
        .unwrap();
    assert_eq!(tally.ok, 5);
    server.shutdown().unwrap();
}

#[test]
fn a_silent_client_is_disconnected_while_others_are_served() {
    let _g = shared();
    let options = ServerOptions {
        header_timeout: Duration::from_millis(200),
        ..ServerOptions::default()
    };
    let (addr, server) = spawn_server_thread_with("127.0.0.1:0", options).unwrap();
    let mut silent = TcpStream::connect(addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // Half a request: not complete, so the header timeout applies.
    silent.write_all(b"GET / HTT").unwrap();
    let tally = Client::ThreadPool(2)
        .run(&FetchPlan::delay_server(
            addr,
            4,
            Duration::from_millis(10),
            10,
        ))
        .unwrap();
    assert_eq!(tally.ok, 4);
    let start = Instant::now();
    let mut buf = [0u8; 16];
    assert_eq!(
        silent.read(&mut buf).unwrap(),
        0,
        "closed without an answer"
    );
    assert!(start.elapsed() < Duration::from_secs(4));
    server.shutdown().unwrap();
}

#[test]
fn shutdown_closes_the_listening_socket() {
    let _g = shared();
    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    // A connection waiting for its delay is dropped by the shutdown, too.
    let mut waiting = TcpStream::connect(addr).unwrap();
    waiting
        .write_all(b"GET /?delay_ms=60000 HTTP/1.1\r\n\r\n")
        .unwrap();
    server.shutdown().unwrap();
    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    waiting
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = waiting.read_to_end(&mut rest);
    assert!(rest.is_empty(), "no answer after shutdown");
    let _ = waiting.shutdown(Shutdown::Both);
}

// ---------------------------------------------------------------------------------------------
// Plans, reports, limits
// ---------------------------------------------------------------------------------------------

#[test]
fn targets_parse_and_bad_ones_say_why() {
    let plan = FetchPlan::from_target("127.0.0.1:8000/index.html", 7).unwrap();
    assert_eq!(plan.addr, "127.0.0.1:8000".parse().unwrap());
    assert_eq!(
        (plan.host.as_str(), plan.path.as_str(), plan.count),
        ("127.0.0.1:8000", "/index.html", 7)
    );
    let plan = FetchPlan::from_target("http://localhost:80", 1).unwrap();
    assert_eq!(plan.path, "/");
    assert!(plan.addr.is_ipv4());
    for (bad, why) in [
        ("localhost", "HOST:PORT"),
        ("https://example.com:443/", "https"),
        ("127.0.0.1:8000/a b", "path"),
    ] {
        let message = FetchPlan::from_target(bad, 1).unwrap_err().to_string();
        assert!(message.contains(why), "{bad}: {message}");
    }
}

#[test]
fn a_report_round_trips_through_json_and_lines_up_in_a_table() {
    let _g = shared();
    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    let delay = Duration::from_millis(20);
    let plan = FetchPlan::delay_server(addr, 10, delay, 100);
    let report = Report::measure(Client::EventLoop, &plan, Some(delay)).unwrap();
    server.shutdown().unwrap();
    assert!(report.all_ok());
    assert_eq!(
        report.delay_floor(),
        Some(delay),
        "one round for the event loop"
    );
    assert!(report.wall >= delay);
    let back = serde_json::from_str::<Report>(&report.to_json()).unwrap();
    assert_eq!(back.wall.as_micros(), report.wall.as_micros());
    assert_eq!(back.errors, report.errors);
    assert_eq!(back.client, "event-loop");

    let mut failing = back.clone();
    failing.client = "thread-pool(2)".to_string();
    failing.concurrency = 2;
    failing.errors.add(FetchErrorKind::Timeout);
    failing.first_error = Some("no complete response".to_string());
    assert_eq!(
        failing.delay_floor(),
        Some(delay * 5),
        "ceil(10 / 2) rounds"
    );
    let table = Report::table(&[back, failing]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("client") && lines[1].starts_with("event-loop"));
    let width = lines[0].chars().count();
    assert!(
        lines[..3].iter().all(|l| l.chars().count() == width),
        "{table}"
    );
    assert!(lines[3].contains("1 timeout") && lines[3].contains("no complete response"));
}

#[test]
fn an_impossible_file_limit_says_how_to_raise_it() {
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    if hard == nix::sys::resource::RLIM_INFINITY {
        eprintln!("skipped: the hard open-file limit is unlimited here");
        return;
    }
    match raise_fd_limit(hard + 1) {
        Err(e @ LimitError::Files { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains(&format!("ulimit -n {}", hard + 1)),
                "{message}"
            );
        }
        other => panic!("expected LimitError::Files, got {other:?}"),
    }
    assert_eq!(
        raise_fd_limit(16).unwrap(),
        hard,
        "already raised as far as it goes"
    );
}

// ---------------------------------------------------------------------------------------------
// Five thousand at once, and nothing left behind
// ---------------------------------------------------------------------------------------------

/// Open descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .collect()
}

/// Wait (at most 10 s) until `condition` holds; the kernel may close a socket a moment after
/// the last reference to it goes.
fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
    true
}

#[test]
fn five_thousand_concurrent_fetches_then_no_descriptor_or_thread_left() {
    let _g = exclusive();
    const FETCHES: usize = 5_000;
    // Client sockets and server sockets live in this one process.
    if let Err(e) = raise_fd_limit(2 * FETCHES as u64 + 256) {
        panic!("this test needs more open files: {e}");
    }
    let fds_before = open_fds();
    let me = thread_names().len();
    let my_name = thread::current()
        .name()
        .map(|n| n.chars().take(15).collect::<String>());

    let (addr, server) = spawn_server_thread("127.0.0.1:0").unwrap();
    assert!(thread_names().iter().any(|n| n == "delay-server"));
    let plan = FetchPlan::delay_server(addr, FETCHES, Duration::from_millis(50), 1024);
    let tally = Client::EventLoop.run(&plan).unwrap();
    assert_eq!(
        tally.ok, FETCHES as u64,
        "{:?}: {:?}",
        tally.errors, tally.first_error
    );
    assert_eq!(tally.bytes, FETCHES as u64 * 1024);
    let small = plan.clone().with_count(200);
    for client in [Client::ThreadPerTask, Client::ThreadPool(16)] {
        assert_eq!(client.run(&small).unwrap().ok, 200, "{client}");
    }
    server.shutdown().unwrap();

    assert!(
        eventually(|| open_fds() == fds_before),
        "descriptors left behind: {} before, {} after",
        fds_before,
        open_fds()
    );
    let names = thread_names();
    assert!(
        !names
            .iter()
            .any(|n| n == "delay-server" || n.starts_with("taketurns-pool")),
        "threads left behind: {names:?}"
    );
    if let Some(my_name) = my_name {
        // Thread-per-task threads inherit this thread's name; only this thread may have it now.
        assert_eq!(
            names.iter().filter(|n| **n == my_name).count(),
            1,
            "{names:?}"
        );
    } else {
        assert_eq!(names.len(), me, "{names:?}");
    }
}
