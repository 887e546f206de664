//! Where a check reads the kernel: a live container's process and the files
//! the kernel keeps about it.
//!
//! glassbox's own record of a container is used for one thing only: to find
//! the host PID of its main process. Everything after that is the kernel's
//! word: the start time in /proc/PID/stat proves the PID still belongs to the
//! process glassbox started (PIDs are reused), /proc/PID/cgroup says which
//! cgroup the kernel accounts it to, the limit files there say what the
//! kernel enforces, /proc/PID/status gives its uids and capabilities,
//! /proc/PID/ns its namespaces, /proc/PID/mountinfo its overlay, and
//! /proc/PID/net its network namespace's sockets and addresses. A student who
//! edited glassbox's records could not fool any of these.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engine::DataRoot;
use crate::engine::container::{self, Record};
use crate::inspect::cgroup::{self as cg, CgroupEntry};
use crate::inspect::proc_stat::process_start_time;
use crate::inspect::proc_status::{ProcStatus, read_proc_status};
use crate::runtime::cgroups::{self, Layout};

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The state is not what the exercise asks for: the reason says what the
    /// kernel showed and what was expected.
    Fail(String),
    /// The check could not read what it needs (no permission, no cgroup
    /// hierarchy): not the student's fault, and said so.
    Error(String),
}

/// A passed check's evidence, or why it did not pass.
pub type Checked = Result<String, Problem>;

fn fail<T>(message: impl Into<String>) -> Result<T, Problem> {
    Err(Problem::Fail(message.into()))
}

fn error<T>(message: impl Into<String>) -> Result<T, Problem> {
    Err(Problem::Error(message.into()))
}

/// A running container: its name, the host PID of its main process, and
/// glassbox's record (used to find the PID, and for nothing the check decides).
#[derive(Debug, Clone)]
pub struct Live {
    pub name: String,
    pub pid: u32,
    pub record: Record,
}

/// Finds `name` and proves its main process is alive and is the one glassbox
/// started: /proc/PID/stat's start time equals the recorded one.
pub fn live(root: &DataRoot, name: &str) -> Result<Live, Problem> {
    let record = match container::find(root, name) {
        Ok(r) => r,
        Err(_) => {
            return fail(format!(
                "no container named {name} (`glassbox ps -a` lists them)"
            ));
        }
    };
    if record.state.status != "running" || record.state.pid <= 0 {
        return fail(format!(
            "container {name} is not running ({})",
            record.status_line()
        ));
    }
    let pid = record.state.pid as u32;
    match process_start_time(pid) {
        Some(start) if start == record.state.pid_start => Ok(Live {
            name: name.to_string(),
            pid,
            record,
        }),
        Some(_) => fail(format!(
            "container {name} is not running: PID {pid} now belongs to another process"
        )),
        None => fail(format!(
            "container {name} is not running: its process (PID {pid}) is gone"
        )),
    }
}

/// The container's process status (/proc/PID/status).
pub fn status(live: &Live) -> Result<ProcStatus, Problem> {
    read_proc_status(live.pid).or_else(|e| {
        error(format!(
            "cannot read /proc/{}/status of container {}: {e:#}",
            live.pid, live.name
        ))
    })
}

/// One cgroup control file of the container, found through the kernel.
#[derive(Debug, Clone)]
pub struct ControlFile {
    /// The file's name as this host's cgroup version calls it (`memory.max`).
    pub name: &'static str,
    pub path: PathBuf,
    /// Its content, trimmed.
    pub text: String,
}

/// The directory of the container's cgroup for `controller`, from
/// /proc/PID/cgroup, which must place it in one of this data root's groups
/// (`glassbox/<key>-<id>`; `glassbox/<key>/<id>` where an earlier glassbox
/// started it). On v2 every controller shares one directory.
pub fn cgroup_dir(root: &DataRoot, live: &Live, controller: &str) -> Result<PathBuf, Problem> {
    let layout = cgroups::detect().or_else(|e| error(format!("{e}")))?;
    let entries = cg::read_proc_cgroup(live.pid).or_else(|e| {
        error(format!(
            "cannot read /proc/{}/cgroup of container {}: {e:#}",
            live.pid, live.name
        ))
    })?;
    let (mount, rel) = locate(&layout, &entries, controller).ok_or_else(|| {
        Problem::Fail(format!(
            "container {}: the kernel puts its process in no {controller} cgroup (/proc/{}/cgroup)",
            live.name, live.pid
        ))
    })?;
    let ours = format!("/{}/{}", root.cgroup_parent(), root.cgroup_prefix());
    let earlier = format!("/{}/{}/", root.cgroup_parent(), root.key);
    if !rel.starts_with(&ours) && !rel.starts_with(&earlier) {
        return fail(format!(
            "container {}: /proc/{}/cgroup puts its process in {rel}, not in a glassbox cgroup of this data root ({ours}…)",
            live.name, live.pid
        ));
    }
    Ok(mount.join(rel.trim_start_matches('/')))
}

