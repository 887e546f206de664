//! `docker exec` through the API: `POST /containers/ID/exec` records what to
//! run (an exec instance), `POST /exec/ID/start` runs it and hijacks the
//! connection for its streams, `GET /exec/ID/json` says how it ended.
//!
//! The process is started by a child `glassbox exec` (the daemon never
//! forks into a container itself), whose standard streams are pipes the
//! daemon relays in docker's framing, or, with a terminal, a pty the daemon
//! holds: resizing it (`POST /exec/ID/resize`) makes the kernel send the
//! child SIGWINCH, and the child passes the size on to the container's pty.

use super::ApiError;
use super::server::Ctx;
use super::stream::{self, MULTIPLEXED, RAW};
use crate::engine::{EngineError, container};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// One exec instance, as docker keeps it until its container is removed.
#[derive(Debug, Clone, Default)]
pub struct ExecInstance {
    pub id: String,
    pub container: String,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub workdir: String,
    pub user: String,
    pub tty: bool,
    /// `ConsoleSize` [rows, columns] of the caller's terminal.
    pub console_size: Option<(u16, u16)>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub running: bool,
    pub exit_code: Option<i32>,
    pub pid: u32,
    /// The pty master the daemon holds for a `-t` exec.
    pub pty: Option<Arc<OwnedFd>>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `POST /containers/ID/exec`: 201 `{"Id": …}`.
pub fn create(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = container::find(ctx.root(), id)?;
    let b = ctx.body_json()?;
    if !r.is_running() {
        return Err(ApiError::conflict(format!(
            "Container {} is not running",
            r.id
        )));
    }
    let cmd = strings(&b["Cmd"]);
    if cmd.is_empty() {
        return Err(ApiError::bad_request("No exec command specified"));
    }
    let exec = ExecInstance {
        id: container::new_id(),
        container: r.id.clone(),
        cmd,
        env: strings(&b["Env"]),
        workdir: b["WorkingDir"].as_str().unwrap_or("").to_string(),
        user: b["User"].as_str().unwrap_or("").to_string(),
        tty: b["Tty"].as_bool().unwrap_or(false),
        console_size: match b["ConsoleSize"].as_array().map(|a| a.as_slice()) {
            Some([h, w]) => match (h.as_u64(), w.as_u64()) {
                (Some(h @ 1..=65535), Some(w @ 1..=65535)) => Some((h as u16, w as u16)),
                _ => None,
            },
            _ => None,
        },
        stdin: b["AttachStdin"].as_bool().unwrap_or(false),
        stdout: b["AttachStdout"].as_bool().unwrap_or(false),
        stderr: b["AttachStderr"].as_bool().unwrap_or(false),
        ..Default::default()
    };
    let eid = exec.id.clone();
    ctx.daemon
        .execs
        .lock()
        .map_err(|_| ApiError::new(500, "exec table poisoned"))?
        .insert(eid.clone(), exec);
    crate::engine::events::container(
        ctx.root(),
        &format!("exec_create: {}", strings(&b["Cmd"]).join(" ")),
        &r,
        &[("execID", &eid)],
    );
    ctx.json(201, &json!({ "Id": eid }))
}

fn get(ctx: &Ctx, id: &str) -> Result<ExecInstance, ApiError> {
    ctx.daemon
        .execs
        .lock()
        .map_err(|_| ApiError::new(500, "exec table poisoned"))?
        .get(id)
        .cloned()
        .ok_or_else(|| EngineError::NoSuchExec(id.to_string()).into())
}

fn update(ctx: &Ctx, id: &str, f: impl FnOnce(&mut ExecInstance)) {
    if let Ok(mut m) = ctx.daemon.execs.lock()
        && let Some(e) = m.get_mut(id)
    {
        f(e);
    }
}

/// The child `glassbox exec` command line.
fn command(ctx: &Ctx, e: &ExecInstance) -> Command {
    let mut c = Command::new(&ctx.daemon.exe);
    c.arg("--root").arg(&ctx.root().path).arg("exec");
    if e.stdin {
        c.arg("-i");
    }
    if e.tty {
        c.arg("-t");
    }
    if !e.user.is_empty() {
        c.arg("-u").arg(&e.user);
    }
    if !e.workdir.is_empty() {
        c.arg("-w").arg(&e.workdir);
    }
    // Only KEY=VALUE: a bare KEY would take the daemon's own value (the
    // docker CLI sends the caller's value already filled in).
    for v in e.env.iter().filter(|v| v.contains('=')) {
        c.arg("-e").arg(v);
    }
    c.arg(&e.container).arg("--").args(&e.cmd);
    c
}

/// `POST /exec/ID/start` with `{"Detach": …, "Tty": …}`.
pub fn start(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let e = get(ctx, id)?;
    let b = ctx.body_json()?;
    if e.running || e.exit_code.is_some() {
        return Err(ApiError::conflict(format!(
            "Error: Exec command {id} has already run"
        )));
    }
    let root = ctx.root().clone();
    let r = container::load_by_id(&root, &e.container)?;
    if !r.is_running() {
        return Err(ApiError::conflict(format!(
            "Container {} is not running",
            r.id
        )));
    }
    if b["Detach"].as_bool() == Some(true) {
        // Detached: nobody reads its streams; a thread reaps it and keeps
        // its exit code for `GET /exec/ID/json`.
        let mut child = command(ctx, &e)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        update(ctx, id, |x| {
            x.running = true;
            x.pid = child.id();
        });
        let table = Arc::clone(&ctx.daemon.execs);
        let eid = id.to_string();
        std::thread::spawn(move || {
            let code = child.wait().ok().and_then(|s| s.code()).unwrap_or(255);
            if let Ok(mut m) = table.lock()
                && let Some(x) = m.get_mut(&eid)
            {
                x.running = false;
                x.exit_code = Some(code);
            }
        });
        return ctx.empty(200);
    }
    let mut cmd = command(ctx, &e);
    // With a terminal: a pty whose slave is the child's controlling terminal.
    let pty = if e.tty {
        // The child `glassbox exec` reads this pty's size as its terminal's
        // and makes the container's pty that size.
        let size = e.console_size.map(|(h, w)| nix::pty::Winsize {
            ws_row: h,
            ws_col: w,
            ws_xpixel: 0,
            ws_ypixel: 0,
        });
        let pair = nix::pty::openpty(size.as_ref(), None)
            .map_err(|err| ApiError::new(500, format!("openpty: {err}")))?;
        let slave = pair.slave;
        let (a, b2, c2) = (slave.try_clone()?, slave.try_clone()?, slave.try_clone()?);
        cmd.stdin(Stdio::from(a))
            .stdout(Stdio::from(b2))
            .stderr(Stdio::from(c2));
        let fd = slave.as_raw_fd();
        // SAFETY: between fork and exec the child only calls setsid and
        // ioctl(TIOCSCTTY), both async-signal-safe, on its own descriptors.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY as _, 0);
                let _ = fd;
                Ok(())
            });
        }
        Some(Arc::new(pair.master))
    } else {
        cmd.stdin(if e.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        None
    };
    let mut child = cmd.spawn()?;
    update(ctx, id, |x| {
        x.running = true;
        x.pid = child.id();
        x.pty = pty.clone();
    });
    let (client, buffered) = ctx.hijack(if e.tty { RAW } else { MULTIPLEXED })?;
    let writer = Arc::new(Mutex::new(client.try_clone()?));
    let mut threads = Vec::new();
    // Input: the client's bytes to the child's stdin (or the pty).
    let input: Option<Box<dyn Write + Send>> = match &pty {
        Some(m) if e.stdin => Some(Box::new(std::fs::File::from(m.try_clone()?))),
        None => child
            .stdin
            .take()
            .map(|s| Box::new(s) as Box<dyn Write + Send>),
        _ => None,
    };
    if let Some(mut input) = input {
        let mut from_client = client.try_clone()?;
        threads.push(std::thread::spawn(move || {
            if !buffered.is_empty() {
                let _ = input.write_all(&buffered);
            }
            let _ = std::io::copy(&mut from_client, &mut input);
        }));
    }
    let pump = |mut src: Box<dyn Read + Send>,
                stream_no: u8,
                raw: bool,
                w: Arc<Mutex<std::os::unix::net::UnixStream>>| {
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match src.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let Ok(mut out) = w.lock() else { break };
                        let res = if raw {
                            out.write_all(&buf[..n])
                        } else {
                            stream::write_frame(&mut *out, stream_no, &buf[..n])
                        };
                        if res.is_err() {
                            break;
                        }
                    }
                }
            }
        })
    };
    let mut outputs = Vec::new();
    match &pty {
        Some(m) => {
            // SAFETY: a duplicate of the master we own, handed to a File.
            let dup = unsafe { OwnedFd::from_raw_fd(libc::dup(m.as_raw_fd())) };
            outputs.push(pump(
                Box::new(std::fs::File::from(dup)),
                stream::STDOUT,
                true,
                writer.clone(),
            ));
        }
        None => {
            if let Some(o) = child.stdout.take() {
                outputs.push(pump(Box::new(o), stream::STDOUT, false, writer.clone()));
            }
            if let Some(er) = child.stderr.take() {
                outputs.push(pump(Box::new(er), stream::STDERR, false, writer.clone()));
            }
        }
    }
    let status = child.wait()?;
    let code = status.code().unwrap_or(255);
    update(ctx, id, |x| {
        x.running = false;
        x.exit_code = Some(code);
        x.pty = None;
    });
    if pty.is_none() {
        for t in outputs {
            let _ = t.join();
        }
    } else {
        // The pty master reads EIO once the child and the container's
        // process are gone; give the last output a moment.
        drop(pty);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
    drop(threads);
    Ok(())
}

