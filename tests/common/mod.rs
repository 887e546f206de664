//! Shared helpers for the integration tests: each test gets its own data root
//! (a temporary directory whose path contains `glassbox`), runs the real
//! binary against it, and removes everything it made when dropped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// True when the tests run as root. Without root, a privileged test is
/// skipped loudly — except in CI (`CI` set), where a skip is a failure.
pub fn have_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test} needs root, and CI must run it: run the suite as root");
    }
    eprintln!("SKIPPED {test}: needs root (run the tests with sudo)");
    false
}

/// A private data root for one test.
pub struct TestRoot {
    pub path: PathBuf,
}

impl TestRoot {
    pub fn new(name: &str) -> TestRoot {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("glassbox-test-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test root");
        TestRoot { path }
    }

    /// A `glassbox --root <this root> ARGS…` command, not yet run.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_glassbox"));
        c.arg("--root").arg(&self.path).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Runs glassbox and returns its output, whatever the exit code.
    pub fn glassbox(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run glassbox")
    }

    /// Runs glassbox, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.glassbox(args);
        assert!(
            out.status.success(),
            "glassbox {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The host PID of a running container, from `inspect`.
    pub fn pid_of(&self, name: &str) -> u32 {
        let doc = self.inspect(name);
        doc["State"]["Pid"].as_u64().expect("State.Pid") as u32
    }

    /// `inspect NAME` as JSON (the first document).
    pub fn inspect(&self, name: &str) -> serde_json::Value {
        let text = self.ok(&["inspect", name]);
        let v: serde_json::Value = serde_json::from_str(&text).expect("inspect JSON");
        v[0].clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key that names this root's kernel objects (`glassbox/<key>-<id>`, …).
    pub fn key(&self) -> String {
        use sha2::Digest;
        let canon = std::fs::canonicalize(&self.path).expect("canonical root");
        let hash = sha2::Sha256::digest(canon.as_os_str().as_encoded_bytes());
        hash[..4].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Container cgroups of this root still present, in any hierarchy.
    pub fn container_cgroups(&self) -> Vec<PathBuf> {
        let key = self.key();
        let mut out = Vec::new();
        let tops: Vec<PathBuf> = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            vec![PathBuf::from("/sys/fs/cgroup")]
        } else {
            std::fs::read_dir("/sys/fs/cgroup")
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default()
        };
        let prefix = format!("{key}-");
        for top in tops {
            if let Ok(d) = std::fs::read_dir(top.join("glassbox")) {
                out.extend(
                    d.flatten()
                        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                        .map(|e| e.path())
                        .filter(|p| p.is_dir()),
                );
            }
        }
        out
    }
}

impl Drop for TestRoot {
    fn drop(&mut self) {
        if nix::unistd::geteuid().is_root() {
            let _ = self.glassbox(&["cleanup"]);
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// stdout of a plain host command.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The security tests' static probe (`tests/fixtures/security/probe.c`),
/// compiled once per build directory with the host's C compiler (`cc -static`):
/// busybox has no way to make an arbitrary system call and report its errno.
pub fn probe() -> PathBuf {
    static PROBE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PROBE.get_or_init(compile_probe).clone()
}

fn compile_probe() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/security/probe.c");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("glassbox-probe");
    let fresh = |p: &Path| {
        let (Ok(bin), Ok(c)) = (std::fs::metadata(p), std::fs::metadata(&src)) else {
            return false;
        };
        bin.modified().ok() >= c.modified().ok()
    };
    if fresh(&out) {
        return out;
    }
    // Parallel test binaries may compile at once: each to its own name, then rename.
    let tmp = out.with_extension(format!("tmp{}", std::process::id()));
    let status = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(&tmp)
        .arg(&src)
        .status()
        .expect("run cc (install gcc and libc6-dev)");
    assert!(status.success(), "cc -static {} failed", src.display());
    std::fs::rename(&tmp, &out).expect("rename the probe into place");
    out
}

/// `-v PROBE:/probe:ro`, to give `run` so the container can run `/probe`.
pub fn probe_volume() -> String {
    format!("{}:/probe:ro", probe().display())
}
