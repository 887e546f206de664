//! `save` and `load`: images in and out as one tar, in the two formats other
//! tools read.
//!
//! *docker-archive* is the tar `docker save` writes and `docker load` reads:
//! `manifest.json` lists, per image, its config file, its tags and its layer
//! tars (`<id>/layer.tar`), bottom layer first; `repositories` is the older
//! index of tags. An *OCI image layout* is the standard's directory form:
//! `oci-layout` (the version), `index.json` (the entry point, one descriptor
//! per tagged image, named by the `org.opencontainers.image.ref.name`
//! annotation), and `blobs/sha256/<digest>`: every file named by the sha256
//! of its bytes — the image manifest, the config, each layer. A manifest
//! points at the config and at the layers by digest, so every byte of an
//! image can be verified from the digest in `index.json` down.
//!
//! `load` accepts either (and a layout whose layers are gzip'd, as registries
//! and skopeo write them). It unpacks the outer tar with the same checks as a
//! layer (it is untrusted input too), then imports each layer through the safe
//! importer and checks that its diff_id is the one the config promises. The
//! image (config and tags) is stored only when every layer is in; a failure
//! removes the layers this load added, so nothing half-loaded remains.
//!
//! Before any layer is imported, what the archive says is checked: its
//! entry point (`manifest.json`, `index.json`) is read inside the unpacked
//! directory only (`openat2(RESOLVE_IN_ROOT)`: a symlink to a host file
//! resolves inside the archive); every name it gives an image must be
//! docker's reference grammar ([`super::reference`]); an OCI index may nest
//! at most [`MAX_INDEX_DEPTH`] indexes and name at most [`MAX_BLOBS`]
//! descriptors in all, each image at most [`MAX_LAYERS`] layers. A layout
//! of indexes that name the next one four times each is refused at once,
//! not walked 4^depth times.

use super::import::{self, HashingWriter, Target, TempDir};
use super::store::{ImageConfig, ImageStore, digest, digest_hex, normalize_ref};
use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

pub const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// How deep indexes may nest below index.json (a multi-platform image needs 1).
pub const MAX_INDEX_DEPTH: usize = 4;
/// How many descriptors (indexes, manifests, configs, layers) a load may follow.
pub const MAX_BLOBS: usize = 1024;
/// How many layers one image may have (docker's overlay2 stops at 125).
pub const MAX_LAYERS: usize = 128;
/// The largest manifest.json, index.json or manifest a load reads.
const MAX_JSON: u64 = 4 << 20;

/// The archive format of `save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Docker,
    Oci,
}

impl Format {
    pub fn parse(s: &str) -> anyhow::Result<Format> {
        match s {
            "docker" | "docker-archive" => Ok(Format::Docker),
            "oci" | "oci-layout" => Ok(Format::Oci),
            _ => bail!("unknown format {s:?}: use docker or oci"),
        }
    }
}

/// An OCI content descriptor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// In an index of several platforms: which one this manifest is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// An image's platform, in an index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
}

/// This machine's architecture in OCI's words (`amd64`, `arm64`).
pub fn host_architecture() -> String {
    std::env::consts::ARCH
        .replace("x86_64", "amd64")
        .replace("aarch64", "arm64")
}

/// An OCI image manifest (or, with `manifests`, an index).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<Descriptor>,
}

/// One entry of docker's `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerManifest {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
}

/// A tar being written, one entry at a time.
struct Out<W: Write> {
    b: tar::Builder<W>,
    mtime: u64,
}

impl<W: Write> Out<W> {
    fn header(&self, size: u64, kind: tar::EntryType, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(self.mtime);
        h.set_uid(0);
        h.set_gid(0);
        h
    }
    fn dir(&mut self, path: &str) -> io::Result<()> {
        let mut h = self.header(0, tar::EntryType::Directory, 0o755);
        self.b.append_data(&mut h, path, io::empty())
    }
    fn bytes(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        let mut h = self.header(data.len() as u64, tar::EntryType::Regular, 0o644);
        self.b.append_data(&mut h, path, data)
    }
    fn file(&mut self, path: &str, from: &Path) -> io::Result<()> {
        let f = std::fs::File::open(from)?;
        let len = f.metadata()?.len();
        let mut h = self.header(len, tar::EntryType::Regular, 0o644);
        self.b.append_data(&mut h, path, f)
    }
}

