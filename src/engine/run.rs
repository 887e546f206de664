//! `glassbox run`: from docker's words to a running process.
//!
//! The steps, in order, each traced: find (or assemble) the image; make the
//! container's directory with its record (`created`), then reserve its name;
//! make the parent cgroups; mount the overlay; write `config.json`; ask the
//! runtime to create the cgroup and start the process; then supervise it
//! until it exits (in the foreground, or in a detached monitor for `-d`) and
//! tear down what was made.
//!
//! `create` is the first half alone; `start` the second, for a container
//! that `create` made or that has exited. While a start is under way the
//! record says who makes it (`monitor_pid`: the `run` or `start` process),
//! so a start killed part way is listed as `Dead` ([`Record::observed`]) and
//! a later `start`, `rm` or `cleanup` undoes what it left. Both halves hold
//! the data root's lock shared ([`super::lock`]): from before the image is
//! resolved until the record names it (`create`), and until the record says
//! the container runs or failed to start (`start`), so `rmi` and `cleanup`
//! never see a container half made.

use super::container::{self, Paths, Record, RunConfig};
use super::trash::{self, Claim};
use super::{DataRoot, overlay, spec as spec_builder};
use crate::image::{StoreError, busybox};
use crate::inspect::proc_stat::process_start_time;
use crate::runtime::cgroups::{self, Cgroup};
use crate::runtime::journal::{Journal, Object};
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
use std::path::{Path, PathBuf};

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
    /// Steps the caller took before (`seal`, `open_data_root`): the trace starts with them.
    pub trace: Trace,
    /// `--trace FILE`: the whole trace is appended there (`--rm` runs too).
    pub trace_file: Option<PathBuf>,
    /// The caller exits as soon as `run` returns (the CLI does): the teardown
    /// of a foreground `--rm` container is then finished after its exit status
    /// is reported, by a forked child ([`finish`]).
    pub exits_after: bool,
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
    /// Where the trace goes besides `trace.jsonl` (`--trace FILE`).
    pub trace_file: Option<PathBuf>,
    /// See [`RunOptions::exits_after`].
    pub exits_after: bool,
    /// The data root, held shared until the record says the container runs
    /// (or failed to start): `rmi` and `cleanup` wait for that (see
    /// [`super::lock`]).
    pub lock: Option<super::lock::RootLock>,
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

/// `glassbox create`, `POST /containers/create`, and the first half of
/// `run`: the image (busybox assembled on first use), the name, the
/// container's directory and its record with docker's merged config (the
/// image's defaults under the user's flags). Nothing is asked of the kernel
/// yet: a created container holds no mount, cgroup, address or port.
pub fn create(root: &DataRoot, opts: &RunOptions) -> anyhow::Result<Record> {
    super::require_root("glassbox create")?;
    // Until the record names the image's layers: `rmi` waits.
    let _lock = root.lock_shared()?;
    create_traced(root, opts, &mut Trace::default(), false)
}

/// [`create`], its steps (`find_image`, `reserve_name`) added to `trace`:
/// `run` shows them in the start's trace before the kernel's steps. The
/// caller holds the data root's lock. `starting`: the caller starts it next
/// (`run`), and the record names it as the process starting it.
fn create_traced(
    root: &DataRoot,
    opts: &RunOptions,
    trace: &mut Trace,
    starting: bool,
) -> anyhow::Result<Record> {
    super::require_root("glassbox create")?;
    if !["bridge", "none", "host", ""].contains(&opts.config.network.as_str()) {
        return Err(super::EngineError::NoSuchNetwork(opts.config.network.clone()).into());
    }
    spec_builder::check_config(&opts.config)?;
    // A bad name is refused before busybox is assembled.
    if let Some(name) = &opts.name {
        container::check_name(name)?;
    }
    let t = now_ns();
    let (image_id, image) = image_for(root, &opts.image, trace)?;
    trace.step(
        "engine",
        t,
        "find_image",
        format!("read images/repositories.json, images/configs/{image_id}.json"),
    );
    let id = container::new_id();
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| container::generated_name(&id));
    let record = new_record(root, opts, &id, &name, image_id, &image, starting)?;
    let t = now_ns();
    let made = container::create(root, &record)?;
    trace.step(
        "engine",
        t,
        "reserve_name",
        format!(
            "{how} containers/{short} with state.json (created); symlink names/{name} -> {short}",
            how = match made {
                container::Made::Ahead => "rename ahead/container (made by the last start) to",
                container::Made::Here => "mkdir",
            },
            short = &id[..12]
        ),
    );
    super::events::container(root, "create", &record, &[]);
    Ok(record)
}

/// docker's merged config: the image's `Env` with the user's `-e` over it
/// (by name), the image's `User`, `WorkingDir`, `StopSignal` and `Labels`
/// where the user gave none, and the command from `--entrypoint` (which
/// drops the image's CMD) or the image's ENTRYPOINT, then the given
/// arguments or the image's CMD.
pub fn merged_config(
    opts: &RunOptions,
    image: &crate::image::ImageConfig,
) -> anyhow::Result<(RunConfig, Vec<String>, Vec<String>)> {
    let mut config = opts.config.clone();
    // moby's ReplaceOrAppendEnvValues: a -e of a name the image sets
    // replaces it in place; a new name goes at the end.
    let mut env: Vec<String> = image.config.env.clone();
    let key_of = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
    for e in &opts.config.env {
        let key = key_of(e);
        match env.iter().position(|x| key_of(x) == key) {
            Some(i) => env[i] = e.clone(),
            None => env.push(e.clone()),
        }
    }
    config.env = env;
    if config.user.is_empty() {
        config.user = image.config.user.clone();
    }
    if config.workdir.is_empty() {
        config.workdir = image.config.working_dir.clone();
    }
    if config.stop_signal.is_empty() {
        config.stop_signal = image.config.stop_signal.clone();
    }
    for (k, v) in &image.config.labels {
        config.labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if config.network.is_empty() {
        config.network = "bridge".into();
    }
    let entrypoint: Vec<String> = opts
        .entrypoint
        .clone()
        .or_else(|| image.config.entrypoint.clone())
        .unwrap_or_default();
    let cmd: Vec<String> = if !opts.command.is_empty() {
        opts.command.clone()
    } else if opts.entrypoint.is_some() {
        Vec::new()
    } else {
        image.config.cmd.clone().unwrap_or_default()
    };
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(super::EngineError::Invalid(format!(
            "No command specified: the image {} has no CMD or ENTRYPOINT; add a command after the image name",
            opts.image
        ))
        .into());
    }
    Ok((config, entrypoint, cmd))
}

