//! `examples/http_server.rs` run as a reader runs it: it serves both flavours (the event loop and a
//! thread per connection) on a free port, prints a summary of what it served when it stops, and
//! says what it needs when its port is taken. The server itself (`workload::http_server`) is
//! tested in `tests/http_server.rs`.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;

use taketurns::workload::http_server::get_blocking;

use crate::support::run_example;

#[test]
fn the_example_serves_both_flavours_and_prints_a_summary() {
    for extra in [None, Some("--threads")] {
        let mut child = run_example::command("http_server")
            .args(["--addr", "127.0.0.1:0", "--serve-secs", "1.5"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr: SocketAddr = line.trim().parse().unwrap();
        let mut conn = TcpStream::connect(addr).unwrap();
        for _ in 0..3 {
            assert_eq!(get_blocking(&mut conn, "/").unwrap().status, 200);
        }
        drop(conn);
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{rest}");
        let name = if extra.is_some() {
            "threads"
        } else {
            "event-loop"
        };
        assert!(
            rest.contains(&format!("{name}: 3 requests on 1 connections")),
            "{rest}"
        );
        assert!(rest.contains("peak RSS (VmHWM)"), "{rest}");
    }
}

#[test]
fn the_example_says_what_it_needs() {
    let help = run_example::run("http_server", &["--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("--threads"));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let out = run_example::run("http_server", &["--addr", &taken_addr]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another server uses that port"), "{stderr}");
}
