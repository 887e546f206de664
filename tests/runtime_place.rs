//! A start that makes the container's cgroup after the clone (cgroup v1:
//! `runtime::start`'s `place`, run while the init mounts its root): the init
//! waits for the runtime's go-ahead before it joins the group and goes on to
//! its `execve`. If the group cannot be made, the init must die without its
//! program ever running outside a cgroup.
//!
//! One test in this file: `runtime::start` forks the test process, which
//! must have no other busy thread.

mod common;
use common::{TestRoot, have_root};
use glassbox::runtime::spec::Spec;
use glassbox::runtime::trace::Trace;
use glassbox::runtime::{self, RuntimeError, cgroups};
use std::path::Path;

#[test]
fn a_cgroup_that_cannot_be_made_after_the_clone_kills_the_init_before_its_program_runs() {
    if !have_root("a_cgroup_that_cannot_be_made_after_the_clone_kills_the_init") {
        return;
    }
    let root = TestRoot::new("place");
    // A real bundle: glassbox's own config.json, its /etc files, and a copy
    // of busybox's image layer as the root filesystem.
    root.ok(&[
        "run",
        "-d",
        "--name",
        "src",
        "--network",
        "none",
        "busybox",
        "sleep",
        "60",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&root.ok(&["inspect", "src"])).unwrap();
    let bundle = Path::new(doc[0]["Glassbox"]["Bundle"].as_str().unwrap()).to_path_buf();
    let lower = doc[0]["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let mut spec: Spec =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    let work = root.path.join("place-bundle");
    std::fs::create_dir_all(&work).unwrap();
    for m in spec.mounts.iter_mut() {
        if m.typ == "bind" && Path::new(&m.source).starts_with(&bundle) {
            let copy = work.join(Path::new(&m.source).file_name().unwrap());
            std::fs::copy(&m.source, &copy).unwrap();
            m.source = copy.display().to_string();
        }
    }
    root.ok(&["rm", "-f", "src"]);
    let rootfs = work.join("rootfs");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&lower)
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(copied.success(), "cp -a {lower} {}", rootfs.display());

    spec.process.terminal = false;
    spec.process.args = vec!["touch".into(), "/ran".into()];
    spec.linux.cgroups_path = Some(format!("glassbox-test-place-{}", std::process::id()));
    let layout = cgroups::detect().unwrap();
    let cgroup = runtime::cgroup_of(&spec, &layout).unwrap();
    let mut asked = 0;
    // Slow to fail: an init that did not wait would have run its program
    // long before.
    let mut place = |init: libc::pid_t, _: &mut Trace| -> Result<(), RuntimeError> {
        asked = init;
        std::thread::sleep(std::time::Duration::from_millis(300));
        Err(RuntimeError::Syscall {
            what: "making the cgroup (refused by the test)".into(),
            source: std::io::Error::other("refused"),
        })
    };
    // What the caller does while the init sets up comes after its cgroup:
    // not at all when that fails.
    let meanwhile_ran = std::cell::Cell::new(false);
    let mut meanwhile = |_init: libc::pid_t, _, _: &mut Trace| meanwhile_ran.set(true);
    let mut trace = Trace::default();
    let started = runtime::start(
        &spec,
        &rootfs,
        &cgroup,
        [0, 1, 2],
        Some(&mut place),
        Some(&mut meanwhile),
        &mut trace,
    );

    let err = started.expect_err("the start went on without its cgroup");
    assert!(err.to_string().contains("refused by the test"), "{err}");
    assert!(asked > 0, "place was not asked with the init's PID");
    assert!(!meanwhile_ran.get(), "meanwhile ran although place failed");
    assert!(
        !rootfs.join("ran").exists(),
        "the program ran although its cgroup was never made"
    );
    // The init was killed and reaped: no child of this process is left.
    assert_eq!(
        nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG)),
        Err(nix::errno::Errno::ECHILD)
    );
    assert!(
        !Path::new(&format!("/proc/{asked}")).exists(),
        "the init {asked} is still there"
    );
    for dir in cgroup.dirs() {
        assert!(!dir.exists(), "{} was made", dir.display());
    }
}
