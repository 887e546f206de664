//! Fault 3: a journal cannot make glassbox undo what it did not do. A torn
//! last line is not replayed, lines naming objects outside the container
//! (another directory, another root's cgroup) are refused, and an undo that
//! fails makes `rm` exit non-zero, saying what was left.

mod common;
mod faults_util;
use common::{TestRoot, have_root};
use faults_util::*;
use glassbox::runtime::journal::{Journal, Object};
use std::io::Write;
use std::path::PathBuf;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Unmounts the tmpfs data root when the test ends.
struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn journal_of(root: &TestRoot, name: &str) -> PathBuf {
    root.path()
        .join("containers")
        .join(id_of(root, name))
        .join("journal")
}

#[test]
fn a_torn_journal_line_does_not_unmount_the_data_root() {
    if !have_root("a_torn_journal_line_does_not_unmount_the_data_root") {
        return;
    }
    let root = TestRoot::new("faults-torn");
    nix::mount::mount(
        Some("tmpfs"),
        root.path(),
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=64m,mode=0755"),
    )
    .expect("a tmpfs as the data root");
    let _unmount = Unmount(root.path().to_path_buf());
    root.ok(&[
        "run",
        "--name",
        "torn",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    // The crash cut `mount\t<root>/containers/<id>/rootfs` mid-way.
    let mut j = std::fs::OpenOptions::new()
        .append(true)
        .open(journal_of(&root, "torn"))
        .unwrap();
    write!(j, "mount\t{}", canon(&root).display()).unwrap();
    drop(j);
    let out = root.glassbox(&["rm", "torn"]);
    assert!(
        is_mount_point(&canon(&root)),
        "rm unmounted the file system holding the data root ({})",
        stderr(&out)
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(root.ok(&["ps", "-aq"]), "");
}

#[test]
fn journal_lines_outside_the_container_are_refused() {
    if !have_root("journal_lines_outside_the_container_are_refused") {
        return;
    }
    let root = TestRoot::new("faults-outside");
    root.ok(&[
        "run",
        "--name",
        "out",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    // A directory of someone else's, and a cgroup of no glassbox root, with a
    // process in it.
    let victim = std::env::temp_dir().join(format!("glassbox-victim-{}", std::process::id()));
    std::fs::create_dir_all(victim.join("keep")).unwrap();
    let hierarchies = cgroup_hierarchies();
    let hierarchy = hierarchies
        .iter()
        .find(|h| h.ends_with("pids"))
        .or_else(|| {
            hierarchies
                .iter()
                .find(|h| h.join("cgroup.controllers").exists())
        })
        .expect("a cgroup hierarchy")
        .clone();
    let cgroup = hierarchy.join(format!("glassbox-victim-{}", std::process::id()));
    std::fs::create_dir_all(&cgroup).unwrap();
    // And a mount of someone else's.
    let mnt = std::env::temp_dir().join(format!("glassbox-victim-mnt-{}", std::process::id()));
    std::fs::create_dir_all(&mnt).unwrap();
    nix::mount::mount(
        Some("tmpfs"),
        &mnt,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=1m"),
    )
    .unwrap();
    let _unmount = Unmount(mnt.clone());
    let mut sleeper = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    std::fs::write(cgroup.join("cgroup.procs"), sleeper.id().to_string()).unwrap();

    let journal = Journal::open(&journal_of(&root, "out")).unwrap();
    journal.record(&Object::Dir(victim.clone())).unwrap();
    journal.record(&Object::Cgroup(cgroup.clone())).unwrap();
    journal.record(&Object::Mount(mnt.clone())).unwrap();
    drop(journal);

    let out = root.glassbox(&["rm", "out"]);
    let victim_kept = victim.join("keep").is_dir();
    let cgroup_kept = cgroup.is_dir();
    let sleeper_alive = alive(sleeper.id());
    let mnt_kept = is_mount_point(&mnt);
    // Put back what a failure took, before asserting.
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let _ = std::fs::remove_dir(&cgroup);
    let _ = std::fs::remove_dir_all(&victim);
    assert!(mnt_kept, "rm unmounted {}", mnt.display());
    assert!(victim_kept, "rm deleted {}", victim.display());
    assert!(
        cgroup_kept && sleeper_alive,
        "rm removed {} and killed its process",
        cgroup.display()
    );
    let err = stderr(&out);
    assert!(
        err.contains("refused"),
        "the refused lines are reported: {err}"
    );
    assert_eq!(
        root.ok(&["ps", "-aq"]),
        "",
        "the container itself is removed"
    );
}

#[test]
fn an_undo_that_fails_makes_rm_fail_and_say_what_is_left() {
    if !have_root("an_undo_that_fails_makes_rm_fail_and_say_what_is_left") {
        return;
    }
    let root = TestRoot::new("faults-undo-fails");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "stuck",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    // A child group inside the container's cgroup: rmdir of it fails (EBUSY).
    let cg = container_cgroups(&root)
        .into_iter()
        .next()
        .expect("the container's cgroup");
    let child = cg.join("stuck-child");
    std::fs::create_dir(&child).unwrap();
    let out = root.glassbox(&["rm", "-f", "stuck"]);
    let err = stderr(&out);
    let _ = std::fs::remove_dir(&child);
    assert!(
        !out.status.success(),
        "rm -f succeeded with {} left",
        cg.display()
    );
    assert!(
        err.contains(&cg.display().to_string()),
        "rm says what was left: {err}"
    );
    assert!(
        root.ok(&["ps", "-a"]).contains("stuck"),
        "the container stays listed while something of it is left"
    );
    // With the obstacle gone, rm -f finishes.
    root.ok(&["rm", "-f", "stuck"]);
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    assert!(container_cgroups(&root).is_empty());
}
