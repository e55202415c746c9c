//! hyper's HTTP/1.1 server on taketurns: the ecosystem's HTTP stack on the runtime this crate
//! builds, through the adapter in `taketurns::hyper_rt`.
//!
//! ```console
//! $ cargo run --release --features hyper --example hyper_server                  # 127.0.0.1:8080
//! $ curl -v http://127.0.0.1:8080/ http://127.0.0.1:8080/delay?ms=100
//! $ wrk -t2 -c1000 -d10s --latency http://127.0.0.1:8080/
//! $ cargo run --release --features hyper --example hyper_server -- --serve-secs 30
//! ```
//!
//! Routes as `examples/http_server.rs`: `/` says hello, `/delay?ms=N` answers after N ms (a
//! taketurns timer, at most 60 s), anything else is `404`. Connections are kept alive; a client
//! that takes longer than `--request-timeout-ms` to send a request head is cut off by hyper's
//! `header_read_timeout`, which runs on our timer. With `--serve-secs`, the server stops accepting
//! after that long, asks every open connection to finish its request in flight and close
//! (hyper's `graceful_shutdown`), waits for them (at most 5 s), and prints what it served, its
//! peak memory (`VmHWM`) and CPU time. It is the tokio `current_thread` + hyper server of the
//! issue's comparison with `TokioIo` and `tokio::spawn` swapped for `hyper_rt` and `spawn`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::pin;
use std::process::ExitCode;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use taketurns::hyper_rt::{HyperStream, TaketurnsTimer};
use taketurns::net::TcpListener;
use taketurns::workload::machine;
use taketurns::workload::{LimitError, raise_fd_limit};

/// Serve `/` and `/delay?ms=N` with hyper's HTTP/1.1 server on taketurns.
#[derive(Parser, Debug)]
#[command(name = "hyper_server", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// How long a client may take to send a whole request head (hyper's `header_read_timeout`).
    #[arg(long, default_value_t = 10_000)]
    request_timeout_ms: u64,
    /// Stop gracefully after this many seconds and print a summary; without it, serve until
    /// Ctrl-C.
    #[arg(long)]
    serve_secs: Option<f64>,
}

/// Open files the server asks for: enough for `wrk -c 60000` if the hard limit allows.
const WANTED_FILES: u64 = 65_536;

/// The longest `/delay` honoured; a longer one gets `400`.
const MAX_DELAY_MS: u64 = 60_000;

/// How long a graceful stop waits for open connections before it gives up on them.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// The stop signal every connection task watches, and what the server counts.
#[derive(Default)]
struct Server {
    /// Set once when the server stops accepting; read by every connection task.
    stopping: Cell<bool>,
    /// The waker of each open connection's task, by connection number, to wake them at the stop.
    /// Each task keeps its own entry current and removes it when it ends.
    wakers: RefCell<HashMap<u64, Waker>>,
    /// Connections accepted.
    connections: Cell<u64>,
    /// Connections still open.
    open: Cell<u64>,
    /// Responses sent, of any status.
    requests: Cell<u64>,
    /// Connections that ended with a hyper error (a timeout, a malformed request, a reset).
    failed: Cell<u64>,
}

impl Server {
    /// Ready once the server is stopping; otherwise keeps `cx`'s waker under `id`.
    fn poll_stopping(&self, id: u64, cx: &mut Context<'_>) -> Poll<()> {
        if self.stopping.get() {
            return Poll::Ready(());
        }
        self.wakers.borrow_mut().insert(id, cx.waker().clone());
        Poll::Pending
    }

