//! The routes, and the system endpoints: `_ping`, `version`, `info`, `events`.

use super::server::Ctx;
use super::{
    API_VERSION, ApiError, MIN_API_VERSION, archive, build, containers, exec, images, lifecycle,
    objects,
};
use crate::engine::{container, describe, events};
use serde_json::{Value, json};
use std::io::Write;
use std::time::Duration;

/// Sends a request to its handler by method and path (the version prefix
/// already removed). An unknown path is dockerd's `404 page not found`.
pub fn route(ctx: &mut Ctx, path: &str) -> Result<(), ApiError> {
    let method = ctx.req.method.clone();
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = method.as_str();
    match (m, s.as_slice()) {
        ("GET" | "HEAD", ["_ping"]) => ping(ctx),
        ("GET", ["version"]) => version(ctx),
        ("GET", ["info"]) => info(ctx),
        ("GET", ["events"]) => events_stream(ctx),

        ("GET", ["containers", "json"]) => containers::list(ctx),
        ("POST", ["containers", "create"]) => lifecycle::create(ctx),
        ("POST", ["containers", id, "start"]) => lifecycle::start(ctx, id),
        ("POST", ["containers", id, "restart"]) => lifecycle::restart(ctx, id),
        ("POST", ["containers", id, "wait"]) => lifecycle::wait(ctx, id),
        ("POST", ["containers", id, "attach"]) => lifecycle::attach(ctx, id),
        ("POST", ["containers", id, "resize"]) => lifecycle::resize(ctx, id),
        ("POST", ["containers", id, "rename"]) => lifecycle::rename(ctx, id),
        ("GET", ["containers", id, "json"]) => containers::inspect(ctx, id),
        ("GET", ["containers", id, "top"]) => containers::top(ctx, id),
        ("GET", ["containers", id, "logs"]) => containers::logs(ctx, id),
        ("GET", ["containers", id, "changes"]) => containers::changes(ctx, id),
        ("GET", ["containers", id, "export"]) => containers::export(ctx, id),
        ("GET", ["containers", id, "stats"]) => containers::stats(ctx, id),
        ("POST", ["containers", id, "stop"]) => containers::stop(ctx, id),
        ("POST", ["containers", id, "kill"]) => containers::kill(ctx, id),
        ("DELETE", ["containers", id]) => containers::remove(ctx, id),
        ("GET" | "HEAD", ["containers", id, "archive"]) => archive::get(ctx, id),
        ("PUT", ["containers", id, "archive"]) => archive::put(ctx, id),
        ("POST", ["containers", id, "pause"]) => containers::pause(ctx, id, true),
        ("POST", ["containers", id, "unpause"]) => containers::pause(ctx, id, false),
        ("POST", ["containers", id, "exec"]) => exec::create(ctx, id),
        ("POST", ["exec", id, "start"]) => exec::start(ctx, id),
        ("POST", ["exec", id, "resize"]) => exec::resize(ctx, id),
        ("GET", ["exec", id, "json"]) => exec::inspect(ctx, id),
        ("POST", ["build"]) => build::build(ctx),

        ("GET", ["images", "json"]) => images::list(ctx),
        ("POST", ["images", "create"]) => images::pull(ctx),
        ("POST", ["images", "load"]) => images::load(ctx),
        ("GET", ["images", "get"]) => images::get(ctx, None),
        ("POST", ["commit"]) => images::commit(ctx),
        // Image names contain slashes (`library/busybox`): the route's last
        // word is the action, everything between is the name.
        (_, ["images", rest @ ..]) if !rest.is_empty() => {
            let (name, action) = split_image_route(rest);
            match (m, action) {
                ("GET", Some("json")) => images::inspect(ctx, &name),
                ("GET", Some("history")) => images::history(ctx, &name),
                ("GET", Some("get")) => images::get(ctx, Some(&name)),
                ("POST", Some("tag")) => images::tag(ctx, &name),
                ("DELETE", None) => images::remove(ctx, &name),
                _ => Err(not_found()),
            }
        }

        ("GET", ["volumes"]) => objects::volume_list(ctx),
        ("POST", ["volumes", "create"]) => objects::volume_create(ctx),
        ("GET", ["volumes", name]) => objects::volume_inspect(ctx, name),
        ("DELETE", ["volumes", name]) => objects::volume_remove(ctx, name),
        ("GET", ["networks"]) => objects::network_list(ctx),
        ("GET", ["networks", id]) => objects::network_inspect(ctx, id),
        _ => Err(not_found()),
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("page not found")
}

/// `library/busybox/json` → (`library/busybox`, `json`); a DELETE has no action.
fn split_image_route(rest: &[&str]) -> (String, Option<&'static str>) {
    let last = rest[rest.len() - 1];
    for action in ["json", "history", "get", "tag", "push"] {
        if last == action && rest.len() > 1 {
            return (rest[..rest.len() - 1].join("/"), Some(action));
        }
    }
    (rest.join("/"), None)
}

/// `GET /_ping`: `OK`, and the headers a client negotiates with: the
/// highest API version here (`Api-Version`, which makes docker 28 fall back
/// to 1.43) and the classic builder (`Builder-Version: 1`: there is no
/// BuildKit session endpoint).
fn ping(ctx: &mut Ctx) -> Result<(), ApiError> {
    let headers = [
        ("Builder-Version", "1".to_string()),
        ("Swarm", "inactive".to_string()),
        (
            "Cache-Control",
            "no-cache, no-store, must-revalidate".to_string(),
        ),
        ("Pragma", "no-cache".to_string()),
        ("Content-Type", "text/plain; charset=utf-8".to_string()),
        ("Content-Length", "2".to_string()),
    ];
    ctx.bytes_with(200, &headers, b"OK")
}

fn kernel_version() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn uname_machine() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.machine().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `GET /version`.
fn version(ctx: &mut Ctx) -> Result<(), ApiError> {
    let v = env!("CARGO_PKG_VERSION");
    let arch = crate::image::archive::host_architecture();
    let kernel = kernel_version();
    ctx.json(
        200,
        &json!({
            "Platform": { "Name": "glassbox" },
            "Components": [{
                "Name": "Engine",
                "Version": v,
                "Details": {
                    "ApiVersion": API_VERSION,
                    "Arch": arch,
                    "BuildTime": "",
                    "Experimental": "false",
                    "GitCommit": "",
                    "GoVersion": "none (glassbox is Rust)",
                    "KernelVersion": kernel,
                    "MinAPIVersion": MIN_API_VERSION,
                    "Os": "linux",
                }
            }],
            "Version": v,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "",
            "GoVersion": "none (glassbox is Rust)",
            "Os": "linux",
            "Arch": arch,
            "KernelVersion": kernel,
            "BuildTime": "",
        }),
    )
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "Linux".into())
}