/// A reference without docker.io's implied prefix.
fn short_name(name: &str) -> String {
    let n = name.strip_prefix("docker.io/").unwrap_or(name);
    n.strip_prefix("library/").unwrap_or(n).to_string()
}

/// The images to save: (reference as given, tags to write, image ID).
fn resolve_all(
    store: &ImageStore,
    images: &[String],
) -> anyhow::Result<Vec<(Vec<String>, String)>> {
    let tags = store.tags()?;
    images
        .iter()
        .map(|r| {
            let (id, _) = store.resolve(r)?;
            let named = normalize_ref(r);
            let repo_tags = if tags.get(&named) == Some(&id) {
                vec![named]
            } else {
                Vec::new()
            };
            Ok((repo_tags, id))
        })
        .collect()
}

/// Writes `images` to `out` as one tar in `format`.
pub fn save<W: Write>(
    store: &ImageStore,
    images: &[String],
    format: Format,
    out: W,
) -> anyhow::Result<W> {
    let chosen = resolve_all(store, images)?;
    let mut o = Out {
        b: tar::Builder::new(out),
        mtime: crate::timefmt::now_unix_ns() / 1_000_000_000,
    };
    let mut written: std::collections::BTreeSet<String> = Default::default();
    match format {
        Format::Docker => {
            let mut manifest = Vec::new();
            let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
            for (tags, id) in &chosen {
                let config: ImageConfig = store.config(id)?;
                let hex = digest_hex(id).to_string();
                if written.insert(hex.clone()) {
                    o.file(
                        &format!("{hex}.json"),
                        &verified(&store.config_path(id), id, id)?,
                    )?;
                }
                let mut layers = Vec::new();
                for d in &config.rootfs.diff_ids {
                    let lh = digest_hex(d).to_string();
                    if written.insert(lh.clone()) {
                        let tar = verified(&store.layer_dir(d).join("layer.tar"), d, id)?;
                        o.dir(&lh)?;
                        o.bytes(&format!("{lh}/VERSION"), b"1.0")?;
                        o.file(&format!("{lh}/layer.tar"), &tar)?;
                    }
                    layers.push(format!("{lh}/layer.tar"));
                }
                for t in tags {
                    if let Some((repo, tag)) = t.rsplit_once(':') {
                        let top = layers
                            .last()
                            .map(|l| l.trim_end_matches("/layer.tar").to_string())
                            .unwrap_or_default();
                        repositories
                            .entry(repo.to_string())
                            .or_default()
                            .insert(tag.to_string(), top);
                    }
                }
                manifest.push(DockerManifest {
                    config: format!("{hex}.json"),
                    repo_tags: Some(tags.clone()),
                    layers,
                });
            }
            o.bytes("manifest.json", &serde_json::to_vec(&manifest)?)?;
            o.bytes("repositories", &serde_json::to_vec(&repositories)?)?;
        }
        Format::Oci => {
            o.bytes("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
            o.dir("blobs")?;
            o.dir("blobs/sha256")?;
            let mut index = Vec::new();
            for (tags, id) in &chosen {
                let config: ImageConfig = store.config(id)?;
                let config_bytes = std::fs::read(verified(&store.config_path(id), id, id)?)?;
                if written.insert(digest_hex(id).to_string()) {
                    o.bytes(&format!("blobs/sha256/{}", digest_hex(id)), &config_bytes)?;
                }
                let mut layers = Vec::new();
                for d in &config.rootfs.diff_ids {
                    let path = verified(&store.layer_dir(d).join("layer.tar"), d, id)?;
                    let size = std::fs::metadata(&path)
                        .with_context(|| format!("layer {d} of {id}"))?
                        .len();
                    if written.insert(digest_hex(d).to_string()) {
                        o.file(&format!("blobs/sha256/{}", digest_hex(d)), &path)?;
                    }
                    layers.push(Descriptor {
                        media_type: MEDIA_LAYER.into(),
                        digest: d.clone(),
                        size,
                        annotations: BTreeMap::new(),
                        platform: None,
                    });
                }
                let manifest = Manifest {
                    schema_version: 2,
                    media_type: MEDIA_MANIFEST.into(),
                    config: Some(Descriptor {
                        media_type: MEDIA_CONFIG.into(),
                        digest: id.clone(),
                        size: config_bytes.len() as u64,
                        annotations: BTreeMap::new(),
                        platform: None,
                    }),
                    layers,
                    manifests: Vec::new(),
                };
                let mbytes = serde_json::to_vec(&manifest)?;
                let mdigest = digest(&mbytes);
                if written.insert(digest_hex(&mdigest).to_string()) {
                    o.bytes(&format!("blobs/sha256/{}", digest_hex(&mdigest)), &mbytes)?;
                }
                let names: Vec<Option<&String>> = if tags.is_empty() {
                    vec![None]
                } else {
                    tags.iter().map(Some).collect()
                };
                for t in names {
                    let mut annotations = BTreeMap::new();
                    if let Some(t) = t {
                        let tag = t.rsplit_once(':').map(|(_, tag)| tag).unwrap_or("latest");
                        annotations.insert(REF_NAME.to_string(), tag.to_string());
                        annotations.insert(CONTAINERD_NAME.to_string(), t.clone());
                    }
                    index.push(Descriptor {
                        media_type: MEDIA_MANIFEST.into(),
                        digest: mdigest.clone(),
                        size: mbytes.len() as u64,
                        annotations,
                        platform: None,
                    });
                }
            }
            let index = json!({
                "schemaVersion": 2,
                "mediaType": MEDIA_INDEX,
                "manifests": index,
            });
            o.bytes("index.json", &serde_json::to_vec(&index)?)?;
        }
    }
    Ok(o.b.into_inner()?)
}

/// A stored file checked against the digest that names it, before a byte of
/// it is written out: an archive never carries a layer whose content is not
/// the one its digest promises (a disk error, a hand edit in the store).
fn verified(path: &Path, want: &str, image: &str) -> anyhow::Result<PathBuf> {
    let got = file_digest(path).with_context(|| format!("reading {}", path.display()))?;
    if got != want {
        bail!(
            "{} of image {image} is damaged: its content is {got}, not {want}; nothing was saved (remove the image with `glassbox rmi` and load or build it again)",
            path.display()
        );
    }
    Ok(path.to_path_buf())
}

/// `save -o FILE`: written to a temporary name, renamed when complete.
pub fn save_to_file(
    store: &ImageStore,
    images: &[String],
    format: Format,
    path: &Path,
) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp-save");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let result = save(store, images, format, io::BufWriter::new(file))
        .and_then(|w| Ok(w.into_inner().map_err(|e| e.into_error())?.sync_all()?));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

/// `load -i FILE`.
pub fn load_file(store: &ImageStore, path: &Path) -> anyhow::Result<Vec<(Option<String>, String)>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    load(store, io::BufReader::new(f)).with_context(|| format!("loading {}", path.display()))
}

