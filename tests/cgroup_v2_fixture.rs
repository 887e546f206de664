//! The cgroup v2 code against a fixture tree: this machine's controllers are
//! on v1, so v2 is tested on files that look like Ubuntu 24.04's.

use glassbox::runtime::cgroups::{self, Cgroup, Layout};
use glassbox::runtime::journal::Journal;
use glassbox::runtime::spec::{CpuResources, MemoryResources, PidsResources, Resources};
use glassbox::runtime::trace::Trace;
use std::fs;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("glassbox-v2fixture-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    // The kernel fills each new group with these files; the fixture does it by hand.
    for d in ["", "glassbox", "glassbox/k1", "glassbox/k1/c1"] {
        let p = dir.join(d);
        fs::create_dir_all(&p).unwrap();
        fs::write(
            p.join("cgroup.controllers"),
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        )
        .unwrap();
        fs::write(p.join("cgroup.subtree_control"), "").unwrap();
    }
    dir
}

#[test]
fn parents_hand_their_controllers_down() {
    let dir = fixture("parents");
    let journal = Journal::open(&dir.join("journal")).unwrap();
    cgroups::prepare_parent(&Layout::V2 { mount: dir.clone() }, "glassbox/k1", &journal).unwrap();
    for d in ["", "glassbox", "glassbox/k1"] {
        assert_eq!(
            fs::read_to_string(dir.join(d).join("cgroup.subtree_control")).unwrap(),
            "+memory +cpu +pids",
            "{d}"
        );
    }
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn limits_go_to_v2_files() {
    let dir = fixture("limits");
    let leaf = dir.join("glassbox/k1/c1");
    fs::write(leaf.join("memory.swap.max"), "max\n").unwrap();
    let resources = Resources {
        memory: Some(MemoryResources {
            limit: Some(209_715_200),
            swap: Some(209_715_200),
        }),
        cpu: Some(CpuResources {
            quota: Some(50_000),
            period: Some(100_000),
        }),
        pids: Some(PidsResources { limit: 64 }),
        devices: Vec::new(),
    };
    let mut trace = Trace::default();
    cgroups::v2::apply(&dir, "glassbox/k1/c1", &resources, &mut trace).unwrap();
    let read = |f: &str| fs::read_to_string(leaf.join(f)).unwrap();
    assert_eq!(read("memory.max"), "209715200");
    assert_eq!(read("memory.swap.max"), "0");
    assert_eq!(read("cpu.max"), "50000 100000");
    assert_eq!(read("pids.max"), "64");
    // Each write is a named step the lab can show.
    assert!(trace.events.iter().any(|e| e.detail.contains("memory.max")));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_controller_is_named() {
    let dir = fixture("missing");
    fs::write(dir.join("glassbox/k1/c1/cgroup.controllers"), "cpu pids\n").unwrap();
    let resources = Resources {
        memory: Some(MemoryResources {
            limit: Some(1 << 24),
            swap: None,
        }),
        ..Default::default()
    };
    let err =
        cgroups::v2::apply(&dir, "glassbox/k1/c1", &resources, &mut Trace::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("memory cgroup controller is not available"),
        "{err}"
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn usage_and_oom_kills_are_read_back() {
    let dir = fixture("usage");
    let leaf = dir.join("glassbox/k1/c1");
    let files = [
        ("memory.current", "1048576\n"),
        ("memory.max", "209715200\n"),
        (
            "memory.events",
            "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n",
        ),
        ("cpu.max", "50000 100000\n"),
        (
            "cpu.stat",
            "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 10\nnr_throttled 3\nthrottled_usec 700\n",
        ),
        ("pids.current", "5\n"),
        ("pids.max", "64\n"),
    ];
    for (f, v) in files {
        fs::write(leaf.join(f), v).unwrap();
    }
    let cg = Cgroup::new(&Layout::V2 { mount: dir.clone() }, "/glassbox/k1/c1");
    let u = cg.usage().unwrap();
    assert_eq!(u.memory_bytes, 1_048_576);
    assert_eq!(u.memory_limit, Some(209_715_200));
    assert_eq!(u.cpu_quota, Some((50_000, 100_000)));
    assert_eq!(u.nr_throttled, 3);
    assert_eq!(u.pids_max, Some(64));
    assert_eq!(cg.oom_kills(), 1);
    assert_eq!(cg.procs_files(), vec![leaf.join("cgroup.procs")]);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_layout_is_detected_from_mountinfo() {
    let v2 = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
    assert_eq!(
        cgroups::detect_in(v2),
        Some(Layout::V2 {
            mount: Path::new("/sys/fs/cgroup").into()
        })
    );
}

/// A fixture group whose `cgroup.events` the "kernel" (a thread here)
/// rewrites once `cgroup.freeze` holds `want`.
fn kernel_answers(
    leaf: PathBuf,
    want: &'static str,
    events: &'static str,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if fs::read_to_string(leaf.join("cgroup.freeze")).is_ok_and(|v| v.trim() == want) {
                std::thread::sleep(std::time::Duration::from_millis(20));
                fs::write(leaf.join("cgroup.events"), events).unwrap();
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    })
}

#[test]
fn freeze_writes_cgroup_freeze_and_waits_for_frozen() {
    let dir = fixture("freeze");
    let leaf = dir.join("glassbox/k1/c1");
    fs::write(leaf.join("cgroup.freeze"), "0\n").unwrap();
    fs::write(leaf.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
    let cg = Cgroup::new(&Layout::V2 { mount: dir.clone() }, "glassbox/k1/c1");
    assert!(!cg.is_frozen().unwrap());
    let kernel = kernel_answers(leaf.clone(), "1", "populated 1\nfrozen 1\n");
    let mut trace = Trace::default();
    let start = std::time::Instant::now();
    cg.freeze(&mut trace).unwrap();
    kernel.join().unwrap();
    // It waited for the kernel's word, not only for its own write.
    assert!(start.elapsed() >= std::time::Duration::from_millis(20));
    assert_eq!(fs::read_to_string(leaf.join("cgroup.freeze")).unwrap(), "1");
    assert!(cg.is_frozen().unwrap());
    let step = trace
        .events
        .iter()
        .find(|e| e.step == "freeze_cgroup")
        .expect("a freeze_cgroup step");
    assert!(step.detail.contains("cgroup.freeze"), "{}", step.detail);

    cg.thaw(&mut trace).unwrap();
    assert_eq!(fs::read_to_string(leaf.join("cgroup.freeze")).unwrap(), "0");
    assert!(trace.events.iter().any(|e| e.step == "thaw_cgroup"));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_freeze_that_never_completes_is_undone_and_named() {
    let dir = fixture("freeze-stuck");
    let leaf = dir.join("glassbox/k1/c1");
    fs::write(leaf.join("cgroup.freeze"), "0\n").unwrap();
    // A process stuck in the kernel: frozen never turns 1.
    fs::write(leaf.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
    let err = cgroups::v2::freeze(&leaf, std::time::Duration::from_millis(50)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("cgroup.events"), "{text}");
    assert!(text.contains("frozen 0"), "{text}");
    // The group is not left half-frozen.
    assert_eq!(fs::read_to_string(leaf.join("cgroup.freeze")).unwrap(), "0");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cgroup_events_are_parsed() {
    assert_eq!(
        cgroups::v2::frozen_in("populated 1\nfrozen 1\n"),
        Some(true)
    );
    assert_eq!(
        cgroups::v2::frozen_in("populated 0\nfrozen 0\n"),
        Some(false)
    );
    assert_eq!(cgroups::v2::frozen_in("populated 1\n"), None);
}
