//! The sampler: reads what the current step's panels show, several times a
//! second, on its own thread.
//!
//! Each pass reads only the panels the step shows ([`Want`]), for the one
//! container they follow, through [`crate::inspect`] (and the engine's
//! container records, to find the container's PID and cgroup). The costly
//! readings run less often: `iptables-save` (a process to start) every other
//! pass, the data root's sizes (a directory walk) once a second.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::lesson::PanelKind;
use super::netview;
use super::sample::{
    ApiLink, ApiRequest, ApiView, CgroupView, ChainRow, ContainerInfo, DevicesView, IfaceRow,
    LayerRow, LayersView, NetworkView, NsView, ProcRow, ProcessesView, Reading, Sample, TreeRow,
    UpperEntry, UpperKind, UpperView, Want,
};
use crate::engine::DataRoot;
use crate::engine::container::{self, Paths, Record};
use crate::inspect::{
    iptables, mountinfo, namespaces, netdev, proc_status, processes, unix_socket,
};
use crate::runtime::cgroups::{self, Cgroup, Layout};
use crate::runtime::trace::Trace;

/// Samples per second: at least four, as the lab promises.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// How many memory readings the sparkline keeps (a minute at 4 per second).
const HISTORY: usize = 240;

/// Most entries the upper-dir panel lists.
const UPPER_LIMIT: usize = 200;

/// What the sampler remembers between passes.
#[derive(Debug, Default)]
pub struct Sampler {
    root: Option<DataRoot>,
    layout: Option<Layout>,
    tick: u64,
    /// Container id the history belongs to.
    history_of: String,
    memory_history: Vec<u64>,
    last_cpu: Option<(Instant, u64)>,
    dataroot: Reading<Vec<TreeRow>>,
    nat: Reading<Vec<iptables::Rule>>,
    /// The api panel's chain (a scan of every process's descriptors: every
    /// other pass) and requests.
    api: Reading<ApiView>,
    /// The lab's containers, running and not, as last listed.
    lab_containers: Option<(Vec<String>, Vec<String>)>,
}

impl Sampler {
    /// A sampler for one data root (`None` without root: every container
    /// panel then says so).
    pub fn new(root: Option<DataRoot>) -> Sampler {
        Sampler {
            root,
            layout: cgroups::detect().ok(),
            ..Sampler::default()
        }
    }

