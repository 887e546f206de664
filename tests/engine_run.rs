//! `glassbox run` against the real kernel: output, exit codes, isolation.

mod common;
use common::{TestRoot, have_root};

#[test]
fn run_rm_prints_hello() {
    if !have_root("run_rm_prints_hello") {
        return;
    }
    let root = TestRoot::new("hello");
    assert_eq!(
        root.ok(&["run", "--rm", "busybox", "echo", "hello"]),
        "hello\n"
    );
    // --rm leaves no container behind.
    assert_eq!(root.ok(&["ps", "-aq"]), "");
}

#[test]
fn exit_codes_follow_docker() {
    if !have_root("exit_codes_follow_docker") {
        return;
    }
    let root = TestRoot::new("exitcodes");
    let code = |args: &[&str]| root.glassbox(args).status.code();
    assert_eq!(
        code(&["run", "--rm", "busybox", "sh", "-c", "exit 3"]),
        Some(3)
    );
    let missing = root.glassbox(&["run", "--rm", "busybox", "no-such-command"]);
    assert_eq!(missing.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("executable file not found"));
    assert_eq!(code(&["run", "--rm", "busybox", "/etc/passwd"]), Some(126));
    // PID 1 of a namespace cannot be killed from inside it, not even by SIGKILL.
    let survived = root.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "kill -9 $$; echo survived",
    ]);
    assert_eq!(survived, "survived\n");
}
