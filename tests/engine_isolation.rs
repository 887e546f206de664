//! What the kernel says about a running container: namespaces, cgroup files,
//! the overlay mount, capabilities, user, hostname, environment, masked paths.

mod common;
use common::{TestRoot, have_root};
use glassbox::inspect::{mountinfo, namespaces, proc_status};

fn start_web(root: &TestRoot, extra: &[&str]) -> u32 {
    let mut args = vec!["run", "-d", "--name", "web"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sleep", "600"]);
    root.ok(&args);
    root.pid_of("web")
}

#[test]
fn namespaces_differ_from_the_host() {
    if !have_root("namespaces_differ_from_the_host") {
        return;
    }
    let root = TestRoot::new("ns");
    let pid = start_web(&root, &[]);
    let host = namespaces::read_namespaces(std::process::id()).unwrap();
    let ctr = namespaces::read_namespaces(pid).unwrap();
    for cmp in namespaces::compare_namespaces(&host, &ctr) {
        let name = cmp.kind.name();
        let expect_shared = matches!(name, "user" | "time") || (name == "cgroup" && !cgroup_v2());
        assert_eq!(
            cmp.shared, expect_shared,
            "{name}: host {:?} container {:?}",
            cmp.a, cmp.b
        );
    }
    // The container's main process is PID 1 inside its namespace.
    let status = proc_status::read_proc_status(pid).unwrap();
    assert_eq!(status.nspid, vec![pid, 1]);
    // `exec` joins the same namespaces: its ps shows sleep as PID 1.
    let ps = root.ok(&["exec", "web", "ps"]);
    let first = ps.lines().nth(1).unwrap();
    assert!(
        first.trim_start().starts_with("1 ") && first.contains("sleep 600"),
        "{ps}"
    );
}

fn cgroup_v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The cgroup directory of a controller for a running container.
fn cgroup_dir(pid: u32, controller: &str) -> std::path::PathBuf {
    let entries = glassbox::inspect::cgroup::read_proc_cgroup(pid).unwrap();
    if cgroup_v2() {
        let p = glassbox::inspect::cgroup::v2_path(&entries).unwrap();
        std::path::Path::new("/sys/fs/cgroup").join(p.trim_start_matches('/'))
    } else {
        let p = glassbox::inspect::cgroup::v1_path(&entries, controller).unwrap();
        std::path::Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(p.trim_start_matches('/'))
    }
}

#[test]
fn limits_are_written_to_the_kernels_files() {
    if !have_root("limits_are_written_to_the_kernels_files") {
        return;
    }
    let root = TestRoot::new("limits");
    let pid = start_web(
        &root,
        &["-m", "200m", "--cpus", "0.5", "--pids-limit", "64"],
    );
    let read = |c: &str, f: &str| std::fs::read_to_string(cgroup_dir(pid, c).join(f)).unwrap();
    if cgroup_v2() {
        assert_eq!(read("memory", "memory.max").trim(), "209715200");
        assert_eq!(read("cpu", "cpu.max").trim(), "50000 100000");
    } else {
        assert_eq!(read("memory", "memory.limit_in_bytes").trim(), "209715200");
        assert_eq!(read("cpu", "cpu.cfs_quota_us").trim(), "50000");
        assert_eq!(read("cpu", "cpu.cfs_period_us").trim(), "100000");
    }
    assert_eq!(read("pids", "pids.max").trim(), "64");
    // The cgroup's name carries glassbox's and follows the data root.
    assert!(
        cgroup_dir(pid, "memory")
            .display()
            .to_string()
            .contains("/glassbox/")
    );
    // inspect reports the same limits, in docker's field names.
    let doc = root.inspect("web");
    assert_eq!(doc["HostConfig"]["Memory"], 209715200);
    assert_eq!(doc["HostConfig"]["NanoCpus"], 500000000);
    assert_eq!(doc["HostConfig"]["PidsLimit"], 64);
}

#[test]
fn root_is_an_overlay_of_the_image_layers() {
    if !have_root("root_is_an_overlay_of_the_image_layers") {
        return;
    }
    let root = TestRoot::new("overlay");
    let pid = start_web(&root, &[]);
    let mounts = mountinfo::read_mountinfo(pid).unwrap();
    let slash = mountinfo::find_mount(&mounts, std::path::Path::new("/")).unwrap();
    assert_eq!(slash.fs_type, "overlay");
    let dirs = mountinfo::overlay_dirs(slash).unwrap();
    let upperdir = dirs.upperdir.clone().expect("upperdir");
    let doc = root.inspect("web");
    assert_eq!(
        upperdir.display().to_string(),
        doc["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap()
    );
    // On top, docker's "init layer" with the placeholders for bind-mounted files.
    assert!(
        dirs.lowerdir[0].ends_with("init-layer"),
        "{:?}",
        dirs.lowerdir
    );
    assert!(dirs.lowerdir[1].starts_with(root.path().join("layers")));
    // A kept container's upper dir is synced like any file system...
    assert!(
        !slash.super_options.iter().any(|o| o == "volatile"),
        "{:?}",
        slash.super_options
    );
    // ...while a --rm container's, thrown away at exit, is mounted volatile.
    let rm_options = root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "grep ' / / ' /proc/self/mountinfo",
    ]);
    assert!(rm_options.contains("volatile"), "{rm_options}");
    // A write inside lands in the upper dir; the image's layer is untouched.
    root.ok(&["exec", "web", "sh", "-c", "echo changed > /etc/motd"]);
    let upper = std::fs::read_to_string(upperdir.join("etc/motd")).unwrap();
    assert_eq!(upper, "changed\n");
    let lower = std::fs::read_to_string(dirs.lowerdir[1].join("etc/motd")).unwrap();
    assert_ne!(lower, "changed\n");
    // /proc, /dev and /sys are what a container expects, and /sys is read-only.
    for (mp, fs) in [
        ("/proc", "proc"),
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/sys", "sysfs"),
    ] {
        let m = mountinfo::find_mount(&mounts, std::path::Path::new(mp))
            .unwrap_or_else(|| panic!("{mp} not mounted"));
        assert_eq!(m.fs_type, fs, "{mp}");
    }
    let sys = mountinfo::find_mount(&mounts, std::path::Path::new("/sys")).unwrap();
    assert!(
        sys.mount_options.iter().any(|o| o == "ro"),
        "{:?}",
        sys.mount_options
    );
    let devs = root.ok(&["exec", "web", "ls", "/dev"]);
    for d in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "shm",
    ] {
        assert!(
            devs.split_whitespace().any(|x| x == d),
            "/dev lacks {d}: {devs}"
        );
    }
}

