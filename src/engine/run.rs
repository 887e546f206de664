//! `glassbox run`: from docker's words to a running process.
//!
//! The steps, in order, each traced: find (or assemble) the image; reserve the
//! name; make the container's directory; make the parent cgroups; mount the
//! overlay; write `config.json`; ask the runtime to create the cgroup and
//! start the process; then supervise it until it exits (in the foreground, or
//! in a detached monitor for `-d`) and tear down what was made.

use super::container::{self, Paths, Record, RunConfig};
use super::{DataRoot, overlay, spec as spec_builder};
use crate::image::{StoreError, busybox};
use crate::inspect::proc_stat::process_start_time;
use crate::runtime::cgroups::{self, Cgroup};
use crate::runtime::journal::Journal;
use crate::runtime::logs::LogWriter;
use crate::runtime::shim::{self, Exit, OutputSink, Relay, Stream, Tee, Terminal};
use crate::runtime::spec::Spec;
use crate::runtime::trace::{Trace, now_ns};
use crate::runtime::{self, RuntimeError, pty};
use crate::timefmt;
use anyhow::{Context, bail};
use nix::fcntl::OFlag;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// What `glassbox run` was asked.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub image: String,
    /// Command and arguments; empty means the image's default.
    pub command: Vec<String>,
    pub name: Option<String>,
    pub config: RunConfig,
    /// Replaces the image's ENTRYPOINT (docker's `--entrypoint`); `Some(vec![])`
    /// runs `command` as it is, as a build's RUN step does.
    pub entrypoint: Option<Vec<String>>,
}

/// The outcome of a foreground run, or the ID of a detached one.
pub enum Outcome {
    Exited(i32),
    Detached(String),
}

/// A container that has been prepared (bundle written, cgroup made) but not started.
pub struct Prepared {
    pub record: Record,
    pub spec: Spec,
    pub cgroup: Cgroup,
    pub journal: Journal,
    pub trace: Trace,
}

/// Finds the image, assembling `busybox` on first use (also a build's FROM).
pub fn image_for(
    root: &DataRoot,
    reference: &str,
    trace: &mut Trace,
) -> anyhow::Result<(String, crate::image::ImageConfig)> {
    let store = root.images();
    match store.resolve(reference) {
        Ok(found) => Ok(found),
        Err(StoreError::NotFound(_))
            if crate::image::store::normalize_ref(reference) == "busybox:latest" =>
        {
            let t = now_ns();
            let id = busybox::assemble(&store)?;
            trace.step(
                "engine",
                t,
                "assemble_busybox",
                format!("busybox:latest = {id}"),
            );
            Ok((id.clone(), store.config(&id)?))
        }
        Err(e) => Err(e.into()),
    }
}