    /// Runs until `stop` is set, sending each sample through `send`; stops
    /// too when `send` returns false (the lab has gone).
    pub fn run(
        mut self,
        want: Arc<Mutex<Want>>,
        stop: Arc<AtomicBool>,
        mut send: impl FnMut(Sample) -> bool,
    ) {
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let want = want.lock().map(|w| w.clone()).unwrap_or_default();
            let sample = self.sample(&want);
            if !send(sample) {
                return;
            }
            std::thread::sleep(INTERVAL.saturating_sub(started.elapsed()));
        }
    }

    /// One pass.
    pub fn sample(&mut self, want: &Want) -> Sample {
        self.tick += 1;
        let mut s = Sample {
            seq: self.tick,
            ..Sample::default()
        };
        let Some(root) = self.root.clone() else {
            let why = "reading a container's kernel state needs root: run `sudo glassbox lab`";
            s.container = Reading::Missing(why.into());
            return s;
        };
        // Every topic's demos leave their lab- containers (running, or
        // exited with their upper dirs) until r or quitting: the footer
        // counts them, once a second.
        if self.tick % 4 == 1 || self.lab_containers.is_none() {
            let (running, stopped): (Vec<_>, Vec<_>) = container::list(&root)
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r.name.starts_with("lab-"))
                .partition(|r| r.is_running());
            let names = |v: Vec<container::Record>| v.into_iter().map(|r| r.name).collect();
            self.lab_containers = Some((names(running), names(stopped)));
        }
        (s.lab_running, s.lab_stopped) = self.lab_containers.clone().unwrap_or_default();
        let focus = focus(&root, want, &mut s);
        for &panel in &want.panels {
            self.read_panel(panel, &root, focus.as_ref(), &mut s);
        }
        s
    }

    /// Reads one panel's values into `s`. A container's panel stays empty
    /// without a container (`s.container` says why); one that reads the live
    /// process says so when the process is gone.
    fn read_panel(
        &mut self,
        panel: PanelKind,
        root: &DataRoot,
        focus: Option<&Focus>,
        s: &mut Sample,
    ) {
        match panel {
            // The builder's output: the app keeps it from the demo's run.
            PanelKind::Build => {}
            PanelKind::Dataroot => {
                if self.tick % 4 == 1 || matches!(self.dataroot, Reading::Absent) {
                    self.dataroot = Reading::from_result(data_root_tree(root));
                }
                s.dataroot = self.dataroot.clone();
            }
            PanelKind::Api => {
                if self.tick % 2 == 1 || matches!(self.api, Reading::Absent) {
                    self.api = Reading::from_result(api_view(root, focus));
                }
                s.api = self.api.clone();
            }
            PanelKind::Nat => {
                if self.tick % 2 == 1 || matches!(self.nat, Reading::Absent) {
                    self.nat = read_nat();
                }
                s.nat = self.nat.clone();
            }
            PanelKind::Trace | PanelKind::Timeline => {
                if let Some(f) = focus
                    && matches!(s.trace, Reading::Absent)
                {
                    let trace = f.paths.trace();
                    s.trace = match std::fs::read_to_string(&trace) {
                        Ok(text) => Reading::Ready(Trace::from_json_lines(&text).events),
                        Err(e) => Reading::Missing(format!("cannot read {}: {e}", trace.display())),
                    };
                }
            }
            PanelKind::Bundle => {
                if let Some(f) = focus {
                    s.bundle =
                        Reading::from_result(bundle_summary(&f.paths.bundle().join("config.json")));
                }
            }
            PanelKind::Upper => {
                if let Some(f) = focus {
                    s.upper =
                        Reading::from_result(upper_view(&f.paths.upper(), &f.record.lower_dirs));
                }
            }
            PanelKind::Layers => {
                if let Some(f) = focus {
                    s.layers = Reading::from_result(self.layers(root, &f.record, f.pid));
                }
            }
            PanelKind::Namespaces => {
                if let Some(f) = live(focus, &mut s.namespaces) {
                    s.namespaces = Reading::from_result(namespace_view(f.pid));
                }
            }
            PanelKind::Processes => {
                if let Some(f) = live(focus, &mut s.processes) {
                    s.processes = Reading::from_result(self.processes(&f.record, f.pid));
                }
            }
            PanelKind::Cgroup => {
                if let Some(f) = live(focus, &mut s.cgroup) {
                    s.cgroup = self.cgroup(&f.record);
                }
            }
            PanelKind::Security => {
                if let Some(f) = live(focus, &mut s.security) {
                    s.security = Reading::from_result(proc_status::read_proc_status(f.pid));
                }
            }
            PanelKind::Devices => {
                if let Some(f) = live(focus, &mut s.devices) {
                    s.devices = Reading::from_result(self.devices(&f.record));
                }
            }
            PanelKind::Chain => {
                if let Some(f) = live(focus, &mut s.chain) {
                    s.chain = Reading::Ready(chain(&f.record, f.pid));
                }
            }
            PanelKind::Network => {
                if let Some(f) = live(focus, &mut s.network) {
                    s.network = Reading::from_result(network(&f.record, f.pid));
                }
            }
        }
    }

    /// The device cgroup of the container, as the kernel holds it.
    fn devices(&self, record: &Record) -> anyhow::Result<DevicesView> {
        use crate::runtime::cgroups::{Layout, devices};
        let rel = record.cgroup.trim_start_matches('/');
        match &self.layout {
            Some(Layout::V1(m)) => {
                let dir = m
                    .devices
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("no cgroup v1 devices hierarchy is mounted"))?
                    .join(rel);
                let path = dir.join("devices.list");
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                Ok(DevicesView {
                    source: path.display().to_string(),
                    lines: text.lines().map(String::from).collect(),
                })
            }
            Some(Layout::V2 { mount }) => {
                let dir = mount.join(rel);
                let progs = devices::attached(&dir).map_err(|e| {
                    anyhow::anyhow!("bpf(BPF_PROG_QUERY) on {}: {e}", dir.display())
                })?;
                let Some(p) = progs.first() else {
                    anyhow::bail!("no device program is attached to {}", dir.display());
                };
                Ok(DevicesView {
                    source: format!("BPF program id {} on {}", p.id, dir.display()),
                    lines: p
                        .insns
                        .iter()
                        .enumerate()
                        .map(|(n, i)| format!("{n:3}: {}", devices::disassemble(i)))
                        .collect(),
                })
            }
            None => anyhow::bail!("no cgroup hierarchy is mounted on this host"),
        }
    }

    fn processes(&self, record: &Record, pid: u32) -> anyhow::Result<ProcessesView> {
        let layout = self
            .layout
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no cgroup hierarchy is mounted"))?;
        let group = Cgroup::new(layout, &record.cgroup);
        let mut pids: Vec<u32> = group.pids().into_iter().map(|p| p as u32).collect();
        if !pids.contains(&pid) {
            pids.push(pid);
        }
        pids.sort_unstable();
        let mut rows = Vec::new();
        if let Ok(main) = processes::read_process(pid)
            && let Ok(parent) = processes::read_process(main.ppid)
        {
            rows.push(ProcRow {
                host_pid: parent.pid,
                ns_pid: None,
                uid: parent.uid,
                command: parent.command(),
            });
        }
        for p in pids {
            // A process that exited between the listing and now is skipped.
            if let Ok(info) = processes::read_process(p) {
                rows.push(ProcRow {
                    host_pid: info.pid,
                    ns_pid: info.nspid.last().copied().filter(|_| info.nspid.len() > 1),
                    uid: info.uid,
                    command: info.command(),
                });
            }
        }
        Ok(ProcessesView {
            rows,
            host_total: processes::list_pids()?.len(),
        })
    }

    fn cgroup(&mut self, record: &Record) -> Reading<CgroupView> {
        let Some(layout) = &self.layout else {
            return Reading::Missing("no cgroup hierarchy is mounted on this host".into());
        };
        let group = Cgroup::new(layout, &record.cgroup);
        let usage = match group.usage() {
            Ok(u) => u,
            Err(e) => return Reading::Missing(format!("{e:#}")),
        };
        if self.history_of != record.id {
            self.history_of = record.id.clone();
            self.memory_history.clear();
            self.last_cpu = None;
        }
        self.memory_history.push(usage.memory_bytes);
        if self.memory_history.len() > HISTORY {
            self.memory_history.remove(0);
        }
        let now = Instant::now();
        let cpu_percent = match self.last_cpu {
            Some((at, used)) => {
                let wall = now.duration_since(at).as_secs_f64() * 1e6;
                if wall > 0.0 {
                    usage.cpu_usage_usec.saturating_sub(used) as f64 / wall * 100.0
                } else {
                    0.0
                }
            }
            None => 0.0,
        };
        self.last_cpu = Some((now, usage.cpu_usage_usec));
        let dir = group
            .dirs()
            .first()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        Reading::Ready(CgroupView {
            version: layout.version(),
            dir,
            usage,
            memory_history: self.memory_history.clone(),
            cpu_percent,
        })
    }

    fn layers(&self, root: &DataRoot, record: &Record, pid: u32) -> anyhow::Result<LayersView> {
        // The kernel's word first: the overlay mounted as the container's /.
        let (lower, upperdir) = if pid > 0 {
            let mounts = mountinfo::read_mountinfo(pid)?;
            let overlay = mountinfo::find_overlay(&mounts, Path::new("/"))
                .ok_or_else(|| anyhow::anyhow!("the container's / is not an overlay mount"))?;
            let dirs = mountinfo::overlay_dirs(overlay)?;
            (
                dirs.lowerdir,
                dirs.upperdir
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            )
        } else {
            // Not running: no mount to read; the record keeps what was mounted.
            (
                record.lower_dirs.clone(),
                Paths::new(root, &record.id).upper().display().to_string(),
            )
        };
        let store = root.images();
        let config = store.config(&record.image_id).ok();
        // Layers bottom first, each with the history entry that made it.
        let mut made_by: BTreeMap<String, String> = BTreeMap::new();
        let mut empty_history = Vec::new();
        if let Some(config) = &config {
            let mut diff_ids = config.rootfs.diff_ids.iter();
            for h in &config.history {
                if h.empty_layer {
                    empty_history.push(h.created_by.clone());
                } else if let Some(d) = diff_ids.next() {
                    made_by.insert(d.clone(), h.created_by.clone());
                }
            }
        }
        let rows = lower
            .iter()
            .map(|dir| {
                let diff_id = dir
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|h| format!("sha256:{}", h.to_string_lossy()))
                    .unwrap_or_default();
                LayerRow {
                    dir: dir.display().to_string(),
                    size: store.layer_size(&diff_id),
                    created_by: made_by.get(&diff_id).cloned().unwrap_or_default(),
                }
            })
            .collect();
        Ok(LayersView {
            image: record.image.clone(),
            lower: rows,
            upperdir,
            empty_history,
        })
    }
}

