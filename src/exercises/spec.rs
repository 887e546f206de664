//! The check kinds: what an exercise's `check` table in a lesson file may say.
//!
//! A check names a piece of kernel state and the value it must have. It is
//! data, so an instructor writes a new exercise without recompiling:
//!
//! ```toml
//! [[exercise]]
//! id = "topic4-capped"
//! # …
//! [exercise.check]
//! kind = "all"
//! checks = [
//!   { kind = "memory_limit", container = "capped", bytes = 209715200 },
//!   { kind = "pids_limit", container = "capped", max = 64 },
//! ]
//! ```
//!
//! A predict exercise's check is an `answer`: what to observe, live, when the
//! student's answer is graded (`observe`), and the answer the lesson expects
//! (`answer`), which only the honesty check (`glassbox check --verify`) ever
//! submits. The student is graded against the live value, never against it.
//!
//! Every kind is read by [`super::grade`](mod@super::grade) from the kernel; the table below
//! is the format's reference, and `serde` refuses a misspelt kind or field.

use serde::{Deserialize, Serialize};

/// One check. `kind` picks the variant; the other keys are its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// Every check in `checks` passes (they are graded in order and the
    /// first failure is the reason).
    All { checks: Vec<Check> },
    /// `container` is running: its recorded PID is alive and is still the
    /// process glassbox started (start time in /proc/PID/stat).
    Running { container: String },
    /// The memory limit of the container's cgroup, read from the cgroup the
    /// kernel puts its process in (/proc/PID/cgroup): v2 `memory.max`, v1
    /// `memory.limit_in_bytes`, equals `bytes`.
    MemoryLimit { container: String, bytes: u64 },
    /// The cgroup's `pids.max` equals `max`.
    PidsLimit { container: String, max: u64 },
    /// The container's main process runs as `uid` on the host: the real and
    /// effective uids of the `Uid:` line of /proc/PID/status.
    Uid { container: String, uid: u32 },
    /// The container's UTS namespace is not the host's, and the hostname in
    /// it (read by joining it with setns(2) and asking gethostname(2)) is
    /// `hostname`.
    Hostname { container: String, hostname: String },
    /// The container's main process is PID 1 of a PID namespace of its own
    /// (the last number of `NSpid:` in /proc/PID/status is 1, and
    /// /proc/PID/ns/pid is not the host's).
    PidNamespace { container: String },
    /// `container` and `with` share the namespace `namespace` (the same inode
    /// behind /proc/PID/ns/NAME) when `shared` is true, or do not when false.
    /// `with = "host"` compares with the host's (glassbox's own) namespaces.
    Namespace {
        container: String,
        with: String,
        namespace: String,
        #[serde(default = "yes")]
        shared: bool,
    },
    /// A real TCP connection to 127.0.0.1:`host_port` from the host reaches
    /// the container: while it is open, the container's network namespace
    /// (/proc/PID/net/tcp) holds an established connection on
    /// `container_port`, and `GET /` gets an HTTP answer.
    Published {
        container: String,
        host_port: u16,
        container_port: u16,
    },
    /// From inside `from`'s network namespace (joined with setns(2)), a TCP
    /// connection to `to`'s address gets an answer from `to`'s kernel (an
    /// accept or a reset: either proves the packets arrived), and the two
    /// containers have network namespaces of their own.
    Reach { from: String, to: String },
    /// `path` was deleted in the container: its overlay's upper dir (from
    /// the container's own /proc/PID/mountinfo) holds a whiteout there (a
    /// character device 0,0), a lower layer still has the file, and the
    /// container no longer sees it.
    Whiteout { container: String, path: String },
    /// A file at `path` is in the container's upper dir and the container
    /// sees the same bytes at `path` (through /proc/PID/root).
    UpperFile { container: String, path: String },
    /// At least `at_least` processes live in the container's PID namespace.
    Processes { container: String, at_least: u32 },
    /// The kernel's OOM killer has killed at least one process in the
    /// container's cgroup (`oom_kill` in v2 memory.events or v1
    /// memory.oom_control), and the container still runs.
    OomKill { container: String },
    /// An image's file: `image` (a `name:tag`) exists, its config's bytes hash
    /// to its ID (images are content-addressed: a changed image is a new
    /// ID), and the top-most of its layers on disk that has `path` holds it,
    /// containing `contains` when that is given.
    ImageFile {
        image: String,
        path: String,
        #[serde(default)]
        contains: Option<String>,
    },
    /// Two images share exactly their first `same` layers (the same
    /// `diff_id`, the same directory on disk), and `image` has more on top:
    /// how a build cache hit and a commit look in the layer store.
    ImageLayers {
        image: String,
        with: String,
        same: usize,
    },
    /// A predict exercise: the student's answer must equal what `observe`
    /// reads from the kernel when it is graded.
    Answer {
        observe: Observe,
        /// The answer the lesson expects: submitted only by the honesty check,
        /// which proves the lesson's claim against the live value.
        answer: String,
    },
}

fn yes() -> bool {
    true
}

