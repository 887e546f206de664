//! The command line: docker's words, parsed by clap, handed to the engine.
//!
//! Nothing here talks to the kernel; each command parses its flags, calls the
//! engine, and prints what comes back in docker's format.

mod check;
mod container;
mod format;
mod image;
mod show;
pub mod template;
mod volume;

use crate::engine::container::RunConfig;
use crate::engine::exec::ExecOptions;
use crate::engine::run::{Outcome, RunOptions, StartError};
use crate::engine::{DEFAULT_ROOT, DataRoot, cleanup, exec, lifecycle, run, units};
use crate::runtime::network::ports::PortMapping;
use crate::runtime::trace::{Trace, now_ns};
use crate::verbs::{ExecArgs, RunArgs};
use anyhow::bail;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "glassbox",
    version,
    about = "A terminal lab that teaches how containers work by running real ones",
    long_about = "A terminal lab that teaches how containers work by running real ones.\n\
                  Its commands are docker's: glassbox run, ps, exec, logs, stop, rm, inspect, …"
)]
pub struct Cli {
    /// Where glassbox keeps images, containers and its journal.
    #[arg(long, global = true, env = "GLASSBOX_ROOT", default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Append the trace of each container this command starts (every step,
    /// what it asked the kernel, how long it took; JSON lines) to FILE, `--rm`
    /// runs included; benches/phases.sh reads it
    #[arg(long, global = true, env = "GLASSBOX_TRACE", value_name = "FILE")]
    pub trace: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
// Each command's flags are built only when that command runs (`defer`): a
// start builds `run`'s, not the thirty others' (0.2 ms and 60 page faults of
// each `glassbox` process). `--help` still lists every command.
#[command(defer = true)]
// Parsed once per process; boxing RunArgs would only complicate the derive.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Run a command in a new container
    Run(RunArgs),
    /// Create a new container (started later with `start`)
    Create(RunArgs),
    /// Start one or more created or stopped containers
    Start {
        /// Attach STDOUT/STDERR and forward signals
        #[arg(short, long)]
        attach: bool,
        /// Attach container's STDIN
        #[arg(short, long)]
        interactive: bool,
        /// (internal) clients the shim waits for on its attach socket before the process runs
        #[arg(long, default_value_t = 0, hide = true)]
        wait_attach: usize,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Restart one or more containers
    Restart {
        /// Seconds to wait before killing the container
        #[arg(short = 't', long = "time", default_value_t = 10)]
        time: u64,
        /// Signal to send to the container
        #[arg(short, long)]
        signal: Option<String>,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Attach local standard input, output, and error streams to a running container
    Attach {
        /// Do not attach STDIN
        #[arg(long)]
        no_stdin: bool,
        container: String,
    },
    /// Block until one or more containers stop, then print their exit codes
    Wait {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Rename a container
    Rename { container: String, new_name: String },
    /// Copy files/folders between a container and the local filesystem
    Cp {
        /// CONTAINER:SRC_PATH or a local path
        src: String,
        /// a local path or CONTAINER:DEST_PATH
        dst: String,
    },
    /// (internal) one side of `cp`, run inside the container's filesystem
    #[command(hide = true)]
    CpHelper {
        op: String,
        id: String,
        path: String,
    },
    /// Pause all processes within one or more containers
    Pause {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Unpause all processes within one or more containers
    Unpause {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// List containers
    Ps(show::PsArgs),
    /// Run a command in a running container
    Exec(ExecArgs),
    /// Fetch the logs of a container
    Logs {
        /// Follow log output
        #[arg(short, long)]
        follow: bool,
        /// Number of lines to show from the end of the logs (or "all")
        #[arg(short = 'n', long, default_value = "all")]
        tail: String,
        /// Show timestamps
        #[arg(short, long)]
        timestamps: bool,
        /// Show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m)
        #[arg(long)]
        since: Option<String>,
        /// Show logs before a timestamp or relative time
        #[arg(long)]
        until: Option<String>,
        container: String,
    },
    /// Display the running processes of a container
    Top { container: String },
    /// List port mappings of a container
    Port { container: String },
    /// Display a live stream of container resource usage statistics
    Stats {
        /// Disable streaming stats and only pull the first result
        #[arg(long)]
        no_stream: bool,
        /// Show all containers (default shows just running)
        #[arg(short, long)]
        all: bool,
        containers: Vec<String>,
    },
    /// Return low-level information on containers or images, as JSON
    Inspect {
        /// Format the output using a Go template: {{.State.Pid}}, {{json .Config}},
        /// {{range .Mounts}}{{.Source}} {{end}} (docker's subset; see `glassbox inspect --help`)
        #[arg(short, long)]
        format: Option<String>,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Stop one or more running containers (SIGTERM, then SIGKILL)
    Stop {
        /// Seconds to wait before killing the container
        #[arg(short = 't', long = "time", default_value_t = 10)]
        time: u64,
        /// Signal to send to the container (default: its StopSignal, else SIGTERM)
        #[arg(short, long)]
        signal: Option<String>,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Send a signal to one or more running containers
    Kill {
        /// Signal to send (name or number)
        #[arg(short, long, default_value = "KILL")]
        signal: String,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Remove one or more containers
    Rm {
        /// Force the removal of a running container (uses SIGKILL)
        #[arg(short, long)]
        force: bool,
        /// Remove anonymous volumes associated with the container
        #[arg(short, long)]
        volumes: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// List images
    Images(show::ImagesArgs),
    /// Manage named volumes (directories under the data root's volumes/)
    Volume {
        #[command(subcommand)]
        command: volume::VolumeCommand,
    },
    /// Remove every container and kernel object glassbox made under this root
    Cleanup,
    /// Serve the Docker Engine API on a unix socket, for the docker CLI and SDKs
    Daemon {
        /// The socket to listen on (unix://PATH)
        #[arg(short = 'H', long, default_value = "unix:///run/glassbox/docker.sock")]
        host: String,
    },
    #[command(flatten)]
    Image(image::ImageCommand),
    /// Check the exercises against the kernel (exit 0 only when all pass)
    Check(check::CheckArgs),
    /// An exercise's hints, solution, skip, or a predict answer
    Exercise(check::ExerciseArgs),
    /// Open the lab: the twenty topics with live kernel panels (the default)
    Lab(crate::lab::run::LabArgs),
    /// List the lab's topics, or validate the lesson files (--check)
    Lessons(crate::lab::run::LessonsArgs),
}

/// Builds the engine's options from `run`'s flags; bad values are refused here.
fn run_options(root: &DataRoot, a: RunArgs) -> anyhow::Result<RunOptions> {
    let memory = a.memory.as_deref().map(units::parse_memory).transpose()?;
    let cpu_quota = a.cpus.as_deref().map(units::parse_cpus).transpose()?;
    if !["bridge", "none", "host"].contains(&a.network.as_str()) {
        bail!(
            "network {:?} is not available: use --network bridge (the default), none or host",
            a.network
        );
    }
    let publish = a
        .publish
        .iter()
        .map(|p| PortMapping::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    let volumes = a
        .volume
        .iter()
        .map(|v| crate::engine::volume::parse_spec(root, v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let env = environment(&a.env, &a.env_file)?;
    let mut labels = std::collections::BTreeMap::new();
    for l in &a.label {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let restart_policy = crate::engine::container::RestartPolicy::parse(&a.restart)?;
    if restart_policy.name.is_empty() || a.restart == "no" {
    } else if a.rm {
        bail!("Conflicting options: --restart and --rm");
    }
    for e in &a.env {
        if e.starts_with('=') || e.is_empty() {
            bail!("invalid environment variable {e:?}: use KEY=VALUE");
        }
    }
    Ok(RunOptions {
        image: a.image,
        command: a.command,
        name: a.name,
        config: RunConfig {
            hostname: a.hostname.unwrap_or_default(),
            user: a.user.unwrap_or_default(),
            env,
            workdir: a.workdir.unwrap_or_default(),
            tty: a.tty,
            open_stdin: a.interactive,
            detach: a.detach,
            auto_remove: a.rm,
            memory,
            cpu_quota,
            pids_limit: a.pids_limit,
            network: a.network,
            publish,
            read_only: a.read_only,
            init: a.init,
            volumes,
            security_opt: parse_security_opts(&a.security_opt)?,
            devices: a
                .device
                .iter()
                .map(|d| crate::engine::container::DeviceMapping::parse(d))
                .collect::<anyhow::Result<_>>()?,
            labels,
            stop_signal: a.stop_signal.unwrap_or_default(),
            restart_policy,
            stdin_once: a.interactive && !a.detach,
            console_size: a
                .tty
                .then(|| crate::runtime::pty::window_size(0))
                .flatten()
                .filter(|w| w.ws_row > 0 && w.ws_col > 0)
                .map(|w| (w.ws_row, w.ws_col)),
            attach_stdin: a.interactive && !a.detach,
            attach_stdout: !a.detach,
            attach_stderr: !a.detach,
            cap_add: a.cap_add,
            cap_drop: a.cap_drop,
            tmpfs: a
                .tmpfs
                .iter()
                .map(|t| {
                    let (dest, opts) = t.split_once(':').unwrap_or((t, ""));
                    (dest.to_string(), opts.to_string())
                })
                .collect(),
        },
        // docker: `--entrypoint ""` clears the image's entrypoint; a word is the
        // new one (its arguments come from the command).
        entrypoint: a
            .entrypoint
            .map(|e| if e.is_empty() { Vec::new() } else { vec![e] }),
        ..Default::default()
    })
}

/// `-e KEY=VALUE`, `-e KEY` (this shell's value, left out when unset, as
/// docker does) and `--env-file FILE` (one per line; `#` comments and blank
/// lines skipped), files first.
fn environment(flags: &[String], files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut items: Vec<String> = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("open {}: {e}", f.display()))?;
        items.extend(
            text.lines()
                .map(|l| l.trim_start())
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    items.extend(flags.iter().cloned());
    let mut out = Vec::new();
    for e in items {
        if e.starts_with('=') || e.is_empty() {
            bail!("invalid environment variable: {e}");
        }
        if e.contains('=') {
            out.push(e);
        } else if let Ok(v) = std::env::var(&e) {
            out.push(format!("{e}={v}"));
        }
    }
    Ok(out)
}

/// Checks `--security-opt` values; docker's old `KEY:VALUE` forms are written
/// the new way (`KEY=VALUE`), and a bare `no-new-privileges` means `=true`.
fn parse_security_opts(opts: &[String]) -> anyhow::Result<Vec<String>> {
    opts.iter()
        .map(|o| match o.as_str() {
            "seccomp=unconfined" | "seccomp:unconfined" => Ok("seccomp=unconfined".to_string()),
            "no-new-privileges" | "no-new-privileges=true" | "no-new-privileges:true" => {
                Ok("no-new-privileges=true".to_string())
            }
            "no-new-privileges=false" | "no-new-privileges:false" => {
                Ok("no-new-privileges=false".to_string())
            }
            other => Err(anyhow::anyhow!(
                "--security-opt {other:?} is not one glassbox knows: it has seccomp=unconfined \
                 (run without the system-call filter) and no-new-privileges[=true|false] \
                 (glassbox sets no_new_privs by default; =false gives docker's default, where a \
                 setuid program can raise privileges)"
            )),
        })
        .collect()
}

use crate::engine::units::parse_signal;

/// Runs the CLI; returns the process exit code.
/// The global options, `--root` and `--trace`: accepted before the
/// subcommand and after it.
const GLOBAL_OPTIONS: [&str; 2] = ["root", "trace"];

/// The command line, parsed: what `Cli::try_parse()` returns, for less.
///
/// Before it parses, clap copies each global option into every subcommand
/// (and their subcommands as they are built): `--root` and `--trace` into
/// some forty commands, each copy an `Arg` with its strings, 0.1 ms and 40
/// pages of heap in every `glassbox` process (benches/compare.py: a
/// `run --rm` 0.12 ms quicker without them). Where the subcommand is the
/// first word after nothing but global options ([`named_subcommand`]),
/// they stay on the top command, not global, and that one subcommand gets
/// them as global options of its own (copied to its subcommands in turn):
/// clap fills `Cli::root` from wherever they were given, as before.
/// Anything else (no subcommand, `help`, a flag first) parses as declared.
fn parse_command_line(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    if let Some(name) = named_subcommand(&command, &args) {
        let globals: Vec<clap::Arg> = GLOBAL_OPTIONS
            .iter()
            .filter_map(|id| command.get_arguments().find(|a| a.get_id() == id).cloned())
            .collect();
        for id in GLOBAL_OPTIONS {
            command = command.mut_arg(id, |a| a.global(false));
        }
        // Listed in its help where clap's own copies were: the counter of
        // display order starts again at the subcommand's first flag.
        command = command.mut_subcommand(name, |sub| sub.args(globals).next_display_order(0));
    }
    let mut matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command))
}

/// The subcommand's own name where the first word of `args` (after the
/// program and any global options with their values) names one, by its name
/// or an alias.
fn named_subcommand(command: &clap::Command, args: &[std::ffi::OsString]) -> Option<String> {
    let mut words = args.iter().skip(1).map(|a| a.to_str());
    while let Some(word) = words.next() {
        let word = word?;
        if let Some(option) = word.strip_prefix("--") {
            let (name, value) = match option.split_once('=') {
                Some((name, _)) => (name, true),
                None => (option, false),
            };
            if !GLOBAL_OPTIONS.contains(&name) {
                return None;
            }
            if !value {
                words.next()?;
            }
            continue;
        }
        return command
            .find_subcommand(word)
            .map(|sub| sub.get_name().to_owned());
    }
    None
}

pub fn main() -> i32 {
    // A flag error exits 125, as docker's CLI does (clap's own code is 2).
    let cli = match parse_command_line(std::env::args_os().collect()) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => 125,
            };
        }
    };
    // The commands that start processes in containers run from a read-only
    // view of this binary (see runtime::exe): re-executed once, here. Not
    // `run` without `--init`, whose container's only glassbox process is its
    // init until the program's execve, made through the sealed trampoline
    // (runtime::trampoline): no process of the container ever runs
    // glassbox's writable binary, and the start saves loading it again.
    let starts_containers = matches!(
        cli.command,
        Some(Command::Run(_))
            | Some(Command::Create(_))
            | Some(Command::Start { .. })
            | Some(Command::Restart { .. })
            | Some(Command::Exec(_))
            | Some(Command::CpHelper { .. })
            | Some(Command::Image(image::ImageCommand::Build { .. }))
    );
    let through_trampoline = matches!(&cli.command, Some(Command::Run(a)) if !a.init)
        && crate::runtime::trampoline::sealed().is_ok();
    let mut early = Trace::default();
    if starts_containers && !through_trampoline && nix::unistd::geteuid().is_root() {
        match crate::runtime::exe::seal() {
            Ok(Some(how)) => early.step(
                "cli",
                how.began_ns,
                "seal",
                match how.how.as_str() {
                    "memfd" => "memfd_create, copy, F_ADD_SEALS; execveat: glassbox again, from a sealed copy",
                    _ => "open_tree(/proc/self/exe, OPEN_TREE_CLONE), mount_setattr(MOUNT_ATTR_RDONLY), execveat: glassbox again, from a read-only mount",
                },
            ),
            Ok(None) => {}
            Err(e) => {
                crate::errln!("glassbox: {e}");
                return 125;
            }
        }
    }
    // run and create fail with 125 like docker run; the other verbs with 1
    // where the engine refused (docker's "Error response from daemon"),
    // 125 where glassbox itself failed.
    let creates = matches!(
        cli.command,
        Some(Command::Run(_)) | Some(Command::Create(_))
    );
    let root = std::fs::canonicalize(&cli.root).unwrap_or_else(|_| cli.root.clone());
    let code = match dispatch(cli, early) {
        Ok(code) => code,
        // The reader of stdout is gone (`glassbox save busybox | head -c1`).
        Err(e) if crate::util::out::is_broken_pipe(&e) => {
            crate::util::out::mark_closed();
            0
        }
        Err(e) => {
            if let Some(start) = e.downcast_ref::<StartError>() {
                crate::errln!("glassbox: {}", start.message);
                start.code
            } else if let Some(said) = crate::engine::disk::explain_at(&root, &e) {
                crate::errln!("glassbox: {said}");
                125
            } else {
                let engine = print_error(&e);
                if engine && !creates { 1 } else { 125 }
            }
        }
    };
    for notice in crate::image::store::take_notices() {
        crate::errln!("glassbox: {notice}");
    }
    crate::util::out::finish(code)
}

/// Prints an error in docker's words: the engine's refusals (no such
/// container, a name in use, …) as `Error response from daemon: …`, the
/// rest as glassbox's own. True when it was the engine's.
pub fn print_error(e: &anyhow::Error) -> bool {
    match e
        .chain()
        .find_map(|c| c.downcast_ref::<crate::engine::EngineError>())
    {
        Some(err) => {
            crate::errln!("Error response from daemon: {err}");
            true
        }
        None => {
            crate::errln!("glassbox: {e:#}");
            false
        }
    }
}

/// `early`: the steps taken before dispatch (`seal`), for a run's trace.
fn dispatch(cli: Cli, mut early: Trace) -> anyhow::Result<i32> {
    // No subcommand opens the lab. The lab and the lesson list work without
    // root, so they open the data root themselves (or not at all).
    let command = cli
        .command
        .unwrap_or_else(|| Command::Lab(crate::lab::run::LabArgs::default()));
    match command {
        Command::Lab(a) => return crate::lab::run::lab(&cli.root, a),
        Command::Lessons(a) => return crate::lab::run::lessons(a),
        // Hints, solutions and answers are the student's own file: no root.
        Command::Exercise(a) => return check::exercise(&cli.root, a),
        _ => {}
    }
    let t = now_ns();
    let root = DataRoot::open(&cli.root)?;
    early.step(
        "cli",
        t,
        "open_data_root",
        format!("mkdir -p, chmod 0711/0700: {}", root.path.display()),
    );
    match command {
        Command::Lab(_) | Command::Lessons(_) | Command::Exercise(_) => Ok(0),
        Command::Run(a) => {
            let mut opts = run_options(&root, a)?;
            opts.trace = early;
            opts.trace_file = cli.trace.clone();
            // The CLI exits once run returns: a --rm container's teardown may
            // finish after that (engine::run::finish).
            opts.exits_after = true;
            match run::run(&root, &opts)? {
                Outcome::Exited(code) => Ok(code),
                Outcome::Detached(id) => {
                    crate::outln!("{id}");
                    Ok(0)
                }
            }
        }
        Command::Create(a) => {
            let record = crate::engine::run::create(&root, &run_options(&root, a)?)?;
            crate::outln!("{}", record.id);
            Ok(0)
        }
        Command::Start {
            attach,
            interactive,
            wait_attach,
            containers,
        } => container::start(&root, &containers, attach, interactive, wait_attach),
        Command::Restart {
            time,
            signal,
            containers,
        } => {
            let sig = signal.as_deref().map(parse_signal).transpose()?;
            container::restart(&root, &containers, time, sig)
        }
        Command::Attach {
            no_stdin,
            container,
        } => container::attach(&root, &container, no_stdin),
        Command::Wait { containers } => container::wait_all(&root, &containers),
        Command::Rename {
            container,
            new_name,
        } => crate::engine::container::rename(&root, &container, &new_name).map(|_| 0),
        Command::Cp { src, dst } => container::cp(&root, &src, &dst),
        Command::CpHelper { op, id, path } => container::cp_helper(&root, &op, &id, &path),
        Command::Pause { containers } => {
            each(&containers, |c| lifecycle::pause(&root, c).map(|_| ()))
        }
        Command::Unpause { containers } => {
            each(&containers, |c| lifecycle::unpause(&root, c).map(|_| ()))
        }
        Command::Ps(a) => show::ps(&root, a).map(|_| 0),
        Command::Exec(a) => exec::exec(
            &root,
            &a.container,
            &a.command,
            &ExecOptions {
                interactive: a.interactive,
                tty: a.tty,
                user: a.user,
                env: environment(&a.env, &[])?,
                workdir: a.workdir,
                detach: a.detach,
            },
        ),
        Command::Logs {
            follow,
            tail,
            timestamps,
            since,
            until,
            container,
        } => {
            let now = crate::timefmt::now_unix_ns();
            let time = |t: Option<String>| {
                t.map(|t| crate::engine::logs::parse_time(&t, now))
                    .transpose()
                    .map_err(anyhow::Error::msg)
            };
            let opts = crate::engine::logs::LogOptions {
                stdout: true,
                stderr: true,
                since: time(since)?,
                until: time(until)?,
                tail: crate::engine::logs::parse_tail(&tail).map_err(anyhow::Error::msg)?,
                follow,
            };
            show::logs(&root, &container, &opts, timestamps).map(|_| 0)
        }
        Command::Top { container } => show::top(&root, &container).map(|_| 0),
        Command::Port { container } => show::port(&root, &container).map(|_| 0),
        Command::Stats {
            no_stream,
            all,
            containers,
        } => show::stats(&root, &containers, all, no_stream).map(|_| 0),
        Command::Inspect { format, names } => show::inspect(&root, &names, format.as_deref()),
        Command::Stop {
            time,
            signal,
            containers,
        } => {
            let sig = signal.as_deref().map(parse_signal).transpose()?;
            each(&containers, |c| {
                lifecycle::stop(&root, c, Duration::from_secs(time), sig).map(|_| ())
            })
        }
        Command::Kill { signal, containers } => {
            let sig = parse_signal(&signal)?;
            each(&containers, |c| lifecycle::kill(&root, c, sig).map(|_| ()))
        }
        Command::Rm {
            force,
            volumes,
            containers,
        } => each(&containers, |c| {
            let removed = lifecycle::rm(&root, c, force)?;
            for w in &removed.warnings {
                crate::errln!("glassbox: rm {c}: {w}");
            }
            if volumes {
                crate::engine::volume::remove_anonymous(&root, &removed.record);
            }
            Ok(())
        }),
        Command::Images(a) => show::images(&root, a).map(|_| 0),
        Command::Volume { command } => volume::volume(&root, command).map(|_| 0),
        Command::Image(c) => image::dispatch(&root, c),
        Command::Check(a) => check::check(&root, a),
        Command::Daemon { host } => {
            let Some(path) = host.strip_prefix("unix://") else {
                bail!(
                    "--host {host:?}: glassbox listens on a unix socket only (unix:///PATH); a TCP socket would give root to anyone who can reach it"
                );
            };
            crate::api::serve(
                root,
                crate::api::DaemonOptions {
                    socket: PathBuf::from(path),
                },
            )?;
            Ok(0)
        }
        Command::Cleanup => {
            let report = cleanup::cleanup(&root)?;
            crate::outln!(
                "removed {} container(s) and every kernel object in the journals of {}",
                report.containers,
                root.path.display()
            );
            if report.temporaries > 0 {
                crate::outln!(
                    "removed {} temporary file(s) of killed loads, builds and writes",
                    report.temporaries
                );
            }
            if report.sockets > 0 {
                crate::outln!(
                    "removed {} attach socket(s) of containers already gone (their shims were killed)",
                    report.sockets
                );
            }
            for w in &report.warnings {
                crate::errln!("glassbox: cleanup: {w}");
            }
            for e in &report.errors {
                crate::errln!("glassbox: cleanup: left: {e}");
            }
            Ok(if report.errors.is_empty() { 0 } else { 1 })
        }
    }
}

/// Applies `f` to each container name, printing the name on success as docker
/// does; the exit code is 1 if any failed.
fn each(names: &[String], mut f: impl FnMut(&str) -> anyhow::Result<()>) -> anyhow::Result<i32> {
    let mut code = 0;
    for n in names {
        match f(n) {
            Ok(()) => {
                crate::outln!("{n}");
            }
            Err(e) => {
                print_error(&e);
                code = 1;
            }
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<std::ffi::OsString> {
        line.split_whitespace().map(Into::into).collect()
    }

    /// What clap makes of `line` with the global options declared global
    /// everywhere, as `Cli::try_parse` would: the parsed command or the
    /// error's kind and text.
    fn as_declared(line: &str) -> Result<String, (clap::error::ErrorKind, String)> {
        Cli::try_parse_from(argv(line))
            .map(|c| format!("{c:?}"))
            .map_err(|e| (e.kind(), e.to_string()))
    }

    fn parsed(line: &str) -> Result<String, (clap::error::ErrorKind, String)> {
        parse_command_line(argv(line))
            .map(|c| format!("{c:?}"))
            .map_err(|e| (e.kind(), e.to_string()))
    }

    #[test]
    fn global_options_parse_as_declared_before_and_after_the_subcommand() {
        for line in [
            "glassbox --root /r run --rm busybox true",
            "glassbox run --root /r --rm busybox true",
            "glassbox run --rm busybox true --root /r",
            "glassbox run --rm busybox ls --root",
            "glassbox --root=/r --trace /t ps -a",
            "glassbox ps --trace=/t -a",
            "glassbox --root /a ps --root /b",
            "glassbox --trace /t --root /r volume ls",
            "glassbox volume --root /r ls",
            "glassbox volume ls --root /r -q",
            "glassbox --root /r exec -it c sh -c --root",
            "glassbox --root /r",
            "glassbox",
            "glassbox --root /r help run",
            "glassbox run",
            "glassbox run --root",
            "glassbox ps --bogus",
            "glassbox --root",
            "glassbox --root /r nosuch",
            "glassbox --bogus ps",
            "glassbox -- ps",
            "glassbox ps --help",
            "glassbox run --help --root /r",
            "glassbox --version",
        ] {
            assert_eq!(parsed(line), as_declared(line), "{line}");
        }
    }

    #[test]
    fn only_a_subcommand_named_first_gets_the_global_options() {
        let command = <Cli as clap::CommandFactory>::command();
        let named = |line: &str| named_subcommand(&command, &argv(line));
        assert_eq!(named("glassbox run busybox"), Some("run".into()));
        assert_eq!(named("glassbox --root /r --trace=/t ps"), Some("ps".into()));
        assert_eq!(named("glassbox --root=/r volume ls"), Some("volume".into()));
        // A value is skipped even where it looks like a subcommand.
        assert_eq!(named("glassbox --root ps"), None);
        assert_eq!(named("glassbox --root run ps"), Some("ps".into()));
        assert_eq!(named("glassbox"), None);
        assert_eq!(named("glassbox --root"), None);
        assert_eq!(named("glassbox -h run"), None);
        assert_eq!(named("glassbox --bogus run"), None);
        assert_eq!(named("glassbox -- run"), None);
        assert_eq!(named("glassbox nosuch"), None);
        assert_eq!(named("glassbox help run"), None);
    }
}