#[test]
fn security_defaults_of_trusted_runtimes() {
    if !have_root("security_defaults_of_trusted_runtimes") {
        return;
    }
    let root = TestRoot::new("security");
    let pid = start_web(&root, &[]);
    let st = proc_status::read_proc_status(pid).unwrap();
    let expected: Vec<&str> = vec![
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW",
        "CAP_SYS_CHROOT",
        "CAP_MKNOD",
        "CAP_AUDIT_WRITE",
        "CAP_SETFCAP",
    ];
    let mut bnd = proc_status::capability_names(st.capabilities.bounding);
    let mut want = expected.clone();
    bnd.sort();
    want.sort();
    assert_eq!(bnd, want);
    assert_eq!(st.capabilities.effective, st.capabilities.bounding);
    assert_eq!(st.capabilities.permitted, st.capabilities.bounding);
    assert_eq!(st.capabilities.inheritable, 0);
    assert_eq!(st.capabilities.ambient, 0);
    assert!(st.no_new_privs);
    // Root inside cannot mount (no CAP_SYS_ADMIN) and masked files read empty.
    let out = root.glassbox(&["exec", "web", "mount", "-t", "tmpfs", "x", "/mnt"]);
    assert!(!out.status.success());
    for masked in ["/proc/kcore", "/proc/keys", "/proc/timer_list"] {
        if std::path::Path::new(masked).exists() {
            assert_eq!(
                root.ok(&["exec", "web", "cat", masked]),
                "",
                "{masked} is not masked"
            );
        }
    }
    let out = root.glassbox(&["exec", "web", "sh", "-c", "echo 1 > /proc/sys/kernel/panic"]);
    assert!(!out.status.success(), "/proc/sys must be read-only");
    // Only fds 0-2 reach the process.
    let fds = root.ok(&["exec", "web", "ls", "/proc/1/fd"]);
    assert_eq!(
        fds.split_whitespace().collect::<Vec<_>>(),
        vec!["0", "1", "2"]
    );
}

