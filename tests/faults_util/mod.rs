//! Helpers shared by the fault tests (`tests/faults_*.rs`): what a data root
//! holds on the host (leases, cgroups, mounts), its records read directly,
//! and a simulated reboot of one data root.
#![allow(dead_code)]

use super::common::TestRoot;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The host-wide leases directory (addresses and ports).
pub const NET_STATE: &str = "/run/glassbox/net";

/// The data root's canonical path, as lease files and records name it.
pub fn canon(root: &TestRoot) -> PathBuf {
    std::fs::canonicalize(root.path()).expect("canonical root")
}

/// Every lease file (address or port) that names this data root, with its text.
pub fn leases_of(root: &TestRoot) -> Vec<(PathBuf, String)> {
    let needle = format!("root={}\n", canon(root).display());
    let mut out = Vec::new();
    for sub in ["leases", "ports"] {
        if let Ok(entries) = std::fs::read_dir(Path::new(NET_STATE).join(sub)) {
            for e in entries.flatten() {
                if let Ok(t) = std::fs::read_to_string(e.path())
                    && t.contains(&needle)
                {
                    out.push((e.path(), t));
                }
            }
        }
    }
    out
}

/// Every mounted cgroup hierarchy, from /proc/self/mountinfo.
pub fn cgroup_hierarchies() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fs_type = right.split_whitespace().next();
        if let (Some("cgroup" | "cgroup2"), Some(mount_point)) =
            (fs_type, left.split_whitespace().nth(4))
        {
            out.push(PathBuf::from(mount_point));
        }
    }
    out
}

/// The container cgroups (`glassbox/<key>-*`) of this root, in every hierarchy.
pub fn container_cgroups(root: &TestRoot) -> Vec<PathBuf> {
    let prefix = format!("{}-", root.key());
    let mut out = Vec::new();
    for h in cgroup_hierarchies() {
        if let Ok(d) = std::fs::read_dir(h.join("glassbox")) {
            out.extend(
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                    .map(|e| e.path())
                    .filter(|p| p.is_dir()),
            );
        }
    }
    out
}

/// Mount points under the data root (not the root itself), deepest first.
pub fn mounts_under(root: &TestRoot) -> Vec<PathBuf> {
    let base = canon(root);
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut out: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(PathBuf::from))
        .filter(|p| p.starts_with(&base) && *p != base)
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

/// True when something is mounted exactly at `path`.
pub fn is_mount_point(path: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .any(|m| Path::new(m) == path)
}

/// The container ID a name points at (`names/<name>`).
pub fn id_of(root: &TestRoot, name: &str) -> String {
    std::fs::read_link(root.path().join("names").join(name))
        .unwrap_or_else(|e| panic!("names/{name}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// `containers/<id>/state.json`, parsed.
pub fn state(root: &TestRoot, id: &str) -> serde_json::Value {
    let path = root.path().join("containers").join(id).join("state.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).expect("state.json")
}

/// A process's start time (field 22 of /proc/PID/stat).
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_comm) = stat.rsplit_once(") ")?;
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// True while `pid` runs and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|s| s != "Z" && s != "X")
}

pub fn kill(pid: u32, sig: i32) {
    // SAFETY: kill(2) of a process this test started (or its container).
    unsafe { libc::kill(pid as i32, sig) };
}

/// Polls `pred` until it holds, at most `timeout`; panics naming `what`.
pub fn wait_until(what: &str, timeout: Duration, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !pred() {
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One HTTP/1.0 GET to 127.0.0.1:port; the whole answer.
pub fn http_get(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// Waits until 127.0.0.1:port answers 200 OK.
pub fn wait_for_page(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match http_get(port) {
            Ok(page) if page.contains("200 OK") => return page,
            other if Instant::now() > deadline => panic!("no page on 127.0.0.1:{port}: {other:?}"),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The `-A GLASSBOX…` lines of `iptables-save -t TABLE`.
pub fn glassbox_rules(table: &str) -> Vec<String> {
    super::common::sh(&format!("iptables-save -t {table}"))
        .lines()
        .filter(|l| l.starts_with("-A GLASSBOX"))
        .map(String::from)
        .collect()
}

/// Deletes iptables rules given as `-A CHAIN …` lines of iptables-save.
fn delete_rules(table: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    let mut text = format!("*{table}\n");
    for l in lines {
        text.push_str(&l.replacen("-A ", "-D ", 1));
        text.push('\n');
    }
    text.push_str("COMMIT\n");
    let mut child = Command::new("iptables-restore")
        .args(["-w", "--noflush"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("iptables-restore");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "iptables-restore {text}");
}

/// What a reboot does to one data root, and only to it: every process of
/// its containers (monitors first) is killed, the rules that reach its
/// containers are gone, its mounts are detached, its cgroups removed and its
/// leases (on /run, a tmpfs) forgotten. Other roots' state is not touched.
pub fn simulate_reboot(root: &TestRoot) {
    let containers = root.path().join("containers");
    let mut addresses = Vec::new();
    let mut ids = Vec::new();
    for e in std::fs::read_dir(&containers).unwrap().flatten() {
        let id = e.file_name().to_string_lossy().into_owned();
        if let Ok(text) = std::fs::read_to_string(e.path().join("state.json"))
            && let Ok(s) = serde_json::from_str::<serde_json::Value>(&text)
        {
            for (pid, start) in [("monitor_pid", "monitor_start"), ("pid", "pid_start")] {
                let p = s["state"][pid].as_u64().unwrap_or(0) as u32;
                if p > 0 && start_time(p) == s["state"][start].as_u64() {
                    kill(p, libc::SIGKILL);
                }
            }
        }
        if let Ok(text) = std::fs::read_to_string(e.path().join("network.json"))
            && let Ok(n) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(ip) = n["ip_address"].as_str()
        {
            addresses.push(ip.to_string());
        }
        ids.push(id);
    }
    for cg in container_cgroups(root) {
        if let Ok(text) = std::fs::read_to_string(cg.join("cgroup.procs")) {
            for pid in text.lines().filter_map(|l| l.trim().parse().ok()) {
                kill(pid, libc::SIGKILL);
            }
        }
    }
    // The rules that reach one of its containers.
    for table in ["nat", "filter"] {
        let ours: Vec<String> = glassbox_rules(table)
            .into_iter()
            .filter(|l| {
                addresses
                    .iter()
                    .any(|ip| l.contains(&format!("-d {ip}/32 ")) || l.contains(&format!(" {ip}:")))
            })
            .collect();
        delete_rules(table, &ours);
    }
    for m in mounts_under(root) {
        let _ = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for cg in container_cgroups(root) {
        while std::fs::remove_dir(&cg).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    for (path, _) in leases_of(root) {
        let _ = std::fs::remove_file(path);
    }
    let _ = ids;
}
