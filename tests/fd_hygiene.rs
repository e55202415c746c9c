//! Descriptor hygiene: after 2,000 connections have come and gone, the process has exactly the
//! descriptors it had before. Alone in its own test binary, because descriptors are counted for
//! the whole process and other tests would open their own meanwhile.

use std::net::Shutdown;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use taketurns::Runtime;
use taketurns::net::TcpStream;

/// The descriptors this process has open right now, with what each points to.
fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some(format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                target.display()
            ))
        })
        .collect();
    fds.sort();
    fds
}

mod support;
use support::sockets::{echo_server, local_listener};

#[test]
fn no_descriptor_left_after_2000_connections() {
    let rt = Runtime::new().unwrap();
    let before = open_fds();
    rt.block_on(async {
        let (listener, addr) = local_listener().await;
        let server = taketurns::spawn(echo_server(listener));
        for _round in 0..20 {
            let clients: Vec<_> = (0..100)
                .map(|_| {
                    taketurns::spawn(async move {
                        let mut s = TcpStream::connect(addr).await.unwrap();
                        s.write_all(b"ping").await.unwrap();
                        s.shutdown(Shutdown::Write).unwrap();
                        let mut back = Vec::new();
                        s.read_to_end(&mut back).await.unwrap();
                        assert_eq!(back, b"ping");
                    })
                })
                .collect();
            for c in clients {
                c.await.unwrap();
            }
        }
        server.abort();
        let _ = server.await;
    });
    // A server-side stream closes when its task ends, which may be a tick after its client saw
    // the end of stream: let the loop run until the count is back, or give up after 10 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    rt.block_on(async {
        while open_fds() != before && std::time::Instant::now() < deadline {
            taketurns::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    });
    assert_eq!(open_fds(), before, "descriptors leaked");
    drop(rt);
    let with_runtime = before.len();
    let after_drop = open_fds().len();
    assert_eq!(
        after_drop + 2,
        with_runtime,
        "dropping the runtime closes epoll and its eventfd"
    );
}
