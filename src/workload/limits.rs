//! The machine's limits that a run of thousands of connections meets, checked *before* the run
//! starts, so that it never fails half-way.
//!
//! Three limits matter. **Open files** (`RLIMIT_NOFILE`, `ulimit -n`): every socket is a file
//! descriptor, so ten thousand fetches in flight need ten thousand descriptors in the client and
//! as many in the server. Each process has a soft limit it may raise itself up to a hard limit;
//! [`raise_fd_limit`] does that (Go's runtime and Python's `resource.setrlimit` recipes do the
//! same). **Threads** (`RLIMIT_NPROC`, `ulimit -u`, and `/proc/sys/kernel/threads-max`): a thread
//! per fetch needs that many threads at once; [`check_thread_limit`]. **Local ports**
//! (`net.ipv4.ip_local_port_range`): every connection to one server address needs its own
//! client port; [`check_local_ports`].
//!
//! Each check either succeeds or returns a [`LimitError`] whose message names the limit, its
//! value, and the command that raises it. Left out: memory (a thread's stack is mapped lazily, so
//! its real cost shows only in a measurement), `net.core.somaxconn`, and other operating systems.

use std::fmt;

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// A limit too low for the run that was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// Not enough file descriptors, even after raising the soft limit to the hard one.
    Files {
        /// Descriptors the run needs.
        needed: u64,
        /// The soft limit now (raised as far as it could go).
        soft: u64,
        /// The hard limit: only an administrator can raise it.
        hard: u64,
    },
    /// Not enough threads.
    Threads {
        /// Threads the run needs at once.
        needed: u64,
        /// The limit that is too low.
        limit: u64,
        /// Which one: `RLIMIT_NPROC` or `kernel.threads-max`.
        which: &'static str,
    },
    /// Not enough local ports for that many connections to one address.
    Ports {
        /// Connections the run has open at once.
        needed: u64,
        /// Ports in `net.ipv4.ip_local_port_range`.
        available: u64,
    },
    /// `getrlimit` or `setrlimit` failed.
    System(String),
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::Files { needed, soft, hard } => write!(
                f,
                "this run needs about {needed} open files (one per socket), but the open-file \
                 limit (RLIMIT_NOFILE) is {soft} and can go no higher than its hard limit {hard}. \
                 Raise it with `ulimit -n {needed}` in this shell (raising the hard limit needs \
                 root, or a line in /etc/security/limits.conf), or ask for fewer fetches"
            ),
            LimitError::Threads {
                needed,
                limit,
                which: "RLIMIT_NPROC",
            } => write!(
                f,
                "a thread per fetch needs {needed} threads at once, but the limit on processes \
                 and threads for this user (RLIMIT_NPROC) is {limit}. Raise it with \
                 `ulimit -u {needed}`, or use a thread pool or the event loop"
            ),
            LimitError::Threads {
                needed,
                limit,
                which,
            } => write!(
                f,
                "a thread per fetch needs {needed} threads at once, but {which} is {limit}. \
                 Raise it with `sysctl -w kernel.threads-max={needed}` (as root), or use a thread \
                 pool or the event loop"
            ),
            LimitError::Ports { needed, available } => write!(
                f,
                "this run opens {needed} connections at once to one address, but the local port \
                 limit (net.ipv4.ip_local_port_range) has only {available} ports. Widen it with \
                 `sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"` (as root), or ask for \
                 fewer fetches"
            ),
            LimitError::System(e) => write!(f, "could not read or change a resource limit: {e}"),
        }
    }
}

impl std::error::Error for LimitError {}

// ANCHOR: raise_fd_limit
/// Make sure this process may open `needed` file descriptors: raise the soft `RLIMIT_NOFILE`
/// to `needed` if it is lower (never lowering it), as far as the hard limit allows. Children
/// started afterwards inherit the raised limit. Returns the soft limit now in force.
///
/// # Errors
/// [`LimitError::Files`] if the hard limit is below `needed` (the soft limit is still raised to
/// the hard one), [`LimitError::System`] if the limit cannot be read or set.
pub fn raise_fd_limit(needed: u64) -> Result<u64, LimitError> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(system)?;
    if soft >= needed {
        return Ok(soft);
    }
    let target = needed.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, target, hard).map_err(system)?;
    if target < needed {
        return Err(LimitError::Files {
            needed,
            soft: target,
            hard,
        });
    }
    Ok(target)
}
// ANCHOR_END: raise_fd_limit

/// Make sure `needed` threads can exist at once: raise the soft `RLIMIT_NPROC` toward the hard
/// limit if it is lower, and compare with `/proc/sys/kernel/threads-max`. Returns the soft limit
/// now in force.
///
/// `RLIMIT_NPROC` counts every process and thread of this user, all programs together, so this
/// check is necessary, not sufficient. The kernel does not apply it to root or to a process with
/// `CAP_SYS_RESOURCE` or `CAP_SYS_ADMIN`, so neither does this check (read from
/// `/proc/self/status`). A thread that still cannot be created is reported by the client
/// ([`super::ClientError::Spawn`]).
///
/// # Errors
/// [`LimitError::Threads`] naming the limit that is too low; [`LimitError::System`] if the limit
/// cannot be read or set.
pub fn check_thread_limit(needed: u64) -> Result<u64, LimitError> {
    if let Some(max) = read_proc_number("/proc/sys/kernel/threads-max")
        && max < needed
    {
        return Err(LimitError::Threads {
            needed,
            limit: max,
            which: "kernel.threads-max",
        });
    }
    let (soft, hard) = getrlimit(Resource::RLIMIT_NPROC).map_err(system)?;
    if soft >= needed || exempt_from_nproc() {
        return Ok(soft);
    }
    let target = needed.min(hard);
    setrlimit(Resource::RLIMIT_NPROC, target, hard).map_err(system)?;
    if target < needed {
        return Err(LimitError::Threads {
            needed,
            limit: target,
            which: "RLIMIT_NPROC",
        });
    }
    Ok(target)
}

/// Make sure `needed` connections to one address can be open at once: each needs its own local
/// port from `net.ipv4.ip_local_port_range`. Returns the number of ports in the range (or
/// `u64::MAX` if it cannot be read, as on systems without `/proc`).
///
/// # Errors
/// [`LimitError::Ports`] if the range is smaller than `needed`.
pub fn check_local_ports(needed: u64) -> Result<u64, LimitError> {
    let Ok(text) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range") else {
        return Ok(u64::MAX);
    };
    let mut bounds = text.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(low)), Some(Ok(high))) = (bounds.next(), bounds.next()) else {
        return Ok(u64::MAX);
    };
    let available = (high + 1).saturating_sub(low);
    if available < needed {
        return Err(LimitError::Ports { needed, available });
    }
    Ok(available)
}

/// Whether the kernel skips the `RLIMIT_NPROC` check for this process: real user root, or the
/// capability `CAP_SYS_RESOURCE` (bit 24) or `CAP_SYS_ADMIN` (bit 21) in effect.
fn exempt_from_nproc() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(str::trim)
    };
    let real_root = field("Uid:").and_then(|ids| ids.split_whitespace().next()) == Some("0");
    let capabilities = field("CapEff:")
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .unwrap_or(0);
    real_root || capabilities & (1 << 24 | 1 << 21) != 0
}

fn read_proc_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn system(e: nix::Error) -> LimitError {
    LimitError::System(e.to_string())
}
