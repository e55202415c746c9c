//! Exercise 7.1, "Short reads": an echo server reads into 4 KiB and gets 100 bytes. How many reads
//! hear `EAGAIN`, with taketurns' short-read rule and without it, and on which side?
//!
//! The exercise asks you to delete the short-read rule from `TcpStream::poll_read_priv` and count
//! `recvfrom` calls with strace. A solution file cannot patch the library, so this one runs a
//! **model** of the reactor's read path on real sockets: one thread, a `mio::Poll`, an echo server
//! and a client connected over loopback, and for each socket the *ready bit* that taketurns keeps
//! (set by an epoll event, cleared by `EAGAIN`). The short-read rule is a switch: when a read
//! returns fewer bytes than were asked for, clear the bit as well, so the next read waits for an
//! event instead of asking the kernel. The client makes `--rounds` round trips of 100 bytes with a
//! `read_exact` loop; the server reads into 4 KiB and writes back what it got. The model counts
//! every read system call and every `EAGAIN`, per side, where the book's solution used strace.
//! It is not taketurns: no tasks or wakers, just two hand-written state machines run in turn, in
//! the same order taketurns polls them (the client runs on after its write, then the server, then
//! the loop waits for events), and it stops when the client is done, as `block_on` would. tokio
//! has the same rule (`poll_read` clears readiness after a short read); asyncio's selector loop is
//! level-triggered, so it simply asks again.
//!
//! ```console
//! $ cargo run --release --example exercise_07_1 -- --rounds 1000
//! ```

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use clap::Parser;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// Count the reads and EAGAINs of an echo ping-pong with and without the short-read rule.
#[derive(Parser, Debug)]
#[command(name = "exercise_07_1")]
struct Args {
    /// Round trips of 100 bytes.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
}

// ANCHOR: reader
/// One socket and the ready bit taketurns keeps for it.
struct Side {
    stream: TcpStream,
    /// May a read find data? Set by an event, cleared by `EAGAIN` (and by a short read, if the
    /// rule is on).
    ready: bool,
    /// Read system calls made.
    reads: u64,
    /// Reads that returned `EAGAIN`.
    eagain: u64,
}

impl Side {
    /// A read as taketurns' `poll_read` does it: `None` means "park until the next event".
    fn read(&mut self, buf: &mut [u8], short_read_rule: bool) -> io::Result<Option<usize>> {
        if !self.ready {
            return Ok(None); // no event since the bit was cleared: no system call
        }
        self.reads += 1;
        match self.stream.read(buf) {
            Ok(n) => {
                if short_read_rule && n > 0 && n < buf.len() {
                    self.ready = false; // the kernel had less than we asked for: it is empty now
                }
                Ok(Some(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.eagain += 1;
                self.ready = false;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
// ANCHOR_END: reader

/// What one run counted.
struct Counts {
    server_reads: u64,
    server_eagain: u64,
    client_reads: u64,
    client_eagain: u64,
    epoll_waits: u64,
    wall: Duration,
}

// ANCHOR: ping_pong
fn ping_pong(rounds: u32, short_read_rule: bool) -> io::Result<Counts> {
    const SERVER: Token = Token(0);
    const CLIENT: Token = Token(1);
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    let mut poll = Poll::new()?;
    let mut sides = [server, client].map(|s| {
        s.set_nonblocking(true)
            .expect("a socket can be made non-blocking");
        Side {
            stream: TcpStream::from_std(s),
            ready: false, // a fresh socket: no event yet
            reads: 0,
            eagain: 0,
        }
    });
    for (side, token) in sides.iter_mut().zip([SERVER, CLIENT]) {
        poll.registry()
            .register(&mut side.stream, token, Interest::READABLE)?;
    }
    let [server, client] = &mut sides;
    let message = [b'x'; 100];
    let (mut done, mut need_write, mut got, mut back) = (0u32, true, 0usize, [0u8; 100]);
    let mut server_buf = [0u8; 4096];
    let mut events = Events::with_capacity(16);
    let mut epoll_waits = 0;
    let start = Instant::now();
    while done < rounds {
        // The client: write a message, then read_exact its echo, until it must park.
        while done < rounds {
            if need_write {
                client.stream.write_all(&message)?; // 100 bytes always fit an empty send buffer
                need_write = false;
            }
            match client.read(&mut back[got..], short_read_rule)? {
                None => break,
                Some(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Some(n) => {
                    got += n;
                    if got == back.len() {
                        (got, done, need_write) = (0, done + 1, true);
                    }
                }
            }
        }
        if done == rounds {
            break; // the client is done: block_on would return here
        }
        // The server: read what came, echo it, read again, until it must park.
        while let Some(n) = server.read(&mut server_buf, short_read_rule)? {
            if n == 0 {
                break;
            }
            server.stream.write_all(&server_buf[..n])?;
        }
        // Nothing left to run: wait for events and set the ready bits.
        epoll_waits += 1;
        poll.poll(&mut events, None)?;
        for event in events.iter() {
            match event.token() {
                SERVER => server.ready = true,
                CLIENT => client.ready = true,
                _ => unreachable!("two sockets are registered"),
            }
        }
    }
    Ok(Counts {
        server_reads: server.reads,
        server_eagain: server.eagain,
        client_reads: client.reads,
        client_eagain: client.eagain,
        epoll_waits,
        wall: start.elapsed(),
    })
}
// ANCHOR_END: ping_pong

fn main() {
    let args = Args::parse();
    for (name, rule) in [("with the short-read rule", true), ("without it", false)] {
        match ping_pong(args.rounds, rule) {
            Ok(c) => println!(
                "{name}: rounds={} server_reads={} server_eagain={} client_reads={} client_eagain={} epoll_waits={} wall={:.1?}",
                args.rounds,
                c.server_reads,
                c.server_eagain,
                c.client_reads,
                c.client_eagain,
                c.epoll_waits,
                c.wall
            ),
            Err(e) => {
                eprintln!("exercise_07_1: the loopback ping-pong failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
