//! Fault 2: layers under a container are never deleted. `rmi` of an image in
//! use is refused in docker's words, `rmi -f` only untags it, a container
//! whose record cannot be read still protects the layers its journal names,
//! and `rmi` racing a `run` of the same image never empties the new
//! container's root filesystem.

mod common;
mod faults_util;
use common::{TestRoot, have_root};
use faults_util::*;
use std::path::PathBuf;
use std::process::Stdio;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The layer directories a container's overlay stacks (its `LowerDir`).
fn lower_dirs(root: &TestRoot, name: &str) -> Vec<PathBuf> {
    root.inspect(name)["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .unwrap()
        .split(':')
        .map(PathBuf::from)
        .filter(|p| p.starts_with(root.path().canonicalize().unwrap().join("layers")))
        .collect()
}

fn has_files(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

#[test]
fn rmi_of_an_image_in_use_is_refused_and_rmi_f_only_untags() {
    if !have_root("rmi_of_an_image_in_use_is_refused_and_rmi_f_only_untags") {
        return;
    }
    let root = TestRoot::new("faults-rmi-use");
    let id = root
        .ok(&[
            "run",
            "-d",
            "--name",
            "user",
            "--network",
            "none",
            "busybox",
            "sleep",
            "600",
        ])
        .trim()
        .to_string();
    let image = root.inspect("busybox")["Id"].as_str().unwrap().to_string();
    let image_short = &image["sha256:".len().."sha256:".len() + 12];
    let layers = lower_dirs(&root, "user");
    assert!(!layers.is_empty());

    let out = root.glassbox(&["rmi", "busybox"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let want = format!(
        "Error response from daemon: conflict: unable to remove repository reference \"busybox\" (must force) - container {} is using its referenced image {image_short}",
        &id[..12]
    );
    assert!(
        stderr(&out).contains(&want),
        "{}\nwanted: {want}",
        stderr(&out)
    );

    let out = root.glassbox(&["rmi", "-f", "busybox"]);
    assert!(out.status.success(), "rmi -f: {}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(said.contains("Untagged: busybox:latest"), "{said}");
    assert!(!said.contains("Deleted"), "{said}");
    for l in &layers {
        assert!(
            has_files(l),
            "{} was deleted under a running container",
            l.display()
        );
    }
    let pid = root.pid_of("user");
    assert!(std::path::Path::new(&format!("/proc/{pid}/root/bin/busybox")).exists());
    root.ok(&["exec", "user", "ls", "/bin/busybox"]);
    root.ok(&["rm", "-f", "user"]);
}

#[test]
fn a_container_whose_record_is_unreadable_still_keeps_its_layers() {
    if !have_root("a_container_whose_record_is_unreadable_still_keeps_its_layers") {
        return;
    }
    let root = TestRoot::new("faults-rmi-damaged");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "hurt",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    let layers = lower_dirs(&root, "hurt");
    let pid = root.pid_of("hurt");
    let id = id_of(&root, "hurt");
    std::fs::write(
        root.path().join("containers").join(&id).join("state.json"),
        b"{\"id\": \"",
    )
    .unwrap();

    // Plain rmi is refused; rmi -f may untag, but not delete a layer.
    let out = root.glassbox(&["rmi", "busybox"]);
    assert!(!out.status.success(), "rmi of an image in use succeeded");
    let _ = root.glassbox(&["rmi", "-f", "busybox"]);
    for l in &layers {
        assert!(
            has_files(l),
            "{} was deleted under a running container",
            l.display()
        );
    }
    assert!(
        std::path::Path::new(&format!("/proc/{pid}/root/bin/busybox")).exists(),
        "the container's root filesystem went empty"
    );
    root.ok(&["rm", "-f", "hurt"]);
}

#[test]
fn rmi_racing_a_run_of_the_same_image_never_empties_its_rootfs() {
    if !have_root("rmi_racing_a_run_of_the_same_image_never_empties_its_rootfs") {
        return;
    }
    let root = TestRoot::new("faults-rmi-race");
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    for round in 0..8 {
        let name = format!("race{round}");
        let run = root
            .cmd(&[
                "run",
                "-d",
                "--name",
                &name,
                "--network",
                "none",
                "busybox",
                "sleep",
                "600",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(round * 3));
        let rmi = root.glassbox(&["rmi", "busybox"]);
        let run = run.wait_with_output().unwrap();
        if !run.status.success() {
            // Losing the race may fail the run, but only with a clear reason.
            assert!(!stderr(&run).is_empty());
            continue;
        }
        let pid = root.pid_of(&name);
        for l in lower_dirs(&root, &name) {
            assert!(
                has_files(&l),
                "round {round}: rmi ({}) deleted {} under {name}",
                stderr(&rmi).trim(),
                l.display()
            );
        }
        assert!(
            std::path::Path::new(&format!("/proc/{pid}/root/bin/busybox")).exists(),
            "round {round}: {name}'s root filesystem went empty"
        );
        root.ok(&["rm", "-f", &name]);
    }
}
