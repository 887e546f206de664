//! The daemon's server: a unix socket, one thread per connection, one log
//! line per request, and a clean end on SIGTERM.
//!
//! The main thread blocks SIGTERM and SIGINT before any other thread exists
//! (every thread inherits the mask) and waits in `poll` on the listening
//! socket and a signalfd. A connection gets its own thread, which reads
//! requests one after the other (HTTP keep-alive) until the client closes
//! it or takes it over (attach, exec). On SIGTERM the daemon stops
//! accepting, removes its socket and exits; containers keep running, since
//! their shims, not the daemon, are their parents.

use super::http::{self, Chunked, Conn, Request};
use super::{ApiError, split_version};
use crate::engine::DataRoot;
use anyhow::Context;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use serde_json::Value;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How `glassbox daemon` was asked to serve.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The socket's path (`--host unix://PATH`).
    pub socket: PathBuf,
}

/// What every handler can reach: the data root and the daemon's own log.
pub struct Daemon {
    pub root: DataRoot,
    /// `<root>/daemon-requests.log`: the request lines, for the lab's panel.
    requests_log: Mutex<Option<std::fs::File>>,
    /// The glassbox binary, for the child processes that start containers.
    pub exe: PathBuf,
    /// Attach requests waiting for a container to start, by container ID:
    /// `start` tells the shim to wait for them before the process runs.
    pending: Mutex<std::collections::HashMap<String, usize>>,
    /// Exec instances by ID (docker keeps them in memory too).
    pub execs: Arc<Mutex<std::collections::HashMap<String, super::exec::ExecInstance>>>,
}

/// Past this size the request log starts again (the lab shows the last lines).
const REQUESTS_LOG_MAX: u64 = 256 * 1024;

impl Daemon {
    pub fn new(root: DataRoot) -> anyhow::Result<Daemon> {
        let exe = std::env::current_exe().context("cannot find the glassbox binary itself")?;
        let log = open_requests_log(&root);
        Ok(Daemon {
            root,
            requests_log: Mutex::new(log),
            exe,
            pending: Mutex::new(Default::default()),
            execs: Arc::new(Mutex::new(Default::default())),
        })
    }

    /// How many attach requests wait for container `id` to start.
    pub fn pending_attach(&self, id: &str) -> usize {
        self.pending
            .lock()
            .map(|m| m.get(id).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Counts an attach request in (`+1`) or out (`-1`).
    pub fn add_pending_attach(&self, id: &str, delta: i64) {
        if let Ok(mut m) = self.pending.lock() {
            let n = m.entry(id.to_string()).or_insert(0);
            *n = (*n as i64 + delta).max(0) as usize;
            if *n == 0 {
                m.remove(id);
            }
        }
    }

    /// Logs one request: time, method, target, status, milliseconds.
    fn log(&self, method: &str, target: &str, status: u16, started: Instant) {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let line = format!(
            "{} {method} {target} {status} {ms:.1}ms\n",
            crate::timefmt::rfc3339(crate::timefmt::now_unix_ns())
        );
        let _ = io::stderr().write_all(line.as_bytes());
        if let Ok(mut guard) = self.requests_log.lock() {
            let too_big = guard
                .as_ref()
                .and_then(|f| f.metadata().ok())
                .is_some_and(|m| m.len() > REQUESTS_LOG_MAX);
            if too_big {
                let path = self.root.daemon_requests_log();
                let _ = std::fs::rename(&path, path.with_extension("log.1"));
                *guard = open_requests_log(&self.root);
            }
            if let Some(f) = guard.as_mut() {
                let _ = f.write_all(line.as_bytes());
            }
        }
    }
}

fn open_requests_log(root: &DataRoot) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(root.daemon_requests_log())
        .ok()
}

/// One request being answered.
pub struct Ctx<'a> {
    pub daemon: &'a Daemon,
    pub req: Request,
    pub conn: &'a mut Conn,
    /// The API version the client asked for (None: unversioned path).
    pub version: Option<(u32, u32)>,
    started: Instant,
    /// The status sent, once the head is out.
    sent: Option<u16>,
    /// False once the connection cannot carry another request.
    keep_alive: bool,
}

