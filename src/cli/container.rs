//! docker's container verbs beyond `run`: `create`, `start [-a]`, `attach`,
//! `wait`, `restart`, `rename`.
//!
//! `start -a` and `attach` talk to the container's shim through its attach
//! socket, exactly as the daemon does for `docker attach`: the CLI is one
//! more client, not the container's parent. A container started this way
//! keeps running when the CLI is gone.

use crate::engine::container;
use crate::engine::{DataRoot, wait};
use crate::runtime::attach::{self, Streams};
use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// Relays the terminal and an attach connection until the shim ends it.
/// With a tty the bytes are raw (and the terminal is put in raw mode while
/// input is relayed); without, docker's frames are split to stdout/stderr.
pub fn relay_terminal(sock: UnixStream, tty: bool, stdin: bool) -> anyhow::Result<()> {
    let _raw = (tty && stdin)
        .then(|| crate::runtime::pty::RawMode::enter(0))
        .flatten();
    if stdin {
        let mut to_shim = sock.try_clone().context("attach socket")?;
        // The copy ends with the user's input (or the process): a thread
        // that outlives the container's output is left behind.
        std::thread::spawn(move || {
            let mut input = std::io::stdin().lock();
            let _ = std::io::copy(&mut input, &mut to_shim);
            let _ = to_shim.shutdown(std::net::Shutdown::Write);
        });
    }
    let mut from_shim = sock;
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    if tty {
        let mut buf = [0u8; 32 * 1024];
        loop {
            match from_shim.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
            }
        }
        return Ok(());
    }
    while let Some((stream, data)) = crate::api::stream::read_frame(&mut from_shim)? {
        let _ = if stream == crate::api::stream::STDERR {
            err.write_all(&data)
        } else {
            out.write_all(&data).and_then(|_| out.flush())
        };
    }
    Ok(())
}

/// `glassbox start [-a] [-i] CONTAINER…`.
pub fn start(
    root: &DataRoot,
    names: &[String],
    attach_output: bool,
    interactive: bool,
    wait_attach: usize,
) -> anyhow::Result<i32> {
    if !attach_output {
        let mut code = 0;
        for n in names {
            match crate::engine::run::start(root, n, wait_attach) {
                Ok(_) => println!("{n}"),
                Err(e) => {
                    super::print_error(&e);
                    code = 1;
                }
            }
        }
        return Ok(code);
    }
    let [name] = names else {
        bail!("you cannot start and attach multiple containers at once");
    };
    let r = container::find(root, name)?;
    let dir = attach::socket_path(&root.key, &r.id);
    let mut waiter = wait::begin(root, &r.id, wait::Condition::NextExit)?;
    // The start runs in a child glassbox: this process stays a plain client
    // of the shim (and may use threads).
    let exe = crate::runtime::exe::self_path().context("cannot find the glassbox binary")?;
    let child = std::process::Command::new(exe)
        .arg("--root")
        .arg(&root.path)
        .args(["start", "--wait-attach", "1", &r.id])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("cannot run glassbox start")?;
    let streams = Streams {
        stdin: interactive && r.config.open_stdin,
        stdout: true,
        stderr: true,
    };
    let sock = attach::connect(&dir, streams, Duration::from_secs(10));
    let out = child.wait_with_output()?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let msg = text
            .lines()
            .last()
            .unwrap_or("")
            .trim_start_matches("glassbox: ");
        return Err(crate::engine::run::StartError {
            code: out.status.code().unwrap_or(1),
            message: msg
                .trim_start_matches("Error response from daemon: ")
                .to_string(),
        }
        .into());
    }
    let sock = sock.with_context(|| format!("cannot attach to {}", r.name))?;
    if r.config.tty
        && let Some(ws) = crate::runtime::pty::window_size(0)
    {
        let _ = attach::resize(&dir, ws.ws_row, ws.ws_col);
    }
    relay_terminal(sock, r.config.tty, streams.stdin)?;
    Ok(waiter.wait(root, &|| true).map_or(0, |o| o.code))
}

/// `glassbox attach CONTAINER`: the running container's output (and input,
/// if it was started with -i) on this terminal until it exits.
pub fn attach(root: &DataRoot, name: &str, no_stdin: bool) -> anyhow::Result<i32> {
    let r = container::find(root, name)?;
    if !r.is_running() {
        return Err(crate::engine::EngineError::Conflict(
            "You cannot attach to a stopped container, start it first".into(),
        )
        .into());
    }
    let dir = attach::socket_path(&root.key, &r.id);
    let mut waiter = wait::begin(root, &r.id, wait::Condition::NextExit)?;
    let streams = Streams {
        stdin: r.config.open_stdin && !no_stdin,
        stdout: true,
        stderr: true,
    };
    let sock = attach::connect(&dir, streams, Duration::from_secs(2))
        .with_context(|| format!("cannot reach the shim of {} at {}", r.name, dir.display()))?;
    if r.config.tty
        && let Some(ws) = crate::runtime::pty::window_size(0)
    {
        let _ = attach::resize(&dir, ws.ws_row, ws.ws_col);
    }
    relay_terminal(sock, r.config.tty, streams.stdin)?;
    Ok(waiter.wait(root, &|| true).map_or(0, |o| o.code))
}

/// `glassbox wait CONTAINER…`: prints each one's exit code once it stops.
pub fn wait_all(root: &DataRoot, names: &[String]) -> anyhow::Result<i32> {
    let mut code = 0;
    for n in names {
        match wait::begin(root, n, wait::Condition::NotRunning) {
            Ok(mut w) => {
                if let Some(o) = w.wait(root, &|| true) {
                    println!("{}", o.code);
                }
            }
            Err(e) => {
                super::print_error(&e);
                code = 1;
            }
        }
    }
    Ok(code)
}

/// `glassbox restart [-t S] CONTAINER…`: stop (if running), then start.
pub fn restart(
    root: &DataRoot,
    names: &[String],
    timeout: u64,
    signal: Option<i32>,
) -> anyhow::Result<i32> {
    let mut code = 0;
    for n in names {
        let result = crate::engine::lifecycle::stop(root, n, Duration::from_secs(timeout), signal)
            .and_then(|r| crate::engine::run::start(root, &r.id, 0));
        match result {
            Ok(_) => println!("{n}"),
            Err(e) => {
                super::print_error(&e);
                code = 1;
            }
        }
    }
    Ok(code)
}