/// A path named inside the archive, resolved inside the unpacked directory
/// (symlinks in the archive may not lead out of it).
fn inside(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let rel = import::clean_path(name.as_bytes()).map_err(|why| anyhow!("{name:?}: {why}"))?;
    let path = std::fs::canonicalize(dir.join(&rel))
        .with_context(|| format!("{name:?} is named by the archive's index but is not in it"))?;
    let base = std::fs::canonicalize(dir)?;
    if !path.starts_with(&base) {
        bail!("{name:?} leads outside the archive");
    }
    Ok(path)
}

/// The sha256 of a file.
fn file_digest(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut w = HashingWriter::new(io::sink());
    io::copy(&mut f, &mut w)?;
    Ok(w.finish().0)
}

/// One image found in an archive.
struct Found {
    config: PathBuf,
    layers: Vec<PathBuf>,
    tags: Vec<String>,
}

/// Reads a docker-archive or an OCI layout tar; stores its images. Returns
/// (tag, image ID) per image loaded.
pub fn load(
    store: &ImageStore,
    reader: impl Read,
) -> anyhow::Result<Vec<(Option<String>, String)>> {
    // Layers are stored before the configs that name them: rmi and cleanup wait.
    let _lock = crate::util::lock::RootLock::at(store.root(), crate::util::lock::Mode::Shared)?;
    let tmp = TempDir::new(&store.root().join("tmp"), "load")?;
    import::extract(reader, &tmp.path, Target::Plain).context("the archive is refused")?;
    let dir = &tmp.path;
    let found = if let Some(text) = entry_point(dir, "manifest.json")? {
        docker_images(dir, &text)?
    } else if let Some(text) = entry_point(dir, "index.json")? {
        oci_images(dir, &text)?
    } else {
        bail!(
            "this tar is neither a docker-archive (no manifest.json) nor an OCI image layout (no index.json)"
        );
    };
    // Every name before any layer: a refused one leaves nothing behind.
    for f in &found {
        if f.layers.len() > MAX_LAYERS {
            bail!(
                "an image in the archive has {} layers, more than {MAX_LAYERS}: refused",
                f.layers.len()
            );
        }
        for t in &f.tags {
            super::reference::parse_tag_target(&short_name(t))
                .with_context(|| "a name the archive gives an image".to_string())?;
        }
    }
    let before: std::collections::BTreeSet<String> = layer_names(store);
    let result = store_images(store, &found);
    if result.is_err() {
        // Take back the layers this load added: no image will use them.
        for name in layer_names(store).difference(&before) {
            let _ = std::fs::remove_dir_all(store.root().join("layers").join(name));
        }
    }
    result
}