/// A live value a predict exercise is graded against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case", deny_unknown_fields)]
pub enum Observe {
    /// The PID the container's main process has inside its PID namespace
    /// (the last number of `NSpid:`).
    PidInside { container: String },
    /// `yes` or `no`: is `capability` (`CAP_SYS_ADMIN`) in the effective set
    /// of the container's main process (`CapEff:`)?
    HasCapability {
        container: String,
        capability: String,
    },
    /// How many read-only layers (lowerdirs) the container's root overlay
    /// has, from its own /proc/PID/mountinfo.
    LowerLayers { container: String },
    /// How many of those lowerdirs are the image's own layers (directories
    /// of the data root's layer store), leaving out the container's init
    /// layer (docker's `-init`: the mount points of /etc/hosts and co.).
    LowerLayersFromImage { container: String },
    /// How many processes live in the container's PID namespace.
    Processes { container: String },
    /// The command name (/proc/PPID/comm) of the host process that is the
    /// parent of the container's main process.
    ParentCommand { container: String },
    /// The exit code of a container that has exited: the wait status the
    /// kernel gave its monitor, as recorded at that moment (a dead process
    /// has nothing left to read), once /proc shows the process is gone.
    ExitCode { container: String },
}

impl Check {
    /// The containers the check reads (for re-checking when one changes, and
    /// for the honesty check's clean-up).
    pub fn containers(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_containers(&mut out);
        out.dedup();
        out
    }

    fn collect_containers<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Check::All { checks } => checks.iter().for_each(|c| c.collect_containers(out)),
            Check::Running { container }
            | Check::MemoryLimit { container, .. }
            | Check::PidsLimit { container, .. }
            | Check::Uid { container, .. }
            | Check::Hostname { container, .. }
            | Check::PidNamespace { container }
            | Check::Published { container, .. }
            | Check::Whiteout { container, .. }
            | Check::UpperFile { container, .. }
            | Check::Processes { container, .. }
            | Check::OomKill { container } => out.push(container),
            Check::Namespace {
                container, with, ..
            } => {
                out.push(container);
                if with != "host" {
                    out.push(with);
                }
            }
            Check::Reach { from, to } => {
                out.push(from);
                out.push(to);
            }
            Check::Answer { observe, .. } => out.push(observe.container()),
            Check::ImageFile { .. } | Check::ImageLayers { .. } => {}
        }
    }

    /// Problems serde cannot see: an empty `all`, an unknown namespace or
    /// capability name, a port 0, a path that is not absolute.
    pub fn validate(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.validate_into(&mut out);
        out
    }

    fn validate_into(&self, out: &mut Vec<String>) {
        use crate::inspect::namespaces::NsType;
        match self {
            Check::All { checks } => {
                if checks.is_empty() {
                    out.push("check kind \"all\" needs at least one check in `checks`".into());
                }
                checks.iter().for_each(|c| c.validate_into(out));
            }
            Check::Namespace { namespace, .. } if NsType::from_name(namespace).is_none() => {
                out.push(format!(
                    "unknown namespace {namespace:?}: expected one of cgroup, ipc, mnt, net, pid, time, user, uts"
                ));
            }
            Check::Published {
                host_port,
                container_port,
                ..
            } if *host_port == 0 || *container_port == 0 => {
                out.push("a published port is a number from 1 to 65535".into());
            }
            Check::Whiteout { path, .. }
            | Check::UpperFile { path, .. }
            | Check::ImageFile { path, .. }
                if !path.starts_with('/') || path.split('/').any(|c| c == "..") =>
            {
                out.push(format!(
                    "path {path:?} must be absolute (as the container sees it), without `..`"
                ));
            }
            Check::Answer {
                observe:
                    Observe::HasCapability {
                        capability: name, ..
                    },
                ..
            } if crate::inspect::proc_status::capability_by_name(name).is_none() => {
                out.push(format!(
                    "unknown capability {name:?} (capabilities(7) names it, e.g. CAP_SYS_ADMIN)"
                ));
            }
            Check::Answer { answer, .. } if answer.trim().is_empty() => {
                out.push("a predict exercise's `answer` must not be empty".into());
            }
            _ => {}
        }
        for name in self.containers() {
            if name.is_empty() || name.contains('/') {
                out.push(format!("container name {name:?} is not a valid name"));
            }
        }
    }
}

impl Observe {
    pub fn container(&self) -> &str {
        match self {
            Observe::PidInside { container }
            | Observe::HasCapability { container, .. }
            | Observe::LowerLayers { container }
            | Observe::LowerLayersFromImage { container }
            | Observe::Processes { container }
            | Observe::ParentCommand { container }
            | Observe::ExitCode { container } => container,
        }
    }
}

/// Reads a lesson's free-form `check` table into a [`Check`]; the error is
/// serde's message (`unknown variant "memory_limt", expected one of …`).
pub fn from_table(table: &toml::Table) -> Result<Check, String> {
    let check: Check = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e: toml::de::Error| e.message().to_string())?;
    let problems = check.validate();
    if problems.is_empty() {
        Ok(check)
    } else {
        Err(problems.join("; "))
    }
}
