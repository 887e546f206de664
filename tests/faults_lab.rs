//! Fault 4: the lab ends cleanly however its terminal goes. The tmux window
//! holding the lab is killed mid-demo (the terminal hangs up): the lab
//! removes its `lab-*` containers and exits, without a panic and without
//! spinning, whether its stderr is the gone terminal or a file. After a
//! SIGKILL, the next `glassbox lab` says what the last one left and removes it.

mod common;
mod faults_util;
mod tmux_util;
use common::{TestRoot, have_root};
use faults_util::{alive, wait_until};
use std::path::Path;
use std::time::{Duration, Instant};
use tmux_util::{Tmux, have_tmux};

/// How long a screen may take to show what a test waits for.
const LONG: Duration = Duration::from_secs(60);

/// Kills, when the test ends, any process still running with this root on
/// its command line (a lab that did not end by itself).
struct KillLeftovers(String);
impl Drop for KillLeftovers {
    fn drop(&mut self) {
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(&self.0) && cmdline.contains(" lab") {
                faults_util::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// The lab on topic 1, for a shell's command line: `env` sets its
/// variables, so that `exec` before it makes the lab the shell's own
/// process (dash, unlike bash, forks even a command line's only command).
fn lab_command(root: &TestRoot) -> String {
    let repo = env!("CARGO_MANIFEST_DIR");
    format!(
        "env GLASSBOX_LESSONS={repo}/lessons GLASSBOX_PROGRESS={root}/progress.toml {exe} --root {root} lab 1",
        exe = env!("CARGO_BIN_EXE_glassbox"),
        root = root.path().display(),
    )
}

fn lab_containers(root: &TestRoot) -> Vec<String> {
    root.ok(&["ps", "-a"])
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|n| n.starts_with("lab-"))
        .map(String::from)
        .collect()
}

/// Opens topic 1 and runs its demo: lab-sleeper runs.
/// `stderr`: the file the lab's errors go to, if not the terminal.
fn start_demo(tmux: &Tmux, root: &TestRoot, stderr: Option<&Path>) {
    tmux.wait_for("the lab to open", LONG, stderr, |s| {
        s.contains("glassbox lab · 01/20")
    });
    tmux.keys(&["Enter"]);
    wait_until("lab-sleeper to run", Duration::from_secs(60), || {
        root.ok(&["ps"]).contains("lab-sleeper")
    });
}

/// Kills the window mid-demo; the lab must end by itself and remove its
/// containers. Returns what the lab's shell recorded as its exit.
fn hang_up(root: &TestRoot, session: &str, stderr: Option<&Path>) -> String {
    let status = root.path().join("lab-status");
    // The shell waits for the lab, then records its exit status (a trapped
    // SIGHUP is handled only once the lab has ended).
    let redirect = stderr
        .map(|p| format!(" 2>{}", p.display()))
        .unwrap_or_default();
    let command = format!(
        "sh -c \"trap 'echo hup' HUP; {}{redirect}; echo exit=\\$? > {}\"",
        lab_command(root),
        status.display()
    );
    let _leftovers = KillLeftovers(root.path().display().to_string());
    let tmux = Tmux::start(session, 160, 45, &command);
    start_demo(&tmux, root, stderr);
    tmux.keys(&["l"]);
    tmux.kill_window();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !status.exists() {
        assert!(
            Instant::now() < deadline,
            "the lab did not end within 30 s of its terminal closing (lab containers: {:?})",
            lab_containers(root)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(100));
    std::fs::read_to_string(&status).unwrap().trim().to_string()
}

#[test]
fn closing_the_labs_terminal_removes_its_containers() {
    if !have_root("closing_the_labs_terminal_removes_its_containers")
        || !have_tmux("closing_the_labs_terminal_removes_its_containers")
    {
        return;
    }
    let root = TestRoot::new("faults-lab-hup");
    let exit = hang_up(
        &root,
        &format!("glassbox-faults-hup-{}", std::process::id()),
        None,
    );
    assert!(
        !lab_containers(&root).iter().any(|n| n == "lab-sleeper"),
        "lab-sleeper outlives the lab ({exit})"
    );
    assert_eq!(exit, "exit=0", "the lab ended by a hangup is a quit");
}

#[test]
fn closing_the_terminal_with_stderr_in_a_file_ends_the_lab_quietly() {
    if !have_root("closing_the_terminal_with_stderr_in_a_file_ends_the_lab_quietly")
        || !have_tmux("closing_the_terminal_with_stderr_in_a_file_ends_the_lab_quietly")
    {
        return;
    }
    let root = TestRoot::new("faults-lab-hup-err");
    let err = root.path().join("lab-stderr");
    let exit = hang_up(
        &root,
        &format!("glassbox-faults-huperr-{}", std::process::id()),
        Some(&err),
    );
    let said = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(!said.contains("panicked"), "{said}");
    assert!(
        lab_containers(&root).is_empty(),
        "{:?}",
        lab_containers(&root)
    );
    assert_eq!(exit, "exit=0", "{said}");
}

#[test]
fn the_next_lab_removes_what_a_killed_lab_left() {
    if !have_root("the_next_lab_removes_what_a_killed_lab_left")
        || !have_tmux("the_next_lab_removes_what_a_killed_lab_left")
    {
        return;
    }
    let root = TestRoot::new("faults-lab-kill");
    let session = format!("glassbox-faults-kill-{}", std::process::id());
    let stderr = root.path().join("lab-stderr");
    // exec: the pane's process is the lab itself, whatever tmux's shell.
    let command = format!("exec {} 2>>{}", lab_command(&root), stderr.display());
    let tmux = Tmux::start(&session, 160, 45, &command);
    let lab = tmux.pane_pid();
    start_demo(&tmux, &root, Some(&stderr));
    faults_util::kill(lab, libc::SIGKILL);
    wait_until("the lab to die", Duration::from_secs(5), || !alive(lab));
    drop(tmux);
    assert_eq!(
        lab_containers(&root),
        ["lab-sleeper"],
        "the killed lab left its container"
    );

    let tmux = Tmux::start(&format!("{session}-again"), 160, 45, &command);
    tmux.wait_for(
        "the note on what the last lab left",
        LONG,
        Some(&stderr),
        |s| s.contains("lab-sleeper") && s.contains("removed"),
    );
    wait_until("lab-sleeper to go", Duration::from_secs(20), || {
        lab_containers(&root).is_empty()
    });
    tmux.keys(&["q"]);
}
