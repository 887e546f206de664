//! A mount's destination is decided once (issue 9): a running container that
//! shares a volume with one being started can swap what lies at a mount's
//! destination for a symlink to a host path at any moment. Before
//! `pivot_root` the new container's init still sees the host's tree, so a
//! destination checked by path and then used by path (runc's CVE-2021-30465)
//! let the racer truncate a host file or make files in a host directory. The
//! init now walks each destination by file descriptor and mounts on the
//! descriptor: whatever the racer does, the host is unchanged.
mod common;
use common::{TestRoot, have_root, probe_volume};
use std::path::Path;

/// Starts `attempts` containers that bind `source` at `destination` (below
/// the shared volume's `/data`) while `flipper` swaps `link` in that volume
/// between a symlink to `target` and nothing. Each start may run or be
/// refused; the test looks only at the host afterwards.
fn race_starts(root: &TestRoot, link: &str, target: &Path, source: &Path, destination: &str) {
    let flipper = format!("flipper{}", destination.replace('/', "-"));
    root.ok(&[
        "run",
        "-d",
        "--name",
        &flipper,
        "--network",
        "none",
        "-v",
        "shared:/data",
        "-v",
        &probe_volume(),
        "busybox",
        "/probe",
        "flip",
        link,
        &target.display().to_string(),
        "120",
    ]);
    let bind = format!("{}:{destination}", source.display());
    let mut ran = 0;
    for _ in 0..40 {
        let out = root.glassbox(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            "shared:/data",
            "-v",
            &bind,
            "busybox",
            "true",
        ]);
        if out.status.success() {
            ran += 1;
        }
    }
    root.ok(&["rm", "-f", &flipper]);
    eprintln!("{destination}: {ran} of 40 starts ran beside the racer");
}

#[test]
fn a_container_sharing_a_volume_cannot_aim_a_mount_at_the_host() {
    if !have_root("a_container_sharing_a_volume_cannot_aim_a_mount_at_the_host") {
        return;
    }
    let root = TestRoot::new("sec-mount-race");
    let host = root.path().join("host-side");
    std::fs::create_dir_all(host.join("dir")).unwrap();
    let victim = host.join("victim");
    std::fs::write(&victim, "ORIGINAL\n").unwrap();
    let conf = host.join("conf.ini");
    std::fs::write(&conf, "conf\n").unwrap();

    // The destination itself: a file bind's empty file was written through
    // the symlink, truncating the host file.
    race_starts(&root, "/data/conf", &victim, &conf, "/data/conf");
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "ORIGINAL\n",
        "a host file was changed through a mount destination"
    );

    // A directory on the way: the file for the bind was made in the host's
    // directory the symlink named.
    race_starts(
        &root,
        "/data/sub",
        &host.join("dir"),
        &conf,
        "/data/sub/conf",
    );
    let made: Vec<_> = std::fs::read_dir(host.join("dir"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        made.is_empty(),
        "files were made in a host directory: {made:?}"
    );

    // Nothing was mounted on the host either.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&host.display().to_string()),
        "a mount landed under {}:\n{mounts}",
        host.display()
    );
}
