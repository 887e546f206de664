//! commit, export and diff cannot be tricked into reading the host (issue 9,
//! item 6).
//!
//! A process in the container swaps, in a tight loop with
//! `renameat2(RENAME_EXCHANGE)`, a regular file with a symlink to a host
//! file (0600, root's), and a directory with a symlink to a host directory.
//! A reader that looks at a name and then opens the *path* can see a file
//! and open the symlink: the host's file lands in the tar. glassbox freezes
//! the container while it commits or exports (its cgroup's freezer), and
//! walks the tree by file descriptor (`openat(O_NOFOLLOW)` relative to the
//! open parent), so neither can happen.
//!
//! The racer is a child of the test that joins the container's cgroups (so
//! a freeze stops it as it stops the container's own processes) and its
//! mount namespace, then exchanges `/race/a` ↔ `/race/b` and `/race/d` ↔
//! `/race/e` for as long as the test runs. A frozen snapshot is also a
//! consistent one: exactly one of `a`/`b` is a symlink, and one of `d`/`e`.

mod common;
use common::{TestRoot, have_root};
use std::ffi::CString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How many commits and exports each check makes.
const ROUNDS: usize = 12;

struct Racer {
    pid: libc::pid_t,
}

impl Drop for Racer {
    fn drop(&mut self) {
        // SAFETY: kill(2) and waitpid(2) on our own child.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

/// The cgroup directories of a process that glassbox made (`…/glassbox/…`),
/// in every hierarchy, from /proc/PID/cgroup.
fn glassbox_cgroups(pid: u32) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let pure_v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            if !path.contains("/glassbox/") {
                return None;
            }
            let mount = if controllers.is_empty() {
                if pure_v2 {
                    "/sys/fs/cgroup".to_string()
                } else {
                    "/sys/fs/cgroup/unified".to_string()
                }
            } else {
                format!("/sys/fs/cgroup/{}", controllers.trim_start_matches("name="))
            };
            Some(PathBuf::from(mount).join(path.trim_start_matches('/')))
        })
        .filter(|p| p.is_dir())
        .collect()
}

/// Starts the racer in the container of `pid` (see the module doc).
fn start_racer(pid: u32) -> Racer {
    let mnt = CString::new(format!("/proc/{pid}/ns/mnt")).unwrap();
    let names: Vec<CString> = ["/race/a", "/race/b", "/race/d", "/race/e"]
        .iter()
        .map(|p| CString::new(*p).unwrap())
        .collect();
    let mut go = [0i32; 2];
    // SAFETY: pipe(2) into a local array.
    assert_eq!(unsafe { libc::pipe(go.as_mut_ptr()) }, 0);
    // SAFETY: the child makes only async-signal-safe system calls on memory
    // prepared before the fork and never returns into the harness.
    let child = unsafe { libc::fork() };
    assert!(child >= 0);
    if child == 0 {
        // SAFETY: raw system calls on prepared buffers; the child ends by _exit.
        unsafe {
            libc::close(go[1]);
            let mut b = [0u8; 1];
            // Wait until the parent has put us in the container's cgroups.
            if libc::read(go[0], b.as_mut_ptr().cast(), 1) != 1 {
                libc::_exit(1);
            }
            let fd = libc::open(mnt.as_ptr(), libc::O_RDONLY);
            if fd < 0 || libc::setns(fd, libc::CLONE_NEWNS) != 0 {
                libc::_exit(2);
            }
            loop {
                for pair in [(0, 1), (2, 3)] {
                    libc::syscall(
                        libc::SYS_renameat2,
                        libc::AT_FDCWD,
                        names[pair.0].as_ptr(),
                        libc::AT_FDCWD,
                        names[pair.1].as_ptr(),
                        libc::RENAME_EXCHANGE,
                    );
                }
            }
        }
    }
    // SAFETY: closing our copy of the read end.
    unsafe { libc::close(go[0]) };
    for dir in glassbox_cgroups(pid) {
        let file = if dir.join("tasks").exists() {
            dir.join("tasks")
        } else {
            dir.join("cgroup.procs")
        };
        std::fs::write(&file, child.to_string())
            .unwrap_or_else(|e| panic!("joining {}: {e}", file.display()));
    }
    // SAFETY: writing one byte from a local buffer to our pipe, then closing it.
    unsafe {
        libc::write(go[1], b"g".as_ptr().cast(), 1);
        libc::close(go[1]);
    }
    Racer { pid: child }
}

/// What the test plants: a host secret (0600), a host directory with a
/// marker file, and a container whose /race holds the names to swap.
struct Setup {
    root: TestRoot,
    secret: Vec<u8>,
    marker: String,
    _racer: Racer,
}

