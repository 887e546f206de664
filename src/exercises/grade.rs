//! Grading: each check kind of [`super::spec`] asked of the kernel.
//!
//! A check passes with evidence ("memory.max is 209715200") or fails with a
//! reason that names what the kernel showed and what was expected
//! ("container capped: memory.max is 208666624, expected 209715200"), so the
//! student learns from a failure what to look at. See [`super::kernel`] for
//! where each value is read and why that is the kernel's truth.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::kernel::{self, Checked, Live, Problem, control_file, live, overlay_with_upper};
use super::spec::{Check, Observe};
use crate::engine::DataRoot;
use crate::image::store::ImageConfig;
use crate::inspect::namespaces::{NsType, read_namespaces};
use crate::inspect::net::{TCP_ESTABLISHED, TCP_LISTEN, read_local_addresses, read_tcp_sockets};
use crate::util::http;

/// When the demo showed the value a prediction is about (ns since 1970),
/// and how: the observed container's creation or, for an exit code, its
/// exit. `None` while it has not shown it yet.
pub fn shown_at(root: &DataRoot, observe: &Observe) -> Option<(u64, &'static str)> {
    let record = crate::engine::container::find(root, observe.container()).ok()?;
    let (at, event) = match observe {
        Observe::ExitCode { .. } => (record.state.finished_at, "exited"),
        _ => (record.created, "was created"),
    };
    (at > 0).then_some((at, event))
}

/// What grading needs: the data root, and the student's answers to predict
/// exercises (by exercise id).
pub struct Grader<'a> {
    pub root: &'a DataRoot,
    /// The student's answer to this exercise, if it is a predict exercise
    /// that was answered.
    pub answer: Option<&'a str>,
    /// When the answer was given (ns since 1970), if known.
    pub answered_at: Option<u64>,
}

