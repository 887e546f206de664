//! The progress file: written atomically (a kill at any moment leaves a file
//! that loads), a corrupt one reported and replaced, owned by the sudo user.

mod common;
mod exercises_util;

use common::{TestRoot, have_root};
use exercises_util::{grade, run};
use glassbox::exercises::progress::{self, Progress};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

const CHILD_ENV: &str = "GLASSBOX_TEST_PROGRESS_WRITER";

/// Not a test of its own: the writer the kill test starts as a child
/// process. It saves ever-growing progress as fast as it can, until killed.
#[test]
#[ignore]
fn progress_writer_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let path = std::path::PathBuf::from(path);
    let mut p = Progress::default();
    for round in 0u64.. {
        for i in 0..400 {
            let id = format!("exercise-{i:04}-with-a-long-enough-name");
            p.set_answer(&id, &format!("round {round} {}", "x".repeat(64)));
            p.record(&id, i % 2 == 0);
        }
        p.jump((round % 20) as u32 + 1);
        progress::save(&path, &p, None).expect("save");
    }
}

#[test]
fn progress_survives_a_kill_during_a_write() {
    let dir = TestRoot::new("ex-progress-kill");
    let path = dir.path.join("state/glassbox/progress.toml");
    let me = std::env::current_exe().unwrap();
    let mut seen_complete = 0;
    for attempt in 0..30u64 {
        let mut child = std::process::Command::new(&me)
            .args([
                "--ignored",
                "--exact",
                "progress_writer_child",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill it at a different moment each time, mostly mid-write.
        std::thread::sleep(Duration::from_millis(20 + (attempt * 7) % 60));
        child.kill().unwrap(); // SIGKILL: no chance to tidy up
        child.wait().unwrap();
        let loaded = progress::load(&path).unwrap();
        assert!(
            loaded.warning.is_none(),
            "attempt {attempt}: a kill left a corrupt file: {:?}",
            loaded.warning
        );
        let n = loaded.progress.exercises.len();
        assert!(
            n == 0 || n == 400,
            "attempt {attempt}: half a file ({n} entries)"
        );
        if n == 400 {
            seen_complete += 1;
            // Every entry of one save, not a mix of two.
            let rounds: std::collections::BTreeSet<String> = loaded
                .progress
                .exercises
                .values()
                .map(|e| {
                    e.answer
                        .clone()
                        .unwrap()
                        .split(' ')
                        .nth(1)
                        .unwrap()
                        .to_string()
                })
                .collect();
            assert_eq!(rounds.len(), 1, "attempt {attempt}: entries from two saves");
        }
    }
    assert!(
        seen_complete > 0,
        "the writer never finished a save: the test proved nothing"
    );
    assert!(!path.with_extension("toml.corrupt").exists());
    // The next save tidies what the killed writers left.
    progress::save(&path, &Progress::default(), None).unwrap();
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "stale temporary files: {left:?}");
}

#[test]
fn a_corrupt_file_is_reported_kept_aside_and_replaced() {
    let root = TestRoot::new("ex-progress-corrupt");
    let path = root.path.join("progress.toml");
    std::fs::write(
        &path,
        "format_version = 1\n[exercises.topic4-capped\nstatus = ",
    )
    .unwrap();
    let out = run(&root, &["exercise", "skip", "topic4-capped"]);
    assert!(
        out.status.success(),
        "a corrupt progress file is not fatal: {out:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("was corrupt") && stderr.contains("starting fresh"),
        "{stderr}"
    );
    assert!(
        path.with_extension("toml.corrupt").exists(),
        "the old copy is kept"
    );
    let p = progress::load(&path).unwrap();
    assert!(p.warning.is_none());
    assert_eq!(
        p.progress.exercise("topic4-capped").status,
        progress::ExerciseStatus::Skipped
    );
    // Binary garbage too.
    std::fs::write(&path, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    let out = run(&root, &["exercise", "list"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("was corrupt"));
}

#[test]
fn hints_one_at_a_time_then_the_solution_and_answers() {
    let root = TestRoot::new("ex-progress-hints");
    let text = |args: &[&str]| {
        let out = run(&root, args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(text(&["exercise", "hint", "topic4-capped"]).starts_with("hint 1 of 2:"));
    assert!(text(&["exercise", "hint", "topic4-capped"]).starts_with("hint 2 of 2:"));
    assert!(text(&["exercise", "hint", "topic4-capped"]).starts_with("all 2 hints are shown"));
    assert!(text(&["exercise", "solution", "topic4-capped"]).contains("--pids-limit 64"));
    text(&["exercise", "answer", "topic1-pid-inside", "1"]);
    let p = progress::load(&root.path.join("progress.toml"))
        .unwrap()
        .progress;
    let e = p.exercise("topic4-capped");
    assert_eq!((e.hints_shown, e.solution_shown), (2, true));
    assert_eq!(p.exercise("topic1-pid-inside").answer.as_deref(), Some("1"));
    // A task takes no answer.
    let out = run(&root, &["exercise", "answer", "topic4-capped", "1"]);
    assert!(!out.status.success());
}

#[test]
fn under_sudo_the_file_belongs_to_the_invoking_user() {
    if !have_root("progress_under_sudo") {
        return;
    }
    let root = TestRoot::new("ex-progress-sudo");
    let path = root
        .path
        .join("home/student/.local/state/glassbox/progress.toml");
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody");
    let out = exercises_util::gb(&root, &["exercise", "skip", "topic4-capped"])
        .env("GLASSBOX_PROGRESS", &path)
        .env("SUDO_USER", "nobody")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.uid(), nobody.uid.as_raw(), "the file is the student's");
    let dir = std::fs::metadata(path.parent().unwrap()).unwrap();
    assert_eq!(
        dir.uid(),
        nobody.uid.as_raw(),
        "so is the directory glassbox made"
    );
}

#[test]
fn under_sudo_the_default_file_is_in_the_invoking_users_home() {
    // Pure: with SUDO_USER set while root, the home is the user's, not root's.
    if !nix::unistd::Uid::effective().is_root() {
        return;
    }
    let Ok(Some(u)) = nix::unistd::User::from_name("nobody") else {
        return;
    };
    // SAFETY: the other tests of this binary touch the environment only
    // through std (one lock) and `Command::env` (the child's); no libc getenv
    // runs beside this.
    unsafe { std::env::set_var("SUDO_USER", "nobody") };
    // SAFETY: as above.
    unsafe { std::env::remove_var(progress::PROGRESS_ENV) };
    let (path, owner) = progress::default_path().unwrap();
    // SAFETY: as above.
    unsafe { std::env::remove_var("SUDO_USER") };
    assert!(path.starts_with(&u.dir), "{}", path.display());
    assert_eq!(owner.unwrap().uid, u.uid.as_raw());
}

#[test]
fn a_prediction_counts_only_when_made_before_the_demo() {
    if !have_root("a_prediction_counts_only_when_made_before_the_demo") {
        return;
    }
    let root = TestRoot::new("ex-progress-predict");
    // Answered before the container exists, graded against the live value: a pass.
    let out = run(&root, &["exercise", "answer", "topic1-pid-inside", "1"]);
    assert!(out.status.success(), "{out:?}");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "lab-sleeper",
        "--network",
        "none",
        "busybox",
        "sleep",
        "600",
    ]);
    let (code, e) = grade(&root, "topic1-pid-inside");
    assert_eq!((code, e["status"].as_str()), (0, Some("pass")), "{e:#}");

    // Once the demo shows the value, the CLI refuses a new prediction...
    let out = run(&root, &["exercise", "answer", "topic1-pid-inside", "1"]);
    assert!(!out.status.success());
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(
        why.contains("too late") && why.contains("rm -f lab-sleeper"),
        "{why}"
    );

    // ...and an answer written after it (as the lab's pane could) fails the check.
    let path = root.path.join("progress.toml");
    let mut p = progress::load(&path).unwrap().progress;
    p.set_answer("topic1-pid-inside", "1");
    progress::save(&path, &p, None).unwrap();
    let (code, e) = grade(&root, "topic1-pid-inside");
    assert_eq!(code, 1, "{e:#}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("answered after lab-sleeper was created"),
        "{e:#}"
    );
}

/// Every exercise id the lessons define, from `glassbox exercise list`.
fn all_exercise_ids(root: &TestRoot) -> Vec<String> {
    let out = run(root, &["exercise", "list"]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

/// Two shells write the progress file at once (`glassbox exercise skip` in
/// one, `glassbox exercise hint` in the other, each on its own exercises):
/// every writer takes the lock, re-reads and merges, so nothing is lost.
#[test]
fn two_writers_racing_lose_nothing() {
    let root = TestRoot::new("ex-progress-race");
    let ids = all_exercise_ids(&root);
    assert!(ids.len() >= 20, "{ids:?}");
    let (skips, hints): (Vec<_>, Vec<_>) = ids
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let writer = |verb: &'static str, list: Vec<(usize, String)>| {
        let root_path = root.path.clone();
        std::thread::spawn(move || {
            for (_, id) in list {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
                    .arg("--root")
                    .arg(&root_path)
                    .args(["exercise", verb, &id])
                    .env("GLASSBOX_LESSONS", exercises_util::lessons_dir())
                    .env("GLASSBOX_PROGRESS", root_path.join("progress.toml"))
                    .env_remove("SUDO_USER")
                    .output()
                    .expect("run glassbox");
                assert!(out.status.success(), "{verb} {id}: {out:?}");
            }
        })
    };
    let a = writer("skip", skips.clone());
    let b = writer("hint", hints.clone());
    a.join().expect("skip writer");
    b.join().expect("hint writer");
    let p = progress::load(&root.path.join("progress.toml"))
        .unwrap()
        .progress;
    let lost_skips: Vec<&String> = skips
        .iter()
        .map(|(_, id)| id)
        .filter(|id| p.exercise(id).status != progress::ExerciseStatus::Skipped)
        .collect();
    // Every exercise has hints, so each `hint` records one.
    let lost_hints: Vec<&String> = hints
        .iter()
        .map(|(_, id)| id)
        .filter(|id| p.exercise(id).hints_shown != 1)
        .collect();
    assert!(
        lost_skips.is_empty() && lost_hints.is_empty(),
        "writes lost: skips {lost_skips:?}, hints {lost_hints:?}"
    );
}

/// A writer holding an old copy (the lab, open for an hour) saves: what
/// another writer put in the file since is merged by exercise, not dropped.
#[test]
fn a_stale_copy_saved_later_merges_with_what_another_wrote() {
    let root = TestRoot::new("ex-progress-stale");
    let path = root.path.join("progress.toml");
    // The lab loads the file (empty), then the student works in a shell.
    let mut lab = progress::load(&path).unwrap().progress;
    for args in [
        &["exercise", "hint", "topic4-capped"][..],
        &["exercise", "answer", "topic1-pid-inside", "1"],
        &["exercise", "skip", "topic5-count-layers"],
    ] {
        let out = run(&root, args);
        assert!(out.status.success(), "{args:?}: {out:?}");
    }
    // Then the lab records its own change and saves its copy.
    lab.skip("topic1-host-pid");
    lab.jump(6);
    progress::save(&path, &lab, None).unwrap();
    let p = progress::load(&path).unwrap().progress;
    assert_eq!(p.exercise("topic4-capped").hints_shown, 1, "{p:#?}");
    assert_eq!(p.exercise("topic1-pid-inside").answer.as_deref(), Some("1"));
    assert_eq!(
        p.exercise("topic5-count-layers").status,
        progress::ExerciseStatus::Skipped
    );
    assert_eq!(
        p.exercise("topic1-host-pid").status,
        progress::ExerciseStatus::Skipped
    );
    assert_eq!(p.current_topic, Some(6));
}

/// The lab removes its containers when it quits: a prediction graded later
/// (`glassbox check`) says which commands make its container again, and
/// passes once they ran.
#[test]
fn a_predictions_container_can_be_made_again_after_the_lab() {
    if !have_root("a_predictions_container_can_be_made_again_after_the_lab") {
        return;
    }
    let root = TestRoot::new("ex-progress-remake");
    let out = run(&root, &["exercise", "answer", "topic1-pid-inside", "1"]);
    assert!(out.status.success(), "{out:?}");
    let (code, e) = grade(&root, "topic1-pid-inside");
    assert_eq!(code, 1, "{e:#}");
    let why = e["message"].as_str().unwrap_or_default();
    assert!(
        why.contains("no container named lab-sleeper")
            && why
                .contains("made again by: `glassbox run -d --name lab-sleeper busybox sleep 3600`"),
        "{why}"
    );
    root.ok(&[
        "run",
        "-d",
        "--name",
        "lab-sleeper",
        "busybox",
        "sleep",
        "3600",
    ]);
    let (code, e) = grade(&root, "topic1-pid-inside");
    assert_eq!((code, e["status"].as_str()), (0, Some("pass")), "{e:#}");
    root.ok(&["rm", "-f", "lab-sleeper"]);
}