/// Everything up to the `clone`: image, name, directories, overlay, bundle, cgroup.
pub fn prepare(root: &DataRoot, opts: &RunOptions) -> anyhow::Result<Prepared> {
    super::require_root("glassbox run")?;
    // A bad --network or a host port in use is refused before anything is made.
    super::network::preflight(&opts.config)?;
    let mut trace = Trace::default();
    let layout = root.cgroup_layout()?;
    let (image_id, image) = image_for(root, &opts.image, &mut trace)?;
    let id = container::new_id();
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| container::generated_name(&id));
    container::reserve_name(root, &name, &id)?;
    let result = prepare_named(root, opts, &id, &name, image_id, &image, &layout, trace);
    if result.is_err() {
        // Nothing of it may stay: undo what its journal holds, then the files.
        let paths = Paths::new(root, &id);
        let _ = super::cleanup::undo_journal(&paths.journal());
        let _ = std::fs::remove_dir_all(&paths.dir);
        container::release_name(root, &name, &id);
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn prepare_named(
    root: &DataRoot,
    opts: &RunOptions,
    id: &str,
    name: &str,
    image_id: String,
    image: &crate::image::ImageConfig,
    layout: &cgroups::Layout,
    mut trace: Trace,
) -> anyhow::Result<Prepared> {
    let paths = Paths::new(root, id);
    let t = now_ns();
    for dir in [
        paths.dir.clone(),
        paths.upper(),
        paths.work(),
        paths.rootfs(),
    ] {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let init_layer = root.init_layer()?;
    let journal = Journal::open(&paths.journal())?;
    trace.step(
        "engine",
        t,
        "create_bundle_dirs",
        format!("mkdir {}/{{upper,work,rootfs}}", paths.dir.display()),
    );

    let t = now_ns();
    cgroups::prepare_parent(layout, &root.cgroup_parent(), &root.journal()?)?;
    trace.step(
        "engine",
        t,
        "prepare_cgroup_parent",
        format!("mkdir -p {} (each hierarchy)", root.cgroup_parent()),
    );

    let store = root.images();
    let lower_dirs: Vec<_> = std::iter::once(init_layer)
        .chain(
            image
                .rootfs
                .diff_ids
                .iter()
                .rev()
                .map(|d| store.layer_diff(d)),
        )
        .collect();
    overlay::mount_overlay(
        &lower_dirs,
        &paths.upper(),
        &paths.work(),
        &paths.rootfs(),
        if opts.config.auto_remove {
            overlay::Upper::Discarded
        } else {
            overlay::Upper::Kept
        },
        &journal,
        &mut trace,
    )?;

    let mut config = opts.config.clone();
    if config.hostname.is_empty() {
        config.hostname = id[..12].to_string();
    }
    if config.network.is_empty() {
        config.network = "bridge".into();
    }
    let user = if config.user.is_empty() {
        image.config.user.clone()
    } else {
        config.user.clone()
    };
    let (uid, gid) = if user.is_empty() {
        (0, 0)
    } else {
        // Inside the image's root only: /etc/passwd may be a symlink.
        let read = |f: &str| crate::image::inroot::account_file(&paths.rootfs(), f);
        super::units::parse_user(&user, &read("etc/passwd"), &read("etc/group"))?
    };
    let mut command: Vec<String> = opts
        .entrypoint
        .clone()
        .or_else(|| image.config.entrypoint.clone())
        .unwrap_or_default();
    if opts.command.is_empty() {
        command.extend(image.config.cmd.clone().unwrap_or_default());
    } else {
        command.extend(opts.command.iter().cloned());
    }
    if command.is_empty() {
        bail!(
            "no command given and the image {} has no CMD: add one after the image name",
            opts.image
        );
    }
    let record = Record {
        id: id.to_string(),
        name: name.to_string(),
        image: opts.image.clone(),
        image_id,
        created: timefmt::now_unix_ns(),
        path: command[0].clone(),
        args: command[1..].to_vec(),
        config,
        state: container::State {
            status: "created".into(),
            ..Default::default()
        },
        cgroup: format!("{}/{}", root.cgroup_parent(), &id[..12]),
        lower_dirs,
    };
    let network =
        super::network::setup(root, &paths, id, name, &record.config, &journal, &mut trace)?;
    let t = now_ns();
    let mut spec = spec_builder::build(&record, image, uid, gid, layout.version() == 2);
    super::network::apply_to_spec(&mut spec, &paths, &network);
    spec.save(&paths.dir)?;
    // The record itself (state.json) is first written once the process runs
    // (or failed to start): one file write less on every start. Until then the
    // container has its directory, name and journal, which is all `cleanup` needs.
    trace.step(
        "engine",
        t,
        "write_config_json",
        format!("{}/config.json", paths.dir.display()),
    );

    let cgroup = runtime::create_cgroup(&spec, layout, &journal, &mut trace)?;
    Ok(Prepared {
        record,
        spec,
        cgroup,
        journal,
        trace,
    })
}

/// `glassbox run`.
pub fn run(root: &DataRoot, opts: &RunOptions) -> anyhow::Result<Outcome> {
    let prepared = prepare(root, opts)?;
    if opts.config.detach {
        return detach(root, prepared);
    }
    let code = supervise(root, prepared, Attach::Terminal, None)?;
    Ok(Outcome::Exited(code))
}

/// Where the container's standard streams are connected.
#[derive(Clone, Copy, PartialEq)]
enum Attach {
    /// The user's terminal (foreground run).
    Terminal,
    /// Nowhere but the log (detached).
    Log,
}

fn pipe() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2")
}

/// The monitor is a `fork` that goes on running glassbox's code without an
/// `exec`, which is sound only when the forking process has one thread: the
/// child has only the forking thread, and a lock held by any other thread
/// (the allocator's, stdio's) would stay locked in it for ever. glassbox's
/// CLI has one thread here; a threaded caller is refused rather than risk a
/// monitor that hangs.
fn require_one_thread() -> anyhow::Result<()> {
    match crate::inspect::proc_stat::read_proc_stat(std::process::id()) {
        Ok(stat) if stat.num_threads > 1 => bail!(
            "cannot start a detached container from a process with {} threads: \
             the monitor is forked without exec; run `glassbox run -d` as its own process",
            stat.num_threads
        ),
        _ => Ok(()),
    }
}

/// Forks the monitor, which starts and supervises the container; returns
/// once the monitor reports that the container runs (or failed to).
fn detach(root: &DataRoot, prepared: Prepared) -> anyhow::Result<Outcome> {
    let id = prepared.record.id.clone();
    let (mut report_r, report_w) = {
        let (r, w) = pipe()?;
        (std::fs::File::from(r), w)
    };
    require_one_thread()?;
    // SAFETY: this process has one thread (checked just above), so fork
    // duplicates no lock held by another thread.
    match unsafe { nix::unistd::fork() }.context("fork of the container monitor")? {
        nix::unistd::ForkResult::Child => {
            drop(report_r);
            let _ = nix::unistd::setsid();
            // Named like containerd-shim, so `ps` and the lab's process chain
            // (topic 8) show which process keeps the container.
            // SAFETY: PR_SET_NAME copies at most 16 bytes from a NUL-terminated string.
            unsafe {
                libc::prctl(
                    libc::PR_SET_NAME,
                    c"glassbox-shim".as_ptr() as libc::c_ulong,
                    0,
                    0,
                    0,
                )
            };
            // The monitor outlives the CLI: detach it from the terminal.
            if let Ok(null) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                for fd in 0..3 {
                    // SAFETY: dup2 onto our own standard descriptors.
                    unsafe { libc::dup2(null.as_raw_fd(), fd) };
                }
            }
            let code = match supervise(root, prepared, Attach::Log, Some(report_w)) {
                Ok(_) => 0,
                Err(_) => 1,
            };
            // SAFETY: leave without running the parent's exit handlers twice.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { .. } => {
            drop(report_w);
            let mut text = String::new();
            let _ = report_r.read_to_string(&mut text);
            match text.split_once('\t') {
                Some(("ok", _)) => Ok(Outcome::Detached(id)),
                Some(("fail", rest)) => {
                    let (code, msg) = rest.split_once('\t').unwrap_or(("125", rest));
                    Err(StartError {
                        code: code.trim().parse().unwrap_or(125),
                        message: msg.trim().to_string(),
                    }
                    .into())
                }
                _ => {
                    bail!("the container monitor exited before reporting; see `glassbox logs {id}`")
                }
            }
        }
    }
}

