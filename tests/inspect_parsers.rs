//! The inspect parsers against kernel samples in tests/fixtures/inspect/, and
//! against malformed text, where the error must name what was wrong.

use std::path::{Path, PathBuf};

use glassbox::inspect::cgroup::{self, CgroupUsage, CpuMax, V1Dirs};
use glassbox::inspect::iptables::parse_iptables_save;
use glassbox::inspect::mountinfo::{self, parse_mountinfo, parse_mountinfo_line};
use glassbox::inspect::namespaces::{
    Namespaces, NsMember, NsType, compare_namespaces, parse_ns_link, summarize_namespaces,
};
use glassbox::inspect::netdev;
use glassbox::inspect::proc_stat::parse_proc_stat;
use glassbox::inspect::proc_status::{
    CAPABILITIES, SeccompMode, capability_by_name, capability_names, parse_ignored_signals,
    parse_proc_status,
};
use glassbox::inspect::processes::{ProcessTree, parse_cmdline, printable};
use glassbox::inspect::{ParseError, ReadError};

fn fixture_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inspect")
        .join(relative)
}

fn fixture(relative: &str) -> String {
    let path = fixture_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts that parsing failed with a message containing every one of `parts`.
#[track_caller]
fn assert_error<T: std::fmt::Debug>(result: Result<T, ParseError>, parts: &[&str]) {
    let message = result
        .expect_err("malformed input must not parse")
        .to_string();
    for part in parts {
        assert!(
            message.contains(part),
            "`{message}` should mention `{part}`"
        );
    }
}

/// The whole error chain of a reader error, as `{:#}` prints it through anyhow.
fn chain(error: &ReadError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

// --- proc_status ---

#[test]
fn status_of_container_init() {
    let status = parse_proc_status(&fixture("proc_status/container_init.txt")).unwrap();
    assert_eq!(status.name, "httpd");
    assert_eq!(status.state, 'S');
    assert_eq!((status.pid, status.ppid), (48213, 48190));
    assert_eq!(status.nspid, [48213, 1]);
    assert_eq!(status.pid_in_namespace(), 1);
    assert_eq!(status.uid.real, 1000);
    assert_eq!(status.gid.fs, 1000);
    assert_eq!(status.groups, [10, 1000]);
    assert_eq!(status.capabilities.effective, 0);
    assert_eq!(status.capabilities.bounding, 0xa804_25fb);
    assert!(status.no_new_privs);
    assert_eq!(status.seccomp, SeccompMode::Filter);
    assert_eq!(status.seccomp.name(), "filter");
    assert_eq!(status.vm_rss_kb, Some(896));
}

#[test]
fn status_of_nested_namespaces_and_kernel_thread() {
    let nested = parse_proc_status(&fixture("proc_status/nested_root.txt")).unwrap();
    assert_eq!(nested.nspid, [50001, 77, 5]);
    assert_eq!(nested.pid_in_namespace(), 5);

    let kthread = parse_proc_status(&fixture("proc_status/kernel_thread.txt")).unwrap();
    assert_eq!(kthread.name, "kworker/0:1-events");
    assert_eq!(kthread.state, 'I');
    assert_eq!(kthread.groups, Vec::<u32>::new());
    assert_eq!(kthread.vm_rss_kb, None);
    assert_eq!(capability_names(kthread.capabilities.effective).len(), 41);
    assert_eq!(kthread.seccomp, SeccompMode::Disabled);
}

#[test]
fn ignored_signals_from_status() {
    // An init that ignores SIGQUIT (bit 2: signal 3); a kernel thread
    // ignores all 64.
    let init = fixture("proc_status/container_init.txt");
    assert_eq!(parse_ignored_signals(&init), Some(1 << 2));
    let kthread = fixture("proc_status/kernel_thread.txt");
    assert_eq!(parse_ignored_signals(&kthread), Some(u64::MAX));
    let host = fixture("proc_status/host_shell_root.txt");
    assert_eq!(parse_ignored_signals(&host), Some(0));
    assert_eq!(parse_ignored_signals("SigBlk:\t0000000000000000\n"), None);
    assert_eq!(parse_ignored_signals("SigIgn:\tnot hex\n"), None);
}

#[test]
fn status_captured_from_a_host_shell() {
    let status = parse_proc_status(&fixture("proc_status/host_shell_root.txt")).unwrap();
    assert_eq!(status.nspid, [status.pid]);
    assert_eq!(status.uid.effective, 0);
    assert!(status.vm_rss_kb.is_some());
}

#[test]
fn status_errors_name_the_field_or_value() {
    let good = fixture("proc_status/container_init.txt");
    // Values procfs-core reads: it names the value and the type it wanted.
    assert_error(
        parse_proc_status(&good.replace("NSpid:\t48213\t1", "NSpid:\t48213\tone")),
        &["`one`", "is not a number"],
    );
    assert_error(
        parse_proc_status(&good.replace("00000000a80425fb", "zz")),
        &["`zz`", "is not a number"],
    );
    // What our layer checks before or after it: named by field.
    assert_error(
        parse_proc_status(&good.replace("Uid:\t1000\t1000\t1000\t1000", "Uid:\t1000\t1000")),
        &["Uid", "four ids"],
    );
    assert_error(
        parse_proc_status(&good.replace("Seccomp:\t2", "Seccomp:\t7")),
        &["Seccomp", "`7`"],
    );
    let without_pid: String = good
        .lines()
        .filter(|l| !l.starts_with("Pid:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_error(parse_proc_status(&without_pid), &["missing Pid"]);
}

#[test]
fn capability_table() {
    assert_eq!(CAPABILITIES.len(), 41);
    for (i, (name, bit)) in CAPABILITIES.iter().enumerate() {
        assert_eq!(usize::from(*bit), i, "{name} out of order");
        assert_eq!(capability_by_name(name), Some(*bit));
    }
    // docker's default set
    assert_eq!(
        capability_names(0xa804_25fb),
        [
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_FOWNER",
            "CAP_FSETID",
            "CAP_KILL",
            "CAP_SETGID",
            "CAP_SETUID",
            "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE",
            "CAP_NET_RAW",
            "CAP_SYS_CHROOT",
            "CAP_MKNOD",
            "CAP_AUDIT_WRITE",
            "CAP_SETFCAP",
        ]
    );
    assert_eq!(capability_names(1 << 63), Vec::<&str>::new());
    assert_eq!(capability_by_name("net_admin"), Some(12));
    assert_eq!(capability_by_name("CHECKPOINT_RESTORE"), Some(40));
    assert_eq!(capability_by_name("CAP_FLY"), None);
}

// --- proc_stat ---

#[test]
fn stat_with_parentheses_in_comm() {
    let stat = parse_proc_stat(&fixture("proc_stat/weird_comm.txt")).unwrap();
    assert_eq!(stat.pid, 48213);
    assert_eq!(stat.comm, "my (weird) app");
    assert_eq!(stat.state, 'S');
    assert_eq!(stat.ppid, 48190);
    assert_eq!((stat.utime, stat.stime), (7, 3));
    assert_eq!(stat.num_threads, 2);
    assert_eq!(stat.starttime, 1_234_567);
    assert_eq!(stat.rss_pages, 224);
}

#[test]
fn stat_samples() {
    let systemd = parse_proc_stat(&fixture("proc_stat/systemd.txt")).unwrap();
    assert_eq!((systemd.pid, systemd.ppid, systemd.starttime), (1, 0, 23));
    let cat = parse_proc_stat(&fixture("proc_stat/host_cat.txt")).unwrap();
    assert_eq!(cat.comm, "cat");
    assert_eq!(cat.state, 'R');
}

#[test]
fn stat_errors_name_the_field_or_value() {
    assert_error(parse_proc_stat("12 cat R 1"), &["`(`"]);
    assert_error(parse_proc_stat("12 (cat R 1"), &["`)`"]);
    // procfs-core reads fields 1 to 37 and would panic on a shorter line.
    assert_error(
        parse_proc_stat("12 (cat) R 1 1 1"),
        &["field 7", "6 fields"],
    );
    assert_error(parse_proc_stat("12 (cat)"), &["field 3", "2 fields"]);
    let good = fixture("proc_stat/systemd.txt");
    assert_error(
        parse_proc_stat(&good.replacen(" 23 ", " -23 ", 1)),
        &["`-23`"],
    );
    assert_error(
        parse_proc_stat(&good.replacen("S 0", "sleeping 0", 1)),
        &["state (field 3)"],
    );
}

// --- namespaces ---

#[test]
fn ns_links() {
    let link = parse_ns_link("net:[4026531840]").unwrap();
    assert_eq!((link.kind, link.inode), (NsType::Net, 4_026_531_840));
    assert_eq!(
        parse_ns_link("pid_for_children:[1]").map(|l| l.kind).ok(),
        None
    );
    assert_error(
        parse_ns_link("net:4026531840"),
        &["namespace link", "TYPE:[INODE]"],
    );
    assert_error(parse_ns_link("bogus:[1]"), &["namespace type", "`bogus`"]);
    assert_error(parse_ns_link("uts:[x]"), &["namespace inode", "`x`"]);
}

fn ns(pid: u64, net: u64, mnt: u64) -> Namespaces {
    Namespaces {
        cgroup: Some(4_026_531_835),
        ipc: Some(4_026_531_839),
        mnt: Some(mnt),
        net: Some(net),
        pid: Some(pid),
        time: None,
        user: Some(4_026_531_837),
        uts: Some(4_026_531_838),
    }
}

#[test]
fn ns_compare_and_summarize() {
    let host = ns(4_026_531_836, 4_026_531_840, 4_026_531_841);
    let container = ns(4_026_532_300, 4_026_532_301, 4_026_532_302);
    let rows = compare_namespaces(&host, &container);
    let shared: Vec<NsType> = rows.iter().filter(|r| r.shared).map(|r| r.kind).collect();
    assert_eq!(
        shared,
        [NsType::Cgroup, NsType::Ipc, NsType::User, NsType::Uts]
    );
    let time = rows.iter().find(|r| r.kind == NsType::Time).unwrap();
    assert!(!time.shared, "absent on both sides is not `shared`");

    let member = |pid, command: &str, namespaces| NsMember {
        pid,
        command: command.into(),
        namespaces,
    };
    let summary = summarize_namespaces(&[
        member(48251, "httpd -f", container),
        member(1, "/sbin/init", host),
        member(48213, "/bin/sh", container),
        member(812, "sshd", host),
    ]);
    let pid_ns = summary
        .iter()
        .find(|s| s.kind == NsType::Pid && s.inode == 4_026_532_300)
        .unwrap();
    assert_eq!(
        (pid_ns.nprocs, pid_ns.pid, pid_ns.command.as_str()),
        (2, 48213, "/bin/sh")
    );
    let user = summary.iter().find(|s| s.kind == NsType::User).unwrap();
    assert_eq!((user.nprocs, user.pid), (4, 1));
    assert!(summary.windows(2).all(|w| w[0].inode <= w[1].inode));
}

// --- mountinfo ---

#[test]
fn mountinfo_of_host_with_overlay() {
    let mounts = parse_mountinfo(&fixture("mountinfo/host_ubuntu2404.txt")).unwrap();
    assert_eq!(mounts.len(), 13);
    let root = mountinfo::find_mount(&mounts, Path::new("/")).unwrap();
    assert_eq!(
        (root.mount_id, root.parent_id, root.major, root.minor),
        (30, 1, 252, 0)
    );
    assert_eq!(root.fs_type, "ext4");
    assert_eq!(root.source, "/dev/mapper/ubuntu--vg-ubuntu--lv");
    assert_eq!(root.shared, Some(1));
    assert_eq!(root.master, None);

    let usb = mounts.iter().find(|m| m.mount_id == 118).unwrap();
    assert_eq!(usb.mount_point, Path::new("/media/student/USB Stick"));
    assert_eq!(usb.mount_options, ["rw", "nosuid", "nodev", "relatime"]);

    let nsfs = mounts.iter().find(|m| m.fs_type == "nsfs").unwrap();
    assert_eq!(nsfs.root, Path::new("net:[4026532481]"));

    let rootfs = Path::new("/var/lib/glassbox/containers/web/rootfs");
    let overlay = mountinfo::find_overlay(&mounts, rootfs).unwrap();
    let dirs = mountinfo::overlay_dirs(overlay).unwrap();
    assert_eq!(
        dirs.lowerdir,
        [
            "/var/lib/glassbox/layers/3c1f0b7e/diff",
            "/var/lib/glassbox/layers/9a2b44d1/diff",
            "/var/lib/glassbox/layers/e4d06c58/diff",
        ]
        .map(PathBuf::from)
    );
    assert_eq!(
        dirs.upperdir.as_deref(),
        Some(Path::new("/var/lib/glassbox/containers/web/upper"))
    );
    assert_eq!(
        dirs.workdir.as_deref(),
        Some(Path::new("/var/lib/glassbox/containers/web/work"))
    );
    assert!(mountinfo::find_overlay(&mounts, Path::new("/boot")).is_none());
}

#[test]
fn mountinfo_inside_a_container() {
    let mounts = parse_mountinfo(&fixture("mountinfo/container_web.txt")).unwrap();
    let root = mountinfo::find_overlay(&mounts, Path::new("/")).unwrap();
    assert_eq!(root.master, Some(321));
    assert_eq!(mountinfo::overlay_dirs(root).unwrap().lowerdir.len(), 3);
    let hostname = mountinfo::find_mount(&mounts, Path::new("/etc/hostname")).unwrap();
    assert_eq!(
        hostname.root,
        Path::new("/var/lib/glassbox/containers/web/hostname")
    );
    let proc_sys = mountinfo::find_mount(&mounts, Path::new("/proc/sys")).unwrap();
    assert_eq!(proc_sys.mount_options[0], "ro");
}

#[test]
fn overlay_lowerdir_with_escapes() {
    let mounts = parse_mountinfo(&fixture("mountinfo/docker_overlay_escaped.txt")).unwrap();
    let dirs = mountinfo::overlay_dirs(&mounts[0]).unwrap();
    assert_eq!(
        dirs.lowerdir,
        [
            "/var/lib/docker/overlay2/l/ZQ4W",
            "/srv/odd:name/diff",
            "/srv/with,comma and space"
        ]
        .map(PathBuf::from)
    );
    assert_eq!(
        mountinfo::split_lowerdir(r"/a\:b:/c\072d::/data"),
        ["/a:b", "/c:d", "/data"].map(PathBuf::from)
    );
}

#[test]
fn mountinfo_errors_name_the_line_and_field() {
    assert_error(
        parse_mountinfo_line("36 35 98:0 / /mnt rw ext4 /dev/sda1 rw"),
        &["` - `"],
    );
    assert_error(
        parse_mountinfo_line("36 35 98:0 / /mnt rw - ext4 /dev/sda1"),
        &["fields after ` - `", "found 2"],
    );
    assert_error(
        parse_mountinfo_line("36 35 98 / /mnt rw - ext4 /dev/sda1 rw"),
        &["major:minor", "`98`"],
    );
    assert_error(
        parse_mountinfo_line("36 35 98:0 /mnt rw - ext4 /dev/sda1 rw"),
        &["found 5"],
    );
    let text = fixture("mountinfo/container_web.txt").replace("703 701", "703 x");
    assert_error(parse_mountinfo(&text), &["line 3", "parent id", "`x`"]);

    let mounts = parse_mountinfo(&fixture("mountinfo/container_web.txt")).unwrap();
    assert_error(
        mountinfo::overlay_dirs(&mounts[1]),
        &["filesystem type", "`proc`", "overlay"],
    );
    let no_lower =
        parse_mountinfo_line("9 1 0:9 / /x rw - overlay overlay rw,upperdir=/u,workdir=/w")
            .unwrap();
    assert_error(mountinfo::overlay_dirs(&no_lower), &["lowerdir"]);
}

// --- cgroup ---

#[test]
fn proc_cgroup_v1_and_v2() {
    let v1 = cgroup::parse_proc_cgroup(&fixture("proc_cgroup/v1_ubuntu2004.txt")).unwrap();
    assert_eq!(v1.len(), 13);
    assert_eq!(v1[5].controllers, ["cpu", "cpuacct"]);
    assert_eq!(cgroup::v1_path(&v1, "memory"), Some("/glassbox/web"));
    assert_eq!(cgroup::v1_path(&v1, "cpuacct"), Some("/glassbox/web"));
    assert_eq!(
        cgroup::v1_path(&v1, "name=systemd"),
        Some("/user.slice/user-1000.slice/session-3.scope")
    );
    assert_eq!(
        cgroup::v2_path(&v1),
        Some("/user.slice/user-1000.slice/session-3.scope")
    );

    let v2 = cgroup::parse_proc_cgroup(&fixture("proc_cgroup/v2_ubuntu2404.txt")).unwrap();
    assert_eq!(v2.len(), 1);
    assert_eq!(cgroup::v2_path(&v2), Some("/glassbox/web"));
    assert_eq!(cgroup::v1_path(&v2, "memory"), None);

    assert_error(
        cgroup::parse_proc_cgroup("0::/\n4:memory\n"),
        &["line 2", "`4:memory`", "path is missing"],
    );
    assert_error(
        cgroup::parse_proc_cgroup("x:memory:/a\n"),
        &["line 1", "`x`", "is not a number"],
    );
}

#[test]
fn cgroup_v2_control_files() {
    let web = "cgroup_v2/glassbox/web/";
    assert_eq!(
        cgroup::parse_u64(&fixture(&format!("{web}memory.current"))),
        Ok(208_236_544)
    );
    assert_eq!(
        cgroup::parse_max(&fixture(&format!("{web}memory.max"))),
        Ok(Some(209_715_200))
    );
    assert_eq!(
        cgroup::parse_max(&fixture(&format!("{web}memory.high"))),
        Ok(None)
    );
    let events = cgroup::parse_memory_events(&fixture(&format!("{web}memory.events"))).unwrap();
    assert_eq!(
        (
            events.max,
            events.oom,
            events.oom_kill,
            events.oom_group_kill
        ),
        (37, 1, 1, 0)
    );
    let stat = cgroup::parse_flat_keyed(&fixture(&format!("{web}memory.stat"))).unwrap();
    assert_eq!(stat["anon"], 196_337_664);
    assert_eq!(stat["workingset_refault_file"], 1893);
    assert_eq!(
        cgroup::parse_cpu_max(&fixture(&format!("{web}cpu.max"))),
        Ok(CpuMax {
            quota: Some(50_000),
            period: 100_000
        })
    );
    assert_eq!(
        cgroup::parse_cpu_max("max 100000\n"),
        Ok(CpuMax {
            quota: None,
            period: 100_000
        })
    );
    let cpu = cgroup::parse_cpu_stat_v2(&fixture(&format!("{web}cpu.stat"))).unwrap();
    assert_eq!(
        (cpu.usage_usec, cpu.user_usec, cpu.system_usec),
        (8_412_734, 7_901_233, 511_501)
    );
    assert_eq!(
        (cpu.nr_periods, cpu.nr_throttled, cpu.throttled_usec),
        (1542, 371, 19_034_412)
    );
    // Without the cpu controller only the usage keys exist.
    let bare = cgroup::parse_cpu_stat_v2("usage_usec 5\nuser_usec 3\nsystem_usec 2\n").unwrap();
    assert_eq!(bare.nr_throttled, 0);
}

#[test]
fn cgroup_v1_control_files() {
    let mem = "cgroup_v1/memory/glassbox/";
    let cpu = "cgroup_v1/cpu,cpuacct/glassbox/";
    assert_eq!(
        cgroup::parse_v1_limit(&fixture(&format!("{mem}web/memory.limit_in_bytes"))),
        Ok(Some(209_715_200))
    );
    assert_eq!(
        cgroup::parse_v1_limit(&fixture(&format!("{mem}unlimited/memory.limit_in_bytes"))),
        Ok(None)
    );
    assert_eq!(
        cgroup::parse_u64(&fixture(&format!("{mem}web/memory.failcnt"))),
        Ok(412)
    );
    let oom = cgroup::parse_oom_control(&fixture(&format!("{mem}web/memory.oom_control"))).unwrap();
    assert!(!oom.oom_kill_disable && !oom.under_oom);
    assert_eq!(oom.oom_kill, 1);
    let stat = cgroup::parse_flat_keyed(&fixture(&format!("{mem}web/memory.stat"))).unwrap();
    assert_eq!(stat["hierarchical_memsw_limit"], 9_223_372_036_854_771_712);
    assert_eq!(
        cgroup::parse_cfs_quota(&fixture(&format!("{cpu}web/cpu.cfs_quota_us"))),
        Ok(Some(50_000))
    );
    assert_eq!(
        cgroup::parse_cfs_quota(&fixture(&format!("{cpu}unlimited/cpu.cfs_quota_us"))),
        Ok(None)
    );
    let stat = cgroup::parse_cpu_stat_v1(&fixture(&format!("{cpu}web/cpu.stat"))).unwrap();
    assert_eq!(
        (stat.nr_periods, stat.nr_throttled, stat.throttled_time_ns),
        (1542, 371, 19_034_412_518)
    );
    assert_eq!(
        cgroup::parse_max(&fixture("cgroup_v1/pids/glassbox/web/pids.max")),
        Ok(Some(64))
    );
}

#[test]
fn cgroup_control_file_errors() {
    assert_error(cgroup::parse_u64("12k\n"), &["`12k`", "decimal number"]);
    assert_error(
        cgroup::parse_max("unlimited\n"),
        &["limit", "`unlimited`", "`max`"],
    );
    assert_error(cgroup::parse_v1_limit("-1\n"), &["memory limit", "`-1`"]);
    assert_error(cgroup::parse_cfs_quota("-2\n"), &["cfs quota", "`-2`"]);
    assert_error(cgroup::parse_cpu_max("50000\n"), &["cpu.max", "`50000`"]);
    assert_error(
        cgroup::parse_cpu_max("half 100000\n"),
        &["cpu.max quota", "`half`"],
    );
    assert_error(
        cgroup::parse_flat_keyed("anon 1\nfile\n"),
        &["line 2", "KEY VALUE"],
    );
    assert_error(
        cgroup::parse_memory_events("low 0\nhigh lots\n"),
        &["line 2", "high", "`lots`"],
    );
    assert_error(cgroup::parse_cpu_stat_v2("user_usec 1\n"), &["usage_usec"]);
    assert_error(
        cgroup::parse_cpu_stat_v1("nr_periods 1\nnr_throttled 0\n"),
        &["throttled_time"],
    );
    assert_error(
        cgroup::parse_oom_control("oom_kill_disable 2\nunder_oom 0\n"),
        &["oom_kill_disable", "`2`"],
    );
}

#[test]
fn cgroup_usage_from_v2_tree() {
    let root = fixture_path("cgroup_v2");
    let web = cgroup::read_v2(&root.join("glassbox/web")).unwrap();
    assert_eq!(
        web,
        CgroupUsage {
            memory_bytes: 208_236_544,
            memory_limit: Some(209_715_200),
            oom_kills: 1,
            cpu_usage_usec: 8_412_734,
            cpu_quota: Some((50_000, 100_000)),
            nr_throttled: 371,
            throttled_usec: 19_034_412,
            pids_current: 2,
            pids_max: Some(64),
        }
    );
    let idle = cgroup::read_v2(&root.join("glassbox/idle")).unwrap();
    assert_eq!(
        (idle.memory_limit, idle.cpu_quota, idle.pids_max),
        (None, None, None)
    );

    let error = cgroup::read_v2(&root.join("glassbox")).unwrap_err();
    assert!(error.is_not_found());
    assert!(
        chain(&error).contains("glassbox/cpu.max"),
        "{}",
        chain(&error)
    );
}

#[test]
fn cgroup_usage_from_v1_trees() {
    let root = fixture_path("cgroup_v1");
    let entries = cgroup::parse_proc_cgroup(&fixture("proc_cgroup/v1_ubuntu2004.txt")).unwrap();
    let dirs = V1Dirs::of_process(&root, &entries);
    assert_eq!(dirs, V1Dirs::under(&root, Path::new("glassbox/web")));
    let web = cgroup::read_v1(&dirs).unwrap();
    assert_eq!(
        web,
        CgroupUsage {
            memory_bytes: 208_240_640,
            memory_limit: Some(209_715_200),
            oom_kills: 1,
            cpu_usage_usec: 8_412_734,
            cpu_quota: Some((50_000, 100_000)),
            nr_throttled: 371,
            throttled_usec: 19_034_412,
            pids_current: 2,
            pids_max: Some(64),
        }
    );
    let unlimited = V1Dirs {
        pids: None,
        ..V1Dirs::under(&root, Path::new("glassbox/unlimited"))
    };
    let usage = cgroup::read_v1(&unlimited).unwrap();
    assert_eq!(
        (usage.memory_limit, usage.cpu_quota, usage.pids_max),
        (None, None, None)
    );
    assert_eq!(usage.cpu_usage_usec, 10_233);
}

#[test]
fn cgroup_reader_names_the_file_that_did_not_parse() {
    let dir = std::env::temp_dir().join(format!("glassbox-inspect-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("memory.usage_in_bytes"), "lots\n").unwrap();
    let error = cgroup::read_v1(&V1Dirs {
        memory: Some(dir.clone()),
        ..V1Dirs::default()
    })
    .unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    let text = chain(&error);
    assert!(
        text.contains("memory.usage_in_bytes") && text.contains("`lots`"),
        "{text}"
    );
}

// --- iptables ---

#[test]
fn iptables_docker_and_glassbox_chains() {
    let save = parse_iptables_save(&fixture("iptables/docker_and_glassbox.txt")).unwrap();
    assert_eq!(
        save.tables
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["filter", "nat"]
    );
    let nat = save.table("nat").unwrap();
    let prerouting = nat.chain("PREROUTING").unwrap();
    assert_eq!(
        (
            prerouting.policy.as_deref(),
            prerouting.packets,
            prerouting.bytes
        ),
        (Some("ACCEPT"), 312, 19844)
    );
    let glassbox = nat.chain("GLASSBOX").unwrap();
    assert_eq!(glassbox.policy, None);
    assert_eq!(glassbox.rules.len(), 3);

    let dnat = &glassbox.rules[1];
    assert_eq!((dnat.packets, dnat.bytes), (5, 300));
    assert_eq!(dnat.chain, "GLASSBOX");
    assert_eq!(
        dnat.text,
        "-A GLASSBOX -d 127.0.0.1/32 ! -i glassbox0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.29.0.2:80"
    );
    assert_eq!(dnat.target.as_deref(), Some("DNAT"));
    assert_eq!(dnat.protocol.as_deref(), Some("tcp"));
    assert_eq!(dnat.dport.as_deref(), Some("8080"));
    assert_eq!(dnat.to_destination.as_deref(), Some("172.29.0.2:80"));
    assert_eq!(dnat.option("-d"), Some("127.0.0.1/32"));
    assert!(dnat.is_negated("-i"));
    assert!(!dnat.is_negated("-p"));

    let commented = &glassbox.rules[2];
    assert_eq!(commented.option("--comment"), Some("glassbox web 8080->80"));
    assert_eq!(commented.target.as_deref(), Some("DNAT"));

    let docker = nat.chain("DOCKER").unwrap();
    assert_eq!(
        docker.rules[1].to_destination.as_deref(),
        Some("172.17.0.2:80")
    );
    let filter = save.table("filter").unwrap();
    assert_eq!(
        filter.chain("FORWARD").unwrap().policy.as_deref(),
        Some("DROP")
    );
    assert_eq!(
        filter.chain("DOCKER-USER").unwrap().rules[0]
            .target
            .as_deref(),
        Some("RETURN")
    );
}

#[test]
fn iptables_without_counters() {
    let save =
        parse_iptables_save("*nat\n:GLASSBOX - [0:0]\n-A GLASSBOX -p udp -j RETURN\nCOMMIT\n")
            .unwrap();
    let rule = &save.tables[0].chains[0].rules[0];
    assert_eq!((rule.packets, rule.protocol.as_deref()), (0, Some("udp")));
}

#[test]
fn iptables_errors_name_the_line() {
    assert_error(
        parse_iptables_save(":INPUT ACCEPT [0:0]\n"),
        &["line 1", "*TABLE"],
    );
    assert_error(
        parse_iptables_save("*nat\n:OUTPUT ACCEPT [0:0]\n"),
        &["COMMIT", "`nat`"],
    );
    assert_error(
        parse_iptables_save("*nat\n*filter\n"),
        &["line 2", "COMMIT", "`nat`"],
    );
    assert_error(
        parse_iptables_save("*nat\n:OUTPUT ACCEPT [1:x]\nCOMMIT\n"),
        &["line 2", "byte count", "`x`"],
    );
    assert_error(
        parse_iptables_save("*nat\n:OUTPUT ACCEPT\n[3:180] -A NOPE -j ACCEPT\nCOMMIT\n"),
        &["line 3", "chain", "`NOPE`"],
    );
    assert_error(
        parse_iptables_save("*nat\n:OUTPUT ACCEPT\n[3:180] -I OUTPUT -j ACCEPT\nCOMMIT\n"),
        &["line 3", "-A CHAIN"],
    );
    assert_error(
        parse_iptables_save(
            "*nat\n:OUTPUT ACCEPT\n-A OUTPUT -m comment --comment \"open\nCOMMIT\n",
        ),
        &["line 3", "closing `\"`"],
    );
}

// --- netdev ---

#[test]
fn sysfs_interfaces_and_veth_pairing() {
    let host_root = fixture_path("sys_class_net/host");
    assert_eq!(
        netdev::list_interface_names(&host_root).unwrap(),
        ["enp0s3", "gb5f1c2a", "glassbox0", "lo"]
    );
    let host = netdev::list_netdevs(&host_root).unwrap();
    assert_eq!(
        host.iter().map(|d| d.ifindex).collect::<Vec<_>>(),
        [1, 2, 7, 9]
    );
    let lo = &host[0];
    assert_eq!(
        (lo.name.as_str(), lo.operstate.as_str(), lo.address.as_str()),
        ("lo", "unknown", "00:00:00:00:00:00")
    );

    let eth0 = netdev::read_netdev(&fixture_path("sys_class_net/container"), "eth0").unwrap();
    assert_eq!((eth0.ifindex, eth0.iflink), (2, 9));
    assert_eq!(eth0.stats.rx_bytes, 60993);
    let peer = netdev::find_veth_peer(&host, &eth0).unwrap();
    assert_eq!(peer.name, "gb5f1c2a");
    // What the container receives, its host end sent.
    assert_eq!(peer.stats.tx_bytes, eth0.stats.rx_bytes);
    // enp0s3 has ifindex 2 too, but it is not a veth end.
    assert!(!netdev::is_veth_pair(&host[1], &eth0));

    let error = netdev::read_netdev(&host_root, "eth9").unwrap_err();
    assert!(error.is_not_found() && chain(&error).contains("eth9/ifindex"));
}

#[test]
fn proc_net_dev_samples() {
    let host = netdev::parse_proc_net_dev(&fixture("proc_net_dev/host_busy.txt")).unwrap();
    assert_eq!(host.len(), 4);
    assert_eq!(host[1].name, "enp0s3");
    assert_eq!(host[1].stats.rx_bytes, 1_873_344_128);
    assert_eq!(host[1].stats.tx_packets, 388_104);
    let container = netdev::parse_proc_net_dev(&fixture("proc_net_dev/container_web.txt")).unwrap();
    assert_eq!(container[1].name, "eth0");
    assert_eq!(container[1].stats.tx_bytes, 12082);
    assert!(
        netdev::parse_proc_net_dev(&fixture("proc_net_dev/host.txt"))
            .unwrap()
            .iter()
            .any(|d| d.name == "lo")
    );
}

#[test]
fn proc_net_dev_errors() {
    assert_error(
        netdev::parse_proc_net_dev("  eth0 1 2 3\n"),
        &["line 1", "NAME:"],
    );
    assert_error(
        netdev::parse_proc_net_dev("  eth0: 1 2 3\n"),
        &["counter count", "`3`", "16"],
    );
    let bad = "  eth0: x 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    assert_error(netdev::parse_proc_net_dev(bad), &["rx bytes", "`x`"]);
}

// --- processes ---

#[test]
fn what_a_process_says_of_itself_is_printable() {
    // OSC 0 (set the window title), CSI 2J (clear), C1 CSI, a newline, DEL.
    assert_eq!(
        printable("sleep \x1b]0;owned\x07 \x1b[2J \u{9b}31m a\nb\x7f"),
        "sleep ?]0;owned? ?[2J ?31m a?b?"
    );
    assert_eq!(
        printable("busybox httpd -p 80 café"),
        "busybox httpd -p 80 café"
    );
}

#[test]
fn cmdline_and_process_tree() {
    assert_eq!(
        parse_cmdline(b"busybox\0httpd\0-f\0-p\080\0"),
        "busybox httpd -f -p 80"
    );
    assert_eq!(parse_cmdline(b""), "");

    // systemd -> sshd -> bash -> glassbox run -> shim -> container init -> child
    let tree = ProcessTree::from_pairs([
        (1, 0),
        (2, 0),
        (812, 1),
        (4100, 812),
        (4188, 4100),
        (48190, 1),
        (48213, 48190),
        (48251, 48213),
        (48252, 48213),
    ]);
    assert_eq!(tree.ancestors(48251), [48251, 48213, 48190, 1]);
    assert_eq!(tree.ancestors(1), [1]);
    assert_eq!(tree.ancestors(999), [999]);
    assert_eq!(tree.children(48213), [48251, 48252]);
    assert_eq!(tree.descendants(48190), [48213, 48251, 48252]);
    assert_eq!(tree.parent(4188), Some(4100));

    let cycle = ProcessTree::from_pairs([(5, 6), (6, 5)]);
    assert_eq!(cycle.ancestors(5), [5, 6]);
}
