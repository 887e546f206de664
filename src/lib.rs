//! glassbox: a terminal lab that teaches how containers work by running real ones.
//!
//! The crate is layered as ARCHITECTURE.md draws it, each layer using only
//! those below:
//! - [`cli`] is docker's command line (`main.rs` only calls [`cli::main`]);
//!   [`api`] is docker's Engine API (`glassbox daemon`), beside it: both are
//!   clients of the engine, neither imports the other;
//! - [`lab`] holds the lessons, their demos, the sampler and the runner's
//!   threads; [`tui`] draws them; [`exercises`] grades against the kernel;
//! - [`engine`] keeps container state and drives the runtime; [`image`] keeps
//!   the layer store (its builder, commit and export run containers through
//!   the engine, above it);
//! - [`runtime`] turns one OCI bundle into a sandboxed process (namespaces,
//!   rootfs, cgroups, security) and journals every kernel object it makes;
//! - [`inspect`] reads what the kernel says about a process (pure parsers on
//!   procfs-core, thin readers);
//! - [`verbs`], [`util`] and [`timefmt`] are shared by all of them.

// serde_json's json! of the API's inspect documents nests deeper than 128.
#![recursion_limit = "256"]

pub mod api;
pub mod cli;
pub mod engine;
pub mod exercises;
pub mod image;
pub mod inspect;
pub mod lab;
pub mod runtime;
pub mod timefmt;
pub mod tui;
pub mod util;
pub mod verbs;