/// A container that did not start, with the exit code the CLI should use.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StartError {
    pub code: i32,
    pub message: String,
}

/// Starts the prepared container and stays with it until it exits; then tears
/// down. Returns the container's exit code.
fn supervise(
    root: &DataRoot,
    prepared: Prepared,
    attach: Attach,
    report: Option<OwnedFd>,
) -> anyhow::Result<i32> {
    let Prepared {
        mut record,
        spec,
        cgroup,
        journal: _journal,
        mut trace,
    } = prepared;
    let paths = Paths::new(root, &record.id);
    let tty = record.config.tty;
    let interactive = record.config.open_stdin;

    // The container's standard streams.
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (stdin_child, stdin_ours): (OwnedFd, Option<OwnedFd>) = if interactive && !tty {
        let (r, w) = pipe()?;
        (r, Some(w))
    } else {
        let null = std::fs::File::open("/dev/null").context("opening /dev/null")?;
        (OwnedFd::from(null), None)
    };
    let forward = attach == Attach::Terminal && !tty;
    let signals = shim::signal_fd(forward).context("signalfd")?;
    let mut log = LogWriter::open(&paths.log())
        .with_context(|| format!("cannot open {}", paths.log().display()))?;

    let started = runtime::start(
        &spec,
        &paths.rootfs(),
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
        Err(e) => {
            let (code, message) = match &e {
                RuntimeError::InitFailed { exit_code, message } => (*exit_code, message.clone()),
                other => (125, format!("{other:#}")),
            };
            record.state.error = message.clone();
            let _ = finish(
                root,
                &mut record,
                &cgroup,
                Exit { code, signal: None },
                &mut trace,
            );
            if let Some(r) = report {
                let _ = std::fs::File::from(r)
                    .write_all(format!("fail\t{code}\t{message}\n").as_bytes());
            }
            return Err(StartError { code, message }.into());
        }
    };

    record.state.status = "running".into();
    record.state.pid = started.pid;
    record.state.pid_start = process_start_time(started.pid as u32).unwrap_or(0);
    record.state.monitor_pid = std::process::id() as i32;
    record.state.monitor_start = process_start_time(std::process::id()).unwrap_or(0);
    record.state.started_at = timefmt::now_unix_ns();
    container::save(root, &record)?;
    super::events::container(root, "start", &record, &[]);
    // A container removed at exit keeps no trace; the others show theirs live.
    if !record.config.auto_remove {
        let _ = std::fs::write(paths.trace(), trace.to_json_lines());
    }
    if let Some(r) = report {
        let _ = std::fs::File::from(r).write_all(b"ok\t\n");
    }

    // Relay until the main process exits.
    let master = started.console.as_ref();
    let _raw = (attach == Attach::Terminal && tty)
        .then(|| pty::RawMode::enter(0))
        .flatten();
    if let (Some(m), Attach::Terminal) = (master, attach)
        && let Some(ws) = pty::window_size(0)
    {
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
        (Some(m), _) if interactive => m.try_clone().ok(),
        (_, ours) => ours,
    };
    let relay = Relay {
        outputs,
        input_to,
        input_from: (attach == Attach::Terminal && interactive).then_some(0),
        pty_master: master.map(|m| m.as_raw_fd()),
        forward_signals: forward,
    };
    let mut terminal = Terminal;
    let exit = match attach {
        Attach::Terminal => {
            let mut tee = Tee(&mut terminal, &mut log);
            shim::relay_until_exit(started.pid, &started.pidfd, relay, Some(&signals), &mut tee)
        }
        Attach::Log => shim::relay_until_exit(
            started.pid,
            &started.pidfd,
            relay,
            Some(&signals),
            &mut log as &mut dyn OutputSink,
        ),
    };
    drop(_raw);
    finish(root, &mut record, &cgroup, exit, &mut trace)?;
    Ok(exit.code)
}

