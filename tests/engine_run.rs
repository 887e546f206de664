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
    // --rm leaves no container behind, and its cgroup
    // (glassbox/<key>-<id>) is gone when the command returns. The shared
    // parent `glassbox` goes too when no container is left in it (the
    // reaper's `remove_cgroup_parents`, after the exit status; other tests
    // keep it here, the census after the suite sees it gone). No group of
    // the earlier layout (glassbox/<key>/<id>) is made.
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    assert_eq!(root.container_cgroups(), Vec::<std::path::PathBuf>::new());
    let earlier: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .unwrap()
        .flatten()
        .map(|h| h.path().join("glassbox").join(root.key()))
        .filter(|p| p.exists())
        .collect();
    assert_eq!(earlier, Vec::<std::path::PathBuf>::new());
}

#[test]
fn run_rm_output_ends_when_glassbox_exits() {
    if !have_root("run_rm_output_ends_when_glassbox_exits") {
        return;
    }
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let root = TestRoot::new("rmpipe");
    // Thousands of files in the container's layer: deleting them takes a
    // while, and --rm does that after glassbox has exited.
    let mut child = root
        .cmd(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "mkdir /many && cd /many && for i in $(seq 3000); do : > $i; done; echo made",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    assert!(child.wait().unwrap().success());
    // Once glassbox has exited nobody else may hold the pipe: the reader gets
    // everything and then the end at once, instead of waiting on the delete.
    // SAFETY: fcntl on a descriptor this test owns.
    unsafe { libc::fcntl(out.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let mut text = String::new();
    let end = out.read_to_string(&mut text);
    assert!(end.is_ok(), "the pipe is still held open: {end:?}");
    assert_eq!(text, "made\n");
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

#[test]
fn run_rm_trace_shows_every_step_and_nothing_stays() {
    if !have_root("run_rm_trace_shows_every_step_and_nothing_stays") {
        return;
    }
    let root = TestRoot::new("rmtrace");
    let file = root.path().join("start-trace.jsonl");
    let file_arg = file.display().to_string();
    root.ok(&[
        "--trace",
        &file_arg,
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    // When `run --rm` has returned: no container, no cgroup of it.
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    assert_eq!(root.container_cgroups(), Vec::<std::path::PathBuf>::new());
    // Its overlay and files are removed by a child after the CLI exits; that
    // child appends the whole trace when done. Both within 5 s.
    let gone = || {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let trash = std::fs::read_dir(root.path().join("trash")).map_or(0, |d| d.count());
        !mounts.contains(&root.path().display().to_string()) && trash == 0
    };
    // The file is complete once its last line, the reaper's remove_files,
    // is there whole (a read can land between the open and the write).
    let complete = || {
        std::fs::read_to_string(&file).is_ok_and(|t| {
            t.ends_with('\n')
                && t.lines().last().is_some_and(|l| {
                    serde_json::from_str::<serde_json::Value>(l)
                        .is_ok_and(|e| e["step"] == "remove_files")
                })
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !(gone() && complete()) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        gone(),
        "a mount or trash/ entry of the container is left after 5 s"
    );
    let text = std::fs::read_to_string(&file).expect("the trace file");
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .collect();
    let steps: Vec<String> = events
        .iter()
        .map(|e| e["step"].as_str().unwrap().to_string())
        .collect();
    // The process enters its cgroup one of two ways: born in it on cgroup v2
    // (clone3 with CLONE_INTO_CGROUP, said in the clone step's detail), or
    // joining it by cgroup.procs after a plain clone (v1, or no clone3).
    let born_in_cgroup = events.iter().any(|e| {
        e["step"] == "clone"
            && e["detail"]
                .as_str()
                .is_some_and(|d| d.contains("CLONE_INTO_CGROUP"))
    });
    assert!(
        born_in_cgroup || steps.iter().any(|s| s == "join_cgroup"),
        "the process neither was born in its cgroup nor joined it: {steps:?}"
    );
    for step in [
        "open_data_root",
        "reserve_name",
        "mount_overlay",
        "clone",
        "pivot_root",
        "install_seccomp",
        "wait_for_exec",
        "wait_for_exit",
        "remove_cgroup",
        "remove_cgroup_parents",
        "unmount_overlay",
        "remove_files",
    ] {
        assert!(steps.iter().any(|s| s == step), "no {step} in {steps:?}");
    }
    // The reaper was forked while the container ran, and woken once it had
    // left the data root; what it did is the reaper's.
    let at = |step: &str| steps.iter().position(|s| s == step);
    // cgroup v1: the group is made after the clone, while the init mounts
    // its root; the init waits for it, then joins, before pivot_root.
    let v1 = events.iter().any(|e| {
        e["step"] == "detect_cgroups" && e["detail"].as_str().is_some_and(|d| d.ends_with("v1"))
    });
    if v1 {
        assert!(
            at("create_cgroup") > at("clone"),
            "the cgroup was not made after the clone: {steps:?}"
        );
        assert!(
            at("wait_for_cgroup").is_some()
                && at("wait_for_cgroup") < at("join_cgroup")
                && at("join_cgroup") < at("pivot_root"),
            "the init did not wait for its cgroup and join it before pivot_root: {steps:?}"
        );
    }
    assert!(
        at("fork_reaper") > at("clone") && at("fork_reaper") < at("wait_for_exit"),
        "the reaper was not forked while the container ran: {steps:?}"
    );
    // It let go of the container's mount namespace (which it held, so that
    // the kernel unmounts its mounts here and not in the container's exit)
    // before the overlay. The next container's directory was made by the
    // start, while the init set up.
    // The runtime opened the namespace right after the clone (on cgroup v1
    // before the init's go-ahead), so it is held however short the program.
    assert!(
        events.iter().any(|e| e["step"] == "fork_reaper"
            && e["detail"]
                .as_str()
                .is_some_and(|d| d.ends_with("holding its mount namespace"))),
        "the reaper was not given the container's mount namespace: {steps:?}"
    );
    assert!(
        at("release_mounts") > at("wake_reaper") && at("release_mounts") < at("unmount_overlay"),
        "the reaper did not release the mount namespace before the overlay: {steps:?}"
    );
    assert!(
        at("make_dir_ahead") > at("clone") && at("make_dir_ahead") < at("wait_for_exit"),
        "{steps:?}"
    );
    // And the child that holds the CLI's memory, so that its exit unmaps
    // nothing: made while the program runs.
    assert!(
        at("hand_over_address_space") > at("wait_for_exec")
            && at("hand_over_address_space") < at("wait_for_exit"),
        "{steps:?}"
    );
    for step in [
        "wake_reaper",
        "release_mounts",
        "remove_cgroup_parents",
        "remove_files",
    ] {
        assert!(
            events
                .iter()
                .any(|e| e["step"] == step && e["actor"] == "reaper"),
            "no {step} of the reaper in {steps:?}"
        );
    }
}

/// The children of `pid` named `comm`.
fn children_named(pid: u32, comm: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            glassbox::inspect::proc_stat::read_proc_stat(*p)
                .is_ok_and(|s| s.ppid == pid && s.comm == comm)
        })
        .collect()
}

#[test]
fn a_rm_runs_reaper_waits_beside_it_and_does_nothing_if_the_cli_dies() {
    if !have_root("a_rm_runs_reaper_waits_beside_it_and_does_nothing_if_the_cli_dies") {
        return;
    }
    let root = TestRoot::new("rmreaper");
    let mut cli = root
        .cmd(&[
            "run",
            "--rm",
            "--name",
            "waiting",
            "--network",
            "none",
            "busybox",
            "sleep",
            "600",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // A guard against a hang (the v2 lane's CPU is emulated), not a speed check.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let reaper = the_child_named(cli.id(), "glassbox-reap", deadline);
    // It is in a session of its own, with none of the CLI's descriptors.
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{reaper}/fd"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        fds.len(),
        6,
        "0, 1, 2, its pipe, the container's mount namespace and directory, not {fds:?}"
    );
    // Descriptor 4: the container's mount namespace, held for its teardown.
    let held = std::fs::read_link(format!("/proc/{reaper}/fd/4")).unwrap();
    // Descriptor 5: the container's directory, claimed for it (its flock),
    // so that no other reaper takes it for an orphan once it is in trash/.
    let dir = std::fs::read_link(format!("/proc/{reaper}/fd/5")).unwrap();
    assert_eq!(dir.parent(), Some(root.path().join("containers").as_path()));
    assert!(
        glassbox::engine::trash::Claim::try_now(&dir)
            .unwrap()
            .is_none(),
        "{} is not held by the reaper",
        dir.display()
    );
    // The reaper is forked while the init sets up: the record says the
    // container runs (with its pid) only once the program was exec'd.
    let container = loop {
        let pid = root.pid_of("waiting");
        if pid != 0 {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the container never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let theirs = std::fs::read_link(format!("/proc/{container}/ns/mnt")).unwrap();
    assert_eq!(
        held, theirs,
        "descriptor 4 is not the container's mount namespace"
    );
    let pid = nix::unistd::Pid::from_raw(reaper as i32);
    assert_eq!(
        nix::unistd::getsid(Some(pid)),
        Ok(pid),
        "the reaper leads no session of its own"
    );
    // Beside it, glassbox-unmap: it shares the CLI's memory, holds only
    // its pipe, and waits at the idle class. It names itself last, once it
    // has closed the rest and changed its class.
    let holder = the_child_named(cli.id(), "glassbox-unmap", deadline);
    // kcmp(2) with KCMP_VM: 0 when two processes share one address space.
    // The reaper, forked, has its own: the same question answers otherwise.
    let same_vm = |a: u32, b: u32| {
        const KCMP_VM: libc::c_long = 1;
        // SAFETY: kcmp only compares two processes' kernel objects.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_kcmp,
                a as libc::c_long,
                b as libc::c_long,
                KCMP_VM,
                0 as libc::c_long,
                0 as libc::c_long,
            )
        };
        assert!(rc >= 0, "kcmp: {}", std::io::Error::last_os_error());
        rc == 0
    };
    assert!(
        same_vm(cli.id(), holder),
        "glassbox-unmap has memory of its own"
    );
    assert!(
        !same_vm(cli.id(), reaper),
        "kcmp says a forked child shares"
    );
    let held = std::fs::read_dir(format!("/proc/{holder}/fd"))
        .unwrap()
        .flatten()
        .count();
    assert_eq!(held, 1, "glassbox-unmap holds more than its pipe");
    assert_eq!(
        sched_policy(holder),
        libc::SCHED_IDLE as u64,
        "glassbox-unmap is not at SCHED_IDLE"
    );
    // Both may run on every CPU the CLI may: the reaper was forked while
    // the runtime had stepped aside to the other CPUs (runtime/affinity.rs).
    let mask =
        |pid: u32| cpus_allowed(&std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap());
    let ours = cpus_allowed(&std::fs::read_to_string("/proc/self/status").unwrap());
    assert_eq!(mask(cli.id()), ours);
    assert_eq!(
        mask(reaper),
        ours,
        "the reaper kept the runtime's narrowed CPU mask"
    );
    assert_eq!(
        mask(holder),
        ours,
        "glassbox-unmap kept a narrowed CPU mask"
    );
    // The CLI dies with its container still there: the reaper reads the end
    // of its pipe without work, and ends having removed nothing.
    cli.kill().unwrap();
    cli.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    ends(holder, "glassbox-unmap", deadline);
    ends(reaper, "glassbox-reap", deadline);
    let trash = std::fs::read_dir(root.path().join("trash")).map_or(0, |d| d.count());
    assert_eq!(trash, 0, "the reaper removed a container it was not given");
    assert!(
        root.ok(&["ps", "-aq"]).lines().count() == 1,
        "the container is not listed"
    );
    // What the killed CLI left, cleanup removes.
    root.ok(&["cleanup"]);
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&root.path().display().to_string()));
    assert_eq!(root.container_cgroups(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn what_a_killed_reaper_left_in_trash_the_next_reaper_finishes() {
    if !have_root("what_a_killed_reaper_left_in_trash_the_next_reaper_finishes") {
        return;
    }
    use glassbox::engine::trash::Claim;
    let root = TestRoot::new("orphan");
    let mut cli = root
        .cmd(&["run", "--rm", "--network", "none", "busybox", "sleep", "2"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let reaper = the_child_named(cli.id(), "glassbox-reap", deadline);
    // Stopped before its container exits, killed once it holds its work:
    // a reaper that died (or a machine that rebooted) mid-way.
    let pid = nix::unistd::Pid::from_raw(reaper as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    assert!(cli.wait().unwrap().success(), "run --rm failed");
    let trash = root.path().join("trash");
    let entries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&trash)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let left = entries();
    assert_eq!(left.len(), 1, "the container is not in trash/: {left:?}");
    assert!(
        Claim::try_now(&left[0]).unwrap().is_none(),
        "the stopped reaper does not hold {}",
        left[0].display()
    );
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    ends(reaper, "glassbox-reap", deadline);
    // Nobody holds it now, and its overlay is still mounted there.
    let mounted = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(&root.path().display().to_string())
    };
    assert!(mounted(), "the overlay went with the killed reaper");
    assert!(Claim::try_now(&left[0]).unwrap().is_some());
    // The next `--rm` run's reaper, done with its own, finishes it.
    root.ok(&["run", "--rm", "--network", "none", "busybox", "true"]);
    while (!entries().is_empty() || mounted()) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        entries(),
        Vec::<std::path::PathBuf>::new(),
        "trash/ is not empty"
    );
    assert!(!mounted(), "a mount under the data root is left");
    assert_eq!(root.ok(&["ps", "-aq"]), "");
    assert_eq!(root.container_cgroups(), Vec::<std::path::PathBuf>::new());
}

/// The one child of `parent` named `comm`, once there is one (by `deadline`).
fn the_child_named(parent: u32, comm: &str, deadline: std::time::Instant) -> u32 {
    loop {
        let found = children_named(parent, comm);
        if let [one] = found.as_slice() {
            return *one;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {comm} beside the running container: {found:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits until `pid`, named `comm`, has exited or is a zombie (by `deadline`).
fn ends(pid: u32, comm: &str, deadline: std::time::Instant) {
    while glassbox::inspect::proc_stat::read_proc_stat(pid)
        .is_ok_and(|s| s.comm == comm && s.state != 'Z')
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{comm} outlived its CLI by 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A process's scheduling policy: /proc/PID/stat's field 41.
fn sched_policy(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    after_comm.split(' ').nth(41 - 3).unwrap().parse().unwrap()
}

/// The CPUs a process may run on, as /proc says (`Cpus_allowed_list`).
fn cpus_allowed(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The init starts pinned to the runtime's CPU (runtime::affinity), and the
/// container's program gets the CPU mask glassbox was started with: the
/// whole mask, or the one CPU `taskset` gave it.
#[test]
fn the_program_gets_the_callers_cpu_mask() {
    if !have_root("the_program_gets_the_callers_cpu_mask") {
        return;
    }
    let root = TestRoot::new("cpumask");
    let ours = cpus_allowed(&std::fs::read_to_string("/proc/self/status").unwrap());
    let args = [
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "cat",
        "/proc/self/status",
    ];
    assert_eq!(cpus_allowed(&root.ok(&args)), ours);
    let all = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
    let cpus: Vec<usize> = (0..nix::sched::CpuSet::count())
        .filter(|&c| all.is_set(c).unwrap_or(false))
        .collect();
    if cpus.len() < 2 {
        return;
    }
    // Started on the last CPU only: the program is there only too.
    let last = *cpus.last().unwrap();
    let mut cmd = root.cmd(&args);
    // SAFETY: sched_setaffinity of the forked child itself, before its exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            let mut one = nix::sched::CpuSet::new();
            one.set(last).map_err(std::io::Error::from)?;
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &one)
                .map_err(std::io::Error::from)
        })
    };
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        cpus_allowed(&String::from_utf8_lossy(&out.stdout)),
        last.to_string()
    );
    // With more than one CPU allowed, the runtime steps aside for the init.
    let file = root.path().join("trace.jsonl");
    let mut traced = vec!["--trace", file.to_str().unwrap()];
    traced.extend(args);
    root.ok(&traced);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains("\"step_aside\"") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no step_aside in the trace: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