/// The container the panels follow, found through its record.
struct Focus {
    record: Record,
    paths: Paths,
    /// Its host PID while it runs, else 0.
    pid: u32,
    /// Why the kernel has nothing to show when it does not run.
    not_running: Option<String>,
}

/// Finds the focused container and fills `s.container`; `None` (with the
/// reason in `s.container`) when there is none.
fn focus(root: &DataRoot, want: &Want, s: &mut Sample) -> Option<Focus> {
    let Some(name) = &want.focus else {
        s.container =
            Reading::Missing("no container yet: press Enter to run this step's demo".into());
        return None;
    };
    let record = match container::find(root, name) {
        Ok(r) => r,
        Err(_) => {
            let how = want
                .how_to_start
                .as_deref()
                .unwrap_or("press Enter to run this step's demo");
            s.container = Reading::Missing(format!("no container {name} yet: {how}"));
            return None;
        }
    };
    let paths = Paths::new(root, &record.id);
    let running = record.is_running();
    let pid = if running { record.state.pid as u32 } else { 0 };
    s.container = Reading::Ready(ContainerInfo {
        name: record.name.clone(),
        short_id: record.short_id().to_string(),
        status: record.status_line(),
        running,
        pid,
        image: record.image.clone(),
        exit_code: record.state.exit_code,
        oom_killed: record.state.oom_killed,
    });
    let not_running = (!running).then(|| {
        format!(
            "{} is not running ({}): its process is gone, so the kernel has nothing to show",
            record.name,
            record.status_line()
        )
    });
    Some(Focus {
        record,
        paths,
        pid,
        not_running,
    })
}

