//! `-t` gives a real terminal: a pty opened inside the container.

mod common;
use common::{TestRoot, have_root};

/// Runs a glassbox command under `script`, which gives it a terminal.
fn in_terminal(root: &TestRoot, args: &str, input: &str) -> std::process::Output {
    let cmd = format!(
        "{} --root {} {args}",
        env!("CARGO_BIN_EXE_glassbox"),
        root.path().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn exec_it_gets_a_terminal_inside() {
    if !have_root("exec_it_gets_a_terminal_inside") {
        return;
    }
    let root = TestRoot::new("pty");
    root.ok(&["run", "-d", "--name", "web", "busybox", "sleep", "600"]);
    let out = in_terminal(
        &root,
        "exec -t web sh -c 'tty; [ -t 0 ] && echo interactive'",
        "",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("interactive"), "{text}");
    // Without -t, no terminal.
    let plain = root.ok(&["exec", "web", "sh", "-c", "tty || true"]);
    assert!(plain.contains("not a tty"), "{plain}");
}

#[test]
fn run_it_reads_the_users_keys() {
    if !have_root("run_it_reads_the_users_keys") {
        return;
    }
    let root = TestRoot::new("runit");
    let out = in_terminal(
        &root,
        "run -it --rm busybox sh",
        "echo typed-$((6*7))\nexit 7\n",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("typed-42"), "{text}");
    assert_eq!(out.status.code(), Some(7), "{text}");
}