impl Grader<'_> {
    /// Grades one check.
    pub fn grade(&self, check: &Check) -> Checked {
        match check {
            Check::All { checks } => {
                let mut evidence = Vec::new();
                for c in checks {
                    evidence.push(self.grade(c)?);
                }
                Ok(evidence.join("; "))
            }
            Check::Running { container } => {
                let l = live(self.root, container)?;
                Ok(format!(
                    "container {container} runs as host PID {} (start time verified in /proc/{}/stat)",
                    l.pid, l.pid
                ))
            }
            Check::MemoryLimit { container, bytes } => {
                let l = live(self.root, container)?;
                let f = control_file(
                    self.root,
                    &l,
                    "memory",
                    "memory.max",
                    "memory.limit_in_bytes",
                )?;
                let value = if f.name == "memory.max" {
                    crate::inspect::cgroup::parse_max(&f.text)
                } else {
                    crate::inspect::cgroup::parse_v1_limit(&f.text)
                };
                match value {
                    Ok(Some(v)) if v == *bytes => Ok(format!("{} is {v}", f.name)),
                    Ok(_) => Err(Problem::Fail(format!(
                        "container {container}: {} is {}, expected {bytes}",
                        f.name, f.text
                    ))),
                    Err(e) => Err(Problem::Error(format!("{}: {e}", f.path.display()))),
                }
            }
            Check::PidsLimit { container, max } => {
                let l = live(self.root, container)?;
                let f = control_file(self.root, &l, "pids", "pids.max", "pids.max")?;
                match crate::inspect::cgroup::parse_max(&f.text) {
                    Ok(Some(v)) if v == *max => Ok(format!("pids.max is {v}")),
                    Ok(_) => Err(Problem::Fail(format!(
                        "container {container}: pids.max is {}, expected {max}",
                        f.text
                    ))),
                    Err(e) => Err(Problem::Error(format!("{}: {e}", f.path.display()))),
                }
            }
            Check::Uid { container, uid } => {
                let l = live(self.root, container)?;
                let st = kernel::status(&l)?;
                if st.uid.real == *uid && st.uid.effective == *uid {
                    Ok(format!(
                        "host PID {} runs as uid {uid} (/proc/{}/status)",
                        l.pid, l.pid
                    ))
                } else {
                    Err(Problem::Fail(format!(
                        "container {container}: its main process (host PID {}) runs as uid {} (effective {}), expected {uid}",
                        l.pid, st.uid.real, st.uid.effective
                    )))
                }
            }
            Check::Hostname {
                container,
                hostname,
            } => self.hostname(container, hostname),
            Check::PidNamespace { container } => {
                let l = live(self.root, container)?;
                let ns = namespaces(&l)?;
                let host = host_namespaces()?;
                if ns.pid == host.pid {
                    return Err(Problem::Fail(format!(
                        "container {container}: its process shares the host's PID namespace"
                    )));
                }
                let st = kernel::status(&l)?;
                match st.pid_in_namespace() {
                    1 => Ok(format!(
                        "host PID {} is PID 1 in its own PID namespace (NSpid: {:?})",
                        l.pid, st.nspid
                    )),
                    n => Err(Problem::Fail(format!(
                        "container {container}: its main process is PID {n} inside, expected 1"
                    ))),
                }
            }
            Check::Namespace {
                container,
                with,
                namespace,
                shared,
            } => self.namespace(container, with, namespace, *shared),
            Check::Published {
                container,
                host_port,
                container_port,
            } => self.published(container, *host_port, *container_port),
            Check::Reach { from, to } => self.reach(from, to),
            Check::Whiteout { container, path } => self.whiteout(container, path),
            Check::UpperFile { container, path } => self.upper_file(container, path),
            Check::Processes {
                container,
                at_least,
            } => {
                let l = live(self.root, container)?;
                let n = processes(&l)?;
                if n >= *at_least as usize {
                    Ok(format!("{n} processes in its PID namespace"))
                } else {
                    Err(Problem::Fail(format!(
                        "container {container}: {n} process(es) in its PID namespace, expected at least {at_least}"
                    )))
                }
            }
            Check::OomKill { container } => {
                let l = live(self.root, container)?;
                let f = control_file(
                    self.root,
                    &l,
                    "memory",
                    "memory.events",
                    "memory.oom_control",
                )?;
                let kills = crate::inspect::cgroup::parse_flat_keyed(&f.text)
                    .ok()
                    .and_then(|m| m.get("oom_kill").copied());
                match kills {
                    Some(n) if n > 0 => Ok(format!("oom_kill is {n} in {}", f.name)),
                    Some(_) => Err(Problem::Fail(format!(
                        "container {container}: oom_kill is 0 in {}: the OOM killer has killed nothing in its cgroup",
                        f.name
                    ))),
                    None => Err(Problem::Error(format!(
                        "{} has no oom_kill counter (Linux 4.13 or later has it)",
                        f.path.display()
                    ))),
                }
            }
            Check::ImageFile {
                image,
                path,
                contains,
            } => self.image_file(image, path, contains.as_deref()),
            Check::ImageLayers { image, with, same } => self.image_layers(image, with, *same),
            Check::Answer { observe, .. } => {
                let Some(answer) = self.answer else {
                    return Err(Problem::Fail(
                        "not answered yet: answer in the lab, or with `glassbox exercise answer ID VALUE`".into(),
                    ));
                };
                let value = self.observe(observe)?;
                self.answered_before_the_demo(observe)?;
                if same_answer(answer, &value) {
                    Ok(format!("answered {answer:?}; the kernel shows {value}"))
                } else {
                    Err(Problem::Fail(format!(
                        "answered {answer:?}, but the kernel shows {value}"
                    )))
                }
            }
        }
    }

    /// A prediction counts when it was made before the container showed the
    /// value (see [`shown_at`]).
    fn answered_before_the_demo(&self, observe: &Observe) -> Result<(), Problem> {
        let Some(at) = self.answered_at else {
            return Ok(());
        };
        match shown_at(self.root, observe) {
            Some((shown, event)) if shown < at => Err(Problem::Fail(format!(
                "answered after {} {event}, when the demo already showed the value: \
                 a prediction counts when made before. `glassbox rm -f {0}`, answer again, then run the demo",
                observe.container()
            ))),
            _ => Ok(()),
        }
    }

    /// Reads the live value a predict exercise is graded against.
    pub fn observe(&self, observe: &Observe) -> Result<String, Problem> {
        match observe {
            Observe::PidInside { container } => {
                let l = live(self.root, container)?;
                Ok(kernel::status(&l)?.pid_in_namespace().to_string())
            }
            Observe::HasCapability {
                container,
                capability,
            } => {
                let l = live(self.root, container)?;
                let bit = crate::inspect::proc_status::capability_by_name(capability)
                    .ok_or_else(|| Problem::Error(format!("unknown capability {capability}")))?;
                let eff = kernel::status(&l)?.capabilities.effective;
                Ok(if eff & (1u64 << bit) != 0 {
                    "yes"
                } else {
                    "no"
                }
                .to_string())
            }
            Observe::LowerLayers { container } => {
                let l = live(self.root, container)?;
                Ok(kernel::root_overlay(&l)?.lowerdir.len().to_string())
            }
            Observe::LowerLayersFromImage { container } => {
                let l = live(self.root, container)?;
                let store = self.root.path.join("layers");
                let dirs = kernel::root_overlay(&l)?.lowerdir;
                Ok(dirs
                    .iter()
                    .filter(|d| d.starts_with(&store))
                    .count()
                    .to_string())
            }
            Observe::Processes { container } => {
                let l = live(self.root, container)?;
                Ok(processes(&l)?.to_string())
            }
            Observe::ParentCommand { container } => {
                let l = live(self.root, container)?;
                let ppid = kernel::status(&l)?.ppid;
                crate::inspect::processes::read_comm(ppid)
                    .map_err(|e| Problem::Error(format!("{:#}", anyhow::Error::new(e))))
            }
            Observe::ExitCode { container } => {
                let record =
                    crate::engine::container::find(self.root, container).map_err(|_| {
                        Problem::Fail(format!(
                            "no container named {container} (`glassbox ps -a` lists them)"
                        ))
                    })?;
                if record.is_running() {
                    return Err(Problem::Fail(format!(
                        "container {container} is still running: it has no exit code yet"
                    )));
                }
                if record.state.status != "exited" || record.state.finished_at == 0 {
                    return Err(Problem::Fail(format!(
                        "container {container} has not exited ({})",
                        record.status_line()
                    )));
                }
                Ok(record.state.exit_code.to_string())
            }
        }
    }

    fn hostname(&self, container: &str, hostname: &str) -> Checked {
        let l = live(self.root, container)?;
        let ns = namespaces(&l)?;
        if ns.uts == host_namespaces()?.uts {
            return Err(Problem::Fail(format!(
                "container {container}: it shares the host's UTS namespace, so its hostname is the host's"
            )));
        }
        let name = kernel::hostname_in(l.pid).map_err(|e| {
            Problem::Error(format!(
                "cannot join the UTS namespace of PID {} to read its hostname: {e}",
                l.pid
            ))
        })?;
        if name == hostname {
            Ok(format!(
                "hostname is {name} in its own UTS namespace (uts:[{}])",
                ns.uts.unwrap_or(0)
            ))
        } else {
            Err(Problem::Fail(format!(
                "container {container}: its hostname is {name}, expected {hostname}"
            )))
        }
    }

    fn namespace(&self, container: &str, with: &str, namespace: &str, shared: bool) -> Checked {
        let kind = NsType::from_name(namespace)
            .ok_or_else(|| Problem::Error(format!("unknown namespace {namespace}")))?;
        let l = live(self.root, container)?;
        let ours = namespaces(&l)?.get(kind);
        let (theirs, other) = if with == "host" {
            (host_namespaces()?.get(kind), "the host".to_string())
        } else {
            let o = live(self.root, with)?;
            (namespaces(&o)?.get(kind), format!("container {with}"))
        };
        let same = ours.is_some() && ours == theirs;
        let inode = ours.unwrap_or(0);
        match (same, shared) {
            (true, true) => Ok(format!("{namespace}:[{inode}] shared with {other}")),
            (false, false) => Ok(format!(
                "{namespace}:[{inode}], not {other}'s {namespace}:[{}]",
                theirs.unwrap_or(0)
            )),
            (false, true) => Err(Problem::Fail(format!(
                "container {container}: its {namespace} namespace is {namespace}:[{inode}], {other}'s is {namespace}:[{}]; expected the same",
                theirs.unwrap_or(0)
            ))),
            (true, false) => Err(Problem::Fail(format!(
                "container {container}: it shares {other}'s {namespace} namespace ({namespace}:[{inode}]); expected its own"
            ))),
        }
    }

    fn published(&self, container: &str, host_port: u16, container_port: u16) -> Checked {
        let l = live(self.root, container)?;
        let sockets = read_tcp_sockets(l.pid)
            .map_err(|e| Problem::Error(format!("{:#}", anyhow::Error::new(e))))?;
        if !sockets
            .iter()
            .any(|s| s.state == TCP_LISTEN && s.local_port == container_port)
        {
            let mut listening: Vec<String> = sockets
                .iter()
                .filter(|s| s.state == TCP_LISTEN)
                .map(|s| s.local_port.to_string())
                .collect();
            listening.dedup();
            let there = if listening.is_empty() {
                "nothing listens at all".to_string()
            } else {
                format!("it listens on {}", listening.join(", "))
            };
            return Err(Problem::Fail(format!(
                "container {container}: nothing listens on port {container_port} in its network namespace ({there}: /proc/{}/net/tcp)",
                l.pid
            )));
        }
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), host_port);
        let mut stream = match kernel::connect(addr, Duration::from_secs(3)) {
            Ok(s) => s,
            Err(e) => {
                return Err(Problem::Fail(format!(
                    "container {container}: GET http://127.0.0.1:{host_port}/ failed: {e}{}",
                    nat_hint(&l, container_port, host_port)
                )));
            }
        };
        // The connection is open: the container's kernel must hold its other
        // end on `container_port`. (A short wait covers the last ACK.)
        let deadline = Instant::now() + Duration::from_millis(500);
        let reached = loop {
            let now = read_tcp_sockets(l.pid).unwrap_or_default();
            if now
                .iter()
                .any(|s| s.state == TCP_ESTABLISHED && s.local_port == container_port)
            {
                break true;
            }
            if Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if !reached {
            return Err(Problem::Fail(format!(
                "container {container}: 127.0.0.1:{host_port} answered, but the connection did not reach port {container_port} of the container (no established socket in /proc/{}/net/tcp)",
                l.pid
            )));
        }
        let response = http::get(&mut stream, &format!("127.0.0.1:{host_port}"), 64 * 1024)
            .map_err(|e| {
                Problem::Fail(format!(
                    "container {container}: GET / on 127.0.0.1:{host_port} got no answer: {e}"
                ))
            })?;
        match http::status_line(&response) {
            Some(status) => Ok(format!(
                "GET http://127.0.0.1:{host_port}/ answered `{status}` from port {container_port} of container {container}"
            )),
            None => Err(Problem::Fail(format!(
                "container {container}: 127.0.0.1:{host_port} reached port {container_port}, but the answer to GET / is not HTTP ({} bytes)",
                response.len()
            ))),
        }
    }

    fn reach(&self, from: &str, to: &str) -> Checked {
        let a = live(self.root, from)?;
        let b = live(self.root, to)?;
        let host = host_namespaces()?;
        for x in [&a, &b] {
            if namespaces(x)?.net == host.net {
                return Err(Problem::Fail(format!(
                    "container {}: it uses the host's network namespace; run it on the bridge network",
                    x.name
                )));
            }
        }
        let targets = read_local_addresses(b.pid)
            .map_err(|e| Problem::Error(format!("{:#}", anyhow::Error::new(e))))?;
        let Some(&target) = targets.first() else {
            return Err(Problem::Fail(format!(
                "container {to}: its network namespace has no address but loopback"
            )));
        };
        let ns = std::fs::File::open(format!("/proc/{}/ns/net", a.pid))
            .map_err(|e| Problem::Error(format!("cannot open /proc/{}/ns/net: {e}", a.pid)))?;
        // Port 1 (tcpmux) is closed: the far kernel answers with a reset,
        // which proves the packets arrived as well as an accept would.
        let addr = SocketAddr::new(IpAddr::V4(target), 1);
        let outcome = kernel::in_namespace(ns, libc::CLONE_NEWNET, move || {
            Ok(kernel::connect(addr, Duration::from_secs(2)))
        })
        .map_err(|e| Problem::Error(format!("cannot join the network namespace of {from}: {e}")))?;
        match outcome {
            Ok(_) => Ok(format!("{from} reached {to} at {target}")),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(format!(
                "from {from}'s network namespace, {to} at {target} answered (a TCP reset from its kernel)"
            )),
            Err(e) => Err(Problem::Fail(format!(
                "container {from} cannot reach container {to} at {target}: {e}"
            ))),
        }
    }

    /// Finds an image by tag and proves its config is the one its ID names:
    /// the ID is the sha256 of the config's bytes.
    fn image(&self, reference: &str) -> Result<(String, ImageConfig), Problem> {
        let store = self.root.images();
        let (id, config) = store.resolve(reference).map_err(|_| {
            Problem::Fail(format!(
                "no image {reference} (`glassbox images` lists them)"
            ))
        })?;
        let path = store.config_path(&id);
        let bytes = std::fs::read(&path)
            .map_err(|e| Problem::Error(format!("cannot read {}: {e}", path.display())))?;
        if crate::image::store::digest(&bytes) != id {
            return Err(Problem::Fail(format!(
                "image {reference}: its config {} no longer hashes to its ID {id}: an image must never change",
                path.display()
            )));
        }
        Ok((id, config))
    }

    fn image_file(&self, reference: &str, path: &str, contains: Option<&str>) -> Checked {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let (id, config) = self.image(reference)?;
        let store = self.root.images();
        let rel = path.trim_start_matches('/');
        for diff_id in config.rootfs.diff_ids.iter().rev() {
            let file = store.layer_diff(diff_id).join(rel);
            let Ok(meta) = file.symlink_metadata() else {
                continue;
            };
            if meta.file_type().is_char_device() && meta.rdev() == 0 {
                break; // a whiteout: deleted in this layer
            }
            let short = crate::image::store::digest_hex(&id).get(..12).unwrap_or("");
            if let Some(needle) = contains {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                if !text.contains(needle) {
                    return Err(Problem::Fail(format!(
                        "image {reference}: {path} does not contain {needle:?}"
                    )));
                }
            }
            return Ok(format!(
                "image {reference} ({short}) has {path} in layer {}",
                crate::image::store::digest_hex(diff_id)
                    .get(..12)
                    .unwrap_or("")
            ));
        }
        Err(Problem::Fail(format!(
            "image {reference}: none of its {} layers has {path}",
            config.rootfs.diff_ids.len()
        )))
    }

    fn image_layers(&self, reference: &str, with: &str, same: usize) -> Checked {
        let (_, a) = self.image(reference)?;
        let (_, b) = self.image(with)?;
        let (la, lb) = (&a.rootfs.diff_ids, &b.rootfs.diff_ids);
        let common = la.iter().zip(lb).take_while(|(x, y)| x == y).count();
        for d in la.iter().take(common) {
            let dir = self.root.images().layer_diff(d);
            if !dir.is_dir() {
                return Err(Problem::Error(format!(
                    "layer {} is missing from the store",
                    dir.display()
                )));
            }
        }
        if common != same {
            return Err(Problem::Fail(format!(
                "image {reference} shares {common} layer(s) with {with}, expected {same}"
            )));
        }
        if la.len() <= same {
            return Err(Problem::Fail(format!(
                "image {reference} has no layer of its own on top of the {same} it shares with {with}"
            )));
        }
        Ok(format!(
            "image {reference} shares its first {same} layer(s) with {with} and adds {}",
            la.len() - same
        ))
    }

    fn whiteout(&self, container: &str, path: &str) -> Checked {
        let (l, dirs, upper) = overlay_with_upper(self.root, container)?;
        let rel = path.trim_start_matches('/');
        let lower = dirs
            .lowerdir
            .iter()
            .map(|d| d.join(rel))
            .find(|p| p.symlink_metadata().is_ok());
        let Some(lower) = lower else {
            return Err(Problem::Fail(format!(
                "container {container}: no image layer has {path}, so there is nothing to delete"
            )));
        };
        if kernel::inside(&l, path).symlink_metadata().is_ok() {
            return Err(Problem::Fail(format!(
                "container {container}: {path} is still there inside the container"
            )));
        }
        let mark = upper.join(rel);
        match mark.symlink_metadata() {
            Ok(m) if crate::image::diff::is_whiteout(&m) => Ok(format!(
                "{} is a whiteout (character device 0,0) and the image keeps {}",
                mark.display(),
                lower.display()
            )),
            Ok(_) => Err(Problem::Fail(format!(
                "container {container}: {} is in the upper dir but is not a whiteout",
                mark.display()
            ))),
            Err(_) => Err(Problem::Fail(format!(
                "container {container}: no whiteout at {} (is an upper directory of it opaque?)",
                mark.display()
            ))),
        }
    }

    fn upper_file(&self, container: &str, path: &str) -> Checked {
        let (l, _, upper) = overlay_with_upper(self.root, container)?;
        let rel = path.trim_start_matches('/');
        let host_side = upper.join(rel);
        let Ok(bytes) = std::fs::read(&host_side) else {
            return Err(Problem::Fail(format!(
                "container {container}: no file {} in its upper dir",
                host_side.display()
            )));
        };
        match std::fs::read(kernel::inside(&l, path)) {
            Ok(seen) if seen == bytes => Ok(format!(
                "{} ({} bytes) is {path} inside the container",
                host_side.display(),
                bytes.len()
            )),
            Ok(_) => Err(Problem::Fail(format!(
                "container {container}: {path} inside differs from {}",
                host_side.display()
            ))),
            Err(e) => Err(Problem::Fail(format!(
                "container {container}: {path} cannot be read inside: {e}"
            ))),
        }
    }
}