/// The focus, for a panel that reads its live process: `None` without a
/// container, or (saying so in `slot`) when its process is gone.
fn live<'a, T>(focus: Option<&'a Focus>, slot: &mut Reading<T>) -> Option<&'a Focus> {
    let f = focus?;
    match &f.not_running {
        Some(why) => {
            *slot = Reading::Missing(why.clone());
            None
        }
        None => Some(f),
    }
}

/// The host's namespaces (pid 1's, or the lab's own where pid 1's links
/// cannot be read) against the container's.
fn namespace_view(pid: u32) -> anyhow::Result<NsView> {
    let (host, label) = match namespaces::read_namespaces(1) {
        Ok(ns) => (ns, "pid 1".to_string()),
        Err(_) => {
            let me = std::process::id();
            (namespaces::read_namespaces(me)?, format!("lab, pid {me}"))
        }
    };
    let ctr = namespaces::read_namespaces(pid)?;
    Ok(NsView {
        host: label,
        rows: namespaces::compare_namespaces(&host, &ctr),
    })
}

/// Most requests the api panel keeps: the log's last lines.
const API_REQUESTS: usize = 40;

/// The api panel: the chain a `docker -H unix://SOCKET` command goes
/// through, each link read from the kernel (the CLI and the daemon from
/// /proc, the socket from /proc/net/unix, the shim and the container from
/// the record's pids, checked in /proc), and the daemon's request log.
fn api_view(root: &DataRoot, focus: Option<&Focus>) -> anyhow::Result<ApiView> {
    let socket = root.path.join(super::lesson::DAEMON_SOCKET);
    let socket_text = socket.display().to_string();
    let sockets = unix_socket::read_net_unix()?;
    let listening = sockets
        .iter()
        .find(|s| s.listening && s.path == socket_text);
    let open = sockets
        .iter()
        .filter(|s| s.connected && s.path == socket_text)
        .count();
    let everyone = processes::list_processes()?;
    let by_pid = |pid: u32| everyone.iter().find(|p| p.pid == pid);
    let mut links = Vec::new();
    let clients: Vec<_> = everyone
        .iter()
        .filter(|p| is_docker_cli(&p.cmdline, &socket_text))
        .collect();
    if clients.is_empty() {
        links.push(ApiLink {
            what: "docker CLI",
            pid: None,
            detail: "none runs now: each docker command connects, sends its requests, reads the answers and exits".into(),
        });
    }
    for c in clients {
        links.push(ApiLink {
            what: "docker CLI",
            pid: Some(c.pid),
            detail: c.command(),
        });
    }
    let daemon = match listening {
        Some(l) => {
            links.push(ApiLink {
                what: "socket",
                pid: None,
                detail: format!(
                    "{socket_text}: listening (inode {}), {open} connection{} open now",
                    l.inode,
                    if open == 1 { "" } else { "s" }
                ),
            });
            unix_socket::holders(l.inode)?
                .into_iter()
                .filter_map(by_pid)
                .find(|p| p.cmdline.contains(" daemon"))
        }
        None => {
            links.push(ApiLink {
                what: "socket",
                pid: None,
                detail: format!(
                    "{socket_text}: nothing listens (this step's Enter starts the daemon)"
                ),
            });
            None
        }
    };
    links.push(match daemon {
        Some(d) => ApiLink {
            what: "glassbox daemon",
            pid: Some(d.pid),
            detail: format!("{} (holds the listening socket)", d.command()),
        },
        None => ApiLink {
            what: "glassbox daemon",
            pid: None,
            detail: "not running".into(),
        },
    });
    let running = focus.filter(|f| f.not_running.is_none());
    let shim = running
        .and_then(|f| u32::try_from(f.record.state.monitor_pid).ok())
        .and_then(by_pid);
    links.push(match shim {
        Some(sh) => {
            let parent = by_pid(sh.ppid).map(|p| p.comm.clone()).unwrap_or_default();
            let whose = if daemon.is_some_and(|d| d.pid == sh.ppid) {
                "the daemon's child".to_string()
            } else {
                format!(
                    "its parent is {} {parent}, not the daemon: the container outlives a daemon restart",
                    sh.ppid
                )
            };
            ApiLink {
                what: "shim",
                pid: Some(sh.pid),
                detail: format!("{}; {whose}", sh.command()),
            }
        }
        None => ApiLink {
            what: "shim",
            pid: None,
            detail: "no container of this step runs yet".into(),
        },
    });
    links.push(match running.and_then(|f| by_pid(f.pid)) {
        Some(c) => ApiLink {
            what: "container",
            pid: Some(c.pid),
            detail: c.command(),
        },
        None => ApiLink {
            what: "container",
            pid: None,
            detail: "not running".into(),
        },
    });
    let log = root.daemon_requests_log();
    let text = match std::fs::read_to_string(&log) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => anyhow::bail!("cannot read {}: {e}", log.display()),
    };
    let mut requests: Vec<ApiRequest> = text.lines().filter_map(ApiRequest::parse).collect();
    requests.drain(..requests.len().saturating_sub(API_REQUESTS));
    Ok(ApiView {
        links,
        log: log.display().to_string(),
        requests,
    })
}

