//! hyper 1.x on taketurns (`taketurns::hyper_rt`): hyper's client against hyper's server, both on
//! taketurns; each against hyper on tokio in another thread; 1,000 concurrent keep-alive
//! connections with every response checked; a slow client cut off by hyper's `header_read_timeout`
//! (which runs on our timer); and a handler that panics, with the other connections still served.
//!
//! The tests check orders and counts, never speed: time bounds are generous upper limits, and a
//! watchdog aborts a test that hangs. The tokio side uses hyper's own connection API over a small
//! tokio socket adapter written here (hyper-util's `TokioIo` would do the same).

use std::cell::RefCell;
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::support::watchdog::watchdog;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use taketurns::hyper_rt::{HyperStream, TaketurnsTimer};
use taketurns::net::{TcpListener, TcpStream};

/// What a connection task of the taketurns server ended with: `Ok` or hyper's error.
type Outcomes = Rc<RefCell<Vec<Result<(), hyper::Error>>>>;

/// The test server's routes: `/` says hello, `/echo?X` answers `X`, `/delay?ms=N` answers after
/// a taketurns sleep of N ms, and `/panic` panics inside the handler.
async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let query = request.uri().query().unwrap_or("").to_owned();
    let body = match request.uri().path() {
        "/" => "hello".to_owned(),
        "/echo" => query,
        "/delay" => {
            let ms: u64 = query
                .strip_prefix("ms=")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            taketurns::time::sleep(Duration::from_millis(ms)).await;
            format!("waited {ms} ms")
        }
        "/panic" => panic!("this handler panics on purpose"),
        _ => {
            let mut not_found = Response::new(Full::new(Bytes::from_static(b"not found")));
            *not_found.status_mut() = StatusCode::NOT_FOUND;
            return Ok(not_found);
        }
    };
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// Serve hyper http1 on `listener` forever (on the current taketurns runtime), one task per
/// connection, each task's outcome pushed onto `outcomes`.
async fn serve(listener: TcpListener, header_timeout: Duration, outcomes: Outcomes) {
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        let outcomes = Rc::clone(&outcomes);
        taketurns::spawn(async move {
            let result = hyper::server::conn::http1::Builder::new()
                .timer(TaketurnsTimer)
                .header_read_timeout(header_timeout)
                .serve_connection(HyperStream::new(stream), service_fn(handle))
                .await;
            outcomes.borrow_mut().push(result);
        });
    }
}

/// Start the taketurns hyper server on this runtime; its address and the outcome list.
async fn start_server(header_timeout: Duration) -> (SocketAddr, Outcomes) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let outcomes = Outcomes::default();
    taketurns::spawn(serve(listener, header_timeout, Rc::clone(&outcomes)));
    (addr, outcomes)
}

/// Open a hyper client connection over a taketurns socket; its driver runs as a task.
async fn connect(addr: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) = hyper::client::conn::http1::handshake(HyperStream::new(stream))
        .await
        .expect("handshake");
    taketurns::spawn(async move {
        let _ = connection.await;
    });
    sender
}

/// Send `GET path` on `sender` (kept alive) and read the whole answer.
async fn get(
    sender: &mut SendRequest<Empty<Bytes>>,
    path: &str,
) -> Result<(StatusCode, String), hyper::Error> {
    sender.ready().await?;
    let request = Request::get(path)
        .header(hyper::header::HOST, "localhost")
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8(body.to_vec()).unwrap()))
}