/// Step `teardown`: read the OOM counter, remove the cgroup, unmount the
/// overlay, record the exit; with `--rm`, remove the container.
pub fn finish(
    root: &DataRoot,
    record: &mut Record,
    cgroup: &Cgroup,
    exit: Exit,
    trace: &mut Trace,
) -> anyhow::Result<()> {
    let paths = Paths::new(root, &record.id);
    let oom_kills = cgroup.oom_kills();
    let mut errors = Vec::new();
    if let Err(e) = cgroup.remove(trace) {
        errors.push(format!("{e:#}"));
    } else {
        cgroups::remove_parent_if_empty(&cgroup.layout, &root.cgroup_parent());
    }
    // Before the overlay: the kernel destroys the namespace meanwhile.
    errors.extend(super::network::teardown(&paths, trace));
    if let Err(e) = overlay::unmount(&paths.rootfs(), trace) {
        errors.push(format!("{e:#}"));
    }
    record.state.status = "exited".into();
    record.state.exit_code = exit.code;
    record.state.oom_killed = oom_kills > 0;
    record.state.finished_at = timefmt::now_unix_ns();
    record.state.pid = 0;
    if !errors.is_empty() {
        record.state.error = errors.join("; ");
    }
    let code = exit.code.to_string();
    super::events::container(root, "die", record, &[("exitCode", &code)]);
    if record.config.auto_remove {
        super::lifecycle::remove_files(root, record);
    } else {
        container::save(root, record)?;
        let _ = std::fs::write(paths.trace(), trace.to_json_lines());
    }
    if !errors.is_empty() {
        bail!("teardown of {}: {}", record.name, errors.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_monitor_is_not_forked_from_a_threaded_process() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        let err = super::require_one_thread().unwrap_err().to_string();
        drop(tx);
        let _ = other.join();
        assert!(err.contains("threads"), "{err}");
    }
}
