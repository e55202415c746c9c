//! Helpers shared by the socket tests: an echo server task (the `asyncio` echo server of every
//! tutorial, on taketurns) and a listener on a free loopback port. No TLS, no IPv6.

use std::net::SocketAddr;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use taketurns::net::TcpListener;

/// An echo server task: copies each connection's bytes back until the client closes its half.
pub async fn echo_server(listener: TcpListener) {
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        taketurns::spawn(async move {
            let (reader, mut writer) = stream.split();
            futures::io::copy(reader, &mut writer).await.unwrap();
            writer.close().await.unwrap();
        });
    }
}

/// A listener on a free port of the loopback address, and that address.
pub async fn local_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}
