//! An echo server on one thread: every connection is a task; every byte comes back.
//!
//! ```console
//! $ cargo run --example echo_server                 # listens on 127.0.0.1:7007
//! $ cargo run --example echo_server -- 127.0.0.1:9000
//! $ nc 127.0.0.1 7007                               # in another terminal: type, see it echoed
//! ```
//!
//! It serves until you press Ctrl-C (the default SIGINT ends the process; the kernel closes every
//! socket). Each connection's task copies what it reads back with `futures::io::copy`; when one
//! client misbehaves (resets, vanishes), only its task sees the error.

use std::net::SocketAddr;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use taketurns::net::{TcpListener, TcpStream};

// ANCHOR: serve
async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let mut served = 0u64;
    loop {
        let (stream, peer) = listener.accept().await?;
        served += 1;
        println!("connection {served} from {peer}");
        taketurns::spawn(echo(stream, peer));
    }
}

async fn echo(stream: TcpStream, peer: SocketAddr) {
    let (reader, mut writer) = stream.split();
    match futures::io::copy(reader, &mut writer).await {
        Ok(bytes) => {
            let _ = writer.close().await;
            println!("{peer} closed after {bytes} bytes");
        }
        Err(e) => println!("{peer} failed: {e}"),
    }
}
// ANCHOR_END: serve

fn main() {
    let addr = match std::env::args().nth(1) {
        Some(a) if a == "--help" || a == "-h" => {
            println!("usage: echo_server [ADDR]   (default 127.0.0.1:7007)");
            return;
        }
        Some(a) => a,
        None => "127.0.0.1:7007".to_string(),
    };
    let result = taketurns::block_on(async {
        let listener = TcpListener::bind(addr.as_str()).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {addr}: {e} (is another server using that port? pass another address)"),
            )
        })?;
        println!(
            "echoing on {}; press Ctrl-C to stop",
            listener.local_addr()?
        );
        serve(listener).await
    });
    if let Err(e) = result {
        eprintln!("echo_server: {e}");
        std::process::exit(1);
    }
}
