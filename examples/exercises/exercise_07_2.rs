//! Exercise 7.2, "Deregister on drop": what does it cost, and what does it change, to remove a
//! socket from the epoll set (`EPOLL_CTL_DEL`) before closing it, as tokio does?
//!
//! The exercise asks you to add a `Drop` to taketurns' `TcpStream` and `TcpListener`. A solution
//! file cannot patch the library, so this one runs a **model** of the reactor's registrations on
//! real sockets: one thread, a `mio::Poll`, a listener, and `--clients` clients, one after
//! another, each making one round trip of 5 bytes through an accepted socket. Both sockets of a
//! round trip are registered (`EPOLL_CTL_ADD`) and, when it is done, closed, with or without a
//! `deregister` (`EPOLL_CTL_DEL`) first. The model counts its own `epoll_ctl` calls, where the
//! book's solution used strace, and it watches two things that could go wrong without the `DEL`:
//! an `ADD` refused with `EEXIST` (the kernel still holding a closed descriptor's entry when its
//! number is reused), and an event for a socket that is gone. Both stay at zero: the kernel
//! removes a descriptor from every epoll set when its last reference is closed, so the `DEL` is
//! one more system call, not a fix. (That holds while nobody `dup`s the descriptor or forks; a
//! runtime that cannot promise it deregisters.) The model is not taketurns: no tasks, one round
//! trip at a time. tokio and async-io deregister on drop; asyncio's `_SelectorTransport` calls
//! `remove_reader` before it closes.
//!
//! ```console
//! $ cargo run --release --example exercise_07_2 -- --clients 1000
//! ```

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use clap::Parser;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// Run one-round-trip clients on a mio loop, closing their sockets with and without a
/// deregister first; count epoll_ctl calls, reused descriptor numbers and stray events.
#[derive(Parser, Debug)]
#[command(name = "exercise_07_2")]
struct Args {
    /// Clients, one after another, each with one round trip.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    clients: u32,
}

/// What one run counted.
#[derive(Default)]
struct Counts {
    adds: u64,
    dels: u64,
    /// `ADD`s of a descriptor number that an earlier, closed socket had registered.
    reused_numbers: u64,
    /// `ADD`s refused with `EEXIST`.
    eexist: u64,
    /// Events whose token belongs to no open socket.
    stray_events: u64,
    wall: Duration,
}

const LISTENER: Token = Token(usize::MAX);

// ANCHOR: run
fn run(clients: u32, deregister: bool) -> io::Result<Counts> {
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().expect("an address"))?;
    let addr = listener.local_addr()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut counts = Counts {
        adds: 1,
        ..Counts::default()
    };
    let mut closed_numbers = HashSet::new();
    let mut events = Events::with_capacity(64);
    let start = Instant::now();
    for round in 0..clients as usize {
        // This round's tokens; every earlier token belongs to a closed socket.
        let (client_token, server_token) = (Token(2 * round), Token(2 * round + 1));
        let mut client = TcpStream::from_std(connect(addr)?);
        let mut server = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait(&mut poll, &mut events, &[LISTENER], &mut counts)?;
                }
                Err(e) => return Err(e),
            }
        };
        for (stream, token) in [(&mut client, client_token), (&mut server, server_token)] {
            if !closed_numbers.insert(stream.as_raw_fd()) {
                counts.reused_numbers += 1;
            }
            counts.adds += 1;
            match poll.registry().register(stream, token, Interest::READABLE) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(nix::libc::EEXIST) => counts.eexist += 1,
                Err(e) => return Err(e),
            }
        }
        client.write_all(b"hello")?;
        let mut word = [0u8; 5];
        read_exact(
            &mut server,
            &mut word,
            &mut poll,
            &mut events,
            server_token,
            &mut counts,
        )?;
        server.write_all(&word)?;
        read_exact(
            &mut client,
            &mut word,
            &mut poll,
            &mut events,
            client_token,
            &mut counts,
        )?;
        if deregister {
            poll.registry().deregister(&mut client)?;
            poll.registry().deregister(&mut server)?;
            counts.dels += 2;
        }
        // Dropping closes both descriptors; their numbers are free for the next round.
        drop((client, server));
    }
    counts.wall = start.elapsed();
    Ok(counts)
}
// ANCHOR_END: run

/// A blocking connect (the listener's backlog completes it), then non-blocking.
fn connect(addr: std::net::SocketAddr) -> io::Result<std::net::TcpStream> {
    let stream = std::net::TcpStream::connect(addr)?;
    stream.set_nonblocking(true)?;
    Ok(stream)
}

/// Read exactly `buf.len()` bytes, waiting for `token`'s events when the socket is empty.
fn read_exact(
    stream: &mut TcpStream,
    buf: &mut [u8],
    poll: &mut Poll,
    events: &mut Events,
    token: Token,
    counts: &mut Counts,
) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(poll, events, &[token, LISTENER], counts)?
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One `epoll_wait`; counts events whose token is not among `live`.
fn wait(
    poll: &mut Poll,
    events: &mut Events,
    live: &[Token],
    counts: &mut Counts,
) -> io::Result<()> {
    poll.poll(events, Some(Duration::from_secs(10)))?;
    counts.stray_events += events.iter().filter(|e| !live.contains(&e.token())).count() as u64;
    Ok(())
}

fn main() {
    let args = Args::parse();
    for (name, deregister) in [("close only", false), ("deregister, then close", true)] {
        match run(args.clients, deregister) {
            Ok(c) => println!(
                "{name}: clients={} epoll_ctl_add={} epoll_ctl_del={} reused_numbers={} eexist={} stray_events={} wall={:.1?}",
                args.clients, c.adds, c.dels, c.reused_numbers, c.eexist, c.stray_events, c.wall
            ),
            Err(e) => {
                eprintln!("exercise_07_2: a round trip failed: {e}");
                std::process::exit(1);
            }
        }
    }
}
