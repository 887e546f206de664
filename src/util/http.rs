//! One HTTP request, as `curl http://HOST/` makes it: `GET /` in HTTP/1.0
//! with `Connection: close`, so the server sends one answer and closes.
//! The lab's demos time it; the exercise checks read its status line.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends `GET /` on an open connection and reads the answer until the server
/// closes, at most `limit` bytes (5 s for each read and write).
pub fn get(stream: &mut TcpStream, host: &str, limit: usize) -> io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    // One write: a server may answer (and close) after the first segment.
    let request = format!(
        "GET / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: glassbox\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while buf.len() < limit {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if buf.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    buf.truncate(limit);
    Ok(buf)
}

/// The status line of an HTTP answer (`HTTP/1.0 200 OK`), if `response` starts with one.
pub fn status_line(response: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(response);
    let line = text.lines().next()?.trim().to_string();
    let mut parts = line.split_whitespace();
    let version = parts.next()?;
    let code = parts.next()?;
    (version.starts_with("HTTP/1.") && code.len() == 3 && code.parse::<u16>().is_ok())
        .then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_status_lines() {
        assert_eq!(
            status_line(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n"),
            Some("HTTP/1.0 200 OK".to_string())
        );
        assert_eq!(status_line(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_line(b""), None);
    }

    #[test]
    fn a_get_reads_the_whole_answer() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 512];
            while !request.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut chunk).unwrap();
                assert!(n > 0, "the request ended early");
                request.extend_from_slice(&chunk[..n]);
            }
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\nhello").unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
        let mut stream = TcpStream::connect(addr).unwrap();
        let answer = get(&mut stream, &addr.to_string(), 1 << 20).unwrap();
        let request = server.join().unwrap();
        assert!(request.starts_with("GET / HTTP/1.0\r\n"), "{request}");
        assert_eq!(answer, b"HTTP/1.0 200 OK\r\n\r\nhello");
        assert_eq!(status_line(&answer).as_deref(), Some("HTTP/1.0 200 OK"));
    }
}