impl Ctx<'_> {
    pub fn root(&self) -> &DataRoot {
        &self.daemon.root
    }

    fn head(&mut self, status: u16, headers: &[(&str, String)]) -> io::Result<()> {
        if self.sent.is_some() {
            return Err(io::Error::other("the answer's head was sent already"));
        }
        self.sent = Some(status);
        self.daemon
            .log(&self.req.method, &self.req.target, status, self.started);
        http::write_head(&mut self.conn.stream, status, headers)
    }

    /// A complete answer with a body.
    pub fn bytes(&mut self, status: u16, content_type: &str, body: &[u8]) -> Result<(), ApiError> {
        let mut headers = vec![("Content-Length", body.len().to_string())];
        if !content_type.is_empty() {
            headers.push(("Content-Type", content_type.to_string()));
        }
        self.head(status, &headers)?;
        if self.req.method != "HEAD" {
            self.conn.stream.write_all(body)?;
        }
        Ok(())
    }

    /// A complete answer with headers of the caller's choosing.
    pub fn bytes_with(
        &mut self,
        status: u16,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<(), ApiError> {
        self.head(status, headers)?;
        if self.req.method != "HEAD" {
            self.conn.stream.write_all(body)?;
        }
        Ok(())
    }

    /// A JSON answer.
    pub fn json(&mut self, status: u16, value: &Value) -> Result<(), ApiError> {
        let mut body = serde_json::to_vec(value).map_err(|e| ApiError::new(500, e.to_string()))?;
        body.push(b'\n');
        self.bytes(status, "application/json", &body)
    }

    /// An answer without a body (204, 304, 201 of `start`).
    pub fn empty(&mut self, status: u16) -> Result<(), ApiError> {
        let headers = if status == 204 || status == 304 {
            vec![]
        } else {
            vec![("Content-Length", "0".to_string())]
        };
        self.head(status, &headers)?;
        Ok(())
    }

    /// Starts a streamed answer of unknown length (chunked); the caller
    /// writes to the returned writer and calls `finish`.
    pub fn stream(
        &mut self,
        content_type: &str,
        extra: &[(&str, String)],
    ) -> Result<Chunked<UnixStream>, ApiError> {
        let mut headers = vec![
            ("Content-Type", content_type.to_string()),
            ("Transfer-Encoding", "chunked".to_string()),
        ];
        headers.extend(extra.iter().cloned());
        self.head(200, &headers)?;
        Ok(Chunked::new(self.conn.stream.try_clone()?))
    }

    /// Takes the connection over (attach, exec start): `101 UPGRADED` when
    /// the client asked for it, docker's older `200` otherwise; from here on
    /// the socket carries the streams. Returns the socket and any input the
    /// client sent already.
    pub fn hijack(&mut self, content_type: &str) -> Result<(UnixStream, Vec<u8>), ApiError> {
        self.keep_alive = false;
        if self.req.wants_upgrade() {
            self.head(
                101,
                &[
                    ("Content-Type", content_type.to_string()),
                    ("Connection", "Upgrade".to_string()),
                    ("Upgrade", "tcp".to_string()),
                ],
            )?;
        } else {
            self.head(200, &[("Content-Type", content_type.to_string())])?;
        }
        let buffered = self.conn.take_buffered();
        Ok((self.conn.stream.try_clone()?, buffered))
    }

    /// The body as JSON; an empty body is `null`.
    pub fn body_json(&mut self) -> Result<Value, ApiError> {
        let body = self
            .conn
            .read_body(16 << 20)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))
    }

    /// Whether the client's API version is at least `v`.
    pub fn at_least(&self, v: (u32, u32)) -> bool {
        self.version.is_none_or(|have| have >= v)
    }
}

