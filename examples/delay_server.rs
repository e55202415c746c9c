//! The delay server on its own, to point `curl`, `wrk` or a browser at.
//!
//! ```console
//! $ cargo run --release --example delay_server                    # listens on 127.0.0.1:8080
//! $ cargo run --release --example delay_server -- --addr 0.0.0.0:9000
//! $ curl 'http://127.0.0.1:8080/?delay_ms=100&size=10'            # 10 bytes after 100 ms
//! $ wrk -c 1000 -d 10s 'http://127.0.0.1:8080/?delay_ms=50&size=1024'
//! ```
//!
//! Every connection is a task on one thread; the delay is a timer (`taketurns::time::sleep`), so
//! a thousand connections waiting cost a thousand timer entries, not a thousand threads. It serves
//! until Ctrl-C (the default SIGINT ends the process; the kernel closes every socket). The code is
//! `taketurns::workload::serve`; this file only parses the address and raises the open-file limit,
//! so that `wrk -c 10000` is not refused at the thousandth connection.

use clap::Parser;
use taketurns::net::TcpListener;
use taketurns::workload::{LimitError, ServerOptions, raise_fd_limit, serve};

/// Serve `GET /?delay_ms=N&size=M`: M bytes after N milliseconds (keep-alive unless the client sends `Connection: close`).
#[derive(Parser, Debug)]
#[command(name = "delay_server", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
}

/// Open files the server asks for: enough for a `wrk -c 60000`, if the hard limit allows.
const WANTED_FILES: u64 = 65_536;

fn main() {
    let args = Args::parse();
    // As many as the hard limit allows; the server works with fewer, it just accepts fewer at once.
    let files = match raise_fd_limit(WANTED_FILES) {
        Ok(files) => files,
        Err(LimitError::Files { soft, .. }) => soft,
        Err(e) => {
            eprintln!("delay_server: {e}");
            0
        }
    };
    let result = taketurns::block_on(async {
        let listener = TcpListener::bind(args.addr.as_str()).await.map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => " (another server uses that port: pass --addr)",
                std::io::ErrorKind::InvalidInput => " (expected HOST:PORT, e.g. 127.0.0.1:8080)",
                _ => "",
            };
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {}: {e}{hint}", args.addr),
            )
        })?;
        let addr = listener.local_addr()?;
        println!("{addr}");
        eprintln!(
            "delay server on http://{addr}/ (Ctrl-C to stop), up to about {files} connections at \
             once (the open-file limit; `ulimit -n` raises it)\n\
             try: curl 'http://{addr}/?delay_ms=100&size=10'"
        );
        serve(listener, ServerOptions::default()).await
    });
    if let Err(e) = result {
        eprintln!("delay_server: {e}");
        std::process::exit(1);
    }
}
