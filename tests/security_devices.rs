//! Devices (issue 9, item 1): a default container can `mknod` (CAP_MKNOD is
//! among docker's 14) but can open only docker's default devices; `--device`
//! adds one. cgroup v1 enforces it with the devices controller, cgroup v2 with
//! a BPF_PROG_TYPE_CGROUP_DEVICE program glassbox writes itself.
mod common;
use common::{TestRoot, have_root, probe, probe_volume};
use glassbox::runtime::cgroups::devices::{self, Insn};
use glassbox::runtime::spec::DeviceRule;
use glassbox::runtime::trace::Trace;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A loop device on a scratch file whose first bytes are a marker; detached
/// and removed when dropped. Never a real disk.
struct Loop {
    dev: String,
    file: PathBuf,
}

const MARKER: &str = "glassbox-loop-secret";

impl Loop {
    fn new(name: &str) -> Loop {
        let file = std::env::temp_dir().join(format!("glassbox-{name}-{}.img", std::process::id()));
        let mut data = vec![0u8; 1 << 20];
        data[..MARKER.len()].copy_from_slice(MARKER.as_bytes());
        std::fs::write(&file, data).unwrap();
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&file)
            .output()
            .expect("losetup");
        assert!(out.status.success(), "losetup: {out:?}");
        Loop {
            dev: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            file,
        }
    }

    fn minor(&self) -> u32 {
        use std::os::unix::fs::MetadataExt;
        libc::minor(std::fs::metadata(&self.dev).unwrap().rdev())
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
        let _ = std::fs::remove_file(&self.file);
    }
}

fn rule(
    allow: bool,
    typ: &str,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> DeviceRule {
    DeviceRule {
        allow,
        typ: Some(typ.into()),
        major,
        minor,
        access: Some(access.into()),
    }
}

/// The generator is a pure function: a fixed rule set gives this exact program.
#[test]
fn the_device_program_for_a_fixture_rule_set() {
    let rules = [
        rule(false, "a", None, None, "rwm"),
        rule(true, "b", None, None, "m"),
        rule(true, "c", Some(1), Some(3), "rwm"),
    ];
    let i = |code, dst, src, off, imm| Insn {
        code,
        dst,
        src,
        off,
        imm,
    };
    let want = vec![
        // r2 = type, r3 = access, r4 = major, r5 = minor
        i(devices::LDX_W, 2, 1, 0, 0),
        i(devices::AND32_K, 2, 0, 0, 0xffff),
        i(devices::LDX_W, 3, 1, 0, 0),
        i(devices::RSH32_K, 3, 0, 0, 16),
        i(devices::LDX_W, 4, 1, 4, 0),
        i(devices::LDX_W, 5, 1, 8, 0),
        // last rule first: c 1:3 rwm
        i(devices::JNE_K, 2, 0, 4, 2),
        i(devices::JNE_K, 4, 0, 3, 1),
        i(devices::JNE_K, 5, 0, 2, 3),
        i(devices::MOV32_K, 0, 0, 0, 1),
        i(devices::EXIT, 0, 0, 0, 0),
        // b *:* m: mknod only
        i(devices::JNE_K, 2, 0, 5, 1),
        i(devices::MOV32_X, 1, 3, 0, 0),
        i(devices::AND32_K, 1, 0, 0, 1),
        i(devices::JNE_X, 1, 3, 2, 0),
        i(devices::MOV32_K, 0, 0, 0, 1),
        i(devices::EXIT, 0, 0, 0, 0),
        // after "deny a": deny
        i(devices::MOV32_K, 0, 0, 0, 0),
        i(devices::EXIT, 0, 0, 0, 0),
    ];
    assert_eq!(devices::program(&rules).unwrap(), want);
    assert_eq!(
        devices::disassemble(&want[6]),
        "if r2 != 0x2 goto +4",
        "bpftool-style text for the lab"
    );
    // docker's defaults, run through the program as the kernel would.
    let prog = devices::program(&devices::default_rules()).unwrap();
    let verdict = |t, a, maj, min| devices::evaluate(&prog, t, a, maj, min).unwrap();
    for (maj, min) in [
        (1, 3),
        (1, 5),
        (1, 7),
        (1, 8),
        (1, 9),
        (5, 0),
        (5, 1),
        (5, 2),
        (136, 4),
    ] {
        assert_eq!(verdict('c', "rw", maj, min), 1, "c {maj}:{min}");
    }
    assert_eq!(verdict('b', "m", 7, 0), 1, "mknod of a loop device");
    assert_eq!(verdict('c', "m", 1, 11), 1, "mknod of /dev/kmsg");
    for (t, maj, min, what) in [
        ('b', 7, 0, "loop0"),
        ('b', 8, 0, "sda"),
        ('c', 1, 11, "kmsg"),
        ('c', 4, 0, "tty0"),
        ('c', 10, 232, "kvm"),
        ('c', 1, 1, "mem"),
        ('c', 10, 200, "net/tun"),
    ] {
        assert_eq!(verdict(t, "r", maj, min), 0, "read {what}");
        assert_eq!(verdict(t, "w", maj, min), 0, "write {what}");
    }
    // v1 lines for the same rules.
    let lines: Vec<String> = devices::default_rules()
        .iter()
        .map(|r| devices::v1_line(r).unwrap())
        .collect();
    assert_eq!(lines[..3], ["a", "c *:* m", "b *:* m"]);
    assert!(lines.contains(&"c 136:* rwm".to_string()));
}

/// The mount point of the cgroup2 hierarchy: /sys/fs/cgroup on a pure v2
/// host, /sys/fs/cgroup/unified on a hybrid one.
fn cgroup2_mount() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        right
            .starts_with("cgroup2 ")
            .then(|| left.split(' ').nth(4).map(PathBuf::from))
            .flatten()
    })
}

