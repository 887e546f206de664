//! /proc/PID/ns: which namespace of each type a process lives in.
//!
//! Each entry is a symbolic link whose text names the type and an inode number,
//! e.g. `net:[4026531840]`. Two processes share a namespace exactly when their
//! links show the same inode: a container is a process whose mnt, pid, net, uts
//! and ipc inodes differ from the host's (namespaces(7)).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::Path;

use serde::Serialize;

use super::{ParseError, ReadError, parse_num, proc_dir, processes};

/// The eight namespace types, named as in /proc/PID/ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NsType {
    Cgroup,
    Ipc,
    Mnt,
    Net,
    Pid,
    Time,
    User,
    Uts,
}

impl NsType {
    pub const ALL: [NsType; 8] = [
        NsType::Cgroup,
        NsType::Ipc,
        NsType::Mnt,
        NsType::Net,
        NsType::Pid,
        NsType::Time,
        NsType::User,
        NsType::Uts,
    ];

    /// The name of the link in /proc/PID/ns (and of the type in its text).
    pub fn name(self) -> &'static str {
        match self {
            NsType::Cgroup => "cgroup",
            NsType::Ipc => "ipc",
            NsType::Mnt => "mnt",
            NsType::Net => "net",
            NsType::Pid => "pid",
            NsType::Time => "time",
            NsType::User => "user",
            NsType::Uts => "uts",
        }
    }

    pub fn from_name(name: &str) -> Option<NsType> {
        NsType::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl fmt::Display for NsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One parsed /proc/PID/ns link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NsLink {
    pub kind: NsType,
    pub inode: u64,
}

/// Parses the text of a namespace link, e.g. `net:[4026531840]`.
pub fn parse_ns_link(text: &str) -> Result<NsLink, ParseError> {
    let text = text.trim();
    let expected = "`TYPE:[INODE]`, e.g. `net:[4026531840]`";
    let (kind, rest) = text
        .split_once(':')
        .ok_or_else(|| ParseError::invalid("namespace link", text, expected))?;
    let kind = NsType::from_name(kind).ok_or_else(|| {
        ParseError::invalid(
            "namespace type",
            kind,
            "cgroup, ipc, mnt, net, pid, time, user or uts",
        )
    })?;
    let inode = rest
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| ParseError::invalid("namespace link", text, expected))?;
    Ok(NsLink {
        kind,
        inode: parse_num("namespace inode", inode)?,
    })
}

/// The namespace inode of each type for one process. A type is `None` when
/// the kernel does not have it (time namespaces arrived in Linux 5.6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Namespaces {
    pub cgroup: Option<u64>,
    pub ipc: Option<u64>,
    pub mnt: Option<u64>,
    pub net: Option<u64>,
    pub pid: Option<u64>,
    pub time: Option<u64>,
    pub user: Option<u64>,
    pub uts: Option<u64>,
}

impl Namespaces {
    pub fn get(&self, kind: NsType) -> Option<u64> {
        match kind {
            NsType::Cgroup => self.cgroup,
            NsType::Ipc => self.ipc,
            NsType::Mnt => self.mnt,
            NsType::Net => self.net,
            NsType::Pid => self.pid,
            NsType::Time => self.time,
            NsType::User => self.user,
            NsType::Uts => self.uts,
        }
    }

    pub fn set(&mut self, kind: NsType, inode: Option<u64>) {
        *self.slot_mut(kind) = inode;
    }

    fn slot_mut(&mut self, kind: NsType) -> &mut Option<u64> {
        match kind {
            NsType::Cgroup => &mut self.cgroup,
            NsType::Ipc => &mut self.ipc,
            NsType::Mnt => &mut self.mnt,
            NsType::Net => &mut self.net,
            NsType::Pid => &mut self.pid,
            NsType::Time => &mut self.time,
            NsType::User => &mut self.user,
            NsType::Uts => &mut self.uts,
        }
    }
}

/// Reads the links in /proc/PID/ns.
pub fn read_namespaces(pid: u32) -> Result<Namespaces, ReadError> {
    read_namespaces_in(&proc_dir(pid).join("ns"))
}

/// Reads the namespace links in a directory laid out like /proc/PID/ns.
pub fn read_namespaces_in(ns_dir: &Path) -> Result<Namespaces, ReadError> {
    // A missing directory means the process is gone: an error, not "no namespaces".
    std::fs::metadata(ns_dir).map_err(|e| ReadError::io(ns_dir, e))?;
    let mut namespaces = Namespaces::default();
    for kind in NsType::ALL {
        let path = ns_dir.join(kind.name());
        match std::fs::read_link(&path) {
            Ok(target) => {
                let text = target.to_string_lossy();
                let link = parse_ns_link(&text).map_err(|source| ReadError::Parse {
                    path: path.clone(),
                    source,
                })?;
                namespaces.set(kind, Some(link.inode));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ReadError::io(&path, e)),
        }
    }
    Ok(namespaces)
}

/// One row of the namespace comparison panel: a type and both inodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NsComparison {
    pub kind: NsType,
    pub a: Option<u64>,
    pub b: Option<u64>,
    /// Both processes are in the same namespace of this type.
    pub shared: bool,
}

/// Compares two processes' namespaces type by type (e.g. host vs container).
pub fn compare_namespaces(a: &Namespaces, b: &Namespaces) -> Vec<NsComparison> {
    NsType::ALL
        .into_iter()
        .map(|kind| {
            let (a, b) = (a.get(kind), b.get(kind));
            NsComparison {
                kind,
                a,
                b,
                shared: a.is_some() && a == b,
            }
        })
        .collect()
}

/// One process's namespaces, as input to [`summarize_namespaces`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NsMember {
    pub pid: u32,
    pub command: String,
    pub namespaces: Namespaces,
}

/// One row of the lsns-like listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NsSummary {
    pub kind: NsType,
    pub inode: u64,
    /// Number of processes in this namespace.
    pub nprocs: usize,
    /// The lowest pid in it, and that process's command: lsns's PID and COMMAND.
    pub pid: u32,
    pub command: String,
}

/// Groups processes by namespace, as lsns(8) does. Sorted by inode, then type.
pub fn summarize_namespaces(members: &[NsMember]) -> Vec<NsSummary> {
    let mut groups: BTreeMap<(u64, NsType), NsSummary> = BTreeMap::new();
    for member in members {
        for kind in NsType::ALL {
            let Some(inode) = member.namespaces.get(kind) else {
                continue;
            };
            let row = groups.entry((inode, kind)).or_insert_with(|| NsSummary {
                kind,
                inode,
                nprocs: 0,
                pid: member.pid,
                command: member.command.clone(),
            });
            row.nprocs += 1;
            if member.pid < row.pid {
                row.pid = member.pid;
                row.command.clone_from(&member.command);
            }
        }
    }
    groups.into_values().collect()
}

/// Every namespace in use, as lsns(8) lists it. Processes that exit during the
/// scan, or whose links this user may not read, are left out.
pub fn list_namespaces() -> Result<Vec<NsSummary>, ReadError> {
    let members: Vec<NsMember> = processes::list_pids()?
        .into_iter()
        .filter_map(|pid| {
            let namespaces = read_namespaces(pid).ok()?;
            let command = processes::read_command(pid).ok()?;
            Some(NsMember {
                pid,
                command,
                namespaces,
            })
        })
        .collect();
    Ok(summarize_namespaces(&members))
}
