//! Chapter 15, step 2: a completion loop. Three connections, each sending a few messages at its
//! own pace; one read in flight on each, all on one ring; one system call per turn submits the
//! reads queued since the last turn and waits for the next completion.
//!
//! The loop's table (`conns`) is what the runtime's driver keeps as slots: the completion's
//! `user_data` says which connection, and so which buffer, the kernel has just filled. Each buffer
//! belongs to the kernel from the moment its read is queued until that read's completion is
//! taken; only then does the loop read it and queue the next read.
//!
//! ```console
//! $ cargo run --features uring --example uring_step_2
//! ```

// ANCHOR: uses
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use io_uring::{IoUring, opcode, types};
// ANCHOR_END: uses

// ANCHOR: conn
/// One connection of the loop: our socket, and the buffer its read in flight fills.
struct Conn {
    /// Our end.
    socket: UnixStream,
    /// Owned by the kernel while a read is in flight, by the loop between completions.
    buf: Vec<u8>,
}

/// Queue a read into `conn.buf`, named `which` (its index in the table).
fn queue_read(ring: &mut IoUring, which: usize, conn: &mut Conn) {
    let fd = types::Fd(conn.socket.as_raw_fd());
    let len = conn.buf.len() as u32;
    let read = opcode::Recv::new(fd, conn.buf.as_mut_ptr(), len)
        .build()
        .user_data(which as u64);
    // SAFETY: `conn.buf` stays where it is (the table is never resized while reads are in
    // flight) and the loop touches it only after this read's completion.
    unsafe { ring.submission().push(&read) }.expect("one entry per connection fits");
}
// ANCHOR_END: conn

fn main() {
    if let Err(e) = completion_loop() {
        eprintln!(
            "uring_step_2: {e} (is io_uring available? Linux 5.11+, not forbidden by a sandbox)"
        );
        std::process::exit(1);
    }
}

// ANCHOR: peers
fn completion_loop() -> std::io::Result<()> {
    let mut ring = IoUring::new(8)?;
    let mut conns = Vec::new();
    for (which, pace_ms) in [(0, 30), (1, 50), (2, 70)] {
        let (ours, mut theirs) = UnixStream::pair()?;
        std::thread::spawn(move || {
            for i in 0..3 {
                std::thread::sleep(Duration::from_millis(pace_ms));
                let message = format!("message {i} from peer {which}");
                let _ = theirs.write_all(message.as_bytes());
            }
            // Dropping `theirs` closes it: our next read completes with 0 bytes.
        });
        conns.push(Conn {
            socket: ours,
            buf: vec![0u8; 64],
        });
    }
    // ANCHOR_END: peers
    // ANCHOR: loop
    for (which, conn) in conns.iter_mut().enumerate() {
        queue_read(&mut ring, which, conn);
    }
    let mut open = conns.len();
    let (mut enters, mut completions) = (0, 0);
    while open > 0 {
        // One system call: submit every read queued since the last turn, sleep until one is done.
        ring.submit_and_wait(1)?;
        enters += 1;
        let done: Vec<(u64, i32)> = ring
            .completion()
            .map(|c| (c.user_data(), c.result()))
            .collect();
        completions += done.len();
        for (which, result) in done {
            let which = which as usize;
            let conn = &mut conns[which];
            if result <= 0 {
                println!("connection {which}: closed");
                open -= 1;
                continue;
            }
            let text = String::from_utf8_lossy(&conn.buf[..result as usize]);
            println!("connection {which}: {text}");
            queue_read(&mut ring, which, conn); // the next read goes out with the next enter
        }
    }
    println!("{completions} completions in {enters} calls to io_uring_enter");
    // ANCHOR_END: loop
    // ANCHOR: end
    Ok(())
}
// ANCHOR_END: end
