//! `run` starts its program through the sealed exec trampoline
//! (`runtime::trampoline`) instead of re-executing glassbox from a read-only
//! view of itself (issue 15, item 3: nothing bought with a lie). Whatever the
//! program is, no process of the container ever runs glassbox's binary, and
//! a failed exec still says what docker says.
mod common;
use common::{TestRoot, have_root};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A directory of test programs, mounted at /x; removed when dropped.
struct Programs(PathBuf);

impl Programs {
    fn new(name: &str) -> Programs {
        let dir =
            std::env::temp_dir().join(format!("glassbox-trampoline-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Programs(dir)
    }

    /// Writes an executable file by a child (`sh -c 'cat > P'`): a write
    /// descriptor of this multithreaded process, inherited by a child that
    /// another test forks meanwhile, would make its exec fail with ETXTBSY.
    fn add(&self, name: &str, text: &[u8]) {
        let path = self.0.join(name);
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("cat > '{}'", path.display()))
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), text).unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn volume(&self) -> String {
        format!("{}:/x:ro", self.0.display())
    }
}

impl Drop for Programs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `glassbox run --rm --network none [-v V]… busybox ARGS`: exit code,
/// stdout, stderr.
fn run(root: &TestRoot, volumes: &[String], args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["run", "--rm", "--network", "none"];
    for v in volumes {
        all.extend(["-v", v.as_str()]);
    }
    all.push("busybox");
    all.extend(args);
    let out = root.glassbox(&all);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The CVE-2019-5736 entry: a container's program that is /proc/self/exe,
/// directly or as a script's interpreter. The kernel resolves that link at
/// the program's execve, made by the trampoline: it runs the trampoline
/// again (which, its pipe gone, exits 127), never glassbox, which would have
/// printed its version. The host's libraries are mounted in, as an
/// attacker's image would bring them, so that a dynamically linked glassbox
/// could run there if it were ever exec'd (the read-only view of it did,
/// before the trampoline: `glassbox 0.1.0`).
#[test]
fn a_run_never_runs_glassbox_inside_its_container() {
    if !have_root("a_run_never_runs_glassbox_inside_its_container") {
        return;
    }
    let root = TestRoot::new("tramp-self");
    let programs = Programs::new("self");
    programs.add("self-script", b"#!/proc/self/exe\n");
    let mut volumes: Vec<String> = ["/lib64", "/lib", "/usr/lib"]
        .iter()
        .filter(|p| std::path::Path::new(p).exists())
        .map(|p| format!("{p}:{p}:ro"))
        .collect();
    volumes.push(programs.volume());
    for args in [
        &["/proc/self/exe", "--version"][..],
        &["/proc/self/exe", "/proc/self/exe", "--version"],
        &["/x/self-script", "--version"],
    ] {
        let (code, out, err) = run(&root, &volumes, args);
        assert!(
            !out.contains("glassbox") && !err.contains("Usage"),
            "{args:?} ran glassbox in the container: {out} {err}"
        );
        assert_eq!(code, Some(127), "{args:?}: {out} {err}");
    }
}

/// A `run` without `--init` does not re-execute glassbox (no `seal` step in
/// its trace) and starts its program through the trampoline; with `--init`,
/// whose PID 1 stays glassbox for the container's life, it re-executes from
/// a read-only view as before, and execs directly.
#[test]
fn run_starts_its_program_through_the_trampoline() {
    if !have_root("run_starts_its_program_through_the_trampoline") {
        return;
    }
    let root = TestRoot::new("tramp-trace");
    let steps = |extra: &[&str], name: &str| -> Vec<String> {
        let file = root.path().join(format!("{name}.jsonl"));
        let file_arg = file.display().to_string();
        let mut args = vec!["--trace", &file_arg, "run", "--name", name];
        args.extend(extra);
        args.extend(["--network", "none", "busybox", "true"]);
        root.ok(&args);
        // The CLI writes its trace as it exits; wait for the line that ends it.
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let steps: Vec<String> = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|e| e["step"].as_str().map(str::to_string))
                .collect();
            if steps
                .iter()
                .any(|s| s == "retire_container" || s == "save_state")
                || started.elapsed() > Duration::from_secs(10)
            {
                return steps;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let plain = steps(&[], "plain");
    assert!(plain.iter().any(|s| s == "exec_trampoline"), "{plain:?}");
    assert!(!plain.iter().any(|s| s == "seal"), "{plain:?}");
    let init = steps(&["--init"], "init");
    assert!(init.iter().any(|s| s == "seal"), "{init:?}");
    assert!(!init.iter().any(|s| s == "exec_trampoline"), "{init:?}");
}

/// A program the trampoline cannot exec: its error comes back through the
/// pipe as an errno, and the CLI says what docker says, with docker's code.
#[test]
fn exec_failures_past_the_trampoline_match_docker() {
    if !have_root("exec_failures_past_the_trampoline_match_docker") {
        return;
    }
    let root = TestRoot::new("tramp-fail");
    let programs = Programs::new("fail");
    programs.add("no-interpreter", b"#!/bin/not-in-the-image\necho hi\n");
    programs.add("not-elf", b"\x7fELF but not really\n");
    let volume = [programs.volume()];
    let (code, _, err) = run(&root, &volume, &["/x/no-interpreter"]);
    assert_eq!(code, Some(127), "{err}");
    assert!(
        err.contains(r#"exec: "/x/no-interpreter": no such file or directory"#),
        "{err}"
    );
    let (code, _, err) = run(&root, &volume, &["/x/not-elf"]);
    assert_eq!(code, Some(126), "{err}");
    assert!(
        err.contains(r#"exec: "/x/not-elf": exec format error"#),
        "{err}"
    );
    // And a program that runs gets its arguments and environment.
    let (code, out, err) = run(&root, &[], &["sh", "-c", "echo \"$0 $PATH\"", "zero"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("zero /usr/local/sbin:"), "{out}");
}