/// The record of a new container, `created`, with docker's merged config
/// and the layers its overlay will stack. `starting`: it names this
/// process as the one starting it (see the module doc).
fn new_record(
    root: &DataRoot,
    opts: &RunOptions,
    id: &str,
    name: &str,
    image_id: String,
    image: &crate::image::ImageConfig,
    starting: bool,
) -> anyhow::Result<Record> {
    let (mut config, entrypoint, cmd) = merged_config(opts, image)?;
    if config.hostname.is_empty() {
        // docker's default: the short ID; with the host's network, the
        // host's own name (the UTS namespace is still the container's).
        config.hostname = match config.network.as_str() {
            "host" => nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| id[..12].to_string()),
            _ => id[..12].to_string(),
        };
    }
    // `-v /path` and the image's VOLUMEs: an anonymous volume each, filled
    // from the image at the first start.
    super::volume::make_anonymous_sources(root, &mut config.volumes)?;
    let anonymous = super::volume::image_volumes(root, &config, image)?;
    config.volumes.extend(anonymous);
    let command: Vec<String> = entrypoint.iter().chain(cmd.iter()).cloned().collect();
    let store = root.images();
    let lower_dirs: Vec<_> = std::iter::once(root.init_layer()?)
        .chain(
            image
                .rootfs
                .diff_ids
                .iter()
                .rev()
                .map(|d| store.layer_diff(d)),
        )
        .collect();
    let mut state = container::State {
        status: "created".into(),
        ..Default::default()
    };
    if starting {
        (state.monitor_pid, state.monitor_start) = this_process();
    }
    Ok(Record {
        id: id.to_string(),
        name: name.to_string(),
        image: opts.image.clone(),
        image_id,
        created: timefmt::now_unix_ns(),
        path: command[0].clone(),
        args: command[1..].to_vec(),
        entrypoint,
        cmd,
        config,
        state,
        cgroup: root.container_cgroup(id),
        lower_dirs,
        ..Default::default()
    })
}

/// This process's PID and start time, as a record names its monitor.
/// This process's PID and start time, read from /proc once per process (a
/// start asks several times: the journal, the record, the teardown). The
/// PID is compared, so a forked child reads its own.
fn this_process() -> (i32, u64) {
    static ME: std::sync::Mutex<(u32, u64)> = std::sync::Mutex::new((0, 0));
    let me = std::process::id();
    let mut known = ME.lock().unwrap_or_else(|e| e.into_inner());
    if known.0 != me || known.1 == 0 {
        *known = (me, process_start_time(me).unwrap_or(0));
    }
    (me as i32, known.1)
}

/// Everything from the overlay to the cgroup, for a created or exited
/// container: what `start` does before the `clone`. On failure what it made
/// is undone (the journal replayed) and the record says why (`dead` if an
/// undo failed, with what is left). The caller holds the data root's lock.
pub fn prepare_start(root: &DataRoot, record: Record) -> anyhow::Result<Prepared> {
    prepare_start_traced(root, record, Trace::default())
}

/// [`prepare_start`], its steps appended to `trace` (`run` passes the
/// trace of its create).
fn prepare_start_traced(
    root: &DataRoot,
    record: Record,
    mut trace: Trace,
) -> anyhow::Result<Prepared> {
    super::require_root("glassbox start")?;
    let paths = Paths::new(root, &record.id);
    let owner = super::cleanup::Owner::container(root, &record.id);
    let mut record = record;
    let before = record.state.status.clone();
    if (record.state.monitor_pid, record.state.monitor_start) != this_process() {
        // An earlier start killed part way left what its journal names
        // (its port's lease, say): undone first.
        if paths.journal().exists() {
            let undone = super::cleanup::undo_journal(&paths.journal(), &owner);
            if !undone.complete() {
                bail!(
                    "container {} cannot start: what an earlier start made is left ({}); `glassbox rm -f {}` removes it",
                    record.name,
                    undone.left.join("; "),
                    record.name
                );
            }
        }
    }
    // A host port in use is refused before anything is made.
    super::network::preflight(&record.config)?;
    let image = root.images().config(&record.image_id)?;
    let t = now_ns();
    let layout = root.cgroup_layout()?;
    trace.step(
        "engine",
        t,
        "detect_cgroups",
        format!("read /proc/self/mountinfo: cgroup v{}", layout.version()),
    );
    if (record.state.monitor_pid, record.state.monitor_start) != this_process() {
        // This process starts it now (`created` again, an exited one too):
        // if it is killed, `ps` lists the container as Dead.
        (record.state.monitor_pid, record.state.monitor_start) = this_process();
        record.state.status = "created".into();
        container::save(root, &record)?;
    }
    let result = prepare_named(root, record.clone(), &image, &layout, trace);
    if let Err(e) = &result {
        let undone = super::cleanup::undo_journal(&paths.journal(), &owner);
        let mut failed = record;
        failed.state.monitor_pid = 0;
        failed.state.monitor_start = 0;
        // A dead record (its earlier start was killed) is made again: created.
        failed.state.status = if before == "exited" {
            before
        } else {
            "created".into()
        };
        let message = super::disk::explain(root, e).unwrap_or_else(|| format!("{e:#}"));
        failed.state.error = if undone.complete() {
            message
        } else {
            failed.state.status = "dead".into();
            format!(
                "{message}; undoing the start left: {}",
                undone.left.join("; ")
            )
        };
        let _ = container::save(root, &failed);
    }
    result
}

