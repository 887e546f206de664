//! Images over time: parents, `tag`, `rmi`, `history` and `commit`.
//!
//! Images are immutable. A build step, or a `commit`, never changes an image:
//! it makes a new one whose config lists the parent's layers plus (for RUN,
//! COPY, ADD and commit) one more, and whose history has one more line. The
//! layers below are shared, byte for byte: their diff_ids do not change. Each
//! image remembers its parent (`images/metadata/<id>/parent`, as docker's
//! image store does), which is how `history` can name the image made at each
//! step and how `rmi` knows which untagged intermediate images go with it.
//!
//! `rmi` refuses while a container (running or not) uses the image, in
//! docker's words: the container's root filesystem is those layers. `rmi -f`
//! of an image in use only untags it; the image and its layers stay while a
//! container uses them. Otherwise it removes the tag, then the image and its
//! untagged ancestors that no other image or container needs, then every
//! layer no remaining image or container uses. A container counts as a user
//! of every layer its record lists *and* every layer its journal names (so a
//! container whose record cannot be read still keeps its layers). It all
//! happens with the data root held alone (`engine::lock`), so no `run` is
//! between resolving an image and recording that it uses it.

use super::cache::BuildCache;
use super::diff::{TreeKind, placeholders, write_tree_tar};
use super::import::{TempDir, import_layer_file, short};
use super::store::{History, ImageConfig, ImageStore, digest_hex, normalize_ref};
use crate::engine::container::{self, Paths};
use crate::engine::{DataRoot, EngineError};
use crate::runtime::journal::{Journal, Object};
use crate::runtime::trace::{Trace, now_ns};
use crate::timefmt;
use crate::util::fs::write_atomic;
use anyhow::Context;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn metadata_dir(store: &ImageStore, id: &str) -> PathBuf {
    store
        .root()
        .join("images")
        .join("metadata")
        .join(digest_hex(id))
}

/// Records that `child` was made from `parent`.
pub fn set_parent(store: &ImageStore, child: &str, parent: &str) -> anyhow::Result<()> {
    if parent.is_empty() {
        return Ok(());
    }
    write_atomic(
        &metadata_dir(store, child).join("parent"),
        parent.as_bytes(),
    )?;
    Ok(())
}

