//! The image store: configs, layers and tags under the data root.
//!
//! Writes are atomic: a layer is extracted into a temporary directory and
//! renamed into place when complete; a config or the tag list is written to a
//! temporary file and renamed. A crash leaves either the old state or the new
//! one, never half a layer.
//!
//! The tag list, `images/repositories.json`, is the one file every image
//! command reads. If it is damaged anyway (a disk error, a hand edit), it is
//! set aside as `repositories.json.corrupt-<time>` and rebuilt: from the copy
//! kept before its last change (`repositories.json.bak`), for the tags whose
//! image is still in `images/configs`; the other images stay, untagged
//! (`images` lists them as `<none>`). A warning says so ([`take_notices`]).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::util::fs::write_atomic;
use crate::util::text::hex;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "image {0:?} not found: `glassbox images` lists the images here; `glassbox load -i FILE` or `glassbox build` makes one"
    )]
    NotFound(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: io::Error,
    },
    #[error("{path} is not a valid image config: {source}")]
    BadConfig {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path} is damaged ({source}) and could not be set aside: {why}")]
    BadRepositories {
        path: String,
        source: serde_json::Error,
        why: String,
    },
    #[error(transparent)]
    Layer(#[from] super::import::LayerError),
    #[error(transparent)]
    Write(#[from] crate::util::fs::WriteError),
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

/// The OCI image config (image-spec `config.md`), with docker's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub architecture: String,
    pub os: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: RunDefaults,
    pub rootfs: RootFs,
    #[serde(default, deserialize_with = "null_as_default")]
    pub history: Vec<History>,
}

/// What a container of this image runs unless told otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct RunDefaults {
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub user: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    /// `VOLUME` paths: each container gets an anonymous volume there.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub volumes: BTreeMap<String, serde_json::Value>,
    /// `STOPSIGNAL`: what `stop` sends first.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub stop_signal: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
}

/// The layers, bottom first, by diff_id (`sha256:…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub typ: String,
    pub diff_ids: Vec<String>,
}

/// One build step, as `docker history` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub created_by: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub comment: String,
}

/// docker writes `null` for an empty list or map (`"Labels": null`): read it
/// as empty.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `sha256:<hex>` of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// The hex part of `sha256:<hex>`.
pub fn digest_hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

/// `busybox` → `busybox:latest`; docker's fully qualified form of the same
/// name (`docker.io/library/busybox:latest`, which the docker CLI sends to a
/// daemon) is stored in its familiar form, as docker shows it.
pub fn normalize_ref(name: &str) -> String {
    let name = [
        "docker.io/library/",
        "index.docker.io/library/",
        "docker.io/",
        "index.docker.io/",
    ]
    .iter()
    .find_map(|p| name.strip_prefix(p))
    .unwrap_or(name);
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// The image store of one data root.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
}

impl ImageStore {
    pub fn new(data_root: &Path) -> ImageStore {
        ImageStore {
            root: data_root.to_path_buf(),
        }
    }

    fn repositories_path(&self) -> PathBuf {
        self.root.join("images").join("repositories.json")
    }

    pub fn config_path(&self, image_id: &str) -> PathBuf {
        self.root
            .join("images")
            .join("configs")
            .join(format!("{}.json", digest_hex(image_id)))
    }

    pub fn layer_dir(&self, diff_id: &str) -> PathBuf {
        self.root.join("layers").join(digest_hex(diff_id))
    }

    /// The extracted files of a layer: an overlay lowerdir.
    pub fn layer_diff(&self, diff_id: &str) -> PathBuf {
        self.layer_dir(diff_id).join("diff")
    }

    /// name:tag → image id. A damaged tag list is repaired on the way
    /// (see the module doc).
    pub fn tags(&self) -> Result<BTreeMap<String, String>, StoreError> {
        match self.read_tags()? {
            Ok(tags) => Ok(tags),
            Err(source) => self.repair_tags(source),
        }
    }

