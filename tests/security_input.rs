//! Bad input is refused with a clear message and nothing made (issue 9, item 8),
//! and `--security-opt no-new-privileges` says what docker's flag says (item 10).
mod common;
use common::{TestRoot, have_root};

fn containers_made(root: &TestRoot) -> usize {
    std::fs::read_dir(root.path().join("containers"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// `setresuid(-1)` means "leave unchanged": `-u 4294967295` used to run as
/// uid 0. Ids past 2^31-1 are refused, on `run` and on `exec`, before anything
/// is made.
#[test]
fn user_ids_past_2_31_are_refused() {
    if !have_root("user_ids_past_2_31_are_refused") {
        return;
    }
    let root = TestRoot::new("sec-uid");
    for user in [
        "4294967295",
        "2147483648",
        "0:4294967295",
        "1000:2147483648",
    ] {
        let out = root.glassbox(&[
            "run",
            "--rm",
            "--network",
            "none",
            "-u",
            user,
            "busybox",
            "id",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(125),
            "-u {user} was not refused: stdout {:?} stderr {stderr:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(stderr.contains("2147483647"), "-u {user}: {stderr}");
        assert_eq!(containers_made(&root), 0, "-u {user} made a container");
    }
    // The largest id the kernel takes still runs, as that id.
    let id = root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-u",
        "2147483647:2147483647",
        "busybox",
        "id",
    ]);
    assert!(id.starts_with("uid=2147483647 gid=2147483647"), "{id}");

    root.ok(&[
        "run",
        "-d",
        "--name",
        "idle",
        "--network",
        "none",
        "busybox",
        "sleep",
        "60",
    ]);
    let out = root.glassbox(&["exec", "-u", "4294967295", "idle", "id", "-u"]);
    assert_eq!(
        out.status.code(),
        Some(125),
        "exec -u 4294967295: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("2147483647"));
}

fn no_new_privs(root: &TestRoot, opts: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "--rm", "--network", "none"];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "grep", "^NoNewPrivs:", "/proc/self/status"]);
    root.glassbox(&args)
}

/// glassbox sets no_new_privs by default (docker does not); docker's flag
/// turns it off (`=false`) or on (bare, or `=true`), and the kernel says so.
#[test]
fn no_new_privileges_follows_the_security_opt() {
    if !have_root("no_new_privileges_follows_the_security_opt") {
        return;
    }
    let root = TestRoot::new("sec-nnp");
    for (opts, want) in [
        (&[][..], "1"),
        (&["--security-opt", "no-new-privileges=false"][..], "0"),
        (&["--security-opt", "no-new-privileges"][..], "1"),
        (&["--security-opt", "no-new-privileges=true"][..], "1"),
        (&["--security-opt", "no-new-privileges:true"][..], "1"),
    ] {
        let out = no_new_privs(&root, opts);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{opts:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stdout.split_whitespace().nth(1),
            Some(want),
            "{opts:?}: {stdout}"
        );
    }
    // Under =false a setuid-root program run by uid 1000 really gains euid 0
    // (docker's default); under glassbox's default the bit is ignored.
    let setuid = |name: &str, opts: &[&str]| {
        let probe = common::probe_volume();
        let mut args = vec![
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "-v",
            &probe,
        ];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["busybox", "sleep", "60"]);
        root.ok(&args);
        root.ok(&[
            "exec",
            name,
            "sh",
            "-c",
            "cp /probe /tmp/p && chmod 4755 /tmp/p",
        ]);
        root.ok(&["exec", "-u", "1000", name, "/tmp/p", "euid"])
    };
    assert_eq!(
        setuid(
            "docker-like",
            &["--security-opt", "no-new-privileges=false"]
        )
        .trim(),
        "0"
    );
    assert_eq!(setuid("strict", &[]).trim(), "1000");
    let bad = root.glassbox(&[
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges=maybe",
        "busybox",
        "true",
    ]);
    assert_eq!(bad.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("no-new-privileges"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

/// A container's processes choose their own command lines, and `top` prints
/// them on the host's terminal: an escape sequence there would retitle,
/// clear or reprogram that terminal. Control characters come out as `?`, as
/// ps prints them.
#[test]
fn top_prints_no_escape_sequence_a_container_chose() {
    if !have_root("top_prints_no_escape_sequence_a_container_chose") {
        return;
    }
    let root = TestRoot::new("sec-top");
    let evil = "\x1b]0;owned\x07\x1b[2J";
    root.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "esc",
        "busybox",
        "sh",
        "-c",
        "sleep 600; :",
        evil,
    ]);
    let out = root.ok(&["top", "esc"]);
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    assert!(out.contains("?]0;owned??[2J"), "{out}");
    root.ok(&["rm", "-f", "esc"]);
}
