//! Chapter 15, step 1: one read on a ring, by hand, with the `io-uring` crate and nothing else.
//!
//! A pair of connected sockets; a thread writes `hello` into one end after 50 ms. We write one
//! entry into the ring's submission queue (a receive on our end: the descriptor, a pointer to our
//! buffer and its length, and a number of ours to recognise the answer by), make one system call
//! that submits it and sleeps until a completion arrives, and read the completion: how many bytes
//! the kernel put into the buffer. No readiness, no retry: the kernel did the read.
//!
//! asyncio has no counterpart on Linux; on Windows its `ProactorEventLoop` works this way.
//!
//! ```console
//! $ cargo run --features uring --example uring_step_1
//! operation 7 completed: 5 bytes, "hello"
//! ```
//!
//! Where io_uring is missing or forbidden, `IoUring::new` fails and the program says so.

// ANCHOR: uses
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use io_uring::{IoUring, opcode, types};
// ANCHOR_END: uses

fn main() {
    if let Err(e) = one_read() {
        eprintln!(
            "uring_step_1: {e} (is io_uring available? Linux 5.11+, not forbidden by a sandbox)"
        );
        std::process::exit(1);
    }
}

// ANCHOR: one_read
fn one_read() -> std::io::Result<()> {
    // io_uring_setup: a submission queue and a completion queue, shared with the kernel.
    let mut ring = IoUring::new(8)?;

    let (ours, mut theirs) = UnixStream::pair()?;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        theirs.write_all(b"hello").unwrap();
    });

    let mut buf = vec![0u8; 64];
    let len = buf.len() as u32;
    let read = opcode::Recv::new(types::Fd(ours.as_raw_fd()), buf.as_mut_ptr(), len)
        .build()
        .user_data(7); // our number for this operation: the completion carries it back

    // SAFETY: the entry points into `buf`. Until the completion below, `buf` is not moved,
    // freed, read or written by us: the kernel may write into it at any moment.
    unsafe { ring.submission().push(&read) }.expect("the queue has room for one entry");

    // io_uring_enter: submit what is queued, and sleep until at least one completion is there.
    ring.submit_and_wait(1)?;

    let done = ring.completion().next().expect("one completion");
    let n = usize::try_from(done.result()).map_err(|_| {
        std::io::Error::from_raw_os_error(-done.result()) // a negative result is an errno
    })?;
    let text = String::from_utf8_lossy(&buf[..n]);
    println!(
        "operation {} completed: {n} bytes, {text:?}",
        done.user_data()
    );
    Ok(())
}
// ANCHOR_END: one_read
