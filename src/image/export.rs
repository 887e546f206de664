//! `glassbox export CONTAINER`: the container's whole filesystem as one tar.
//!
//! Unlike `save`, which keeps an image's layers apart, `export` flattens: it
//! archives what the container sees, the overlay's merged view, so deleted
//! files are simply absent and there are no whiteouts. While the container
//! runs, its overlay is mounted at `rootfs/` and is archived there. A stopped
//! container's overlay is gone, so `export` mounts a read-only one for the
//! moment (lowerdir = its upper dir on top of the image's layers; an overlay
//! with only lower directories needs no upper and no workdir), journaled in
//! the container's journal like every mount, and detaches it afterwards.
//!
//! A running container is frozen while it is archived (its cgroup's
//! freezer), so that the tar is one moment's state and no process inside
//! can swap a file for a symlink under the reader; the walk itself goes by
//! file descriptor ([`super::inroot::Dir`]) and never follows one.

use super::diff::{TreeKind, write_tree_tar};
use crate::engine::container::{self, Paths};
use crate::engine::{DataRoot, overlay};
use crate::runtime::journal::{Journal, Object};
use crate::runtime::trace::{Trace, now_ns};
use anyhow::Context;
use nix::mount::{MsFlags, mount};
use std::io::Write;

/// Writes the container's filesystem as a tar to `out`.
pub fn export<W: Write>(
    root: &DataRoot,
    name: &str,
    out: W,
    trace: &mut Trace,
) -> anyhow::Result<W> {
    crate::engine::require_root("glassbox export")?;
    let record = container::find(root, name)?;
    let paths = Paths::new(root, &record.id);
    if record.is_running() {
        let rootfs = paths.rootfs();
        return crate::engine::lifecycle::while_frozen(root, &record, trace, |_| {
            write_tree_tar(&rootfs, out, TreeKind::Plain, &Default::default())
                .with_context(|| format!("archiving {}", rootfs.display()))
        });
    }
    let target = paths.rootfs();
    std::fs::create_dir_all(&target)?;
    let journal = Journal::open(&paths.journal())?;
    let mut lower = vec![paths.upper()];
    lower.extend(record.lower_dirs.iter().cloned());
    let opts = format!(
        "lowerdir={}",
        lower
            .iter()
            .map(|p| p.display().to_string().replace(':', "\\:"))
            .collect::<Vec<_>>()
            .join(":")
    );
    let t = now_ns();
    journal.record(&Object::Mount(target.clone()))?;
    mount(
        Some("overlay"),
        &target,
        Some("overlay"),
        MsFlags::MS_RDONLY,
        Some(opts.as_str()),
    )
    .with_context(|| format!("mounting a read-only overlay on {}", target.display()))?;
    trace.step(
        "engine",
        t,
        "mount_overlay_readonly",
        format!("mount -t overlay overlay -o ro,{opts} {}", target.display()),
    );
    let result = write_tree_tar(&target, out, TreeKind::Plain, &Default::default())
        .with_context(|| format!("archiving {}", target.display()));
    overlay::unmount(&target, trace)?;
    result
}
