//! A fetch plan: what every client is asked to do, so that their measurements compare like with
//! like.
//!
//! The plan is plain data: how many fetches, to which address, with which `Host` and path, how
//! long one fetch may take, and how many may be in flight at once. Every fetch of a plan sends the same request bytes, built once. The
//! Python counterpart is the list of URLs handed to `ThreadPoolExecutor.map` or `asyncio.gather`;
//! here the URLs are all the same, because what is measured is the waiting, not the pages.
//!
//! The cap on fetches in flight ([`FetchPlan::limit`]) is what load tools call concurrency (`ab -c`,
//! `hey -c`, `oha -c`) and what asyncio code writes as an `asyncio.Semaphore` around each fetch.
//! Without it every client that can starts all its fetches at once, which is the comparison the
//! book makes against our own delay server; a real server with a small listen backlog drops such
//! a burst, so a `--target` run gets a cap by default.
//!
//! Left out: per-fetch URLs, request headers beyond `Host` and `Connection`, `https://` (no TLS),
//! and name resolution during a run (a target such as `localhost:8000` is resolved once, by
//! [`FetchPlan::from_target`]).

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::http;

/// What to fetch, how many times, and how long one fetch may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPlan {
    /// How many fetches to make.
    pub count: usize,
    /// At most this many fetches in flight at once, whatever the client (a thread pool smaller
    /// than this is its own, smaller, limit). `None`: as many as the client starts, which for
    /// thread-per-task and the event loop is all of them.
    pub limit: Option<usize>,
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
    /// `count` fetches of `/` from `addr`, with `Host: addr`, a 10-second timeout and no cap on
    /// fetches in flight.
    pub fn new(addr: SocketAddr, count: usize) -> FetchPlan {
        FetchPlan {
            count,
            limit: None,
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

    /// `count` fetches from any HTTP server, given as `HOST:PORT[/PATH]` or as a URL the way a
    /// browser shows it, `http://HOST[:PORT][/PATH]` (port 80 when a URL names none; a `#fragment`
    /// is dropped, as browsers do). The host is resolved now, preferring IPv4; the `Host` header
    /// is `HOST[:PORT]` as written; the path defaults to `/`.
    ///
    /// # Errors
    /// A [`TargetError`] saying what is wrong with `target` and what it should look like:
    /// `https://` (there is no TLS here), another scheme, no port, a host that does not resolve.
    pub fn from_target(target: &str, count: usize) -> Result<FetchPlan, TargetError> {
        let trimmed = target.trim();
        let (is_url, rest) = match trimmed.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (true, rest),
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => {
                return Err(TargetError::new(
                    target,
                    "https is not supported (this client speaks no TLS); give a plain-HTTP \
                     server, e.g. http://127.0.0.1:8000/ or 127.0.0.1:8000/",
                ));
            }
            Some((scheme, _)) => {
                return Err(TargetError::new(
                    target,
                    format!("the scheme {scheme:?} is not supported; only http:// is"),
                ));
            }
            None => (false, trimmed),
        };
        let rest = rest.split('#').next().unwrap_or(rest);
        let (authority, path) = match rest.find(['/', '?']) {
            Some(at) if rest[at..].starts_with('?') => (&rest[..at], format!("/{}", &rest[at..])),
            Some(at) => (&rest[..at], rest[at..].to_string()),
            None => (rest, "/".to_string()),
        };
        let connect_to = match (has_port(authority), is_url) {
            (true, _) => authority.to_string(),
            (false, true) if !authority.is_empty() => format!("{authority}:80"),
            (false, _) => {
                return Err(TargetError::new(
                    target,
                    "expected HOST:PORT[/PATH] or http://HOST[:PORT][/PATH], e.g. \
                     127.0.0.1:8000/ or http://localhost:8080/index.html",
                ));
            }
        };
        let addrs: Vec<SocketAddr> = connect_to
            .to_socket_addrs()
            .map_err(|e| TargetError::new(target, format!("cannot resolve {authority:?}: {e}")))?
            .collect();
        let addr = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or_else(|| {
                TargetError::new(target, format!("{authority:?} resolves to no address"))
            })?;
        let plan = FetchPlan {
            host: authority.to_string(),
            path,
            ..FetchPlan::new(addr, count)
        };
        plan.check()
            .map_err(|e| TargetError::new(target, e.to_string()))?;
        Ok(plan)
    }

    /// The same plan with another cap on fetches in flight (`None`: no cap).
    ///
    /// # Panics
    /// If the cap is `Some(0)`: a plan that may never start a fetch would wait forever.
    #[must_use = "`with_limit` returns the changed plan"]
    pub fn with_limit(mut self, limit: Option<usize>) -> FetchPlan {
        assert!(
            limit != Some(0),
            "a cap of 0 fetches in flight never fetches"
        );
        self.limit = limit;
        self
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

/// Whether `authority` (`host:port`, `[v6]:port`, `host`, `[v6]`) ends in a port.
fn has_port(authority: &str) -> bool {
    let after_host = match authority.rfind(']') {
        Some(bracket) => &authority[bracket + 1..],
        None => authority,
    };
    after_host
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn target(t: &str) -> Result<(SocketAddr, String, String), TargetError> {
        FetchPlan::from_target(t, 1).map(|p| (p.addr, p.host, p.path))
    }

    #[test]
    fn host_port_and_pasted_urls_mean_the_same_fetch() {
        let bare = target("127.0.0.1:8000/blob.bin").unwrap();
        assert_eq!(bare.1, "127.0.0.1:8000");
        assert_eq!(bare.2, "/blob.bin");
        assert_eq!(target("http://127.0.0.1:8000/blob.bin").unwrap(), bare);
        assert_eq!(target("HTTP://127.0.0.1:8000/blob.bin#top").unwrap(), bare);
        assert_eq!(target("http://127.0.0.1:8000").unwrap().2, "/");
        assert_eq!(target("127.0.0.1:8000?a=1").unwrap().2, "/?a=1");
    }

    #[test]
    fn a_url_without_a_port_means_port_80() {
        let (addr, host, path) = target("http://127.0.0.1/x").unwrap();
        assert_eq!(addr.port(), 80);
        assert_eq!((host.as_str(), path.as_str()), ("127.0.0.1", "/x"));
        assert_eq!(target("http://[::1]/").unwrap().0.port(), 80);
        assert_eq!(target("[::1]:8000/").unwrap().0.port(), 8000);
    }

    #[test]
    fn https_other_schemes_and_missing_ports_say_what_to_write() {
        let https = target("https://127.0.0.1:8443/").unwrap_err().to_string();
        assert!(
            https.contains("no TLS") && https.contains("http://"),
            "{https}"
        );
        let ftp = target("ftp://127.0.0.1:21/").unwrap_err().to_string();
        assert!(ftp.contains("only http://"), "{ftp}");
        let bare = target("localhost").unwrap_err().to_string();
        assert!(bare.contains("HOST:PORT"), "{bare}");
        let spaced = target("127.0.0.1:8000/a b").unwrap_err().to_string();
        assert!(spaced.contains("percent-encode"), "{spaced}");
    }

    #[test]
    #[should_panic(expected = "never fetches")]
    fn a_cap_of_zero_is_refused() {
        let _ = FetchPlan::new("127.0.0.1:1".parse().unwrap(), 1).with_limit(Some(0));
    }
}
