//! HTTP/1.1 over a unix socket, as much of it as the Docker Engine API uses.
//!
//! The docker client speaks plain HTTP/1.1 to the daemon's socket: a request
//! line and headers (parsed here by `httparse`), a body sized by
//! `Content-Length` or sent in chunks (`Transfer-Encoding: chunked`: a build
//! context or an image tar whose length the client does not know), and
//! three kinds of answer:
//!
//! - a plain one with `Content-Length` (most endpoints; the connection is kept
//!   for the client's next request);
//! - a stream of unknown length, in chunks (`logs -f`, `events`, `stats`,
//!   `images/get`, a build's progress), ended by the zero-size chunk;
//! - a *hijack*: `attach` and `exec start` answer `101 UPGRADED` and from then
//!   on the connection is no longer HTTP but the container's raw byte streams
//!   in both directions (docker's "connection hijacking").

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;

/// The most header bytes a request may carry (dockerd: 1 MiB).
const MAX_HEAD: usize = 1 << 20;

/// One parsed request; the body is read through [`Conn::body`].
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path without the query string, percent-decoded.
    pub path: String,
    /// The raw target (path and query), for the log.
    pub target: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The last value of a query parameter.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated query parameter (`?t=a&t=b`).
    pub fn q_all(&self, name: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// docker's boolean query values: `1`, `true`, `True` are true; absent,
    /// empty, `0`, `false` are false.
    pub fn flag(&self, name: &str) -> bool {
        matches!(
            self.q(name).map(str::to_ascii_lowercase).as_deref(),
            Some("1" | "true" | "yes")
        )
    }

    /// How the body is framed.
    fn body_kind(&self) -> BodyKind {
        if self
            .header("Transfer-Encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
        {
            return BodyKind::Chunked {
                left: 0,
                done: false,
            };
        }
        match self
            .header("Content-Length")
            .and_then(|v| v.trim().parse().ok())
        {
            Some(n) => BodyKind::Length(n),
            None => BodyKind::Length(0),
        }
    }

    /// Whether the client asked to take the connection over (`Upgrade: tcp`).
    pub fn wants_upgrade(&self) -> bool {
        self.header("Upgrade").is_some()
            || self
                .header("Connection")
                .is_some_and(|v| v.to_ascii_lowercase().contains("upgrade"))
    }
}

/// `%2F` → `/`, `+` stays `+` in paths; in queries `+` is a space.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        let b = (h * 16 + l) as u8;
                        out.push(b);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits `a=1&b=%2F` into pairs.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

#[derive(Debug, Clone, Copy)]
enum BodyKind {
    Length(u64),
    Chunked { left: u64, done: bool },
}

/// One client connection.
pub struct Conn {
    reader: BufReader<UnixStream>,
    pub stream: UnixStream,
    body: BodyKind,
}

impl Conn {
    pub fn new(stream: UnixStream) -> io::Result<Conn> {
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, stream.try_clone()?),
            stream,
            body: BodyKind::Length(0),
        })
    }

    /// Reads the next request's line and headers; `None` at a clean end of
    /// the connection (the client closed it between requests).
    pub fn next_request(&mut self) -> io::Result<Option<Request>> {
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = (&mut self.reader)
                .take(MAX_HEAD as u64)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                if head.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection ended in the middle of a request head",
                ));
            }
            // Blank lines before a request line are tolerated (RFC 9112 2.2).
            if head.is_empty() && (line == b"\r\n" || line == b"\n") {
                continue;
            }
            head.extend_from_slice(&line);
            if line == b"\r\n" || line == b"\n" {
                break;
            }
            if head.len() > MAX_HEAD {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request head larger than 1 MiB",
                ));
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) | Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not an HTTP/1.1 request",
                ));
            }
        }
        let target = req.path.unwrap_or("/").to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let request = Request {
            method: req.method.unwrap_or("GET").to_string(),
            path: percent_decode(path, false),
            target: target.clone(),
            query: parse_query(query),
            headers: req
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
        };
        self.body = request.body_kind();
        Ok(Some(request))
    }

    /// A reader over the current request's body (it ends where the body does).
    pub fn body(&mut self) -> Body<'_> {
        Body { conn: self }
    }

    /// Reads the whole body (at most `limit` bytes).
    pub fn read_body(&mut self, limit: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.body().take(limit as u64 + 1).read_to_end(&mut out)?;
        if out.len() > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("request body larger than {limit} bytes"),
            ));
        }
        Ok(out)
    }

    /// Skips what the handler left of the body, so that the next request
    /// starts where it should.
    pub fn drain_body(&mut self) -> io::Result<()> {
        io::copy(&mut self.body(), &mut io::sink()).map(|_| ())
    }

    /// Bytes the reader buffered past the head (a hijacked client may have
    /// sent its input already); the caller takes them with the stream.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let b = self.reader.buffer().to_vec();
        self.reader.consume(b.len());
        b
    }

    fn read_body_bytes(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.body {
                BodyKind::Length(0) => return Ok(0),
                BodyKind::Length(n) => {
                    let want = buf.len().min(n.min(usize::MAX as u64) as usize);
                    let got = self.reader.read(&mut buf[..want])?;
                    if got == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the client closed the connection inside the request body",
                        ));
                    }
                    self.body = BodyKind::Length(n - got as u64);
                    return Ok(got);
                }
                BodyKind::Chunked { done: true, .. } => return Ok(0),
                BodyKind::Chunked { left: 0, .. } => {
                    let mut line = Vec::new();
                    self.reader.read_until(b'\n', &mut line)?;
                    let size = match httparse::parse_chunk_size(&line) {
                        Ok(httparse::Status::Complete((_, size))) => size,
                        _ => {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                "bad chunk size line in a chunked body",
                            ));
                        }
                    };
                    if size == 0 {
                        // Trailers, then the blank line.
                        loop {
                            let mut l = Vec::new();
                            if self.reader.read_until(b'\n', &mut l)? == 0
                                || l == b"\r\n"
                                || l == b"\n"
                            {
                                break;
                            }
                        }
                        self.body = BodyKind::Chunked {
                            left: 0,
                            done: true,
                        };
                        return Ok(0);
                    }
                    self.body = BodyKind::Chunked {
                        left: size,
                        done: false,
                    };
                }
                BodyKind::Chunked { left, .. } => {
                    let want = buf.len().min(left.min(usize::MAX as u64) as usize);
                    let got = self.reader.read(&mut buf[..want])?;
                    if got == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the client closed the connection inside a chunk",
                        ));
                    }
                    let left = left - got as u64;
                    if left == 0 {
                        let mut crlf = Vec::new();
                        self.reader.read_until(b'\n', &mut crlf)?;
                    }
                    self.body = BodyKind::Chunked { left, done: false };
                    return Ok(got);
                }
            }
        }
    }
}

