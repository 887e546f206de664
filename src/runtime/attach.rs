//! Attaching to a running container: the shim's attach socket.
//!
//! A detached container's shim holds its standard streams: the read ends of
//! the stdout and stderr pipes (or the pty master) and the write end of the
//! stdin pipe. To let `docker attach`, `docker run` (which attaches before it
//! starts) and `glassbox attach` reach them, the shim listens on a unix
//! socket, `/run/glassbox/attach/<root key>-<id>.sock` (a socket's path is
//! limited to 108 bytes, too short for one under a data root; containerd
//! gives its shims FIFOs for the same job). A client connects and sends one
//! line:
//!
//! - `attach stdin=1 stdout=1 stderr=1`: from then on the shim sends the
//!   container's output in docker's framing (an 8-byte header per piece:
//!   stream, three zeros, length) or raw with a terminal, and whatever the
//!   client sends is the container's input; the client's end of input
//!   closes the container's stdin when the container was created with
//!   `StdinOnce` (`docker run -i`);
//! - `resize ROWS COLS`: sets the pty's window size (TIOCSWINSZ; the kernel
//!   sends SIGWINCH to the foreground process), then the shim closes it.
//!
//! When the container exits, the shim sends what output is left and closes
//! every client: their end of stream is the container's end.

use super::pty;
use super::shim::Stream;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

impl Streams {
    /// The request line a client sends.
    pub fn request_line(&self) -> String {
        format!(
            "attach stdin={} stdout={} stderr={}\n",
            u8::from(self.stdin),
            u8::from(self.stdout),
            u8::from(self.stderr)
        )
    }
}

/// A parsed request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Attach(Streams),
    Resize { rows: u16, cols: u16 },
}

/// Pure: parses a client's first line.
pub fn parse_request(line: &str) -> Option<Request> {
    let mut words = line.split_whitespace();
    match words.next()? {
        "attach" => {
            let mut s = Streams::default();
            for w in words {
                let (k, v) = w.split_once('=')?;
                let on = v == "1";
                match k {
                    "stdin" => s.stdin = on,
                    "stdout" => s.stdout = on,
                    "stderr" => s.stderr = on,
                    _ => return None,
                }
            }
            Some(Request::Attach(s))
        }
        "resize" => {
            let rows = words.next()?.parse().ok()?;
            let cols = words.next()?.parse().ok()?;
            Some(Request::Resize { rows, cols })
        }
        _ => None,
    }
}

/// Where the attach sockets live.
pub const SOCKET_DIR: &str = "/run/glassbox/attach";

/// The attach socket of container `id` of the data root with key `key`.
pub fn socket_path(key: &str, id: &str) -> PathBuf {
    Path::new(SOCKET_DIR).join(format!("{key}-{}.sock", &id[..16.min(id.len())]))
}

/// Pure: the container ID prefix in the name of a socket of the data root
/// with key `key` ([`socket_path`]), or `None` for another root's or
/// anything else.
pub fn socket_id_prefix<'a>(key: &str, file_name: &'a str) -> Option<&'a str> {
    file_name
        .strip_prefix(key)?
        .strip_prefix('-')?
        .strip_suffix(".sock")
}

struct Client {
    stream: UnixStream,
    /// `None` until its request line is read.
    wants: Option<Streams>,
    line: Vec<u8>,
    /// Its input has ended (or it never sends any).
    input_done: bool,
    /// Done with: a resize that was applied, a request that made no sense,
    /// an end before its request, or output it could not take. Its socket
    /// is closed at the next [`AttachServer::prune`], so that a long-lived
    /// shim holds no descriptor for a client that is gone (a terminal that
    /// is resized often sends a resize per change).
    closed: bool,
}

/// The shim's side: the listening socket and the attached clients.
pub struct AttachServer {
    listener: UnixListener,
    path: PathBuf,
    clients: Vec<Client>,
    tty: bool,
    stdin_once: bool,
    /// This process serves the socket and removes its file at the end; the
    /// copy a fork leaves in the parent does not ([`AttachServer::disown`]).
    owner: bool,
}

/// What the relay should do after a client's input.
pub enum Input<'a> {
    /// Bytes for the container's stdin.
    Data(&'a [u8]),
    /// The client's input ended and the container's stdin should close.
    CloseStdin,
    Nothing,
}

impl AttachServer {
    /// Listens on `path` (a stale socket there is replaced); only root may
    /// connect (the container directory is root's only, and the socket 0600).
    pub fn bind(path: &Path, tty: bool, stdin_once: bool) -> io::Result<AttachServer> {
        use std::os::unix::fs::PermissionsExt;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        listener.set_nonblocking(true)?;
        Ok(AttachServer {
            listener,
            path: path.to_path_buf(),
            clients: Vec::new(),
            tty,
            stdin_once,
            owner: true,
        })
    }