#[test]
fn a_seccomp_filter_refuses_what_no_namespace_isolates() {
    if !have_root("a_seccomp_filter_refuses_what_no_namespace_isolates") {
        return;
    }
    let root = TestRoot::new("seccomp");
    let pid = start_web(&root, &[]);
    // The kernel says the container's process runs under a filter...
    let st = proc_status::read_proc_status(pid).unwrap();
    assert_eq!(st.seccomp, proc_status::SeccompMode::Filter);
    // ...and so does a process exec'd into it.
    let status = root.ok(&["exec", "web", "grep", "^Seccomp:", "/proc/self/status"]);
    assert_eq!(status.split_whitespace().nth(1), Some("2"), "{status}");
    // A user namespace needs no capability: only the filter stops root inside
    // from making one (and getting a full capability set in it).
    let out = root.glassbox(&["exec", "web", "unshare", "-U", "true"]);
    assert!(!out.status.success(), "unshare -U passed the filter");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{out:?}"
    );
    // Ordinary work, fork included, is untouched.
    assert_eq!(
        root.ok(&["exec", "web", "sh", "-c", "(echo child) & wait"]),
        "child\n"
    );
    // The profile is in the bundle, in the OCI format, for any runtime to apply.
    let doc = root.inspect("web");
    let bundle = std::path::PathBuf::from(doc["Glassbox"]["Bundle"].as_str().unwrap());
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["linux"]["seccomp"]["defaultAction"],
        "SCMP_ACT_ALLOW"
    );
    assert!(
        config["linux"]["seccomp"]["syscalls"][0]["names"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("keyctl"))
    );

    // docker's opt-out: no filter, and the user namespace is made.
    let free = root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "sh",
        "-c",
        "grep ^Seccomp: /proc/self/status; unshare -U true && echo made",
    ]);
    assert!(
        free.contains("Seccomp:\t0") && free.ends_with("made\n"),
        "{free}"
    );
    let bad = root.glassbox(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=maybe",
        "busybox",
        "true",
    ]);
    assert_eq!(bad.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("seccomp=unconfined"));
}

#[test]
fn user_hostname_env_and_workdir() {
    if !have_root("user_hostname_env_and_workdir") {
        return;
    }
    let root = TestRoot::new("user");
    let out = root.ok(&[
        "run",
        "--rm",
        "-u",
        "1000:1000",
        "-h",
        "lab",
        "-e",
        "GREETING=hi",
        "-w",
        "/tmp/work",
        "busybox",
        "sh",
        "-c",
        "id -u; id -g; id -G; hostname; echo $GREETING; pwd; grep CapEff /proc/self/status",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        &lines[..6],
        &["1000", "1000", "1000", "lab", "hi", "/tmp/work"],
        "{out}"
    );
    assert_eq!(lines[6].split_whitespace().nth(1), Some("0000000000000000"));
    // The host sees uid 1000 on the process too.
    root.ok(&[
        "run", "-d", "--name", "nobody", "-u", "1000", "busybox", "sleep", "60",
    ]);
    let st = proc_status::read_proc_status(root.pid_of("nobody")).unwrap();
    assert_eq!(st.uid.real, 1000);
    assert_eq!(st.uid.effective, 1000);
}

/// A signal the caller ignores stays ignored across `execve` (a `nohup`, a
/// shell's `trap '' HUP`, glassbox's own SIGPIPE), and a blocked one stays
/// blocked. The container's program starts with every disposition at its
/// default and nothing blocked, as under docker: here glassbox itself is
/// started ignoring SIGHUP, SIGUSR1 and the real-time signal 40 and blocking
/// SIGUSR2.
#[test]
fn the_program_starts_with_no_signal_ignored_or_blocked() {
    if !have_root("the_program_starts_with_no_signal_ignored_or_blocked") {
        return;
    }
    use std::os::unix::process::CommandExt;
    let root = TestRoot::new("signals");
    let mut cmd = root.cmd(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "cat",
        "/proc/self/status",
    ]);
    // SAFETY: between fork and exec the hook only changes this child's own
    // signal dispositions and mask (async-signal-safe calls).
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGHUP, libc::SIGUSR1, 40] {
                let ignore = [libc::SIG_IGN as u64, 0, 0, 0];
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    ignore.as_ptr(),
                    std::ptr::null::<u64>(),
                    8,
                );
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR2);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    let out = cmd.output().expect("glassbox runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        proc_status::parse_ignored_signals(&status),
        Some(0),
        "{status}"
    );
    let blocked = status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .map(str::trim);
    assert_eq!(blocked, Some("0000000000000000"), "{status}");
}