#[test]
fn taketurns_client_against_taketurns_server() {
    let _watchdog = watchdog();
    taketurns::block_on(async {
        let (addr, outcomes) = start_server(Duration::from_secs(30)).await;
        let mut sender = connect(addr).await;
        // One kept-alive connection, requests answered in order.
        assert_eq!(
            get(&mut sender, "/").await.unwrap(),
            (StatusCode::OK, "hello".into())
        );
        for i in 0..10 {
            let answer = get(&mut sender, &format!("/echo?{i}")).await.unwrap();
            assert_eq!(answer, (StatusCode::OK, i.to_string()));
        }
        let start = Instant::now();
        let answer = get(&mut sender, "/delay?ms=30").await.unwrap();
        assert_eq!(answer, (StatusCode::OK, "waited 30 ms".into()));
        assert!(
            start.elapsed() >= Duration::from_millis(30),
            "a sleep ended early"
        );
        assert_eq!(
            get(&mut sender, "/nope").await.unwrap().0,
            StatusCode::NOT_FOUND
        );
        // Closing the client ends the server's connection task cleanly, and only then.
        assert!(outcomes.borrow().is_empty());
        drop(sender);
        wait_until(|| !outcomes.borrow().is_empty()).await;
        assert!(matches!(outcomes.borrow()[..], [Ok(())]));
    });
}

/// Poll `done` between turns of the loop, for at most 30 s.
async fn wait_until(mut done: impl FnMut() -> bool) {
    let limit = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < limit, "condition not met within 30 s");
        taketurns::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn thousand_concurrent_keep_alive_connections() {
    const CONNECTIONS: usize = 1_000;
    const REQUESTS: usize = 3;
    let _watchdog = watchdog();
    check_fd_limit(2 * CONNECTIONS + 100);
    taketurns::block_on(async {
        let (addr, outcomes) = start_server(Duration::from_secs(30)).await;
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                taketurns::spawn(async move {
                    let mut sender = connect(addr).await;
                    let mut answers = Vec::new();
                    for r in 0..REQUESTS {
                        let (status, body) = get(&mut sender, &format!("/echo?{c}-{r}"))
                            .await
                            .expect("request");
                        assert_eq!(status, StatusCode::OK);
                        answers.push(body);
                    }
                    answers
                })
            })
            .collect();
        for (c, client) in clients.into_iter().enumerate() {
            let answers = client.await.expect("client task");
            let expected: Vec<String> = (0..REQUESTS).map(|r| format!("{c}-{r}")).collect();
            assert_eq!(answers, expected, "connection {c}");
        }
        // Every client dropped its connection: every server task ends, and cleanly.
        wait_until(|| outcomes.borrow().len() == CONNECTIONS).await;
        let failed = outcomes.borrow().iter().filter(|r| r.is_err()).count();
        assert_eq!(failed, 0);
    });
}

/// Fail with a clear message if the process may not open `needed` descriptors.
fn check_fd_limit(needed: usize) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<usize>().ok());
    if let Some(soft) = soft {
        assert!(
            soft >= needed,
            "this test needs {needed} open files and the limit is {soft}: run `ulimit -n {needed}` first"
        );
    }
}

#[test]
fn slow_client_is_cut_off_by_hypers_header_timeout_on_our_timer() {
    let _watchdog = watchdog();
    let timeout = Duration::from_millis(200);
    let rt = taketurns::Runtime::new().unwrap();
    let (addr, outcomes) = rt.block_on(start_server(timeout));
    // The slow client is a blocking socket on its own thread: half a request head, then silence.
    let client = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let start = Instant::now();
        stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        let mut answer = Vec::new();
        // Ends when the server closes the connection (a 30 s read timeout would fail the test).
        stream
            .read_to_end(&mut answer)
            .expect("server closes the connection");
        (
            start.elapsed(),
            String::from_utf8_lossy(&answer).into_owned(),
        )
    });
    rt.block_on(wait_until(|| !outcomes.borrow().is_empty()));
    let (elapsed, answer) = client.join().unwrap();
    assert!(
        elapsed >= timeout,
        "cut off before the timeout: {elapsed:?}"
    );
    assert!(
        !answer.contains("200 OK"),
        "a half request was answered: {answer}"
    );
    let outcomes = outcomes.borrow();
    let error = outcomes[0].as_ref().expect_err("the connection must fail");
    assert!(
        error.is_timeout(),
        "expected hyper's header timeout, got: {error}"
    );
}

