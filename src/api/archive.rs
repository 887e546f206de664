//! `/containers/ID/archive` (`docker cp`): `HEAD` says what is at a path
//! (the `X-Docker-Container-Path-Stat` header: base64 of a JSON stat),
//! `GET` sends it as a tar, `PUT` extracts a tar into a directory. The
//! work is done by a child `glassbox cp-helper` inside the container's
//! filesystem ([`crate::engine::archive`]).

use super::ApiError;
use super::server::Ctx;
use base64::Engine as _;
use std::io::{Read, Write};
use std::process::Stdio;

fn helper_error(stderr: &[u8]) -> ApiError {
    let text = String::from_utf8_lossy(stderr);
    let msg = text
        .lines()
        .last()
        .unwrap_or("")
        .trim_start_matches("glassbox: ")
        .trim_start_matches("Error response from daemon: ")
        .to_string();
    if msg.starts_with("Could not find the file") {
        ApiError::not_found(msg)
    } else if msg.contains("not a directory") {
        ApiError::bad_request(msg)
    } else {
        ApiError::new(500, msg)
    }
}

/// `HEAD`/`GET /containers/ID/archive?path=`.
pub fn get(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let path = ctx.req.q("path").unwrap_or("").to_string();
    if path.is_empty() {
        return Err(ApiError::bad_request("path is required"));
    }
    let root = ctx.root().clone();
    let out = crate::engine::archive::helper(&root, id, "stat", &path)?
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(helper_error(&out.stderr));
    }
    let stat = base64::engine::general_purpose::STANDARD.encode(out.stdout.trim_ascii_end());
    let header = ("X-Docker-Container-Path-Stat", stat);
    if ctx.req.method == "HEAD" {
        return ctx.bytes_with(
            200,
            &[header, ("Content-Type", "application/x-tar".into())],
            b"",
        );
    }
    let mut child = crate::engine::archive::helper(&root, id, "get", &path)?
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut tar = child
        .stdout
        .take()
        .ok_or_else(|| ApiError::new(500, "no pipe"))?;
    let mut w = ctx.stream("application/x-tar", &[header])?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tar.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if w.write_all(&buf[..n]).is_err() {
                    let _ = child.kill();
                    break;
                }
            }
        }
    }
    let _ = child.wait();
    let _ = w.finish();
    Ok(())
}

/// `PUT /containers/ID/archive?path=DIR`: the body is a tar.
pub fn put(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let path = ctx.req.q("path").unwrap_or("").to_string();
    let root = ctx.root().clone();
    let mut child = crate::engine::archive::helper(&root, id, "put", &path)?
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut input) = child.stdin.take() {
        let _ = std::io::copy(&mut ctx.conn.body(), &mut input);
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(helper_error(&out.stderr));
    }
    ctx.empty(200)
}
