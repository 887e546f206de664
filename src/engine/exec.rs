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
}

/// Runs `command` in the container and returns its exit code.
pub fn exec(
    root: &DataRoot,
    name: &str,
    command: &[String],
    opts: &ExecOptions,
) -> anyhow::Result<i32> {
    super::require_root("glassbox exec")?;
    let record = container::find(root, name)?;
    if !record.is_running() {
        bail!(
            "container {} is not running: start a new one with `glassbox run`",
            record.name
        );
    }
    if command.is_empty() {
        bail!(
            "no command given: glassbox exec {} COMMAND [ARG...]",
            record.name
        );
    }
    let paths = Paths::new(root, &record.id);
    let mut spec = Spec::load(paths.bundle())?;
    spec.process.args = command.to_vec();
    spec.process.terminal = opts.tty;
    if opts.tty {
        spec.process.env.push("TERM=xterm".into());
    }
    spec.process.env.extend(opts.env.iter().cloned());
    if let Some(w) = &opts.workdir {
        spec.process.cwd = w.clone();
    }
    if let Some(u) = &opts.user {
        // The container's root as its process sees it (/proc/PID/root), and
        // every symlink under it resolved there, never on the host.
        let base = std::path::PathBuf::from(format!("/proc/{}/root", record.state.pid));
        let read = |f: &str| crate::image::inroot::account_file(&base, f);
        let (uid, gid) = super::units::parse_user(u, &read("etc/passwd"), &read("etc/group"))?;
        spec.process.user.uid = uid;
        spec.process.user.gid = gid;
    }
    let cgroup = Cgroup::new(&root.cgroup_layout()?, &record.cgroup);
    // The process's 0, 1 and 2: pipes of ours (stdin: /dev/null without -i).
    let pipe = || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe2");
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (stdin_child, stdin_ours): (OwnedFd, Option<OwnedFd>) = if opts.interactive && !opts.tty {
        let (r, w) = pipe()?;
        (r, Some(w))
    } else {
        let null = std::fs::File::open("/dev/null").context("opening /dev/null")?;
        (OwnedFd::from(null), None)
    };
    let forward = !opts.tty;
    let signals = shim::signal_fd(forward).context("signalfd")?;
    let mut trace = Trace::default();
    let started = runtime::exec(
        record.state.pid,
        &spec,
        &cgroup,
        [
            stdin_child.as_raw_fd(),
            out_w.as_raw_fd(),
            err_w.as_raw_fd(),
        ],
        &mut trace,
    );
    drop((stdin_child, out_w, err_w));
    let started = match started {
        Ok(s) => s,
        Err(RuntimeError::InitFailed { exit_code, message }) => {
            return Err(super::run::StartError {
                code: exit_code,
                message,
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
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
