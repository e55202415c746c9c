//! The process plumbing shared by the solutions of exercises 10.1, 10.2 and 10.3 (`#[path =
//! "support/processes.rs"] mod processes;` in each): the delay server in a child process, one
//! measurement per fresh child process, `getrusage` around it, and one `key=value` line per run.
//! Not an example of its own: cargo builds only `examples/*.rs` and `examples/*/main.rs`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::{TimeVal, TimeValLike};

/// `--serve`: run the delay server on a thread of this process, print its address, and serve
/// until standard input closes (the parent holds the other end).
pub fn serve(count: u64) -> io::Result<()> {
    taketurns::workload::raise_fd_limit(count + 64).map_err(io::Error::other)?;
    let (addr, server) = taketurns::workload::spawn_server_thread("127.0.0.1:0")?;
    println!("addr={addr}");
    io::stdout().flush()?;
    io::copy(&mut io::stdin(), &mut io::sink())?;
    server.shutdown()
}

/// Start the server in a child process, run `f` with its address, then stop the server.
pub fn with_server(count: u64, f: impl FnOnce(SocketAddr) -> io::Result<()>) -> io::Result<()> {
    let mut server = Command::new(std::env::current_exe()?)
        .args(["--serve", "--count", &count.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut first = String::new();
    BufReader::new(server.stdout.take().expect("piped")).read_line(&mut first)?;
    let addr = first
        .trim()
        .strip_prefix("addr=")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| {
            io::Error::other(format!("the server printed {first:?}, not its address"))
        })?;
    let result = f(addr);
    drop(server.stdin.take()); // the server exits when its standard input closes
    server.wait()?;
    result
}

/// One measurement in a fresh process: this program again with `measure` (the exercise's own
/// `--measure ...` flags) and the plan every exercise passes on (server address, count, delay,
/// size).
pub fn measure_child(
    measure: &[String],
    addr: SocketAddr,
    count: u64,
    delay_ms: u64,
    size: u64,
) -> io::Result<()> {
    let mut args = measure.to_vec();
    for (flag, value) in [
        ("--addr", addr.to_string()),
        ("--count", count.to_string()),
        ("--delay-ms", delay_ms.to_string()),
        ("--size", size.to_string()),
    ] {
        args.extend([flag.to_string(), value]);
    }
    child(&args)
}

/// Run this program again with `args` (one measurement in a fresh process), output shared.
pub fn child(args: &[String]) -> io::Result<()> {
    let status = Command::new(std::env::current_exe()?).args(args).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "the run {args:?} failed ({status})"
        )))
    }
}

/// What `getrusage` says about this process so far.
pub struct Usage {
    pub cpu: Duration,
    pub max_rss_kib: u64,
    pub minor_faults: u64,
}

pub fn usage() -> Usage {
    let u = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage(RUSAGE_SELF) cannot fail");
    let d = |t: TimeVal| Duration::from_micros(u64::try_from(t.num_microseconds()).unwrap_or(0));
    Usage {
        cpu: d(u.user_time()) + d(u.system_time()),
        max_rss_kib: u64::try_from(u.max_rss()).unwrap_or(0),
        minor_faults: u64::try_from(u.minor_page_faults()).unwrap_or(0),
    }
}

/// Print one measured run: `name: key=value …`. `floor` is the least time the server's delays
/// alone take for this client.
pub fn report(
    name: &str,
    ok: u64,
    count: u64,
    floor: Duration,
    wall: Duration,
    before: &Usage,
    extra: &str,
) {
    let after = usage();
    let per_fetch = |d: Duration| d.as_secs_f64() * 1e6 / count as f64;
    println!(
        "{name}: fetches={count} ok={ok} wall_ms={:.0} wall_minus_floor_ms={:.0} cpu_per_fetch_us={:.0} peak_rss_kib={} rss_per_fetch_kib={:.2} minor_faults={}{extra}",
        wall.as_secs_f64() * 1e3,
        wall.saturating_sub(floor).as_secs_f64() * 1e3,
        per_fetch(after.cpu - before.cpu),
        after.max_rss_kib,
        after.max_rss_kib.saturating_sub(before.max_rss_kib) as f64 / count as f64,
        after.minor_faults - before.minor_faults,
    );
}
