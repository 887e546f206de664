//! `glassbox exec`: one more process in a running container.
//!
//! A container is only a set of namespaces and a cgroup, so "entering" it is
//! joining them: open /proc/PID/ns/* of the container's main process, `setns`
//! into each, write ourselves into its cgroup, and exec the command with the
//! same user, capabilities and no_new_privs as the main process (read from the
//! container's `config.json`, as `runc exec` does). The new process is a
//! child of glassbox, not of the container's PID 1, yet `ps` inside lists it.
//!
//! Nothing of the CLI's own reaches the container: its standard streams are
//! pipes (or, with `-t`, a pty made inside) that glassbox relays, as `run`
//! does, never the CLI's descriptors (a process inside could reopen
//! /proc/PID/fd/1 and read the admin's terminal), and its environment is only
//! config.json's (plus `-e`), never the CLI's.

use super::DataRoot;
use super::container::{self, Paths};
use crate::runtime::cgroups::Cgroup;
use crate::runtime::shim::{self, Relay, Stream, Terminal};
use crate::runtime::spec::Spec;
use crate::runtime::trace::Trace;
use crate::runtime::{self, RuntimeError, pty};
use anyhow::{Context, bail};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub interactive: bool,
    pub tty: bool,
    pub user: Option<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    /// `-d`: start it and return; a forked `glassbox-exec` monitor waits for
    /// it (as containerd's shim holds docker's exec'd processes) and drops
    /// its output.
    pub detach: bool,
}

/// An exec'd process that runs, and our ends of its streams.
struct Launched {
    started: runtime::Started,
    out_r: OwnedFd,
    err_r: OwnedFd,
    stdin_ours: Option<OwnedFd>,
}

/// Runs `command` in the container and returns its exit code (0 at once
/// with `-d`, once the process runs).
pub fn exec(
    root: &DataRoot,
    name: &str,
    command: &[String],
    opts: &ExecOptions,
) -> anyhow::Result<i32> {
    super::require_root("glassbox exec")?;
    let record = container::find(root, name)?;
    if !record.is_running() {
        return Err(super::EngineError::Conflict(format!(
            "container {} is not running: start a new one with `glassbox run`",
            record.name
        ))
        .into());
    }
    if command.is_empty() {
        bail!(
            "no command given: glassbox exec {} COMMAND [ARG...]",
            record.name
        );
    }
    let spec = exec_spec(root, &record, command, opts)?;
    let cgroup = Cgroup::new(&root.cgroup_layout()?, &record.cgroup);
    if opts.detach {
        return detached(record.state.pid, &spec, &cgroup);
    }
    let forward = !opts.tty;
    let signals = shim::signal_fd(forward).context("signalfd")?;
    let Launched {
        started,
        out_r,
        err_r,
        stdin_ours,
    } = launch(record.state.pid, &spec, &cgroup, opts.interactive)?;
    let master = started.console.as_ref();
    let _raw = master.and_then(|_| pty::RawMode::enter(0));
    if let (Some(m), Some(ws)) = (master, pty::window_size(0)) {
        pty::set_window_size(m.as_raw_fd(), &ws);
    }
    let mut outputs = vec![
        (out_r.as_fd(), Stream::Stdout),
        (err_r.as_fd(), Stream::Stderr),
    ];
    if let Some(m) = master {
        outputs.push((m.as_fd(), Stream::Stdout));
    }
    let input_to = match (master, stdin_ours) {
        (Some(m), _) if opts.interactive => m.try_clone().ok(),
        (_, ours) => ours,
    };
    let relay = Relay {
        outputs,
        input_to,
        input_from: opts.interactive.then_some(0),
        pty_master: master.map(|m| m.as_raw_fd()),
        forward_signals: forward,
        attach: None,
    };
    let exit = shim::relay_until_exit(
        started.pid,
        &started.pidfd,
        relay,
        Some(&signals),
        &mut Terminal,
    );
    Ok(exit.code)
}

/// The exec'd process's spec: the container's `config.json` (user,
/// capabilities, no_new_privs, environment, working directory, as `runc
/// exec` reads it) with the command and `-t`, `-e`, `-w`, `-u` over it.
fn exec_spec(
    root: &DataRoot,
    record: &container::Record,
    command: &[String],
    opts: &ExecOptions,
) -> anyhow::Result<Spec> {
    let paths = Paths::new(root, &record.id);
    let mut spec = Spec::load(paths.bundle())?;
    spec.process.args = command.to_vec();
    spec.process.terminal = opts.tty;
    if opts.tty {
        set_env(&mut spec.process.env, "TERM=xterm");
        // The caller's terminal size, set as the pty is made (no race with
        // a first `stty size`).
        spec.process.console_size = pty::window_size(0)
            .filter(|w| w.ws_row > 0 && w.ws_col > 0)
            .map(|w| crate::runtime::spec::ConsoleSize {
                height: w.ws_row,
                width: w.ws_col,
            });
    }
    if let Some(w) = &opts.workdir {
        spec.process.cwd = w.clone();
    }
    if let Some(u) = &opts.user {
        // The container's root as its process sees it (/proc/PID/root), and
        // every symlink under it resolved there, never on the host.
        let base = std::path::PathBuf::from(format!("/proc/{}/root", record.state.pid));
        let read = |f: &str| crate::image::inroot::account_file(&base, f);
        let user = super::units::resolve_user(u, &read("etc/passwd"), &read("etc/group"))?;
        spec.process.user.uid = user.uid;
        spec.process.user.gid = user.gid;
        spec.process.user.additional_gids = user.additional_gids;
        // config.json's HOME is the container user's, unless the image or
        // `run -e` set it: another user gets its own (runc's setupUser).
        if !record.config.env.iter().any(|e| e.starts_with("HOME=")) {
            set_env(&mut spec.process.env, &format!("HOME={}", user.home));
        }
    }
    for e in &opts.env {
        set_env(&mut spec.process.env, e);
    }
    Ok(spec)
}