fn layer_names(store: &ImageStore) -> std::collections::BTreeSet<String> {
    std::fs::read_dir(store.root().join("layers"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

fn store_images(
    store: &ImageStore,
    found: &[Found],
) -> anyhow::Result<Vec<(Option<String>, String)>> {
    let mut pending = Vec::new();
    for f in found {
        let bytes =
            std::fs::read(&f.config).with_context(|| format!("reading {}", f.config.display()))?;
        let config: ImageConfig = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not an image config", f.config.display()))?;
        if config.rootfs.diff_ids.len() != f.layers.len() {
            bail!(
                "the image config lists {} layers but the archive gives {}",
                config.rootfs.diff_ids.len(),
                f.layers.len()
            );
        }
        for (n, (layer, want)) in f.layers.iter().zip(&config.rootfs.diff_ids).enumerate() {
            let reader = super::copy::open_maybe_gzip(layer)
                .with_context(|| format!("opening {}", layer.display()))?;
            let got = import::import_layer(store, reader)
                .with_context(|| format!("layer {} ({})", n + 1, want))?;
            if got != *want {
                bail!(
                    "layer {}: its content is {got} but the config says {want}: the archive is damaged or was altered",
                    n + 1
                );
            }
        }
        pending.push((bytes, f.tags.clone()));
    }
    let mut out = Vec::new();
    for (bytes, tags) in pending {
        let id = store.put_config_bytes(&bytes)?;
        if tags.is_empty() {
            out.push((None, id.clone()));
        }
        for t in tags {
            let t = normalize_ref(&short_name(&t));
            store.tag(&t, &id)?;
            out.push((Some(t), id.clone()));
        }
    }
    Ok(out)
}

/// The archive's `manifest.json` or `index.json`, read inside the unpacked
/// directory only: a symlink there resolves as if the directory were `/`,
/// so one that leads to a host file finds nothing. `None` when absent.
fn entry_point(dir: &Path, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
    match super::inroot::read_in_root(dir, Path::new(name), MAX_JSON) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(dir.join(name)).is_ok() {
                // There is an entry of that name, leading nowhere inside.
                bail!(
                    "{name} of the archive leads outside it (a symlink to a file the archive does not hold): refused"
                );
            }
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| format!("reading {name} of the archive")),
    }
}

fn docker_images(dir: &Path, text: &[u8]) -> anyhow::Result<Vec<Found>> {
    let entries: Vec<DockerManifest> =
        serde_json::from_slice(text).context("manifest.json is not docker's manifest list")?;
    if entries.len() > MAX_BLOBS {
        bail!(
            "manifest.json lists {} images, more than {MAX_BLOBS}: refused",
            entries.len()
        );
    }
    entries
        .into_iter()
        .map(|e| {
            Ok(Found {
                config: inside(dir, &e.config)?,
                layers: e
                    .layers
                    .iter()
                    .map(|l| inside(dir, l))
                    .collect::<anyhow::Result<_>>()?,
                tags: e.repo_tags.unwrap_or_default(),
            })
        })
        .collect()
}

/// The blobs of an OCI layout being read: each verified once (its bytes
/// must hash to its name), and counted against [`MAX_BLOBS`].
struct Blobs<'a> {
    dir: &'a Path,
    verified: std::collections::HashMap<String, PathBuf>,
    followed: usize,
}

