//! glassbox: a terminal lab that teaches how containers work by running real ones.
//!
//! The crate is layered as the design describes:
//! - [`runtime`] turns one OCI bundle into a sandboxed process (namespaces, rootfs,
//!   cgroups, security) and records every kernel object it makes in a journal;
//! - [`engine`] keeps images and container state and drives the runtime;
//! - [`inspect`] reads what the kernel says about a process (pure parsers + thin readers);
//! - [`lab`] holds the lessons, their demos and the sampler; [`tui`] draws them;
//! - `main.rs` is the CLI glue.

pub mod cli;
pub mod engine;
pub mod exercises;
pub mod image;
pub mod inspect;
pub mod lab;
pub mod runtime;
pub mod timefmt;
pub mod tui;