/// Sets `KEY=VALUE` in `env`, replacing an earlier value of KEY.
fn set_env(env: &mut Vec<String>, kv: &str) {
    let key = kv.split_once('=').map_or(kv, |(k, _)| k);
    env.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
    env.push(kv.to_string());
}

/// Starts the process with pipes of ours as its 0, 1 and 2 (stdin:
/// /dev/null without `-i`; with `-t` a pty made inside, whose master comes
/// back in `started.console`).
fn launch(
    container_pid: i32,
    spec: &Spec,
    cgroup: &Cgroup,
    interactive: bool,
) -> anyhow::Result<Launched> {
    let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe2");
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (stdin_child, stdin_ours): (OwnedFd, Option<OwnedFd>) =
        if interactive && !spec.process.terminal {
            let (r, w) = pipe()?;
            (r, Some(w))
        } else {
            let null = std::fs::File::open("/dev/null").context("opening /dev/null")?;
            (OwnedFd::from(null), None)
        };
    let mut trace = Trace::default();
    let started = runtime::exec(
        container_pid,
        spec,
        cgroup,
        [
            stdin_child.as_raw_fd(),
            out_w.as_raw_fd(),
            err_w.as_raw_fd(),
        ],
        &mut trace,
    );
    drop((stdin_child, out_w, err_w));
    match started {
        Ok(started) => Ok(Launched {
            started,
            out_r,
            err_r,
            stdin_ours,
        }),
        Err(RuntimeError::InitFailed { exit_code, message }) => Err(super::run::StartError {
            code: exit_code,
            message,
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Output nobody reads (`exec -d`).
struct Discard;

impl shim::OutputSink for Discard {
    fn write(&mut self, _: Stream, _: &[u8]) {}
}

/// `exec -d`: forks the `glassbox-exec` monitor, which starts the process,
/// reports on a pipe whether it runs, then drains its output until it
/// exits and reaps it. Returns 0 once it runs, or the start's error.
fn detached(container_pid: i32, spec: &Spec, cgroup: &Cgroup) -> anyhow::Result<i32> {
    use std::io::{Read, Write};
    super::run::require_one_thread()?;
    let (report_r, report_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe2")?;
    // SAFETY: this process has one thread (checked just above), so the
    // child inherits no lock held by another thread.
    match unsafe { nix::unistd::fork() }.context("fork of the exec monitor")? {
        nix::unistd::ForkResult::Child => {
            drop(report_r);
            let _ = nix::unistd::setsid();
            let _ = nix::sys::prctl::set_name(c"glassbox-exec");
            if let Ok(null) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                let _ = nix::unistd::dup2_stdin(&null);
                let _ = nix::unistd::dup2_stdout(&null);
                let _ = nix::unistd::dup2_stderr(&null);
            }
            let mut report = std::fs::File::from(report_w);
            let launched = match launch(container_pid, spec, cgroup, false) {
                Ok(l) => l,
                Err(e) => {
                    let (code, message) = match e.downcast_ref::<super::run::StartError>() {
                        Some(s) => (s.code, s.message.clone()),
                        None => (126, format!("{e:#}")),
                    };
                    let _ = report.write_all(format!("fail\t{code}\t{message}\n").as_bytes());
                    // SAFETY: leave without running the parent's exit handlers twice.
                    unsafe { libc::_exit(1) }
                }
            };
            let _ = report.write_all(b"ok\t\n");
            drop(report);
            let Launched {
                started,
                out_r,
                err_r,
                ..
            } = launched;
            let mut outputs = vec![
                (out_r.as_fd(), Stream::Stdout),
                (err_r.as_fd(), Stream::Stderr),
            ];
            if let Some(m) = started.console.as_ref() {
                outputs.push((m.as_fd(), Stream::Stdout));
            }
            let relay = Relay {
                outputs,
                input_to: None,
                input_from: None,
                pty_master: None,
                forward_signals: false,
                attach: None,
            };
            shim::relay_until_exit(started.pid, &started.pidfd, relay, None, &mut Discard);
            // SAFETY: as above.
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { .. } => {
            drop(report_w);
            let mut text = String::new();
            let _ = std::fs::File::from(report_r).read_to_string(&mut text);
            match text.split_once('\t') {
                Some(("ok", _)) => Ok(0),
                Some(("fail", rest)) => {
                    let (code, msg) = rest.split_once('\t').unwrap_or(("126", rest));
                    Err(super::run::StartError {
                        code: code.trim().parse().unwrap_or(126),
                        message: msg.trim().to_string(),
                    }
                    .into())
                }
                _ => bail!("the exec monitor exited before reporting whether the process runs"),
            }
        }
    }
}
