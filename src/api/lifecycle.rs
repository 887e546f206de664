//! The container lifecycle through the API: create, start, attach, wait,
//! restart, resize, rename.
//!
//! `docker run busybox echo hi` is five requests: `create` (the record, no
//! process yet), `attach` (the connection is hijacked and will carry the
//! output), `wait?condition=next-exit` (registered before the start, so the
//! exit cannot be missed), `start`, and, after the output ends, the wait's
//! answer with the exit code. `start` is done by a child `glassbox start`,
//! which leaves the container under its own shim and exits; the attach
//! connections are spliced to the shim's attach socket.

use super::ApiError;
use super::server::Ctx;
use super::stream::{MULTIPLEXED, RAW};
use crate::engine::container::{self, RunConfig};
use crate::engine::run::RunOptions;
use crate::engine::{EngineError, wait};
use crate::runtime::attach::{self, Streams};
use crate::runtime::network::ports::PortMapping;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::time::Duration;

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or("").to_string()
}

/// docker's create body (`Config` with `HostConfig` inside) as the engine's
/// options; what glassbox cannot do is refused, not ignored.
pub fn run_options(
    root: &crate::engine::DataRoot,
    b: &Value,
    name: Option<String>,
) -> Result<RunOptions, ApiError> {
    let image = text(&b["Image"]);
    if image.is_empty() {
        return Err(ApiError::bad_request("No image specified"));
    }
    let hc = &b["HostConfig"];
    let mut publish = Vec::new();
    if let Value::Object(map) = &hc["PortBindings"] {
        for (port, binds) in map {
            let (ctr, proto) = port.split_once('/').unwrap_or((port, "tcp"));
            for bind in binds.as_array().into_iter().flatten() {
                let ip = text(&bind["HostIp"]);
                let hp = text(&bind["HostPort"]);
                let spec = match (ip.as_str(), hp.as_str()) {
                    ("" | "0.0.0.0", "") => format!("{ctr}/{proto}"),
                    ("" | "0.0.0.0", h) => format!("{h}:{ctr}/{proto}"),
                    (i, h) => format!("{i}:{h}:{ctr}/{proto}"),
                };
                publish.push(
                    PortMapping::parse(&spec).map_err(|e| ApiError::bad_request(e.to_string()))?,
                );
            }
        }
    }
    let mut volumes = Vec::new();
    for bind in strings(&hc["Binds"]) {
        volumes.push(
            crate::engine::volume::parse_spec(root, &bind)
                .map_err(|e| ApiError::bad_request(format!("{e:#}")))?,
        );
    }
    for m in hc["Mounts"].as_array().into_iter().flatten() {
        let spec = format!(
            "{}:{}{}",
            text(&m["Source"]),
            text(&m["Target"]),
            if m["ReadOnly"].as_bool() == Some(true) {
                ":ro"
            } else {
                ""
            }
        );
        match text(&m["Type"]).as_str() {
            "bind" | "volume" => volumes.push(
                crate::engine::volume::parse_spec(root, &spec)
                    .map_err(|e| ApiError::bad_request(format!("{e:#}")))?,
            ),
            other => {
                return Err(ApiError::bad_request(format!(
                    "mount type {other:?} is not available in glassbox: bind and volume are"
                )));
            }
        }
    }
    // Config.Volumes: `docker run -v /path` (no source) is an anonymous volume.
    if let Value::Object(map) = &b["Volumes"] {
        for dest in map.keys() {
            if !volumes.iter().any(|(_, d, _)| d == dest) {
                volumes.push(
                    crate::engine::volume::parse_spec(root, dest)
                        .map_err(|e| ApiError::bad_request(format!("{e:#}")))?,
                );
            }
        }
    }
    let network = match text(&hc["NetworkMode"]).as_str() {
        "" | "default" | "bridge" => "bridge".to_string(),
        "host" => "host".into(),
        "none" => "none".into(),
        other => {
            return Err(EngineError::NoSuchNetwork(other.to_string()).into());
        }
    };
    let memory = hc["Memory"].as_i64().filter(|m| *m > 0);
    let nano = hc["NanoCpus"].as_i64().filter(|n| *n > 0);
    let cpu_quota = match (nano, hc["CpuQuota"].as_i64().filter(|q| *q > 0)) {
        (Some(n), _) => Some((n / 10_000, 100_000u64)),
        (None, Some(q)) => Some((
            q,
            hc["CpuPeriod"]
                .as_u64()
                .filter(|p| *p > 0)
                .unwrap_or(100_000),
        )),
        _ => None,
    };
    let pids_limit = hc["PidsLimit"].as_i64().filter(|p| *p != 0);
    let labels = match &b["Labels"] {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        _ => Default::default(),
    };
    let entrypoint = match &b["Entrypoint"] {
        Value::Null => None,
        v => Some(strings(v).into_iter().filter(|s| !s.is_empty()).collect()),
    };
    // HostConfig.Devices: [{PathOnHost, PathInContainer, CgroupPermissions}],
    // read and checked as `--device HOST:CONTAINER:PERMS` is.
    let devices = hc["Devices"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|d| {
            let host = text(&d["PathOnHost"]);
            let inside = Some(text(&d["PathInContainer"]))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| host.clone());
            let perms = Some(text(&d["CgroupPermissions"]))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "rwm".into());
            crate::engine::container::DeviceMapping::parse(&format!("{host}:{inside}:{perms}"))
                .map_err(|e| ApiError::bad_request(format!("{e:#}")))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let restart = &hc["RestartPolicy"];
    Ok(RunOptions {
        image,
        command: strings(&b["Cmd"]),
        name,
        entrypoint,
        config: RunConfig {
            hostname: text(&b["Hostname"]),
            user: text(&b["User"]),
            env: strings(&b["Env"]),
            workdir: text(&b["WorkingDir"]),
            tty: b["Tty"].as_bool().unwrap_or(false),
            open_stdin: b["OpenStdin"].as_bool().unwrap_or(false),
            stdin_once: b["StdinOnce"].as_bool().unwrap_or(false),
            detach: true,
            auto_remove: hc["AutoRemove"].as_bool().unwrap_or(false),
            init: hc["Init"].as_bool().unwrap_or(false),
            memory,
            cpu_quota,
            pids_limit,
            network,
            publish,
            read_only: hc["ReadonlyRootfs"].as_bool().unwrap_or(false),
            volumes,
            security_opt: strings(&hc["SecurityOpt"]),
            devices,
            labels,
            stop_signal: text(&b["StopSignal"]),
            restart_policy: crate::engine::container::RestartPolicy {
                name: text(&restart["Name"]),
                max_retries: restart["MaximumRetryCount"].as_u64().unwrap_or(0) as u32,
            },
            // [rows, columns] of the caller's terminal (API 1.42 and later).
            console_size: match hc["ConsoleSize"].as_array().map(|a| a.as_slice()) {
                Some([h, w]) => match (h.as_u64(), w.as_u64()) {
                    (Some(h @ 1..=65535), Some(w @ 1..=65535)) => Some((h as u16, w as u16)),
                    _ => None,
                },
                _ => None,
            },
            attach_stdin: b["AttachStdin"].as_bool().unwrap_or(false),
            attach_stdout: b["AttachStdout"].as_bool().unwrap_or(false),
            attach_stderr: b["AttachStderr"].as_bool().unwrap_or(false),
            cap_add: strings(&hc["CapAdd"]),
            cap_drop: strings(&hc["CapDrop"]),
            tmpfs: match &hc["Tmpfs"] {
                Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
                _ => Default::default(),
            },
        },
        ..Default::default()
    })
}