    /// Stop: every connection task is woken to begin its graceful shutdown.
    fn stop(&self) {
        self.stopping.set(true);
        let wakers: Vec<Waker> = self.wakers.borrow_mut().drain().map(|(_, w)| w).collect();
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The routes.
async fn handle(
    server: Rc<Server>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    server.requests.set(server.requests.get() + 1);
    let (status, body) = match request.uri().path() {
        "/" => (StatusCode::OK, "hello\n".to_owned()),
        "/delay" => {
            let ms = request
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("ms="))
                .and_then(|n| n.parse::<u64>().ok());
            match ms {
                Some(ms) if ms <= MAX_DELAY_MS => {
                    taketurns::time::sleep(Duration::from_millis(ms)).await;
                    (StatusCode::OK, format!("waited {ms} ms\n"))
                }
                _ => (
                    StatusCode::BAD_REQUEST,
                    format!("expected /delay?ms=N with N from 0 to {MAX_DELAY_MS}\n"),
                ),
            }
        }
        _ => (
            StatusCode::NOT_FOUND,
            "not found: try / or /delay?ms=100\n".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}

// ANCHOR: connection
/// Serve one connection until the client closes it, or, once the server stops, until the request
/// in flight is answered.
async fn connection(
    server: Rc<Server>,
    id: u64,
    stream: taketurns::net::TcpStream,
    timeout: Duration,
) {
    let service = service_fn({
        let server = Rc::clone(&server);
        move |request| handle(Rc::clone(&server), request)
    });
    let mut conn = pin!(
        hyper::server::conn::http1::Builder::new()
            .timer(TaketurnsTimer)
            .header_read_timeout(timeout)
            .serve_connection(HyperStream::new(stream), service)
    );
    let mut draining = false;
    let result = poll_fn(|cx| {
        if !draining && server.poll_stopping(id, cx).is_ready() {
            conn.as_mut().graceful_shutdown();
            draining = true;
        }
        conn.as_mut().poll(cx)
    })
    .await;
    server.wakers.borrow_mut().remove(&id);
    server.open.set(server.open.get() - 1);
    if result.is_err() {
        server.failed.set(server.failed.get() + 1);
    }
}
// ANCHOR_END: connection

fn main() -> ExitCode {
    let args = Args::parse();
    let files = match raise_fd_limit(WANTED_FILES) {
        Ok(files) => files,
        Err(LimitError::Files { soft, .. }) => soft,
        Err(e) => {
            eprintln!("hyper_server: {e}");
            0
        }
    };
    let timeout = Duration::from_millis(args.request_timeout_ms);
    let serve_for = args.serve_secs.map(|s| Duration::from_secs_f64(s.max(0.0)));
    taketurns::block_on(async move {
        let listener = match TcpListener::bind(args.addr.as_str()).await {
            Ok(listener) => listener,
            Err(e) => {
                let hint = match e.kind() {
                    std::io::ErrorKind::AddrInUse => {
                        " (another server uses that port: pass --addr)"
                    }
                    std::io::ErrorKind::InvalidInput => {
                        " (expected HOST:PORT, e.g. 127.0.0.1:8080)"
                    }
                    _ => "",
                };
                eprintln!("hyper_server: cannot listen on {}: {e}{hint}", args.addr);
                return ExitCode::FAILURE;
            }
        };
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        println!("{addr}");
        eprintln!(
            "hyper on taketurns on http://{addr}/ (up to about {files} open files), try: curl \
             http://{addr}/delay?ms=100"
        );
        let start = Instant::now();
        let stop_at = serve_for.map(|d| start + d);
        let server = Rc::new(Server::default());
        loop {
            let accepted = match stop_at {
                Some(at) => match taketurns::time::timeout(
                    at.saturating_duration_since(Instant::now()),
                    listener.accept(),
                )
                .await
                {
                    Ok(accepted) => accepted,
                    Err(_elapsed) => break,
                },
                None => listener.accept().await,
            };
            match accepted {
                Ok((stream, _)) => {
                    let id = server.connections.get();
                    server.connections.set(id + 1);
                    server.open.set(server.open.get() + 1);
                    taketurns::spawn(connection(Rc::clone(&server), id, stream, timeout));
                }
                // A failed accept (out of descriptors, a connection reset before the accept)
                // costs that one connection; a short pause lets finishing connections free
                // descriptors.
                Err(e) => {
                    eprintln!("hyper_server: accept failed: {e}");
                    taketurns::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        drop(listener);
        server.stop();
        let drain_until = Instant::now() + DRAIN_LIMIT;
        while server.open.get() > 0 && Instant::now() < drain_until {
            taketurns::time::sleep(Duration::from_millis(10)).await;
        }
        println!(
            "hyper on taketurns: {} requests on {} connections in {:.1} s ({} connections ended \
             with an error, {} still open after the graceful stop)",
            server.requests.get(),
            server.connections.get(),
            start.elapsed().as_secs_f64(),
            server.failed.get(),
            server.open.get(),
        );
        let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF);
        let cpu = usage.map_or(0.0, |u| {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        });
        println!(
            "peak RSS (VmHWM) {} KiB, CPU (user + system) {cpu:.2} s",
            machine::status_kib("VmHWM:").unwrap_or(0),
        );
        ExitCode::SUCCESS
    })
}
