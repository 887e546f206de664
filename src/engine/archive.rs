//! `docker cp`: files into and out of a container, as tar streams.
//!
//! A path inside a container must be resolved the way the container sees
//! it: its own mounts (volumes), and its symbolic links pointing inside its
//! root, never out to the host's (`docker cp` had CVEs for exactly that).
//! So the copy is done by a child glassbox process that *enters* the
//! container's mount namespace (`setns(CLONE_NEWNS)` sets its root to the
//! container's) for a running container, or, for a stopped one, mounts the
//! container's overlay in a private mount namespace of its own and
//! `chroot`s into it. Inside, `/` is the container's root, and the tar is
//! written to stdout or read from stdin. The mount of a stopped container
//! vanishes with the child's namespace: nothing to unmount or journal.

use super::DataRoot;
use super::container::{self, Paths, Record};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// docker's `X-Docker-Container-Path-Stat`: what is at a path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Go's `os.FileMode`: permission bits, plus 1<<31 for a directory,
    /// 1<<27 for a symbolic link.
    pub mode: u32,
    pub mtime: String,
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

/// Go's FileMode bits of a file's metadata.
pub fn go_mode(meta: &std::fs::Metadata) -> u32 {
    let mut m = meta.permissions().mode() & 0o777;
    let ft = meta.file_type();
    if ft.is_dir() {
        m |= 1 << 31;
    }
    if ft.is_symlink() {
        m |= 1 << 27;
    }
    let raw = meta.mode();
    if raw & 0o4000 != 0 {
        m |= 1 << 23;
    }
    if raw & 0o2000 != 0 {
        m |= 1 << 22;
    }
    if raw & 0o1000 != 0 {
        m |= 1 << 20;
    }
    m
}

/// Enters the container's filesystem (in this process: call it only in a
/// child made for it). Afterwards `/` is the container's root.
pub fn enter(root: &DataRoot, r: &Record) -> anyhow::Result<()> {
    use nix::sched::{CloneFlags, setns, unshare};
    // Like a process joining a container (runtime::exe): from here on only
    // a host process with CAP_SYS_PTRACE may open this one's /proc files.
    crate::runtime::exe::undumpable().context("prctl(PR_SET_DUMPABLE, 0)")?;
    if r.is_running() {
        let ns = std::fs::File::open(format!("/proc/{}/ns/mnt", r.state.pid))
            .with_context(|| format!("cannot open the mount namespace of {}", r.name))?;
        setns(&ns, CloneFlags::CLONE_NEWNS)
            .context("setns into the container's mount namespace")?;
        std::env::set_current_dir("/").context("chdir /")?;
        return Ok(());
    }
    // A stopped container: its overlay, mounted in a namespace of our own.
    let paths = Paths::new(root, &r.id);
    unshare(CloneFlags::CLONE_NEWNS).context("unshare(CLONE_NEWNS)")?;
    use nix::mount::{MsFlags, mount};
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .context("making / private in the copy's namespace")?;
    let lower = r
        .lower_dirs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    std::fs::create_dir_all(paths.upper())?;
    std::fs::create_dir_all(paths.work())?;
    std::fs::create_dir_all(paths.rootfs())?;
    let opts = format!(
        "lowerdir={lower},upperdir={},workdir={}",
        paths.upper().display(),
        paths.work().display()
    );
    mount(
        Some("overlay"),
        &paths.rootfs(),
        Some("overlay"),
        MsFlags::empty(),
        Some(opts.as_str()),
    )
    .with_context(|| format!("mounting the overlay of {} for the copy", r.name))?;
    nix::unistd::chroot(&paths.rootfs()).context("chroot into the container's root")?;
    std::env::set_current_dir("/").context("chdir /")?;
    Ok(())
}

/// What is at `path` (inside, after [`enter`]) of container `name`.
pub fn stat(name: &str, path: &str) -> anyhow::Result<PathStat> {
    let p = Path::new(path);
    let meta = std::fs::symlink_metadata(p).map_err(|_| {
        super::EngineError::NoSuchContainerPath(format!("{path} in container {name}"))
    })?;
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".into());
    Ok(PathStat {
        name,
        size: meta.len() as i64,
        mode: go_mode(&meta),
        mtime: crate::timefmt::rfc3339(
            meta.mtime() as u64 * 1_000_000_000 + meta.mtime_nsec() as u64,
        ),
        link_target: std::fs::read_link(p)
            .map(|t| t.display().to_string())
            .unwrap_or_default(),
    })
}

/// Writes a tar of `path` (inside) whose top entry is the path's base name,
/// as dockerd's `GET /containers/ID/archive`.
pub fn write_tar(path: &str, out: impl Write) -> anyhow::Result<()> {
    let p = Path::new(path);
    let meta = std::fs::symlink_metadata(p)
        .with_context(|| format!("cannot read {path} in the container"))?;
    let name = p
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    if meta.is_dir() {
        b.append_dir_all(&name, p)?;
    } else {
        b.append_path_with_name(p, &name)?;
    }
    b.into_inner()?.flush()?;
    Ok(())
}

/// Extracts a tar into the directory `dir` (inside), refusing entries
/// that leave it (the same checks as an image layer's).
pub fn read_tar(name: &str, dir: &str, input: impl Read) -> anyhow::Result<()> {
    let d = Path::new(dir);
    match std::fs::metadata(d) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!(super::EngineError::Invalid(format!(
            "extraction point is not a directory: {dir}"
        ))),
        Err(_) => bail!(super::EngineError::NoSuchContainerPath(format!(
            "{dir} in container {name}"
        ))),
    }
    crate::image::import::extract(input, d, crate::image::import::Target::Plain)
        .with_context(|| format!("extracting into {dir}"))?;
    Ok(())
}

/// Runs `glassbox cp-helper` for container `name`: `op` is `stat`, `get`
/// or `put`. The child's stdout (and stdin for `put`) are the caller's to
/// wire; the caller waits for it.
pub fn helper(
    root: &DataRoot,
    name: &str,
    op: &str,
    path: &str,
) -> anyhow::Result<std::process::Command> {
    let r = container::find(root, name)?;
    let exe = crate::runtime::exe::self_path().context("cannot find the glassbox binary")?;
    let mut c = std::process::Command::new(exe);
    c.arg("--root")
        .arg(&root.path)
        .args(["cp-helper", op, &r.id, path]);
    Ok(c)
}
