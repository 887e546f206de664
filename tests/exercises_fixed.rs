//! The three exercises graders rely on, on the real kernel: each fails on a
//! clean root, fails for a near miss with a reason that names the kernel's
//! value, and passes after its solution.

mod common;
mod exercises_util;

use common::{TestRoot, have_root};
use exercises_util::{assert_fails, assert_passes, have_publish, port_8081_lock, wait_listening};

#[test]
fn topic4_capped_fails_for_near_misses_and_passes_with_200m_and_64() {
    if !have_root("topic4_capped") {
        return;
    }
    let root = TestRoot::new("ex-capped");
    assert_fails(&root, "topic4-capped", &["no container named capped"]);

    // 199 MiB: the cgroup file says 208666624.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "capped",
        "-m",
        "199m",
        "--pids-limit",
        "64",
        "busybox",
        "sleep",
        "600",
    ]);
    assert_fails(
        &root,
        "topic4-capped",
        &[
            "container capped: memory.",
            " is 208666624, expected 209715200",
        ],
    );
    root.ok(&["rm", "-f", "capped"]);

    // The right memory, the wrong process limit.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "capped",
        "-m",
        "200m",
        "--pids-limit",
        "63",
        "busybox",
        "sleep",
        "600",
    ]);
    assert_fails(
        &root,
        "topic4-capped",
        &["container capped: pids.max is 63, expected 64"],
    );
    root.ok(&["rm", "-f", "capped"]);

    // No memory limit at all.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "capped",
        "--pids-limit",
        "64",
        "busybox",
        "sleep",
        "600",
    ]);
    assert_fails(
        &root,
        "topic4-capped",
        &["container capped: memory.", "expected 209715200"],
    );
    root.ok(&["rm", "-f", "capped"]);

    // The solution.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "capped",
        "-m",
        "200m",
        "--pids-limit",
        "64",
        "busybox",
        "sleep",
        "600",
    ]);
    let evidence = assert_passes(&root, "topic4-capped");
    assert!(
        evidence.contains("209715200") && evidence.contains("pids.max is 64"),
        "{evidence}"
    );

    // Stopped, it fails again: a check reads the live kernel, not a memory of it.
    root.ok(&["stop", "-t", "1", "capped"]);
    assert_fails(&root, "topic4-capped", &["container capped is not running"]);
}

#[test]
fn topic4_reads_the_kernel_not_the_record() {
    if !have_root("topic4_reads_the_kernel") {
        return;
    }
    let root = TestRoot::new("ex-kernel");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "capped",
        "-m",
        "200m",
        "--pids-limit",
        "64",
        "busybox",
        "sleep",
        "600",
    ]);
    assert_passes(&root, "topic4-capped");
    // Change the limit behind glassbox's back: its record still says 200m,
    // the kernel now enforces 100m, and the check must see the kernel.
    let pid = root.pid_of("capped");
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let (file, dir) = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        let rel = cgroup.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
        ("memory.max", format!("/sys/fs/cgroup{rel}"))
    } else {
        let rel = cgroup
            .lines()
            .find_map(|l| {
                let mut p = l.splitn(3, ':');
                let (_, c, path) = (p.next()?, p.next()?, p.next()?);
                c.split(',')
                    .any(|c| c == "memory")
                    .then(|| path.to_string())
            })
            .unwrap();
        (
            "memory.limit_in_bytes",
            format!("/sys/fs/cgroup/memory{rel}"),
        )
    };
    std::fs::write(format!("{dir}/{file}"), "104857600").unwrap();
    assert_fails(
        &root,
        "topic4-capped",
        &[&format!("{file} is 104857600, expected 209715200")],
    );
}

#[test]
fn topic12_nobody_fails_as_root_and_passes_as_uid_1000() {
    if !have_root("topic12_nobody") {
        return;
    }
    let root = TestRoot::new("ex-nobody");
    assert_fails(&root, "topic12-nobody", &["no container named nobody"]);
    root.ok(&[
        "run", "-d", "--name", "nobody", "-u", "0", "busybox", "sleep", "600",
    ]);
    assert_fails(
        &root,
        "topic12-nobody",
        &[
            "container nobody: its main process",
            "runs as uid 0",
            "expected 1000",
        ],
    );
    root.ok(&["rm", "-f", "nobody"]);
    root.ok(&[
        "run", "-d", "--name", "nobody", "-u", "1001", "busybox", "sleep", "600",
    ]);
    assert_fails(
        &root,
        "topic12-nobody",
        &["runs as uid 1001", "expected 1000"],
    );
    root.ok(&["rm", "-f", "nobody"]);
    root.ok(&[
        "run", "-d", "--name", "nobody", "-u", "1000", "busybox", "sleep", "600",
    ]);
    let evidence = assert_passes(&root, "topic12-nobody");
    assert!(evidence.contains("uid 1000"), "{evidence}");
}

#[test]
fn topic11_web_fails_on_8082_and_passes_on_8081() {
    if !have_root("topic11_web") {
        return;
    }
    let root = TestRoot::new("ex-web");
    assert_fails(&root, "topic11-web", &["no container named web"]);
    if !have_publish("topic11_web") {
        return;
    }
    let _lock = port_8081_lock();
    // Published on the wrong host port: 8081 is refused, and the NAT table
    // (when iptables-save is there to read it) points at 8082.
    root.ok(&[
        "run", "-d", "--name", "web", "-p", "8082:80", "busybox", "httpd", "-f", "-p", "80", "-h",
        "/www",
    ]);
    wait_listening(&root, "web", 80);
    let have_save = !common::sh("command -v iptables-save").trim().is_empty();
    let mut parts = vec!["container web: GET http://127.0.0.1:8081/ failed"];
    if have_save {
        parts.push("web publishes host port 8082 to container port 80, not host port 8081");
    } else {
        eprintln!("note: no iptables-save here, so the reason cannot name port 8082");
    }
    assert_fails(&root, "topic11-web", &parts);
    root.ok(&["rm", "-f", "web"]);

    // The right host port, sent to the wrong container port: the reason
    // says where the rule goes and where the server listens.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "8081:8080",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    wait_listening(&root, "web", 80);
    let mut parts = vec!["container web: GET http://127.0.0.1:8081/ failed"];
    if have_save {
        parts.push("web publishes host port 8081 to container port 8080; the server listens on 80");
    }
    assert_fails(&root, "topic11-web", &parts);
    root.ok(&["rm", "-f", "web"]);

    // The right mapping, but the server listens on another port inside.
    root.ok(&[
        "run", "-d", "--name", "web", "-p", "8081:80", "busybox", "httpd", "-f", "-p", "8000",
        "-h", "/www",
    ]);
    wait_listening(&root, "web", 8000);
    assert_fails(
        &root,
        "topic11-web",
        &["nothing listens on port 80 in its network namespace (it listens on 8000"],
    );
    root.ok(&["rm", "-f", "web"]);

    root.ok(&[
        "run", "-d", "--name", "web", "-p", "8081:80", "busybox", "httpd", "-f", "-p", "80", "-h",
        "/www",
    ]);
    wait_listening(&root, "web", 80);
    let evidence = assert_passes(&root, "topic11-web");
    assert!(evidence.contains("HTTP/1."), "{evidence}");
}