/// Pure: the hierarchy mount and the group path of `controller` for a
/// process whose /proc/PID/cgroup is `entries`.
pub fn locate(
    layout: &Layout,
    entries: &[CgroupEntry],
    controller: &str,
) -> Option<(PathBuf, String)> {
    match layout {
        Layout::V2 { mount } => Some((mount.clone(), cg::v2_path(entries)?.to_string())),
        Layout::V1(m) => {
            let mount = match controller {
                "memory" => m.memory.clone(),
                "pids" => m.pids.clone(),
                "cpu" => m.cpu.clone(),
                _ => None,
            }?;
            Some((mount, cg::v1_path(entries, controller)?.to_string()))
        }
    }
}

/// Reads one of the container's control files: `v2` names it on a cgroup v2
/// host, `v1` on a v1 host.
pub fn control_file(
    root: &DataRoot,
    live: &Live,
    controller: &str,
    v2: &'static str,
    v1: &'static str,
) -> Result<ControlFile, Problem> {
    let dir = cgroup_dir(root, live, controller)?;
    let is_v2 = matches!(cgroups::detect(), Ok(Layout::V2 { .. }));
    let name = if is_v2 { v2 } else { v1 };
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(ControlFile {
            name,
            path,
            text: text.trim().to_string(),
        }),
        Err(e) => error(format!("cannot read {}: {e}", path.display())),
    }
}

/// The hostname inside the UTS namespace of `pid`: a thread joins the
/// namespace with setns(2) and asks gethostname(2); only that thread moves,
/// and it ends with the answer.
pub fn hostname_in(pid: u32) -> io::Result<String> {
    let ns = File::open(format!("/proc/{pid}/ns/uts"))?;
    in_namespace(ns, libc::CLONE_NEWUTS, || {
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .map_err(io::Error::from)
    })
}

/// Runs `f` on a new thread that first joins the namespace `ns` (of type
/// `flag`). Namespaces belong to threads, so the rest of the program stays
/// where it was.
pub fn in_namespace<T: Send + 'static>(
    ns: File,
    flag: libc::c_int,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    std::thread::spawn(move || {
        // setns(2) changes this thread only.
        nix::sched::setns(&ns, nix::sched::CloneFlags::from_bits_retain(flag))?;
        f()
    })
    .join()
    .map_err(|_| io::Error::other("the namespace thread panicked"))?
}

/// Connects with a deadline.
pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    TcpStream::connect_timeout(&addr, timeout)
}

/// The container's root overlay, from its own mountinfo (the kernel shows
/// the options it was mounted with: lowerdir, upperdir, workdir).
pub fn root_overlay(live: &Live) -> Result<crate::inspect::mountinfo::OverlayDirs, Problem> {
    use crate::inspect::mountinfo::{find_overlay, overlay_dirs, read_mountinfo};
    let mounts = read_mountinfo(live.pid).or_else(|e| {
        error(format!(
            "cannot read /proc/{}/mountinfo of container {}: {e:#}",
            live.pid, live.name
        ))
    })?;
    let Some(root) = find_overlay(&mounts, Path::new("/")) else {
        return fail(format!(
            "container {}: its root (/) is not an overlay mount (/proc/{}/mountinfo)",
            live.name, live.pid
        ));
    };
    overlay_dirs(root).or_else(|e| {
        error(format!(
            "container {}: cannot read its overlay's options: {e}",
            live.name
        ))
    })
}

/// `path` as the container sees it, through /proc/PID/root.
pub fn inside(live: &Live, path: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{}/root", live.pid)).join(path.trim_start_matches('/'))
}

/// The container's root overlay and its upper (writable) directory, the one
/// an exercise on copy-on-write looks into.
pub fn overlay_with_upper(
    root: &DataRoot,
    container: &str,
) -> Result<(Live, crate::inspect::mountinfo::OverlayDirs, PathBuf), Problem> {
    let l = live(root, container)?;
    let dirs = root_overlay(&l)?;
    let Some(upper) = dirs.upperdir.clone() else {
        return Err(Problem::Fail(format!(
            "container {container}: its root overlay has no upper dir"
        )));
    };
    Ok((l, dirs, upper))
}