fn setup(label: &str) -> Setup {
    let root = TestRoot::new(label);
    let host = root.path().join("host-side");
    std::fs::create_dir_all(host.join("dir")).unwrap();
    let secret = format!("HOST-SECRET-{}-{label}", std::process::id()).into_bytes();
    let secret_file = host.join("secret");
    std::fs::write(&secret_file, &secret).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let marker = format!("host-marker-{}", std::process::id());
    std::fs::write(host.join("dir").join(&marker), b"x").unwrap();
    let script = format!(
        "mkdir -p /race/d && echo inner > /race/d/inner && echo plain > /race/a \
         && ln -s {} /race/b && ln -s {} /race/e && echo ready && sleep 600",
        secret_file.display(),
        host.join("dir").display()
    );
    root.ok(&[
        "run", "-d", "--name", "racy", "busybox", "sh", "-c", &script,
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !root.ok(&["logs", "racy"]).contains("ready") {
        assert!(Instant::now() < deadline, "the container never got ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let racer = start_racer(root.pid_of("racy"));
    // Let the swapping run a moment before the first read.
    std::thread::sleep(Duration::from_millis(100));
    Setup {
        root,
        secret,
        marker,
        _racer: racer,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The entries under race/ of a tar: name → (is symlink, content).
fn race_entries(tar_bytes: &[u8]) -> Vec<(String, tar::EntryType)> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(tar_bytes);
    for e in archive.entries().unwrap() {
        let e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        let path = path.trim_start_matches("./").to_string();
        if path.starts_with("race/") {
            out.push((path, e.header().entry_type()));
        }
    }
    out
}

/// A frozen snapshot: one of `a`/`b` a symlink and one a file; one of
/// `d`/`e` a symlink and one a directory; nothing but `inner` under either.
fn assert_consistent(what: &str, entries: &[(String, tar::EntryType)], marker: &str) {
    let kind = |name: &str| {
        entries
            .iter()
            .find(|(p, _)| p.trim_end_matches('/') == name)
            .map(|(_, k)| *k)
    };
    for (one, other) in [("race/a", "race/b"), ("race/d", "race/e")] {
        let kinds = [kind(one), kind(other)];
        let links = kinds
            .iter()
            .filter(|k| **k == Some(tar::EntryType::Symlink))
            .count();
        assert_eq!(
            links, 1,
            "{what}: {one} and {other} are {kinds:?}: not one snapshot (was the container frozen?)\n{entries:?}"
        );
    }
    for (p, _) in entries {
        assert!(
            !p.contains(marker),
            "{what}: the host directory's {marker} is in the tar: {p}"
        );
    }
}

#[test]
fn export_never_reads_the_host() {
    if !have_root("export_never_reads_the_host") {
        return;
    }
    let s = setup("export-race");
    let mut tars = Vec::new();
    for _ in 0..ROUNDS {
        let out = s.root.cmd(&["export", "racy"]).output().unwrap();
        assert!(
            out.status.success(),
            "export failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tars.push(out.stdout);
    }
    let leaked = tars.iter().filter(|t| contains(t, &s.secret)).count();
    assert_eq!(
        leaked, 0,
        "the host's 0600 file is in {leaked} of {ROUNDS} exports"
    );
    for (round, t) in tars.iter().enumerate() {
        assert_consistent(&format!("export {round}"), &race_entries(t), &s.marker);
    }
    s.root.ok(&["rm", "-f", "racy"]);
}

/// The layer tar of the top layer of an image.
fn top_layer_tar(root: &TestRoot, image: &str) -> Vec<u8> {
    let doc = root.inspect(image);
    let layers = doc["RootFS"]["Layers"].as_array().expect("RootFS.Layers");
    let top = layers.last().unwrap().as_str().unwrap();
    let hex = top.trim_start_matches("sha256:");
    let mut bytes = Vec::new();
    std::fs::File::open(root.path().join("layers").join(hex).join("layer.tar"))
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    bytes
}

#[test]
fn commit_never_reads_the_host() {
    if !have_root("commit_never_reads_the_host") {
        return;
    }
    let s = setup("commit-race");
    let mut layers = Vec::new();
    for round in 0..ROUNDS {
        let tag = format!("racy:r{round}");
        s.root.ok(&["commit", "racy", &tag]);
        layers.push(top_layer_tar(&s.root, &tag));
    }
    let leaked = layers.iter().filter(|t| contains(t, &s.secret)).count();
    assert_eq!(
        leaked, 0,
        "the host's 0600 file is in {leaked} of {ROUNDS} committed layers"
    );
    for (round, t) in layers.iter().enumerate() {
        assert_consistent(&format!("commit {round}"), &race_entries(t), &s.marker);
    }
    // --pause=false, as docker's: no freeze, so no consistent snapshot
    // either; the descriptor walk still never reads the host. A name that
    // changed type under the walk makes the commit fail, said so.
    for round in 0..ROUNDS {
        let tag = format!("racy:np{round}");
        let out = s.root.glassbox(&["commit", "--pause=false", "racy", &tag]);
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("changed while it was read"), "{err}");
            continue;
        }
        let layer = top_layer_tar(&s.root, &tag);
        assert!(
            !contains(&layer, &s.secret),
            "--pause=false round {round}: the host's 0600 file is in the committed layer"
        );
        for (p, _) in race_entries(&layer) {
            assert!(!p.contains(&s.marker), "--pause=false round {round}: {p}");
        }
    }
    s.root.ok(&["rm", "-f", "racy"]);
}

#[test]
fn diff_never_lists_the_host() {
    if !have_root("diff_never_lists_the_host") {
        return;
    }
    let s = setup("diff-race");
    for round in 0..ROUNDS * 4 {
        let out = s.root.glassbox(&["diff", "racy"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains(&s.marker),
            "round {round}: diff lists the host directory's file:\n{text}"
        );
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("changed while it was read"), "{err}");
        }
    }
    s.root.ok(&["rm", "-f", "racy"]);
}

/// Everything under `dir`, as paths relative to it (symlinks not followed).
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            }
            out.push(rel);
        }
    }
    out.sort();
    out
}

