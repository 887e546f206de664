//! What the panels draw: one snapshot of kernel state, as plain data.
//!
//! The [`sampler`](super::sampler) fills a [`Sample`] several times a second
//! from /proc, cgroupfs, mountinfo, sysfs and `iptables-save`; the TUI draws it
//! and does no I/O of its own, which is what lets its screens be tested with
//! fixture data. Each panel's data is a [`Reading`]: not read (the step does
//! not show that panel), what went wrong in one sentence, or the values.

use std::collections::BTreeSet;

use super::lesson::PanelKind;

use crate::inspect::cgroup::CgroupUsage;
use crate::inspect::iptables::Rule;
use crate::inspect::namespaces::NsComparison;
use crate::inspect::netdev::NetStats;
use crate::inspect::proc_status::ProcStatus;
use crate::runtime::trace::Event;

/// One panel's data.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Reading<T> {
    /// Not sampled (yet): the step does not show this panel, or no sample came.
    #[default]
    Absent,
    /// Why there is nothing to show, in one sentence.
    Missing(String),
    Ready(T),
}

impl<T> Reading<T> {
    pub fn from_result<E: std::fmt::Display>(r: Result<T, E>) -> Reading<T> {
        match r {
            Ok(v) => Reading::Ready(v),
            Err(e) => Reading::Missing(e.to_string()),
        }
    }

    pub fn ready(&self) -> Option<&T> {
        match self {
            Reading::Ready(v) => Some(v),
            _ => None,
        }
    }
}

/// What the panels of the current step ask the sampler for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Want {
    /// The container the panels follow, by name.
    pub focus: Option<String>,
    /// The panels shown.
    pub panels: BTreeSet<PanelKind>,
    /// While the focused container does not exist: how the student makes
    /// it (which step's demo starts it). `None`: this step's Enter does.
    pub how_to_start: Option<String>,
}

/// Everything one pass of the sampler read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Counts samples since the lab started: the screen shows that it is live.
    pub seq: u64,
    /// The focused container, as its record and the kernel say.
    pub container: Reading<ContainerInfo>,
    pub namespaces: Reading<NsView>,
    pub processes: Reading<ProcessesView>,
    pub cgroup: Reading<CgroupView>,
    pub layers: Reading<LayersView>,
    pub upper: Reading<UpperView>,
    pub network: Reading<NetworkView>,
    pub nat: Reading<Vec<Rule>>,
    pub security: Reading<ProcStatus>,
    pub devices: Reading<DevicesView>,
    pub trace: Reading<Vec<Event>>,
    pub chain: Reading<Vec<ChainRow>>,
    pub bundle: Reading<Vec<String>>,
    pub dataroot: Reading<Vec<TreeRow>>,
    pub api: Reading<ApiView>,
    /// The lab's containers that run now (`lab-…`), from every topic.
    pub lab_running: Vec<String>,
    /// The lab's containers that do not run (exited, or created): their
    /// records and upper dirs stay until r or quitting removes them.
    pub lab_stopped: Vec<String>,
}

/// The devices panel: which device nodes the container's cgroup lets it
/// open, as the kernel holds it (v1: `devices.list`; v2: the attached
/// BPF_PROG_TYPE_CGROUP_DEVICE program, disassembled).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DevicesView {
    /// Where it was read: the devices.list path, or "BPF program id N on DIR".
    pub source: String,
    pub lines: Vec<String>,
}

/// The namespaces panel: the host's namespaces against the container's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsView {
    /// Whose namespaces stand for the host's: `pid 1`, or the lab's own
    /// process where /proc/1/ns cannot be read (some sandboxes hide it).
    pub host: String,
    pub rows: Vec<NsComparison>,
}

/// The focused container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    pub name: String,
    pub short_id: String,
    /// docker's STATUS: `Up 3 seconds`, `Exited (137) 2 seconds ago`.
    pub status: String,
    pub running: bool,
    /// Host PID of its main process (0 when not running).
    pub pid: u32,
    pub image: String,
    pub exit_code: i32,
    pub oom_killed: bool,
}

/// One process, from the host's side and the container's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcRow {
    pub host_pid: u32,
    /// The pid inside the container's pid namespace (last NSpid entry);
    /// `None` for a host process outside it (the shim that waits for it).
    pub ns_pid: Option<u32>,
    pub uid: u32,
    pub command: String,
}

/// The processes panel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessesView {
    /// The container's processes, plus its parent on the host.
    pub rows: Vec<ProcRow>,
    /// How many processes the host sees in all.
    pub host_total: usize,
}

/// The cgroup panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CgroupView {
    /// 1 or 2.
    pub version: u8,
    /// The group's directory (the memory controller's, on v1).
    pub dir: String,
    pub usage: CgroupUsage,
    /// memory bytes, oldest first (the sparkline).
    pub memory_history: Vec<u64>,
    /// CPU used over the last interval, in percent of one core.
    pub cpu_percent: f64,
}

