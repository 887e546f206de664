//! `glassbox daemon`: the Docker Engine API on a unix socket.
//!
//! The `docker` command is only a client. `docker run` sends HTTP requests
//! to a daemon's socket (`/var/run/docker.sock` for dockerd): `POST
//! /containers/create`, `POST /containers/ID/attach`, `POST
//! /containers/ID/start`, `POST /containers/ID/wait`. Anything that speaks
//! that API can drive containers: the docker CLI, docker's Python SDK,
//! compose, IDE plugins. This module is glassbox's daemon: it serves API
//! version 1.43 (and every older one down to 1.24) on
//! `/run/glassbox/docker.sock`, so `docker -H unix:///run/glassbox/docker.sock
//! run --rm busybox echo hi` runs a glassbox container.
//!
//! The daemon owns nothing. A container's process is kept by its shim (the
//! `glassbox-shim` process that `glassbox start` leaves behind, as
//! containerd-shim keeps runc's), its state is in the data root, and its
//! events are in the root's event log; the daemon reads and writes the same
//! records as the `glassbox` CLI, through the same engine functions, so the
//! two work side by side and the daemon can be restarted at any time without
//! touching a running container (docker's "live restore", by design).
//!
//! Anything that starts a process in a container (`start`, `exec`, `build`)
//! is done by a child `glassbox` process: the daemon answers many clients at
//! once with one thread per connection, and a threaded process must not
//! fork the way a runtime must (only the forking thread survives in the
//! child, and a lock another thread held stays locked forever).

pub mod archive;
pub mod build;
pub mod containers;
pub mod exec;
pub mod http;
pub mod images;
pub mod lifecycle;
pub mod objects;
pub mod server;
pub mod stream;
pub mod system;

pub use server::{DaemonOptions, serve};

/// The API version glassbox speaks (docker 24's).
pub const API_VERSION: &str = "1.43";
/// The oldest version it accepts (dockerd 25's minimum).
pub const MIN_API_VERSION: &str = "1.24";
/// The default socket.
pub const DEFAULT_SOCKET: &str = "/run/glassbox/docker.sock";

/// An API error: a status code and docker's `{"message": …}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, message)
    }
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(409, message)
    }
}

impl From<anyhow::Error> for ApiError {
    /// The engine's typed errors carry their status; anything else is a 500
    /// whose message is the whole chain.
    fn from(e: anyhow::Error) -> ApiError {
        use crate::engine::EngineError;
        use crate::image::StoreError;
        for cause in e.chain() {
            if let Some(err) = cause.downcast_ref::<EngineError>() {
                return ApiError::new(err.status(), err.to_string());
            }
            if let Some(StoreError::NotFound(r)) = cause.downcast_ref::<StoreError>() {
                return ApiError::not_found(format!("No such image: {r}"));
            }
            if let Some(err) = cause.downcast_ref::<crate::engine::describe::FilterError>() {
                return ApiError::bad_request(err.to_string());
            }
        }
        ApiError::new(500, format!("{e:#}"))
    }
}

impl From<crate::engine::EngineError> for ApiError {
    fn from(e: crate::engine::EngineError) -> ApiError {
        ApiError::new(e.status(), e.to_string())
    }
}

impl From<crate::image::StoreError> for ApiError {
    fn from(e: crate::image::StoreError) -> ApiError {
        anyhow::Error::from(e).into()
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> ApiError {
        ApiError::new(500, e.to_string())
    }
}

impl From<crate::engine::describe::FilterError> for ApiError {
    fn from(e: crate::engine::describe::FilterError) -> ApiError {
        ApiError::bad_request(e.0)
    }
}

/// An API version as (major, minor): 1.43 is (1, 43).
pub type ApiVersion = (u32, u32);

/// Parses `1.43` into (1, 43).
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Splits `/v1.43/containers/json` into the version and the route; checks
/// the version against what glassbox serves, in dockerd's words.
pub fn split_version(path: &str) -> Result<(Option<ApiVersion>, &str), ApiError> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok((None, path));
    };
    let (v, route) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let Some(version) = parse_version(v) else {
        return Ok((None, path));
    };
    let max = parse_version(API_VERSION).unwrap_or((1, 43));
    let min = parse_version(MIN_API_VERSION).unwrap_or((1, 24));
    if version > max {
        return Err(ApiError::bad_request(format!(
            "client version {v} is too new. Maximum supported API version is {API_VERSION}"
        )));
    }
    if version < min {
        return Err(ApiError::bad_request(format!(
            "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
        )));
    }
    Ok((Some(version), route))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked_as_dockerd_does() {
        assert_eq!(
            split_version("/v1.43/containers/json").unwrap(),
            (Some((1, 43)), "/containers/json")
        );
        assert_eq!(split_version("/_ping").unwrap(), (None, "/_ping"));
        assert_eq!(
            split_version("/v1.24/info").unwrap(),
            (Some((1, 24)), "/info")
        );
        let e = split_version("/v1.50/info").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(
            e.message,
            "client version 1.50 is too new. Maximum supported API version is 1.43"
        );
        assert!(
            split_version("/v1.12/info")
                .unwrap_err()
                .message
                .contains("too old")
        );
        // A volume named v1 is not a version.
        assert_eq!(split_version("/volumes/v1").unwrap(), (None, "/volumes/v1"));
    }
}
