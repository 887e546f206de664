//! Fault 8: damaged state is shown and repairable. A container whose record
//! cannot be read is listed as `Dead (record unreadable: …)` and removed by
//! `rm -f`; `cleanup` of it stops its monitor for good; a corrupt
//! repositories.json is set aside and rebuilt; `save` refuses a layer whose
//! bytes no longer match its digest.

mod common;
mod faults_util;
use common::{TestRoot, have_root};
use faults_util::*;
use std::time::Duration;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn truncate_record(root: &TestRoot, id: &str) -> (u32, u32) {
    let s = state(root, id);
    let pids = (
        s["state"]["pid"].as_u64().unwrap() as u32,
        s["state"]["monitor_pid"].as_u64().unwrap() as u32,
    );
    let path = root.path().join("containers").join(id).join("state.json");
    let text = std::fs::read(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    pids
}

#[test]
fn an_unreadable_record_is_listed_as_dead_and_removed_by_rm_f() {
    if !have_root("an_unreadable_record_is_listed_as_dead_and_removed_by_rm_f") {
        return;
    }
    let root = TestRoot::new("faults-dead-record");
    root.ok(&[
        "run", "-d", "--name", "torn", "-p", "29204:80", "busybox", "sleep", "600",
    ]);
    let id = id_of(&root, "torn");
    let (pid, monitor) = truncate_record(&root, &id);

    let ps = root.ok(&["ps", "-a"]);
    let line = ps
        .lines()
        .find(|l| l.starts_with(&id[..12]))
        .unwrap_or_else(|| panic!("the container vanished from ps -a:\n{ps}"));
    assert!(line.contains("Dead (record unreadable"), "{line}");
    assert!(line.ends_with("torn"), "{line}");

    let out = root.glassbox(&["rm", "-f", "torn"]);
    assert!(out.status.success(), "rm -f torn: {}", stderr(&out));
    assert!(
        !alive(pid) && !alive(monitor),
        "its processes outlive rm -f"
    );
    assert!(leases_of(&root).is_empty(), "{:?}", leases_of(&root));
    assert!(container_cgroups(&root).is_empty());
    assert!(mounts_under(&root).is_empty());
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    // Its name and port are free again.
    root.ok(&[
        "run", "-d", "--name", "torn", "-p", "29204:80", "busybox", "sleep", "600",
    ]);
    root.ok(&["rm", "-f", "torn"]);
}

#[test]
fn cleanup_of_an_unreadable_record_stops_its_monitor_for_good() {
    if !have_root("cleanup_of_an_unreadable_record_stops_its_monitor_for_good") {
        return;
    }
    let root = TestRoot::new("faults-dead-cleanup");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "ghost",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    let id = id_of(&root, "ghost");
    let (pid, monitor) = truncate_record(&root, &id);
    root.ok(&["cleanup"]);
    wait_until("the monitor to end", Duration::from_secs(5), || {
        !alive(monitor)
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(!alive(pid));
    let left: Vec<_> = std::fs::read_dir(root.path().join("containers"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        left.is_empty(),
        "the record came back after cleanup: {left:?}"
    );
}

#[test]
fn a_corrupt_repositories_json_is_set_aside_and_rebuilt() {
    if !have_root("a_corrupt_repositories_json_is_set_aside_and_rebuilt") {
        return;
    }
    let root = TestRoot::new("faults-repos");
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let image = root.inspect("busybox")["Id"].as_str().unwrap().to_string();
    let repos = root.path().join("images/repositories.json");
    std::fs::write(&repos, b"{\"busybox:latest\": \"sha256:").unwrap();

    let out = root.glassbox(&["images"]);
    assert!(out.status.success(), "images: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("repositories.json") && err.contains("set aside"),
        "a warning that names the file: {err}"
    );
    assert!(!err.contains("image config"), "{err}");
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        listed.contains(&image["sha256:".len().."sha256:".len() + 12]),
        "the image is still listed:\n{listed}"
    );
    let aside: Vec<_> = std::fs::read_dir(root.path().join("images"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("repositories.json.corrupt"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept aside");
    // Once rebuilt, the next command is quiet and everything works.
    let out = root.glassbox(&["images"]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    root.ok(&["history", "busybox"]);
}

#[test]
fn save_refuses_a_layer_whose_bytes_changed() {
    if !have_root("save_refuses_a_layer_whose_bytes_changed") {
        return;
    }
    let root = TestRoot::new("faults-save-verify");
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let layer = root.inspect("busybox")["RootFS"]["Layers"][0]
        .as_str()
        .unwrap()
        .to_string();
    let tar = root
        .path()
        .join("layers")
        .join(layer.trim_start_matches("sha256:"))
        .join("layer.tar");
    let mut bytes = std::fs::read(&tar).unwrap();
    bytes[100] ^= 0x20;
    std::fs::write(&tar, &bytes).unwrap();
    let out_file = root.path().join("out.tar");
    let out = root.glassbox(&["save", "-o", out_file.to_str().unwrap(), "busybox"]);
    assert!(!out.status.success(), "save wrote a damaged layer");
    assert!(stderr(&out).contains(&layer), "{}", stderr(&out));
    assert!(!out_file.exists());
    let left: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("out."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