    /// The tag list as it is on disk: `Ok(Err(_))` when it does not parse.
    fn read_tags(&self) -> Result<Result<BTreeMap<String, String>, serde_json::Error>, StoreError> {
        let path = self.repositories_path();
        match std::fs::read(&path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Ok(BTreeMap::new())),
            Err(e) => Err(io_err("reading", &path)(e)),
        }
    }

    /// Sets a damaged tag list aside and writes one rebuilt from the last
    /// good copy and the stored configs. Under its own lock (not
    /// [`ImageStore::lock`], which the caller may hold), so that of two
    /// commands finding the damage one repairs and the other reads the repair.
    fn repair_tags(
        &self,
        source: serde_json::Error,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let path = self.repositories_path();
        let lock_path = self.root.join("images").join(".repair.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("opening", &lock_path))?;
        let _lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| io_err("locking", &lock_path)(e.into()))?;
        if let Ok(tags) = self.read_tags()? {
            return Ok(tags); // repaired meanwhile
        }
        let damage = source.to_string();
        let stamp = crate::timefmt::now_unix_ns() / 1_000_000_000;
        let aside = path.with_file_name(format!("repositories.json.corrupt-{stamp}"));
        std::fs::rename(&path, &aside).map_err(|e| StoreError::BadRepositories {
            path: path.display().to_string(),
            why: format!("renaming it to {}: {e}", aside.display()),
            source,
        })?;
        let images: Vec<String> = std::fs::read_dir(self.root.join("images").join("configs"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        n.strip_suffix(".json").map(|h| format!("sha256:{h}"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let backup: BTreeMap<String, String> = std::fs::read(self.backup_path())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let tags: BTreeMap<String, String> = backup
            .into_iter()
            .filter(|(_, id)| images.contains(id))
            .collect();
        self.write_tags(&tags)?;
        let untagged = images
            .iter()
            .filter(|i| !tags.values().any(|v| v == *i))
            .count();
        push_notice(format!(
            "{} was damaged ({damage}): set aside as {}, and rebuilt from images/configs: {} image(s), {} tag(s) from its last good copy, {untagged} image(s) left untagged (`glassbox images` lists them as <none>; `glassbox tag ID NAME` names one again)",
            path.display(),
            aside.display(),
            images.len(),
            tags.len()
        ));
        Ok(tags)
    }

    /// The tag list as it was before its last change.
    fn backup_path(&self) -> PathBuf {
        self.root.join("images").join("repositories.json.bak")
    }

    /// Points `reference` at `image_id`.
    pub fn tag(&self, reference: &str, image_id: &str) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let mut tags = self.tags()?;
        tags.insert(normalize_ref(reference), image_id.to_string());
        self.write_tags(&tags)
    }

    /// Replaces the tag list (the caller holds [`ImageStore::lock`]),
    /// keeping the one it replaces as `repositories.json.bak` (a hard link:
    /// readers never see the list missing).
    pub fn write_tags(&self, tags: &BTreeMap<String, String>) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(tags).map_err(|source| StoreError::BadConfig {
            path: self.repositories_path().display().to_string(),
            source,
        })?;
        let current = self.repositories_path();
        if matches!(self.read_tags(), Ok(Ok(_))) && current.exists() {
            let backup = self.backup_path();
            let _ = std::fs::remove_file(&backup);
            let _ = std::fs::hard_link(&current, &backup);
        }
        Ok(write_atomic(&current, &bytes)?)
    }

    /// Serialises changes to the tag list between parallel glassbox processes.
    pub fn lock(&self) -> Result<nix::fcntl::Flock<std::fs::File>, StoreError> {
        let path = self.root.join("images").join(".lock");
        std::fs::create_dir_all(self.root.join("images")).map_err(io_err("creating", &path))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("opening", &path))?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| io_err("locking", &path)(e.into()))
    }

    /// Finds an image by `name[:tag]`, by full or short ID.
    pub fn resolve(&self, reference: &str) -> Result<(String, ImageConfig), StoreError> {
        let tags = self.tags()?;
        let id = if let Some(id) = tags.get(&normalize_ref(reference)) {
            id.clone()
        } else {
            let hex = digest_hex(reference);
            let found = (hex.len() >= 4 && hex.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| {
                    std::fs::read_dir(self.root.join("images").join("configs"))
                        .ok()?
                        .flatten()
                        .filter_map(|e| {
                            e.file_name()
                                .to_str()
                                .map(|s| s.trim_end_matches(".json").to_string())
                        })
                        .find(|name| name.starts_with(hex))
                })
                .flatten();
            match found {
                Some(hex) => format!("sha256:{hex}"),
                None => return Err(StoreError::NotFound(reference.to_string())),
            }
        };
        let config = self.config(&id)?;
        Ok((id, config))
    }

    pub fn config(&self, image_id: &str) -> Result<ImageConfig, StoreError> {
        let path = self.config_path(image_id);
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                StoreError::NotFound(image_id.to_string())
            } else {
                io_err("reading", &path)(e)
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|source| StoreError::BadConfig {
            path: path.display().to_string(),
            source,
        })
    }

    /// Stores a config; returns its image ID (the digest of the exact bytes).
    pub fn put_config(&self, config: &ImageConfig) -> Result<String, StoreError> {
        let bytes = serde_json::to_vec(config).map_err(|source| StoreError::BadConfig {
            path: "(new config)".into(),
            source,
        })?;
        let id = digest(&bytes);
        write_atomic(&self.config_path(&id), &bytes)?;
        Ok(id)
    }

    /// Stores a layer given as tar bytes, through the safe importer.
    /// Returns its diff_id. A layer already present is kept as it is.
    pub fn put_layer_tar(&self, tar_bytes: &[u8]) -> Result<String, StoreError> {
        Ok(super::import::import_layer(self, tar_bytes)?)
    }

    /// Stores a config given as exact bytes (a loaded image keeps its ID):
    /// checked to parse, then written; returns the image ID.
    pub fn put_config_bytes(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let id = digest(bytes);
        let path = self.config_path(&id);
        serde_json::from_slice::<ImageConfig>(bytes).map_err(|source| StoreError::BadConfig {
            path: path.display().to_string(),
            source,
        })?;
        write_atomic(&path, bytes)?;
        Ok(id)
    }

    /// The data root this store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a layer's content size is recorded (docker's layer database keeps
    /// the same number in `layerdb/sha256/<chain id>/size`).
    pub fn layer_size_path(&self, diff_id: &str) -> PathBuf {
        self.layer_dir(diff_id).join(SIZE_FILE)
    }

    /// Size in bytes of what a layer holds, what `docker history` calls SIZE:
    /// the [`content_size`] recorded when the layer was imported. Not the
    /// size of `layer.tar`, which adds a 512-byte header per entry, padding
    /// to 512 bytes and 1 KiB of end marker: a 28-byte file is a 2.5 kB tar.
    /// A layer stored before sizes were recorded is measured on the spot; a
    /// missing layer is 0.
    pub fn layer_size(&self, diff_id: &str) -> u64 {
        let recorded = std::fs::read_to_string(self.layer_size_path(diff_id))
            .ok()
            .and_then(|text| text.trim().parse().ok());
        recorded
            .or_else(|| content_size(&self.layer_diff(diff_id)).ok())
            .unwrap_or(0)
    }

    /// An image's size: the sum of its layers' sizes.
    pub fn image_size(&self, config: &ImageConfig) -> u64 {
        config
            .rootfs
            .diff_ids
            .iter()
            .map(|d| self.layer_size(d))
            .sum()
    }
}

