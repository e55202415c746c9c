//! HTTP/1.1, just enough for the workload: the request our clients send, a response read as it
//! arrives, and the request heads both of our servers read (the delay server and http_server
//! share one core: [`parse_head`], [`take_head`], [`error_response`]).
//!
//! Parsing bytes is httparse's job (zero-copy, fuzzed, and what hyper uses underneath); this
//! module feeds it bytes and decides what a parsed head *means*: which status counts as success,
//! how long the body is, which request is bad. Everything here is "sans-I/O": it takes bytes and
//! returns decisions, so the blocking clients, the event-loop client and the servers share it, and
//! tests can feed it bytes directly. Each server adds only its routes: [`parse_head`] checks the
//! head's size and method and reads its framing, and hands the request target to the server. asyncio's counterpart is `StreamReader.readuntil(b"\r\n\r\n")`
//! plus parsing (aiohttp uses llhttp); tokio's is hyper.
//!
//! A response body ends one of three ways, and the reader follows whichever the head says: after
//! `Content-Length` bytes, after the last chunk of `Transfer-Encoding: chunked` (decoded by
//! [`Chunked`]; real servers use it whenever they do not know the length up front), or when the
//! server closes (no length at all, HTTP/1.0 style). A redirect (`3xx`) is reported with its
//! `Location`, not followed.
//!
//! Left out: keep-alive and pipelining in the fetch clients (they send `Connection: close`), `1xx`
//! interim responses, following redirects, decompressing bodies, keeping trailers, and request
//! bodies (a server answers a request that has one, then closes).

use super::error::FetchError;

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
    /// How the body ends, from the head.
    framing: Framing,
    /// Body bytes received so far (after decoding, for a chunked body).
    received: u64,
}

/// How a response body ends (RFC 9112, section 6.3).
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// After this many bytes (`Content-Length`).
    Length(u64),
    /// After the zero-size last chunk (`Transfer-Encoding: chunked`); the decoder's state.
    Chunked(Chunked),
    /// When the server closes the connection (no length given).
    UntilClose,
}

impl Body {
    /// Take body bytes (possibly none).
    fn feed(&mut self, bytes: &[u8]) -> Result<Progress, FetchError> {
        match &mut self.framing {
            Framing::Chunked(decoder) => self.received += decoder.feed(bytes)?,
            Framing::Length(_) | Framing::UntilClose => self.received += bytes.len() as u64,
        }
        Ok(self.progress())
    }

    fn progress(&self) -> Progress {
        match self.framing {
            // Bytes beyond Content-Length are ignored: the server is about to close anyway.
            Framing::Length(expected) if self.received >= expected => Progress::Done(expected),
            Framing::Chunked(Chunked::Done) => Progress::Done(self.received),
            _ => Progress::NeedMore,
        }
    }
}

/// Where a chunked body's decoder is: `SIZE[;ext]CRLF DATA CRLF ... 0 CRLF [trailers] CRLF`.
/// It counts the data bytes and keeps none of them; a bare LF is accepted where CRLF belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// Reading the hex digits of a chunk size: the value so far and how many digits.
    Size {
        /// The size so far.
        size: u64,
        /// Digits read (at most 16, so the size fits a `u64`).
        digits: u8,
    },
    /// Past the size's digits: skipping extensions and the CR up to the line's LF.
    SizeLine {
        /// The chunk's size.
        size: u64,
    },
    /// Inside a chunk's data, with this many bytes left.
    Data {
        /// Data bytes still to come in this chunk.
        left: u64,
    },
    /// After a chunk's data: the CRLF that ends it (`seen_cr`: its CR has arrived).
    DataEnd {
        /// The CR has arrived.
        seen_cr: bool,
    },
    /// After the last (zero-size) chunk: trailer lines up to an empty line (`line`: the
    /// current line has bytes).
    Trailer {
        /// The current trailer line is not empty.
        line: bool,
    },
    /// The body is complete; anything after it is ignored.
    Done,
}

