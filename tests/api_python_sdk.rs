//! docker's Python SDK (`pip install docker`) drives `glassbox daemon`:
//! it runs a container, reads its output and its logs, as a script written
//! for dockerd would. The SDK is installed into a virtual environment made
//! inside the test's own data root (gone with it).

mod api_util;
mod common;

use api_util::ApiDaemon;
use common::{TestRoot, have_root};
use std::process::Command;

const SCRIPT: &str = r#"
import sys, docker
client = docker.DockerClient(base_url="unix://" + sys.argv[1], version="auto")
print("ping", client.ping())
out = client.containers.run("busybox", ["echo", "from the sdk"], remove=True, network_mode="none")
print("run", out.decode().strip())
c = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2; exit 5"],
                          detach=True, network_mode="none", name=sys.argv[2])
print("wait", c.wait()["StatusCode"])
print("stdout", c.logs(stdout=True, stderr=False).decode().strip())
print("stderr", c.logs(stdout=False, stderr=True).decode().strip())
c.reload()
print("status", c.status)
c.remove()
print("left", len(client.containers.list(all=True)))
"#;

#[test]
fn python_sdk_runs_a_container_and_reads_its_logs() {
    if !have_root("python_sdk_runs_a_container_and_reads_its_logs") {
        return;
    }
    let root = TestRoot::new("api-sdk");
    let venv = root.path().join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status();
    let pip = made.is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "docker"])
            .status()
            .is_ok_and(|s| s.success());
    if !pip {
        if std::env::var_os("CI").is_some() {
            panic!(
                "python3 -m venv and pip install docker must work in CI (.ci/run installs python3-venv)"
            );
        }
        eprintln!(
            "SKIPPED python_sdk_runs_a_container_and_reads_its_logs: no venv or no docker package"
        );
        return;
    }
    let d = ApiDaemon::start(root.path());
    let name = format!("sdk{}", std::process::id());
    let out = Command::new(venv.join("bin/python"))
        .arg("-c")
        .arg(SCRIPT)
        .arg(&d.socket)
        .arg(&name)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "ping True",
            "run from the sdk",
            "wait 5",
            "stdout out",
            "stderr err",
            "status exited",
            "left 0"
        ]
    );
}