/// Answers compare without case or surrounding space (`Yes` is `yes`).
pub fn same_answer(answer: &str, value: &str) -> bool {
    answer.trim().eq_ignore_ascii_case(value.trim())
}

fn namespaces(l: &Live) -> Result<crate::inspect::namespaces::Namespaces, Problem> {
    read_namespaces(l.pid).map_err(|e| {
        Problem::Error(format!(
            "cannot read /proc/{}/ns of container {}: {e:#}",
            l.pid, l.name
        ))
    })
}

/// The host's namespaces are glassbox's own: `check` runs on the host, in
/// the namespaces every host process shares. (/proc/1/ns would say the same,
/// but a hardened host may refuse to show PID 1's links even to root.)
fn host_namespaces() -> Result<crate::inspect::namespaces::Namespaces, Problem> {
    crate::inspect::namespaces::read_namespaces_in(std::path::Path::new("/proc/self/ns"))
        .map_err(|e| Problem::Error(format!("cannot read /proc/self/ns (the host's): {e:#}")))
}

fn processes(l: &Live) -> Result<usize, Problem> {
    let ns = namespaces(l)?
        .pid
        .ok_or_else(|| Problem::Error("no pid namespace link".into()))?;
    crate::inspect::processes::processes_in_pid_ns(ns)
        .map(|p| p.len())
        .map_err(|e| Problem::Error(format!("cannot list processes: {e:#}")))
}

