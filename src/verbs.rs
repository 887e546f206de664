//! The command lines of `run` and `exec`, docker's flags as clap types.
//!
//! The CLI runs them ([`crate::cli`]); the lab reads a lesson's `run` and
//! `exec` actions with the same types before it runs them
//! ([`crate::lab::tools`]), so both agree on what a command line means. They
//! sit below both, so that neither needs the other.
//!
//! The flags' doc comments are their `--help` lines, in docker's notation
//! (`[:N]`, `[IP:][HOST:]CTR`), not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links)]

use clap::{ArgAction, Args, Parser, Subcommand};

/// `glassbox run …` or `glassbox exec …`, as a lesson's action writes it.
#[derive(Debug, Parser)]
#[command(name = "glassbox")]
pub struct ContainerCommand {
    #[command(subcommand)]
    pub verb: ContainerVerb,
}

#[derive(Debug, Subcommand)]
// Parsed once per action; boxing RunArgs would only complicate the derive.
#[allow(clippy::large_enum_variant)]
pub enum ContainerVerb {
    Run(RunArgs),
    Exec(ExecArgs),
}

impl ContainerCommand {
    /// Parses `verb` and its arguments (`run`, `-d`, `busybox`, …); `None`
    /// when clap would refuse them.
    pub fn parse_words(verb: &str, args: &[String]) -> Option<ContainerVerb> {
        let argv = ["glassbox", verb]
            .into_iter()
            .map(str::to_string)
            .chain(args.iter().cloned());
        ContainerCommand::try_parse_from(argv).ok().map(|c| c.verb)
    }
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run the container in the background and print its ID
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Memory limit (e.g. 200m, 1g)
    #[arg(short, long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Number of CPUs (e.g. 0.5)
    #[arg(long, allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// Tune the container's pids limit (-1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Set environment variables (KEY=VALUE; KEY alone passes this shell's value)
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    pub env_file: Vec<std::path::PathBuf>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Set meta data on a container (KEY=VALUE)
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Signal to stop the container
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Restart policy to apply when a container exits (no, on-failure[:N], always)
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Connect the container to a network: bridge (glassbox0), none or host
    #[arg(long, default_value = "bridge")]
    pub network: String,
    /// Publish a container's port to the host ([IP:][HOST:]CTR[/tcp|/udp])
    #[arg(short, long = "publish")]
    pub publish: Vec<String>,
    /// Bind mount a host path (SRC:DST[:ro])
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Add a host device to the container (HOST[:CONTAINER][:rwm])
    #[arg(long = "device")]
    pub device: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Run an init inside the container that forwards signals and reaps
    /// processes (glassbox-init as PID 1, docker's tini)
    #[arg(long)]
    pub init: bool,
    /// Add Linux capabilities (NET_ADMIN, CAP_SYS_TIME, ALL)
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities (CHOWN, ALL)
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Mount a tmpfs directory (PATH[:OPTIONS], e.g. /run:size=64m,mode=1777)
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Security options: seccomp=unconfined runs without the system-call filter;
    /// no-new-privileges=false lets setuid programs raise privileges (docker's default)
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// The image to run (glassbox assembles busybox from the host on first use)
    pub image: String,
    /// The command and its arguments (default: the image's CMD)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    pub container: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}