/// The image `id` was made from, if known.
pub fn parent(store: &ImageStore, id: &str) -> Option<String> {
    std::fs::read_to_string(metadata_dir(store, id).join("parent"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Every image ID in the store.
pub fn all_images(store: &ImageStore) -> Vec<String> {
    let dir = store.root().join("images").join("configs");
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.strip_suffix(".json").map(|h| format!("sha256:{h}"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Images with no tag that no other image was built on (docker's "dangling"
/// images, listed as `<none>`), oldest ID first.
pub fn dangling(
    store: &ImageStore,
    tags: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let all = all_images(store);
    let parents: BTreeSet<String> = all.iter().filter_map(|i| parent(store, i)).collect();
    let mut out: Vec<String> = all
        .into_iter()
        .filter(|i| !parents.contains(i) && !tags.values().any(|v| v == i))
        .collect();
    out.sort();
    out
}

/// `glassbox tag SOURCE TARGET`.
pub fn tag(root: &DataRoot, source: &str, target: &str) -> anyhow::Result<()> {
    // docker's grammar, before anything else: a refused name makes nothing.
    let r = super::reference::parse_tag_target(target)?;
    let store = root.images();
    let (id, _) = store.resolve(source)?;
    store.tag(&r, &id)?;
    Ok(())
}

/// A container, as `rmi` sees it: the image it was made from and the
/// layers it stacks (from its record and from its journal).
struct User {
    record: container::Record,
    layers: BTreeSet<String>,
}

/// Every container of the root with the layers it uses.
fn users(root: &DataRoot) -> anyhow::Result<Vec<User>> {
    let layer_of = |p: &std::path::Path| {
        p.parent()
            .and_then(|l| l.file_name())
            .map(|h| h.to_string_lossy().into_owned())
    };
    Ok(container::list(root)?
        .into_iter()
        .map(|record| {
            let mut layers: BTreeSet<String> = record
                .lower_dirs
                .iter()
                .filter_map(|l| layer_of(l))
                .collect();
            let journal = Paths::new(root, &record.id).journal();
            for o in Journal::objects(&journal).unwrap_or_default() {
                if let Object::Layer(dir) = o
                    && let Some(h) = layer_of(&dir)
                {
                    layers.insert(h);
                }
            }
            User { record, layers }
        })
        .collect())
}

impl User {
    /// Does this container use image `id` (whose layers are `layers`)?
    fn uses(&self, id: &str, layers: &[String]) -> bool {
        self.record.image_id == id
            || (self.record.image_id.is_empty()
                && layers.iter().any(|l| self.layers.contains(digest_hex(l))))
    }
}

/// `glassbox import` / `docker import`: a root filesystem tar (plain or
/// gzip'd, from a file or a request body) becomes an image of one layer,
/// as docker's import makes it: no command, no environment (a `run` must
/// name the command), history "Imported from SOURCE". The tar goes through
/// the same checks as any layer (no `..`, no absolute names, no devices).
/// Returns the image ID.
pub fn import(
    root: &DataRoot,
    reader: impl std::io::Read,
    reference: Option<&str>,
    message: &str,
    source: &str,
) -> anyhow::Result<String> {
    use std::io::BufRead;
    if let Some(r) = reference {
        // Refused before the layer is read, not after.
        super::reference::parse_tag_target(r)?;
    }
    // The layer is stored before the config that names it: rmi waits.
    let _lock = root.lock_shared()?;
    let store = root.images();
    let mut reader = std::io::BufReader::new(reader);
    let gzip = reader
        .fill_buf()
        .context("reading the archive")?
        .starts_with(&[0x1f, 0x8b]);
    let diff_id = if gzip {
        super::import::import_layer(&store, flate2::read::GzDecoder::new(reader))?
    } else {
        super::import::import_layer(&store, reader)?
    };
    let created = Some(timefmt::rfc3339(timefmt::now_unix_ns()));
    let config = ImageConfig {
        created: created.clone(),
        architecture: super::archive::host_architecture(),
        os: "linux".into(),
        config: Default::default(),
        rootfs: super::store::RootFs {
            typ: "layers".into(),
            diff_ids: vec![diff_id],
        },
        history: vec![History {
            created,
            created_by: String::new(),
            empty_layer: false,
            comment: if message.is_empty() {
                format!("Imported from {source}")
            } else {
                message.to_string()
            },
        }],
    };
    let id = store.put_config(&config)?;
    if let Some(r) = reference {
        tag(root, &id, r)?;
    }
    Ok(id)
}

/// `glassbox rmi IMAGE`: returns docker's lines (`Untagged: …`, `Deleted: …`).
pub fn rmi(root: &DataRoot, reference: &str, force: bool) -> anyhow::Result<Vec<String>> {
    crate::engine::require_root("glassbox rmi")?;
    // Alone: no run is between resolving this image and recording that it uses it.
    let _root_lock = root.lock_exclusive()?;
    let store = root.images();
    let (id, config) = store.resolve(reference)?;
    let users = users(root)?;
    let using: Vec<&User> = users
        .iter()
        .filter(|u| u.uses(&id, &config.rootfs.diff_ids))
        .collect();
    let _lock = store.lock()?;
    let mut tags = store.tags()?;
    let named = normalize_ref(reference);
    let holders: Vec<String> = tags
        .iter()
        .filter(|(_, v)| **v == id)
        .map(|(k, _)| k.clone())
        .collect();
    let by_tag = tags.get(&named) == Some(&id);
    let mut lines = Vec::new();
    // One tag of several: only that tag goes, whoever uses the image.
    if by_tag && holders.len() > 1 {
        tags.remove(&named);
        store.write_tags(&tags)?;
        return Ok(vec![format!("Untagged: {named}")]);
    }
    if let Some(user) = using.first() {
        let c = &user.record;
        let cname = if c.name.is_empty() {
            String::new()
        } else {
            format!(
                " (container {}: remove it first with `glassbox rm -f {}`",
                c.name, c.name
            )
        };
        if by_tag && !force {
            return Err(EngineError::Conflict(format!(
                "conflict: unable to remove repository reference \"{reference}\" (must force) - container {} is using its referenced image {}{}",
                c.short_id(),
                short(&id),
                if cname.is_empty() {
                    String::new()
                } else {
                    format!("{cname}, or untag it with `glassbox rmi -f {reference}`)")
                }
            )).into());
        }
        if !by_tag && c.is_running() {
            return Err(EngineError::Conflict(format!(
                "conflict: unable to delete {} (cannot be forced) - image is being used by running container {}{}",
                short(&id),
                c.short_id(),
                if cname.is_empty() {
                    String::new()
                } else {
                    format!("{cname})")
                }
            )).into());
        }
        if !by_tag && !force {
            return Err(EngineError::Conflict(format!(
                "conflict: unable to delete {} (must be forced) - image is being used by stopped container {}{}",
                short(&id),
                c.short_id(),
                if cname.is_empty() {
                    String::new()
                } else {
                    format!("{cname})")
                }
            )).into());
        }
        // Forced: the tags go; the image and its layers stay while it is used.
        for h in holders {
            tags.remove(&h);
            lines.push(format!("Untagged: {h}"));
        }
        store.write_tags(&tags)?;
        return Ok(lines);
    }
    if by_tag {
        tags.remove(&named);
        lines.push(format!("Untagged: {named}"));
    } else {
        if holders.len() > 1 && !force {
            return Err(EngineError::Conflict(format!(
                "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories ({}); remove the tags one by one or use -f",
                short(&id),
                holders.join(", ")
            )).into());
        }
        for h in holders {
            tags.remove(&h);
            lines.push(format!("Untagged: {h}"));
        }
    }
    store.write_tags(&tags)?;

    // What must stay: every tagged image, every container's, and their ancestors.
    let mut live: BTreeSet<String> = BTreeSet::new();
    let roots = tags
        .values()
        .cloned()
        .chain(users.iter().map(|u| u.record.image_id.clone()))
        .filter(|i| !i.is_empty());
    for r in roots {
        let mut cur = Some(r);
        while let Some(i) = cur {
            if !live.insert(i.clone()) {
                break;
            }
            cur = parent(&store, &i);
        }
    }
    let children = |i: &str| {
        all_images(&store)
            .into_iter()
            .filter(|c| c != i && parent(&store, c).as_deref() == Some(i))
            .count()
    };
    if lines.is_empty() && children(&id) > 0 {
        return Err(EngineError::Conflict(format!(
            "conflict: unable to delete {} (cannot be forced) - image has dependent child images (it is a step of a build; remove the images built on it first)",
            short(&id)
        )).into());
    }
    // Remove the image, then its untagged ancestors, up to the first needed one.
    let mut cur = Some(id);
    while let Some(i) = cur {
        if live.contains(&i) {
            break;
        }
        // Another image built on this one keeps it (docker: "image has dependent child images").
        if children(&i) > 0 {
            break;
        }
        let next = parent(&store, &i);
        let path = store.config_path(&i);
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        let _ = std::fs::remove_dir_all(metadata_dir(&store, &i));
        let _ = std::fs::remove_file(
            root.path
                .join("builds")
                .join(format!("{}.json", digest_hex(&i))),
        );
        lines.push(format!("Deleted: {i}"));
        cur = next;
    }
    BuildCache::new(&store).prune();
    for layer in unused_layers(&store, &users) {
        let dir = store.layer_dir(&layer);
        if std::fs::remove_dir_all(&dir).is_ok() {
            lines.push(format!("Deleted layer: {layer}"));
        }
    }
    Ok(lines)
}

/// Layers that no stored image config and no container uses.
fn unused_layers(store: &ImageStore, users: &[User]) -> Vec<String> {
    let mut used: BTreeSet<String> = BTreeSet::new();
    for id in all_images(store) {
        if let Ok(c) = store.config(&id) {
            used.extend(c.rootfs.diff_ids.iter().map(|d| digest_hex(d).to_string()));
        }
    }
    for u in users {
        used.extend(u.layers.iter().cloned());
    }
    let dir = store.root().join("layers");
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.') && !used.contains(n))
                .map(|n| format!("sha256:{n}"))
                .collect()
        })
        .unwrap_or_default()
}

/// One row of `history`, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    /// The image made by this step, where known (`<missing>` otherwise, as docker).
    pub image: Option<String>,
    pub created: Option<String>,
    pub created_by: String,
    /// Size of the step's layer (0 for steps that add none).
    pub size: u64,
    pub empty_layer: bool,
    pub comment: String,
}

/// `glassbox history IMAGE`: one row per history entry, newest first.
pub fn history(store: &ImageStore, reference: &str) -> anyhow::Result<Vec<HistoryRow>> {
    let (id, config) = store.resolve(reference)?;
    // Each image in the parent chain was made by its own last history entry.
    let mut by_len: std::collections::HashMap<usize, String> = Default::default();
    let mut cur = Some(id);
    while let Some(i) = cur {
        if let Ok(c) = store.config(&i) {
            by_len.entry(c.history.len()).or_insert(i.clone());
        }
        cur = parent(store, &i);
    }
    let mut layers = config.rootfs.diff_ids.iter();
    let mut rows = Vec::new();
    for (n, h) in config.history.iter().enumerate() {
        let size = if h.empty_layer {
            0
        } else {
            layers.next().map(|d| store.layer_size(d)).unwrap_or(0)
        };
        rows.push(HistoryRow {
            image: by_len.get(&(n + 1)).cloned(),
            created: h.created.clone(),
            created_by: h.created_by.clone(),
            size,
            empty_layer: h.empty_layer,
            comment: h.comment.clone(),
        });
    }
    rows.reverse();
    Ok(rows)
}

/// Makes a layer from a container's upper directory (`commit`, a RUN step),
/// leaving out the runtime's mount points; returns its diff_id. Steps
/// `archive_upper_dir` and `import_layer`.
pub fn layer_from_container(
    store: &ImageStore,
    root: &DataRoot,
    record: &container::Record,
    trace: &mut Trace,
) -> anyhow::Result<String> {
    let paths = Paths::new(root, &record.id);
    let upper = paths.upper();
    let skip = placeholders(paths.bundle(), &upper, &record.lower_dirs);
    let t = now_ns();
    let tmp = TempDir::new(&store.root().join("tmp"), "layer")?;
    let tar_path = tmp.path.join("layer.tar");
    let file = std::fs::File::create(&tar_path)
        .with_context(|| format!("creating {}", tar_path.display()))?;
    let w = write_tree_tar(
        &upper,
        std::io::BufWriter::new(file),
        TreeKind::Upper,
        &skip,
    )
    .with_context(|| format!("archiving {}", upper.display()))?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    trace.step(
        "engine",
        t,
        "archive_upper_dir",
        format!(
            "tar {} (0/0 devices as .wh.NAME, opaque dirs as .wh..wh..opq; {} mount points left out) > {}",
            upper.display(),
            skip.len(),
            tar_path.display()
        ),
    );
    let t = now_ns();
    let imported = import_layer_file(store, &tar_path)?;
    trace.step("engine", t, "import_layer", imported.describe(store));
    Ok(imported.diff_id)
}

/// `glassbox commit CONTAINER REPO[:TAG]`: the container's upper dir becomes
/// one new layer on top of its image's; returns the new image ID. A running
/// container is frozen while its upper dir is read, as docker's commit
/// pauses it (`pause`; `--pause=false` reads it while it runs). Either way
/// the walk goes by file descriptor and never follows a symlink.
pub fn commit(
    root: &DataRoot,
    name: &str,
    reference: Option<&str>,
    comment: &str,
    pause: bool,
) -> anyhow::Result<String> {
    crate::engine::require_root("glassbox commit")?;
    if let Some(r) = reference {
        // Refused before the layer is made, not after.
        super::reference::parse_tag_target(r)?;
    }
    // The new layer is stored before the config that names it: rmi waits.
    let _lock = root.lock_shared()?;
    let record = container::find(root, name)?;
    let store = root.images();
    let parent_config = store.config(&record.image_id)?;
    let mut trace = Trace::default();
    let diff_id = if pause && record.is_running() {
        crate::engine::lifecycle::while_frozen(root, &record, &mut trace, |trace| {
            layer_from_container(&store, root, &record, trace)
        })?
    } else {
        layer_from_container(&store, root, &record, &mut trace)?
    };
    let created = Some(timefmt::rfc3339(timefmt::now_unix_ns()));
    let mut config: ImageConfig = parent_config;
    config.created = created.clone();
    config.rootfs.diff_ids.push(diff_id);
    let command: Vec<String> = std::iter::once(record.path.clone())
        .chain(record.args.iter().cloned())
        .collect();
    config.history.push(History {
        created,
        created_by: command.join(" "),
        empty_layer: false,
        comment: if comment.is_empty() {
            format!("glassbox commit {}", record.name)
        } else {
            comment.to_string()
        },
    });
    let id = store.put_config(&config)?;
    set_parent(&store, &id, &record.image_id)?;
    if let Some(r) = reference {
        tag(root, &id, r)?;
    }
    Ok(id)
}