fn prepare_named(
    root: &DataRoot,
    mut record: Record,
    image: &crate::image::ImageConfig,
    layout: &cgroups::Layout,
    mut trace: Trace,
) -> anyhow::Result<Prepared> {
    let paths = Paths::new(root, &record.id);
    let t = now_ns();
    for dir in [paths.upper(), paths.work(), paths.rootfs()] {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    root.init_layer()?;
    let journal = Journal::open(&paths.journal())?;
    trace.step(
        "engine",
        t,
        "create_bundle_dirs",
        format!("mkdir {}/{{upper,work,rootfs}}", paths.dir.display()),
    );

    if !cgroup_after_clone(layout) {
        prepare_cgroup_parent(root, layout, &mut trace)?;
    }

    // The layers first: `rmi` keeps them even if the record becomes unreadable.
    let layers = root.path.join("layers");
    for dir in record.lower_dirs.iter().filter(|d| d.starts_with(&layers)) {
        journal
            .record(&Object::Layer(dir.clone()))
            .with_context(|| format!("cannot write the journal {}", paths.journal().display()))?;
    }
    overlay::mount_overlay(
        &record.lower_dirs,
        &paths.upper(),
        &paths.work(),
        &paths.rootfs(),
        if record.config.auto_remove {
            overlay::Upper::Discarded
        } else {
            overlay::Upper::Kept
        },
        &journal,
        &mut trace,
    )?;

    // Inside the image's root only: /etc/passwd may be a symlink.
    let read = |f: &str| crate::image::inroot::account_file(&paths.rootfs(), f);
    let user =
        super::units::resolve_user(&record.config.user, &read("etc/passwd"), &read("etc/group"))?;
    if record.state.started_at == 0 {
        super::volume::populate_anonymous(root, &record, &paths.rootfs(), &mut trace)?;
    }
    record.state.error.clear();
    let network = super::network::setup(
        root,
        &paths,
        &record.id,
        &record.name,
        &record.config,
        &journal,
        &mut trace,
    )?;
    let t = now_ns();
    let mut spec = spec_builder::build(&record, image, &user, layout.version() == 2)?;
    super::network::apply_to_spec(&mut spec, &paths, &network);
    trace.step(
        "engine",
        t,
        "build_spec",
        "the OCI spec from the record, the image and the network (config.json is written while the init sets up)",
    );

    let cgroup = if cgroup_after_clone(layout) {
        runtime::cgroup_of(&spec, layout)?
    } else {
        runtime::create_cgroup(&spec, layout, &journal, &mut trace)?
    };
    Ok(Prepared {
        record,
        spec,
        cgroup,
        journal,
        trace,
        trace_file: None,
        exits_after: false,
        lock: None,
    })
}

/// Whether the container's cgroup is made after the clone: on cgroup v1,
/// by this process while the init sets up its root ([`runtime::start`]'s
/// `place`, [`place_in_cgroup`]); on v2 before, for the init to be born in
/// it.
fn cgroup_after_clone(layout: &cgroups::Layout) -> bool {
    layout.version() == 1
}

/// Step `prepare_cgroup_parent`: the parent group of every container
/// (`glassbox`), in each hierarchy, journaled in the data root's journal.
fn prepare_cgroup_parent(
    root: &DataRoot,
    layout: &cgroups::Layout,
    trace: &mut Trace,
) -> anyhow::Result<()> {
    let t = now_ns();
    cgroups::prepare_parent(layout, &root.cgroup_parent(), &root.journal()?)?;
    trace.step(
        "engine",
        t,
        "prepare_cgroup_parent",
        format!("mkdir -p {} (each hierarchy)", root.cgroup_parent()),
    );
    Ok(())
}

/// What a cgroup v1 start does right after the clone ([`runtime::start`]'s
/// `place`), while the init mounts its root on the other CPU: the parent
/// group, then the container's group with its limits (journaled first, as
/// always). The init joins it itself once told.
fn place_in_cgroup(
    root: &DataRoot,
    cgroup: &Cgroup,
    spec: &Spec,
    journal: &Journal,
    trace: &mut Trace,
) -> Result<(), RuntimeError> {
    prepare_cgroup_parent(root, &cgroup.layout, trace).map_err(|e| RuntimeError::Syscall {
        what: format!("making the cgroup parent {}", root.cgroup_parent()),
        source: std::io::Error::other(format!("{e:#}")),
    })?;
    cgroup.create(&spec.linux.resources, journal, trace)?;
    Ok(())
}

/// `glassbox run`: create, then start (in the foreground, or under a
/// detached shim with `-d`). A container that cannot start is removed again.
pub fn run(root: &DataRoot, opts: &RunOptions) -> anyhow::Result<Outcome> {
    super::require_root("glassbox run")?;
    // A bad --network or a host port in use is refused before anything is made.
    super::network::preflight(&opts.config)?;
    // The trace starts with the caller's steps (`seal`, `open_data_root`),
    // then create's, then the start's.
    let mut trace = opts.trace.clone();
    // Held from before the image is resolved until the record says the
    // container runs (or failed to): `rmi` and `cleanup` wait for that.
    let lock = root.lock_shared()?;
    let record = create_traced(root, opts, &mut trace, true)?;
    let mut prepared = match prepare_start_traced(root, record.clone(), trace) {
        Ok(p) => p,
        Err(e) => {
            // Nothing of it may stay; if an undo failed it stays, Dead.
            let undone = super::lifecycle::remove_files(root, &record);
            if !undone.complete() {
                return Err(e.context(format!(
                    "and undoing the start left: {} (the container stays listed as Dead)",
                    undone.left.join("; ")
                )));
            }
            return Err(e);
        }
    };
    prepared.trace_file = opts.trace_file.clone();
    prepared.exits_after = opts.exits_after;
    prepared.lock = Some(lock);
    let outcome = if opts.config.detach {
        detach(root, prepared, 0).map(|()| Outcome::Detached(record.id.clone()))
    } else {
        supervise(root, prepared, Attach::Terminal, None, None, 0).map(Outcome::Exited)
    };
    match outcome {
        // The disk is full: the run failed as a whole (125, said plainly),
        // and what it made goes, to give the space back. (A container that
        // failed to start for another reason stays, as docker keeps it.)
        Err(e) if super::disk::is_no_space(&e) && Paths::new(root, &record.id).dir.is_dir() => {
            let undone = super::lifecycle::remove_files(root, &record);
            if !undone.complete() {
                return Err(e.context(format!(
                    "and removing the container left: {} (it stays listed as Dead)",
                    undone.left.join("; ")
                )));
            }
            Err(e)
        }
        other => other,
    }
}

/// `glassbox start` / `POST /containers/ID/start`: starts a created or
/// exited container under a detached shim. `wait_attach`: how many clients
/// the shim waits for on its attach socket before the process runs (docker
/// attaches before it starts, so that no output is missed).
pub fn start(root: &DataRoot, name: &str, wait_attach: usize) -> anyhow::Result<Record> {
    super::require_root("glassbox start")?;
    let lock = root.lock_shared()?;
    let record = container::find(root, name)?;
    if record.is_running() {
        return Err(super::EngineError::NotModified(format!(
            "container {} is already running",
            record.name
        ))
        .into());
    }
    if record.state.status == "created" && record.monitor_alive() {
        return Err(super::EngineError::Conflict(format!(
            "container {} is being started (by pid {})",
            record.name, record.state.monitor_pid
        ))
        .into());
    }
    let mut prepared = match prepare_start(root, record.clone()) {
        Ok(p) => p,
        Err(e) => {
            if record.config.auto_remove {
                super::lifecycle::remove_files(root, &record);
            }
            return Err(e);
        }
    };
    prepared.lock = Some(lock);
    let id = prepared.record.id.clone();
    let prepared_record = prepared.record.clone();
    if let Err(e) = detach(root, prepared, wait_attach) {
        // What the start made goes; a --rm container goes with it (docker
        // removes an AutoRemove container whose start failed).
        let _ = super::cleanup::undo_journal(
            &Paths::new(root, &id).journal(),
            &super::cleanup::Owner::container(root, &id),
        );
        if record.config.auto_remove {
            super::lifecycle::remove_files(root, &record);
        } else if let Ok(mut r) = container::load_by_id(root, &id) {
            r.state.error = format!("{e:#}");
            if r.state.status == "created" || r.state.status == "dead" {
                r.state.monitor_pid = 0;
                r.state.monitor_start = 0;
            }
            let _ = container::save(root, &r);
        }
        return Err(e);
    }
    // A --rm container that has already ended is already removed by its
    // shim: the start still succeeded.
    match container::load_by_id(root, &id) {
        Ok(r) => Ok(r),
        Err(_) if record.config.auto_remove => Ok(prepared_record),
        Err(e) => Err(e),
    }
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
pub(super) fn require_one_thread() -> anyhow::Result<()> {
    match crate::inspect::proc_stat::read_proc_stat(std::process::id()) {
        Ok(stat) if stat.num_threads > 1 => bail!(
            "cannot start a detached container or exec from a process with {} threads: \
             the monitor is forked without exec; run `glassbox run -d` or `exec -d` as its own process",
            stat.num_threads
        ),
        _ => Ok(()),
    }
}

/// Forks the monitor, which starts and supervises the container; returns
/// once the monitor reports that the container runs (or failed to).
fn detach(root: &DataRoot, prepared: Prepared, wait_attach: usize) -> anyhow::Result<()> {
    let id = prepared.record.id.clone();
    // Bound here, before the fork, so that a failure is this process's to
    // report; the shim inherits the listening socket.
    let server = crate::runtime::attach::AttachServer::bind(
        &crate::runtime::attach::socket_path(&root.key, &id),
        prepared.record.config.tty,
        prepared.record.config.stdin_once,
    )
    .with_context(|| {
        format!(
            "cannot listen on {}",
            crate::runtime::attach::socket_path(&root.key, &id).display()
        )
    })?;
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
            let code = match supervise(
                root,
                prepared,
                Attach::Log,
                Some(report_w),
                Some(server),
                wait_attach,
            ) {
                Ok(_) => 0,
                Err(_) => 1,
            };
            // SAFETY: leave without running the parent's exit handlers twice.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { .. } => {
            // The shim serves the attach socket from now on: dropping our
            // copy must not unlink its file (docker attach finds it by path).
            server.disown();
            drop(report_w);
            let mut text = String::new();
            let _ = report_r.read_to_string(&mut text);
            match text.split_once('\t') {
                Some(("ok", _)) => Ok(()),
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
    attach_server: Option<crate::runtime::attach::AttachServer>,
    wait_attach: usize,
) -> anyhow::Result<i32> {
    let Prepared {
        mut record,
        spec,
        cgroup,
        journal,
        mut trace,
        trace_file,
        exits_after,
        lock,
    } = prepared;
    // Only the CLI's own foreground run leaves teardown to a child: a monitor
    // (`-d`) is in the background already, and whoever waits for it (`stop`,
    // `rm`) expects the container gone when it exits.
    let teardown = Teardown {
        trace_file: trace_file.as_deref(),
        after_exit: exits_after && attach == Attach::Terminal,
        output_done: true,
    };
    let paths = Paths::new(root, &record.id);
    let tty = record.config.tty;
    let interactive = record.config.open_stdin;
    let start_failed = Failed {
        root,
        cgroup: &cgroup,
        journal: &journal,
        report,
        teardown,
    };

    // This process stays with the container: the journal names it, so that
    // `rm` and `cleanup` can end it even if the record becomes unreadable.
    let (me, me_start) = this_process();
    let setup = (|| -> anyhow::Result<_> {
        journal
            .record(&Object::Process {
                pid: me,
                start: me_start,
            })
            .with_context(|| format!("cannot write the journal {}", paths.journal().display()))?;
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
        let log = LogWriter::open(&paths.log())
            .with_context(|| format!("cannot open {}", paths.log().display()))?;
        Ok((
            (out_r, out_w),
            (err_r, err_w),
            (stdin_child, stdin_ours),
            forward,
            signals,
            log,
        ))
    })();
    let ((out_r, out_w), (err_r, err_w), (stdin_child, stdin_ours), forward, signals, mut log) =
        match setup {
            Ok(s) => s,
            Err(e) => return Err(start_failed.fail(record, trace, lock, 125, &e)),
        };
    // A detached container's streams are reachable through its shim's
    // attach socket (docker attach, docker run's own attach).
    let mut attach_server = attach_server;
    if let Some(server) = attach_server.as_mut()
        && wait_attach > 0
    {
        server.wait_for_clients(wait_attach, std::time::Duration::from_secs(10));
    }

    let mut place = |_init: libc::pid_t, trace: &mut Trace| {
        place_in_cgroup(root, &cgroup, &spec, &journal, trace)
    };
    // The bundle's config.json is for students, `inspect` and OCI runtimes,
    // not for the init, which has the spec: written while the init sets up
    // on the other CPU, and checked before the record says it runs. The
    // next container's directory is made then too.
    //
    // And for a foreground `--rm` run, the reaper is forked now too: what
    // this process does once the program runs is on the way to its exit
    // status when the program is short, this is not.
    let wants_reaper = teardown.after_exit && record.config.auto_remove;
    let mut bundle_written = None;
    let mut reaper = None;
    let mut init_start = 0;
    let mut meanwhile = |init: libc::pid_t, mounts: Option<OwnedFd>, trace: &mut Trace| {
        // First: a short program may have ended by the end of this (its
        // /proc/PID/stat stays, with the start time, until it is reaped).
        init_start = process_start_time(init as u32).unwrap_or(0);
        if wants_reaper {
            // The reaper holds the container's mount namespace (see reap),
            // opened by the runtime right after the clone. And the
            // container's directory, claimed for it (engine::trash).
            let claim = Claim::try_now(&paths.dir).ok().flatten();
            reaper = fork_reaper(root, &cgroup, teardown.trace_file, mounts, claim, trace);
        }
        bundle_written = Some(write_config_json(&spec, &paths, trace));
        make_dir_ahead(root, trace);
    };
    let started = runtime::start(
        &spec,
        &paths.rootfs(),
        &cgroup,
        [
            stdin_child.as_raw_fd(),
            out_w.as_raw_fd(),
            err_w.as_raw_fd(),
        ],
        cgroup_after_clone(&cgroup.layout).then_some(&mut place as runtime::AfterClone),
        Some(&mut meanwhile),
        &mut trace,
    );
    drop((stdin_child, out_w, err_w));
    // A start that failed before then still leaves its bundle: `diff` and
    // `commit` read its mounts there.
    let bundle_written =
        bundle_written.unwrap_or_else(|| write_config_json(&spec, &paths, &mut trace));
    let started = match started {
        Ok(s) => s,
        Err(RuntimeError::InitFailed { exit_code, message }) => {
            let e = anyhow::anyhow!(message);
            return Err(start_failed.fail(record, trace, lock, exit_code, &e));
        }
        Err(other) => {
            return Err(start_failed.fail(record, trace, lock, 125, &other.into()));
        }
    };

    record.state.status = "running".into();
    record.state.paused = false;
    record.state.pid = started.pid;
    record.state.pid_start = init_start;
    record.state.monitor_pid = me;
    record.state.monitor_start = me_start;
    record.state.started_at = timefmt::now_unix_ns();
    let t = now_ns();
    if let Err(e) = bundle_written.and_then(|()| container::save(root, &record)) {
        // It runs, but its bundle or its record cannot say so: end it
        // rather than leave a container no one can see.
        // SAFETY: kill(2) and waitpid(2) of our own child, not yet reaped.
        unsafe { libc::kill(started.pid, libc::SIGKILL) };
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(started.pid), None);
        record.state.status = "created".into();
        record.state.pid = 0;
        return Err(start_failed.fail(record, trace, lock, 125, &e));
    }
    // The record says it runs: `rmi` and `cleanup` may see it now.
    drop(lock);
    trace.step(
        "engine",
        t,
        "save_state",
        "state.json: running, pid (temporary file, then rename)",
    );
    super::events::container(root, "start", &record, &[]);
    // While the program runs, with the CPU mask the start had narrowed back
    // whole; a fork after this would hold the child's pipe, and none follows.
    if reaper.is_some() {
        hand_over_address_space(&mut trace);
    }
    // A container removed at exit keeps no trace; the others show theirs live.
    if !record.config.auto_remove {
        let _ = std::fs::write(paths.trace(), trace.to_json_lines());
    }
    if let Some(r) = start_failed.report {
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
        attach: attach_server.as_mut(),
    };
    let mut terminal = Terminal;
    let t = now_ns();
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
    trace.step(
        "runtime",
        t,
        "wait_for_exit",
        format!(
            "poll(pidfd, stdout, stderr) until the process exits; waitpid = {}",
            exit.code
        ),
    );
    // This process leaves with the container: a teardown finished by
    // another (the reaper of a `--rm` run) must not end it.
    let _ = journal.record_undone(&Object::Process {
        pid: me,
        start: me_start,
    });
    finish(
        root,
        &mut record,
        &cgroup,
        Some(exit),
        &mut trace,
        teardown,
        reaper,
    )?;
    Ok(exit.code)
}

/// Step `write_config_json`: the bundle's `config.json`, the spec the init
/// was started with, for students, `inspect` and OCI runtimes to read.
fn write_config_json(spec: &Spec, paths: &Paths, trace: &mut Trace) -> anyhow::Result<()> {
    let t = now_ns();
    spec.save(&paths.dir)?;
    trace.step(
        "engine",
        t,
        "write_config_json",
        format!("{}/config.json", paths.dir.display()),
    );
    Ok(())
}

/// Step `hand_over_address_space`: for a foreground `--rm` run, whose
/// process exits right after the container and forks nothing more, a
/// child that shares this process's memory and ends after it, so that the
/// kernel unmaps it there, once the caller has the exit status
/// ([`runtime::address_space`]). Not made, no step.
fn hand_over_address_space(trace: &mut Trace) {
    let t = now_ns();
    if runtime::address_space::hand_over() {
        trace.step(
            "engine",
            t,
            "hand_over_address_space",
            "clone(CLONE_VM): glassbox-unmap shares this process's memory and exits after it; the kernel unmaps it there, after the exit status",
        );
    }
}

/// Step `fork_reaper`: the child that will remove what is left of a
/// foreground `--rm` run once its container has exited ([`reap`]), forked
/// while the container's init sets up. A failed fork is no step: `finish`
/// forks late instead and traces that fork.
fn fork_reaper(
    root: &DataRoot,
    cgroup: &Cgroup,
    trace_file: Option<&Path>,
    mounts: Option<OwnedFd>,
    claim: Option<Claim>,
    trace: &mut Trace,
) -> Option<super::lifecycle::Waiting> {
    let t = now_ns();
    let held = Held {
        mounts: mounts.is_some(),
        claim: claim.is_some(),
    };
    let keep = mounts.into_iter().chain(claim.map(OwnedFd::from)).collect();
    let reaper = super::lifecycle::fork_waiting(c"glassbox-reap", keep, |work, kept| {
        let mut kept = kept.into_iter();
        let mounts = held.mounts.then(|| kept.next()).flatten();
        let claim = held.claim.then(|| kept.next()).flatten().map(Claim::adopt);
        reap(root, cgroup, trace_file, &work, mounts, claim)
    });
    if reaper.is_some() {
        let detail =
            "fork: a child that will remove what is left waits on a pipe while the container runs";
        let detail = if held.mounts {
            format!("{detail}, holding its mount namespace")
        } else {
            format!(
                "{detail} (its mount namespace was gone already: the kernel unmounts in its exit)"
            )
        };
        trace.step("engine", t, "fork_reaper", detail);
    }
    reaper
}

/// Which descriptors a reaper was given to keep, in order.
#[derive(Clone, Copy)]
struct Held {
    mounts: bool,
    claim: bool,
}

/// A start that failed after the container was prepared: what the failure
/// is reported to, and how it is torn down.
struct Failed<'a> {
    root: &'a DataRoot,
    cgroup: &'a Cgroup,
    journal: &'a Journal,
    /// The detached CLI's report pipe.
    report: Option<OwnedFd>,
    teardown: Teardown<'a>,
}

impl Failed<'_> {
    /// Records the failure, tears down what was made (with `--rm`, the
    /// container), lets go of the root, and reports `fail CODE MESSAGE`.
    fn fail(
        self,
        mut record: Record,
        mut trace: Trace,
        lock: Option<super::lock::RootLock>,
        code: i32,
        e: &anyhow::Error,
    ) -> anyhow::Error {
        let message = super::disk::explain(self.root, e).unwrap_or_else(|| format!("{e:#}"));
        record.state.error = message.clone();
        let (me, start) = this_process();
        let _ = self
            .journal
            .record_undone(&Object::Process { pid: me, start });
        // The caller prints the error after this.
        let teardown = Teardown {
            output_done: false,
            ..self.teardown
        };
        let _ = finish(
            self.root,
            &mut record,
            self.cgroup,
            Some(Exit { code, signal: None }),
            &mut trace,
            teardown,
            None,
        );
        drop(lock);
        if let Some(r) = self.report {
            let _ = std::fs::File::from(r)
                .write_all(format!("fail\t{code}\t{}\n", message.replace('\n', " ")).as_bytes());
        }
        StartError { code, message }.into()
    }
}

