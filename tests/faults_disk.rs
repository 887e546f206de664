//! Fault 9: a full disk says so. ENOSPC during `run` names the file system
//! holding the data root and the file being written, a foreground run
//! returns 125, and nothing half-made or temporary stays. A `load` or a
//! `build` killed part way leaves nothing once `cleanup` has run.

mod common;
mod faults_util;
use common::{TestRoot, have_root};
use faults_util::{canon, container_cgroups, mounts_under};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Unmounts the small tmpfs data root before the TestRoot removes it.
struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Every temporary name under `dir`, outside the image layers' content.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp-") || name.contains(".tmp-") || name.contains("tmp-") {
                out.push(e.path());
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) && name != "diff" {
                todo.push(e.path());
            }
        }
    }
    out
}

#[test]
fn a_full_disk_during_run_says_so_and_leaves_nothing() {
    if !have_root("a_full_disk_during_run_says_so_and_leaves_nothing") {
        return;
    }
    let root = TestRoot::new("faults-enospc");
    nix::mount::mount(
        Some("tmpfs"),
        root.path(),
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some("size=16m,mode=0755"),
    )
    .expect("a small tmpfs as the data root");
    let _unmount = Unmount(root.path().to_path_buf());
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let filler = root.path().join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    drop(f);
    let holding = format!(
        "no space left on the file system holding {}",
        canon(&root).display()
    );
    for args in [
        vec!["run", "--rm", "--network", "none", "busybox", "true"],
        vec![
            "run",
            "--network",
            "none",
            "--name",
            "full",
            "busybox",
            "true",
        ],
        vec!["run", "-d", "--network", "none", "busybox", "sleep", "60"],
    ] {
        let out = root.glassbox(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(err.contains(&holding), "{args:?}: {err}");
        assert!(
            err.contains(&format!("(while writing {}/", canon(&root).display())),
            "{args:?}: {err}"
        );
        let temps = temporaries(root.path());
        assert!(temps.is_empty(), "{args:?} left {temps:?}");
        assert_eq!(root.ok(&["ps", "-aq"]), "", "{args:?} left a container");
        assert!(mounts_under(&root).is_empty(), "{args:?}");
        assert!(container_cgroups(&root).is_empty(), "{args:?}");
    }
    std::fs::remove_file(&filler).unwrap();
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
}

/// A docker-archive with one layer holding `mib` MiB: (tar path, image ID).
fn big_archive(dir: &Path, mib: usize) -> PathBuf {
    use sha2::Digest;
    let layer_path = dir.join("layer.tar");
    {
        let mut b = tar::Builder::new(std::fs::File::create(&layer_path).unwrap());
        let data = vec![7u8; mib << 20];
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, "big", &data[..]).unwrap();
        b.finish().unwrap();
    }
    let layer = std::fs::read(&layer_path).unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let diff_id = format!("sha256:{}", hex(&sha2::Sha256::digest(&layer)));
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},"history":[{{"created_by":"test"}}]}}"#
    );
    let config_hex = hex(&sha2::Sha256::digest(config.as_bytes()));
    let manifest = format!(
        r#"[{{"Config":"{config_hex}.json","RepoTags":["big:v1"],"Layers":["l/layer.tar"]}}]"#
    );
    let out = dir.join("big.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&out).unwrap());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append_data(&mut h, name, bytes).unwrap();
    };
    add(&format!("{config_hex}.json"), config.as_bytes());
    add("manifest.json", manifest.as_bytes());
    add("l/layer.tar", &layer);
    b.finish().unwrap();
    std::fs::remove_file(layer_path).unwrap();
    out
}

#[test]
fn a_killed_load_leaves_nothing_once_cleanup_has_run() {
    if !have_root("a_killed_load_leaves_nothing_once_cleanup_has_run") {
        return;
    }
    let root = TestRoot::new("faults-killed-load");
    let work = root.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let tar = big_archive(&work, 96);
    let mut killed_with = Vec::new();
    for delay in [30u64, 150] {
        let mut load = root
            .cmd(&["load", "-i", tar.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        // Wait until it has begun writing, then some more.
        while temporaries(&root.path().join("tmp")).is_empty()
            && started.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(delay));
        let _ = load.kill();
        let _ = load.wait();
        let left = [root.path().join("tmp"), root.path().join("layers")]
            .iter()
            .flat_map(|d| temporaries(d))
            .collect::<Vec<_>>();
        killed_with.push(left);
    }
    assert!(
        killed_with.iter().any(|l| !l.is_empty()),
        "the load finished before it was killed: the test proves nothing"
    );
    root.ok(&["cleanup"]);
    for dir in ["tmp", "layers"] {
        let left = temporaries(&root.path().join(dir));
        assert!(left.is_empty(), "after cleanup, {dir}/ holds {left:?}");
    }
    assert!(!root.ok(&["images"]).contains("big"));
    // The archive still loads.
    root.ok(&["load", "-i", tar.to_str().unwrap()]);
    assert!(root.ok(&["images"]).contains("big"));
}

#[test]
fn a_killed_build_leaves_nothing_once_cleanup_has_run() {
    if !have_root("a_killed_build_leaves_nothing_once_cleanup_has_run") {
        return;
    }
    let root = TestRoot::new("faults-killed-build");
    let ctx = root.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    // 64 MiB that does not compress: archiving and importing the step's
    // layer take long enough to be killed in the middle.
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN dd if=/dev/urandom of=/big bs=1048576 count=64\n",
    )
    .unwrap();
    // A killed build's temporaries outlive it; the next build would remove
    // them itself, so cleanup runs after each kill.
    let mut proved = 0;
    for delay in [0u64, 20, 60] {
        let mut build = root
            .cmd(&["build", "-t", "big:built", ctx.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        // Wait until the step's layer is being written, then some more.
        while [root.path().join("tmp"), root.path().join("layers")]
            .iter()
            .all(|d| temporaries(d).is_empty())
            && started.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(delay));
        let _ = build.kill();
        let _ = build.wait();
        let left = [root.path().join("tmp"), root.path().join("layers")]
            .iter()
            .flat_map(|d| temporaries(d))
            .collect::<Vec<_>>();
        if !left.is_empty() {
            proved += 1;
        }
        root.ok(&["cleanup"]);
        for dir in ["tmp", "layers"] {
            let after = temporaries(&root.path().join(dir));
            assert!(
                after.is_empty(),
                "killed {delay} ms in, it left {left:?}; after cleanup, {dir}/ holds {after:?}"
            );
        }
    }
    assert!(
        proved > 0,
        "every build finished before it was killed: the test proves nothing"
    );
    assert_eq!(
        root.ok(&["ps", "-aq"]),
        "",
        "a build step's container stays"
    );
    let dirs = std::fs::read_dir(root.path().join("containers")).map_or(0, |d| d.count());
    assert_eq!(dirs, 0, "a build step's container directory stays");
    assert!(mounts_under(&root).is_empty(), "{:?}", mounts_under(&root));
    assert!(container_cgroups(&root).is_empty());
    assert!(!root.ok(&["images"]).contains("big"));
}
