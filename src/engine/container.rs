//! Containers on disk: one directory per container, and what it records.
//!
//! `containers/<id>/` holds the OCI bundle (`config.json` and the `rootfs`
//! mount point), the overlay's writable layer (`upper/`, with `work/` beside
//! it), the log (`container-json.log`), the journal of kernel objects, the
//! start trace, and `state.json`: the record below. A record that says
//! "running" is checked against the kernel each time it is read: if its PID is
//! gone, or now belongs to another process (PIDs are reused; the start time in
//! /proc/PID/stat tells them apart), the container is reported as exited.
//!
//! ## States
//!
//! | `status`  | what holds                                            | `ps` |
//! | --- | --- | --- |
//! | `created` | directory, record and name made; not started (yet)     | `Created` |
//! | `running` | its process runs (and is not a zombie)                 | `Up 3 minutes`, `(Paused)` while frozen, `(unmonitored)` if its monitor is gone |
//! | `exited`  | its process ended; the exit status is the kernel's     | `Exited (137) 2 seconds ago` |
//! | `dead`    | its record cannot be read, its removal left something, it ended while no one watched, or its start was killed part way | `Dead (why)` |
//!
//! A container is *made* ([`create`]) before anything of it exists in the
//! kernel: its directory, then its record (`created`), then its name, so
//! anything that can hold a name, an address or a port is listed by `ps -a`
//! and removed by `rm -f`. `glassbox create` stops there; a start (`run`'s
//! second half, `start`) names itself in the record as the `created`
//! container's monitor until the shim takes over, so a start killed part
//! way reads as `dead` ([`Record::observed`]). A directory whose record
//! cannot be read is listed as `dead` ([`Record::unreadable`]).

