//! Small helpers every layer shares, knowing nothing of glassbox's own types:
//! writing a file atomically and making root-only directories ([`fs`]), hex
//! and random ids, sizes for people ([`text`]), one plain HTTP GET
//! ([`http`]), the data root's flock ([`lock`]), printing that a closed
//! pipe does not panic ([`out`]). They sit below the runtime,
//! the engine, the image store, the lab and the CLI, so any of those can use
//! them without an import cycle.

pub mod fs;
pub mod http;
pub mod lock;
pub mod out;
pub mod text;
