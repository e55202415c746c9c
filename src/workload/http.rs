//! HTTP/1.1, just enough for the workload: the request our clients send, a response read as it
//! arrives, and the one kind of request the delay server answers.
//!
//! Parsing bytes is httparse's job (zero-copy, fuzzed, and what hyper uses underneath); this
//! module feeds it bytes and decides what a parsed head *means*: which status counts as success,
//! how long the body is, which request is bad. Everything here is "sans-I/O": it takes bytes and
//! returns decisions, so the blocking clients, the event-loop client and the server share it, and
//! tests can feed it bytes directly. asyncio's counterpart is `StreamReader.readuntil(b"\r\n\r\n")`
//! plus parsing (aiohttp uses llhttp); tokio's is hyper.
//!
//! Left out: chunked transfer coding (a chunked response is reported as malformed), keep-alive and
//! pipelining (we send `Connection: close`), `1xx` interim responses, trailers, request bodies.

use std::io::Write;
use std::time::Duration;

use super::fetch::FetchError;
use super::server::ServerOptions;

/// Headers one response or request may have; more is an error (a response: malformed; a request:
/// `431`). Our own server sends two.
const MAX_HEADERS: usize = 32;

/// The largest response head a client accepts before calling the response malformed.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// The request every fetch of a plan sends: `GET`, the `Host` header HTTP/1.1 requires, and
/// `Connection: close` so that the server closes after one response.
pub(crate) fn request(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// How far one response has come.
pub(crate) enum Progress {
    /// Not complete yet: read more.
    NeedMore,
    /// Complete: the body had this many bytes.
    Done(u64),
}

/// The client side: a response read chunk by chunk, keeping as little as possible.
///
/// The body is counted, not kept: the workload only checks that it arrived whole.
#[derive(Debug, Default)]
pub(crate) struct ResponseReader {
    /// The bytes of a response head that did not arrive whole in one read. Stays empty, and
    /// allocates nothing, in the usual case where the first read holds the whole head.
    partial_head: Vec<u8>,
    /// Set once the head is parsed: how many body bytes are expected and have arrived.
    body: Option<Body>,
}

/// Body bookkeeping, once the head is known.
#[derive(Debug, Clone, Copy)]
struct Body {
    /// From `Content-Length`; `None` means "until the server closes" (HTTP/1.0 style).
    expected: Option<u64>,
    /// Body bytes received so far.
    received: u64,
}

impl Body {
    fn progress(&self) -> Progress {
        match self.expected {
            // Bytes beyond Content-Length are ignored: the server is about to close anyway.
            Some(expected) if self.received >= expected => Progress::Done(expected),
            _ => Progress::NeedMore,
        }
    }
}

impl ResponseReader {
    /// A reader before the first byte.
    pub(crate) fn new() -> ResponseReader {
        ResponseReader::default()
    }

    /// Take the next chunk read from the socket; an empty chunk means the server closed.
    /// `Some` once the fetch is decided, either way. (The shape [`super::wire::read_until`]
    /// wants.)
    pub(crate) fn step(&mut self, chunk: &[u8]) -> Option<Result<u64, FetchError>> {
        if chunk.is_empty() {
            return Some(self.end_of_stream());
        }
        match self.feed(chunk) {
            Ok(Progress::NeedMore) => None,
            Ok(Progress::Done(bytes)) => Some(Ok(bytes)),
            Err(e) => Some(Err(e)),
        }
    }

    /// Take a non-empty chunk.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Progress, FetchError> {
        if let Some(body) = &mut self.body {
            body.received += chunk.len() as u64;
            return Ok(body.progress());
        }
        let (parsed, total) = if self.partial_head.is_empty() {
            (parse_response_head(chunk)?, chunk.len())
        } else {
            self.partial_head.extend_from_slice(chunk);
            let parsed = parse_response_head(&self.partial_head)?;
            (parsed, self.partial_head.len())
        };
        match parsed {
            Some((head_len, expected)) => {
                let body = Body {
                    expected,
                    received: (total - head_len) as u64,
                };
                self.body = Some(body);
                // The head is parsed: give its memory back now, not when the fetch ends.
                self.partial_head = Vec::new();
                Ok(body.progress())
            }
            None => {
                if self.partial_head.is_empty() {
                    self.partial_head.extend_from_slice(chunk);
                }
                if self.partial_head.len() > MAX_RESPONSE_HEAD {
                    return Err(FetchError::Malformed(format!(
                        "the response head is longer than {MAX_RESPONSE_HEAD} bytes"
                    )));
                }
                Ok(Progress::NeedMore)
            }
        }
    }

    /// The server closed the connection: the fetch is complete only if the body was meant to
    /// end there.
    pub(crate) fn end_of_stream(&self) -> Result<u64, FetchError> {
        match self.body {
            Some(Body {
                expected: None,
                received,
            }) => Ok(received),
            Some(Body {
                expected: Some(expected),
                received,
            }) => Err(FetchError::ShortBody {
                expected,
                got: received,
            }),
            None if self.partial_head.is_empty() => Err(FetchError::Malformed(
                "the server closed the connection without sending a response".to_string(),
            )),
            None => Err(FetchError::Malformed(format!(
                "the server closed the connection {} bytes into the response head",
                self.partial_head.len()
            ))),
        }
    }
}

