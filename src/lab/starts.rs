//! Topic 7's live comparison: how long a start takes, measured now, on this
//! machine, beside what it is compared with.
//!
//! The `starts` action times, from spawn to exit status, over a few rounds
//! (each round in another order, so that what one start leaves for the
//! kernel to finish falls on the others alike):
//!
//! - a program with no C library: three instructions that exit (`exit_group(0)`),
//!   the kernel's own cost of a fork, an execve and an exit;
//! - a plain process (`true`): the same, plus the C library's start-up before
//!   `main` (the dynamic loader, and glibc's probes of the CPU's features and
//!   caches: dozens of `cpuid`s, each a trap to the hypervisor in a virtual
//!   machine), no isolation;
//! - the kernel's floor: `unshare` of the five namespaces glassbox makes
//!   (mount, UTS, IPC, network, PID), a fork into them, an execve of `true`;
//! - `glassbox run --rm --network none busybox true`;
//! - crun and runc, where installed, running `true` from glassbox's own OCI
//!   bundle (the `config.json` of a container the step started, on a copy of
//!   its image's files, every namespace a new one as for glassbox's
//!   `--network none`), with their cgroups under `lab-starts-PID`.
//!
//! crun refuses a hybrid cgroup layout (a cgroup2 mount at
//! `/sys/fs/cgroup/unified` beside the v1 hierarchies), so each timed
//! process starts in a private mount namespace without that mount: every
//! contestant pays that same `unshare(CLONE_NEWNS)` before its execve.
//! Everything made for the comparison (the three-instruction program, the
//! bundle copy, the cgroups, crun's and runc's state) is removed before the
//! action returns.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One contestant's median start.
#[derive(Debug, Clone, PartialEq)]
pub struct StartTime {
    /// `plain process`, `kernel floor`, `glassbox`, `crun`, `runc`.
    pub who: String,
    /// Median wall time from spawn to exit status, in ms.
    pub ms: f64,
    /// How many starts the median is of.
    pub runs: usize,
}

/// A contestant: its name and how to build its command line for round `i`.
struct Contestant {
    who: &'static str,
    argv: Box<dyn Fn(usize) -> Vec<String>>,
    times: Vec<f64>,
    failed: Option<String>,
}

/// The smallest program: `exit_group(0)`, for the architecture glassbox was
/// built for, with its `e_machine`.
#[cfg(target_arch = "x86_64")]
const EXIT: Option<(u16, &[u8])> = Some((
    62,
    &[
        0xb8, 0xe7, 0x00, 0x00, 0x00, // mov  $231, %eax   exit_group
        0x31, 0xff, //                   xor  %edi, %edi   status 0
        0x0f, 0x05, //                   syscall
    ],
));
#[cfg(target_arch = "aarch64")]
const EXIT: Option<(u16, &[u8])> = Some((
    183,
    &[
        0x00, 0x00, 0x80, 0xd2, // mov  x0, #0     status 0
        0xc8, 0x0b, 0x80, 0xd2, // mov  x8, #94    exit_group
        0x01, 0x00, 0x00, 0xd4, // svc  #0
    ],
));
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const EXIT: Option<(u16, &[u8])> = None;

/// Writes the program with no C library to `dir/exit` (mode 0755): a static
/// ELF file (129 bytes on x86-64), built as the exec trampoline is
/// ([`crate::runtime::trampoline::elf_image`]).
fn write_exit_program(dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let (machine, code) = EXIT.ok_or("no program without a C library for this architecture")?;
    let path = dir.join("exit");
    let image = crate::runtime::trampoline::elf_image(machine, code);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &image))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// `glassbox inspect NAME`: its bundle directory and its image layer.
fn bundle_of(exe: &Path, root: &Path, name: &str) -> Result<(PathBuf, PathBuf), String> {
    let out = Command::new(exe)
        .arg("--root")
        .arg(root)
        .args(["inspect", name])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "glassbox inspect {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("glassbox inspect {name}: not JSON: {e}"))?;
    let bundle = doc[0]["Glassbox"]["Bundle"].as_str();
    // The last lowerdir is the image's layer (the first is the init layer).
    let lower = doc[0]["GraphDriver"]["Data"]["LowerDir"]
        .as_str()
        .and_then(|l| l.rsplit(':').next());
    match (bundle, lower) {
        (Some(b), Some(l)) => Ok((PathBuf::from(b), PathBuf::from(l))),
        _ => Err(format!(
            "glassbox inspect {name}: no Glassbox.Bundle or LowerDir"
        )),
    }
}

