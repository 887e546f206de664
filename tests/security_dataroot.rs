//! The data root is closed to other host users (issue 9, item 2).
//!
//! A container's upper dir and merged rootfs are host directories: a file a
//! container makes setuid-root is a setuid-root file on the host, and its
//! config.json holds the `-e` values. Only root may enter them. The test
//! checks the modes, then really tries as host user `nobody` (a child that
//! drops to uid/gid 65534) to reach each of them, and must be refused.

mod common;
use common::{TestRoot, have_root};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .mode()
        & 0o7777
}

/// Starts a container that writes a line to its log and makes a
/// setuid-root copy of busybox in its writable layer; returns its ID.
fn start(root: &TestRoot, name: &str) -> String {
    root.ok(&[
        "run",
        "-d",
        "--name",
        name,
        "-e",
        "SECRET=hunter2",
        "busybox",
        "sh",
        "-c",
        "cp /bin/busybox /suid && chmod 4755 /suid && echo ready && sleep 600",
    ]);
    let id = root.inspect(name)["Id"].as_str().expect("Id").to_string();
    let log = root
        .path()
        .join("containers")
        .join(&id)
        .join("container-json.log");
    let upper = root.path().join("containers").join(&id).join("upper/suid");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(log.exists() && upper.exists() && mode(&upper) == 0o4755) {
        assert!(
            Instant::now() < deadline,
            "the container never wrote {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    id
}

/// In a child that is host user `nobody` (uid and gid 65534, no
/// supplementary groups), tries to open each path (directories as
/// directories) and to stat it. Returns, per path, the errno of the first
/// refusal, or 0 where nobody reached it.
fn as_nobody(paths: &[PathBuf]) -> Vec<i32> {
    let cpaths: Vec<CString> = paths
        .iter()
        .map(|p| CString::new(p.as_os_str().as_bytes()).unwrap())
        .collect();
    let mut fds = [0i32; 2];
    // SAFETY: pipe(2) into a local array of two ints.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child makes only async-signal-safe system calls on memory
    // prepared before the fork, and leaves by _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: plain system calls on the prepared C strings and a local
        // stat buffer; the child never returns into the test harness.
        unsafe {
            libc::close(fds[0]);
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                libc::_exit(100);
            }
            for p in &cpaths {
                let mut errno: i32 = 0;
                let mut st: libc::stat = std::mem::zeroed();
                if libc::stat(p.as_ptr(), &mut st) != 0 {
                    errno = *libc::__errno_location();
                } else {
                    let fd = libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK);
                    if fd < 0 {
                        errno = *libc::__errno_location();
                    } else {
                        libc::close(fd);
                    }
                }
                let bytes = errno.to_ne_bytes();
                libc::write(fds[1], bytes.as_ptr().cast(), 4);
            }
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(fds[1]) };
    let mut status = 0;
    // SAFETY: waitpid(2) on our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child could not become nobody (status {status:#x})"
    );
    let mut out = Vec::new();
    let mut buf = [0u8; 4];
    for _ in paths {
        // SAFETY: reading 4 bytes into a local buffer from our pipe.
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), 4) };
        assert_eq!(n, 4, "short read from the nobody child");
        out.push(i32::from_ne_bytes(buf));
    }
    // SAFETY: closing our read end.
    unsafe { libc::close(fds[0]) };
    out
}

#[test]
fn nobody_cannot_reach_a_containers_files() {
    if !have_root("nobody_cannot_reach_a_containers_files") {
        return;
    }
    let root = TestRoot::new("dataroot");
    let id = start(&root, "closed");
    let dir = root.path().join("containers").join(&id);
    let layer = std::fs::read_dir(root.path().join("layers"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("diff").is_dir())
        .expect("an image layer");

    // Really as nobody: every one refused with EACCES.
    let targets = [
        dir.join("upper"),
        dir.join("upper/suid"),
        dir.join("rootfs"),
        dir.join("rootfs/suid"),
        dir.join("config.json"),
        dir.join("container-json.log"),
        layer.join("diff"),
    ];
    let errnos = as_nobody(&targets);
    for (path, errno) in targets.iter().zip(&errnos) {
        assert_eq!(
            *errno,
            libc::EACCES,
            "host user nobody reached {} (errno {errno})",
            path.display()
        );
    }
    // The control: the same child does reach what is meant to be public,
    // through the root (0711: others pass, but cannot list it).
    let public = as_nobody(&[root.path().join("images"), PathBuf::from("/etc/hostname")]);
    assert_eq!(
        public,
        [0, 0],
        "nobody must still pass through the root itself"
    );

    // The modes, as docker keeps /var/lib/docker (0710) and its trees.
    assert_eq!(mode(root.path()), 0o711, "the data root");
    for sub in ["containers", "layers", "volumes", "tmp"] {
        assert_eq!(mode(&root.path().join(sub)), 0o700, "{sub}/");
    }
    for file in ["config.json", "state.json", "container-json.log"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    // The -e value is in config.json: the reason it is root's only.
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(config.contains("SECRET=hunter2"));

    root.ok(&["rm", "-f", "closed"]);
}

#[test]
fn an_older_open_root_is_closed_when_opened() {
    if !have_root("an_older_open_root_is_closed_when_opened") {
        return;
    }
    let root = TestRoot::new("dataroot-old");
    let id = start(&root, "older");
    let dir = root.path().join("containers").join(&id);
    // What a glassbox before this change left: everything 0755 / 0644.
    let open_up = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    open_up(root.path(), 0o755);
    for sub in ["containers", "layers", "volumes", "tmp"] {
        if root.path().join(sub).exists() {
            open_up(&root.path().join(sub), 0o755);
        }
    }
    for file in ["config.json", "state.json", "container-json.log"] {
        open_up(&dir.join(file), 0o644);
    }
    // Any command opens the root, and closes it again.
    root.ok(&["ps"]);
    assert_eq!(mode(root.path()), 0o711);
    for sub in ["containers", "layers", "volumes", "tmp"] {
        assert_eq!(mode(&root.path().join(sub)), 0o700, "{sub}/");
    }
    for file in ["config.json", "state.json", "container-json.log"] {
        assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
    }
    root.ok(&["rm", "-f", "older"]);
}