/// One image layer under the container's root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerRow {
    /// The lower directory, as mountinfo lists it (top-most first).
    pub dir: String,
    /// Size of the layer's tar, as `docker history` shows it.
    pub size: u64,
    /// The build step that made it (image history).
    pub created_by: String,
}

/// The layers panel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayersView {
    pub image: String,
    /// From the container's mountinfo: `lowerdir=`, top-most first.
    pub lower: Vec<LayerRow>,
    pub upperdir: String,
    /// History entries that made no layer (ENV, CMD, …): `docker history`'s 0B rows.
    pub empty_history: Vec<String>,
}

/// What one entry of the upper dir is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UpperKind {
    /// A file that exists in a lower layer too: copied up before it was changed.
    CopyUp,
    /// A file only the container has.
    Added,
    /// A 0/0 character device: the file is deleted for the container, kept in the image.
    Whiteout,
    Dir,
}

/// One entry of the upper dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpperEntry {
    /// The path as the container sees it (`/etc/hostname`).
    pub path: String,
    pub kind: UpperKind,
    pub size: u64,
}

/// The upper (writable) dir panel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpperView {
    pub dir: String,
    pub entries: Vec<UpperEntry>,
    pub total_bytes: u64,
}

/// One interface and its counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfaceRow {
    pub name: String,
    /// `host` or `container`.
    pub side: String,
    pub state: String,
    pub addresses: Vec<String>,
    pub stats: NetStats,
    /// For a veth end: the interface at the other end of the cable.
    pub peer: String,
}

/// The network panel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkView {
    pub ifaces: Vec<IfaceRow>,
    /// The container's routes: `default via 172.29.0.1 dev eth0`.
    pub routes: Vec<String>,
}

/// One link of the process chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainRow {
    pub pid: u32,
    /// /proc/PID/comm, the process's name.
    pub comm: String,
    /// Its command line (/proc/PID/cmdline).
    pub command: String,
    /// What this process is, in words: `the container's PID 1`, `shim`.
    pub role: String,
}

/// One row of the data root tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeRow {
    pub depth: usize,
    pub name: String,
    pub bytes: u64,
    pub is_dir: bool,
}

/// The api panel (topic 8): the chain from the docker CLI to the container,
/// as /proc shows it, beside the requests glassbox's daemon logged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiView {
    /// docker CLI, socket, glassbox daemon, shim, container: top down.
    pub links: Vec<ApiLink>,
    /// The daemon's request log (`<root>/daemon-requests.log`).
    pub log: String,
    /// Its last requests, oldest first: the newest is the bottom line.
    pub requests: Vec<ApiRequest>,
}

/// One link of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiLink {
    /// `docker CLI`, `socket`, `glassbox daemon`, `shim`, `container`.
    pub what: &'static str,
    /// The process, where the link is one (and runs now).
    pub pid: Option<u32>,
    /// Its command line, or what the kernel says about it.
    pub detail: String,
}

/// One request, as the daemon logged it: `TIME METHOD TARGET STATUS MSms`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRequest {
    /// `HH:MM:SS.mmm` (UTC, as the log's RFC 3339 stamp).
    pub time: String,
    pub method: String,
    /// The request target: path and query.
    pub path: String,
    pub status: u16,
    pub ms: f64,
}

impl ApiRequest {
    /// Parses one line of the daemon's request log; `None` for any other.
    pub fn parse(line: &str) -> Option<ApiRequest> {
        let mut f = line.split(' ');
        let stamp = f.next()?;
        let (method, path, status, ms) = (f.next()?, f.next()?, f.next()?, f.next()?);
        if f.next().is_some() {
            return None;
        }
        let time = stamp.split_once('T')?.1.get(..12)?.to_string();
        Some(ApiRequest {
            time,
            method: method.to_string(),
            path: path.to_string(),
            status: status.parse().ok()?,
            ms: ms.strip_suffix("ms")?.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod api_request_tests {
    use super::ApiRequest;

    #[test]
    fn reads_the_daemon_s_log_line() {
        let r = ApiRequest::parse(
            "2026-11-30T21:05:15.123456789Z POST /v1.43/containers/create?name=lab-api 201 12.5ms",
        )
        .unwrap();
        assert_eq!(r.time, "21:05:15.123");
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1.43/containers/create?name=lab-api");
        assert_eq!(r.status, 201);
        assert_eq!(r.ms, 12.5);
        assert_eq!(
            ApiRequest::parse("glassbox daemon: API 1.43 on unix://x"),
            None
        );
        assert_eq!(ApiRequest::parse(""), None);
    }
}
