//! What networking makes is unmade: a port in use is refused with nothing
//! made; `stop`, `rm` and `cleanup` remove the veth, namespace, leases and rules.

mod common;
use common::{TestRoot, have_root, sh};
use std::net::TcpListener;
use std::path::Path;

/// True once `path` is gone: a stopped container's veth pair is destroyed by
/// the kernel with its namespace, asynchronously, a few milliseconds later.
fn gone(path: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while Path::new(path).exists() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    true
}

/// Every lease file (address or port) that names this data root.
fn leases_of(root: &TestRoot) -> Vec<String> {
    let needle = format!(
        "root={}\n",
        std::fs::canonicalize(root.path()).unwrap().display()
    );
    let mut out = Vec::new();
    for sub in ["leases", "ports"] {
        if let Ok(entries) = std::fs::read_dir(Path::new("/run/glassbox/net").join(sub)) {
            for e in entries.flatten() {
                if std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&needle)) {
                    out.push(e.path().display().to_string());
                }
            }
        }
    }
    out
}

#[test]
fn a_port_in_use_is_refused_with_nothing_made() {
    if !have_root("a_port_in_use_is_refused_with_nothing_made") {
        return;
    }
    let root = TestRoot::new("net-inuse");
    // A host program holds the port.
    let held = TcpListener::bind("127.0.0.1:28083").unwrap();
    let out = root.glassbox(&[
        "run", "-d", "--name", "late", "-p", "28083:80", "busybox", "true",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains("28083/tcp is already in use") && err.contains("nothing was made"),
        "{err}"
    );
    drop(held);
    // Another glassbox container holds it.
    root.ok(&[
        "run", "-d", "--name", "first", "-p", "28084:80", "busybox", "sleep", "60",
    ]);
    let out = root.glassbox(&[
        "run", "-d", "--name", "second", "-p", "28084:80", "busybox", "true",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("by glassbox container"), "{err}");
    // Nothing of the refused ones: no record, no name, one container's leases.
    assert_eq!(root.ok(&["ps", "-aq"]).lines().count(), 1);
    assert!(!root.path().join("names/late").exists() && !root.path().join("names/second").exists());
    assert_eq!(leases_of(&root).len(), 2, "{:?}", leases_of(&root));
    // Bad values are refused before anything too.
    let out = root.glassbox(&["run", "-p", "8080:80/sctp", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid port mapping"));
}

#[test]
fn stop_rm_and_cleanup_remove_every_network_object() {
    if !have_root("stop_rm_and_cleanup_remove_every_network_object") {
        return;
    }
    let root = TestRoot::new("net-cleanup");
    root.ok(&[
        "run", "-d", "--name", "a", "-p", "28085:80", "busybox", "httpd", "-f", "-p", "80", "-h",
        "/www",
    ]);
    root.ok(&["run", "-d", "--name", "b", "busybox", "sleep", "600"]);
    let veth = |n: &str| {
        root.inspect(n)["NetworkSettings"]["Glassbox"]["HostVeth"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (va, vb) = (veth("a"), veth("b"));
    let netns = root.inspect("a")["NetworkSettings"]["SandboxKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(Path::new(&format!("/sys/class/net/{va}")).exists());
    assert!(sh("iptables-save -t nat").contains("glassbox a 28085:80/tcp"));
    assert_eq!(leases_of(&root).len(), 3);

    // stop: the veth, the namespace, the lease and the rules go; the record stays.
    root.ok(&["stop", "-t", "1", "a"]);
    assert!(
        gone(&format!("/sys/class/net/{va}")),
        "veth {va} left after stop"
    );
    assert!(
        !sh("cat /proc/self/mountinfo").contains(&netns),
        "netns still mounted"
    );
    assert!(
        !sh("iptables-save").contains("glassbox a 28085"),
        "rule left after stop"
    );
    assert_eq!(leases_of(&root).len(), 1);
    assert_eq!(root.inspect("a")["NetworkSettings"]["IPAddress"], "");
    root.ok(&["rm", "a"]);

    // cleanup takes the running one with it.
    root.ok(&["cleanup"]);
    assert!(
        gone(&format!("/sys/class/net/{vb}")),
        "veth {vb} left after cleanup"
    );
    assert!(leases_of(&root).is_empty());
    let root_path = std::fs::canonicalize(root.path()).unwrap();
    assert!(!sh("cat /proc/self/mountinfo").contains(&root_path.display().to_string()));
    // What the census would say about this root's objects: nothing.
    let census =
        sh("/work/shared/tools/leak-census 2>/dev/null || ../shared/tools/leak-census 2>/dev/null");
    for line in census.lines() {
        assert!(
            !line.contains(&va)
                && !line.contains(&vb)
                && !line.contains(&root_path.display().to_string()),
            "leak: {line}"
        );
    }
}
