//! docker's stream framing for a container's output without a terminal.
//!
//! stdout and stderr travel on one connection, so each piece of output is
//! sent with an 8-byte header: the stream (0 stdin, 1 stdout, 2 stderr),
//! three zero bytes, and the payload's length as a big-endian u32. With a
//! terminal (`-t`) there is only one stream and no header: the bytes go raw
//! (`application/vnd.docker.raw-stream`).

use std::io::{self, Read, Write};

pub const MULTIPLEXED: &str = "application/vnd.docker.multiplexed-stream";
pub const RAW: &str = "application/vnd.docker.raw-stream";

/// Stream numbers in the header.
pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, stream: u8, data: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(8 + data.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    w.write_all(&out)
}

/// Reads one frame: `None` at a clean end of the stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 8];
    let mut got = 0;
    while got < 8 {
        let n = r.read(&mut head[got..])?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the stream ended inside a frame header",
            ));
        }
        got += n;
    }
    let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
    let mut data = vec![0u8; len];
    r.read_exact(&mut data)?;
    Ok(Some((head[0], data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, STDOUT, b"hi\n").unwrap();
        write_frame(&mut buf, STDERR, b"").unwrap();
        assert_eq!(&buf[..8], &[1, 0, 0, 0, 0, 0, 0, 3]);
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((STDOUT, b"hi\n".to_vec()))
        );
        assert_eq!(read_frame(&mut r).unwrap(), Some((STDERR, vec![])));
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }
}
