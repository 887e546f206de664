//! docker's flags and the image's defaults, written as an OCI `config.json`.
//!
//! This is where glassbox decides what a container *is*, with the defaults of
//! trusted runtimes: new pid, mount, uts, ipc and network namespaces (and
//! cgroup on cgroup v2); the 14 capabilities docker keeps; no_new_privs;
//! runc's masked and read-only /proc paths; a pids limit; docker's device
//! allow-list (`--device` adds to it). The runtime then does
//! exactly what the file says, and so would runc.

use super::container::Record;
use crate::image::ImageConfig;
use crate::runtime::cgroups::devices;
use crate::runtime::security::{capabilities, seccomp};
use crate::runtime::spec::{
    Capabilities, CpuResources, Device, DeviceRule, Linux, MemoryResources, Mount, Namespace,
    PidsResources, Process, Resources, Rlimit, Root, Spec, User,
};
use std::collections::BTreeMap;

/// runc's masked paths: kernel files that leak host details or invite harm.
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// runc's read-only paths.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The pids limit when `--pids-limit` is not given (fork bombs stop here).
pub const DEFAULT_PIDS_LIMIT: i64 = 4096;

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    Mount {
        destination: dest.into(),
        typ: typ.into(),
        source: source.into(),
        options: options.iter().map(|s| s.to_string()).collect(),
    }
}

/// The standard mounts of a container (runc's `spec` defaults).
fn default_mounts() -> Vec<Mount> {
    vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ),
    ]
}

/// The process's environment: the image's, then PATH if missing, HOSTNAME,
/// TERM for a terminal, and `-e` last (so it wins).
fn environment(record: &Record, image: &ImageConfig) -> Vec<String> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut set = |kv: &str| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if env.insert(k.to_string(), v.to_string()).is_none() {
            order.push(k.to_string());
        }
    };
    set(&format!("PATH={}", crate::runtime::spec::DEFAULT_PATH));
    set(&format!("HOSTNAME={}", record.config.hostname));
    for e in &image.config.env {
        set(e);
    }
    if record.config.tty {
        set("TERM=xterm");
    }
    for e in &record.config.env {
        set(e);
    }
    order
        .into_iter()
        .map(|k| format!("{k}={}", env[&k]))
        .collect()
}

/// docker's open-files limit, 1048576, where the host lets us raise it to that;
/// otherwise (no CAP_SYS_RESOURCE, as in some sandboxes) the current ceiling,
/// so that any runtime can apply the file as written.
fn nofile_limit() -> u64 {
    const DOCKER: u64 = 1_048_576;
    let sys_resource = capabilities::mask(&["CAP_SYS_RESOURCE".into()]).unwrap_or(0);
    let can_raise = capabilities::effective().is_ok_and(|e| e & sys_resource != 0);
    match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
        Ok((_, hard)) if !can_raise => DOCKER.min(hard),
        _ => DOCKER,
    }
}

/// Builds `config.json` for a container record.
pub fn build(record: &Record, image: &ImageConfig, uid: u32, gid: u32, cgroup_v2: bool) -> Spec {
    let caps: Vec<String> = capabilities::DEFAULT
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut namespaces: Vec<Namespace> = ["pid", "ipc", "uts", "mount"]
        .iter()
        .map(|t| Namespace {
            typ: t.to_string(),
            path: None,
        })
        .collect();
    if record.config.network != "host" {
        namespaces.push(Namespace {
            typ: "network".into(),
            path: None,
        });
    }
    if cgroup_v2 {
        namespaces.push(Namespace {
            typ: "cgroup".into(),
            path: None,
        });
    }
    let mut mounts = default_mounts();
    for (src, dst, ro) in &record.config.volumes {
        let mut opts = vec!["rbind", "rprivate"];
        if *ro {
            opts.push("ro");
        }
        mounts.push(mount(dst, "bind", src, &opts));
    }
    let c = &record.config;
    let resources = Resources {
        memory: c.memory.map(|m| MemoryResources {
            limit: Some(m),
            // memory+swap equal to memory: no swap, so a hog is OOM-killed
            // rather than swapped (docker would allow as much swap again).
            swap: Some(m),
        }),
        cpu: c.cpu_quota.map(|(quota, period)| CpuResources {
            quota: Some(quota),
            period: Some(period),
        }),
        // `--pids-limit -1` (or 0): no limit, so nothing to write.
        pids: Some(c.pids_limit.unwrap_or(DEFAULT_PIDS_LIMIT))
            .filter(|l| *l > 0)
            .map(|limit| PidsResources { limit }),
        // docker's allow-list, then one rule per --device (later rules win).
        devices: devices::default_rules()
            .into_iter()
            .chain(c.devices.iter().map(|d| DeviceRule {
                allow: true,
                typ: Some(d.typ.clone()),
                major: Some(d.major),
                minor: Some(d.minor),
                access: Some(d.cgroup_permissions.clone()),
            }))
            .collect(),
    };
    let mut annotations = BTreeMap::new();
    annotations.insert("org.glassbox.name".into(), record.name.clone());
    annotations.insert("org.glassbox.image".into(), record.image.clone());
    if c.init {
        annotations.insert(crate::runtime::spec::INIT_ANNOTATION.into(), "true".into());
    }
    let nofile = nofile_limit();
    let cwd = if !c.workdir.is_empty() {
        c.workdir.clone()
    } else if !image.config.working_dir.is_empty() {
        image.config.working_dir.clone()
    } else {
        "/".into()
    };
    Spec {
        oci_version: crate::runtime::spec::OCI_VERSION.into(),
        process: Process {
            terminal: c.tty,
            user: User {
                uid,
                gid,
                additional_gids: Vec::new(),
            },
            args: std::iter::once(record.path.clone())
                .chain(record.args.iter().cloned())
                .collect(),
            env: environment(record, image),
            cwd,
            capabilities: Some(Capabilities {
                bounding: caps.clone(),
                effective: caps.clone(),
                inheritable: Vec::new(),
                permitted: caps,
                ambient: Vec::new(),
            }),
            rlimits: vec![Rlimit {
                typ: "RLIMIT_NOFILE".into(),
                hard: nofile,
                soft: nofile,
            }],
            no_new_privileges: c.no_new_privileges(),
        },
        root: Root {
            path: "rootfs".into(),
            readonly: c.read_only,
        },
        hostname: Some(c.hostname.clone()),
        mounts,
        linux: Linux {
            namespaces,
            resources,
            // Absolute: relative to the hierarchy's root, not to the runtime's own cgroup.
            cgroups_path: Some(format!("/{}", record.cgroup.trim_start_matches('/'))),
            masked_paths: MASKED_PATHS.iter().map(|s| s.to_string()).collect(),
            readonly_paths: READONLY_PATHS.iter().map(|s| s.to_string()).collect(),
            rootfs_propagation: Some("rslave".into()),
            seccomp: c.seccomp().then(seccomp::default_profile),
            devices: c
                .devices
                .iter()
                .map(|d| Device {
                    path: d.path_in_container.clone(),
                    typ: d.typ.clone(),
                    major: d.major,
                    minor: d.minor,
                    file_mode: Some(d.file_mode),
                    uid: Some(0),
                    gid: Some(0),
                })
                .collect(),
        },
        annotations,
    }
}