/// Pure: a docker CLI process talking to `socket` (`docker -H unix://SOCKET …`).
pub fn is_docker_cli(cmdline: &str, socket: &str) -> bool {
    let mut words = cmdline.split(' ');
    let program = words.next().unwrap_or("");
    Path::new(program)
        .file_name()
        .is_some_and(|n| n == "docker")
        && words.any(|w| w == format!("unix://{socket}") || w == format!("--host=unix://{socket}"))
}

/// The container's process and its ancestors up to the host's PID 1.
fn chain(record: &Record, pid: u32) -> Vec<ChainRow> {
    let mut links = Vec::new();
    let mut current = pid;
    for _ in 0..32 {
        let Ok(info) = processes::read_process(current) else {
            break;
        };
        links.push(ChainLink {
            pid: current,
            ppid: info.ppid,
            comm: info.comm.clone(),
            command: info.command(),
        });
        if current == 1 || info.ppid == 0 {
            break;
        }
        current = info.ppid;
    }
    chain_roles(&links, pid, record.state.monitor_pid, record.config.detach)
}

/// One process of the chain, as /proc/PID/stat and cmdline give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    pub pid: u32,
    pub ppid: u32,
    /// /proc/PID/comm: the name `ps -o comm` shows (the shim's is
    /// `glassbox-shim`, set with prctl(PR_SET_NAME)).
    pub comm: String,
    pub command: String,
}