impl Chunked {
    /// A decoder before the first chunk-size line.
    pub(crate) const START: Chunked = Chunked::Size { size: 0, digits: 0 };

    /// Decode `bytes`, returning how many of them were chunk data.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<u64, FetchError> {
        let mut data = 0;
        while let Some(&byte) = bytes.first() {
            match *self {
                Chunked::Done => break,
                Chunked::Data { left } => {
                    let n = left.min(bytes.len() as u64);
                    data += n;
                    bytes = &bytes[n as usize..];
                    *self = if n == left {
                        Chunked::DataEnd { seen_cr: false }
                    } else {
                        Chunked::Data { left: left - n }
                    };
                    continue;
                }
                _ => {}
            }
            bytes = &bytes[1..];
            *self = self.step(byte)?;
        }
        Ok(data)
    }

    /// One byte of framing (everything but chunk data).
    fn step(self, byte: u8) -> Result<Chunked, FetchError> {
        let malformed = |what: &str| {
            Err(FetchError::Malformed(format!(
                "bad chunked body: {what} (byte {:?})",
                char::from(byte)
            )))
        };
        Ok(match (self, byte) {
            (Chunked::Size { digits: 16, .. }, b) if b.is_ascii_hexdigit() => {
                return malformed("a chunk size longer than 16 hex digits");
            }
            (Chunked::Size { size, digits }, b) if b.is_ascii_hexdigit() => Chunked::Size {
                size: size * 16 + u64::from(char::from(b).to_digit(16).unwrap_or(0)),
                digits: digits + 1,
            },
            (Chunked::Size { digits: 0, .. }, _) => {
                return malformed("a chunk-size line that does not start with a hex digit");
            }
            (Chunked::Size { size, .. } | Chunked::SizeLine { size }, b'\n') if size == 0 => {
                Chunked::Trailer { line: false }
            }
            (Chunked::Size { size, .. } | Chunked::SizeLine { size }, b'\n') => {
                Chunked::Data { left: size }
            }
            (Chunked::Size { size, .. } | Chunked::SizeLine { size }, _) => {
                Chunked::SizeLine { size }
            }
            (Chunked::DataEnd { seen_cr: false }, b'\r') => Chunked::DataEnd { seen_cr: true },
            (Chunked::DataEnd { .. }, b'\n') => Chunked::START,
            (Chunked::DataEnd { .. }, _) => {
                return malformed("chunk data longer than its size line said");
            }
            (Chunked::Trailer { line }, b'\r') => Chunked::Trailer { line },
            (Chunked::Trailer { line: false }, b'\n') => Chunked::Done,
            (Chunked::Trailer { line: true }, b'\n') => Chunked::Trailer { line: false },
            (Chunked::Trailer { .. }, _) => Chunked::Trailer { line: true },
            (Chunked::Data { .. } | Chunked::Done, _) => self,
        })
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
            return body.feed(chunk);
        }
        let parsed = if self.partial_head.is_empty() {
            parse_response_head(chunk)?
        } else {
            self.partial_head.extend_from_slice(chunk);
            parse_response_head(&self.partial_head)?
        };
        match parsed {
            Some((head_len, framing)) => {
                let mut body = Body {
                    framing,
                    received: 0,
                };
                // The head is parsed: give its memory back now, not when the fetch ends.
                let head = std::mem::take(&mut self.partial_head);
                let rest = if head.is_empty() {
                    &chunk[head_len..]
                } else {
                    &head[head_len..]
                };
                let progress = body.feed(rest)?;
                self.body = Some(body);
                Ok(progress)
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
                framing: Framing::UntilClose,
                received,
            }) => Ok(received),
            Some(Body {
                framing: Framing::Length(expected),
                received,
            }) => Err(FetchError::ShortBody {
                expected,
                got: received,
            }),
            Some(Body {
                framing: Framing::Chunked(_),
                received,
            }) => Err(FetchError::Malformed(format!(
                "the server closed the connection {received} bytes into a chunked body, before \
                 its last (zero-size) chunk: it stopped mid-response"
            ))),
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
/// Parse a response head. `Ok(None)`: incomplete. `Ok(Some((head_len, framing)))`: a 2xx
/// response whose head is `head_len` bytes and whose body ends as `framing` says. A redirect is
/// [`FetchError::Redirect`] with its `Location`; any other non-2xx status is
/// [`FetchError::Status`].
fn parse_response_head(buf: &[u8]) -> Result<Option<(usize, Framing)>, FetchError> {
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
    if (300..400).contains(&code) {
        let location = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("location"))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string());
        return Err(FetchError::Redirect {
            status: code,
            location,
        });
    }
    if !(200..300).contains(&code) {
        return Err(FetchError::Status(code));
    }
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoded = false;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides: `gzip, chunked` is chunked (the data stays gzipped, and
            // is counted as it is); any other last coding runs until the server closes.
            let value = String::from_utf8_lossy(header.value);
            let last = value.rsplit(',').next().unwrap_or("").trim();
            chunked = last.eq_ignore_ascii_case("chunked");
            transfer_encoded = true;
            continue;
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
    // 204 No Content has no body whatever the headers say; Transfer-Encoding overrides
    // Content-Length.
    let framing = match (code, chunked, transfer_encoded, content_length) {
        (204, ..) => Framing::Length(0),
        (_, true, _, _) => Framing::Chunked(Chunked::START),
        (_, false, true, _) | (_, false, false, None) => Framing::UntilClose,
        (_, false, false, Some(length)) => Framing::Length(length),
    };
    Ok(Some((head_len, framing)))
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

// ---------------------------------------------------------------------------------------------
// The server side: one core for the delay server and http_server
// ---------------------------------------------------------------------------------------------

// ANCHOR: server_core
/// Why the server refuses a request: the status to answer with and a sentence for the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    /// `400`, `405` or `431`.
    pub(crate) status: u16,
    /// What was wrong and what to send instead; the response body.
    pub(crate) why: String,
}

