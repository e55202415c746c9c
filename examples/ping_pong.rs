//! Two tasks, one socket pair, one thread: watch tasks park on sockets and the reactor wake them.
//!
//! A server task accepts one connection and answers "pong" to "ping"; a client task connects,
//! sends "ping" and reads the answer. Between steps the main future prints the two lists, so you
//! can see each task waiting on a socket (its reactor token and direction). Run it under strace to
//! see the system calls behind it (the watching main future keeps the loop busy, so its
//! `epoll_wait` calls all have a zero timeout):
//!
//! ```console
//! $ cargo run --example ping_pong
//! $ strace -f -e trace=socket,connect,accept4,epoll_ctl,epoll_wait,recvfrom,sendto,getsockopt,close \
//!     target/debug/examples/ping_pong
//! ```

use futures::io::{AsyncReadExt, AsyncWriteExt};
use taketurns::net::{TcpListener, TcpStream};

// ANCHOR: main
fn main() -> std::io::Result<()> {
    let rt = taketurns::Runtime::new()?;
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;

        let server = taketurns::spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut word = [0u8; 4];
            stream.read_exact(&mut word).await?;
            stream.write_all(b"pong").await?;
            std::io::Result::Ok(word)
        });
        let client = taketurns::spawn(async move {
            let mut stream = TcpStream::connect(addr).await?;
            stream.write_all(b"ping").await?;
            let mut word = [0u8; 4];
            stream.read_exact(&mut word).await?;
            std::io::Result::Ok(word)
        });

        // Watch the lists until both tasks are done.
        let mut last = String::new();
        while !(server.is_finished() && client.is_finished()) {
            let now = format!("{:#}", rt.snapshot());
            if now != last {
                println!("{now}");
                last = now;
            }
            taketurns::yield_now().await;
        }
        let heard_by_server = server.await.expect("server task")?;
        let heard_by_client = client.await.expect("client task")?;
        println!(
            "server heard {:?}, client heard {:?}",
            String::from_utf8_lossy(&heard_by_server),
            String::from_utf8_lossy(&heard_by_client)
        );
        std::io::Result::Ok(())
    })?;
    println!("\n{}", rt.stats());
    Ok(())
}
// ANCHOR_END: main
