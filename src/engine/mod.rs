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

pub mod archive;
pub mod cleanup;
pub mod container;
pub mod describe;
pub mod disk;
pub mod error;
pub mod events;
pub mod exec;
pub mod lifecycle;
pub mod lock;
pub mod logs;
pub mod network;
pub mod overlay;
pub mod run;
pub mod spec;
pub mod trash;
pub mod units;
pub mod volume;
pub mod wait;

pub use error::EngineError;

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
    /// `glassbox daemon`'s request log: one line per request (`TIME METHOD
    /// TARGET STATUS MSms`), which the lab's api panel reads.
    pub fn daemon_requests_log(&self) -> PathBuf {
        self.path.join("daemon-requests.log")
    }

    /// Opens (creating if needed) a data root, and closes it to other host
    /// users ([`close_data_root`]) if an older glassbox left it open.
    pub fn open(path: &Path) -> anyhow::Result<DataRoot> {
        use anyhow::Context;
        std::fs::create_dir_all(path)
            .with_context(|| format!("cannot create the data root {}", path.display()))?;
        let path = std::fs::canonicalize(path)
            .with_context(|| format!("cannot resolve the data root {}", path.display()))?;
        for sub in ["images", "names"] {
            std::fs::create_dir_all(path.join(sub))
                .with_context(|| format!("cannot create {}", path.join(sub).display()))?;
        }
        close_data_root(&path)?;
        let key = if path == Path::new(DEFAULT_ROOT) {
            "default".to_string()
        } else {
            let hash = Sha256::digest(path.as_os_str().as_encoded_bytes());
            crate::util::text::hex(&hash[..4])
        };
        Ok(DataRoot { path, key })
    }

    pub fn containers(&self) -> PathBuf {
        self.path.join("containers")
    }

    pub fn names(&self) -> PathBuf {
        self.path.join("names")
    }

    /// `ahead/`: the next container's directory, made ahead by the last
    /// start (`container::make_dir_ahead`).
    pub fn ahead(&self) -> PathBuf {
        self.path.join("ahead")
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

    /// `glassbox`: the cgroup that holds the containers of every data root,
    /// each one directly below it, as docker keeps `docker/<id>`.
    pub fn cgroup_parent(&self) -> String {
        CGROUP_PARENT.to_string()
    }

    /// `glassbox/<key>-<first 12 of the ID>`: a container's cgroup. One level
    /// below the shared parent: a start makes, and its teardown removes, one
    /// directory per hierarchy besides its own (six on cgroup v1), not two.
    /// A container started by an earlier glassbox is in
    /// `glassbox/<key>/<id>`: its record keeps that path, and teardown and
    /// `cleanup` know both layouts.
    pub fn container_cgroup(&self, id: &str) -> String {
        format!(
            "{CGROUP_PARENT}/{}{}",
            self.cgroup_prefix(),
            &id[..12.min(id.len())]
        )
    }

    /// What the names of this root's groups below `glassbox` begin with.
    pub fn cgroup_prefix(&self) -> String {
        format!("{}-", self.key)
    }

    /// The host's cgroup layout.
    pub fn cgroup_layout(&self) -> anyhow::Result<Layout> {
        Ok(cgroups::detect()?)
    }
}

/// The data root's own mode: others may pass through (a path below it that
/// they know, such as a volume's, still resolves) but not list it.
pub const ROOT_MODE: u32 = 0o711;

/// The directories only root may enter: a container's upper dir and merged
/// rootfs, image layers, volumes, and trees being made or deleted. Through any
/// of them, another host user could read a container's files, or run a
/// setuid-root program a container made (`chmod 4755` in the container is a
/// setuid-root file on the host too). docker keeps /var/lib/docker 0710.
pub const PRIVATE_DIRS: [&str; 5] = ["containers", "layers", "volumes", "tmp", "trash"];

/// The files of a container that hold its `-e` values (the bundle's
/// config.json, the record) or its output (the log): root's only.
pub const PRIVATE_FILES: [&str; 3] = ["config.json", "state.json", "container-json.log"];

pub use crate::util::fs::make_private_dir;
use crate::util::fs::set_mode;

/// Step `close_data_root`: the root 0711, [`PRIVATE_DIRS`] 0700 and each
/// container's [`PRIVATE_FILES`] 0600. A root made by an older glassbox
/// (still 0755) has its containers' files closed too; the root's mode is
/// set last, so an interrupted pass is done again next time. Someone other
/// than root cannot change root's directories: for them (the lab without
/// sudo, reading) a root left as it is is not an error.
pub fn close_data_root(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::os::unix::fs::MetadataExt;
    let is_root = nix::unistd::geteuid().is_root();
    let denied = |e: &std::io::Error| {
        !is_root
            && matches!(
                e.raw_os_error(),
                Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::EROFS)
            )
    };
    let root_mode = std::fs::metadata(path)
        .with_context(|| format!("cannot read the data root {}", path.display()))?
        .mode()
        & 0o7777;
    for sub in PRIVATE_DIRS {
        let dir = path.join(sub);
        match make_private_dir(&dir) {
            Ok(()) => {}
            Err(e) if denied(&e) => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot make {} private to root (mode 0700)", dir.display())
                });
            }
        }
    }
    if is_root {
        // Containers come and go: spread their directories over ext4's block
        // groups (see the function). Elsewhere the flag does not exist.
        let _ = crate::util::fs::spread_subdirectories(&path.join("containers"));
    }
    if root_mode == ROOT_MODE {
        return Ok(());
    }
    if let Ok(entries) = std::fs::read_dir(path.join("containers")) {
        for entry in entries.flatten() {
            for file in PRIVATE_FILES {
                let f = entry.path().join(file);
                match set_mode(&f, 0o600) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound || denied(&e) => {}
                    Err(e) => {
                        return Err(e).with_context(|| {
                            format!("cannot make {} private to root (mode 0600)", f.display())
                        });
                    }
                }
            }
        }
    }
    match set_mode(path, ROOT_MODE) {
        Ok(()) => Ok(()),
        Err(e) if denied(&e) => Ok(()),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot set the data root {} to mode 0711 (others may pass through it, not list it)",
                path.display()
            )
        }),
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