/// How a container's teardown goes.
#[derive(Clone, Copy)]
pub struct Teardown<'a> {
    /// `--trace FILE`: where the trace is appended once the teardown is over.
    pub trace_file: Option<&'a Path>,
    /// A `--rm` container's cgroup, mount and files may be removed after this
    /// process has reported the exit status and exited ([`RunOptions::exits_after`]).
    pub after_exit: bool,
    /// The caller prints nothing more (the container ran and its output is
    /// all relayed; a start that failed has its error still to print): the
    /// child that removes the files may be handed the caller's streams
    /// closed, and is not waited for (see `lifecycle::in_background`).
    pub output_done: bool,
}

/// Step `teardown`: read the OOM counter, remove the cgroup, unmount the
/// overlay, record the exit (`None`: it was not observed, the container is
/// `dead`); with `--rm`, remove the container.
///
/// A foreground `--rm` run whose caller exits next (the CLI) does less
/// before its exit status is known. The cgroup and the network objects go
/// first, as always (so when the CLI returns, no process, group or interface
/// of the container is left); then the container leaves the data root in one
/// `rename` into `trash/` (`ps -a` no longer lists it, its name is free); then
/// a child (`glassbox-reap`) unmounts the overlay and removes the files
/// while the caller reports the exit status and exits. That child is
/// `reaper` when the caller forked it while the container ran (`reap`:
/// it is only told where the container is now), else it is forked here. Nothing waits
/// for that child and the next `run` does not depend on it: it is done a few
/// milliseconds after the CLI exits (benches/startup.sh waits for it and
/// reports the time as `done`). What it cannot remove stays in `trash/<id>`
/// with a `teardown-error` file, and `cleanup` finishes it.
pub fn finish(
    root: &DataRoot,
    record: &mut Record,
    cgroup: &Cgroup,
    exit: Option<Exit>,
    trace: &mut Trace,
    teardown: Teardown,
    reaper: Option<super::lifecycle::Waiting>,
) -> anyhow::Result<()> {
    let paths = Paths::new(root, &record.id);
    let oom_kills = cgroup.oom_kills();
    let mut errors = Vec::new();
    let cgroup_removed = match cgroup.remove(trace) {
        Ok(()) => true,
        Err(e) => {
            errors.push(format!("{e:#}"));
            false
        }
    };
    // Before the overlay: the kernel destroys the namespace meanwhile. A
    // container without a bridge network has nothing there to undo, and the
    // journal is not read for it (two opens and a parse after the exit).
    if super::network::journals_objects(&record.config) {
        errors.extend(super::network::teardown(root, &record.id, trace));
    }
    if record.config.auto_remove && teardown.after_exit && errors.is_empty() {
        // Claimed before it moves, unless the reaper holds it (engine::trash).
        let claim = if reaper.is_none() {
            Claim::try_now(&paths.dir).ok().flatten()
        } else {
            None
        };
        let t = now_ns();
        if let Ok(dir) = super::lifecycle::retire(root, record) {
            super::volume::remove_anonymous(root, record);
            trace.step(
                "engine",
                t,
                "retire_container",
                format!(
                    "rename {} {}; rename names/{} into it",
                    paths.dir.display(),
                    dir.display(),
                    record.name
                ),
            );
            if let Some(reaper) = reaper
                && reaper.go(&reaper_work(&dir, teardown.trace_file.map(|_| &*trace)))
            {
                return Ok(());
            }
            let t = now_ns();
            let streams = if teardown.output_done {
                super::lifecycle::Streams::HandOver
            } else {
                super::lifecycle::Streams::StillInUse
            };
            // The child claims the directory once this process lets go.
            let forked = super::lifecycle::in_background(c"glassbox-reap", streams, || {
                let mut own = Trace::default();
                own.step(
                    "reaper",
                    t,
                    "fork_reaper",
                    "fork: a child unmounts and removes what is left, the caller exits",
                );
                let traced = teardown
                    .trace_file
                    .map(|file| (file, std::mem::take(&mut *trace)));
                remove_left(root, cgroup, &dir, None, own, traced);
            });
            if !forked {
                remove_cgroup_parents(cgroup, trace);
                if let Some(_claim) = Claim::to_delete(claim, &dir) {
                    remove_retired(root, &dir, cgroup, trace);
                }
                if let Some(file) = teardown.trace_file {
                    let _ = trace.append_to(file);
                }
            }
            return Ok(());
        }
        // The container could not leave the data root in one step: tear
        // down here, as for any other container.
    }
    if cgroup_removed {
        remove_cgroup_parents(cgroup, trace);
    }
    if let Err(e) = overlay::unmount(&paths.rootfs(), trace) {
        errors.push(format!("{e:#}"));
    }
    match exit {
        Some(exit) => {
            record.state.status = "exited".into();
            record.state.exit_code = exit.code;
        }
        None => {
            record.state.status = "dead".into();
            record.state.exit_code = -1;
        }
    }
    record.state.oom_killed = oom_kills > 0;
    record.state.finished_at = timefmt::now_unix_ns();
    record.state.pid = 0;
    record.state.paused = false;
    if !errors.is_empty() {
        let teardown = errors.join("; ");
        record.state.error = if record.state.error.is_empty() {
            teardown
        } else {
            format!("{}; teardown: {teardown}", record.state.error)
        };
    }
    let code = record.state.exit_code.to_string();
    super::events::container(root, "die", record, &[("exitCode", &code)]);
    if record.config.auto_remove {
        let undone = super::lifecycle::remove_files(root, record);
        errors.extend(undone.left);
    } else {
        container::save(root, record)?;
        let _ = std::fs::write(paths.trace(), trace.to_json_lines());
    }
    if let Some(file) = teardown.trace_file {
        let _ = trace.append_to(file);
    }
    if !errors.is_empty() {
        bail!("teardown of {}: {}", record.name, errors.join("; "));
    }
    Ok(())
}

