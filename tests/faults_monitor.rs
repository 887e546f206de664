//! Fault 6: a dead monitor is noticed. With the shim killed, `ps` and
//! `inspect` say the container runs unmonitored; `stop` still reports the
//! exit status the kernel gave, and releases everything the container held.
//! A zombie is not "Up".

mod common;
mod faults_util;
use common::{TestRoot, have_root};
use faults_util::*;
use std::time::Duration;

const PORT: u16 = 29203;

fn status_of(root: &TestRoot, name: &str) -> String {
    root.ok(&["ps", "-a"])
        .lines()
        .find(|l| l.split_whitespace().last() == Some(name))
        .unwrap_or_else(|| panic!("{name} is not listed"))
        .to_string()
}

#[test]
fn a_killed_monitor_is_noticed_and_stop_reports_the_kernels_status() {
    if !have_root("a_killed_monitor_is_noticed_and_stop_reports_the_kernels_status") {
        return;
    }
    let root = TestRoot::new("faults-monitor");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "orphan",
        "-p",
        &format!("{PORT}:80"),
        "busybox",
        "sleep",
        "600",
    ]);
    let id = id_of(&root, "orphan");
    let s = state(&root, &id);
    let monitor = s["state"]["monitor_pid"].as_u64().unwrap() as u32;
    let pid = s["state"]["pid"].as_u64().unwrap() as u32;
    kill(monitor, libc::SIGKILL);
    wait_until("the monitor to die", Duration::from_secs(5), || {
        !alive(monitor)
    });
    assert!(alive(pid), "the container's process outlives its monitor");

    let line = status_of(&root, "orphan");
    assert!(
        line.contains("Up") && line.contains("unmonitored"),
        "{line}"
    );
    let doc = root.inspect("orphan");
    assert_eq!(doc["State"]["Running"], true);
    assert!(
        doc["State"]["Error"]
            .as_str()
            .is_some_and(|e| e.contains("monitor")),
        "{}",
        doc["State"]
    );

    // busybox sleep as PID 1 ignores SIGTERM: stop kills it, 128 + 9.
    root.ok(&["stop", "-t", "1", "orphan"]);
    let doc = root.inspect("orphan");
    assert_eq!(doc["State"]["Status"], "exited", "{}", doc["State"]);
    assert_eq!(doc["State"]["ExitCode"], 137, "{}", doc["State"]);
    assert!(status_of(&root, "orphan").contains("Exited (137)"));
    // Everything it held is released at once, not at rm.
    assert!(leases_of(&root).is_empty(), "{:?}", leases_of(&root));
    assert!(mounts_under(&root).is_empty(), "{:?}", mounts_under(&root));
    assert!(container_cgroups(&root).is_empty());
    assert!(
        !glassbox_rules("nat")
            .iter()
            .any(|l| l.contains(&format!("--dport {PORT} "))),
        "the DNAT rule stays"
    );
    root.ok(&["rm", "orphan"]);
}

#[test]
fn a_zombie_is_not_up() {
    if !have_root("a_zombie_is_not_up") {
        return;
    }
    let root = TestRoot::new("faults-zombie");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "zed",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    let id = id_of(&root, "zed");
    let s = state(&root, &id);
    let monitor = s["state"]["monitor_pid"].as_u64().unwrap() as u32;
    let pid = s["state"]["pid"].as_u64().unwrap() as u32;
    // The monitor cannot reap while stopped: the container's process stays a zombie.
    kill(monitor, libc::SIGSTOP);
    kill(pid, libc::SIGKILL);
    wait_until("the zombie", Duration::from_secs(5), || !alive(pid));
    let line = status_of(&root, "zed");
    let doc = root.inspect("zed");
    kill(monitor, libc::SIGCONT);
    assert!(!line.contains("Up"), "a zombie is shown as running: {line}");
    assert!(line.contains("Exited (137)"), "{line}");
    assert_eq!(doc["State"]["Running"], false, "{}", doc["State"]);
    assert_eq!(doc["State"]["ExitCode"], 137, "{}", doc["State"]);
    // Once the monitor runs again, it records the same.
    wait_until("the monitor to finish", Duration::from_secs(5), || {
        !alive(monitor)
    });
    assert_eq!(root.inspect("zed")["State"]["ExitCode"], 137);
    root.ok(&["rm", "zed"]);
}

#[test]
fn an_unmonitored_container_that_ends_on_its_own_frees_its_port() {
    if !have_root("an_unmonitored_container_that_ends_on_its_own_frees_its_port") {
        return;
    }
    const FREED: u16 = 29205;
    let root = TestRoot::new("faults-unwatched-end");
    let publish = format!("{FREED}:80");
    root.ok(&[
        "run", "-d", "--name", "brief", "-p", &publish, "busybox", "sleep", "2",
    ]);
    let id = id_of(&root, "brief");
    let s = state(&root, &id);
    let monitor = s["state"]["monitor_pid"].as_u64().unwrap() as u32;
    let pid = s["state"]["pid"].as_u64().unwrap() as u32;
    kill(monitor, libc::SIGKILL);
    wait_until("the monitor to die", Duration::from_secs(5), || {
        !alive(monitor)
    });
    // No one is left to see it end: it ends on its own.
    wait_until("the container to end", Duration::from_secs(10), || {
        !alive(pid)
    });
    let line = status_of(&root, "brief");
    assert!(
        !line.contains("Up"),
        "an ended container is shown running: {line}"
    );
    let doc = root.inspect("brief");
    assert_eq!(doc["State"]["Running"], false, "{}", doc["State"]);
    // What it held is released once glassbox has seen it end, not at rm.
    assert!(leases_of(&root).is_empty(), "{:?}", leases_of(&root));
    assert!(mounts_under(&root).is_empty(), "{:?}", mounts_under(&root));
    assert!(container_cgroups(&root).is_empty());
    assert!(
        !glassbox_rules("nat")
            .iter()
            .any(|l| l.contains(&format!("--dport {FREED} "))),
        "the DNAT rule stays"
    );
    // The port is free for a new container.
    root.ok(&[
        "run", "-d", "--name", "next", "-p", &publish, "busybox", "sleep", "600",
    ]);
    root.ok(&["rm", "-f", "next", "brief"]);
}
