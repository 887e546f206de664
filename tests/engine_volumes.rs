//! Named volumes: data that outlives its containers, where docker keeps it.

mod common;
use common::{TestRoot, have_root};

#[test]
fn a_named_volume_outlives_its_containers() {
    if !have_root("a_named_volume_outlives_its_containers") {
        return;
    }
    let root = TestRoot::new("volumes");
    // First use makes it: <root>/volumes/NAME/_data, as in /var/lib/docker.
    root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "notes:/data",
        "busybox",
        "sh",
        "-c",
        "echo kept > /data/note",
    ]);
    let data = root.path().join("volumes/notes/_data");
    assert_eq!(
        std::fs::read_to_string(data.join("note")).unwrap(),
        "kept\n"
    );
    // Another container, read-only this time, reads what the first wrote.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "reader",
        "--network",
        "none",
        "-v",
        "notes:/data:ro",
        "busybox",
        "sleep",
        "600",
    ]);
    assert_eq!(root.ok(&["exec", "reader", "cat", "/data/note"]), "kept\n");
    let denied = root.glassbox(&["exec", "reader", "sh", "-c", "echo x > /data/other"]);
    assert!(!denied.status.success(), "a :ro volume took a write");
    // The kernel shows a bind mount of the volume's directory.
    let mounts = root.ok(&["exec", "reader", "cat", "/proc/self/mountinfo"]);
    assert!(
        mounts
            .lines()
            .any(|l| l.contains(" /data ") && l.contains(" ro,")),
        "{mounts}"
    );
    let doc = root.inspect("reader");
    assert_eq!(doc["Mounts"][0]["Type"], "volume");
    assert_eq!(doc["Mounts"][0]["Name"], "notes");
    assert_eq!(doc["Mounts"][0]["RW"], false);

    // docker's verbs.
    let ls = root.ok(&["volume", "ls"]);
    assert!(
        ls.starts_with("DRIVER") && ls.contains("local           notes"),
        "{ls}"
    );
    let info: serde_json::Value =
        serde_json::from_str(&root.ok(&["volume", "inspect", "notes"])).unwrap();
    assert_eq!(info[0]["Mountpoint"], data.display().to_string());
    // In use (even by a stopped container): refused, and the data stays.
    root.ok(&["stop", "-t", "0", "reader"]);
    let busy = root.glassbox(&["volume", "rm", "notes"]);
    assert!(!busy.status.success());
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("in use by container reader"),
        "{busy:?}"
    );
    assert!(data.join("note").exists());
    root.ok(&["rm", "reader"]);
    assert_eq!(root.ok(&["volume", "rm", "notes"]), "notes\n");
    assert!(!root.path().join("volumes/notes").exists());
    assert_eq!(root.ok(&["volume", "ls", "-q"]), "");

    // A name that could climb out of volumes/ is refused before anything is made.
    let bad = root.glassbox(&["run", "--rm", "-v", "../up:/x", "busybox", "true"]);
    assert_eq!(bad.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("volume name"));
}