/// The body of the current request.
pub struct Body<'a> {
    conn: &'a mut Conn,
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.conn.read_body_bytes(buf)
    }
}

/// The reason phrase of a status code.
pub fn reason(status: u16) -> &'static str {
    match status {
        101 => "UPGRADED",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Headers every answer carries, as dockerd's.
pub fn common_headers() -> Vec<(&'static str, String)> {
    vec![
        ("Api-Version", super::API_VERSION.to_string()),
        ("Docker-Experimental", "false".into()),
        ("Ostype", "linux".into()),
        (
            "Server",
            format!("glassbox/{} (linux)", env!("CARGO_PKG_VERSION")),
        ),
        ("Date", http_date(crate::timefmt::now_unix_ns())),
    ]
}

/// `Mon, 02 Jan 2006 15:04:05 GMT` (RFC 9110's IMF-fixdate).
pub fn http_date(unix_ns: u64) -> String {
    let t = crate::timefmt::rfc3339(unix_ns);
    // 2026-11-27T20:31:04.000000000Z
    let days = (unix_ns / 1_000_000_000 / 86_400) as i64;
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let month = t[5..7].parse::<usize>().unwrap_or(1);
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{weekday}, {} {} {} {} GMT",
        &t[8..10],
        months[(month + 11) % 12],
        &t[0..4],
        &t[11..19]
    )
}

/// Writes a status line and headers.
pub fn write_head(w: &mut impl Write, status: u16, headers: &[(&str, String)]) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in common_headers().iter().chain(headers) {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())
}

/// Chunked transfer encoding for a streamed answer; each `write` is one
/// chunk, sent at once (a `logs -f` line must reach the client now).
pub struct Chunked<W: Write> {
    inner: W,
}

impl<W: Write> Chunked<W> {
    pub fn new(inner: W) -> Self {
        Chunked { inner }
    }

    /// The connection under the chunks.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The zero-size chunk: the end of the body.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(b"0\r\n\r\n")?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Chunked<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut out = format!("{:x}\r\n", buf.len()).into_bytes();
        out.extend_from_slice(buf);
        out.extend_from_slice(b"\r\n");
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_paths_decode() {
        assert_eq!(
            parse_query("a=1&filters=%7B%22x%22%3A1%7D&b=c+d"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("filters".to_string(), "{\"x\":1}".to_string()),
                ("b".to_string(), "c d".to_string())
            ]
        );
        assert_eq!(
            percent_decode("/images/a%2Fb:1/json", false),
            "/images/a/b:1/json"
        );
        assert_eq!(percent_decode("100%", false), "100%");
    }

    #[test]
    fn dates_are_imf_fixdate() {
        assert_eq!(
            http_date(1_796_416_264_000_000_005),
            "Fri, 04 Dec 2026 20:31:04 GMT"
        );
    }

    #[test]
    fn chunked_bodies_are_read_and_requests_follow() {
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(
            b"POST /build HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding: chunked\r\n\r\n\
              5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET /_ping HTTP/1.1\r\n\r\n",
        )
        .unwrap();
        let mut conn = Conn::new(a).unwrap();
        let r = conn.next_request().unwrap().unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/build"));
        assert_eq!(conn.read_body(100).unwrap(), b"hello world");
        let r = conn.next_request().unwrap().unwrap();
        assert_eq!(r.path, "/_ping");
        drop(b);
        conn.drain_body().unwrap();
        assert!(conn.next_request().unwrap().is_none());
    }
}