// ANCHOR: parse_response_head
/// Parse a response head. `Ok(None)`: incomplete. `Ok(Some((head_len, body_len)))`: a 2xx
/// response whose head is `head_len` bytes, with `body_len` from `Content-Length` (`None` when
/// the body ends at end of stream).
fn parse_response_head(buf: &[u8]) -> Result<Option<(usize, Option<u64>)>, FetchError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(n)) => n,
        Err(e) => {
            return Err(FetchError::Malformed(format!(
                "not an HTTP/1.x response head ({e}); it starts with {:?}",
                String::from_utf8_lossy(&buf[..buf.len().min(24)])
            )));
        }
    };
    // A complete head always has a code.
    let code = response.code.unwrap_or(0);
    if !(200..300).contains(&code) {
        return Err(FetchError::Status(code));
    }
    let mut content_length: Option<u64> = None;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(FetchError::Malformed(
                "the body uses Transfer-Encoding (chunked), which this client leaves out; \
                 fetch something the server sends with a Content-Length, like a static file"
                    .to_string(),
            ));
        }
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = parse_decimal(header.value).ok_or_else(|| {
                FetchError::Malformed(format!(
                    "Content-Length is not a number: {:?}",
                    String::from_utf8_lossy(header.value)
                ))
            })?;
            if content_length.is_some_and(|seen| seen != value) {
                return Err(FetchError::Malformed(
                    "two different Content-Length headers".to_string(),
                ));
            }
            content_length = Some(value);
        }
    }
    // 204 No Content has no body whatever the headers say.
    if code == 204 {
        content_length = Some(0);
    }
    Ok(Some((head_len, content_length)))
}
// ANCHOR_END: parse_response_head

/// ASCII digits (optionally surrounded by spaces) as a `u64`; `None` for anything else.
fn parse_decimal(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// What a delay-server request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ask {
    /// How long to wait before answering (`delay_ms`, default 0).
    pub(crate) delay: Duration,
    /// How many body bytes to send (`size`, default 0).
    pub(crate) size: u64,
}

/// Why the server refuses a request: the status to answer with and a sentence for the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    /// `400`, `405` or `431`.
    pub(crate) status: u16,
    /// What was wrong and what to send instead; the response body.
    pub(crate) why: String,
}

impl Reject {
    fn new(status: u16, why: impl Into<String>) -> Reject {
        Reject {
            status,
            why: why.into(),
        }
    }
}

/// Parse a request head as the delay server sees it. `Ok(None)`: incomplete, read more.
pub(crate) fn parse_request(buf: &[u8], options: &ServerOptions) -> Result<Option<Ask>, Reject> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Partial) if buf.len() > options.max_head_bytes => {
            Err(too_large(options))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(_)) => {
            if request.method != Some("GET") {
                return Err(Reject::new(
                    405,
                    "only GET is served: GET /?delay_ms=50&size=1024",
                ));
            }
            parse_query(request.path.unwrap_or("/"), options).map(Some)
        }
        Err(httparse::Error::TooManyHeaders) => Err(too_large(options)),
        Err(e) => Err(Reject::new(
            400,
            format!("not an HTTP/1.x request head ({e}); try: GET /?delay_ms=50&size=1024"),
        )),
    }
}

fn too_large(options: &ServerOptions) -> Reject {
    Reject::new(
        431,
        format!(
            "the request head is larger than {} bytes or has more than {MAX_HEADERS} headers",
            options.max_head_bytes
        ),
    )
}

