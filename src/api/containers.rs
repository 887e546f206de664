//! `/containers/…`: list, inspect, logs, top, stats, changes, export, and
//! the lifecycle (create, start, attach, wait, stop, kill, restart, rm).
//!
//! Each handler finds the container through the engine, calls the same
//! engine function as the CLI verb, and answers in dockerd's shape.

use super::ApiError;
use super::server::Ctx;
use super::stream::{self, MULTIPLEXED, RAW};
use crate::engine::container::{self, Record};
use crate::engine::{EngineError, describe, lifecycle, logs as engine_logs};
use serde_json::{Value, json};
use std::io::Write;
use std::time::Duration;

fn find(ctx: &Ctx, id: &str) -> Result<Record, ApiError> {
    Ok(container::find(ctx.root(), id)?)
}

/// `GET /containers/json?all=&limit=&size=&filters=`.
pub fn list(ctx: &mut Ctx) -> Result<(), ApiError> {
    let root = ctx.root().clone();
    let opts = describe::ListOptions {
        all: ctx.req.flag("all"),
        limit: ctx
            .req
            .q("limit")
            .and_then(|l| l.parse::<i64>().ok())
            .filter(|l| *l > 0)
            .map(|l| l as usize),
        filters: describe::Filters::from_json(ctx.req.q("filters").unwrap_or(""))?,
    };
    let records = describe::list_containers(&root, &opts)?;
    let size = ctx.req.flag("size");
    let out: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut v = describe::container_summary(&root, r);
            if size {
                v["SizeRw"] = json!(describe::size_rw(&root, r));
                v["SizeRootFs"] = json!(describe::size_root_fs(&root, r));
            }
            v
        })
        .collect();
    ctx.json(200, &Value::Array(out))
}

/// `GET /containers/ID/json`.
pub fn inspect(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = find(ctx, id)?;
    let root = ctx.root().clone();
    let mut doc = describe::container_json(&root, &r);
    if ctx.req.flag("size") {
        doc["SizeRw"] = json!(describe::size_rw(&root, &r));
        doc["SizeRootFs"] = json!(describe::size_root_fs(&root, &r));
    }
    ctx.json(200, &doc)
}

/// `GET /containers/ID/top`: docker's `ps -ef` columns.
pub fn top(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = find(ctx, id)?;
    let rows = describe::top(ctx.root(), &r)?;
    let boot = crate::inspect::proc_stat::boot_time_secs().unwrap_or(0);
    let procs: Vec<Value> = rows
        .iter()
        .map(|p| {
            let started = boot + p.start_secs;
            let hm = (started % 86_400) / 60;
            json!([
                p.user,
                p.pid.to_string(),
                p.ppid.to_string(),
                "0",
                format!("{:02}:{:02}", hm / 60, hm % 60),
                "?",
                describe::cpu_time_text(p.cpu_secs),
                p.command
            ])
        })
        .collect();
    ctx.json(
        200,
        &json!({
            "Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
            "Processes": procs,
        }),
    )
}

/// `GET /containers/ID/logs?stdout=&stderr=&follow=&tail=&since=&until=&timestamps=`.
pub fn logs(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = find(ctx, id)?;
    let now = crate::timefmt::now_unix_ns();
    let opts = engine_logs::LogOptions {
        stdout: ctx.req.flag("stdout"),
        stderr: ctx.req.flag("stderr"),
        since: match ctx.req.q("since") {
            Some("0") | Some("") | None => None,
            Some(s) => Some(super::system::parse_time(s, now)?),
        },
        until: match ctx.req.q("until") {
            Some("0") | Some("") | None => None,
            Some(s) => Some(super::system::parse_time(s, now)?),
        },
        tail: engine_logs::parse_tail(ctx.req.q("tail").unwrap_or("all"))
            .map_err(ApiError::bad_request)?,
        follow: ctx.req.flag("follow"),
    };
    if !opts.stdout && !opts.stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let timestamps = ctx.req.flag("timestamps");
    let tty = r.config.tty;
    let root = ctx.root().clone();
    let mut out = ctx.stream(if tty { RAW } else { MULTIPLEXED }, &[])?;
    let probe = out.get_ref().try_clone()?;
    let mut emit = |e: &crate::runtime::logs::Entry| -> std::io::Result<()> {
        let mut data = Vec::new();
        if timestamps {
            data.extend_from_slice(engine_logs::timestamp_prefix(e).as_bytes());
        }
        data.extend_from_slice(e.log.as_bytes());
        if tty {
            out.write_all(&data)
        } else {
            let s = if e.stream == "stderr" {
                stream::STDERR
            } else {
                stream::STDOUT
            };
            stream::write_frame(&mut out, s, &data)
        }
    };
    let alive = || !super::system::peer_gone(&probe);
    engine_logs::read(&root, &r, &opts, &mut emit, &alive)?;
    let _ = out.finish();
    Ok(())
}