impl Reject {
    /// A rejection with this status and sentence.
    pub(crate) fn new(status: u16, why: impl Into<String>) -> Reject {
        Reject {
            status,
            why: why.into(),
        }
    }
}

/// What every request head must satisfy, whichever server reads it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeadRules {
    /// The largest head accepted, `\r\n\r\n` included; a larger one gets `431`.
    pub(crate) max_head_bytes: usize,
    /// A request the server does answer, for the error bodies (`GET /?delay_ms=50`).
    pub(crate) usage: &'static str,
}

/// A parsed request head: what the server's own routing made of its target, and whether the
/// connection may carry another request after the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head<T> {
    /// The server's reading of the request target (its route and parameters).
    pub(crate) request: T,
    /// HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`, and no
    /// request body (we cannot skip one, so a request with a body ends the connection).
    pub(crate) keep_alive: bool,
}

/// Parse the request head at the start of `buf` with httparse, once: check its size and method
/// against `rules`, hand its target to the server's `route`, and read its framing.
/// `Ok(None)`: incomplete, read more. `Ok(Some((head, head_len)))`: the next request starts at
/// `head_len`.
pub(crate) fn parse_head<T>(
    buf: &[u8],
    rules: &HeadRules,
    route: impl FnOnce(&str) -> Result<T, Reject>,
) -> Result<Option<(Head<T>, usize)>, Reject> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf) {
        Ok(httparse::Status::Partial) if buf.len() > rules.max_head_bytes => {
            return Err(too_large(rules));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(n)) if n > rules.max_head_bytes => {
            return Err(too_large(rules));
        }
        Ok(httparse::Status::Complete(n)) => n,
        Err(httparse::Error::TooManyHeaders) => return Err(too_large(rules)),
        Err(e) => {
            return Err(Reject::new(
                400,
                format!("not an HTTP/1.x request head ({e}); try: {}", rules.usage),
            ));
        }
    };
    if request.method != Some("GET") {
        return Err(Reject::new(
            405,
            format!("only GET is served: {}", rules.usage),
        ));
    }
    let head = Head {
        request: route(request.path.unwrap_or("/"))?,
        keep_alive: keeps_alive(&request),
    };
    Ok(Some((head, head_len)))
}