impl Blobs<'_> {
    /// Counts `n` more descriptors to follow.
    fn follow(&mut self, n: usize) -> anyhow::Result<()> {
        self.followed += n;
        if self.followed > MAX_BLOBS {
            bail!(
                "the OCI layout names more than {MAX_BLOBS} blobs (indexes, manifests, configs and layers together): refused"
            );
        }
        Ok(())
    }

    /// A blob by digest, verified: its bytes must hash to its name.
    fn path(&mut self, d: &Descriptor) -> anyhow::Result<PathBuf> {
        if let Some(p) = self.verified.get(&d.digest) {
            return Ok(p.clone());
        }
        let hex = d
            .digest
            .strip_prefix("sha256:")
            .ok_or_else(|| anyhow!("unsupported digest {:?}", d.digest))?;
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("malformed digest {:?}", d.digest);
        }
        let path = inside(self.dir, &format!("blobs/sha256/{hex}"))?;
        let got = file_digest(&path)?;
        if got != d.digest {
            bail!(
                "blob {} has content {got}: the layout is damaged or was altered",
                d.digest
            );
        }
        self.verified.insert(d.digest.clone(), path.clone());
        Ok(path)
    }

    /// A manifest or index blob, parsed.
    fn manifest(&mut self, d: &Descriptor) -> anyhow::Result<Manifest> {
        let path = self.path(d)?;
        if std::fs::metadata(&path)?.len() > MAX_JSON {
            bail!(
                "manifest {} is larger than {MAX_JSON} bytes: refused",
                d.digest
            );
        }
        serde_json::from_slice(&std::fs::read(&path)?)
            .with_context(|| format!("manifest {}", d.digest))
    }
}

fn oci_images(dir: &Path, index_text: &[u8]) -> anyhow::Result<Vec<Found>> {
    let index: Manifest =
        serde_json::from_slice(index_text).context("index.json is not an OCI index")?;
    let mut blobs = Blobs {
        dir,
        verified: Default::default(),
        followed: 0,
    };
    blobs.follow(index.manifests.len())?;
    let mut out = Vec::new();
    // (descriptor, name inherited from an index above, indexes above it)
    let mut queue: Vec<(Descriptor, Option<String>, usize)> =
        index.manifests.into_iter().map(|d| (d, None, 0)).collect();
    while let Some((d, inherited, depth)) = queue.pop() {
        let name = d
            .annotations
            .get(CONTAINERD_NAME)
            .cloned()
            .or_else(|| {
                d.annotations
                    .get(REF_NAME)
                    .filter(|r| r.contains(':') || r.contains('/'))
                    .cloned()
            })
            .or(inherited);
        let m = blobs.manifest(&d)?;
        if d.media_type == MEDIA_INDEX || !m.manifests.is_empty() {
            if depth >= MAX_INDEX_DEPTH {
                bail!(
                    "the OCI layout nests indexes more than {MAX_INDEX_DEPTH} deep below index.json (a multi-platform image needs 1): refused"
                );
            }
            // A multi-platform index: only the manifest for this machine.
            let arch = host_architecture();
            let mine: Vec<Descriptor> = m
                .manifests
                .into_iter()
                .filter(|c| {
                    c.platform
                        .as_ref()
                        .is_none_or(|p| p.os == "linux" && p.architecture == arch)
                })
                .collect();
            blobs.follow(mine.len())?;
            queue.extend(mine.into_iter().map(|c| (c, name.clone(), depth + 1)));
            continue;
        }
        let config = m
            .config
            .ok_or_else(|| anyhow!("manifest {} has no config", d.digest))?;
        if m.layers.len() > MAX_LAYERS {
            bail!(
                "manifest {} has {} layers, more than {MAX_LAYERS}: refused",
                d.digest,
                m.layers.len()
            );
        }
        blobs.follow(1 + m.layers.len())?;
        out.push(Found {
            config: blobs.path(&config)?,
            layers: m
                .layers
                .iter()
                .map(|l| blobs.path(l))
                .collect::<anyhow::Result<_>>()?,
            tags: name.into_iter().collect(),
        });
    }
    Ok(out)
}