/// What a `--rm` run's reaper is told once the container has left the data
/// root: when (`now_ns`), where its directory is now (`trash/<id>`), and,
/// with `--trace FILE`, the caller's trace, which the reaper writes with its
/// own steps once it is done; NUL between them.
fn reaper_work(dir: &Path, trace: Option<&Trace>) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut work = format!("{}\0", now_ns()).into_bytes();
    work.extend_from_slice(dir.as_os_str().as_bytes());
    work.push(0);
    if let Some(trace) = trace {
        work.extend_from_slice(trace.to_json_lines().as_bytes());
    }
    work
}

/// The reaper of a `--rm` run, forked while its container ran, given
/// [`reaper_work`]: [`remove_left`].
///
/// It holds the container's mount namespace (`mounts`, /proc/INIT/ns/mnt,
/// opened by the runtime right after the clone): when the container's last
/// process exits, its namespaces go with it, and taking down a mount
/// namespace unmounts each of its mounts and waits for an expedited RCU
/// grace period, all in that process's `exit` before its parent is told.
/// Held here, that happens in the reaper when it closes the namespace (step
/// `release_mounts`), after the caller has its exit status.
fn reap(
    root: &DataRoot,
    cgroup: &Cgroup,
    trace_file: Option<&Path>,
    work: &[u8],
    mounts: Option<OwnedFd>,
    claim: Option<Claim>,
) {
    use std::os::unix::ffi::OsStrExt;
    let mut parts = work.splitn(3, |b| *b == 0);
    let (Some(sent), Some(dir)) = (parts.next(), parts.next()) else {
        return;
    };
    let Some(sent) = std::str::from_utf8(sent).ok().and_then(|t| t.parse().ok()) else {
        return;
    };
    let mut own = Trace::default();
    own.step(
        "reaper",
        sent,
        "wake_reaper",
        "read the container's new place from a pipe: a child forked while it ran unmounts and removes what is left, the caller exits",
    );
    let traced = trace_file.map(|file| {
        let text = parts
            .next()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        (file, Trace::from_json_lines(&text))
    });
    if let Some(mounts) = mounts {
        let t = now_ns();
        drop(mounts);
        own.step(
            "reaper",
            t,
            "release_mounts",
            "close the container's mount namespace: the kernel unmounts its mounts now",
        );
    }
    let dir = Path::new(std::ffi::OsStr::from_bytes(dir));
    remove_left(root, cgroup, dir, claim, own, traced);
}