fn read_flag(path: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|s| s.trim() == "1")
}

/// `GET /info`: counts from the data root, facts from the kernel.
fn info(ctx: &mut Ctx) -> Result<(), ApiError> {
    let root = ctx.root().clone();
    let records = container::list(&root)?;
    let running = records
        .iter()
        .filter(|r| r.state.status == "running")
        .count();
    let paused = records
        .iter()
        .filter(|r| r.state.status == "paused")
        .count();
    let images = describe::image_rows(&root, false).len();
    let cgroup_version = match root.cgroup_layout() {
        Ok(l) => l.version().to_string(),
        Err(_) => String::new(),
    };
    let hostname = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = {
        use sha2::Digest;
        let h = sha2::Sha256::digest(root.path.as_os_str().as_encoded_bytes());
        crate::util::text::hex(&h[..16])
    };
    ctx.json(
        200,
        &json!({
            "ID": id,
            "Containers": records.len(),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": records.len() - running - paused,
            "Images": images,
            "Driver": "overlay2",
            "DriverStatus": [["Backing Filesystem", "overlayfs (kernel)"], ["Supports d_type", "true"]],
            "DockerRootDir": root.path,
            "Plugins": {
                "Volume": ["local"],
                "Network": ["bridge", "host", "none"],
                "Authorization": null,
                "Log": ["json-file"],
            },
            "MemoryLimit": true,
            "SwapLimit": false,
            "KernelMemoryTCP": false,
            "CpuCfsPeriod": true,
            "CpuCfsQuota": true,
            "CPUShares": false,
            "CPUSet": false,
            "PidsLimit": true,
            "IPv4Forwarding": read_flag("/proc/sys/net/ipv4/ip_forward"),
            "BridgeNfIptables": read_flag("/proc/sys/net/bridge/bridge-nf-call-iptables"),
            "BridgeNfIp6tables": read_flag("/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
            "OomKillDisable": false,
            "Debug": false,
            "NFd": std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0),
            "NGoroutines": std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0),
            "SystemTime": crate::timefmt::rfc3339(crate::timefmt::now_unix_ns()),
            "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": cgroup_version,
            "NEventsListener": 0,
            "KernelVersion": kernel_version(),
            "OperatingSystem": os_name(),
            "OSVersion": "",
            "OSType": "linux",
            "Architecture": uname_machine(),
            "NCPU": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "MemTotal": crate::engine::describe::host_memory(),
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {
                "AllowNondistributableArtifactsCIDRs": null,
                "AllowNondistributableArtifactsHostnames": null,
                "InsecureRegistryCIDRs": [],
                "IndexConfigs": {},
                "Mirrors": null,
            },
            "GenericResources": null,
            "HttpProxy": "",
            "HttpsProxy": "",
            "NoProxy": "",
            "Name": hostname,
            "Labels": [],
            "ExperimentalBuild": false,
            "ServerVersion": env!("CARGO_PKG_VERSION"),
            "Runtimes": { "glassbox": { "path": ctx.daemon.exe } },
            "DefaultRuntime": "glassbox",
            "Swarm": {
                "NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                "ControlAvailable": false, "Error": "", "RemoteManagers": null,
            },
            "LiveRestoreEnabled": true,
            "Isolation": "",
            "InitBinary": "",
            "ContainerdCommit": { "ID": "", "Expected": "" },
            "RuncCommit": { "ID": "", "Expected": "" },
            "InitCommit": { "ID": "", "Expected": "" },
            "SecurityOptions": ["name=seccomp,profile=builtin"],
            "ProductLicense": "",
            "DefaultAddressPools": [],
            "Warnings": [],
        }),
    )
}

