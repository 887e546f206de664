//! `exec` hands nothing of the CLI's to the container (issue 9, item 3), and
//! the runtime binary stays out of the container's reach (item 4, the
//! CVE-2019-5736 class). These tests run a *copy* of glassbox, so that if the
//! attack ever worked it would damage the copy, not the build.
mod common;
use common::{TestRoot, have_root};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A copy of the glassbox binary in its own directory, removed when dropped.
struct Copy {
    dir: PathBuf,
    bin: PathBuf,
}

impl Copy {
    fn new(name: &str) -> Copy {
        let dir = std::env::temp_dir().join(format!("glassbox-bin-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("glassbox");
        // Copied by cp, not std::fs::copy: a write descriptor of ours,
        // inherited by a child another test thread forks meanwhile, would
        // make running the copy fail with ETXTBSY ("Text file busy").
        let copied = Command::new("cp")
            .arg(env!("CARGO_BIN_EXE_glassbox"))
            .arg(&bin)
            .status()
            .expect("cp the binary");
        assert!(copied.success(), "cp to {}", bin.display());
        Copy { dir, bin }
    }

    fn cmd(&self, root: &TestRoot, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(root.path()).args(args);
        c.stdin(Stdio::null());
        c
    }

    fn sha(&self) -> Vec<u8> {
        use sha2::Digest;
        sha2::Sha256::digest(std::fs::read(&self.bin).unwrap()).to_vec()
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Without `-t`, the exec'd process used to get the CLI's own fds 0/1/2: a
/// process inside could reopen /proc/PID/fd/1 and reach the admin's terminal
/// or file. Now they are pipes glassbox relays (stdin: /dev/null without -i).
#[test]
fn exec_relays_through_pipes_never_the_clis_fds() {
    if !have_root("exec_relays_through_pipes_never_the_clis_fds") {
        return;
    }
    let root = TestRoot::new("sec-exec-fds");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "none",
        "busybox",
        "sleep",
        "60",
    ]);
    let dir = std::env::temp_dir().join(format!("glassbox-exec-fds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_path = dir.join("admin-terminal.txt");
    let in_path = dir.join("admin-input.txt");
    std::fs::write(&in_path, "typed by the admin\n").unwrap();
    let run = |args: &[&str], stdin: Stdio| {
        let out = std::fs::File::create(&out_path).unwrap();
        let status = root
            .cmd(args)
            .stdin(stdin)
            .stdout(out)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        (status, std::fs::read_to_string(&out_path).unwrap())
    };
    let script = "for f in 0 1 2; do readlink /proc/self/fd/$f; done";
    let (status, text) = run(&["exec", "c", "sh", "-c", script], Stdio::null());
    assert!(status.success());
    let links: Vec<&str> = text.lines().collect();
    assert_eq!(links.len(), 3, "{text}");
    assert_eq!(links[0], "/dev/null", "{text}");
    for l in &links[1..] {
        assert!(
            l.starts_with("pipe:["),
            "the CLI's own descriptor reached the container: {text}"
        );
    }
    // With -i the input is relayed through a pipe as well.
    let script = "readlink /proc/self/fd/0; cat";
    let (status, text) = run(
        &["exec", "-i", "c", "sh", "-c", script],
        Stdio::from(std::fs::File::open(&in_path).unwrap()),
    );
    assert!(status.success());
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("pipe:["), "{text}");
    assert_eq!(lines.next(), Some("typed by the admin"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The CVE-2019-5736 attack: while `exec` joins the container, its process
/// is glassbox's binary, visible in the container's PID namespace. A process
/// inside opens /proc/PID/exe of it, holds the descriptor, and writes through
/// it once the exec is over. The write must always fail, and the binary stays
/// byte for byte the same: the joining process is non-dumpable (the open is
/// refused), and the binary it runs from is a read-only mount (EROFS).
#[test]
fn the_runtime_binary_cannot_be_written_through_proc_exe() {
    if !have_root("the_runtime_binary_cannot_be_written_through_proc_exe") {
        return;
    }
    let root = TestRoot::new("sec-exe");
    let copy = Copy::new("cve");
    let before = copy.sha();
    let ok = |args: &[&str]| {
        let out = copy.cmd(&root, args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The container (and its monitor) run from the build's binary; only the
    // execs run the copy, so that no process executes the copy once they end.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "none",
        "busybox",
        "sleep",
        "120",
    ]);

    // The kernel state that blocks it, seen from the host: /proc/PID/exe of
    // a running exec names a file on a read-only mount.
    let mut cli = copy
        .cmd(&root, &["exec", "-i", "c", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Once cat echoes a line, the CLI has re-executed itself (it does so
    // before it starts anything): no fixed sleep, which a slow machine (the
    // cgroup v2 lane's emulated guest) outlasts.
    {
        use std::io::{BufRead, Write};
        let mut stdin = cli.stdin.as_ref().unwrap();
        stdin.write_all(b"ping\n").unwrap();
        let mut line = String::new();
        std::io::BufReader::new(cli.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ping\n", "exec -i c cat did not echo");
    }
    let held = nix::fcntl::open(
        format!("/proc/{}/exe", cli.id()).as_str(),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .expect("open /proc/PID/exe of the exec'ing CLI");
    drop(cli.stdin.take());
    cli.wait().unwrap();
    let reopened = std::fs::OpenOptions::new()
        .append(true)
        .open(format!("/proc/self/fd/{}", held.as_raw_fd()));
    assert_eq!(
        reopened.as_ref().err().and_then(|e| e.raw_os_error()),
        Some(libc::EROFS),
        "/proc/PID/exe of an exec is not on a read-only mount: {reopened:?}"
    );

    // The attack from inside: a watcher grabs /proc/PID/exe of any glassbox
    // process it sees while execs come and go, then writes through them.
    let watch = "end=$(($(date +%s)+5)); n=3; \
                 while [ $(date +%s) -lt $end ]; do for p in /proc/[0-9]*; do \
                   case $(readlink $p/exe 2>/dev/null) in *glassbox*) \
                     [ $n -lt 9 ] && eval \"exec $n<$p/exe\" 2>/dev/null && echo HELD $p && n=$((n+1));; esac; \
                 done; done; sleep 1; \
                 for fd in 3 4 5 6 7 8; do [ -e /proc/self/fd/$fd ] && \
                   { echo pwned >> /proc/self/fd/$fd && echo WROTE $fd || echo REFUSED $fd; }; done; echo done";
    let watcher = copy
        .cmd(&root, &["exec", "c", "sh", "-c", watch])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        ok(&["exec", "c", "true"]);
    }
    let out = watcher.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("done"), "{text}");
    assert!(
        !text.contains("WROTE"),
        "the attack wrote to the runtime binary: {text}"
    );
    assert_eq!(copy.sha(), before, "the glassbox binary changed");
}

/// The CLI's environment never reaches the container: not in the exec'd
/// process, and not in /proc/PID/environ of the process that joins (which a
/// watcher inside reads as fast as it can while execs come and go).
#[test]
fn the_clis_environment_stays_out_of_the_container() {
    if !have_root("the_clis_environment_stays_out_of_the_container") {
        return;
    }
    let root = TestRoot::new("sec-exec-env");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "none",
        "busybox",
        "sleep",
        "120",
    ]);
    let watch = "end=$(($(date +%s)+6)); while [ $(date +%s) -lt $end ]; do \
                 cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -q GLASSBOX_ADMIN_SECRET && echo LEAK; done; echo done";
    let watcher = root
        .cmd(&["exec", "c", "sh", "-c", watch])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..25 {
        let out = root
            .cmd(&["exec", "c", "sh", "-c", "env; cat /proc/self/environ"])
            .env("GLASSBOX_ADMIN_SECRET", "hunter2")
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("hunter2"), "{text}");
    }
    let out = watcher.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("done") && !text.contains("LEAK"), "{text}");
}
