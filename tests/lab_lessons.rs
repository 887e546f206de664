//! The lesson files: the real `lessons/` must check clean, and every invalid
//! fixture under tests/fixtures/lessons/CASE/ must give exactly the messages
//! in its `expected.txt` (paths shown relative to the case directory).

use std::path::{Path, PathBuf};
use std::process::Command;

use glassbox::lab::check::check_dir;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_cases() -> Vec<PathBuf> {
    let dir = repo().join("tests/fixtures/lessons");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// The diagnostics of one case, with the case's path replaced by `.`.
fn messages(case: &Path) -> String {
    let (_, diagnostics) = check_dir(&case.join("lessons"));
    let prefix = case.display().to_string();
    diagnostics
        .iter()
        .map(|d| d.to_string().replace(&prefix, ".") + "\n")
        .collect()
}

#[test]
fn real_lessons_check_clean() {
    let (lessons, diagnostics) = check_dir(&repo().join("lessons"));
    let shown: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        shown.is_empty(),
        "lessons/ has problems:\n{}",
        shown.join("\n")
    );
    assert_eq!(lessons.len(), 20, "the lab has twenty topics");
    for (i, lesson) in lessons.iter().enumerate() {
        assert_eq!(lesson.topic() as usize, i + 1);
        assert!(!lesson.step.is_empty());
        assert!(!lesson.title.is_empty());
    }
}

#[test]
fn every_seed_section_has_its_topic() {
    let seed_path = repo().join("../shared/seed/docker-level-4.md");
    let seed_path = if seed_path.exists() {
        seed_path
    } else {
        PathBuf::from("/work/shared/seed/docker-level-4.md")
    };
    let Ok(seed) = std::fs::read_to_string(&seed_path) else {
        eprintln!("SKIPPED: no seed lesson at {}", seed_path.display());
        return;
    };
    let (lessons, _) = check_dir(&repo().join("lessons"));
    for lesson in &lessons {
        let number = format!("# {}. ", lesson.topic());
        let heading = seed
            .lines()
            .find(|l| l.starts_with(&number))
            .unwrap_or_else(|| panic!("the seed has no section {}", lesson.topic()));
        // The seed's headings use typographic apostrophes; the lessons ASCII.
        let heading = heading.trim_start_matches("# ").replace('\u{2019}', "'");
        assert_eq!(heading, lesson.seed_section, "topic {}", lesson.topic());
    }
}

#[test]
fn invalid_fixtures_report_their_expected_messages() {
    let cases = fixture_cases();
    assert!(cases.len() >= 8, "expected the invalid fixtures");
    for case in cases {
        let expected = std::fs::read_to_string(case.join("expected.txt"))
            .unwrap_or_else(|_| panic!("{} has no expected.txt", case.display()));
        assert_eq!(messages(&case), expected, "case {}", case.display());
    }
}

#[test]
fn lessons_command_lists_and_checks() {
    let exe = env!("CARGO_BIN_EXE_glassbox");
    let out = Command::new(exe)
        .args(["lessons", "--lessons"])
        .arg(repo().join("lessons"))
        .output()
        .expect("run glassbox lessons");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 20);
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.contains("A container is a process"))
    );

    let case = repo().join("tests/fixtures/lessons/unknown-panel");
    let out = Command::new(exe)
        .args(["lessons", "--check", "--lessons"])
        .arg(case.join("lessons"))
        .output()
        .expect("run glassbox lessons --check");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("01-alpha.toml:11:24: unknown panel \"cgroups\""),
        "{text}"
    );
}

#[test]
fn the_lab_without_a_terminal_says_what_it_needs() {
    let exe = env!("CARGO_BIN_EXE_glassbox");
    for args in [&["lab"][..], &[][..]] {
        let out = Command::new(exe)
            .args(["--root", "/nonexistent/glassbox-lab-no-tty"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run glassbox");
        assert_eq!(out.status.code(), Some(125), "glassbox {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("needs a terminal"), "{err}");
    }
    assert!(!Path::new("/nonexistent/glassbox-lab-no-tty").exists());
}

/// Installed as `PREFIX/bin/glassbox`, glassbox finds its lessons in
/// `PREFIX/share/glassbox/lessons` from any directory, before the source
/// tree it was built from.
#[test]
fn an_installed_glassbox_finds_its_lessons_next_to_it() {
    let prefix = std::env::temp_dir().join(format!("glassbox-prefix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::create_dir_all(prefix.join("bin")).expect("bin");
    let lessons = prefix.join("share/glassbox/lessons");
    std::fs::create_dir_all(&lessons).expect("share");
    for entry in std::fs::read_dir(repo().join("lessons"))
        .expect("lessons")
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "toml") {
            std::fs::copy(entry.path(), lessons.join(entry.file_name())).expect("copy");
        }
    }
    let copied = Command::new("cp")
        .arg("-r")
        .arg(repo().join("assets"))
        .arg(prefix.join("share/glassbox/assets"))
        .status()
        .expect("cp -r assets");
    assert!(copied.success());
    let exe = prefix.join("bin/glassbox");
    // Copied by cp, not std::fs::copy: a write descriptor of ours, inherited
    // by a child another test thread forks meanwhile, would make the exec
    // below fail with ETXTBSY ("Text file busy").
    let copied = Command::new("cp")
        .arg(env!("CARGO_BIN_EXE_glassbox"))
        .arg(&exe)
        .status()
        .expect("cp the binary");
    assert!(copied.success());
    let out = Command::new(&exe)
        .args(["lessons", "--check"])
        .current_dir("/")
        .env_remove("GLASSBOX_LESSONS")
        .output()
        .expect("run the installed glassbox");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = std::fs::remove_dir_all(&prefix);
    assert!(out.status.success(), "{text}");
    assert!(
        text.starts_with(&format!("{}: 20 lessons", lessons.display())),
        "{text}"
    );
}

/// `glassbox exercise workdir` copies the files exercises edit out of the
/// shipped assets, once, and prints where: from any directory.
#[test]
fn the_work_directory_holds_the_students_copy_of_the_edited_assets() {
    let work = std::env::temp_dir().join(format!("glassbox-work-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["exercise", "workdir"])
            .current_dir("/")
            .env("GLASSBOX_WORK", &work)
            .env_remove("GLASSBOX_LESSONS")
            .output()
            .expect("run glassbox exercise workdir")
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        work.display().to_string()
    );
    let app = work.join("assets/cache/v1/app.sh");
    let dockerfile = work.join("assets/order/exercise/Dockerfile");
    assert_eq!(
        std::fs::read(&app).expect("app.sh copied"),
        std::fs::read(repo().join("assets/cache/v1/app.sh")).expect("shipped app.sh")
    );
    assert!(dockerfile.is_file());
    std::fs::write(&app, "echo mine\n").expect("edit");
    let again = run();
    assert!(again.status.success());
    let kept = std::fs::read_to_string(&app).expect("app.sh");
    let _ = std::fs::remove_dir_all(&work);
    assert_eq!(kept, "echo mine\n", "a second run keeps the student's edit");
}