/// `POST /containers/create?name=`: 201 `{"Id": …, "Warnings": []}`.
pub fn create(ctx: &mut Ctx) -> Result<(), ApiError> {
    let body = ctx.body_json()?;
    if body.is_null() {
        return Err(ApiError::bad_request(
            "Config cannot be empty in order to create a container",
        ));
    }
    let name = ctx
        .req
        .q("name")
        .filter(|n| !n.is_empty())
        .map(|n| n.trim_start_matches('/').to_string());
    let root = ctx.root().clone();
    let opts = run_options(&root, &body, name)?;
    let record = crate::engine::run::create(&root, &opts)?;
    ctx.json(201, &json!({ "Id": record.id, "Warnings": [] }))
}

/// Runs `glassbox --root ROOT ARGS…` (a child process: the daemon itself
/// never forks a container) and turns its failure into an API error:
/// docker's 400 for a command that cannot run (126, 127), else 500.
fn glassbox(ctx: &Ctx, args: &[&str]) -> Result<(), ApiError> {
    let out = std::process::Command::new(&ctx.daemon.exe)
        .arg("--root")
        .arg(&ctx.root().path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let message = text
        .lines()
        .last()
        .unwrap_or("")
        .trim_start_matches("glassbox: ")
        .trim_start_matches("Error response from daemon: ")
        .to_string();
    let status = match out.status.code() {
        Some(126 | 127) => 400,
        _ => 500,
    };
    Err(ApiError::new(status, message))
}

/// `POST /containers/ID/start`: 204; 304 if it runs already.
pub fn start(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = container::find(ctx.root(), id)?;
    if r.is_running() {
        return Err(EngineError::NotModified("Container already started".into()).into());
    }
    let waiting = ctx.daemon.pending_attach(&r.id);
    glassbox(
        ctx,
        &["start", "--wait-attach", &waiting.to_string(), &r.id],
    )?;
    ctx.empty(204)
}

/// `POST /containers/ID/restart?t=&signal=`.
pub fn restart(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = container::find(ctx.root(), id)?;
    let t = ctx
        .req
        .q("t")
        .filter(|t| !t.is_empty())
        .unwrap_or("10")
        .to_string();
    glassbox(ctx, &["restart", "-t", &t, &r.id])?;
    ctx.empty(204)
}

/// `POST /containers/ID/wait?condition=`: the head goes out once the wait
/// is registered; the body, `{"StatusCode": N, "Error": null}`, when it ends.
pub fn wait(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let condition = wait::Condition::parse(ctx.req.q("condition").unwrap_or(""))?;
    let root = ctx.root().clone();
    let mut waiter = wait::begin(&root, id, condition)?;
    let mut out = ctx.stream("application/json", &[])?;
    let _ = out.flush();
    let probe = out.get_ref().try_clone()?;
    let alive = || !super::system::peer_gone(&probe);
    if let Some(o) = waiter.wait(&root, &alive) {
        let body = json!({
            "StatusCode": o.code,
            "Error": o.error.map(|m| json!({ "Message": m })),
        });
        let _ = out.write_all(format!("{body}\n").as_bytes());
        let _ = out.finish();
    }
    Ok(())
}

/// `POST /containers/ID/attach?stream=&stdin=&stdout=&stderr=&logs=`: the
/// connection is hijacked and spliced to the shim's attach socket. A
/// container that has not started yet is waited for (docker run attaches
/// first); its start then waits for this client before the process runs.
pub fn attach(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let root = ctx.root().clone();
    let r = container::find(&root, id)?;
    if r.state.status == "exited" && !ctx.req.flag("logs") {
        return Err(ApiError::conflict(
            "You cannot attach to a stopped container, start it first",
        ));
    }
    let streams = Streams {
        stdin: ctx.req.flag("stdin"),
        stdout: ctx.req.flag("stdout"),
        stderr: ctx.req.flag("stderr"),
    };
    let sock_path = attach::socket_path(&root.key, &r.id);
    let tty = r.config.tty;
    let registered = !r.is_running();
    if registered {
        ctx.daemon.add_pending_attach(&r.id, 1);
    }
    let hijacked = ctx.hijack(if tty { RAW } else { MULTIPLEXED });
    let (client, buffered) = match hijacked {
        Ok(h) => h,
        Err(e) => {
            if registered {
                ctx.daemon.add_pending_attach(&r.id, -1);
            }
            return Err(e);
        }
    };
    if ctx.req.flag("logs") {
        let opts = crate::engine::logs::LogOptions {
            stdout: streams.stdout,
            stderr: streams.stderr,
            ..Default::default()
        };
        let mut w = &client;
        let mut emit = |e: &crate::runtime::logs::Entry| {
            if tty {
                w.write_all(e.log.as_bytes())
            } else {
                let s = if e.stream == "stderr" { 2 } else { 1 };
                super::stream::write_frame(&mut w, s, e.log.as_bytes())
            }
        };
        let _ = crate::engine::logs::read(&root, &r, &opts, &mut emit, &|| true);
    }
    if !ctx.req.flag("stream") {
        let _ = client.shutdown(std::net::Shutdown::Both);
        if registered {
            ctx.daemon.add_pending_attach(&r.id, -1);
        }
        return Ok(());
    }
    // The shim's socket appears when the container starts.
    let shim = loop {
        match attach::connect(&sock_path, streams, Duration::from_millis(200)) {
            Ok(s) => break Some(s),
            Err(_) => {
                let gone = match container::load_by_id(&root, &r.id) {
                    Ok(now) => {
                        now.state.status == "exited" && now.state.started_at != r.state.started_at
                    }
                    Err(_) => true,
                };
                if gone || super::system::peer_gone(&client) {
                    break None;
                }
            }
        }
    };
    if registered {
        ctx.daemon.add_pending_attach(&r.id, -1);
    }
    let Some(shim) = shim else {
        let _ = client.shutdown(std::net::Shutdown::Both);
        return Ok(());
    };
    splice(client, buffered, shim);
    Ok(())
}

/// Copies the client's input to the shim (and its end, as a half-close)
/// in a thread, and the shim's output to the client here, until the shim
/// ends it.
pub fn splice(
    client: std::os::unix::net::UnixStream,
    buffered: Vec<u8>,
    shim: std::os::unix::net::UnixStream,
) {
    let (Ok(mut client_in), Ok(mut shim_in)) = (client.try_clone(), shim.try_clone()) else {
        return;
    };
    let input = std::thread::spawn(move || {
        if !buffered.is_empty() && shim_in.write_all(&buffered).is_err() {
            return;
        }
        let _ = std::io::copy(&mut client_in, &mut shim_in);
        let _ = shim_in.shutdown(std::net::Shutdown::Write);
    });
    let mut shim_out = shim;
    let mut client_out = client;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match shim_out.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if client_out.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = client_out.shutdown(std::net::Shutdown::Both);
    let _ = shim_out.shutdown(std::net::Shutdown::Both);
    let _ = input.join();
}

/// `POST /containers/ID/resize?h=&w=`: the shim sets the pty's size.
pub fn resize(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let r = container::find(ctx.root(), id)?;
    let h: u16 = ctx.req.q("h").and_then(|v| v.parse().ok()).unwrap_or(0);
    let w: u16 = ctx.req.q("w").and_then(|v| v.parse().ok()).unwrap_or(0);
    if !r.is_running() {
        return Err(ApiError::conflict(format!(
            "Container {} is not running",
            r.id
        )));
    }
    if r.config.tty {
        attach::resize(&attach::socket_path(&ctx.root().key, &r.id), h, w)?;
    }
    ctx.empty(200)
}

/// `POST /containers/ID/rename?name=`: 204; 409 if the name is taken.
pub fn rename(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let name = ctx
        .req
        .q("name")
        .unwrap_or("")
        .trim_start_matches('/')
        .to_string();
    let root = ctx.root().clone();
    crate::engine::container::rename(&root, id, &name)?;
    ctx.empty(204)
}
