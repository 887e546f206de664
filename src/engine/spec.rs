//! docker's flags and the image's defaults, written as an OCI `config.json`.
//!
//! This is where glassbox decides what a container *is*, with the defaults of
//! trusted runtimes: new pid, mount, uts, ipc and network namespaces (and
//! cgroup on cgroup v2); the 14 capabilities docker keeps; no_new_privs;
//! runc's masked and read-only /proc paths; a pids limit; docker's device
//! allow-list (`--device` adds to it). The runtime then does
//! exactly what the file says, and so would runc.

use super::EngineError;
use super::container::Record;
use crate::image::ImageConfig;
use crate::runtime::cgroups::devices;
use crate::runtime::security::{capabilities, seccomp};
use crate::runtime::spec::{
    Capabilities, ConsoleSize, CpuResources, Device, DeviceRule, Linux, MemoryResources, Mount,
    Namespace, PidsResources, Process, Resources, Rlimit, Root, Spec, User,
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

/// The process's environment: PATH, HOSTNAME, the image's, TERM for a
/// terminal, `-e` (so it wins), and last HOME, from the user's passwd entry,
/// where none of these set it (runc's `setupUser` does the same).
fn environment(record: &Record, image: &ImageConfig, home: &str) -> Vec<String> {
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
    let mut has_home = false;
    for e in image.config.env.iter().chain(&record.config.env) {
        has_home |= e.starts_with("HOME=");
    }
    for e in &record.config.env {
        set(e);
    }
    if !has_home {
        set(&format!("HOME={home}"));
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

/// Every capability this kernel knows (bit up to /proc/sys/kernel/cap_last_cap),
/// by name: what `--cap-add` may name, and what `--cap-add ALL` gives.
fn known_capabilities() -> Vec<&'static str> {
    let last = crate::inspect::proc_status::read_last_cap().unwrap_or(40);
    crate::inspect::proc_status::CAPABILITIES
        .iter()
        .filter(|(_, bit)| *bit <= last)
        .map(|(name, _)| *name)
        .collect()
}

/// moby's `NormalizeLegacyCapabilities`: upper case, `CAP_` in front,
/// `ALL` kept; a name this kernel does not know is docker's 400
/// (`invalid CapAdd: unknown capability: "CAP_FOO"`).
fn normalize_capabilities(names: &[String], what: &str) -> Result<Vec<String>, EngineError> {
    let known = known_capabilities();
    names
        .iter()
        .map(|n| {
            let upper = n.trim().to_ascii_uppercase();
            if upper == "ALL" {
                return Ok(upper);
            }
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            if known.contains(&full.as_str()) {
                Ok(full)
            } else {
                Err(EngineError::Invalid(format!(
                    "invalid {what}: unknown capability: {full:?}"
                )))
            }
        })
        .collect()
}

/// The capabilities the process keeps (its bounding, permitted and
/// effective sets), by moby's `TweakCapabilities`: docker's 14 defaults
/// less `--cap-drop`, plus `--cap-add`; `--cap-add ALL` starts from every
/// capability the kernel knows (less the drops), `--cap-drop ALL` from none
/// (plus the adds).
pub fn capability_set(add: &[String], drop: &[String]) -> Result<Vec<String>, EngineError> {
    let add = normalize_capabilities(add, "CapAdd")?;
    let drop = normalize_capabilities(drop, "CapDrop")?;
    let all = "ALL".to_string();
    let mut caps: Vec<String> = if add.contains(&all) {
        known_capabilities()
            .into_iter()
            .map(str::to_string)
            .filter(|c| !drop.contains(c))
            .collect()
    } else if drop.contains(&all) {
        add
    } else {
        capabilities::DEFAULT
            .iter()
            .map(|s| s.to_string())
            .filter(|c| !drop.contains(c))
            .chain(add)
            .collect()
    };
    let mut seen = std::collections::BTreeSet::new();
    caps.retain(|c| seen.insert(c.clone()));
    Ok(caps)
}

/// The mount flags `--tmpfs` may give, each with the flag it cancels.
const TMPFS_FLAG_PAIRS: [(&str, &str); 9] = [
    ("noexec", "exec"),
    ("nosuid", "suid"),
    ("nodev", "dev"),
    ("ro", "rw"),
    ("noatime", "atime"),
    ("nodiratime", "diratime"),
    ("sync", "async"),
    ("relatime", "norelatime"),
    ("strictatime", "nostrictatime"),
];

/// The data options tmpfs takes (moby's list).
const TMPFS_DATA: [&str; 7] = [
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// `--tmpfs DEST:OPTIONS` as mount options: docker's defaults (`noexec,
/// nosuid,nodev`), then the user's, a later flag cancelling an earlier one
/// (`exec` cancels `noexec`) and a later `size=` replacing an earlier one
/// (moby's `MergeTmpfsOptions`). A relative destination, `/`, or an option
/// tmpfs does not take is docker's 400.
pub fn tmpfs_options(dest: &str, options: &str) -> Result<Vec<String>, EngineError> {
    if !dest.starts_with('/') || dest.trim_end_matches('/').is_empty() {
        return Err(EngineError::Invalid(format!(
            "invalid mount config for type \"tmpfs\": invalid mount path: '{dest}' mount path must be absolute and not /"
        )));
    }
    let mut flags: Vec<&str> = vec!["noexec", "nosuid", "nodev"];
    let mut data: Vec<(String, String)> = Vec::new();
    for opt in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        if let Some((set, _)) = TMPFS_FLAG_PAIRS
            .iter()
            .find(|(set, clear)| opt == *set || opt == *clear)
        {
            flags.retain(|f| f != set);
            if opt == *set {
                flags.push(set);
            }
            continue;
        }
        match opt.split_once('=') {
            Some((k, v)) if TMPFS_DATA.contains(&k) && !v.is_empty() => {
                data.retain(|(key, _)| key != k);
                data.push((k.to_string(), v.to_string()));
            }
            _ => {
                return Err(EngineError::Invalid(format!(
                    "invalid tmpfs option {opt:?} for {dest}: use mount flags (ro, exec, nosuid, …) \
                     or size=, mode=, uid=, gid=, nr_inodes=, nr_blocks=, mpol="
                )));
            }
        }
    }
    Ok(flags
        .into_iter()
        .map(str::to_string)
        .chain(data.into_iter().map(|(k, v)| format!("{k}={v}")))
        .collect())
}

/// Checks what create accepts of the flags that become `config.json`:
/// the capability names, the `--tmpfs` options, and no two mounts at one
/// destination (docker's `Duplicate mount point`).
pub fn check_config(c: &crate::engine::container::RunConfig) -> Result<(), EngineError> {
    capability_set(&c.cap_add, &c.cap_drop)?;
    let mut seen = std::collections::BTreeSet::new();
    let tmpfs = c.tmpfs.iter().map(|(d, o)| (d, Some(o)));
    let binds = c.volumes.iter().map(|(_, d, _)| (d, None));
    for (dest, options) in tmpfs.chain(binds) {
        if let Some(o) = options {
            tmpfs_options(dest, o)?;
        }
        let key = dest.trim_end_matches('/').to_string();
        if !seen.insert(key) {
            return Err(EngineError::Invalid(format!(
                "Duplicate mount point: {dest}"
            )));
        }
    }
    Ok(())
}

/// Builds `config.json` for a container record; its capability names and
/// tmpfs options were checked at create ([`check_config`]).
pub fn build(
    record: &Record,
    image: &ImageConfig,
    user: &crate::engine::units::ExecUser,
    cgroup_v2: bool,
) -> Result<Spec, EngineError> {
    let caps = capability_set(&record.config.cap_add, &record.config.cap_drop)?;
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
    for (dest, options) in &record.config.tmpfs {
        let mut opts = tmpfs_options(dest, options)?;
        opts.push("rprivate".into());
        mounts.push(Mount {
            destination: dest.clone(),
            typ: "tmpfs".into(),
            source: "tmpfs".into(),
            options: opts,
        });
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
    Ok(Spec {
        oci_version: crate::runtime::spec::OCI_VERSION.into(),
        process: Process {
            terminal: c.tty,
            console_size: c
                .console_size
                .filter(|_| c.tty)
                .map(|(height, width)| ConsoleSize { height, width }),
            user: User {
                uid: user.uid,
                gid: user.gid,
                additional_gids: user.additional_gids.clone(),
            },
            args: std::iter::once(record.path.clone())
                .chain(record.args.iter().cloned())
                .collect(),
            env: environment(record, image, &user.home),
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn capabilities_tweak_as_moby_does() {
        let caps = capability_set(&v(&["net_admin"]), &v(&["CAP_CHOWN", "kill"])).unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(!caps.contains(&"CAP_KILL".to_string()));
        assert_eq!(caps.len(), 13);
        assert_eq!(
            capability_set(&v(&["SYS_TIME"]), &v(&["ALL"])).unwrap(),
            v(&["CAP_SYS_TIME"])
        );
        let all = capability_set(&v(&["ALL"]), &v(&["SYS_ADMIN"])).unwrap();
        assert!(all.contains(&"CAP_SYS_MODULE".to_string()));
        assert!(!all.contains(&"CAP_SYS_ADMIN".to_string()));
        let err = capability_set(&v(&["FOO"]), &[]).unwrap_err().to_string();
        assert_eq!(err, "invalid CapAdd: unknown capability: \"CAP_FOO\"");
    }

    #[test]
    fn tmpfs_options_merge_over_docker_s_defaults() {
        assert_eq!(
            tmpfs_options("/run", "").unwrap(),
            v(&["noexec", "nosuid", "nodev"])
        );
        assert_eq!(
            tmpfs_options("/run", "exec,size=1m,size=2m,mode=1770").unwrap(),
            v(&["nosuid", "nodev", "size=2m", "mode=1770"])
        );
        assert!(tmpfs_options("run", "").is_err());
        assert!(tmpfs_options("/", "").is_err());
        assert!(tmpfs_options("/run", "bogus").is_err());
    }
}