/// `GET /events?since=&until=&filters=`: past events from the root's event
/// log, then new ones as they are written, one JSON object per line.
fn events_stream(ctx: &mut Ctx) -> Result<(), ApiError> {
    let root = ctx.root().clone();
    let filters = describe::Filters::from_json(ctx.req.q("filters").unwrap_or(""))?;
    let now = crate::timefmt::now_unix_ns();
    let since = ctx.req.q("since").map(|s| parse_time(s, now)).transpose()?;
    let until = ctx.req.q("until").map(|s| parse_time(s, now)).transpose()?;
    let mut out = ctx.stream("application/json", &[])?;
    let mut offset = if since.is_some() {
        0
    } else {
        events::end(&root)
    };
    loop {
        let (batch, next) = events::read_from(&root, offset);
        offset = next;
        for e in batch {
            let t = e["timeNano"].as_u64().unwrap_or(0);
            if since.is_some_and(|s| t < s) || !events::matches(&e, &filters) {
                continue;
            }
            if until.is_some_and(|u| t > u) {
                continue;
            }
            let mut line = serde_json::to_vec(&e).unwrap_or_default();
            line.push(b'\n');
            if out.write_all(&line).is_err() {
                return Ok(());
            }
        }
        if until.is_some_and(|u| crate::timefmt::now_unix_ns() > u) {
            let _ = out.finish();
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
        // A client that went away: a write of nothing does not tell, so
        // probe the socket for a hangup.
        if peer_gone(&ctx.conn.stream) {
            return Ok(());
        }
    }
}

/// True when the client closed its end (poll reports a hangup or EOF).
pub fn peer_gone(stream: &std::os::unix::net::UnixStream) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(n) if n > 0 => {
            let r = fds[0].revents().unwrap_or(PollFlags::empty());
            if r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                return true;
            }
            // Readable: EOF if a peek finds nothing.
            let mut b = [0u8; 1];
            matches!(
                nix::sys::socket::recv(
                    std::os::fd::AsRawFd::as_raw_fd(stream),
                    &mut b,
                    nix::sys::socket::MsgFlags::MSG_PEEK | nix::sys::socket::MsgFlags::MSG_DONTWAIT
                ),
                Ok(0)
            )
        }
        _ => false,
    }
}

/// docker's time arguments: Unix seconds (`1700000000`, `1700000000.5`),
/// RFC 3339, or a duration before now (`10m`, `1h30m`, `5s`).
pub fn parse_time(s: &str, now_ns: u64) -> Result<u64, ApiError> {
    crate::engine::logs::parse_time(s, now_ns).map_err(ApiError::bad_request)
}

/// The value of a `Value` as a JSON string for a header.
pub fn header_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
