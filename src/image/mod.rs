//! Images: read-only layers plus a config, kept content-addressed on disk.
//!
//! An image is an ordered list of filesystem layers and a small JSON config
//! (the default command, environment, working directory, and the history of
//! how it was built). Each layer is a tar of the files that step added, changed
//! or deleted; it is named by the sha256 of that uncompressed tar, its
//! *diff_id*, so two images that share a layer store it once. The image itself
//! is named by the sha256 of its config, its *image ID*. A container runs on
//! the layers stacked by overlayfs, read-only, with its own writable layer on
//! top — which is why a container never changes its image.
//!
//! Layout under the data root (what topic 14 explores):
//! ```text
//! images/repositories.json          name:tag -> sha256:<image id>
//! images/configs/<image id>.json    the OCI image config
//! images/metadata/<image id>/parent the image it was built from (build step, commit)
//! layers/<diff_id>/layer.tar        the layer as a tar (OCI whiteouts: .wh.NAME)
//! layers/<diff_id>/diff/            the same files, extracted: an overlay lowerdir
//!                                   (whiteouts as 0/0 devices, opaque-dir xattrs)
//! layers/<diff_id>/size             bytes of content (files, link targets): history's SIZE
//! buildcache/<key digest>.json      build cache: parent + instruction (+ files) -> image
//! builds/<image id>.json            the last build of that image: steps, cache hits, times, trace
//! containers/<id>/upper/            a container's own writable layer (`diff`, `commit`)
//! tmp/                              layers and archives being made (renamed when complete)
//! ```
//!
//! The modules, in the order an image lives: [`dockerfile`] parses, [`context`]
//! and [`copy`] gather files, [`builder`] runs the steps with [`cache`],
//! [`diff`] turns a container's upper dir into a layer, [`import`] takes any
//! layer tar in safely, [`manage`] tags, removes, commits and lists history,
//! [`archive`] saves and loads, [`export`] flattens a container. Two guards
//! sit beside them: [`reference`](mod@reference) checks a name against docker's grammar
//! before anything is called by it, and [`inroot`] reads trees a container
//! or an image's author controls without being led out of them ([`accounts`]
//! then finds a user or group in the image's /etc/passwd and /etc/group).

pub mod accounts;
pub mod archive;
pub mod builder;
pub mod busybox;
pub mod cache;
pub mod context;
pub mod copy;
pub mod diff;
pub mod dockerfile;
pub mod export;
pub mod import;
pub mod inroot;
pub mod manage;
pub mod reference;
pub mod store;

pub use store::{ImageConfig, ImageStore, StoreError};
