//! `POST /build` (`docker build` with the classic builder): the body is the
//! build context as a tar; it is unpacked under the data root's `tmp/` and
//! built by a child `glassbox build` (its RUN steps start containers, which
//! the daemon never forks itself). Each line the builder prints goes to the
//! client as docker's progress object `{"stream": "Step 1/3 : FROM busybox\n"}`;
//! a failure is `{"error": …, "errorDetail": {"message": …}}`.

use super::ApiError;
use super::server::Ctx;
use serde_json::json;
use std::io::{BufRead, Write};
use std::process::Stdio;

pub fn build(ctx: &mut Ctx) -> Result<(), ApiError> {
    if ctx.req.q("remote").is_some_and(|r| !r.is_empty()) {
        return Err(ApiError::bad_request(
            "glassbox builds from a context sent in the request (docker build DIR), not from a remote URL",
        ));
    }
    let root = ctx.root().clone();
    let tmp = crate::image::import::TempDir::new(&root.path.join("tmp"), "build-context")?;
    let context = tmp.path.join("context");
    std::fs::create_dir_all(&context)?;
    let gz = ctx
        .req
        .header("Content-Type")
        .is_some_and(|t| t.contains("gzip"));
    let body: Box<dyn std::io::Read + '_> = if gz {
        Box::new(flate2::read::GzDecoder::new(ctx.conn.body()))
    } else {
        Box::new(ctx.conn.body())
    };
    crate::image::import::extract(body, &context, crate::image::import::Target::Plain)
        .map_err(|e| ApiError::bad_request(format!("the build context is not a valid tar: {e}")))?;
    let mut cmd = std::process::Command::new(&ctx.daemon.exe);
    cmd.arg("--root").arg(&root.path).arg("build");
    for t in ctx.req.q_all("t") {
        cmd.arg("-t").arg(t);
    }
    if let Some(f) = ctx.req.q("dockerfile").filter(|f| !f.is_empty()) {
        cmd.arg("-f").arg(context.join(f));
    }
    if ctx.req.flag("nocache") {
        cmd.arg("--no-cache");
    }
    if let Some(args) = ctx.req.q("buildargs").filter(|a| !a.is_empty()) {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(args)
            .map_err(|e| ApiError::bad_request(format!("buildargs: {e}")))?;
        for (k, v) in map {
            cmd.arg("--build-arg")
                .arg(format!("{k}={}", v.as_str().unwrap_or("")));
        }
    }
    cmd.arg(&context)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| ApiError::new(500, "no pipe"))?;
    // `docker build -q` (q=1): the steps are kept back and only the image
    // ID goes out (the CLI prints what the stream says); a failed build
    // still sends them, for the CLI to show with the error.
    let quiet = ctx.req.flag("q");
    let mut out = ctx.stream("application/json", &[])?;
    let mut built = None;
    let mut held = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(id) = line.strip_prefix("Successfully built ") {
            built = Some(id.trim().to_string());
        }
        let message = format!("{}\n", json!({ "stream": format!("{line}\n") }));
        if quiet {
            held.push(message);
        } else {
            let _ = out.write_all(message.as_bytes());
        }
    }
    let result = child.wait_with_output()?;
    if !result.status.success() {
        for m in &held {
            let _ = out.write_all(m.as_bytes());
        }
        let text = String::from_utf8_lossy(&result.stderr);
        let msg = text
            .lines()
            .last()
            .unwrap_or("the build failed")
            .trim_start_matches("glassbox: ")
            .to_string();
        let _ = out.write_all(
            format!(
                "{}\n",
                json!({ "errorDetail": { "message": msg }, "error": msg })
            )
            .as_bytes(),
        );
    } else if let Some(short) = built
        && let Ok((id, _)) = root.images().resolve(&short)
    {
        if quiet {
            let _ =
                out.write_all(format!("{}\n", json!({ "stream": format!("{id}\n") })).as_bytes());
        }
        let _ = out.write_all(format!("{}\n", json!({ "aux": { "ID": id } })).as_bytes());
    }
    let _ = out.finish();
    Ok(())
}
