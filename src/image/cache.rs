//! The build cache: which image a build step made last time, by what made it.
//!
//! docker reuses a step when nothing that could change its result changed.
//! For a step, that is:
//! - the image it starts from (its *parent*, by image ID: the whole chain of
//!   layers and config below it);
//! - the instruction's text (`RUN apt-get install -y curl`);
//! - for RUN, the build arguments (ARG) in effect, which it sees as variables;
//! - for COPY and ADD, a hash of the copied files: their names, contents,
//!   modes and link targets, but *not* their modification times, so touching
//!   a file without changing it keeps the cache.
//!
//! What a RUN downloads is not part of the key: `RUN apt-get update` stays
//! cached forever, a classic surprise. And since the parent is in the key, a
//! miss at one step is a miss for every later step: that is why a Dockerfile
//! copies the rarely changing dependency list and installs it *before* it
//! copies the often changing code.
//!
//! On disk (readable, for topic 14): `buildcache/<key digest>.json`, each
//! holding the key's parts and the image the step produced.

use super::store::{ImageStore, digest, digest_hex};
use crate::util::fs::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What identifies a build step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// The image the step starts from.
    pub parent: String,
    /// The instruction as written, with variables expanded.
    pub instruction: String,
    /// `NAME=value` of the build arguments a RUN sees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_args: Vec<String>,
    /// For COPY/ADD: the digest of the copied files' names, contents and modes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<String>,
}

impl CacheKey {
    /// The key's digest: sha256 of its canonical JSON.
    pub fn digest(&self) -> String {
        digest(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// One cache entry as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheEntry {
    pub key: CacheKey,
    /// The image the step produced.
    pub image: String,
    pub created: String,
}

/// The build cache of one data root.
pub struct BuildCache<'a> {
    store: &'a ImageStore,
}

impl<'a> BuildCache<'a> {
    pub fn new(store: &'a ImageStore) -> Self {
        BuildCache { store }
    }

    fn dir(&self) -> PathBuf {
        self.store.root().join("buildcache")
    }

    fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir()
            .join(format!("{}.json", digest_hex(&key.digest())))
    }

    /// The image a step with this key made before, if it is still whole
    /// (its config and every layer present).
    pub fn lookup(&self, key: &CacheKey) -> Option<String> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        let entry: CacheEntry = serde_json::from_slice(&bytes).ok()?;
        if entry.key != *key {
            return None;
        }
        let config = self.store.config(&entry.image).ok()?;
        config
            .rootfs
            .diff_ids
            .iter()
            .all(|d| self.store.layer_diff(d).is_dir())
            .then_some(entry.image)
    }

    /// Remembers that a step with `key` made `image`.
    pub fn record(&self, key: &CacheKey, image: &str) -> Result<(), super::StoreError> {
        let entry = CacheEntry {
            key: key.clone(),
            image: image.to_string(),
            created: crate::timefmt::rfc3339(crate::timefmt::now_unix_ns()),
        };
        let bytes = serde_json::to_vec_pretty(&entry).unwrap_or_default();
        Ok(write_atomic(&self.path(key), &bytes)?)
    }

    /// Drops the entries whose image is gone; returns how many.
    pub fn prune(&self) -> usize {
        let Ok(rd) = std::fs::read_dir(self.dir()) else {
            return 0;
        };
        let mut n = 0;
        for e in rd.flatten() {
            let keep = std::fs::read(e.path())
                .ok()
                .and_then(|b| serde_json::from_slice::<CacheEntry>(&b).ok())
                .is_some_and(|entry| self.store.config_path(&entry.image).is_file());
            if !keep && std::fs::remove_file(e.path()).is_ok() {
                n += 1;
            }
        }
        n
    }
}
