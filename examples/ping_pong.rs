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
//!
//! With `--trace-lists FILE` the run is traced and written as JSON for the book's player
//! (`book/player/`), each printed snapshot a mark.

use std::path::PathBuf;

use clap::Parser;
use futures::io::{AsyncReadExt, AsyncWriteExt};
use taketurns::net::{TcpListener, TcpStream};
use taketurns::replay::ListsTrace;
use taketurns::task::Builder;

/// A server and a client task on one thread; print the two lists as they change.
#[derive(Parser)]
struct Cli {
    /// Also trace the run and write its lists trace (JSON, for the book's player) to FILE.
    #[arg(long, value_name = "FILE")]
    trace_lists: Option<PathBuf>,
}

// ANCHOR: main
fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let rt = taketurns::Runtime::builder()
        .trace(cli.trace_lists.is_some())
        .build()?;
    let mut marks = Vec::new();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;

        let server = Builder::new().name("server").spawn(async move {
            let (mut stream, _) = listener.accept().await?;
            let mut word = [0u8; 4];
            stream.read_exact(&mut word).await?;
            stream.write_all(b"pong").await?;
            std::io::Result::Ok(word)
        });
        let client = Builder::new().name("client").spawn(async move {
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
                marks.extend(taketurns::replay::moment().map(|m| (now.clone(), m)));
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
    if let Some(path) = &cli.trace_lists {
        let mut trace = ListsTrace::from_timeline("ping_pong", &rt.timeline())
            .map_err(std::io::Error::other)?;
        for (label, moment) in &marks {
            trace.mark(label.clone(), moment);
        }
        trace.check().map_err(std::io::Error::other)?;
        std::fs::write(path, trace.to_json()).map_err(|e| {
            let msg = format!("cannot write the lists trace to {}: {e}", path.display());
            std::io::Error::new(e.kind(), msg)
        })?;
        eprintln!(
            "wrote the lists trace ({} steps) to {}",
            trace.steps.len(),
            path.display()
        );
    }
    Ok(())
}
// ANCHOR_END: main
