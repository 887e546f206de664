//! The honesty check (`glassbox check --verify`), as CI runs it: each
//! exercise fails on a clean data root, its stored solution makes it pass,
//! and nothing is left behind. Also: it refuses exercises that are not honest.

mod common;
mod exercises_util;

use common::{TestRoot, have_root};
use exercises_util::{gb, have_publish, port_8081_lock};

/// The three fixed exercises and every other one that needs no networking
/// (those two join when `run -p` and the bridge are there).
const HONEST: [&str; 20] = [
    "topic1-host-pid",
    "topic1-pid-inside",
    "topic2-sys-admin",
    "topic3-hostname",
    "topic3-host-net",
    "topic4-capped",
    "topic5-count-layers",
    "topic6-whiteout",
    "topic7-nothing-copied",
    "topic8-parent",
    "topic9-bundle-limit",
    "topic12-nobody",
    "topic13-exec",
    "topic14-upper",
    "topic15-commit",
    "topic16-rebuild",
    "topic17-fix-order",
    "topic18-exit-codes",
    "topic19-oomkilled",
    "topic20-complete",
];

fn verify(
    root: &TestRoot,
    ids: &[&str],
    lessons: Option<&std::path::Path>,
) -> (i32, serde_json::Value) {
    let mut args = vec!["check", "--verify", "--format", "json"];
    args.extend_from_slice(ids);
    let mut c = gb(root, &args);
    if let Some(dir) = lessons {
        c.env("GLASSBOX_LESSONS", dir);
    }
    let out = c.output().expect("run glassbox");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

#[test]
fn every_listed_exercise_fails_before_and_passes_after_its_solution() {
    if !have_root("verify_exercises") {
        return;
    }
    let root = TestRoot::new("ex-verify");
    let mut ids: Vec<&str> = HONEST.to_vec();
    let _lock = if have_publish("verify topic11-web") {
        ids.push("topic11-web");
        ids.push("topic10-reach");
        Some(port_8081_lock())
    } else {
        None
    };
    let (code, doc) = verify(&root, &ids, None);
    for e in doc["exercises"].as_array().unwrap() {
        assert_eq!(
            e["status"], "pass",
            "{} is not proved honest: {}",
            e["id"], e["message"]
        );
        assert!(e["message"].as_str().unwrap().starts_with("fails before ("));
    }
    assert_eq!(doc["summary"]["total"].as_u64(), Some(ids.len() as u64));
    if ids.len() == HONEST.len() + 2 {
        // With networking every exercise of every lesson is proved here.
        let all = glassbox::exercises::load(&exercises_util::lessons_dir()).unwrap();
        assert_eq!(
            all.len(),
            ids.len(),
            "an exercise is missing from this test"
        );
    }
    assert_eq!(code, 0);
    // Cleaned up after each: no container, no cgroup of this root.
    let ps = root.ok(&["ps", "-a", "-q"]);
    assert!(ps.trim().is_empty(), "left containers: {ps}");
    assert!(
        root.container_cgroups().is_empty(),
        "{:?}",
        root.container_cgroups()
    );
}

#[test]
fn dishonest_exercises_are_refused_with_the_step_that_failed() {
    if !have_root("verify_dishonest") {
        return;
    }
    let root = TestRoot::new("ex-dishonest");
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exercises-dishonest");
    let (code, doc) = verify(&root, &[], Some(&dir));
    assert_eq!(code, 1);
    let by_id = |id: &str| {
        doc["exercises"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .cloned()
            .unwrap()
    };
    let e = by_id("solution-does-not-solve");
    assert_eq!(e["status"], "fail");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("after its solution the check still fails")
            && e["message"]
                .as_str()
                .unwrap()
                .contains("expected 209715200"),
        "{e}"
    );
    let e = by_id("wrong-stored-answer");
    assert_eq!(e["status"], "fail");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("the kernel shows 1"),
        "{e}"
    );
    let e = by_id("solution-errs");
    assert_eq!(e["status"], "fail");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("solution command 1"),
        "{e}"
    );
    let ps = root.ok(&["ps", "-a", "-q"]);
    assert!(ps.trim().is_empty(), "left containers: {ps}");
}

/// Every file under `dir`, with its bytes.
fn tree(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    out
}

