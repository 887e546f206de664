//! overlayfs: the image's read-only layers and the container's writable one,
//! seen as a single directory tree.
//!
//! `mount -t overlay overlay -o lowerdir=L2:L1,upperdir=U,workdir=W MERGED`
//! shows the union of the lower directories (leftmost on top) and the upper
//! one. Reads fall through to the first layer that has the file. The first
//! write to a lower file copies it up into U ("copy-up") and changes the copy;
//! a delete leaves a *whiteout* in U (a 0/0 character device) that hides the
//! lower file. The lower layers never change, so every container of an image
//! shares them. This is the job of containerd's snapshotter; the runtime gets
//! a ready root filesystem in the bundle.
//!
//! A `--rm` container's writable layer is thrown away at exit, so glassbox
//! mounts it with `volatile` (Linux 5.10+), as podman does: overlayfs then
//! skips syncing the upper directory to disk, which makes the unmount cheaper.
//! A volatile upper dir cannot be mounted again after a crash; nothing ever
//! mounts a `--rm` container's upper dir twice.

use crate::runtime::journal::{Journal, Object};
use crate::runtime::trace::{Trace, now_ns};
use anyhow::{Context, bail};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use std::path::{Path, PathBuf};

/// The mount options for these directories (lowerdir is top layer first).
pub fn options(lower: &[PathBuf], upper: &Path, work: &Path) -> String {
    let lower: Vec<String> = lower
        .iter()
        .map(|p| p.display().to_string().replace(':', "\\:"))
        .collect();
    format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        upper.display(),
        work.display()
    )
}

/// How long the container's writable layer must last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upper {
    /// Kept after the container stops (`diff`, `commit`, `start` read it).
    Kept,
    /// Removed with the container (`--rm`): mounted `volatile` where the
    /// kernel knows the option.
    Discarded,
}

/// Step `mount_overlay`.
pub fn mount_overlay(
    lower: &[PathBuf],
    upper: &Path,
    work: &Path,
    target: &Path,
    life: Upper,
    journal: &Journal,
    trace: &mut Trace,
) -> anyhow::Result<()> {
    let t = now_ns();
    let mut opts = options(lower, upper, work);
    if opts.len() >= 4000 {
        bail!(
            "the overlay options for {} are {} bytes, over the kernel's one-page limit: the image has too many layers or the data root path is too long",
            target.display(),
            opts.len()
        );
    }
    journal.record(&Object::Mount(target.to_path_buf()))?;
    let attempt = |opts: &str| {
        mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::empty(),
            Some(opts),
        )
    };
    let mut result = Err(nix::Error::EINVAL);
    if life == Upper::Discarded {
        result = attempt(&format!("{opts},volatile"));
        if result.is_ok() {
            opts.push_str(",volatile");
        }
    }
    // Kernels before 5.10 answer EINVAL to `volatile`: mount without it.
    if result == Err(nix::Error::EINVAL) {
        result = attempt(&opts);
    }
    result.map_err(|e| match e {
        nix::Error::ENODEV => anyhow::anyhow!(
            "overlayfs is not available in this kernel: load it with `modprobe overlay`, then retry"
        ),
        e => anyhow::anyhow!("mounting overlay on {}: {e}", target.display()),
    })?;
    trace.step(
        "engine",
        t,
        "mount_overlay",
        format!("mount -t overlay overlay -o {opts} {}", target.display()),
    );
    Ok(())
}

/// Step `unmount_overlay`: detach the mount; gone already is fine.
pub fn unmount(target: &Path, trace: &mut Trace) -> anyhow::Result<()> {
    let t = now_ns();
    unmount_all(target).with_context(|| format!("unmounting {}", target.display()))?;
    trace.step(
        "engine",
        t,
        "unmount_overlay",
        format!("umount2({}, MNT_DETACH)", target.display()),
    );
    Ok(())
}

/// Unmounts everything stacked on `target`; EINVAL (not a mount point) and
/// ENOENT end the loop as success.
pub fn unmount_all(target: &Path) -> nix::Result<()> {
    for _ in 0..16 {
        match umount2(target, MntFlags::MNT_DETACH) {
            Ok(()) => continue,
            Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