use super::DataRoot;
use crate::timefmt;
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How the container was asked to run (docker's `HostConfig` and `Config`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub hostname: String,
    pub user: String,
    pub env: Vec<String>,
    pub workdir: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub detach: bool,
    pub auto_remove: bool,
    /// Bytes, as `-m` gave them.
    pub memory: Option<i64>,
    /// CFS quota and period in µs, from `--cpus`.
    pub cpu_quota: Option<(i64, u64)>,
    pub pids_limit: Option<i64>,
    /// `bridge` (the default), `none` or `host`.
    pub network: String,
    /// `-p` mappings (bridge network only).
    #[serde(default)]
    pub publish: Vec<crate::runtime::network::ports::PortMapping>,
    pub read_only: bool,
    /// `--init`: PID 1 is glassbox-init, which reaps and forwards signals
    /// (docker's `HostConfig.Init`).
    #[serde(default)]
    pub init: bool,
    /// `-v` bind mounts: (source on the host, destination inside, read-only).
    pub volumes: Vec<(String, String, bool)>,
    /// `--security-opt` values, as docker's `HostConfig.SecurityOpt`.
    #[serde(default)]
    pub security_opt: Vec<String>,
    /// `--device` mappings, as docker's `HostConfig.Devices`.
    #[serde(default)]
    pub devices: Vec<DeviceMapping>,
    /// `--stop-signal` or the image's STOPSIGNAL (empty: SIGTERM).
    #[serde(default)]
    pub stop_signal: String,
    /// Close the container's stdin when the first attached client's input
    /// ends (docker's `StdinOnce`, set by `docker run -i`).
    #[serde(default)]
    pub stdin_once: bool,
    /// `--restart`: what the shim does when the process exits.
    #[serde(default)]
    pub restart_policy: RestartPolicy,
    /// `--label` / `Labels`: the user's metadata, as docker's `Config.Labels`.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--cap-add` / `HostConfig.CapAdd`, as given (`NET_ADMIN`,
    /// `CAP_SYS_TIME`, `ALL`); checked at create, applied by
    /// [`super::spec::capability_set`].
    #[serde(default)]
    pub cap_add: Vec<String>,
    /// `--cap-drop` / `HostConfig.CapDrop`.
    #[serde(default)]
    pub cap_drop: Vec<String>,
    /// Whether the creator attached to the streams (docker's
    /// `AttachStdin`/`AttachStdout`/`AttachStderr`: `run` without `-d`).
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    /// `HostConfig.ConsoleSize` (rows, columns): the terminal's size when it
    /// is made, from the caller's terminal (`run -t`).
    #[serde(default)]
    pub console_size: Option<(u16, u16)>,
    /// `--tmpfs PATH[:OPTIONS]` / `HostConfig.Tmpfs`: a fresh tmpfs at each
    /// destination, with its mount options (`size=64m,mode=1770`).
    #[serde(default)]
    pub tmpfs: std::collections::BTreeMap<String, String>,
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`: a host device node made inside,
/// and allowed by the device cgroup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceMapping {
    pub path_on_host: String,
    pub path_in_container: String,
    /// `r`, `w`, `m` in any combination (docker's default: `rwm`).
    pub cgroup_permissions: String,
    /// What the host node is, read when the flag was given: `b` or `c`,
    /// major, minor, and its permission bits.
    #[serde(default)]
    pub typ: String,
    #[serde(default)]
    pub major: i64,
    #[serde(default)]
    pub minor: i64,
    #[serde(default)]
    pub file_mode: u32,
}

impl DeviceMapping {
    /// Parses docker's `--device` value and reads the host node (it must be
    /// a block or character device).
    pub fn parse(text: &str) -> anyhow::Result<DeviceMapping> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let parts: Vec<&str> = text.split(':').collect();
        let is_perms =
            |p: &str| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| "rwm".contains(c));
        let (host, inside, perms) = match parts.as_slice() {
            [h] => (*h, *h, "rwm"),
            [h, p] if is_perms(p) => (*h, *h, *p),
            [h, c] => (*h, *c, "rwm"),
            [h, c, p] if is_perms(p) => (*h, *c, *p),
            _ => bail!(
                "invalid --device {text:?}: use HOST[:CONTAINER][:PERMISSIONS], with PERMISSIONS made of r, w and m"
            ),
        };
        if !host.starts_with('/') || !inside.starts_with('/') {
            bail!("invalid --device {text:?}: both paths must be absolute");
        }
        let meta = std::fs::metadata(host)
            .with_context(|| format!("--device {text:?}: cannot read the host device {host}"))?;
        let typ = if meta.file_type().is_block_device() {
            "b"
        } else if meta.file_type().is_char_device() {
            "c"
        } else {
            bail!("--device {text:?}: {host} is not a block or character device node");
        };
        let rdev = meta.rdev();
        Ok(DeviceMapping {
            path_on_host: host.to_string(),
            path_in_container: inside.to_string(),
            cgroup_permissions: perms.to_string(),
            typ: typ.to_string(),
            major: i64::from(libc::major(rdev)),
            minor: i64::from(libc::minor(rdev)),
            file_mode: meta.mode() & 0o7777,
        })
    }
}

impl RunConfig {
    /// Whether the container gets glassbox's seccomp filter (not with
    /// `--security-opt seccomp=unconfined`).
    pub fn seccomp(&self) -> bool {
        !self.security_opt.iter().any(|o| o == "seccomp=unconfined")
    }

    /// Whether the process gets no_new_privs: glassbox's default is yes
    /// (stricter than docker, whose default is no); the last
    /// `--security-opt no-new-privileges=…` decides.
    pub fn no_new_privileges(&self) -> bool {
        self.security_opt
            .iter()
            .rev()
            .find_map(|o| o.strip_prefix("no-new-privileges="))
            .is_none_or(|v| v != "false")
    }
}

/// docker's `RestartPolicy`: `no` (or empty), `on-failure[:N]`, `always`,
/// `unless-stopped`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RestartPolicy {
    pub name: String,
    /// For `on-failure`: at most this many restarts (0: no limit).
    pub max_retries: u32,
}

impl RestartPolicy {
    /// Parses `--restart no|on-failure[:N]|always|unless-stopped`.
    pub fn parse(s: &str) -> Result<RestartPolicy, super::EngineError> {
        let (name, count) = s.split_once(':').unwrap_or((s, ""));
        let max_retries = if count.is_empty() {
            0
        } else {
            count.parse().map_err(|_| {
                super::EngineError::Invalid(format!(
                    "invalid restart policy: maximum retry count must be a number: {s}"
                ))
            })?
        };
        match name {
            "" | "no" if count.is_empty() => Ok(RestartPolicy::default()),
            "on-failure" => Ok(RestartPolicy {
                name: name.into(),
                max_retries,
            }),
            "always" | "unless-stopped" if count.is_empty() => Ok(RestartPolicy {
                name: name.into(),
                max_retries: 0,
            }),
            _ => Err(super::EngineError::Invalid(format!(
                "invalid restart policy '{s}': use no, on-failure[:max-retries], always or unless-stopped"
            ))),
        }
    }

    /// Whether the shim starts the process again after it exited with
    /// `code`, having restarted it `restarts` times; `stopped`: the user
    /// stopped it (`stop`, `kill`), which no policy overrides.
    pub fn restarts(&self, code: i32, restarts: u32, stopped: bool) -> bool {
        if stopped {
            return false;
        }
        match self.name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => code != 0 && (self.max_retries == 0 || restarts < self.max_retries),
            _ => false,
        }
    }
}

/// The container's lifecycle state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// `created`, `running`, `exited` or `dead` (see the module doc).
    pub status: String,
    /// Host PID of the container's main process (0 when not running).
    pub pid: i32,
    /// Its start time in clock ticks since boot (field 22 of /proc/PID/stat).
    pub pid_start: u64,
    /// The process that waits for it (the shim); while `created`, the
    /// process that is creating it.
    pub monitor_pid: i32,
    pub monitor_start: u64,
    pub started_at: u64,
    pub finished_at: u64,
    pub exit_code: i32,
    pub oom_killed: bool,
    pub error: String,
    /// How many times the shim restarted it (`--restart`).
    #[serde(default)]
    pub restart_count: u32,
    /// `paused` is shown while the cgroup is frozen.
    #[serde(default)]
    pub paused: bool,
}

/// `state.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub name: String,
    /// The image as the user named it.
    pub image: String,
    pub image_id: String,
    pub created: u64,
    /// The command: path and arguments.
    pub path: String,
    pub args: Vec<String>,
    /// docker's `Config.Entrypoint` and `Config.Cmd`, merged from the image
    /// and the flags: `path` and `args` are their concatenation.
    #[serde(default)]
    pub entrypoint: Vec<String>,
    #[serde(default)]
    pub cmd: Vec<String>,
    pub config: RunConfig,
    pub state: State,
    /// The cgroup, relative to the hierarchy's mount.
    pub cgroup: String,
    /// Overlay lower directories, top layer first.
    pub lower_dirs: Vec<PathBuf>,
    /// Not stored: the record on disk could not be read; this one is made up
    /// of what the directory and the names show ([`Record::unreadable`]).
    #[serde(skip)]
    pub unreadable: bool,
    /// Not stored: it runs, but its monitor is gone (noticed when read).
    #[serde(skip)]
    pub unmonitored: bool,
}