/// From `/`, as a student who never cd'd into the checkout: the lessons are
/// found, the solutions that edit a Dockerfile or app.sh edit a scratch copy,
/// and the shipped assets and lessons are byte for byte as before.
#[test]
fn verify_from_the_root_directory_leaves_the_checkout_unchanged() {
    if !have_root("verify_from_the_root_directory_leaves_the_checkout_unchanged") {
        return;
    }
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let before = (tree(&repo.join("assets")), tree(&repo.join("lessons")));
    // What git sees, where the checkout is a git work tree (CI's and ours).
    let porcelain = || {
        std::process::Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=all", "--", "."])
            .current_dir(&repo)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let git_before = porcelain();
    let root = TestRoot::new("ex-verify-slash");
    let out = root
        .cmd(&[
            "check",
            "--verify",
            "--format",
            "json",
            "topic16-rebuild",
            "topic17-fix-order",
        ])
        .current_dir("/")
        .env_remove("GLASSBOX_LESSONS")
        .env("GLASSBOX_PROGRESS", root.path.join("progress.toml"))
        .env_remove("SUDO_USER")
        .output()
        .expect("run glassbox");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    for e in doc["exercises"].as_array().expect("exercises") {
        assert_eq!(e["status"], "pass", "{}: {}", e["id"], e["message"]);
    }
    assert_eq!(doc["summary"]["total"].as_u64(), Some(2));
    let after = (tree(&repo.join("assets")), tree(&repo.join("lessons")));
    for (path, bytes) in &before.0 {
        assert_eq!(
            after.0.get(path),
            Some(bytes),
            "{} changed or went",
            path.display()
        );
    }
    assert_eq!(before.0.len(), after.0.len(), "files appeared in assets/");
    assert!(before.1 == after.1, "lessons/ changed");
    assert_eq!(
        porcelain(),
        git_before,
        "git status changed under {}",
        repo.display()
    );
}

/// As a student would, from /tmp and from /: each of topic 16's and 17's
/// solution commands as the lesson stores them (each starts with
/// `cd "$(glassbox exercise workdir)"`), then `glassbox check` from both
/// directories. The edits land in the work directory; the checkout's
/// assets are byte for byte as before and git sees no change.
#[test]
fn solutions_and_check_run_from_tmp_and_root_and_edit_only_the_work_directory() {
    if !have_root("solutions_and_check_run_from_tmp_and_root_and_edit_only_the_work_directory") {
        return;
    }
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let porcelain = || {
        std::process::Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=all", "--", "."])
            .current_dir(&repo)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let git_before = porcelain();
    let assets_before = tree(&repo.join("assets"));
    let lessons = glassbox::lab::check::load_dir(&repo.join("lessons")).expect("lessons load");
    let solution = |id: &str| -> Vec<String> {
        lessons
            .iter()
            .flat_map(|l| l.exercise.iter())
            .find(|e| e.id.get_ref() == id)
            .map(|e| e.solution.clone())
            .expect("the exercise")
    };
    let root = TestRoot::new("ex-solutions-anywhere");
    let work = std::env::temp_dir().join(format!("glassbox-work-anywhere-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_glassbox"))
        .parent()
        .expect("the binary's directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (id, dir) in [("topic16-rebuild", "/tmp"), ("topic17-fix-order", "/")] {
        for cmd in solution(id) {
            let out = std::process::Command::new("sh")
                .args(["-c", &cmd])
                .current_dir(dir)
                .env("PATH", &path)
                .env("GLASSBOX_ROOT", &root.path)
                .env("GLASSBOX_WORK", &work)
                .env_remove("GLASSBOX_LESSONS")
                .env_remove("SUDO_USER")
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run sh");
            assert!(
                out.status.success(),
                "{id} from {dir}: `{cmd}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    for dir in ["/", "/tmp"] {
        let out = root
            .cmd(&[
                "check",
                "--format",
                "json",
                "topic16-rebuild",
                "topic17-fix-order",
            ])
            .current_dir(dir)
            .env_remove("GLASSBOX_LESSONS")
            .env("GLASSBOX_PROGRESS", root.path.join("progress.toml"))
            .env_remove("SUDO_USER")
            .output()
            .expect("run glassbox check");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let list = doc["exercises"].as_array().expect("exercises");
        assert_eq!(list.len(), 2, "{doc}");
        for e in list {
            assert_eq!(
                e["status"], "pass",
                "from {dir}: {}: {}",
                e["id"], e["message"]
            );
        }
    }
    let edited = std::fs::read_to_string(work.join("assets/cache/v1/app.sh")).unwrap_or_default();
    let dockerfile =
        std::fs::read_to_string(work.join("assets/order/exercise/Dockerfile")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&work);
    assert!(
        edited.contains("echo changed"),
        "the work copy is edited: {edited}"
    );
    assert!(dockerfile.contains("COPY deps.txt"), "{dockerfile}");
    let assets_after = tree(&repo.join("assets"));
    for (path, bytes) in &assets_before {
        assert_eq!(
            assets_after.get(path),
            Some(bytes),
            "{} changed or went",
            path.display()
        );
    }
    assert_eq!(
        assets_before.len(),
        assets_after.len(),
        "files appeared in assets/"
    );
    assert_eq!(
        porcelain(),
        git_before,
        "git status changed under {}",
        repo.display()
    );
}
