//! Fault 10: printing into a closed pipe is quiet. `ps -a | head -1`,
//! `history … | head`, `inspect … | grep -q`: the reader goes away, and
//! glassbox ends without a panic or a word on stderr, as docker's CLI does.

mod common;
use common::{TestRoot, have_root};
use std::os::fd::OwnedFd;
use std::process::Stdio;

/// Runs glassbox with stdout a pipe whose reader is already gone.
fn into_closed_pipe(root: &TestRoot, args: &[&str]) -> std::process::Output {
    let (r, w): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    drop(r);
    root.cmd(args)
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::from(w))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn printing_into_a_closed_pipe_is_quiet() {
    if !have_root("printing_into_a_closed_pipe_is_quiet") {
        return;
    }
    let root = TestRoot::new("faults-epipe");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "talker",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo hello; sleep 600",
    ]);
    for args in [
        vec!["ps", "-a"],
        vec!["ps", "-aq"],
        vec!["images"],
        vec!["history", "busybox"],
        vec!["inspect", "busybox"],
        vec!["inspect", "talker"],
        vec!["logs", "talker"],
        vec!["logs", "-f", "talker"],
        vec!["top", "talker"],
        vec!["port", "talker"],
        vec!["diff", "talker"],
        vec!["stats", "--no-stream"],
        vec!["volume", "ls"],
        vec!["lessons"],
        vec!["save", "busybox"],
    ] {
        let out = into_closed_pipe(&root, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() != Some(101) && !err.contains("panicked"),
            "{args:?} panicked: {err}"
        );
        assert!(err.is_empty(), "{args:?} said on stderr: {err}");
    }
    root.ok(&["rm", "-f", "talker"]);
}
