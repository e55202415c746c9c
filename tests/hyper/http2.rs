//! HTTP/2 on taketurns (`taketurns::hyper_rt` with the `hyper-http2` feature): hyper's HTTP/2
//! client against hyper's HTTP/2 server, both on one taketurns runtime, over one connection.
//!
//! HTTP/2 is where hyper leans on the runtime more than HTTP/1 does: the server hands every
//! stream to the executor as a task of its own, the client's connection runs as a spawned task,
//! and keep-alive pings reset a timer again and again. The tests check that a hundred requests
//! multiplexed on one connection each get their own answer (including answers that finish out
//! of order), that the streams really ran as tasks of our runtime, and that a connection idle
//! across many ping intervals still answers. They check orders and counts, never speed; a
//! watchdog aborts a test that hangs.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use crate::support::watchdog::watchdog;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper::service::service_fn;
use hyper::{Request, Response};
use taketurns::hyper_rt::{HyperStream, TaketurnsExecutor, TaketurnsTimer};
use taketurns::net::{TcpListener, TcpStream};

/// `/echo?X` answers `X` after a sleep of `X` ms modulo 20, so that answers finish out of order.
async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let query = request.uri().query().unwrap_or("").to_owned();
    let n: u64 = query.parse().unwrap_or(0);
    taketurns::time::sleep(Duration::from_millis(20 - n % 20)).await;
    Ok(Response::new(Full::new(Bytes::from(query))))
}

/// Serve HTTP/2 (prior knowledge, no TLS) on one accepted connection after another, each on a
/// task; `ping` turns on keep-alive pings at that interval.
async fn serve(listener: TcpListener, ping: Option<Duration>) {
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        taketurns::spawn(async move {
            let mut builder = hyper::server::conn::http2::Builder::new(TaketurnsExecutor);
            builder.timer(TaketurnsTimer);
            if let Some(interval) = ping {
                builder
                    .keep_alive_interval(interval)
                    .keep_alive_timeout(Duration::from_secs(5));
            }
            let _ = builder
                .serve_connection(HyperStream::new(stream), service_fn(handle))
                .await;
        });
    }
}

/// Start the server on this runtime and return its address.
async fn start_server(ping: Option<Duration>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    taketurns::spawn(serve(listener, ping));
    addr
}

/// One HTTP/2 client connection over a taketurns socket; hyper spawns its driver through the
/// executor.
async fn connect(addr: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TaketurnsExecutor)
        .timer(TaketurnsTimer)
        .handshake(HyperStream::new(stream))
        .await
        .expect("handshake");
    taketurns::spawn(async move {
        let _ = connection.await;
    });
    sender
}

/// `GET /echo?n` on `sender`, and the body.
async fn echo(mut sender: SendRequest<Empty<Bytes>>, n: u64) -> String {
    sender.ready().await.expect("ready");
    let request = Request::get(format!("http://localhost/echo?{n}"))
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[test]
fn a_hundred_streams_on_one_connection_each_get_their_own_answer() {
    let _watchdog = watchdog();
    let rt = taketurns::Runtime::new().unwrap();
    let spawned_before_requests = rt.block_on(async {
        let addr = start_server(None).await;
        let sender = connect(addr).await;
        let before = taketurns::stats().tasks_spawned;
        let requests: Vec<_> = (0..100)
            .map(|n| taketurns::spawn(echo(sender.clone(), n)))
            .collect();
        for (n, request) in requests.into_iter().enumerate() {
            assert_eq!(request.await.unwrap(), n.to_string());
        }
        before
    });
    // Our 100 request tasks, plus at least one server task per stream through the executor.
    let spawned = rt.stats().tasks_spawned - spawned_before_requests;
    assert!(
        spawned >= 200,
        "expected a task per stream on the server side as well, got {spawned} spawns"
    );
}

#[test]
fn a_connection_idle_across_many_ping_intervals_still_answers() {
    let _watchdog = watchdog();
    let rt = taketurns::Runtime::new().unwrap();
    rt.block_on(async {
        let addr = start_server(Some(Duration::from_millis(20))).await;
        let sender = connect(addr).await;
        assert_eq!(echo(sender.clone(), 1).await, "1");
        // Idle for about ten ping intervals: the server pings, the client answers, the timer
        // is reset each time; the connection must still be there.
        let fired_before = taketurns::stats().timers_fired;
        taketurns::time::sleep(Duration::from_millis(200)).await;
        let fired = taketurns::stats().timers_fired - fired_before;
        // Our own sleep is one of them; the ping timer fired on our timer list several times.
        assert!(
            fired >= 4,
            "only {fired} timers fired while the connection was idle"
        );
        assert_eq!(echo(sender.clone(), 2).await, "2");
    });
}