fn too_large(rules: &HeadRules) -> Reject {
    Reject::new(
        431,
        format!(
            "the request head is larger than {} bytes or has more than {MAX_HEADERS} headers",
            rules.max_head_bytes
        ),
    )
}

/// Whether the connection may carry another request after this one (see [`Head::keep_alive`]).
fn keeps_alive(request: &httparse::Request<'_, '_>) -> bool {
    let mut keep_alive = request.version == Some(1);
    let mut has_body = false;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding")
            || (header.name.eq_ignore_ascii_case("content-length")
                && header
                    .value
                    .iter()
                    .any(|&b| b.is_ascii_digit() && b != b'0'))
        {
            has_body = true;
        }
    }
    keep_alive && !has_body
}

/// Feed one chunk read from a connection to the connection's `pending` bytes and `parse` what
/// there is (`parse` answers like [`parse_head`]). `None`: read more. `Some(Ok)`: a request, and
/// `pending` now holds only the bytes after its head (a pipelined next request, usually
/// nothing). `Some(Err)`: answer the rejection and close. An empty chunk parses what `pending`
/// already holds.
///
/// In the usual case the whole head arrives in one read and `pending` stays empty: a waiting
/// connection holds no buffer. Only a head split across reads is copied into `pending`.
pub(crate) fn take_head<T, E>(
    pending: &mut Vec<u8>,
    chunk: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<Option<(T, usize)>, E>,
) -> Option<Result<T, E>> {
    let parsed = if pending.is_empty() {
        parse(chunk)
    } else {
        pending.extend_from_slice(chunk);
        parse(pending)
    };
    match parsed {
        Ok(Some((head, head_len))) => {
            if pending.is_empty() {
                pending.extend_from_slice(&chunk[head_len..]);
            } else {
                pending.drain(..head_len);
            }
            Some(Ok(head))
        }
        Ok(None) => {
            if pending.is_empty() {
                pending.extend_from_slice(chunk);
            }
            None
        }
        Err(reject) => Some(Err(reject)),
    }
}
// ANCHOR_END: server_core

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
    fn chunked_body_is_decoded_across_any_split() {
        let whole: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
            5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\n";
        // Every split point, so each state of the decoder meets the end of a read.
        for at in 1..whole.len() {
            let (a, b) = whole.split_at(at);
            assert_eq!(read_all(&[a, b]).unwrap(), 31, "split at {at}");
        }
        let one_byte_each: Vec<&[u8]> = whole.chunks(1).collect();
        assert_eq!(read_all(&one_byte_each).unwrap(), 31);
    }

    #[test]
    fn chunked_overrides_content_length_and_a_bare_lf_is_accepted() {
        let r: &[&[u8]] = &[
            b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\nabc\n0\n\n",
        ];
        assert_eq!(read_all(r).unwrap(), 3);
    }

    #[test]
    fn a_chunked_body_cut_short_or_garbled_is_malformed() {
        let cut: &[&[u8]] = &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"];
        let e = read_all(cut).unwrap_err().to_string();
        assert!(e.contains("3 bytes into a chunked body"), "{e}");
        let garbled: &[&[u8]] = &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"];
        assert!(matches!(read_all(garbled), Err(FetchError::Malformed(_))));
        let too_long: &[&[u8]] =
            &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n"];
        assert!(matches!(read_all(too_long), Err(FetchError::Malformed(_))));
        let huge: &[&[u8]] =
            &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n"];
        assert!(matches!(read_all(huge), Err(FetchError::Malformed(_))));
    }

    #[test]
    fn redirects_are_reported_with_their_location_not_followed() {
        let r: &[&[u8]] = &[b"HTTP/1.0 301 Moved Permanently\r\nLocation: /dir/\r\n\r\n"];
        match read_all(r) {
            Err(FetchError::Redirect {
                status: 301,
                location: Some(location),
            }) => assert_eq!(location, "/dir/"),
            other => panic!("{other:?}"),
        }
        let e = read_all(r).unwrap_err();
        assert_eq!(e.kind(), super::super::FetchErrorKind::Status);
        assert!(e.to_string().contains("\"/dir/\""), "{e}");
    }

    #[test]
    fn close_delimited_body_after_a_head_split_across_reads() {
        let r: &[&[u8]] = &[b"HTTP/1.0 200 OK\r\nServer: x\r", b"\n\r\nabc", b"de"];
        assert_eq!(read_all(r).unwrap(), 5);
    }

    fn hello(target: &str) -> Result<&'static str, Reject> {
        match target {
            "/" => Ok("hello"),
            _ => Err(Reject::new(400, "no")),
        }
    }

    const RULES: HeadRules = HeadRules {
        max_head_bytes: 8 * 1024,
        usage: "GET /",
    };

    fn parse(buf: &[u8]) -> Result<Option<(Head<&'static str>, usize)>, Reject> {
        parse_head(buf, &RULES, hello)
    }

    #[test]
    fn a_head_is_parsed_once_with_its_framing() {
        let (head, n) = parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((head.request, head.keep_alive, n), ("hello", true, 27));
        let close = b"GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n";
        assert!(!parse(close).unwrap().unwrap().0.keep_alive);
        assert!(
            !parse(b"GET / HTTP/1.0\r\n\r\n")
                .unwrap()
                .unwrap()
                .0
                .keep_alive
        );
        let old = b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
        assert!(parse(old).unwrap().unwrap().0.keep_alive);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHo"), Ok(None));
    }

    #[test]
    fn a_request_with_a_body_ends_the_connection() {
        let body = b"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        assert!(!parse(body).unwrap().unwrap().0.keep_alive);
        let empty = b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        assert!(parse(empty).unwrap().unwrap().0.keep_alive);
        let chunked = b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(!parse(chunked).unwrap().unwrap().0.keep_alive);
    }

    #[test]
    fn bad_heads_get_400_405_431_and_routes_have_their_say() {
        let status = |buf: &[u8]| parse(buf).unwrap_err().status;
        assert_eq!(status(b"\x01\x02 / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"GET /elsewhere HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status(b"POST / HTTP/1.1\r\n\r\n"), 405);
        let mut partial = b"GET / HTTP/1.1\r\nX: ".to_vec();
        partial.resize(9000, b'a');
        assert_eq!(status(&partial), 431);
        let mut complete = partial.clone();
        complete.extend_from_slice(b"\r\n\r\n");
        assert_eq!(status(&complete), 431);
        let many: Vec<u8> = [&b"GET / HTTP/1.1\r\n"[..], &b"X: y\r\n".repeat(40), b"\r\n"].concat();
        assert_eq!(status(&many), 431);
    }

    #[test]
    fn a_head_split_across_reads_and_two_pipelined_requests() {
        let mut pending = Vec::new();
        assert!(take_head(&mut pending, b"GET / HT", parse).is_none());
        assert_eq!(pending.len(), 8);
        let two = b"TP/1.1\r\n\r\nGET / HTTP/1.1\r\nConnection: close\r\n\r\n";
        let first = take_head(&mut pending, two, parse).unwrap().unwrap();
        assert!(first.keep_alive);
        let second = take_head(&mut pending, &[], parse).unwrap().unwrap();
        assert!(!second.keep_alive);
        assert!(pending.is_empty());
        // The usual case: a whole head in one read keeps nothing, and allocates nothing.
        let mut fresh = Vec::new();
        assert!(take_head(&mut fresh, b"GET / HTTP/1.1\r\n\r\n", parse).is_some());
        assert_eq!(fresh.capacity(), 0);
    }
}