impl Record {
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    /// The record of a container whose `state.json` cannot be read: its ID,
    /// the name that points at it, and why; `dead`.
    pub fn unreadable(root: &DataRoot, id: &str, why: &str) -> Record {
        Record {
            id: id.to_string(),
            name: name_pointing_at(root, id).unwrap_or_default(),
            cgroup: root.container_cgroup(id),
            state: State {
                status: "dead".into(),
                error: format!("record unreadable: {why}"),
                ..Default::default()
            },
            unreadable: true,
            ..Default::default()
        }
    }

    /// Is the recorded process still the one we started (and not a zombie)?
    pub fn is_running(&self) -> bool {
        self.state.status == "running" && process_alive(self.state.pid, self.state.pid_start)
    }

    /// Is its monitor (or, while created, its creator) alive?
    pub fn monitor_alive(&self) -> bool {
        process_alive(self.state.monitor_pid, self.state.monitor_start)
    }

    /// The state as the kernel confirms it. A "running" record whose process
    /// is a zombie has exited with the status the kernel keeps for its
    /// parent; one whose process is gone while its monitor is gone too ended
    /// unwatched (`dead`: no one observed its exit status); one whose process
    /// runs while its monitor is gone is marked unmonitored.
    ///
    /// A `created` record names the process starting it, if any (`run`,
    /// `start`); if that process is gone, the start was killed part way and
    /// the container is `dead` until `rm -f` (or another `start`) undoes what
    /// the start left.
    pub fn observed(mut self) -> Record {
        if self.state.status == "created" && self.state.monitor_pid > 0 && !self.monitor_alive() {
            self.state.status = "dead".into();
            self.state.error = format!(
                "its start (pid {}) ended part way: `glassbox rm -f {}` removes what it left",
                self.state.monitor_pid, self.name
            );
            return self;
        }
        if self.state.status != "running" {
            return self;
        }
        match process_state(self.state.pid, self.state.pid_start) {
            Proc::Alive => {
                if !self.monitor_alive() {
                    self.unmonitored = true;
                    self.state.error = format!(
                        "its monitor (glassbox-shim, pid {}) is gone: the container runs unmonitored and its output is no longer logged; stop, kill and rm still end it and report the kernel's exit status",
                        self.state.monitor_pid
                    );
                }
            }
            Proc::Zombie(status) => {
                self.state.status = "exited".into();
                self.state.pid = 0;
                match status {
                    Some(code) => self.state.exit_code = code,
                    None => {
                        self.state.status = "dead".into();
                        self.state.exit_code = -1;
                    }
                }
                if self.state.finished_at == 0 {
                    self.state.finished_at = timefmt::now_unix_ns();
                }
            }
            Proc::Gone => {
                self.state.status = "dead".into();
                self.state.pid = 0;
                self.state.exit_code = -1;
                if self.state.finished_at == 0 {
                    self.state.finished_at = timefmt::now_unix_ns();
                }
                self.state.error = if self.monitor_alive() {
                    format!(
                        "exit status not recorded yet: its monitor (pid {}) has not written it",
                        self.state.monitor_pid
                    )
                } else {
                    format!(
                        "exit status not observed: its monitor (pid {}) was gone when the process ended; `glassbox rm` removes what is left",
                        self.state.monitor_pid
                    )
                };
            }
        }
        self
    }