/// What a `--rm` run's reaper does once the container is in `trash/` (`dir`):
/// removes the cgroup's parents where empty, then the overlay, the journal's
/// other entries and the files ([`remove_retired`]). Its steps follow `own`
/// (how the reaper began); with `--trace FILE`, they are appended to the
/// caller's trace and the whole is written to the file in one `write`.
///
/// `claim`: the directory's lock, taken for the reaper before it was
/// forked; without one, it waits for the caller to let go of the directory
/// and claims it then. Last, it finishes what reapers that died left in
/// `trash/` ([`trash::finish_orphans`]), after the trace: no step of this
/// container's.
fn remove_left(
    root: &DataRoot,
    cgroup: &Cgroup,
    dir: &Path,
    claim: Option<Claim>,
    mut own: Trace,
    traced: Option<(&Path, Trace)>,
) {
    remove_cgroup_parents(cgroup, &mut own);
    if let Some(_claim) = Claim::to_delete(claim, dir) {
        remove_retired(root, dir, cgroup, &mut own);
    }
    if let Some((file, mut trace)) = traced {
        for e in &mut own.events {
            e.actor = "reaper".into();
        }
        trace.events.extend(own.events);
        let _ = trace.append_to(file);
    }
    trash::finish_orphans(root);
}

/// Step `remove_cgroup_parents`: the container's parent group (`glassbox`;
/// `glassbox/<key>`, then `glassbox`, for a container of an earlier
/// glassbox) in every hierarchy, where the container was the last one in
/// it, so a host where no container runs keeps no group of glassbox's. Each
/// `rmdir` of a cgroup waits for the kernel to take its controllers' state
/// offline (on cgroup v1 that is six hierarchies): a foreground `--rm` run
/// leaves it to its reaper, after the exit status. A start meanwhile makes
/// the parent again (`Cgroup::create`).
fn remove_cgroup_parents(cgroup: &Cgroup, trace: &mut Trace) {
    let t = now_ns();
    let parent = cgroup.rel.rsplit_once('/').map_or("", |(p, _)| p);
    cgroups::remove_parent_if_empty(&cgroup.layout, parent);
    trace.step(
        "runtime",
        t,
        "remove_cgroup_parents",
        format!("rmdir {parent}, where empty (each hierarchy)"),
    );
}

