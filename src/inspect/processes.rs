//! The process table: every /proc/PID directory, and how processes relate.
//!
//! Each process has a parent (`PPid`), so all processes form one tree rooted at
//! pid 1; walking parents from any pid up to 1 gives its chain of ancestors.
//! A container's processes are the ones in its pid namespace: from the host
//! they have ordinary pids, inside they count from 1 (the last NSpid entry).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::namespaces::{NsLink, parse_ns_link};
use super::proc_status::read_proc_status;
use super::{ReadError, proc_dir, read_text};

/// What `ps` shows about one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    pub pid: u32,
    pub ppid: u32,
    /// The effective uid (the USER column of ps).
    pub uid: u32,
    pub comm: String,
    /// Arguments joined by spaces; empty for kernel threads and zombies.
    pub cmdline: String,
    /// Pid in each pid namespace, outermost first (see `proc_status`).
    pub nspid: Vec<u32>,
    /// Inode of the process's pid namespace; `None` if this user may not read it.
    pub pid_ns: Option<u64>,
}

impl ProcessInfo {
    /// The command line, or `[comm]` when there is none, as ps prints kernel threads.
    pub fn command(&self) -> String {
        command_or_comm(&self.cmdline, &self.comm)
    }
}

/// Turns /proc/PID/cmdline (arguments each ended by NUL) into one line.
pub fn parse_cmdline(bytes: &[u8]) -> String {
    bytes
        .split(|&b| b == 0)
        .filter(|arg| !arg.is_empty())
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads /proc/PID/cmdline as one line.
pub fn read_cmdline(pid: u32) -> Result<String, ReadError> {
    let path = proc_dir(pid).join("cmdline");
    let bytes = std::fs::read(&path).map_err(|e| ReadError::io(&path, e))?;
    Ok(parse_cmdline(&bytes))
}

/// Reads one process.
pub fn read_process(pid: u32) -> Result<ProcessInfo, ReadError> {
    let status = read_proc_status(pid)?;
    let cmdline = read_cmdline(pid)?;
    Ok(ProcessInfo {
        pid,
        ppid: status.ppid,
        uid: status.uid.effective,
        comm: status.name,
        cmdline,
        nspid: status.nspid,
        pid_ns: read_pid_ns(pid),
    })
}

/// /proc/PID/comm: the command name, at most 15 bytes (what `ps -o comm` shows).
pub fn read_comm(pid: u32) -> Result<String, ReadError> {
    read_text(&proc_dir(pid).join("comm")).map(|c| c.trim_end_matches('\n').to_string())
}

/// The command of `pid` as ps and lsns show it: its command line, or `[comm]`.
pub fn read_command(pid: u32) -> Result<String, ReadError> {
    let cmdline = read_cmdline(pid)?;
    Ok(command_or_comm(&cmdline, &read_comm(pid)?))
}

/// /proc/PID/environ: the environment the process was started with, one
/// `KEY=value` per entry (each ended by NUL in the file).
pub fn read_environ(pid: u32) -> Result<Vec<String>, ReadError> {
    let path = proc_dir(pid).join("environ");
    let bytes = std::fs::read(&path).map_err(|e| ReadError::io(&path, e))?;
    Ok(bytes
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect())
}

/// The pids in /proc, ascending (procfs lists them). A process that exits
/// while the directory is read is left out.
pub fn list_pids() -> Result<Vec<u32>, ReadError> {
    let proc = std::path::Path::new("/proc");
    let processes = procfs::process::all_processes().map_err(|e| ReadError::procfs(proc, e))?;
    let mut pids: Vec<u32> = processes
        .filter_map(|p| p.ok().and_then(|p| u32::try_from(p.pid).ok()))
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// Every process, ascending by pid. Processes that exit during the scan are skipped.
pub fn list_processes() -> Result<Vec<ProcessInfo>, ReadError> {
    Ok(list_pids()?
        .into_iter()
        .filter_map(|pid| read_process(pid).ok())
        .collect())
}

/// A process in a pid namespace, with both of its pids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NsProcess {
    /// The pid as seen from here (the host, when glassbox runs on the host).
    pub host_pid: u32,
    /// The pid inside the namespace: what `ps` run in the container prints.
    pub ns_pid: u32,
    pub info: ProcessInfo,
}

/// The processes whose pid namespace is `ns_inode` (what `ps` in a container
/// lists, except processes in pid namespaces nested further inside it).
pub fn processes_in_pid_ns(ns_inode: u64) -> Result<Vec<NsProcess>, ReadError> {
    Ok(list_processes()?
        .into_iter()
        .filter(|p| p.pid_ns == Some(ns_inode))
        .map(|info| NsProcess {
            host_pid: info.pid,
            ns_pid: info.nspid.last().copied().unwrap_or(info.pid),
            info,
        })
        .collect())
}

/// Parent/child links between pids, built from `(pid, ppid)` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProcessTree {
    parent: BTreeMap<u32, u32>,
    children: BTreeMap<u32, Vec<u32>>,
}

impl ProcessTree {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u32, u32)>) -> ProcessTree {
        let mut tree = ProcessTree::default();
        for (pid, ppid) in pairs {
            tree.parent.insert(pid, ppid);
            tree.children.entry(ppid).or_default().push(pid);
        }
        for children in tree.children.values_mut() {
            children.sort_unstable();
        }
        tree
    }

    pub fn from_processes(processes: &[ProcessInfo]) -> ProcessTree {
        ProcessTree::from_pairs(processes.iter().map(|p| (p.pid, p.ppid)))
    }

    pub fn parent(&self, pid: u32) -> Option<u32> {
        self.parent.get(&pid).copied()
    }

    pub fn children(&self, pid: u32) -> &[u32] {
        self.children.get(&pid).map_or(&[], Vec::as_slice)
    }

    /// `pid`, its parent, grandparent... up to the root of its tree (pid 1 for
    /// a process on the host; the chain stops at a parent that is not listed).
    pub fn ancestors(&self, pid: u32) -> Vec<u32> {
        let mut chain = vec![pid];
        let mut seen = BTreeSet::from([pid]);
        let mut current = pid;
        while let Some(parent) = self.parent(current) {
            if !self.parent.contains_key(&parent) || !seen.insert(parent) {
                break;
            }
            chain.push(parent);
            current = parent;
        }
        chain
    }

    /// All processes below `pid`, depth first, children in pid order.
    pub fn descendants(&self, pid: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::from([pid]);
        let mut stack: Vec<u32> = self.children(pid).iter().rev().copied().collect();
        while let Some(next) = stack.pop() {
            if seen.insert(next) {
                out.push(next);
                stack.extend(self.children(next).iter().rev());
            }
        }
        out
    }
}

fn command_or_comm(cmdline: &str, comm: &str) -> String {
    if cmdline.is_empty() {
        format!("[{}]", printable(comm))
    } else {
        printable(cmdline)
    }
}

/// Text a process wrote about itself (its arguments, its name), safe to put
/// on a terminal: a process can set its command line to an escape sequence
/// that retitles, recolours or reprograms the terminal showing it, so every
/// control character becomes `?`, as ps prints them.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn read_pid_ns(pid: u32) -> Option<u64> {
    let target = std::fs::read_link(proc_dir(pid).join("ns/pid")).ok()?;
    parse_ns_link(&target.to_string_lossy())
        .ok()
        .map(|NsLink { inode, .. }| inode)
}