    /// The signal `stop` sends first: the container's `StopSignal` (from the
    /// image's STOPSIGNAL or `--stop-signal`), else SIGTERM.
    pub fn stop_signal(&self) -> i32 {
        super::units::parse_signal(&self.config.stop_signal).unwrap_or(libc::SIGTERM)
    }

    /// docker's STATUS column: "Up 3 seconds", "Up 2 minutes (Paused)",
    /// "Exited (137) 2 seconds ago", "Created", "Dead (record unreadable: …)".
    pub fn status_line(&self) -> String {
        let now = timefmt::now_unix_ns();
        match self.state.status.as_str() {
            "running" => format!(
                "Up {}{}{}",
                timefmt::human_duration(now.saturating_sub(self.state.started_at)),
                if self.state.paused { " (Paused)" } else { "" },
                if self.unmonitored {
                    " (unmonitored)"
                } else {
                    ""
                }
            ),
            "exited" if self.state.finished_at > 0 => format!(
                "Exited ({}) {} ago",
                self.state.exit_code,
                timefmt::human_duration(now.saturating_sub(self.state.finished_at))
            ),
            "exited" => format!("Exited ({})", self.state.exit_code),
            "dead" => {
                let why: String = self.state.error.chars().take(80).collect();
                let why = why.split(": `glassbox").next().unwrap_or("").to_string();
                if why.is_empty() {
                    "Dead".into()
                } else {
                    format!("Dead ({why})")
                }
            }
            _ => "Created".into(),
        }
    }
}

/// What /proc says of a recorded process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    /// Gone, or its PID now names another process.
    Gone,
    /// Exited, not yet reaped by its parent: the wait status the kernel keeps
    /// for it (field 52 of /proc/PID/stat), in docker's terms.
    Zombie(Option<i32>),
    Alive,
}

/// Reads /proc/PID/stat once: whether `pid` (started at `start`) lives.
pub fn process_state(pid: i32, start: u64) -> Proc {
    if pid <= 0 {
        return Proc::Gone;
    }
    let Ok(stat) = crate::inspect::proc_stat::read_proc_stat(pid as u32) else {
        return Proc::Gone;
    };
    if stat.starttime != start {
        return Proc::Gone;
    }
    match stat.state {
        'Z' | 'X' => Proc::Zombie(
            stat.exit_code
                .map(|c| crate::runtime::proc_events::docker_code(c as u32)),
        ),
        _ => Proc::Alive,
    }
}

/// True when `pid` exists, started at `start` (clock ticks since boot), and
/// has not exited (a zombie is not alive).
pub fn process_alive(pid: i32, start: u64) -> bool {
    process_state(pid, start) == Proc::Alive
}

/// A container's files.
#[derive(Debug, Clone)]
pub struct Paths {
    pub dir: PathBuf,
}