/// An OCI bundle in `dir` for crun and runc: `source`'s config.json running
/// `true`, on a copy of `lower`, with the files it bind-mounts copied along.
fn make_bundle(source: &Path, lower: &Path, dir: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(source.join("config.json"))
        .map_err(|e| format!("cannot read {}/config.json: {e}", source.display()))?;
    let mut config: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}/config.json: {e}", source.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let copied = Command::new("cp")
        .arg("-a")
        .arg(lower)
        .arg(dir.join("rootfs"))
        .status()
        .map_err(|e| format!("cannot run cp: {e}"))?;
    if !copied.success() {
        return Err(format!(
            "cp -a {} {}/rootfs failed",
            lower.display(),
            dir.display()
        ));
    }
    if let Some(mounts) = config["mounts"].as_array_mut() {
        for m in mounts {
            let Some(src) = m["source"].as_str().map(PathBuf::from) else {
                continue;
            };
            if m["type"] == "bind" && src.starts_with(source) {
                let copy = dir.join(src.file_name().unwrap_or_default());
                std::fs::copy(&src, &copy)
                    .map_err(|e| format!("cp {} {}: {e}", src.display(), copy.display()))?;
                m["source"] = copy.display().to_string().into();
            }
        }
    }
    // Every namespace new, as for glassbox's `--network none` start: a
    // network namespace the source joined by path (its bridge network)
    // becomes a new one with only loopback, and no hook sets it up.
    if let Some(namespaces) = config["linux"]["namespaces"].as_array_mut() {
        for ns in namespaces {
            if let Some(ns) = ns.as_object_mut() {
                ns.remove("path");
            }
        }
    }
    if let Some(config) = config.as_object_mut() {
        config.remove("hooks");
    }
    config["process"]["args"] = serde_json::json!(["true"]);
    config["process"]["terminal"] = false.into();
    config["root"] = serde_json::json!({"path": "rootfs", "readonly": false});
    Ok(config)
}

/// The cgroup hierarchies mounted on this host (their mount points).
fn cgroup_mounts() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let dash = fields.iter().position(|f| *f == "-")?;
            matches!(fields.get(dash + 1), Some(&"cgroup") | Some(&"cgroup2"))
                .then(|| PathBuf::from(fields[4]))
        })
        .collect()
}

/// Removes `top` (and the groups below it) from every hierarchy.
fn remove_cgroups(top: &str) -> Vec<String> {
    fn rmdir_tree(dir: &Path, errors: &mut Vec<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    rmdir_tree(&e.path(), errors);
                }
            }
        }
        if let Err(e) = std::fs::remove_dir(dir) {
            errors.push(format!("rmdir {}: {e}", dir.display()));
        }
    }
    let mut errors = Vec::new();
    for mount in cgroup_mounts() {
        let dir = mount.join(top);
        if dir.is_dir() {
            rmdir_tree(&dir, &mut errors);
        }
    }
    errors
}

