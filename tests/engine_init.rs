//! `run --init` and `inspect -f`, as a user runs them: glassbox-init is PID 1,
//! reaps the orphans a command leaves (without it they stay zombies, counted
//! in pids.current), forwards `stop`'s SIGTERM, and exits with the command's
//! code; `inspect -f` reads the same document `inspect` prints.

mod common;
use common::{TestRoot, have_root};
use std::time::{Duration, Instant};

/// The zombies among the processes of the container whose PID 1 is `pid`
/// (same PID namespace), as "host-pid comm" lines.
fn zombies(pid: u32) -> Vec<String> {
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).expect("pid ns");
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() {
            continue;
        }
        if std::fs::read_link(entry.path().join("ns/pid"))
            .ok()
            .as_ref()
            != Some(&ns)
        {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) STATE …: the state follows the last ')'.
        if let Some((head, tail)) = stat.rsplit_once(')')
            && tail.trim_start().starts_with('Z')
        {
            out.push(head.to_string());
        }
    }
    out
}

/// Leaves five orphans in `name`: a shell starts short sleeps in the
/// background and exits at once, so they are handed to PID 1.
fn leave_orphans(root: &TestRoot, name: &str) {
    root.ok(&[
        "exec",
        name,
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do sleep 0.3 & done",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
}

#[test]
fn init_reaps_orphans_that_sleep_as_pid_1_leaves_as_zombies() {
    if !have_root("init_reaps_orphans_that_sleep_as_pid_1_leaves_as_zombies") {
        return;
    }
    let root = TestRoot::new("init-reap");
    root.ok(&["run", "-d", "--name", "plain", "busybox", "sleep", "600"]);
    root.ok(&[
        "run", "-d", "--init", "--name", "reaped", "busybox", "sleep", "600",
    ]);
    let plain = root.pid_of("plain");
    let reaped = root.pid_of("reaped");
    leave_orphans(&root, "plain");
    leave_orphans(&root, "reaped");
    let left = zombies(plain);
    assert_eq!(
        left.len(),
        5,
        "sleep as PID 1 never waits: its orphans stay zombies: {left:?}"
    );
    assert_eq!(
        zombies(reaped),
        Vec::<String>::new(),
        "glassbox-init reaps them"
    );
    // PID 1 is glassbox-init, the command its child.
    let comm = std::fs::read_to_string(format!("/proc/{reaped}/comm")).expect("comm");
    assert_eq!(comm.trim(), "glassbox-init");
    // Its command line too, read from inside: not the host's path to
    // glassbox, its data root or the flags of the command that started it.
    let cmdline = root.ok(&["exec", "reaped", "cat", "/proc/1/cmdline"]);
    let words: Vec<&str> = cmdline.split('\0').filter(|w| !w.is_empty()).collect();
    assert_eq!(words, ["glassbox-init"], "{cmdline:?}");
    let ps = root.ok(&["exec", "reaped", "ps", "-o", "pid,ppid,comm"]);
    let rows: Vec<Vec<&str>> = ps
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.iter().any(|r| r[..] == ["1", "0", "glassbox-init"]),
        "{ps}"
    );
    assert!(
        rows.iter()
            .any(|r| r.len() == 3 && r[1] == "1" && r[2] == "sleep"),
        "sleep is PID 1's child:\n{ps}"
    );
    let doc = root.inspect("reaped");
    assert_eq!(doc["HostConfig"]["Init"], true);
    // dockerd leaves Init out when --init was not given (omitempty).
    assert_eq!(
        root.inspect("plain")["HostConfig"]["Init"],
        serde_json::Value::Null
    );
}

#[test]
fn init_forwards_stops_sigterm_and_passes_exit_codes_on() {
    if !have_root("init_forwards_stops_sigterm_and_passes_exit_codes_on") {
        return;
    }
    let root = TestRoot::new("init-signals");
    root.ok(&[
        "run", "-d", "--init", "--name", "term", "busybox", "sleep", "600",
    ]);
    // sleep is not PID 1 now: the SIGTERM that init forwards ends it at
    // once (as PID 1 it would ignore it, and stop would wait for SIGKILL).
    let t = Instant::now();
    root.ok(&["stop", "-t", "20", "term"]);
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "stop took {:?}: SIGTERM did not reach sleep",
        t.elapsed()
    );
    let doc = root.inspect("term");
    assert_eq!(doc["State"]["ExitCode"], 143, "128 + SIGTERM");
    // The command's own code is the container's.
    let out = root.glassbox(&["run", "--init", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    // A command that is not in the image: docker's 127, and the error.
    let out = root.glassbox(&["run", "--init", "busybox", "no-such-program"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-program"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A terminal: the shell is its foreground process group, so it reads
    // the keys (in a background group, reading would stop it with SIGTTIN).
    let out = in_terminal(
        &root,
        "run -it --rm --init busybox sh",
        "echo typed-$((6*7)); ps -o pid,comm | grep -c glassbox-init\nexit 7\n",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("typed-42"), "{text}");
    assert_eq!(out.status.code(), Some(7), "{text}");
}

/// Runs a glassbox command under `script`, which gives it a terminal.
fn in_terminal(root: &TestRoot, args: &str, input: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let cmd = format!(
        "{} --root {} {args}",
        env!("CARGO_BIN_EXE_glassbox"),
        root.path().display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write the keys");
    child.wait_with_output().expect("script's output")
}

#[test]
fn inspect_format_reads_the_inspect_document() {
    if !have_root("inspect_format_reads_the_inspect_document") {
        return;
    }
    let root = TestRoot::new("inspect-f");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "fmt",
        "-e",
        "COLOR=blue",
        "busybox",
        "sleep",
        "600",
    ]);
    let pid = root.pid_of("fmt");
    assert_eq!(
        root.ok(&["inspect", "-f", "{{.State.Pid}}", "fmt"]).trim(),
        pid.to_string()
    );
    let config = root.ok(&["inspect", "--format", "{{json .Config}}", "fmt"]);
    let v: serde_json::Value = serde_json::from_str(config.trim()).expect("JSON");
    assert_eq!(v, root.inspect("fmt")["Config"]);
    let env = root.ok(&[
        "inspect",
        "-f",
        "{{range .Config.Env}}[{{.}}]{{end}}",
        "fmt",
    ]);
    assert!(env.contains("[COLOR=blue]"), "{env}");
    let both = root.ok(&[
        "inspect",
        "-f",
        "{{.State.OOMKilled}} {{.State.ExitCode}}",
        "fmt",
        "fmt",
    ]);
    assert_eq!(both, "false 0\nfalse 0\n", "one line per object");
    // A wrong field names the ones that are there.
    let out = root.glassbox(&["inspect", "-f", "{{.State.Pidd}}", "fmt"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no field \"Pidd\"") && err.contains("Pid"),
        "{err}"
    );
    let out = root.glassbox(&["inspect", "-f", "{{printf .Name}}", "fmt"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not defined"));
}