/// Removes what is left of a `--rm` container once it has left the data
/// root (`dir` = `trash/<id>`; its cgroup and network are gone already):
/// [`trash::delete`], which leaves the directory with `teardown-error` for
/// `cleanup` if something fails.
///
/// The journal's entries for the container's own `cgroup` (one per
/// hierarchy) are not replayed: `finish` removed it before the container
/// left the data root, and a replay would only fail to find each group
/// (an rmdir per hierarchy, under the locks the next start's mkdirs take).
fn remove_retired(root: &DataRoot, dir: &Path, cgroup: &Cgroup, trace: &mut Trace) {
    let removed_group = |o: &Object| matches!(o, Object::Cgroup(p) if !cgroup.rel.is_empty() && p.ends_with(&cgroup.rel));
    trash::delete(root, dir, removed_group, trace);
}

/// Step `make_dir_ahead`: the next container's directory, made while this
/// container's init sets up ([`container::make_dir_ahead`]), with the data
/// root's lock held: the next `create` renames it into place. Made by the
/// start itself, before it returns, so nothing is made in a data root after
/// the command that used it has ended (a reaper that did it raced `rm -r`
/// of the root).
fn make_dir_ahead(root: &DataRoot, trace: &mut Trace) {
    let t = now_ns();
    let made = container::make_dir_ahead(root);
    trace.step(
        "engine",
        t,
        "make_dir_ahead",
        match made {
            Ok(true) => {
                "mkdir ahead/container/{upper,work,rootfs}, its empty files (the next container's)"
                    .to_string()
            }
            Ok(false) => "ahead/container is there already".to_string(),
            Err(e) => format!("ahead/container: {e} (the next start makes its own)"),
        },
    );
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
