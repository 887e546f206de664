//! The life of a container: ps, logs, exec, stop, kill, rm, and what a crash leaves.

mod common;
use common::{TestRoot, have_root};
use std::time::{Duration, Instant};

#[test]
fn ps_shows_docker_like_status() {
    if !have_root("ps_shows_docker_like_status") {
        return;
    }
    let root = TestRoot::new("ps");
    root.ok(&["run", "-d", "--name", "up", "busybox", "sleep", "600"]);
    root.ok(&["run", "--name", "done", "busybox", "true"]);
    let running = root.ok(&["ps"]);
    assert!(running.starts_with("CONTAINER ID"), "{running}");
    assert!(
        running.contains("Up ") && running.contains("up"),
        "{running}"
    );
    assert!(!running.contains("done"), "{running}");
    let all = root.ok(&["ps", "-a"]);
    assert!(all.contains("Exited (0)") && all.contains("done"), "{all}");
    assert!(all.contains("\"sleep 600\""), "{all}");
}

#[test]
fn logs_keep_stdout_and_stderr() {
    if !have_root("logs_keep_stdout_and_stderr") {
        return;
    }
    let root = TestRoot::new("logs");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "talk",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; sleep 1; echo late",
    ]);
    // -f follows until the container ends.
    let out = root.glassbox(&["logs", "-f", "talk"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\nlate\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    // The log file is docker's json-file format.
    let doc = root.inspect("talk");
    let log = std::fs::read_to_string(doc["LogPath"].as_str().unwrap()).unwrap();
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(first["log"], "out\n");
    assert_eq!(first["stream"], "stdout");
}

#[test]
fn logs_follow_waits_for_a_container_that_has_not_spoken_yet() {
    if !have_root("logs_follow_waits_for_a_container_that_has_not_spoken_yet") {
        return;
    }
    let root = TestRoot::new("logsquiet");
    // No output for a while, so the log file does not exist yet when -f starts;
    // the last line comes just before the exit.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "quiet",
        "busybox",
        "sh",
        "-c",
        "sleep 0.7; echo first; echo last",
    ]);
    let out = root.glassbox(&["logs", "-f", "quiet"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\nlast\n");
}

#[test]
fn stop_kills_pid1_that_ignores_sigterm_after_the_timeout() {
    if !have_root("stop_kills_pid1_that_ignores_sigterm_after_the_timeout") {
        return;
    }
    let root = TestRoot::new("stop");
    // sleep installs no SIGTERM handler; as PID 1 the signal is simply dropped.
    root.ok(&["run", "-d", "--name", "deaf", "busybox", "sleep", "600"]);
    // sh with a trap handles SIGTERM and exits at once: 128 + 15.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "polite",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 143' TERM; echo trapped; while true; do sleep 0.1; done",
    ]);
    // Until its trap is set, sh as PID 1 drops SIGTERM too: wait for it (a
    // fixed sleep is too short on a slow machine, the cgroup v2 lane's guest).
    let end = Instant::now() + Duration::from_secs(30);
    while !root.ok(&["logs", "polite"]).contains("trapped") {
        assert!(Instant::now() < end, "polite never set its trap");
        std::thread::sleep(Duration::from_millis(100));
    }
    let t = Instant::now();
    root.ok(&["stop", "-t", "1", "deaf"]);
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "SIGKILL came before the timeout"
    );
    // The handled SIGTERM ends it: 143, its trap's code. Had the timeout
    // come first, SIGKILL would have made it 137. (Not a wall-clock bound:
    // the stop's teardown alone can take seconds in the lane's guest.)
    root.ok(&["stop", "-t", "5", "polite"]);
    assert_eq!(root.inspect("deaf")["State"]["ExitCode"], 137);
    assert_eq!(
        root.inspect("polite")["State"]["ExitCode"],
        143,
        "polite did not end by its SIGTERM trap"
    );
    let all = root.ok(&["ps", "-a"]);
    assert!(
        all.contains("Exited (137)") && all.contains("Exited (143)"),
        "{all}"
    );
}

#[test]
fn when_the_main_process_exits_the_container_stops() {
    if !have_root("when_the_main_process_exits_the_container_stops") {
        return;
    }
    let root = TestRoot::new("mainexit");
    // A background child would live forever; PID 1's exit ends it with the namespace.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "short",
        "busybox",
        "sh",
        "-c",
        "sleep 600 & sleep 0.3",
    ]);
    let t = Instant::now();
    while root
        .ok(&["ps", "-q"])
        .contains(&root.inspect("short")["Id"].as_str().unwrap()[..12])
    {
        assert!(t.elapsed() < Duration::from_secs(5), "still running");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(root.inspect("short")["State"]["Status"], "exited");
}