struct Group(PathBuf);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = glassbox::runtime::cgroups::remove_dir(&self.0);
    }
}

/// On a real cgroup2 hierarchy (also the unified mount of a hybrid host):
/// attach the program to a fresh group, move a shell in, and see the kernel
/// refuse what the rules refuse with EPERM, allow the rest, and hold the very
/// instructions glassbox wrote.
#[test]
fn the_v2_program_is_enforced_by_the_kernel() {
    if !have_root("the_v2_program_is_enforced_by_the_kernel") {
        return;
    }
    let mount =
        cgroup2_mount().expect("a cgroup2 hierarchy is mounted (pure v2 or hybrid's unified)");
    let group = Group(mount.join(format!("glassbox-test-devices-{}", std::process::id())));
    std::fs::create_dir(&group.0).unwrap();
    let rules = devices::default_rules();
    let mut trace = Trace::default();
    devices::apply_v2(&group.0, &rules, &mut trace).unwrap();
    assert!(trace.to_json_lines().contains("attach_device_program"));
    // What the kernel holds is what we wrote.
    let attached = devices::attached(&group.0).unwrap();
    assert_eq!(attached.len(), 1, "{attached:?}");
    if !attached[0].insns.is_empty() {
        assert_eq!(attached[0].insns, devices::program(&rules).unwrap());
    }
    let lo = Loop::new("devices-v2");
    let probe = probe();
    let dir = std::env::temp_dir().join(format!("glassbox-devnodes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!(
        "echo $$ > {procs}; P={probe}; \
         $P open /dev/null rw; $P open {lo} r; $P mknod {dir}/loop b 7 {minor}; $P open {dir}/loop r; \
         $P mknod {dir}/kmsg c 1 11; $P open {dir}/kmsg w",
        procs = group.0.join("cgroup.procs").display(),
        probe = probe.display(),
        lo = lo.dev,
        dir = dir.display(),
        minor = lo.minor(),
    );
    let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split(' ').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        lines,
        ["ok", "EPERM", "ok", "EPERM", "ok", "EPERM"],
        "null rw, host loop r, mknod loop, open it, mknod kmsg, open it: {out:?}"
    );
}

