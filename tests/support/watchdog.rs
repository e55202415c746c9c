//! A watchdog for tests that would hang if a wake were lost: it aborts the test process with a
//! message instead of stalling CI.

use std::io::Write;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long any one test may run before its [`Watchdog`] gives up on it: far longer than any
/// test needs, even on a loaded machine.
pub const WATCHDOG_LIMIT: Duration = Duration::from_secs(60);

/// Aborts the whole test process if it is not dropped within [`WATCHDOG_LIMIT`].
pub struct Watchdog {
    /// Dropping it disconnects the channel, which tells the watchdog thread to stand down.
    _disarm: mpsc::Sender<()>,
}

/// A watchdog for the current test (the test harness names each test's thread after the test).
pub fn watchdog() -> Watchdog {
    let test = thread::current().name().unwrap_or("a test").to_owned();
    let (disarm, disarmed) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = disarmed.recv_timeout(WATCHDOG_LIMIT) {
            // Straight to the file descriptor: the test harness captures `eprintln!`, and its
            // capture dies with the process.
            let _ = writeln!(
                std::io::stderr(),
                "watchdog: `{test}` did not finish within {WATCHDOG_LIMIT:?} (a lost wakeup?)"
            );
            std::process::abort();
        }
    });
    Watchdog { _disarm: disarm }
}