/// `GET /exec/ID/json`.
pub fn inspect(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let e = get(ctx, id)?;
    let doc = json!({
        "ID": e.id,
        "Running": e.running,
        "ExitCode": e.exit_code,
        "ProcessConfig": {
            "tty": e.tty,
            "entrypoint": e.cmd.first(),
            "arguments": e.cmd.iter().skip(1).collect::<Vec<_>>(),
            "privileged": false,
            "user": e.user,
        },
        "OpenStdin": e.stdin,
        "OpenStderr": e.stderr,
        "OpenStdout": e.stdout,
        "CanRemove": false,
        "ContainerID": e.container,
        "DetachKeys": "",
        "Pid": e.pid,
    });
    ctx.json(200, &doc)
}

/// `POST /exec/ID/resize?h=&w=`: the pty the daemon holds for it.
pub fn resize(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let e = get(ctx, id)?;
    let h: u16 = ctx.req.q("h").and_then(|v| v.parse().ok()).unwrap_or(0);
    let w: u16 = ctx.req.q("w").and_then(|v| v.parse().ok()).unwrap_or(0);
    if let Some(m) = &e.pty {
        crate::runtime::pty::set_window_size(
            m.as_raw_fd(),
            &libc::winsize {
                ws_row: h,
                ws_col: w,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
        );
    }
    ctx.empty(200)
}
