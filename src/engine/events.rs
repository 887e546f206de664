//! The engine's event log: what happened to containers, images and volumes.
//!
//! docker keeps events in the daemon's memory and sends them to whoever
//! listens on `GET /events`. glassbox has no process that lives as long as
//! the containers (the CLI, the shims and the daemon come and go), so each
//! of them appends the event where it happens (`create` and `start` where the
//! container is made, `die` in the shim that saw the exit, `destroy` in `rm`)
//! to `<root>/events.jsonl`, one JSON object per line in docker's shape:
//! `{"Type":"container","Action":"die","Actor":{"ID":…,"Attributes":{…}},
//! "scope":"local","time":…,"timeNano":…}`. `GET /events` reads the past
//! from the file and then follows it. An append of one short line with
//! `O_APPEND` lands whole, whichever process writes it.

use super::DataRoot;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// Past this size the file is moved to `events.jsonl.1` (one generation
/// kept), as a bounded buffer like dockerd's 256 events in memory.
const MAX_BYTES: u64 = 4 << 20;

pub fn path(root: &DataRoot) -> PathBuf {
    root.path.join("events.jsonl")
}

/// Appends one event; an event that cannot be written is dropped (an event
/// log never fails the action it records).
pub fn record(root: &DataRoot, typ: &str, action: &str, id: &str, attrs: &[(&str, &str)]) {
    let now = crate::timefmt::now_unix_ns();
    let attributes: BTreeMap<&str, &str> = attrs.iter().copied().collect();
    let mut event = json!({
        "Type": typ,
        "Action": action,
        "Actor": { "ID": id, "Attributes": attributes },
        "scope": "local",
        "time": now / 1_000_000_000,
        "timeNano": now,
    });
    // API 1.21 and older clients read these three.
    if typ == "container" {
        event["status"] = json!(action);
        event["id"] = json!(id);
        if let Some(image) = attributes.get("image") {
            event["from"] = json!(image);
        }
    }
    let file = path(root);
    if std::fs::metadata(&file).is_ok_and(|m| m.len() > MAX_BYTES) {
        let _ = std::fs::rename(&file, root.path.join("events.jsonl.1"));
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&file)
        && let Ok(mut line) = serde_json::to_vec(&event)
    {
        line.push(b'\n');
        let _ = f.write_all(&line);
    }
}

/// A container event with docker's attributes (`name`, `image`, and any extra).
pub fn container(
    root: &DataRoot,
    action: &str,
    c: &super::container::Record,
    extra: &[(&str, &str)],
) {
    let mut attrs: Vec<(&str, &str)> = vec![("name", c.name.as_str()), ("image", c.image.as_str())];
    attrs.extend_from_slice(extra);
    for (k, v) in &c.config.labels {
        attrs.push((k.as_str(), v.as_str()));
    }
    record(root, "container", action, &c.id, &attrs);
}

/// Reads events from `offset` on; returns them and the offset after the
/// last complete line (a line still being written is read next time).
pub fn read_from(root: &DataRoot, offset: u64) -> (Vec<Value>, u64) {
    let Ok(mut f) = std::fs::File::open(path(root)) else {
        return (Vec::new(), 0);
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    // The file was rotated: start again from its beginning.
    let offset = if offset > len { 0 } else { offset };
    if f.seek(std::io::SeekFrom::Start(offset)).is_err() {
        return (Vec::new(), offset);
    }
    let mut reader = std::io::BufReader::new(f);
    let mut out = Vec::new();
    let mut pos = offset;
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(n) if line.ends_with(b"\n") => {
                pos += n as u64;
                if let Ok(v) = serde_json::from_slice(&line) {
                    out.push(v);
                }
            }
            Ok(_) => break,
        }
    }
    (out, pos)
}

/// The size of the file now: where a follower starts reading new events.
pub fn end(root: &DataRoot) -> u64 {
    std::fs::metadata(path(root)).map(|m| m.len()).unwrap_or(0)
}

/// docker's event filters: `type`, `event` (action), `container` (ID or
/// name), `image`, `volume`, `label`. Names ANDed, values ORed.
pub fn matches(event: &Value, filters: &super::describe::Filters) -> bool {
    let typ = event["Type"].as_str().unwrap_or("");
    let action = event["Action"].as_str().unwrap_or("");
    let id = event["Actor"]["ID"].as_str().unwrap_or("");
    let attr = |k: &str| event["Actor"]["Attributes"][k].as_str().unwrap_or("");
    filters.0.iter().all(|(name, values)| {
        values.iter().any(|v| match name.as_str() {
            "type" => typ == v,
            "event" => action == v || action.starts_with(&format!("{v}:")),
            "container" => typ == "container" && (id.starts_with(v.as_str()) || attr("name") == v),
            "image" => attr("image") == v || (typ == "image" && (id == v || attr("name") == v)),
            "volume" => typ == "volume" && id == v,
            "network" => typ == "network" && (id == v || attr("name") == v),
            "label" => match v.split_once('=') {
                Some((k, val)) => attr(k) == val,
                None => !attr(v).is_empty(),
            },
            _ => false,
        })
    })
}