#[test]
fn a_panicking_handler_does_not_take_the_loop_down() {
    let _watchdog = watchdog();
    taketurns::block_on(async {
        let (addr, outcomes) = start_server(Duration::from_secs(30)).await;
        let mut before = connect(addr).await;
        assert_eq!(get(&mut before, "/").await.unwrap().1, "hello");
        // This connection's task panics in the handler: the client sees its connection end.
        let mut doomed = connect(addr).await;
        assert!(get(&mut doomed, "/panic").await.is_err());
        // The connection opened before, and a new one, are still served by the same loop.
        assert_eq!(get(&mut before, "/echo?still").await.unwrap().1, "still");
        let mut after = connect(addr).await;
        assert_eq!(get(&mut after, "/echo?new").await.unwrap().1, "new");
        // The panicking task never reported an outcome: it was unwound, not finished.
        assert!(outcomes.borrow().is_empty());
    });
}

/// tokio's `TcpStream` as hyper's connection type: the safe copy, as in `HyperStream`.
struct TokioStream(tokio::net::TcpStream);

impl hyper::rt::Read for TokioStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut scratch = [0u8; 8192];
        let want = buf.remaining().min(scratch.len());
        let mut read = tokio::io::ReadBuf::new(&mut scratch[..want]);
        match tokio::io::AsyncRead::poll_read(Pin::new(&mut self.get_mut().0), cx, &mut read) {
            Poll::Ready(Ok(())) => {
                buf.put_slice(read.filled());
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
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

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().0), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.get_mut().0), cx)
    }
}

#[test]
fn taketurns_client_against_tokio_server() {
    let _watchdog = watchdog();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    // A hyper server on tokio's current_thread runtime, on its own thread, for one connection.
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(|request: Request<Incoming>| async move {
                let text = format!("tokio saw {}", request.uri());
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
            });
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioStream(stream), service)
                .await
        })
    });
    taketurns::block_on(async {
        let mut sender = connect(addr).await;
        for i in 0..5 {
            let answer = get(&mut sender, &format!("/echo?{i}")).await.unwrap();
            assert_eq!(answer, (StatusCode::OK, format!("tokio saw /echo?{i}")));
        }
    });
    // The client runtime is gone, its connection closed: the server's connection ends cleanly.
    server
        .join()
        .unwrap()
        .expect("tokio's connection ends cleanly");
}

#[test]
fn tokio_client_against_taketurns_server() {
    let _watchdog = watchdog();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Vec<Result<(), String>>>();
    // The taketurns server on its own thread, until its one connection ends.
    let server = std::thread::spawn(move || {
        taketurns::block_on(async move {
            let listener = TcpListener::from_std(std_listener).unwrap();
            let outcomes = Outcomes::default();
            taketurns::spawn(serve(
                listener,
                Duration::from_secs(30),
                Rc::clone(&outcomes),
            ));
            wait_until(|| !outcomes.borrow().is_empty()).await;
            let outcomes = outcomes
                .borrow()
                .iter()
                .map(|r| r.as_ref().map(|_| ()).map_err(|e| e.to_string()))
                .collect();
            done_tx.send(outcomes).unwrap();
        });
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioStream(stream))
                .await
                .unwrap();
        let driver = tokio::spawn(connection);
        let mut answers = Vec::new();
        for path in ["/", "/echo?from-tokio", "/delay?ms=10"] {
            sender.ready().await.unwrap();
            let request = Request::get(path)
                .header(hyper::header::HOST, "x")
                .body(Empty::new())
                .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            answers.push(String::from_utf8(body.to_vec()).unwrap());
        }
        assert_eq!(answers, ["hello", "from-tokio", "waited 10 ms"]);
        drop(sender);
        driver.await.unwrap().unwrap();
    });
    let outcomes = done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server reports");
    assert_eq!(outcomes, [Ok(())]);
    server.join().unwrap();
}
