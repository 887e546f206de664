//! Topic 9: the bundle glassbox writes is a real OCI bundle; runc runs it too.

mod common;
use common::{TestRoot, have_root};

#[test]
fn runc_runs_a_glassbox_bundle() {
    if !have_root("runc_runs_a_glassbox_bundle") {
        return;
    }
    if std::process::Command::new("runc")
        .arg("--version")
        .output()
        .is_err()
    {
        if std::env::var_os("CI").is_some() {
            panic!("runc is not installed; .ci/run installs it");
        }
        eprintln!("SKIPPED runc_runs_a_glassbox_bundle: runc not installed (apt install runc)");
        return;
    }
    let root = TestRoot::new("runc");
    root.ok(&["run", "-d", "--name", "src", "busybox", "sleep", "600"]);
    let doc = root.inspect("src");
    let bundle = std::path::PathBuf::from(doc["Glassbox"]["Bundle"].as_str().unwrap());
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    // Same file, three changes: another command, another cgroup (under this
    // root's, so cleanup covers it), and the rootfs by absolute path.
    config["process"]["args"] = serde_json::json!([
        "sh",
        "-c",
        "echo hello from runc; hostname; grep ^Seccomp: /proc/self/status"
    ]);
    config["linux"]["cgroupsPath"] =
        serde_json::json!(format!("/glassbox/{}-runc-test", root.key()));
    config["root"]["path"] = serde_json::json!(bundle.join("rootfs"));
    let dir = root.path().join("runc-bundle");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    let id = format!("glassbox-runc-{}", std::process::id());
    let out = std::process::Command::new("runc")
        .args(["run", "--bundle"])
        .arg(&dir)
        .arg(&id)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "runc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let hostname = doc["Config"]["Hostname"].as_str().unwrap();
    // runc compiled glassbox's seccomp profile too: the process runs filtered.
    assert_eq!(text, format!("hello from runc\n{hostname}\nSeccomp:\t2\n"));
}
