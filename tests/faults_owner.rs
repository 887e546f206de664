//! Fault 1: shared objects are released only by their owner. After a reboot
//! (simulated for this data root alone), a new container can be given the
//! address and host port an old record still names in its journal; `rm` of
//! the old record must then leave the new container's lease files, NAT rules
//! and cgroup alone.

mod common;
mod faults_util;
use common::{TestRoot, have_root};
use faults_util::*;
use std::time::Duration;

const PORT: u16 = 29201;

fn web(root: &TestRoot, name: &str) -> String {
    root.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "-p",
        &format!("{PORT}:80"),
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ])
    .trim()
    .to_string()
}

#[test]
fn after_a_reboot_rm_of_an_old_record_leaves_the_new_containers_objects() {
    if !have_root("after_a_reboot_rm_of_an_old_record_leaves_the_new_containers_objects") {
        return;
    }
    let root = TestRoot::new("faults-owner");
    let old = web(&root, "old");
    let old_ip = root.inspect("old")["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for_page(PORT);

    simulate_reboot(&root);
    assert!(leases_of(&root).is_empty(), "the reboot forgot the leases");

    let new = web(&root, "new");
    let new_ip = root.inspect("new")["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for_page(PORT);
    let before: Vec<_> = leases_of(&root);
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before.iter().all(|(_, t)| t.contains(&new)), "{before:?}");
    let forward_before: Vec<String> = glassbox_rules("filter")
        .into_iter()
        .filter(|l| l.contains(&format!("-d {new_ip}/32 ")))
        .collect();
    assert_eq!(forward_before.len(), 1, "{forward_before:?}");
    let new_cgroups: Vec<_> = container_cgroups(&root);
    assert!(!new_cgroups.is_empty());

    // The old record: its process is gone, its journal still names what it had.
    let out = root.glassbox(&["rm", "-f", "old"]);
    assert!(
        out.status.success(),
        "rm -f old: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The new container keeps its port lease, its address lease, its rules
    // and its cgroup, and still answers.
    let after = leases_of(&root);
    assert_eq!(
        after.len(),
        2,
        "rm of the old record ({old}) removed a lease of the new container ({new}); left: {after:?}"
    );
    assert!(after.iter().all(|(_, t)| t.contains(&new)), "{after:?}");
    let forward_after: Vec<String> = glassbox_rules("filter")
        .into_iter()
        .filter(|l| l.contains(&format!("-d {new_ip}/32 ")))
        .collect();
    assert_eq!(
        forward_after, forward_before,
        "the new container's FORWARD rule (old had {old_ip}, new has {new_ip})"
    );
    assert!(
        glassbox_rules("nat")
            .iter()
            .any(|l| l.contains(&format!("--dport {PORT} ")) && l.contains(&new_ip)),
        "the new container's DNAT rule is gone"
    );
    for cg in &new_cgroups {
        assert!(cg.is_dir(), "{} was removed", cg.display());
    }
    wait_for_page(PORT);
    if old_ip != new_ip {
        eprintln!(
            "note: the new container got {new_ip}, not the old {old_ip} (another test took it meanwhile)"
        );
    }
    root.ok(&["rm", "-f", "new"]);
    wait_until("the leases to go", Duration::from_secs(5), || {
        leases_of(&root).is_empty()
    });
}