fn cgroup_v2_host() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The attack of the issue: root inside made `b 7 N` and read the host's
/// loop device, and wrote into the host's kernel log through `c 1 11`. Now
/// mknod succeeds, open fails with EPERM, and the kernel's record of why is
/// there to read: devices.list on v1, the attached program on v2.
#[test]
fn a_default_container_can_mknod_but_not_open_host_devices() {
    if !have_root("a_default_container_can_mknod_but_not_open_host_devices") {
        return;
    }
    let root = TestRoot::new("sec-devices");
    let lo = Loop::new("devices-run");
    let probe = probe_volume();
    root.ok(&[
        "run",
        "-d",
        "--name",
        "dev",
        "--network",
        "none",
        "-v",
        &probe,
        "busybox",
        "sleep",
        "60",
    ]);
    let minor = lo.minor().to_string();
    let probe_in = |args: &[&str]| {
        let mut all = vec!["exec", "dev", "/probe"];
        all.extend_from_slice(args);
        String::from_utf8_lossy(&root.glassbox(&all).stdout)
            .trim()
            .to_string()
    };
    assert!(probe_in(&["mknod", "/tmp/loop", "b", "7", &minor]).starts_with("ok"));
    assert!(probe_in(&["open", "/tmp/loop", "r"]).starts_with("EPERM"));
    assert!(probe_in(&["open", "/tmp/loop", "w"]).starts_with("EPERM"));
    assert!(probe_in(&["mknod", "/tmp/kmsg", "c", "1", "11"]).starts_with("ok"));
    assert!(probe_in(&["open", "/tmp/kmsg", "w"]).starts_with("EPERM"));
    for (name, major, minor) in [("tty0", "4", "0"), ("kvm", "10", "232"), ("mem", "1", "1")] {
        let node = format!("/tmp/{name}");
        assert!(probe_in(&["mknod", &node, "c", major, minor]).starts_with("ok"));
        assert!(
            probe_in(&["open", &node, "r"]).starts_with("EPERM"),
            "{name}"
        );
    }
    for dev in [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
    ] {
        assert!(probe_in(&["open", dev, "rw"]).starts_with("ok"), "{dev}");
    }
    // Why, in the kernel's own words.
    let cgroup = root.inspect("dev")["Glassbox"]["Cgroup"]
        .as_str()
        .unwrap()
        .trim_start_matches('/')
        .to_string();
    if cgroup_v2_host() {
        let progs = devices::attached(&Path::new("/sys/fs/cgroup").join(&cgroup)).unwrap();
        assert_eq!(progs.len(), 1, "{progs:?}");
    } else {
        let list = std::fs::read_to_string(
            Path::new("/sys/fs/cgroup/devices")
                .join(&cgroup)
                .join("devices.list"),
        )
        .unwrap();
        assert!(
            list.contains("c 1:3 rwm") && list.contains("b *:* m"),
            "{list}"
        );
        assert!(!list.contains("a *:* rwm"), "{list}");
    }
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`, as docker's: the node is made
/// inside and allowed with exactly those permissions.
#[test]
fn dash_device_adds_one_device() {
    if !have_root("dash_device_adds_one_device") {
        return;
    }
    let root = TestRoot::new("sec-device-flag");
    let lo = Loop::new("devices-flag");
    let probe = probe_volume();
    let map = format!("{}:/dev/xvda:r", lo.dev);
    let out = root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &probe,
        "--device",
        &map,
        "busybox",
        "sh",
        "-c",
        "head -c 20 /dev/xvda; echo; /probe open /dev/xvda w; stat -c '%t:%T %F' /dev/xvda",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], MARKER, "{out}");
    assert!(lines[1].starts_with("EPERM"), "{out}");
    assert_eq!(
        lines[2],
        format!("7:{:x} block special file", lo.minor()),
        "{out}"
    );
    // Same path inside, docker's default rwm.
    let out = root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &probe,
        "--device",
        &lo.dev,
        "busybox",
        "/probe",
        "open",
        &lo.dev,
        "rw",
    ]);
    assert!(out.starts_with("ok"), "{out}");
    for bad in [
        "/nonexistent-device",
        "/etc/hostname",
        "relative",
        "/dev/null:/dev/x:rwx",
    ] {
        let out = root.glassbox(&["run", "--rm", "--device", bad, "busybox", "true"]);
        assert_eq!(out.status.code(), Some(125), "--device {bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--device"),
            "--device {bad}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
