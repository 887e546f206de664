//! `load` that fails part way leaves no half layer and no image.

mod common;
use common::{TestRoot, have_root};
use std::path::PathBuf;

/// Unmounts the small tmpfs data root before the TestRoot removes it.
struct TmpfsGuard(PathBuf);

impl Drop for TmpfsGuard {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

fn names(dir: PathBuf) -> Vec<std::ffi::OsString> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_full_disk_during_a_load_leaves_no_half_layer_and_no_image() {
    if !have_root("a_full_disk_during_a_load_leaves_no_half_layer_and_no_image") {
        return;
    }
    // An image with a 40 MiB layer, saved from a root on the normal disk.
    let source = TestRoot::new("loadsrc");
    let ctx = source.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=40\n",
    )
    .unwrap();
    source.ok(&["build", "-t", "big:v1", ctx.to_str().unwrap()]);
    let tar = source.path().join("big.tar");
    source.ok(&["save", "-o", tar.to_str().unwrap(), "big:v1"]);

    // A data root on a 40 MiB tmpfs: busybox fits, the big layer does not.
    let root = TestRoot::new("loadfull");
    nix::mount::mount(
        Some("tmpfs"),
        root.path(),
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=40m,mode=0755"),
    )
    .expect("mount a small tmpfs as the data root");
    let _guard = TmpfsGuard(root.path().to_path_buf());
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let layers_before = names(root.path().join("layers"));

    let out = root.glassbox(&["load", "-i", tar.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a 40 MiB layer fitted in a 40 MiB tmpfs"
    );
    assert!(err.contains("No space left on device"), "{err}");
    // No half layer, no temporary files, no image.
    assert_eq!(names(root.path().join("layers")), layers_before);
    let tmp = names(root.path().join("tmp"));
    assert!(tmp.is_empty(), "{tmp:?}");
    assert!(!root.ok(&["images"]).contains("big"));
    // And the disk is free again: the same load into the normal root works.
    source.ok(&["rmi", "big:v1"]);
    source.ok(&["load", "-i", tar.to_str().unwrap()]);
    assert!(source.ok(&["images"]).contains("big"));
}
