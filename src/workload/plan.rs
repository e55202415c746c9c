//! A fetch plan: what every client is asked to do, so that their measurements compare like with
//! like.
//!
//! The plan is plain data: how many fetches, to which address, with which `Host` and path, and how
//! long one fetch may take. Every fetch of a plan sends the same request bytes, built once. The
//! Python counterpart is the list of URLs handed to `ThreadPoolExecutor.map` or `asyncio.gather`;
//! here the URLs are all the same, because what is measured is the waiting, not the pages.
//!
//! Left out: per-fetch URLs, request headers beyond `Host` and `Connection`, and name resolution
//! during a run (a target such as `localhost:8000` is resolved once, by [`FetchPlan::from_target`]).

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::http;

/// What to fetch, how many times, and how long one fetch may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPlan {
    /// How many fetches to make. The client decides how many run at once.
    pub count: usize,
    /// Where to connect. Resolved before the run, so no fetch waits on DNS.
    pub addr: SocketAddr,
    /// The `Host` header (HTTP/1.1 requires one), usually `host:port` as the user wrote it.
    pub host: String,
    /// The request target: path and query, starting with `/`.
    pub path: String,
    /// How long one fetch may take, connect to last byte; past it, the fetch is a
    /// [`super::FetchError::Timeout`].
    pub timeout: Duration,
}

/// The timeout a plan gets unless told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl FetchPlan {
    /// `count` fetches of `/` from `addr`, with `Host: addr` and a 10-second timeout.
    pub fn new(addr: SocketAddr, count: usize) -> FetchPlan {
        FetchPlan {
            count,
            addr,
            host: addr.to_string(),
            path: "/".to_string(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `count` fetches from our delay server at `addr`, each asking for `size` bytes after
    /// `delay`: the path is `/?delay_ms=…&size=…`.
    pub fn delay_server(addr: SocketAddr, count: usize, delay: Duration, size: u64) -> FetchPlan {
        FetchPlan {
            path: format!("/?delay_ms={}&size={size}", delay.as_millis()),
            ..FetchPlan::new(addr, count)
        }
    }

    /// `count` fetches from any HTTP server, given as `HOST:PORT[/PATH]` (an `http://` prefix is
    /// allowed). The host is resolved now, preferring IPv4; the `Host` header is `HOST:PORT` as
    /// written; the path defaults to `/`.
    ///
    /// # Errors
    /// A [`TargetError`] saying what is wrong with `target` and what it should look like.
    pub fn from_target(target: &str, count: usize) -> Result<FetchPlan, TargetError> {
        let bare = target.strip_prefix("http://").unwrap_or(target);
        if bare.starts_with("https://") {
            return Err(TargetError::new(
                target,
                "https is not supported (no TLS here); give a plain-HTTP server as HOST:PORT",
            ));
        }
        let (host, path) = match bare.find('/') {
            Some(slash) => (&bare[..slash], &bare[slash..]),
            None => (bare, "/"),
        };
        if host.is_empty() || !host.contains(':') {
            return Err(TargetError::new(
                target,
                "expected HOST:PORT[/PATH], with a port, e.g. 127.0.0.1:8000/ or localhost:8080/index.html",
            ));
        }
        let addrs: Vec<SocketAddr> = host
            .to_socket_addrs()
            .map_err(|e| TargetError::new(target, format!("cannot resolve {host:?}: {e}")))?
            .collect();
        let addr = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or_else(|| TargetError::new(target, format!("{host:?} resolves to no address")))?;
        let plan = FetchPlan {
            host: host.to_string(),
            path: path.to_string(),
            ..FetchPlan::new(addr, count)
        };
        plan.check()
            .map_err(|e| TargetError::new(target, e.to_string()))?;
        Ok(plan)
    }

    /// The same plan with another timeout.
    #[must_use = "`with_timeout` returns the changed plan"]
    pub fn with_timeout(mut self, timeout: Duration) -> FetchPlan {
        self.timeout = timeout;
        self
    }

    /// The same plan with another count.
    #[must_use = "`with_count` returns the changed plan"]
    pub fn with_count(mut self, count: usize) -> FetchPlan {
        self.count = count;
        self
    }

    /// The bytes every fetch sends.
    ///
    /// # Errors
    /// `InvalidInput` if the host or path holds spaces or control characters (they would split
    /// or corrupt the request), or the path does not start with `/`.
    pub fn request(&self) -> io::Result<Vec<u8>> {
        self.check()?;
        Ok(http::request(&self.host, &self.path))
    }

    fn check(&self) -> io::Result<()> {
        let clean = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if !clean(&self.host) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the Host {:?} must be non-empty, without spaces or control characters",
                    self.host
                ),
            ));
        }
        if !clean(&self.path) || !self.path.starts_with('/') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the path {:?} must start with '/' and hold no spaces or control characters \
                     (percent-encode them)",
                    self.path
                ),
            ));
        }
        Ok(())
    }
}

/// A `--target` that cannot be used, with what it should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    /// The target as given.
    target: String,
    /// What is wrong with it.
    why: String,
}

impl TargetError {
    fn new(target: &str, why: impl Into<String>) -> TargetError {
        TargetError {
            target: target.to_string(),
            why: why.into(),
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad target {:?}: {}", self.target, self.why)
    }
}

impl std::error::Error for TargetError {}