/// Pure: names each link's role. The host's init is said to have adopted
/// the shim only when it did: the shim's parent is PID 1 and the container
/// was started with `-d` (the CLI that forked the shim has exited). A
/// foreground run's shim is the `glassbox run` process itself, whose parent
/// is the shell (or the lab) that started it.
pub fn chain_roles(
    links: &[ChainLink],
    main_pid: u32,
    monitor_pid: i32,
    detached: bool,
) -> Vec<ChainRow> {
    let shim_parent = links
        .iter()
        .find(|l| l.pid as i32 == monitor_pid)
        .map(|l| l.ppid);
    links
        .iter()
        .map(|l| {
            let role = if l.pid == main_pid {
                "the container's main process: PID 1 inside".to_string()
            } else if l.pid as i32 == monitor_pid {
                if detached {
                    "glassbox's shim: waits for it, records its exit (containerd-shim's job)"
                        .to_string()
                } else {
                    "glassbox run in the foreground, as the shim: waits for it, records its exit"
                        .to_string()
                }
            } else if l.pid == 1 && shim_parent == Some(1) && detached {
                "the host's init: adopted the shim when `glassbox run -d` exited".to_string()
            } else if l.pid == 1 {
                "the host's init: the first process, ancestor of every other".to_string()
            } else if Some(l.pid) == shim_parent && !detached {
                "started glassbox run, which waits in the foreground".to_string()
            } else {
                String::new()
            };
            ChainRow {
                pid: l.pid,
                comm: l.comm.clone(),
                command: l.command.clone(),
                role,
            }
        })
        .collect()
}

/// The bridge, this container's veth pair (each end's iflink is the other's
/// ifindex), each interface's own addresses (rtnetlink, in the namespace the
/// interface lives in) and the container's routes, with every byte counter.
fn network(record: &Record, pid: u32) -> anyhow::Result<NetworkView> {
    let mut ifaces = Vec::new();
    let sys = Path::new("/sys/class/net");
    let pair = crate::engine::network::veth_ends(record);
    let host_end = pair.as_ref().map(|(h, _)| h.name.clone());
    let host_addresses = netview::read_host_addresses()?;
    let addresses_of = |table: &netview::Addresses, name: &str| -> Vec<String> {
        table.get(name).cloned().unwrap_or_default()
    };
    for dev in netdev::list_netdevs(sys)? {
        let mine = host_end.as_deref() == Some(dev.name.as_str());
        // Other containers' veths would only crowd the panel.
        if dev.name == "glassbox0" || mine || (host_end.is_none() && dev.name.starts_with("gb")) {
            ifaces.push(IfaceRow {
                name: dev.name.clone(),
                side: "host".into(),
                state: dev.operstate.clone(),
                addresses: addresses_of(&host_addresses, &dev.name),
                stats: dev.stats,
                peer: if mine {
                    pair.as_ref()
                        .map(|(_, c)| c.name.clone())
                        .unwrap_or_default()
                } else {
                    String::new()
                },
            });
        }
    }
    let container_addresses = netview::read_addresses(pid)?;
    for dev in netdev::read_proc_net_dev(pid)? {
        ifaces.push(IfaceRow {
            name: dev.name.clone(),
            side: "container".into(),
            state: String::new(),
            addresses: addresses_of(&container_addresses, &dev.name),
            stats: dev.stats,
            peer: match &pair {
                Some((h, c)) if c.name == dev.name => h.name.clone(),
                _ => String::new(),
            },
        });
    }
    let routes = crate::inspect::net::read_routes(pid)?
        .iter()
        .map(crate::inspect::net::Route::display)
        .collect();
    Ok(NetworkView { ifaces, routes })
}