/// `GET /containers/ID/changes`: `[{"Path":…,"Kind":0|1|2}]` (modified,
/// added, deleted).
pub fn changes(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = find(ctx, id)?;
    let list: Vec<Value> = describe::changes(ctx.root(), &r)?
        .into_iter()
        .map(|c| {
            let kind = match c.kind {
                'C' => 0,
                'A' => 1,
                _ => 2,
            };
            json!({ "Path": c.path, "Kind": kind })
        })
        .collect();
    ctx.json(200, &Value::Array(list))
}

/// `GET /containers/ID/export`: the container's filesystem as one tar.
pub fn export(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = find(ctx, id)?;
    let root = ctx.root().clone();
    let out = ctx.stream("application/x-tar", &[])?;
    let mut trace = crate::runtime::trace::Trace::default();
    let out = crate::image::export::export(&root, &r.id, out, &mut trace)?;
    let _ = out.finish();
    Ok(())
}

/// `GET /containers/ID/stats?stream=&one-shot=`: one reading a second
/// (each with the one before as `precpu_stats`), or a single one.
pub fn stats(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = find(ctx, id)?;
    let root = ctx.root().clone();
    let streaming = ctx
        .req
        .q("stream")
        .is_none_or(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    let one_shot = ctx.req.flag("one-shot");
    if !streaming {
        let first = describe::stats_sample(&root, &r, None);
        let doc = if one_shot || !r.is_running() {
            first
        } else {
            std::thread::sleep(Duration::from_secs(1));
            describe::stats_sample(&root, &r, Some(&first))
        };
        return ctx.json(200, &doc);
    }
    let mut out = ctx.stream("application/json", &[])?;
    let mut pre: Option<Value> = None;
    loop {
        let r = container::load_by_id(&root, &r.id).unwrap_or_else(|_| r.clone());
        let doc = describe::stats_sample(&root, &r, pre.as_ref());
        let mut line = serde_json::to_vec(&doc).unwrap_or_default();
        line.push(b'\n');
        if out.write_all(&line).is_err() || !r.is_running() {
            let _ = out.finish();
            return Ok(());
        }
        pre = Some(doc);
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `POST /containers/ID/stop?t=&signal=`: 204, or 304 when it was not running.
pub fn stop(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = find(ctx, id)?;
    if !r.is_running() {
        return Err(EngineError::NotModified(format!("Container {} is not running", r.id)).into());
    }
    let timeout = ctx
        .req
        .q("t")
        .and_then(|t| t.parse::<i64>().ok())
        .map(|t| if t < 0 { u64::MAX / 4 } else { t as u64 })
        .unwrap_or(10);
    let signal = ctx
        .req
        .q("signal")
        .filter(|s| !s.is_empty())
        .map(crate::engine::units::parse_signal)
        .transpose()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    lifecycle::stop(ctx.root(), &r.id, Duration::from_secs(timeout), signal)?;
    ctx.empty(204)
}

/// `POST /containers/ID/kill?signal=`.
pub fn kill(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = find(ctx, id)?;
    let sig = crate::engine::units::parse_signal(ctx.req.q("signal").unwrap_or("SIGKILL"))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    lifecycle::kill(ctx.root(), &r.id, sig)?;
    ctx.empty(204)
}

/// `DELETE /containers/ID?force=&v=`.
pub fn remove(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = find(ctx, id)?;
    let record = lifecycle::rm(ctx.root(), &r.id, ctx.req.flag("force"))?;
    if ctx.req.flag("v") {
        crate::engine::volume::remove_anonymous(ctx.root(), &record.record);
    }
    ctx.empty(204)
}

/// `POST /containers/ID/pause` and `/unpause`: 204.
pub fn pause(ctx: &mut Ctx, id: &str, pause: bool) -> Result<(), ApiError> {
    if pause {
        lifecycle::pause(ctx.root(), id)?;
    } else {
        lifecycle::unpause(ctx.root(), id)?;
    }
    ctx.empty(204)
}