/// Binds the socket: removes a stale one (a daemon that died), refuses to
/// take a live one, and leaves it `0660 root:root` (docker's mode; the
/// `docker` group's gid where one exists).
fn bind(socket: &Path) -> anyhow::Result<UnixListener> {
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    if socket.exists() {
        if UnixStream::connect(socket).is_ok() {
            anyhow::bail!(
                "{} is in use: another daemon listens there (stop it, or give --host unix://OTHER/PATH)",
                socket.display()
            );
        }
        std::fs::remove_file(socket)
            .with_context(|| format!("cannot remove the stale socket {}", socket.display()))?;
    }
    let listener = UnixListener::bind(socket)
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("cannot set {} to mode 0660", socket.display()))?;
    let _ = nix::unistd::chown(
        socket,
        Some(nix::unistd::Uid::from_raw(0)),
        Some(nix::unistd::Gid::from_raw(0)),
    );
    Ok(listener)
}

/// Runs the daemon in the foreground until SIGTERM or SIGINT.
pub fn serve(root: DataRoot, opts: DaemonOptions) -> anyhow::Result<()> {
    crate::engine::require_root("glassbox daemon")?;
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.thread_block().context("blocking SIGTERM")?;
    // A client that goes away mid-answer must not end the daemon.
    // SAFETY: SIG_IGN for SIGPIPE installs no handler code; writes then
    // return EPIPE, which every writer here handles.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).context("signalfd")?;
    let listener = bind(&opts.socket)?;
    let daemon = Arc::new(Daemon::new(root)?);
    crate::errln!(
        "glassbox daemon: API {} (down to {}) on unix://{}, data root {}",
        super::API_VERSION,
        super::MIN_API_VERSION,
        opts.socket.display(),
        daemon.root.path.display()
    );
    loop {
        let mut fds = [
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e).context("poll"),
        }
        let sig_ready = fds[1].revents().is_some_and(|r| !r.is_empty());
        let conn_ready = fds[0].revents().is_some_and(|r| !r.is_empty());
        if sig_ready {
            let sig = signals.read_signal().ok().flatten().map(|s| s.ssi_signo);
            let name = sig
                .and_then(|s| Signal::try_from(s as i32).ok())
                .map_or("a signal", |s| s.as_str());
            crate::errln!(
                "glassbox daemon: {name}: no longer accepting; containers keep running under their shims"
            );
            let _ = std::fs::remove_file(&opts.socket);
            return Ok(());
        }
        if conn_ready && let Ok((stream, _)) = listener.accept() {
            let daemon = Arc::clone(&daemon);
            let _ = std::thread::Builder::new()
                .name("api-conn".into())
                .spawn(move || serve_connection(&daemon, stream));
        }
    }
}

/// Answers requests on one connection until it ends or is taken over.
fn serve_connection(daemon: &Daemon, stream: UnixStream) {
    let Ok(mut conn) = Conn::new(stream) else {
        return;
    };
    loop {
        let req = match conn.next_request() {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                let body = format!("{{\"message\":{}}}\n", Value::from(e.to_string()));
                let _ = http::write_head(
                    &mut conn.stream,
                    400,
                    &[
                        ("Content-Type", "application/json".into()),
                        ("Content-Length", body.len().to_string()),
                        ("Connection", "close".into()),
                    ],
                );
                let _ = conn.stream.write_all(body.as_bytes());
                return;
            }
        };
        let close_asked = req
            .header("Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let mut ctx = Ctx {
            daemon,
            req,
            conn: &mut conn,
            version: None,
            started: Instant::now(),
            sent: None,
            keep_alive: true,
        };
        let result = match split_version(&ctx.req.path.clone()) {
            Ok((version, route)) => {
                ctx.version = version;
                let route = route.to_string();
                super::system::route(&mut ctx, &route)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            if ctx.sent.is_none() {
                // 304 has no body.
                let answer = if e.status == 304 {
                    ctx.empty(304)
                } else {
                    ctx.json(e.status, &serde_json::json!({ "message": e.message }))
                };
                if answer.is_err() {
                    return;
                }
            } else {
                // The head is out: a stream that broke ends the connection.
                return;
            }
        }
        if !ctx.keep_alive || close_asked || ctx.sent.is_none() {
            return;
        }
        if conn.drain_body().is_err() {
            return;
        }
    }
}
