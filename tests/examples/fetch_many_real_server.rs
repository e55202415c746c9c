//! `fetch_many --target` against a server that is not ours: Python's `http.server`, the one a
//! reader tries first, with its listen backlog of 5. Every client must fetch a 4 KiB file 200
//! times without an error under the default cap on fetches in flight, and what such a server
//! answers besides `200` with a `Content-Length` (a redirect, a `404`, a chunked body, a body that
//! ends when the server closes) must come back as counted, explained failures or as whole bodies,
//! never as a crash.
//!
//! Each test needs `python3` on the PATH; without it the test says that it skipped and passes.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::run_example;

/// A `python3` child process serving on a free port, killed and reaped when dropped, with the
/// directory it serves removed.
struct PythonServer {
    /// The server process.
    child: Child,
    /// The port it listens on, as it printed it.
    port: u16,
    /// The directory it serves (removed on drop).
    dir: PathBuf,
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `python3` runs; if not, say that the test skipped.
fn python3_present(test: &str) -> bool {
    let present = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !present {
        eprintln!("{test}: skipped: python3 is not on the PATH");
    }
    present
}

/// A fresh directory holding `blob.bin` (4,096 bytes) and an empty `sub/` directory.
fn www(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taketurns-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let blob: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("blob.bin"), blob).unwrap();
    dir
}

/// Start `python3 -u ARGS` in `dir`; it must print "... port N ..." as its first line (as
/// `http.server` does when given port 0, after it has bound and listens).
fn serve(dir: PathBuf, args: &[&str]) -> PythonServer {
    let mut child = Command::new("python3")
        .arg("-u")
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped");
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let port = line
        .split_whitespace()
        .skip_while(|word| *word != "port")
        .nth(1)
        .and_then(|p| p.parse().ok());
    let Some(port) = port else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the python server printed {line:?}, not its port");
    };
    PythonServer { child, port, dir }
}

/// `python3 -m http.server` on a free port of 127.0.0.1, serving a fresh directory.
fn http_server(test: &str) -> PythonServer {
    serve(
        www(test),
        &["-m", "http.server", "0", "--bind", "127.0.0.1"],
    )
}

/// Run fetch_many with `args` and `--json`; its exit code and the JSON it printed.
fn fetch_many_json(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let out = run_example::run("fetch_many", &all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "fetch_many {args:?} printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

#[test]
fn every_client_fetches_200_files_from_python_http_server_without_an_error() {
    if !python3_present("python_http_server") {
        return;
    }
    let server = http_server("python-http-server");
    let target = format!("http://127.0.0.1:{}/blob.bin", server.port);
    let (code, json) = fetch_many_json(&[
        "--target",
        &target,
        "--count",
        "200",
        "--sequential-count",
        "200",
    ]);
    assert_eq!(code, Some(0), "{json:#}");
    assert_eq!(
        json["plan"]["concurrency"], 5,
        "the default cap with --target"
    );
    let reports = json["reports"].as_array().unwrap();
    let clients: Vec<&str> = reports
        .iter()
        .map(|r| r["client"].as_str().unwrap())
        .collect();
    assert_eq!(
        clients,
        [
            "sequential",
            "thread-per-task",
            "thread-pool(5)",
            "event-loop"
        ],
        "the pool is no bigger than the cap"
    );
    for report in reports {
        assert_eq!(report["ok"], 200, "{report:#}");
        assert_eq!(report["bytes"], 200 * 4096, "{report:#}");
        assert!(report["concurrency"].as_u64().unwrap() <= 5, "{report:#}");
        let errors = report["errors"].as_object().unwrap();
        assert!(errors.values().all(|n| n == 0), "{report:#}");
    }
}

#[test]
fn a_redirect_and_a_404_are_counted_per_fetch_with_what_to_do() {
    if !python3_present("redirect_and_404") {
        return;
    }
    let server = http_server("python-redirect");
    for (path, expected) in [
        ("/sub", "a redirect to \"/sub/\""),
        ("/missing.bin", "answered 404"),
    ] {
        let target = format!("127.0.0.1:{}{path}", server.port);
        let (code, json) = fetch_many_json(&["--target", &target, "--count", "3"]);
        assert_eq!(code, Some(1), "failed fetches exit 1: {json:#}");
        for report in json["reports"].as_array().unwrap() {
            assert_eq!(report["ok"], 0, "{report:#}");
            assert_eq!(report["errors"]["status"], report["fetches"], "{report:#}");
            let first = report["first_error"].as_str().unwrap();
            assert!(first.contains(expected), "{path}: {first}");
        }
    }
}

/// A server written for this test: `/chunked` answers with a chunked body of 3 chunks (10,000
/// bytes), `/close` with 5,000 bytes and no length (HTTP/1.0: the body ends at close).
const ODD_SERVER: &str = r#"
import http.server, socketserver
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/chunked":
            self.protocol_version = "HTTP/1.1"
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            for size in (1, 4095, 5904):
                self.wfile.write(b"%x;ext=1\r\n" % size + b"x" * size + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
        else:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"y" * 5000)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 64
with Server(("127.0.0.1", 0), Handler) as server:
    print("listening on port", server.server_address[1], flush=True)
    server.serve_forever()
"#;

#[test]
fn chunked_and_close_delimited_bodies_arrive_whole() {
    if !python3_present("chunked_and_close") {
        return;
    }
    let server = serve(www("python-odd-bodies"), &["-c", ODD_SERVER]);
    for (path, bytes) in [("/chunked", 10_000), ("/close", 5_000)] {
        let target = format!("127.0.0.1:{}{path}", server.port);
        let (code, json) = fetch_many_json(&["--target", &target, "--count", "20"]);
        assert_eq!(code, Some(0), "{path}: {json:#}");
        for report in json["reports"].as_array().unwrap() {
            let fetches = report["fetches"].as_u64().unwrap();
            assert_eq!(report["ok"], fetches, "{path}: {report:#}");
            assert_eq!(report["bytes"], fetches * bytes, "{path}: {report:#}");
        }
    }
}