/// Runs `argv` with no input or output, in a private mount namespace without
/// `/sys/fs/cgroup/unified` when the host has that mount; wall ms to its exit.
fn time_one(argv: &[String], hybrid: bool) -> Result<f64, String> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if hybrid {
        // SAFETY: between fork and execve the child only makes system calls
        // (unshare, mount, umount2) on static strings: nothing that
        // allocates or takes a lock.
        unsafe {
            cmd.pre_exec(|| {
                if libc::unshare(libc::CLONE_NEWNS) != 0
                    || libc::mount(
                        std::ptr::null(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    ) != 0
                    || libc::umount2(c"/sys/fs/cgroup/unified".as_ptr(), libc::MNT_DETACH) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
    }
    let (out, ms) = retry_text_busy(|| {
        let t = Instant::now();
        cmd.output()
            .map(|out| (out, t.elapsed().as_secs_f64() * 1000.0))
    })
    .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    if !out.status.success() {
        return Err(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(ms)
}

/// Runs `start` again, for up to a second, while it fails with ETXTBSY: the
/// program with no C library was written just now, and a process that
/// another thread of the lab forked while the file was open for writing
/// holds that descriptor until its own execve, and the kernel refuses to
/// execute a file open for writing.
fn retry_text_busy<T>(mut start: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut tries = 0;
    loop {
        match start() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 1000 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            other => return other,
        }
    }
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Measures `rounds` starts of each contestant (see the module's text);
/// `source` is a container whose bundle crun and runc run. Contestants that
/// fail are reported as such in the notes; the others are measured.
pub fn measure(
    exe: &Path,
    root: &Path,
    source: &str,
    rounds: usize,
) -> Result<(Vec<StartTime>, Vec<String>), String> {
    let hybrid = Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists()
        && !Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let pid = std::process::id();
    let top = format!("lab-starts-{pid}");
    let dir = root.join("tmp").join(format!("lab-starts-{pid}"));
    let mut contestants: Vec<Contestant> = Vec::new();
    let mut notes = Vec::new();
    let mut add = |who: &'static str, argv: Box<dyn Fn(usize) -> Vec<String>>| {
        contestants.push(Contestant {
            who,
            argv,
            times: Vec::new(),
            failed: None,
        })
    };
    match std::fs::create_dir_all(&dir)
        .map_err(|e| format!("mkdir {}: {e}", dir.display()))
        .and_then(|()| write_exit_program(&dir))
    {
        Ok(exit) => {
            let exit = exit.display().to_string();
            add("no C library", Box::new(move |_| vec![exit.clone()]));
        }
        Err(e) => notes.push(format!("no C library: not measured: {e}")),
    }
    add("plain process", Box::new(|_| vec!["true".into()]));
    if let Some(unshare) = which("unshare") {
        let u = unshare.display().to_string();
        add(
            "kernel floor",
            Box::new(move |_| {
                [
                    &u, "--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "true",
                ]
                .map(String::from)
                .to_vec()
            }),
        );
    }
    let (e, r) = (exe.display().to_string(), root.display().to_string());
    add(
        "glassbox",
        Box::new(move |_| {
            [
                &e,
                "--root",
                &r,
                "run",
                "--rm",
                "--network",
                "none",
                "busybox",
                "true",
            ]
            .map(String::from)
            .to_vec()
        }),
    );
    let oci: Vec<(&'static str, PathBuf)> = ["crun", "runc"]
        .into_iter()
        .filter_map(|n| which(n).map(|p| (n, p)))
        .collect();
    let mut config = None;
    if !oci.is_empty() {
        match bundle_of(exe, root, source).and_then(|(b, l)| make_bundle(&b, &l, &dir)) {
            Ok(c) => config = Some(c),
            Err(e) => notes.push(format!("crun/runc not measured: {e}")),
        }
    }
    if config.is_some() {
        for (who, path) in &oci {
            let (p, d) = (path.display().to_string(), dir.display().to_string());
            let who: &'static str = who;
            add(
                who,
                Box::new(move |i| {
                    vec![
                        p.clone(),
                        "run".into(),
                        "--bundle".into(),
                        d.clone(),
                        format!("lab-starts-{pid}-{who}-{i}"),
                    ]
                }),
            );
        }
    }
    for round in 0..rounds {
        let n = contestants.len();
        for k in 0..n {
            // Each round in another order: rotated and, every other round, reversed.
            let idx = if round % 2 == 0 {
                (k + round) % n
            } else {
                (n - 1 + n - k + round) % n
            };
            let c = &mut contestants[idx];
            if c.failed.is_some() {
                continue;
            }
            let argv = (c.argv)(round);
            if let Some(config) = config
                .as_mut()
                .filter(|_| c.who == "crun" || c.who == "runc")
            {
                config["linux"]["cgroupsPath"] = format!("/{top}/{}-{round}", c.who).into();
                let written = serde_json::to_vec_pretty(config)
                    .map_err(|e| e.to_string())
                    .and_then(|b| {
                        std::fs::write(dir.join("config.json"), b).map_err(|e| e.to_string())
                    });
                if let Err(e) = written {
                    c.failed = Some(format!("cannot write the bundle's config.json: {e}"));
                    continue;
                }
            }
            match time_one(&argv, hybrid) {
                Ok(ms) => c.times.push(ms),
                Err(e) => c.failed = Some(e),
            }
        }
    }
    // Nothing of the comparison stays.
    for (who, path) in &oci {
        for round in 0..rounds {
            let _ = Command::new(path)
                .args(["delete", "-f", &format!("lab-starts-{pid}-{who}-{round}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    notes.extend(remove_cgroups(&top));
    if dir.exists()
        && let Err(e) = std::fs::remove_dir_all(&dir)
    {
        notes.push(format!("rm -r {}: {e}", dir.display()));
    }
    let mut out = Vec::new();
    for c in contestants {
        if let Some(e) = c.failed {
            notes.push(format!("{}: failed: {e}", c.who));
        } else if !c.times.is_empty() {
            out.push(StartTime {
                who: c.who.to_string(),
                ms: median(c.times.clone()),
                runs: c.times.len(),
            });
        }
    }
    Ok((out, notes))
}

/// The median of some values (the mean of the middle two for an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_with_no_c_library_runs_and_exits_0() {
        let Some((_, code)) = EXIT else { return };
        let dir = std::env::temp_dir().join(format!("glassbox-exit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ran = write_exit_program(&dir).and_then(|path| {
            let size = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
            let status = retry_text_busy(|| Command::new(&path).status());
            Ok((size, status.map_err(|e| e.to_string())?))
        });
        // Removed before any assertion, so a failure leaves nothing behind.
        std::fs::remove_dir_all(&dir).unwrap();
        let (size, status) = ran.unwrap();
        // Headers and three instructions: nothing to load a C library with.
        assert_eq!(size as usize, 64 + 56 + code.len());
        assert!(status.success());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
