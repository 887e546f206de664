//! Bad input and missing pieces: one clear sentence, a non-zero exit, nothing made.

mod common;
use common::{TestRoot, have_root};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Nothing of a failed run may remain: no container, no mount under the root.
fn assert_nothing_made(root: &TestRoot) {
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&root.path().display().to_string()));
}

#[test]
fn bad_flags_are_refused_before_anything_is_made() {
    if !have_root("bad_flags_are_refused_before_anything_is_made") {
        return;
    }
    let root = TestRoot::new("badflags");
    for (args, words) in [
        (
            vec!["run", "-m", "abc", "busybox", "true"],
            "invalid memory size \"abc\"",
        ),
        (
            vec!["run", "--cpus", "-1", "busybox", "true"],
            "invalid --cpus \"-1\"",
        ),
        (
            vec!["run", "--network", "bogus", "busybox", "true"],
            "network \"bogus\"",
        ),
        (
            vec!["run", "-v", "data:relative", "busybox", "true"],
            "must be absolute",
        ),
        (
            vec!["run", "-v", "./here:/x", "busybox", "true"],
            "an absolute host path or a volume name",
        ),
        (
            vec!["run", "-u", "ghost", "busybox", "true"],
            "invalid user \"ghost\"",
        ),
        (
            vec!["run", "no-such-image", "true"],
            "image \"no-such-image\" not found",
        ),
    ] {
        let out = root.glassbox(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr(&out).contains(words), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "one sentence: {}",
            stderr(&out)
        );
    }
    assert_nothing_made(&root);
}

#[test]
fn a_container_that_fails_to_start_leaves_nothing() {
    if !have_root("a_container_that_fails_to_start_leaves_nothing") {
        return;
    }
    let root = TestRoot::new("failstart");
    let out = root.glassbox(&["run", "--rm", "busybox", "/no/such/program"]);
    assert_eq!(out.status.code(), Some(127));
    let out = root.glassbox(&["run", "-d", "--rm", "busybox", "no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert_nothing_made(&root);
}

#[test]
fn without_root_it_says_to_use_sudo() {
    if !have_root("without_root_it_says_to_use_sudo") {
        return;
    }
    let root = TestRoot::new("noroot");
    std::fs::set_permissions(
        root.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_glassbox"))
        .arg("--root")
        .arg(root.path())
        .args(["run", "--rm", "busybox", "true"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("needs root") && stderr(&out).contains("sudo"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn busybox_is_assembled_from_host_tools_when_there_is_no_busybox() {
    if !have_root("busybox_is_assembled_from_host_tools_when_there_is_no_busybox") {
        return;
    }
    let root = TestRoot::new("fallback");
    let out = root
        .cmd(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo from host tools; ls /bin/cat",
        ])
        .env("GLASSBOX_BUSYBOX", "/nonexistent/busybox")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "from host tools\n/bin/cat\n"
    );
    let history = root.inspect("busybox");
    assert!(
        history["History"][0]["created_by"]
            .as_str()
            .unwrap()
            .contains("host tools")
    );
}
