//! The next container's directory, made ahead by a start while its init
//! sets up (`ahead/container`, engine::container::make_dir_ahead): what it
//! holds, that the next container is made from it, that nothing of the last
//! container reaches the next one through it, that a changed one is not
//! used, and that `cleanup` removes it.
mod common;
use common::{TestRoot, have_root};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The directory made ahead, there as soon as the start that made it has
/// returned: nothing is made in the data root after the command ended.
fn made_ahead(root: &TestRoot) -> std::path::PathBuf {
    let ahead = root.path().join("ahead/container");
    assert!(
        ahead.is_dir(),
        "no {} once the start returned",
        ahead.display()
    );
    ahead
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

#[test]
fn the_next_container_is_made_in_the_directory_made_ahead() {
    if !have_root("the_next_container_is_made_in_the_directory_made_ahead") {
        return;
    }
    let root = TestRoot::new("ahead");
    // The first container changes its root directory and leaves a file.
    root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "touch /left-by-the-first; mkdir /etc/first; chmod 700 /",
    ]);
    let ahead = made_ahead(&root);

    // Empty directories and files, with the modes a start gives its own.
    let mut names: Vec<String> = std::fs::read_dir(&ahead)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "config.json",
            "hostname",
            "hosts",
            "journal",
            "resolv.conf",
            "rootfs",
            "state.json",
            "upper",
            "work"
        ]
    );
    for dir in ["upper", "work", "rootfs"] {
        let entries = std::fs::read_dir(ahead.join(dir)).unwrap().count();
        assert_eq!(entries, 0, "{dir}/ is not empty");
    }
    for file in [
        "config.json",
        "hostname",
        "hosts",
        "journal",
        "resolv.conf",
        "state.json",
    ] {
        assert_eq!(
            std::fs::metadata(ahead.join(file)).unwrap().len(),
            0,
            "{file}"
        );
    }
    assert_eq!(mode(&ahead.join("state.json")), 0o600);
    assert_eq!(mode(&ahead.join("config.json")), 0o600);
    assert_eq!(
        mode(&root.path().join("tmp")),
        0o700,
        "tmp/ stays root's only"
    );
    assert_eq!(
        root.ok(&["ps", "-aq"]),
        "",
        "the directory made ahead is no container"
    );

    // The next container is made in it: its directory is that directory.
    let inode = std::fs::metadata(&ahead).unwrap().ino();
    let id = root
        .ok(&[
            "create",
            "--name",
            "second",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "ls /left-by-the-first /etc/first; stat -c %a /",
        ])
        .trim()
        .to_string();
    let dir = root.path().join("containers").join(&id);
    assert_eq!(
        std::fs::metadata(&dir).unwrap().ino(),
        inode,
        "the container's directory is not the one made ahead"
    );
    assert!(!ahead.exists(), "the directory made ahead is still there");
    assert_eq!(mode(&dir.join("state.json")), 0o600);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(record["id"], id.as_str());

    // Nothing of the first container is in it.
    let out = root.glassbox(&["start", "-a", "second"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("/left-by-the-first: No such file"), "{text}");
    assert!(text.contains("/etc/first: No such file"), "{text}");
    let root_mode = text.lines().last().unwrap_or_default().trim().to_string();
    assert_ne!(
        root_mode, "700",
        "the first container's chmod of / came through: {text}"
    );
    assert_eq!(mode(&dir.join("config.json")), 0o600);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["process"]["args"][0], "sh");
    root.ok(&["rm", "second"]);
}

#[test]
fn cleanup_removes_the_directory_made_ahead() {
    if !have_root("cleanup_removes_the_directory_made_ahead") {
        return;
    }
    let root = TestRoot::new("ahead-cleanup");
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let ahead = made_ahead(&root);
    root.ok(&["cleanup"]);
    assert!(!ahead.exists(), "cleanup left {}", ahead.display());
    // A start without one makes its own directory.
    assert_eq!(
        root.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "echo",
            "made here"
        ]),
        "made here\n"
    );
}

/// Changes the directory a start made ahead with `plant`, and starts a
/// container that touches /planted-by-run: what it printed.
fn start_after(root: &TestRoot, plant: impl FnOnce(&Path)) -> String {
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let ahead = made_ahead(root);
    plant(&ahead);
    root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "ls /from-upper 2>&1; touch /planted-by-run",
    ])
}

/// A directory made ahead that is not as the start made it (a root-run
/// container given the data root as a volume could change it) is removed,
/// and the start makes its own: nothing written through a planted symlink
/// or hard link, no planted file seen inside.
#[test]
fn a_directory_made_ahead_that_was_changed_is_not_used() {
    if !have_root("a_directory_made_ahead_that_was_changed_is_not_used") {
        return;
    }
    let root = TestRoot::new("ahead-planted");
    let victim = root.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let victim_file = victim.join("file");
    std::fs::write(&victim_file, b"").unwrap();

    // upper/ a symlink into the host.
    let out = start_after(&root, |ahead| {
        std::fs::remove_dir(ahead.join("upper")).unwrap();
        std::os::unix::fs::symlink(&victim, ahead.join("upper")).unwrap();
    });
    assert!(out.contains("No such file"), "{out}");
    // hosts hard-linked to a host file.
    start_after(&root, |ahead| {
        std::fs::remove_file(ahead.join("hosts")).unwrap();
        std::fs::hard_link(&victim_file, ahead.join("hosts")).unwrap();
    });
    // A file left in upper/.
    let out = start_after(&root, |ahead| {
        std::fs::write(ahead.join("upper/from-upper"), b"x").unwrap();
    });
    assert!(
        out.contains("No such file"),
        "a planted file was seen: {out}"
    );
    // The whole directory a symlink.
    start_after(&root, |ahead| {
        std::fs::rename(ahead, root.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(&victim, ahead).unwrap();
    });

    // A record others may read (it holds the -e values): not taken.
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    let ahead = made_ahead(&root);
    std::fs::set_permissions(
        ahead.join("state.json"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let inode = std::fs::metadata(&ahead).unwrap().ino();
    let id = root
        .ok(&[
            "create",
            "--name",
            "modes",
            "--network",
            "none",
            "busybox",
            "true",
        ])
        .trim()
        .to_string();
    let dir = root.path().join("containers").join(&id);
    assert_ne!(
        std::fs::metadata(&dir).unwrap().ino(),
        inode,
        "it was taken"
    );
    assert_eq!(mode(&dir.join("state.json")), 0o600);
    root.ok(&["rm", "modes"]);

    let mut left: Vec<_> = std::fs::read_dir(&victim)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["file"],
        "something was written into the host directory"
    );
    assert_eq!(
        std::fs::read(&victim_file).unwrap(),
        b"",
        "hosts went into the host file"
    );
    assert_eq!(root.ok(&["ps", "-aq"]), "");
}