impl Paths {
    pub fn new(root: &DataRoot, id: &str) -> Paths {
        Paths {
            dir: root.containers().join(id),
        }
    }
    /// The OCI bundle is the container's directory itself.
    pub fn bundle(&self) -> &Path {
        &self.dir
    }
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("container-json.log")
    }
    pub fn journal(&self) -> PathBuf {
        self.dir.join("journal")
    }
    pub fn trace(&self) -> PathBuf {
        self.dir.join("trace.jsonl")
    }
}

/// Writes the record atomically (temporary file, then rename), into the
/// container's directory, which must exist: a monitor finishing after `rm`
/// or `cleanup` removed the directory does not bring the record back.
pub fn save(root: &DataRoot, record: &Record) -> anyhow::Result<()> {
    let paths = Paths::new(root, &record.id);
    let bytes = serde_json::to_vec_pretty(record)?;
    crate::util::fs::replace_file_mode(&paths.state(), &bytes, 0o600)?;
    Ok(())
}

/// Makes a container: its directory with its record as given (normally
/// `created`), then its name. The directory is made under a temporary name
/// (`containers/.tmp-create-…`, which `ps` does not list and `cleanup`
/// removes) and renamed into place with the record inside, so a container's
/// directory never lacks a record. Of two runs racing for a name one gets
/// it; the other is refused and leaves nothing. Anything made after this is
/// listed by `ps -a` and removed by `rm -f`.
///
/// The directory is the one the last start made ahead ([`make_dir_ahead`])
/// where there is one, else made here. Returns which.
pub fn create(root: &DataRoot, record: &Record) -> anyhow::Result<Made> {
    check_name(&record.name)?;
    let paths = Paths::new(root, &record.id);
    let staging = root.containers().join(format!(
        ".tmp-create-{}-{}",
        std::process::id(),
        &record.id[..16.min(record.id.len())]
    ));
    let mut made = Made::Ahead;
    let staged = (|| -> anyhow::Result<()> {
        if !claim_dir_ahead(root, &staging) {
            made = Made::Here;
            std::fs::create_dir(&staging)
                .with_context(|| format!("cannot create {}", staging.display()))?;
        }
        // Nobody reads the record before the rename below: written in place.
        let bytes = serde_json::to_vec_pretty(record)?;
        let state = staging.join("state.json");
        crate::util::fs::write_in_place(&state, &bytes, 0o600)
            .with_context(|| format!("cannot write {}", state.display()))?;
        std::fs::rename(&staging, &paths.dir)
            .with_context(|| format!("cannot create {}", paths.dir.display()))?;
        Ok(())
    })();
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if let Err(e) = reserve_name(root, &record.name, &record.id) {
        let _ = std::fs::remove_dir_all(&paths.dir);
        return Err(e);
    }
    Ok(made)
}

/// Where a container's directory came from ([`create`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// Made ahead, empty, by the last start.
    Ahead,
    /// Made by this start (`mkdir`).
    Here,
}

/// The directories and empty files of a container that a start fills in:
/// made ahead by [`make_dir_ahead`], or by the start itself where there is
/// none (the directories by `mkdir`, the files as they are first written).
/// The modes are the ones the start's own writes give (0666 and 0777 less
/// the umask; the record and config.json, which hold `-e` values, 0600).
const MADE_AHEAD: [(&str, Option<u32>); 9] = [
    ("upper", None),
    ("work", None),
    ("rootfs", None),
    ("state.json", Some(0o600)),
    ("config.json", Some(0o600)),
    ("journal", Some(0o666)),
    ("hosts", Some(0o666)),
    ("hostname", Some(0o666)),
    ("resolv.conf", Some(0o666)),
];

/// `ahead/container`: the next container's directory, made ahead.
fn dir_ahead(root: &DataRoot) -> PathBuf {
    root.ahead().join("container")
}