/// Why a GET on `host_port` did not reach the server, from the kernel's NAT
/// rules that send packets to this container's addresses (other containers'
/// rules are not the student's business, unless one holds the host port).
fn nat_hint(l: &Live, container_port: u16, host_port: u16) -> String {
    let Ok(addresses) = read_local_addresses(l.pid) else {
        return String::new();
    };
    let Ok(save) = crate::inspect::iptables::read_iptables_save(Some("nat")) else {
        return String::new();
    };
    let Some(nat) = save.table("nat") else {
        return String::new();
    };
    // (host port, destination address, destination port) of each DNAT rule.
    let rules: Vec<(String, String, Option<u16>)> = nat
        .chains
        .iter()
        .flat_map(|c| c.rules.iter())
        .filter(|r| r.target.as_deref() == Some("DNAT"))
        .filter_map(|r| {
            let to = r.to_destination.as_deref()?;
            let (ip, port) = match to.rsplit_once(':') {
                Some((ip, port)) => (ip.to_string(), port.parse().ok()),
                None => (to.to_string(), None),
            };
            Some((r.dport.clone()?, ip, port))
        })
        .collect();
    let ours = |ip: &str| addresses.iter().any(|a| a.to_string() == ip);
    let host = host_port.to_string();
    let mut mine: Vec<(String, u16)> = rules
        .iter()
        .filter(|(_, ip, _)| ours(ip))
        .map(|(d, _, p)| (d.clone(), p.unwrap_or(host_port)))
        .collect();
    mine.dedup();
    if let Some((_, to)) = mine.iter().find(|(d, _)| *d == host) {
        if *to != container_port {
            return format!(
                " ({} publishes host port {host_port} to container port {to}; the server listens on {container_port})",
                l.name
            );
        }
        return String::new();
    }
    if !mine.is_empty() {
        let list: Vec<String> = mine
            .iter()
            .map(|(d, to)| format!("host port {d} to container port {to}"))
            .collect();
        return format!(
            " ({} publishes {}, not host port {host_port})",
            l.name,
            list.join(", ")
        );
    }
    if let Some((_, ip, _)) = rules.iter().find(|(d, _, _)| *d == host) {
        return format!(
            " (host port {host_port} is published to another container, {ip}; {} publishes no port)",
            l.name
        );
    }
    format!(
        " ({} publishes no port: run it with -p {host_port}:{container_port})",
        l.name
    )
}
