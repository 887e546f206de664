//! What the engine says about its objects, in docker's shapes: the `inspect`
//! documents, the rows of `ps` and `images`, and docker's `--filter` rules.
//!
//! One place for them, used by the CLI (which prints them as tables or
//! JSON) and by the Engine API daemon (which sends them as JSON): the same
//! container shows the same fields whichever way it is asked about.

use super::DataRoot;
use super::container::{Paths, Record};
use crate::image::store::digest_hex;
use crate::timefmt;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// docker's `inspect` document for a container.
pub fn container_json(root: &DataRoot, r: &Record) -> serde_json::Value {
    let paths = Paths::new(root, &r.id);
    let c = &r.config;
    let lower = r
        .lower_dirs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let running = r.state.status == "running";
    let paused = running && r.state.paused;
    let mut doc = json!({
        "Id": r.id,
        "Created": timefmt::rfc3339(r.created),
        "Path": r.path,
        "Args": r.args,
        "State": {
            "Status": state_word(r),
            "Running": running,
            "Paused": paused,
            "Restarting": false,
            "OOMKilled": r.state.oom_killed,
            "Dead": r.state.status == "dead",
            "Pid": if running { r.state.pid } else { 0 },
            "ExitCode": r.state.exit_code,
            "Error": r.state.error,
            "StartedAt": timefmt::rfc3339(r.state.started_at),
            "FinishedAt": timefmt::rfc3339(r.state.finished_at),
        },
        "Image": r.image_id,
        "ResolvConfPath": paths.dir.join("resolv.conf"),
        "HostnamePath": paths.dir.join("hostname"),
        "HostsPath": paths.dir.join("hosts"),
        "LogPath": paths.log(),
        "Name": format!("/{}", r.name),
        "Driver": "overlay2",
        "HostConfig": {
            "Memory": c.memory.unwrap_or(0),
            "MemorySwap": c.memory.unwrap_or(0),
            "NanoCpus": c.cpu_quota.map(|(q, p)| q * 1_000_000_000 / p as i64).unwrap_or(0),
            "CpuQuota": c.cpu_quota.map(|(q, _)| q).unwrap_or(0),
            "CpuPeriod": c.cpu_quota.map(|(_, p)| p).unwrap_or(0),
            "PidsLimit": c.pids_limit,
            "NetworkMode": c.network,
            "PortBindings": crate::engine::network::port_bindings_json(c),
            "AutoRemove": c.auto_remove,
            // runtime::logs writes docker's json-file format.
            "LogConfig": { "Type": "json-file", "Config": {} },
            "ReadonlyRootfs": c.read_only,
            "SecurityOpt": c.security_opt,
            "CapAdd": if c.cap_add.is_empty() { Value::Null } else { json!(c.cap_add) },
            "CapDrop": if c.cap_drop.is_empty() { Value::Null } else { json!(c.cap_drop) },
            // The user's SRC:DST binds; anonymous volumes are Config.Volumes.
            "Binds": c.volumes.iter()
                .filter(|(s, _, _)| !is_anonymous_source(root, s))
                .map(|(s, d, ro)| format!("{}:{d}{}", binds_source(root, s), if *ro { ":ro" } else { "" }))
                .collect::<Vec<_>>(),
            "CgroupParent": r.cgroup.rsplit_once('/').map(|(p, _)| p).unwrap_or(""),
        },
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {
                "LowerDir": lower,
                "UpperDir": paths.upper(),
                "WorkDir": paths.work(),
                "MergedDir": paths.rootfs(),
            }
        },
        "Mounts": mounts_json(root, r),
        "Config": config_json(root, r),
        "NetworkSettings": crate::engine::network::settings_json(root, r),
        "Glassbox": {
            "Bundle": paths.bundle(),
            "Cgroup": r.cgroup,
            "Journal": paths.journal(),
            "Trace": paths.trace(),
            // Not a nested "Pid": scripts grep inspect for the container's.
            "MonitorPid": r.state.monitor_pid,
            "MonitorAlive": r.monitor_alive(),
            "RecordUnreadable": r.unreadable,
        }
    });
    // docker leaves HostConfig.Init out unless --init was given, and
    // HostConfig.Tmpfs when there is none (omitempty).
    if c.init {
        doc["HostConfig"]["Init"] = json!(true);
    }
    if !c.tmpfs.is_empty() {
        doc["HostConfig"]["Tmpfs"] = json!(c.tmpfs);
    }
    doc
}