/// Renames the directory made ahead to `staging`, if there is one and it
/// holds what [`make_dir_ahead`] makes and nothing else: a real directory
/// with empty directories and empty, unlinked-elsewhere regular files no
/// more open than made (state.json and config.json 0600), no symlink among
/// them. `ahead/` is root's only, but a root-run container given the data
/// root as a volume could plant one (an `upper` pointing into the host,
/// `hosts` hard-linked to a host file, a file in `upper`, a state.json
/// others may read): what is not as made is removed, and the start makes
/// its own.
fn claim_dir_ahead(root: &DataRoot, staging: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if std::fs::rename(dir_ahead(root), staging).is_err() {
        return false;
    }
    let as_made = || -> Option<()> {
        let meta = std::fs::symlink_metadata(staging).ok()?;
        if !meta.is_dir() || std::fs::read_dir(staging).ok()?.count() != MADE_AHEAD.len() {
            return None;
        }
        for (name, mode) in MADE_AHEAD {
            let path = staging.join(name);
            let meta = std::fs::symlink_metadata(&path).ok()?;
            let fits = match mode {
                None => meta.is_dir() && std::fs::read_dir(&path).ok()?.next().is_none(),
                Some(mode) => {
                    meta.is_file()
                        && meta.len() == 0
                        && meta.nlink() == 1
                        && meta.mode() & 0o7777 & !mode == 0
                }
            };
            fits.then_some(())?;
        }
        Some(())
    };
    if as_made().is_some() {
        return true;
    }
    if std::fs::symlink_metadata(staging).is_ok_and(|m| m.is_dir()) {
        let _ = std::fs::remove_dir_all(staging);
    } else {
        let _ = std::fs::remove_file(staging);
    }
    false
}

/// Makes the next container's directory ahead of its `create`, with the
/// empty directories and files a start fills in (`MADE_AHEAD`), as
/// `ahead/container`: a start does this while its container's init sets
/// up (on another CPU), so that the next start renames a directory into
/// place instead of paying for the `mkdir`s and new files on its way (a new
/// directory is the slowest of them: ext4 picks a block group for it, and
/// allocates its first block). Nothing in it ever belonged to a container.
/// It is made as `ahead/.making-PID-RANDOM` and renamed, so a start finds
/// it whole or not at all; where one is there already, nothing is made.
/// `cleanup` removes it. Returns whether this call made it (`false`: one
/// was there).
pub fn make_dir_ahead(root: &DataRoot) -> std::io::Result<bool> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    use std::os::unix::fs::OpenOptionsExt;
    let target = dir_ahead(root);
    if target.exists() {
        return Ok(false);
    }
    let ahead = root.ahead();
    crate::util::fs::make_private_dir(&ahead)?;
    // Spread over ext4's block groups as containers/ is (see the function).
    let _ = crate::util::fs::spread_subdirectories(&ahead);
    let making = ahead.join(format!(
        ".making-{}-{}",
        std::process::id(),
        &crate::util::text::random_id()[..16]
    ));
    let made = (|| -> std::io::Result<()> {
        std::fs::create_dir(&making)?;
        for (name, mode) in MADE_AHEAD {
            let path = making.join(name);
            match mode {
                None => std::fs::create_dir(&path)?,
                Some(mode) => {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(mode)
                        .open(&path)?;
                }
            }
        }
        renameat2(
            AT_FDCWD,
            &making,
            AT_FDCWD,
            &target,
            RenameFlags::RENAME_NOREPLACE,
        )
        .map_err(std::io::Error::from)
    })();
    if made.is_err() {
        let _ = std::fs::remove_dir_all(&making);
    }
    match made {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads a record exactly as it is on disk, not checked against the kernel.
pub fn read_saved(root: &DataRoot, id: &str) -> anyhow::Result<Record> {
    let path = Paths::new(root, id).state();
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a valid container record", path.display()))
}

/// Reads a record as it is on disk, checked against the kernel.
pub fn load_by_id(root: &DataRoot, id: &str) -> anyhow::Result<Record> {
    let read = || read_saved(root, id);
    let mut record = read()?;
    // The process has ended since the record was read. Its monitor records
    // the exit and then ends: if it still runs, wait for that (milliseconds;
    // seconds on a loaded host) rather than report a guess; if it has ended,
    // it may have done so since the first read. Either way the record is
    // read again, and only a record still `running` after its monitor ended
    // means no one recorded the exit. (A zombie's status is read from the
    // kernel at once: its monitor may be stopped.)
    if record.state.status == "running"
        && process_state(record.state.pid, record.state.pid_start) == Proc::Gone
    {
        if record.monitor_alive() {
            super::lifecycle::wait_for_exit(
                record.state.monitor_pid,
                record.state.monitor_start,
                std::time::Duration::from_secs(10),
            );
        }
        record = read()?;
    }
    let observed = record.clone().observed();
    // It ended while no one watched: do what its monitor would have done.
    if record.state.status == "running"
        && observed.state.status != "running"
        && !observed.monitor_alive()
        && nix::unistd::geteuid().is_root()
    {
        return Ok(super::lifecycle::release_unmonitored(root, observed));
    }
    Ok(observed)
}

/// A container as listed: its record, or, when that cannot be read, what its
/// directory and name show ([`Record::unreadable`]).
pub fn load_or_unreadable(root: &DataRoot, id: &str) -> Record {
    match load_by_id(root, id) {
        Ok(r) => r,
        Err(e) => {
            let why = e.chain().last().map(|c| c.to_string()).unwrap_or_default();
            Record::unreadable(root, id, &why)
        }
    }
}

/// The name whose link points at `id`, if any.
fn name_pointing_at(root: &DataRoot, id: &str) -> Option<String> {
    std::fs::read_dir(root.names())
        .ok()?
        .flatten()
        .find_map(|e| {
            (std::fs::read_link(e.path()).ok()? == Path::new(id))
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
}

/// Every container of the data root, newest first.
pub fn list(root: &DataRoot) -> anyhow::Result<Vec<Record>> {
    let mut out = Vec::new();
    let dir = root.containers();
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let entry = entry?;
        let id = entry.file_name().to_string_lossy().into_owned();
        if id.starts_with('.') {
            continue;
        }
        out.push(load_or_unreadable(root, &id));
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.created));
    Ok(out)
}

/// Finds a container by name, full ID or unique ID prefix, as docker does.
pub fn find(root: &DataRoot, name_or_id: &str) -> anyhow::Result<Record> {
    let key = name_or_id.trim_start_matches('/');
    if check_name(key).is_ok()
        && let Ok(id) = std::fs::read_link(root.names().join(key))
    {
        let id = id.to_string_lossy().into_owned();
        if root.containers().join(&id).is_dir() {
            return Ok(load_or_unreadable(root, &id));
        }
    }
    if key.len() >= 3 && key.chars().all(|c| c.is_ascii_hexdigit()) {
        let matches: Vec<String> = std::fs::read_dir(root.containers())?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|id| id.starts_with(key))
            .collect();
        match matches.as_slice() {
            [id] => return Ok(load_or_unreadable(root, id)),
            [] => {}
            _ => {
                return Err(super::EngineError::Invalid(format!(
                    "multiple IDs found with provided prefix: {key}"
                ))
                .into());
            }
        }
    }
    // A record whose name link was never made (its run was killed in between).
    if let Some(r) = list(root)?.into_iter().find(|r| r.name == key) {
        return Ok(r);
    }
    Err(super::EngineError::NoSuchContainer(name_or_id.to_string()).into())
}