#[test]
fn names_are_unique_and_rm_refuses_running_containers() {
    if !have_root("names_are_unique_and_rm_refuses_running_containers") {
        return;
    }
    let root = TestRoot::new("names");
    root.ok(&["run", "-d", "--name", "one", "busybox", "sleep", "600"]);
    let dup = root.glassbox(&["run", "-d", "--name", "one", "busybox", "sleep", "600"]);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already in use"));
    let rm = root.glassbox(&["rm", "one"]);
    assert!(!rm.status.success());
    assert!(String::from_utf8_lossy(&rm.stderr).contains("You cannot remove a running container"));
    root.ok(&["rm", "-f", "one"]);
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    // The name is free again.
    root.ok(&["run", "--rm", "--name", "one", "busybox", "true"]);
}

#[test]
fn a_killed_cli_leaves_nothing_after_cleanup() {
    if !have_root("a_killed_cli_leaves_nothing_after_cleanup") {
        return;
    }
    let root = TestRoot::new("crash");
    // The foreground CLI is the container's monitor; SIGKILL it mid-run.
    let mut child = root
        .cmd(&["run", "--name", "orphan", "busybox", "sleep", "600"])
        .spawn()
        .unwrap();
    let t = Instant::now();
    // A guard against a hang, not a speed check: the pure cgroup v2 lane
    // (tests/vm/cgroup-v2.sh) runs this on an emulated CPU.
    while !root.ok(&["ps"]).contains("orphan") {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "orphan not in ps after 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let pid = root.pid_of("orphan");
    root.ok(&["cleanup"]);
    // Killed: gone, or a zombie waiting for its new parent (the host's init) to reap it.
    let state = glassbox::inspect::proc_stat::read_proc_stat(pid).map(|s| s.state);
    assert!(
        matches!(state, Err(_) | Ok('Z') | Ok('X')),
        "the container survived cleanup: {state:?}"
    );
    let key_part = root.path().display().to_string();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&key_part),
        "a mount under the data root survived"
    );
    // Cleanup is idempotent.
    root.ok(&["cleanup"]);
}

#[test]
fn a_record_whose_process_is_gone_reads_as_exited() {
    if !have_root("a_record_whose_process_is_gone_reads_as_exited") {
        return;
    }
    let root = TestRoot::new("stale");
    root.ok(&["run", "-d", "--name", "ghost", "busybox", "sleep", "600"]);
    let doc = root.inspect("ghost");
    let state_path =
        std::path::Path::new(doc["Glassbox"]["Bundle"].as_str().unwrap()).join("state.json");
    // Pretend the record's process started at another time: a reused PID.
    // Nobody recorded how it ended, so it is not "exited" with a made-up
    // code: it is dead, and says why.
    let mut rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    rec["state"]["pid_start"] = serde_json::json!(1);
    std::fs::write(&state_path, serde_json::to_vec(&rec).unwrap()).unwrap();
    let state = &root.inspect("ghost")["State"];
    assert_eq!(state["Status"], "dead", "{state}");
    assert!(
        state["Error"].as_str().unwrap().contains("exit status"),
        "{state}"
    );
    assert!(!root.ok(&["ps"]).contains("ghost"));
}

#[test]
fn top_kill_and_the_shim() {
    if !have_root("top_kill_and_the_shim") {
        return;
    }
    let root = TestRoot::new("top");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "trap",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 143' TERM; while true; do sleep 0.1; done",
    ]);
    let pid = root.pid_of("trap");
    let top = root.ok(&["top", "trap"]);
    assert!(top.starts_with("UID"), "{top}");
    assert!(
        top.lines()
            .any(|l| l.split_whitespace().nth(1) == Some(&pid.to_string())),
        "{top}"
    );
    // The detached container's parent is the shim, named as containerd's is.
    let ppid = glassbox::inspect::proc_stat::read_proc_stat(pid)
        .unwrap()
        .ppid;
    let comm = std::fs::read_to_string(format!("/proc/{ppid}/comm")).unwrap();
    assert_eq!(comm.trim(), "glassbox-shim");
    root.ok(&["kill", "-s", "TERM", "trap"]);
    let t = Instant::now();
    while root.inspect("trap")["State"]["Status"] != "exited" {
        assert!(t.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(root.inspect("trap")["State"]["ExitCode"], 143);
}