    /// The parent's copy after the shim was forked with the server: closes
    /// this process's descriptors and leaves the socket's file to the shim,
    /// which serves it until the container exits (`docker attach` connects
    /// by that path later).
    pub fn disown(mut self) {
        self.owner = false;
    }

    /// Before the container starts: waits until `n` clients have connected
    /// and said what they want (docker attaches before it starts, so that
    /// not a byte of output is missed), at most `timeout`.
    pub fn wait_for_clients(&mut self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.attached() < n && Instant::now() < deadline {
            self.accept();
            for i in 0..self.clients.len() {
                if self.clients[i].wants.is_none() && !self.clients[i].closed {
                    self.read_request(i, None);
                }
            }
            self.prune();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn attached(&self) -> usize {
        self.clients
            .iter()
            .filter(|c| c.wants.is_some() && !c.closed)
            .count()
    }

    /// How many clients this server holds a socket for.
    pub fn held(&self) -> usize {
        self.clients.len()
    }

    /// Closes the clients that are done with. The relay calls it at the end
    /// of each round, never during one: the indices of the round's poll set
    /// stay valid until it ends.
    pub fn prune(&mut self) {
        self.clients.retain(|c| !c.closed);
    }

    /// The descriptors the relay polls: the listener first, then each client
    /// whose input is still open.
    pub fn poll_fds(&self) -> Vec<(BorrowedFd<'_>, Option<usize>)> {
        let mut v = vec![(self.listener.as_fd(), None)];
        for (i, c) in self.clients.iter().enumerate() {
            if !c.input_done && !c.closed {
                v.push((c.stream.as_fd(), Some(i)));
            }
        }
        v
    }

    /// Takes every pending connection.
    pub fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            let _ = stream.set_nonblocking(true);
            self.clients.push(Client {
                stream,
                wants: None,
                line: Vec::new(),
                input_done: false,
                closed: false,
            });
        }
    }