static NOTICES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Records a warning for the person running the command (a repair made on
/// the way); the CLI prints them when it ends.
pub fn push_notice(text: String) {
    if let Ok(mut n) = NOTICES.lock() {
        n.push(text);
    }
}

/// The warnings recorded so far, emptied.
pub fn take_notices() -> Vec<String> {
    NOTICES
        .lock()
        .map(|mut n| std::mem::take(&mut *n))
        .unwrap_or_default()
}

/// The file beside a layer's `diff/` that holds its [`content_size`], in decimal.
pub const SIZE_FILE: &str = "size";

/// The bytes a directory tree holds, counted as docker's graph drivers count
/// a layer (moby's `directory.Size`): a regular file counts its length, once
/// however many hard links it has; a symlink counts its target's path length
/// (what `lstat` reports as its size); directories, devices (an overlay
/// whiteout is a 0/0 character device) and FIFOs count 0. Symlinks are never
/// followed.
pub fn content_size(dir: &Path) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut linked = std::collections::HashSet::new();
    let mut total = 0;
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            // DirEntry::metadata is lstat: a symlink describes itself.
            let m = entry.metadata()?;
            let kind = m.file_type();
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if (kind.is_file() || kind.is_symlink())
                && (m.nlink() == 1 || linked.insert((m.dev(), m.ino())))
            {
                total += m.len();
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names_are_stored_familiar() {
        assert_eq!(normalize_ref("busybox"), "busybox:latest");
        assert_eq!(normalize_ref("docker.io/library/mybox:1"), "mybox:1");
        assert_eq!(normalize_ref("docker.io/me/app"), "me/app:latest");
        assert_eq!(
            normalize_ref("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
    }

    #[test]
    fn references_get_a_default_tag() {
        assert_eq!(normalize_ref("busybox"), "busybox:latest");
        assert_eq!(normalize_ref("demo:v1"), "demo:v1");
        assert_eq!(
            normalize_ref("localhost:5000/demo"),
            "localhost:5000/demo:latest"
        );
    }

    #[test]
    fn docker_configs_with_nulls_parse() {
        let text = r#"{"architecture":"amd64","os":"linux","config":{"Env":null,"Cmd":["sh"],"Labels":null,"Volumes":null,"OnBuild":null,"Entrypoint":null,"WorkingDir":"","User":""},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]},"history":[{"created_by":"x","comment":null}],"container_config":{"Hostname":""},"docker_version":"24.0.7"}"#;
        let c: ImageConfig = serde_json::from_str(text).unwrap();
        assert_eq!(c.config.cmd, Some(vec!["sh".to_string()]));
        assert!(c.config.labels.is_empty() && c.config.env.is_empty());
    }

    #[test]
    fn content_size_counts_files_once_and_links_by_their_target() {
        use std::os::unix::fs::symlink;
        let dir =
            std::env::temp_dir().join(format!("glassbox-unit-content-size-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("app/empty")).unwrap();
        std::fs::write(dir.join("app/app.py"), [b'x'; 28]).unwrap();
        std::fs::write(dir.join("top"), b"12345").unwrap();
        // A hard link shares the file's bytes: counted once.
        std::fs::hard_link(dir.join("app/app.py"), dir.join("app/again.py")).unwrap();
        // 16 bytes of target path, whatever the target holds (or whether it exists).
        symlink("/bin/busybox-xyz", dir.join("sh")).unwrap();
        symlink("app", dir.join("link-to-dir")).unwrap();
        let got = content_size(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(got.unwrap(), 28 + 5 + 16 + 3);
    }

    #[test]
    fn digests_are_sha256() {
        assert_eq!(
            digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