/// `cp CONTAINER:PATH DEST` lands what the container sent on the host, and
/// what it sent may hold symlinks to anywhere on the host. Merged into an
/// existing directory, such a symlink used to be followed as if it were a
/// directory of the container's: the host directory it named was "merged"
/// into DEST, its files moved out of place. Now a symlink is moved as a
/// symlink, or refused where a directory stands, and the host's files stay.
#[test]
fn cp_out_never_follows_the_containers_symlinks_on_the_host() {
    if !have_root("cp_out_never_follows_the_containers_symlinks_on_the_host") {
        return;
    }
    let root = TestRoot::new("cp-out-links");
    let victim = root.path().join("host-victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("keep"), b"host file").unwrap();
    let script = format!(
        "mkdir -p /x/deeper && echo c > /x/deeper/file && ln -s {v} /x/sub && ln -s {v} /link \
         && echo ready && sleep 600",
        v = victim.display()
    );
    root.ok(&[
        "run", "-d", "--name", "linky", "busybox", "sh", "-c", &script,
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !root.ok(&["logs", "linky"]).contains("ready") {
        assert!(Instant::now() < deadline, "the container never got ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let victim_before = tree(&victim);

    // A directory merged into DEST/x, where DEST/x/sub is a directory.
    let dst = root.path().join("dst");
    std::fs::create_dir_all(dst.join("x/sub")).unwrap();
    std::fs::create_dir_all(dst.join("x/deeper")).unwrap();
    let out = root.glassbox(&["cp", "linky:/x", dst.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a symlink replaced a directory");
    assert!(err.contains("cannot overwrite directory"), "{err}");
    assert_eq!(tree(&victim), victim_before, "the host directory changed");
    assert!(
        !dst.join("x/sub/keep").exists(),
        "the host's file was moved into DEST"
    );

    // The symlink itself onto an existing directory of the same name.
    std::fs::create_dir_all(dst.join("link")).unwrap();
    let out = root.glassbox(&["cp", "linky:/link", dst.to_str().unwrap()]);
    assert!(!out.status.success(), "a symlink replaced a directory");
    assert_eq!(tree(&victim), victim_before, "the host directory changed");
    assert!(tree(&dst.join("link")).is_empty(), "{:?}", tree(&dst));

    // Into a fresh DEST: the symlink arrives as a symlink, nothing followed.
    let fresh = root.path().join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    root.ok(&["cp", "linky:/x", fresh.to_str().unwrap()]);
    let sub = std::fs::symlink_metadata(fresh.join("x/sub")).unwrap();
    assert!(sub.file_type().is_symlink());
    assert_eq!(std::fs::read(fresh.join("x/deeper/file")).unwrap(), b"c\n");
    assert_eq!(tree(&victim), victim_before, "the host directory changed");

    // And a merge that is allowed still merges.
    std::fs::remove_dir(dst.join("x/sub")).unwrap();
    root.ok(&["cp", "linky:/x", dst.to_str().unwrap()]);
    assert_eq!(std::fs::read(dst.join("x/deeper/file")).unwrap(), b"c\n");
    assert!(
        std::fs::symlink_metadata(dst.join("x/sub"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    for d in [&dst, &fresh] {
        let staged: Vec<_> = tree(d)
            .into_iter()
            .filter(|p| p.contains(".glassbox-cp-"))
            .collect();
        assert!(staged.is_empty(), "staging left behind: {staged:?}");
    }
    assert_eq!(tree(&victim), victim_before, "the host directory changed");
    root.ok(&["rm", "-f", "linky"]);
}