    /// Reads the request line of client `i`; a resize is applied to
    /// `pty_master` and the client closed.
    fn read_request(&mut self, i: usize, pty_master: Option<RawFd>) {
        let mut b = [0u8; 1];
        loop {
            let c = &mut self.clients[i];
            match c.stream.read(&mut b) {
                Ok(0) => {
                    c.input_done = true;
                    c.closed = true;
                    return;
                }
                Ok(_) if b[0] == b'\n' => break,
                Ok(_) => {
                    c.line.push(b[0]);
                    if c.line.len() > 256 {
                        c.input_done = true;
                        c.closed = true;
                        return;
                    }
                }
                // The rest of the line has not come yet.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    c.input_done = true;
                    c.closed = true;
                    return;
                }
            }
        }
        let line = String::from_utf8_lossy(&self.clients[i].line).into_owned();
        match parse_request(&line) {
            Some(Request::Attach(s)) => {
                let c = &mut self.clients[i];
                c.wants = Some(s);
                c.input_done = !s.stdin;
                // Output goes out with blocking writes (bounded by a timeout).
                let _ = c.stream.set_nonblocking(false);
                let _ = c.stream.set_write_timeout(Some(Duration::from_secs(5)));
            }
            Some(Request::Resize { rows, cols }) => {
                if let Some(m) = pty_master {
                    pty::set_window_size(
                        m,
                        &libc::winsize {
                            ws_row: rows,
                            ws_col: cols,
                            ws_xpixel: 0,
                            ws_ypixel: 0,
                        },
                    );
                }
                self.clients[i].input_done = true;
                self.clients[i].closed = true;
                let _ = self.clients[i].stream.shutdown(std::net::Shutdown::Both);
            }
            None => {
                self.clients[i].input_done = true;
                self.clients[i].closed = true;
                let _ = self.clients[i].stream.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// Client `i` is readable: its request line, or input for the container.
    pub fn on_readable<'b>(
        &mut self,
        i: usize,
        buf: &'b mut [u8],
        pty_master: Option<RawFd>,
    ) -> Input<'b> {
        if i >= self.clients.len() || self.clients[i].closed {
            return Input::Nothing;
        }
        if self.clients[i].wants.is_none() {
            self.read_request(i, pty_master);
            return Input::Nothing;
        }
        let c = &mut self.clients[i];
        let _ = c.stream.set_nonblocking(true);
        let r = c.stream.read(buf);
        let _ = c.stream.set_nonblocking(false);
        match r {
            Ok(0) => {
                c.input_done = true;
                if self.stdin_once && !self.tty {
                    Input::CloseStdin
                } else {
                    Input::Nothing
                }
            }
            Ok(n) => Input::Data(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Input::Nothing,
            Err(_) => {
                c.input_done = true;
                Input::Nothing
            }
        }
    }

    /// Sends output to every client that asked for this stream; a client
    /// that cannot take it within the write timeout is closed (at the next
    /// [`AttachServer::prune`]).
    pub fn broadcast(&mut self, stream: Stream, data: &[u8]) {
        let framed = if self.tty {
            data.to_vec()
        } else {
            let mut f = Vec::with_capacity(8 + data.len());
            f.extend_from_slice(&[if stream == Stream::Stderr { 2 } else { 1 }, 0, 0, 0]);
            f.extend_from_slice(&(data.len() as u32).to_be_bytes());
            f.extend_from_slice(data);
            f
        };
        for c in self.clients.iter_mut().filter(|c| !c.closed) {
            let Some(w) = c.wants else {
                continue;
            };
            let wanted = match stream {
                Stream::Stdout => w.stdout,
                Stream::Stderr => w.stderr,
            };
            if wanted && c.stream.write_all(&framed).is_err() {
                c.closed = true;
                c.input_done = true;
                let _ = c.stream.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// The container has exited: every client sees the end of its stream.
    pub fn close_all(&mut self) {
        for c in self.clients.drain(..) {
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
        }
        if self.owner {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for AttachServer {
    fn drop(&mut self) {
        self.close_all();
    }
}

/// The client's side: connects to a container's attach socket and asks for
/// `streams`. Waits up to `timeout` for the socket to appear (a container
/// that is being started).
pub fn connect(path: &Path, streams: Streams, timeout: Duration) -> io::Result<UnixStream> {
    let deadline = Instant::now() + timeout;
    loop {
        match UnixStream::connect(path) {
            Ok(mut s) => {
                s.write_all(streams.request_line().as_bytes())?;
                return Ok(s);
            }
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Asks the shim to set the container's terminal size.
pub fn resize(path: &Path, rows: u16, cols: u16) -> io::Result<()> {
    let mut s = UnixStream::connect(path)?;
    s.write_all(format!("resize {rows} {cols}\n").as_bytes())?;
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
    Ok(())
}

/// Holds an owned descriptor as the container's input, for the relay.
pub fn write_input(fd: &OwnedFd, data: &[u8]) -> io::Result<()> {
    let mut f = std::fs::File::from(fd.try_clone()?);
    f.write_all(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_parse() {
        let s = Streams {
            stdin: true,
            stdout: true,
            stderr: false,
        };
        assert_eq!(parse_request(&s.request_line()), Some(Request::Attach(s)));
        assert_eq!(
            parse_request("resize 24 80"),
            Some(Request::Resize { rows: 24, cols: 80 })
        );
        assert_eq!(parse_request("attach stdin=1 other=1"), None);
        assert_eq!(parse_request("hello"), None);
    }

    #[test]
    fn socket_names_say_their_root_and_container() {
        let id = "0123456789abcdef0123";
        let name = socket_path("00c0ffee", id);
        let name = name.file_name().unwrap().to_str().unwrap();
        assert_eq!(socket_id_prefix("00c0ffee", name), Some("0123456789abcdef"));
        assert_eq!(socket_id_prefix("00c0ffe", name), None);
        assert_eq!(socket_id_prefix("00c0ffee", "00c0ffee-x.pid"), None);
    }

    /// One round of the shim's relay for the attach socket: new clients
    /// in, each client's request or input read, then the finished ones out.
    fn round(server: &mut AttachServer) {
        let mut buf = [0u8; 512];
        server.accept();
        let clients: Vec<usize> = server.poll_fds().iter().filter_map(|(_, c)| *c).collect();
        for i in clients {
            let _ = server.on_readable(i, &mut buf, None);
        }
        server.prune();
    }

    #[test]
    fn finished_clients_leave_no_descriptor_behind() {
        let dir = std::env::temp_dir().join(format!("glassbox-attach-unit-{}", std::process::id()));
        let path = dir.join("c.sock");
        let mut server = AttachServer::bind(&path, true, false).unwrap();
        // Resizes (a terminal being dragged), a request that is no request,
        // and a client that leaves before it says anything.
        for _ in 0..40 {
            let mut c = UnixStream::connect(&path).unwrap();
            c.write_all(b"resize 30 90\n").unwrap();
        }
        UnixStream::connect(&path)
            .unwrap()
            .write_all(b"hello\n")
            .unwrap();
        drop(UnixStream::connect(&path).unwrap());
        // One client that stays attached, and one that leaves after.
        let stdout_only = Streams {
            stdin: false,
            stdout: true,
            stderr: false,
        }
        .request_line();
        let mut stays = UnixStream::connect(&path).unwrap();
        stays.write_all(stdout_only.as_bytes()).unwrap();
        let leaves = UnixStream::connect(&path).unwrap();
        (&leaves).write_all(stdout_only.as_bytes()).unwrap();
        round(&mut server);
        round(&mut server);
        assert_eq!(server.held(), 2, "only the two attached clients are held");
        drop(leaves);
        server.broadcast(Stream::Stdout, b"tick\n");
        round(&mut server);
        assert_eq!(
            server.held(),
            1,
            "a client that could not take output is closed"
        );
        let mut got = [0u8; 5];
        stays.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"tick\n");
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