/// Refuses a name docker would refuse.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        bail!(
            "invalid container name {name:?}: use letters, digits, '_', '.' and '-', starting with a letter or digit"
        );
    }
    Ok(())
}

/// Reserves a name: `names/<name>` becomes a symlink to the ID. The
/// container's directory exists before (see [`create`]), so a link whose
/// directory is missing is stale (its container is gone) and is taken over.
/// Checking and taking over happen under `names/.lock`, so of two runs that
/// both find a stale link, one takes it and the other finds it taken.
pub fn reserve_name(root: &DataRoot, name: &str, id: &str) -> anyhow::Result<()> {
    check_name(name)?;
    let lock_path = root.names().join(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| anyhow::anyhow!("cannot lock {}: {e}", lock_path.display()))?;
    let link = root.names().join(name);
    match std::fs::read_link(&link) {
        Ok(holder) => {
            let holder = holder.to_string_lossy().into_owned();
            if root.containers().join(&holder).is_dir() {
                return Err(super::EngineError::Conflict(format!(
                    "Conflict. The container name \"/{name}\" is already in use by container \"{holder}\". You have to remove (or rename) that container to be able to reuse that name."
                ))
                .into());
            }
            // A stale name whose container is gone: take it over.
            std::fs::remove_file(&link)
                .with_context(|| format!("cannot remove the stale {}", link.display()))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", link.display())),
    }
    make_name_link(root, id, &link).with_context(|| format!("cannot create {}", link.display()))
}

/// Makes `link` a symlink to `id`, failing if it exists. The link is made in
/// the container's own directory first and then renamed into `names/`
/// (`renameat2(RENAME_NOREPLACE)`, as atomic as `symlink` there): ext4
/// places a file's inode, and its target's data block, in its directory's
/// block group, and the group of `names/` is full of the freed inodes of
/// earlier links, each of which a filesystem without a journal must step
/// over (`recently_deleted`): 0.7 ms for one link there, against 0.02 ms
/// in the container's directory. Where the directory or the rename is
/// missing (a filesystem without RENAME_NOREPLACE), the link is made in
/// place.
fn make_name_link(root: &DataRoot, id: &str, link: &Path) -> std::io::Result<()> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    let staged = root.containers().join(id).join(".name-link");
    let _ = std::fs::remove_file(&staged);
    if std::os::unix::fs::symlink(id, &staged).is_ok() {
        match renameat2(
            AT_FDCWD,
            &staged,
            AT_FDCWD,
            link,
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => return Ok(()),
            Err(nix::errno::Errno::EINVAL) => {
                let _ = std::fs::remove_file(&staged);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                return Err(e.into());
            }
        }
    }
    std::os::unix::fs::symlink(id, link)
}