/// Whether a mount source is one of the container's anonymous volumes.
fn is_anonymous_source(root: &DataRoot, source: &str) -> bool {
    super::volume::name_of(root, std::path::Path::new(source))
        .is_some_and(|n| super::volume::is_anonymous(root, &n))
}

/// A bind's source as the user wrote it: a named volume by its name.
fn binds_source(root: &DataRoot, source: &str) -> String {
    super::volume::name_of(root, std::path::Path::new(source)).unwrap_or_else(|| source.to_string())
}

/// docker's `Config` of a container: the merged config the process runs
/// with (the image's defaults under the flags), as dockerd keeps it:
/// `Entrypoint` and `Cmd` apart, `User`, `Env`, `WorkingDir`, `Volumes`
/// (the image's and `-v /path`'s), `StopSignal` and `ExposedPorts` where set.
pub fn config_json(root: &DataRoot, r: &Record) -> Value {
    let c = &r.config;
    let image = root.images().config(&r.image_id).ok();
    // Go encodes a map's keys sorted.
    let mut volumes = BTreeMap::new();
    if let Some(i) = &image {
        for dest in i.config.volumes.keys() {
            volumes.insert(dest.clone(), json!({}));
        }
    }
    for (s, d, _) in &c.volumes {
        if is_anonymous_source(root, s) {
            volumes.insert(d.clone(), json!({}));
        }
    }
    let mut exposed = BTreeMap::new();
    if let Some(i) = &image {
        for p in i.config.exposed_ports.keys() {
            exposed.insert(p.clone(), json!({}));
        }
    }
    for m in &c.publish {
        exposed.insert(
            format!("{}/{}", m.container_port, m.protocol.as_str()),
            json!({}),
        );
    }
    let strings = |v: &[String]| if v.is_empty() { Value::Null } else { json!(v) };
    let mut doc = json!({
        "Hostname": c.hostname,
        "Domainname": "",
        "User": c.user,
        "AttachStdin": c.attach_stdin,
        "AttachStdout": c.attach_stdout,
        "AttachStderr": c.attach_stderr,
        "Tty": c.tty,
        "OpenStdin": c.open_stdin,
        "StdinOnce": c.stdin_once,
        "Env": c.env,
        "Cmd": strings(&r.cmd),
        "Image": r.image,
        "Volumes": if volumes.is_empty() { Value::Null } else { json!(volumes) },
        "WorkingDir": c.workdir,
        "Entrypoint": strings(&r.entrypoint),
        "OnBuild": null,
        "Labels": c.labels,
    });
    if !exposed.is_empty() {
        doc["ExposedPorts"] = json!(exposed);
    }
    if !c.stop_signal.is_empty() {
        doc["StopSignal"] = json!(c.stop_signal);
    }
    doc
}

/// The references that name image `id` (docker's `RepoTags`).
fn tags_of(store: &crate::image::ImageStore, id: &str) -> Vec<String> {
    store
        .tags()
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, v)| v == id)
        .map(|(k, _)| k)
        .collect()
}

/// docker's `inspect` document for an image.
pub fn image_json(
    root: &DataRoot,
    id: &str,
    config: &crate::image::ImageConfig,
) -> serde_json::Value {
    let store = root.images();
    let tags = tags_of(&store, id);
    let size = store.image_size(config);
    json!({
        "Id": id,
        "RepoTags": tags,
        "Parent": crate::image::manage::parent(&store, id).unwrap_or_default(),
        "Created": config.created,
        "Architecture": config.architecture,
        "Os": config.os,
        "Size": size,
        "Config": config.config,
        "RootFS": { "Type": config.rootfs.typ, "Layers": config.rootfs.diff_ids },
        "History": config.history,
        "GraphDriver": {
            "Name": "overlay2",
            "Data": {
                "LowerDir": config.rootfs.diff_ids.iter().rev().map(|d| store.layer_diff(d).display().to_string()).collect::<Vec<_>>().join(":"),
            }
        }
    })
}