/// The nat table's rules that are glassbox's: in a GLASSBOX… chain, or jumping to one.
fn read_nat() -> Reading<Vec<iptables::Rule>> {
    match iptables::read_iptables_save(Some("nat")) {
        Ok(save) => Reading::Ready(
            save.table("nat")
                .map(|t| {
                    t.chains
                        .iter()
                        .flat_map(|c| c.rules.iter())
                        .filter(|r| {
                            r.chain.contains("GLASSBOX")
                                || r.target.as_deref().is_some_and(|t| t.contains("GLASSBOX"))
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Err(e) => {
            let text = format!("{e:#}");
            if text.contains("No such file") || text.contains("not found") {
                Reading::Missing(
                    "iptables-save is not installed: apt install iptables (topics 10 and 11 need it)"
                        .into(),
                )
            } else {
                Reading::Missing(text)
            }
        }
    }
}

/// config.json, as the few lines a student should read in it.
fn bundle_summary(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let s = |p: &str| v.pointer(p).cloned().unwrap_or(serde_json::Value::Null);
    let list = |p: &str, key: &str| -> String {
        s(p).as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.get(key).and_then(|k| k.as_str()).map(str::to_string))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let strings = |p: &str| -> String {
        s(p).as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
    let count = |p: &str| s(p).as_array().map_or(0, Vec::len);
    Ok(vec![
        format!("file: {}", path.display()),
        format!("ociVersion: {}", s("/ociVersion").as_str().unwrap_or("")),
        format!("process.args: {}", strings("/process/args")),
        format!(
            "process.user: uid {} gid {}",
            s("/process/user/uid"),
            s("/process/user/gid")
        ),
        format!("process.noNewPrivileges: {}", s("/process/noNewPrivileges")),
        format!(
            "process.capabilities.bounding: {} capabilities",
            count("/process/capabilities/bounding")
        ),
        format!("root.path: {}", s("/root/path").as_str().unwrap_or("")),
        format!("hostname: {}", s("/hostname").as_str().unwrap_or("")),
        format!("linux.namespaces: {}", list("/linux/namespaces", "type")),
        format!(
            "linux.cgroupsPath: {}",
            s("/linux/cgroupsPath").as_str().unwrap_or("")
        ),
        format!(
            "linux.resources.memory.limit: {}",
            s("/linux/resources/memory/limit")
        ),
        format!(
            "linux.resources.pids.limit: {}",
            s("/linux/resources/pids/limit")
        ),
        format!("mounts: {}", list("/mounts", "destination")),
        format!(
            "linux.maskedPaths: {} paths; readonlyPaths: {}",
            count("/linux/maskedPaths"),
            count("/linux/readonlyPaths")
        ),
    ])
}

/// The upper dir's entries, classified against the lower layers.
fn upper_view(upper: &Path, lower: &[PathBuf]) -> anyhow::Result<UpperView> {
    let mut entries = Vec::new();
    let mut total = 0;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = upper.join(&rel);
        let read = std::fs::read_dir(&dir)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?;
        let mut names: Vec<_> = read.flatten().collect();
        names.sort_by_key(|e| e.file_name());
        for entry in names {
            let rel_path = rel.join(entry.file_name());
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            let in_lower = lower
                .iter()
                .any(|l| l.join(&rel_path).symlink_metadata().is_ok());
            let shown = format!("/{}", rel_path.display());
            let kind = if meta.file_type().is_char_device() && meta.rdev() == 0 {
                UpperKind::Whiteout
            } else if meta.is_dir() {
                stack.push(rel_path.clone());
                if in_lower {
                    continue;
                }
                UpperKind::Dir
            } else if in_lower {
                UpperKind::CopyUp
            } else {
                UpperKind::Added
            };
            total += meta.len();
            if entries.len() < UPPER_LIMIT {
                entries.push(UpperEntry {
                    path: shown,
                    kind,
                    size: if meta.is_file() { meta.len() } else { 0 },
                });
            }
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(UpperView {
        dir: upper.display().to_string(),
        entries,
        total_bytes: total,
    })
}

/// Bytes under `path`, not following links nor crossing into other mounts
/// (a running container's rootfs is a mount point inside the data root).
fn du(path: &Path, dev: u64) -> u64 {
    let Ok(meta) = path.symlink_metadata() else {
        return 0;
    };
    if meta.dev() != dev {
        return 0;
    }
    if !meta.is_dir() {
        return meta.blocks() * 512;
    }
    let mut total = meta.blocks() * 512;
    if let Ok(rd) = std::fs::read_dir(path) {
        for e in rd.flatten() {
            total += du(&e.path(), dev);
        }
    }
    total
}

/// The data root two levels deep, with sizes; containers are named.
fn data_root_tree(root: &DataRoot) -> anyhow::Result<Vec<TreeRow>> {
    let dev = root.path.symlink_metadata()?.dev();
    let names: BTreeMap<String, String> = container::list(root)
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect();
    let mut rows = vec![TreeRow {
        depth: 0,
        name: root.path.display().to_string(),
        bytes: du(&root.path, dev),
        is_dir: true,
    }];
    let mut top: Vec<_> = std::fs::read_dir(&root.path)?.flatten().collect();
    top.sort_by_key(|e| e.file_name());
    for entry in top {
        let path = entry.path();
        let is_dir = path.is_dir();
        rows.push(TreeRow {
            depth: 1,
            name: entry.file_name().to_string_lossy().into_owned(),
            bytes: du(&path, dev),
            is_dir,
        });
        if !is_dir || entry.file_name() == "names" {
            continue;
        }
        let mut children: Vec<_> = std::fs::read_dir(&path)?.flatten().collect();
        children.sort_by_key(|e| e.file_name());
        for child in children.iter().take(12) {
            let name = child.file_name().to_string_lossy().into_owned();
            let shown = match names.get(&name) {
                Some(n) => format!("{} ({n})", &name[..12.min(name.len())]),
                None if name.len() > 24 => format!("{}…", &name[..12]),
                None => name,
            };
            rows.push(TreeRow {
                depth: 2,
                name: shown,
                bytes: du(&child.path(), dev),
                is_dir: child.path().is_dir(),
            });
        }
        if children.len() > 12 {
            rows.push(TreeRow {
                depth: 2,
                name: format!("… {} more", children.len() - 12),
                bytes: 0,
                is_dir: false,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(pid: u32, ppid: u32, command: &str) -> ChainLink {
        ChainLink {
            pid,
            ppid,
            comm: command.split_whitespace().next().unwrap_or("").to_string(),
            command: command.to_string(),
        }
    }

    fn roles(rows: &[ChainRow]) -> Vec<(u32, &str)> {
        rows.iter().map(|r| (r.pid, r.role.as_str())).collect()
    }

    #[test]
    fn init_adopted_the_shim_of_a_detached_run() {
        let links = [
            link(4821, 4819, "sleep 3600"),
            link(
                4819,
                1,
                "glassbox run -d --name lab-chain busybox sleep 3600",
            ),
            link(1, 0, "/sbin/init"),
        ];
        let rows = chain_roles(&links, 4821, 4819, true);
        assert_eq!(
            roles(&rows)[2],
            (
                1,
                "the host's init: adopted the shim when `glassbox run -d` exited"
            )
        );
    }

    #[test]
    fn init_is_described_neutrally_when_it_adopted_nothing() {
        // A foreground run: the shim is `glassbox run` itself, child of a shell.
        let links = [
            link(4821, 4819, "sleep 3600"),
            link(4819, 300, "glassbox run --name lab-fg busybox sleep 3600"),
            link(300, 1, "bash"),
            link(1, 0, "/sbin/init"),
        ];
        let rows = chain_roles(&links, 4821, 4819, false);
        assert!(!rows[3].role.contains("adopted"), "{:?}", rows[3]);
        assert_eq!(
            rows[3].role,
            "the host's init: the first process, ancestor of every other"
        );
        assert_eq!(
            rows[2].role,
            "started glassbox run, which waits in the foreground"
        );
        // Detached, but a subreaper (not PID 1) took the shim.
        let links = [
            link(4821, 4819, "sleep 3600"),
            link(
                4819,
                700,
                "glassbox run -d --name lab-chain busybox sleep 3600",
            ),
            link(700, 1, "systemd --user"),
            link(1, 0, "/sbin/init"),
        ];
        let rows = chain_roles(&links, 4821, 4819, true);
        assert!(!rows[3].role.contains("adopted"), "{:?}", rows[3]);
    }
}
