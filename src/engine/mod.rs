//! The engine: glassbox's counterpart of dockerd and containerd.
//!
//! It turns docker's words (`run -m 200m --name web busybox sleep 600`) into an
//! OCI bundle: it finds the image, mounts its layers with overlayfs
//! ([`overlay`], containerd's "snapshotter" job), writes `config.json`
//! ([`spec`]), keeps each container's record ([`container`]), and asks the
//! [`runtime`](crate::runtime) to make the process. Everything lives under one
//! data root ([`DataRoot`], default /var/lib/glassbox, or `--root` /
//! `GLASSBOX_ROOT`), and the names of kernel objects carry a key derived from
//! it, so two data roots never collide.

pub mod cleanup;
pub mod container;
pub mod exec;
pub mod lifecycle;
pub mod network;
pub mod overlay;
pub mod run;
pub mod spec;
pub mod units;
pub mod volume;

use crate::image::ImageStore;
use crate::runtime::cgroups::{self, Layout};
use crate::runtime::journal::Journal;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The default data root.
pub const DEFAULT_ROOT: &str = "/var/lib/glassbox";

/// The parent cgroup of every glassbox container.
pub const CGROUP_PARENT: &str = "glassbox";

/// One data root and the names derived from it.
#[derive(Debug, Clone)]
pub struct DataRoot {
    pub path: PathBuf,
    /// `default` for /var/lib/glassbox, else 8 hex digits of the path's sha256.
    pub key: String,
}

impl DataRoot {
    /// Opens (creating if needed) a data root.
    pub fn open(path: &Path) -> anyhow::Result<DataRoot> {
        use anyhow::Context;
        std::fs::create_dir_all(path)
            .with_context(|| format!("cannot create the data root {}", path.display()))?;
        let path = std::fs::canonicalize(path)
            .with_context(|| format!("cannot resolve the data root {}", path.display()))?;
        for sub in ["containers", "images", "layers", "names", "volumes"] {
            std::fs::create_dir_all(path.join(sub))
                .with_context(|| format!("cannot create {}", path.join(sub).display()))?;
        }
        let key = if path == Path::new(DEFAULT_ROOT) {
            "default".to_string()
        } else {
            let hash = Sha256::digest(path.as_os_str().as_encoded_bytes());
            crate::image::store::hex(&hash[..4])
        };
        Ok(DataRoot { path, key })
    }

    pub fn containers(&self) -> PathBuf {
        self.path.join("containers")
    }

    pub fn names(&self) -> PathBuf {
        self.path.join("names")
    }

    pub fn images(&self) -> ImageStore {
        ImageStore::new(&self.path)
    }

    /// docker's "init layer", shared by every container of this root: empty
    /// placeholders for the files the engine bind-mounts at start
    /// (/etc/hosts, /etc/hostname, /etc/resolv.conf), as a read-only layer on
    /// top of the image's. The mount points then never appear in a
    /// container's upper dir, in `diff`, or in an image made by `commit`.
    /// Made on first use.
    pub fn init_layer(&self) -> anyhow::Result<PathBuf> {
        use anyhow::Context;
        let dir = self.path.join("init-layer");
        let etc = dir.join("etc");
        if !etc.join("resolv.conf").is_file() {
            std::fs::create_dir_all(&etc)
                .with_context(|| format!("cannot create {}", etc.display()))?;
            for f in ["hosts", "hostname", "resolv.conf"] {
                let path = etc.join(f);
                std::fs::write(&path, b"")
                    .with_context(|| format!("cannot create {}", path.display()))?;
            }
        }
        Ok(dir)
    }

    /// The journal of objects shared by all containers of this root.
    pub fn journal(&self) -> std::io::Result<Journal> {
        Journal::open(&self.journal_path())
    }

    pub fn journal_path(&self) -> PathBuf {
        self.path.join("journal")
    }

    /// `glassbox/<key>`: the cgroup that holds this root's containers.
    pub fn cgroup_parent(&self) -> String {
        format!("{CGROUP_PARENT}/{}", self.key)
    }

    /// The host's cgroup layout.
    pub fn cgroup_layout(&self) -> anyhow::Result<Layout> {
        Ok(cgroups::detect()?)
    }
}

/// Refuses to go on without root, in one sentence that says what to do.
pub fn require_root(what: &str) -> anyhow::Result<()> {
    if nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    anyhow::bail!(
        "{what} needs root: namespaces, mounts and cgroups are the kernel's privileged calls. Run it with sudo (sudo glassbox …)"
    )
}