/// The command as one line: `sh -c 'echo hi'` shows as `sh -c echo hi`, as
/// docker's `Command` field (quoted and cut by `ps`, whole with `--no-trunc`).
pub fn command_line(r: &Record) -> String {
    std::iter::once(r.path.as_str())
        .chain(r.args.iter().map(|s| s.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// docker's `State` word for `ps`: `created`, `running`, `paused`, `exited`, `dead`.
pub fn state_word(r: &Record) -> String {
    if r.state.status == "running" && r.state.paused {
        return "paused".into();
    }
    r.state.status.clone()
}

/// One entry of `GET /containers/json` (docker's `ContainerSummary`), the
/// source of every `ps` column.
pub fn container_summary(root: &DataRoot, r: &Record) -> Value {
    let ports: Vec<Value> = super::network::published(root, r)
        .iter()
        .map(|m| {
            json!({
                "IP": m.host_ip_text(),
                "PrivatePort": m.container_port,
                "PublicPort": m.host_port,
                "Type": m.protocol.as_str(),
            })
        })
        .collect();
    let settings = super::network::settings_json(root, r);
    json!({
        "Id": r.id,
        "Names": [format!("/{}", r.name)],
        "Image": r.image,
        "ImageID": r.image_id,
        "Command": command_line(r),
        "Created": r.created / 1_000_000_000,
        "Ports": ports,
        "Labels": r.config.labels,
        "State": state_word(r),
        "Status": r.status_line(),
        "HostConfig": { "NetworkMode": r.config.network },
        "NetworkSettings": { "Networks": settings["Networks"] },
        "Mounts": mounts_json(root, r),
    })
}

/// The container's `Mounts` (volumes and bind mounts).
pub fn mounts_json(root: &DataRoot, r: &Record) -> Value {
    Value::Array(
        r.config
            .volumes
            .iter()
            .map(|(s, d, ro)| {
                match super::volume::name_of(root, std::path::Path::new(s)) {
                    Some(name) => json!({
                        "Type": "volume", "Name": name, "Source": s, "Destination": d,
                        "Driver": "local", "Mode": if *ro { "ro" } else { "z" }, "RW": !ro,
                        "Propagation": ""
                    }),
                    None => json!({
                        "Type": "bind", "Source": s, "Destination": d, "Mode": if *ro { "ro" } else { "" },
                        "RW": !ro, "Propagation": "rprivate"
                    }),
                }
            })
            .collect(),
    )
}

/// One entry of `GET /images/json` (docker's `ImageSummary`).
pub fn image_summary(root: &DataRoot, id: &str, config: &crate::image::ImageConfig) -> Value {
    let store = root.images();
    let tags = tags_of(&store, id);
    let size = store.image_size(config);
    let containers = super::container::list(root)
        .map(|l| l.iter().filter(|r| r.image_id == id).count() as i64)
        .unwrap_or(-1);
    json!({
        "Id": id,
        "ParentId": crate::image::manage::parent(&store, id).unwrap_or_default(),
        "RepoTags": tags,
        "RepoDigests": [],
        "Created": config.created.as_deref().and_then(crate::timefmt::parse_rfc3339).map_or(0, |ns| ns / 1_000_000_000),
        "Size": size,
        "SharedSize": -1,
        "VirtualSize": size,
        "Labels": config.config.labels,
        "Containers": containers,
    })
}

/// docker's `--filter` / `filters=` for containers and images: a map from a
/// filter's name to the values it accepts. Values of one name are ORed,
/// names are ANDed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters(pub BTreeMap<String, Vec<String>>);

/// A filter the engine does not know, or a value it cannot use.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

impl Filters {
    /// The API's form: `{"status":["running"]}` (and the older
    /// `{"status":{"running":true}}`).
    pub fn from_json(text: &str) -> Result<Filters, FilterError> {
        if text.trim().is_empty() {
            return Ok(Filters::default());
        }
        let v: Value =
            serde_json::from_str(text).map_err(|e| FilterError(format!("invalid filter: {e}")))?;
        let mut out = BTreeMap::new();
        let Value::Object(map) = v else {
            return Err(FilterError("invalid filter: not a JSON object".into()));
        };
        for (k, v) in map {
            let values: Vec<String> = match v {
                Value::Array(a) => a
                    .into_iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                Value::Object(o) => o
                    .into_iter()
                    .filter(|(_, b)| b.as_bool() == Some(true))
                    .map(|(k, _)| k)
                    .collect(),
                _ => return Err(FilterError(format!("invalid filter {k:?}"))),
            };
            out.insert(k, values);
        }
        Ok(Filters(out))
    }

    /// The CLI's form: `--filter status=exited --filter name=web`.
    pub fn from_args(args: &[String]) -> Result<Filters, FilterError> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in args {
            let Some((k, v)) = a.split_once('=') else {
                return Err(FilterError(format!(
                    "bad format of filter (expected name=value): {a}"
                )));
            };
            out.entry(k.trim().to_ascii_lowercase())
                .or_default()
                .push(v.to_string());
        }
        Ok(Filters(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.0.get(name).map(Vec::as_slice)
    }

    fn check_names(&self, known: &[&str]) -> Result<(), FilterError> {
        for k in self.0.keys() {
            if !known.contains(&k.as_str()) {
                return Err(FilterError(format!("invalid filter '{k}'")));
            }
        }
        Ok(())
    }

    /// Keeps the containers the filters accept, by docker's rules: `id` and
    /// `name` are regular expressions searched in the ID and the name (with
    /// and without its `/`), `status` a state word, `exited` an exit code of
    /// an exited container, `label` a key or `key=value`, `ancestor` an
    /// image the container's image is or was built on, `before`/`since` a
    /// container created after/before it, `network`, `volume`.
    pub fn containers(
        &self,
        root: &DataRoot,
        records: Vec<Record>,
    ) -> Result<Vec<Record>, FilterError> {
        self.check_names(&[
            "id", "name", "status", "exited", "label", "ancestor", "before", "since", "network",
            "volume",
        ])?;
        if let Some(st) = self.get("status") {
            for s in st {
                if ![
                    "created",
                    "restarting",
                    "running",
                    "removing",
                    "paused",
                    "exited",
                    "dead",
                ]
                .contains(&s.as_str())
                {
                    return Err(FilterError(format!(
                        "invalid filter 'status={s}': use created, restarting, running, removing, paused, exited or dead"
                    )));
                }
            }
        }
        let created_of = |name: &str| {
            super::container::find(root, name)
                .map(|r| r.created)
                .map_err(|_| FilterError(format!("No such container: {name}")))
        };
        let before = match self.get("before").and_then(|v| v.first()) {
            Some(n) => Some(created_of(n)?),
            None => None,
        };
        let since = match self.get("since").and_then(|v| v.first()) {
            Some(n) => Some(created_of(n)?),
            None => None,
        };
        let store = root.images();
        let ancestors: Option<Vec<String>> = self.get("ancestor").map(|v| {
            v.iter()
                .filter_map(|a| store.resolve(a).ok().map(|(id, _)| id))
                .collect()
        });
        let any = |name: &str, ok: &dyn Fn(&str) -> bool| match self.get(name) {
            Some(values) => values.iter().any(|v| ok(v)),
            None => true,
        };
        Ok(records
            .into_iter()
            .filter(|r| {
                any("id", &|v| matches_pattern(v, &r.id))
                    && any("name", &|v| {
                        matches_pattern(v, &format!("/{}", r.name)) || matches_pattern(v, &r.name)
                    })
                    && any("status", &|v| state_word(r) == v)
                    && any("exited", &|v| {
                        state_word(r) == "exited" && v.parse() == Ok(r.state.exit_code)
                    })
                    && any("label", &|v| match v.split_once('=') {
                        Some((k, val)) => r.config.labels.get(k).is_some_and(|x| x == val),
                        None => r.config.labels.contains_key(v),
                    })
                    && ancestors.as_ref().is_none_or(|ids| {
                        image_and_parents(&store, &r.image_id)
                            .iter()
                            .any(|i| ids.contains(i))
                    })
                    && any("network", &|v| r.config.network == v)
                    && any("volume", &|v| {
                        r.config.volumes.iter().any(|(s, d, _)| {
                            d == v
                                || super::volume::name_of(root, std::path::Path::new(s)).as_deref()
                                    == Some(v)
                        })
                    })
                    && before.is_none_or(|t| r.created < t)
                    && since.is_none_or(|t| r.created > t)
            })
            .collect())
    }

    /// Keeps the images (`(reference or None, id)`) the filters accept:
    /// `dangling`, `label`, `reference` (a glob on `repository[:tag]`),
    /// `before`, `since`.
    pub fn images(
        &self,
        root: &DataRoot,
        rows: Vec<(Option<String>, String)>,
    ) -> Result<Vec<(Option<String>, String)>, FilterError> {
        self.check_names(&["dangling", "label", "reference", "before", "since"])?;
        let store = root.images();
        let created = |id: &str| {
            store
                .config(id)
                .ok()
                .and_then(|c| c.created)
                .and_then(|c| crate::timefmt::parse_rfc3339(&c))
                .unwrap_or(0)
        };
        let point = |name: &str| -> Result<Option<u64>, FilterError> {
            match self.get(name).and_then(|v| v.first()) {
                Some(r) => store
                    .resolve(r)
                    .map(|(id, _)| Some(created(&id)))
                    .map_err(|_| FilterError(format!("No such image: {r}"))),
                None => Ok(None),
            }
        };
        let (before, since) = (point("before")?, point("since")?);
        let any = |name: &str, ok: &dyn Fn(&str) -> bool| match self.get(name) {
            Some(values) => values.iter().any(|v| ok(v)),
            None => true,
        };
        Ok(rows
            .into_iter()
            .filter(|(reference, id)| {
                let labels = store
                    .config(id)
                    .map(|c| c.config.labels)
                    .unwrap_or_default();
                any("dangling", &|v| {
                    (v == "true" || v == "1") == reference.is_none()
                }) && any("label", &|v| match v.split_once('=') {
                    Some((k, val)) => labels.get(k).is_some_and(|x| x == val),
                    None => labels.contains_key(v),
                }) && any("reference", &|v| {
                    reference.as_deref().is_some_and(|r| {
                        let repo = r.rsplit_once(':').map_or(r, |(a, _)| a);
                        crate::image::context::glob(v, r) || crate::image::context::glob(v, repo)
                    })
                }) && before.is_none_or(|t| created(id) < t)
                    && since.is_none_or(|t| created(id) > t)
            })
            .collect())
    }
}

/// docker's `filters.Match`: `pattern` is a regular expression searched
/// anywhere in `text` (Go's RE2 syntax, which the regex crate shares); a
/// pattern that does not compile matches nothing, as in dockerd. Names and
/// IDs are ASCII, so the match is ASCII's (as Go's `\d`, `\w`, `\s`, `\b`
/// are; `(?i)` folds ASCII letters): glassbox is built without the regex
/// crate's Unicode tables (see Cargo.toml): a Unicode class such as `\pL`
/// does not compile and matches nothing (dockerd's would match ASCII
/// letters too); a non-ASCII letter matches its UTF-8 bytes, as in Go.
fn matches_pattern(pattern: &str, text: &str) -> bool {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .is_ok_and(|re| re.is_match(text.as_bytes()))
}

/// `id` and the images it was built on, nearest first (`ancestor=` matches
/// a container whose image descends from the named one).
fn image_and_parents(store: &crate::image::ImageStore, id: &str) -> Vec<String> {
    let mut chain = vec![id.to_string()];
    while let Some(p) = chain
        .last()
        .and_then(|last| crate::image::manage::parent(store, last))
    {
        if chain.contains(&p) || chain.len() > 256 {
            break;
        }
        chain.push(p);
    }
    chain
}

/// What `ps` / `GET /containers/json` asks for.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Every state, not only running containers (`-a`, `all=1`).
    pub all: bool,
    /// At most this many, newest first (`-n`, `-l`, `limit=`); `None`: all.
    pub limit: Option<usize>,
    pub filters: Filters,
}

/// The containers `ps` lists, newest first, by dockerd's rules: without
/// `all` only running ones, unless a `status` filter or a limit asks for
/// others (a `status` filter implies `all`; `-n`/`-l` count every state).
pub fn list_containers(root: &DataRoot, opts: &ListOptions) -> anyhow::Result<Vec<Record>> {
    let records = super::container::list(root)?;
    let every_state = opts.all || opts.filters.get("status").is_some() || opts.limit.is_some();
    let records: Vec<Record> = records
        .into_iter()
        .filter(|r| every_state || r.is_running())
        .collect();
    let mut records = opts
        .filters
        .containers(root, records)
        .map_err(|e| super::EngineError::Invalid(e.0))?;
    if let Some(n) = opts.limit {
        records.truncate(n);
    }
    Ok(records)
}

/// Every image row: one per tag, and one `<none>` row for an image with no
/// tag that is no other image's parent (docker's dangling images); `all`
/// adds the untagged parents too (docker's intermediate images, `images -a`).
pub fn image_rows(root: &DataRoot, all: bool) -> Vec<(Option<String>, String)> {
    let store = root.images();
    let tags = store.tags().unwrap_or_default();
    let mut rows: Vec<(Option<String>, String)> = tags
        .iter()
        .map(|(r, id)| (Some(r.clone()), id.clone()))
        .collect();
    if all {
        let tagged: std::collections::BTreeSet<&String> = tags.values().collect();
        rows.extend(
            crate::image::manage::all_images(&store)
                .into_iter()
                .filter(|id| !tagged.contains(id))
                .map(|id| (None, id)),
        );
    } else {
        // An image `rmi -f` untagged while a container uses it, say.
        rows.extend(
            crate::image::manage::dangling(&store, &tags)
                .into_iter()
                .map(|id| (None, id)),
        );
    }
    rows
}

/// `abc123def456`: the first 12 hex digits of an ID.
pub fn short_image_id(id: &str) -> String {
    digest_hex(id).chars().take(12).collect()
}

/// The RFC 3339 text of an engine time, for JSON.
pub fn time_text(ns: u64) -> String {
    timefmt::rfc3339(ns)
}

/// The container's files, for callers that only have its ID.
pub fn paths(root: &DataRoot, id: &str) -> Paths {
    Paths::new(root, id)
}

/// A container's filesystem changes (`diff`, `GET /containers/ID/changes`):
/// what its upper dir adds, changes and deletes, without the engine's own
/// mount points.
pub fn changes(root: &DataRoot, r: &Record) -> anyhow::Result<Vec<crate::image::diff::Change>> {
    use anyhow::Context;
    let paths = Paths::new(root, &r.id);
    let upper = paths.upper();
    let skip = crate::image::diff::placeholders(&paths.dir, &upper, &r.lower_dirs);
    crate::image::diff::changes(&upper, &r.lower_dirs, &skip)
        .with_context(|| format!("reading {}", upper.display()))
}

/// One process of a container, as `top` shows it.
#[derive(Debug, Clone)]
pub struct TopRow {
    pub user: String,
    pub pid: u32,
    pub ppid: u32,
    /// Its PID inside the container's PID namespace.
    pub pid_inside: u32,
    /// CPU time in seconds.
    pub cpu_secs: u64,
    /// Start time, seconds since boot.
    pub start_secs: u64,
    pub command: String,
}

/// The host's name for `uid` (the password database, through NSS, as `ps`
/// asks it), or the number.
pub fn host_user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name)
}

/// The processes in a running container's cgroup, by host PID.
pub fn top(root: &DataRoot, r: &Record) -> anyhow::Result<Vec<TopRow>> {
    use crate::inspect::{proc_stat, processes};
    if !r.is_running() {
        return Err(
            super::EngineError::Conflict(format!("Container {} is not running", r.id)).into(),
        );
    }
    let cgroup = crate::runtime::cgroups::Cgroup::new(&root.cgroup_layout()?, &r.cgroup);
    let ticks = proc_stat::clock_ticks_per_second().max(1);
    let mut rows = Vec::new();
    let mut pids = cgroup.pids();
    pids.sort();
    for pid in pids {
        let (Ok(p), Ok(st)) = (
            processes::read_process(pid as u32),
            proc_stat::read_proc_stat(pid as u32),
        ) else {
            continue;
        };
        rows.push(TopRow {
            user: host_user_name(p.uid),
            pid: pid as u32,
            ppid: p.ppid,
            pid_inside: p.nspid.last().copied().unwrap_or(0),
            cpu_secs: (st.utime + st.stime) / ticks,
            start_secs: st.starttime / ticks,
            command: p.command(),
        });
    }
    Ok(rows)
}

/// `00:01:02`: CPU time as `ps` prints it.
pub fn cpu_time_text(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// The host's CPU time in nanoseconds, docker's `system_cpu_usage`: the
/// denominator of `stats`' CPU %.
pub fn system_cpu_ns() -> u64 {
    use crate::inspect::proc_stat;
    let ticks = proc_stat::clock_ticks_per_second().max(1);
    proc_stat::host_cpu_ticks().unwrap_or(0) * (1_000_000_000 / ticks)
}

/// One `stats` reading of a container in docker's shape (`cpu_stats`,
/// `memory_stats`, `pids_stats`, `networks`); `pre` is the reading before
/// it (docker's `precpu_stats`), from which a client computes CPU %.
pub fn stats_sample(root: &DataRoot, r: &Record, pre: Option<&Value>) -> Value {
    let layout = root.cgroup_layout().ok();
    let usage = layout.as_ref().filter(|_| r.is_running()).and_then(|l| {
        crate::runtime::cgroups::Cgroup::new(l, &r.cgroup)
            .usage()
            .ok()
    });
    let now = timefmt::now_unix_ns();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut networks = serde_json::Map::new();
    if r.is_running()
        && let Ok(devs) = crate::inspect::netdev::read_proc_net_dev(r.state.pid as u32)
    {
        for d in devs.iter().filter(|d| d.name != "lo") {
            networks.insert(
                d.name.clone(),
                json!({
                    "rx_bytes": d.stats.rx_bytes, "rx_packets": d.stats.rx_packets,
                    "rx_errors": 0, "rx_dropped": 0,
                    "tx_bytes": d.stats.tx_bytes, "tx_packets": d.stats.tx_packets,
                    "tx_errors": 0, "tx_dropped": 0,
                }),
            );
        }
    }
    let (cpu, mem, limit, pids, pids_max, periods, throttled) = match &usage {
        Some(u) => (
            u.cpu_usage_usec * 1000,
            u.memory_bytes,
            u.memory_limit.unwrap_or(0),
            u.pids_current,
            u.pids_max.unwrap_or(0),
            u.nr_throttled,
            u.throttled_usec * 1000,
        ),
        None => (0, 0, 0, 0, 0, 0, 0),
    };
    let limit = if limit == 0 || limit > host_memory() {
        host_memory()
    } else {
        limit
    };
    let cpu_stats = json!({
        "cpu_usage": { "total_usage": cpu, "usage_in_kernelmode": 0, "usage_in_usermode": 0 },
        "system_cpu_usage": system_cpu_ns(),
        "online_cpus": cpus,
        "throttling_data": { "periods": 0, "throttled_periods": periods, "throttled_time": throttled },
    });
    let empty_cpu = json!({
        "cpu_usage": { "total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0 },
        "throttling_data": { "periods": 0, "throttled_periods": 0, "throttled_time": 0 },
    });
    json!({
        "read": timefmt::rfc3339(now),
        "preread": pre.and_then(|p| p["read"].as_str()).unwrap_or("0001-01-01T00:00:00Z"),
        "pids_stats": { "current": pids, "limit": pids_max },
        "blkio_stats": {
            "io_service_bytes_recursive": null, "io_serviced_recursive": null,
            "io_queue_recursive": null, "io_service_time_recursive": null,
            "io_wait_time_recursive": null, "io_merged_recursive": null,
            "io_time_recursive": null, "sectors_recursive": null,
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_stats,
        "precpu_stats": pre.map(|p| p["cpu_stats"].clone()).unwrap_or(empty_cpu),
        "memory_stats": if usage.is_some() { json!({ "usage": mem, "stats": {}, "limit": limit }) } else { json!({}) },
        "name": format!("/{}", r.name),
        "id": r.id,
        "networks": networks,
    })
}

/// The host's memory in bytes: a container without a limit may use it all.
pub fn host_memory() -> u64 {
    crate::inspect::meminfo::read_mem_total().unwrap_or(0)
}

/// Bytes in the container's writable layer (docker's `SizeRw`).
pub fn size_rw(root: &DataRoot, r: &Record) -> u64 {
    crate::image::store::content_size(&Paths::new(root, &r.id).upper()).unwrap_or(0)
}

/// The writable layer plus the image's layers (docker's `SizeRootFs`).
pub fn size_root_fs(root: &DataRoot, r: &Record) -> u64 {
    let store = root.images();
    let image = store
        .config(&r.image_id)
        .map(|c| store.image_size(&c))
        .unwrap_or(0);
    size_rw(root, r) + image
}

#[cfg(test)]
mod tests {
    use super::matches_pattern;

    #[test]
    fn filter_patterns_are_ascii_regular_expressions_searched_anywhere() {
        assert!(matches_pattern("^web", "web-1"));
        assert!(matches_pattern("b-\\d$", "web-1"));
        assert!(matches_pattern("^\\w+-1$", "web_x-1"));
        assert!(matches_pattern("(?i)^WEB", "web-1"));
        assert!(matches_pattern("^/web", "/web-1"));
        assert!(!matches_pattern("^eb", "web-1"));
        // One that does not compile matches nothing, as in dockerd.
        assert!(!matches_pattern("web(", "web("));
        // A Unicode class needs the tables left out: it does not compile.
        assert!(!matches_pattern("\\pL", "web"));
        // A non-ASCII letter is its UTF-8 bytes.
        assert!(matches_pattern("^w.b", "wxbé"));
        assert!(matches_pattern("bé$", "wébé"));
    }
}