/// Read `delay_ms` and `size` from the query string of `target`; other parameters are ignored.
fn parse_query(target: &str, options: &ServerOptions) -> Result<Ask, Reject> {
    let mut ask = Ask {
        delay: Duration::ZERO,
        size: 0,
    };
    let Some((_path, query)) = target.split_once('?') else {
        return Ok(ask);
    };
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "delay_ms" => {
                let ms = value
                    .parse::<u64>()
                    .ok()
                    .filter(|&ms| u128::from(ms) <= options.max_delay.as_millis())
                    .ok_or_else(|| {
                        Reject::new(
                            400,
                            format!(
                                "delay_ms must be a whole number of milliseconds from 0 to {}, \
                                 not {value:?}",
                                options.max_delay.as_millis()
                            ),
                        )
                    })?;
                ask.delay = Duration::from_millis(ms);
            }
            "size" => {
                ask.size = value
                    .parse::<u64>()
                    .ok()
                    .filter(|&size| size <= options.max_size)
                    .ok_or_else(|| {
                        Reject::new(
                            400,
                            format!(
                                "size must be a whole number of bytes from 0 to {}, not {value:?}",
                                options.max_size
                            ),
                        )
                    })?;
            }
            _ => {}
        }
    }
    Ok(ask)
}

/// The longest head [`ok_head`] writes (a 20-digit length included), rounded up.
pub(crate) const OK_HEAD_MAX: usize = 96;

/// Write the head of a `200 OK` response with a body of `size` bytes into `out`, returning its
/// length. No allocation: ten thousand of these are written per run.
pub(crate) fn ok_head(size: u64, out: &mut [u8; OK_HEAD_MAX]) -> usize {
    let mut rest = &mut out[..];
    // Cannot fail: the longest possible head fits in OK_HEAD_MAX bytes.
    let _ = write!(
        rest,
        "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    );
    OK_HEAD_MAX - rest.len()
}

/// A whole error response (head and a one-line plain-text body) for `reject`.
pub(crate) fn error_response(reject: &Reject) -> Vec<u8> {
    let reason = match reject.status {
        400 => "Bad Request",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let allow = if reject.status == 405 {
        "Allow: GET\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {} {reason}\r\n{allow}Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{}\n",
        reject.status,
        reject.why.len() + 1,
        reject.why
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(chunks: &[&[u8]]) -> Result<u64, FetchError> {
        let mut reader = ResponseReader::new();
        for chunk in chunks {
            if let Some(done) = reader.step(chunk) {
                return done;
            }
        }
        reader.end_of_stream()
    }

    #[test]
    fn whole_response_in_one_chunk_stops_at_content_length() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        let mut reader = ResponseReader::new();
        assert!(matches!(reader.step(r), Some(Ok(3))));
    }

    #[test]
    fn head_split_across_reads() {
        let r: &[&[u8]] = &[
            b"HTTP/1.1 200 OK\r\nCont",
            b"ent-Length: 4\r\n\r",
            b"\nab",
            b"cd",
        ];
        assert_eq!(read_all(r).unwrap(), 4);
    }

    #[test]
    fn no_content_length_reads_to_end_of_stream() {
        let r: &[&[u8]] = &[b"HTTP/1.0 200 OK\r\n\r\nhello", b" world"];
        assert_eq!(read_all(r).unwrap(), 11);
    }

    #[test]
    fn short_body_and_bad_status_and_garbage() {
        let short: &[&[u8]] = &[b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"];
        assert!(matches!(
            read_all(short),
            Err(FetchError::ShortBody {
                expected: 100,
                got: 10
            })
        ));
        let missing: &[&[u8]] = &[b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"];
        assert!(matches!(read_all(missing), Err(FetchError::Status(404))));
        let garbage: &[&[u8]] = &[b"SPLAT\r\n\r\n"];
        assert!(matches!(read_all(garbage), Err(FetchError::Malformed(_))));
        assert!(matches!(read_all(&[]), Err(FetchError::Malformed(_))));
    }

    #[test]
    fn server_reads_delay_and_size() {
        let o = ServerOptions::default();
        let ask = parse_request(
            b"GET /?delay_ms=50&size=1024 HTTP/1.1\r\nHost: x\r\n\r\n",
            &o,
        );
        assert_eq!(
            ask,
            Ok(Some(Ask {
                delay: Duration::from_millis(50),
                size: 1024
            }))
        );
        assert_eq!(parse_request(b"GET / HTTP/1.1\r\nHo", &o), Ok(None));
        assert_eq!(
            parse_request(b"GET /?size=x HTTP/1.1\r\n\r\n", &o)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            parse_request(b"POST / HTTP/1.1\r\n\r\n", &o)
                .unwrap_err()
                .status,
            405
        );
        assert_eq!(
            parse_request(b"\x01\x02 / HTTP/1.1\r\n\r\n", &o)
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn ok_head_fits_the_largest_size() {
        let mut out = [0; OK_HEAD_MAX];
        let n = ok_head(u64::MAX, &mut out);
        assert!(out[..n].ends_with(b"\r\n\r\n"));
    }
}