/// `rename OLD NEW`: reserves the new name (atomically, as at create),
/// then moves the record to it and frees the old one.
pub fn rename(root: &DataRoot, name_or_id: &str, new_name: &str) -> anyhow::Result<Record> {
    let mut record = find(root, name_or_id)?;
    if new_name.is_empty() {
        return Err(
            super::EngineError::Invalid("Neither old nor new names may be empty".into()).into(),
        );
    }
    if record.name == new_name {
        return Err(super::EngineError::Invalid(
            "Renaming a container with the same name as its current name".to_string(),
        )
        .into());
    }
    reserve_name(root, new_name, &record.id)?;
    let old = std::mem::replace(&mut record.name, new_name.to_string());
    if let Err(e) = save(root, &record) {
        release_name(root, new_name, &record.id);
        return Err(e);
    }
    release_name(root, &old, &record.id);
    super::events::container(root, "rename", &record, &[("oldName", &format!("/{old}"))]);
    Ok(record)
}

pub fn release_name(root: &DataRoot, name: &str, id: &str) {
    let link = root.names().join(name);
    if std::fs::read_link(&link).is_ok_and(|t| t == Path::new(id)) {
        let _ = std::fs::remove_file(link);
    }
}

/// Releases a name as [`release_name`] does, by moving its link into `dir`
/// (the container's directory, retired under `trash/`), where it is removed
/// with the rest. The link's target, a 64-digit ID, is too long to live in
/// the inode (ext4 keeps up to 59 bytes there), so the link has a data
/// block, and unlinking it frees that block: on a filesystem mounted with
/// `discard` and no journal the kernel discards the block before `unlink`
/// returns (about 3 ms here). `rename` frees nothing; the block goes when the
/// reaper removes the directory, after the exit status. If the move fails
/// the link is unlinked.
pub fn release_name_into(root: &DataRoot, name: &str, id: &str, dir: &Path) {
    let link = root.names().join(name);
    if std::fs::read_link(&link).is_ok_and(|t| t == Path::new(id))
        && std::fs::rename(&link, dir.join(".name")).is_err()
    {
        let _ = std::fs::remove_file(link);
    }
}

/// A random 64-hex-digit ID, as docker's.
pub fn new_id() -> String {
    crate::util::text::random_id()
}

const ADJECTIVES: [&str; 16] = [
    "brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nifty", "proud", "quiet", "sharp", "tender", "witty",
];
const SCIENTISTS: [&str; 16] = [
    "babbage",
    "curie",
    "dijkstra",
    "euler",
    "feynman",
    "hopper",
    "kernighan",
    "lamport",
    "lovelace",
    "noether",
    "pike",
    "ritchie",
    "shannon",
    "thompson",
    "torvalds",
    "turing",
];

/// A docker-style name such as `jolly_hopper`, from the ID's bytes.
pub fn generated_name(id: &str) -> String {
    let b = id.as_bytes();
    let a = ADJECTIVES[(b.first().copied().unwrap_or(0) as usize) % ADJECTIVES.len()];
    let s = SCIENTISTS[(b.get(1).copied().unwrap_or(0) as usize) % SCIENTISTS.len()];
    format!("{a}_{s}_{}", &id[2..6.min(id.len())])
}
