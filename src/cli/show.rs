//! What the read-only commands print: `ps`, `logs`, `top`, `stats`,
//! `inspect`, `images`, in docker's columns and field names.

use super::format;
use crate::engine::container::{self, Record};
use crate::engine::{DataRoot, describe};
use crate::inspect::netdev;
use crate::runtime::cgroups::Cgroup;
use crate::runtime::logs;
use crate::timefmt;
use crate::util::text::{SizeStyle, human_bytes};
use std::io::Write;
use std::time::Duration;

/// Prints rows as left-aligned columns separated by three spaces.
fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let n = cells.len();
        let mut out = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            if i + 1 == n {
                out.push_str(&c);
            } else {
                out.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        crate::outln!("{}", out.trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

/// `glassbox ps`'s flags, docker's.
#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Filter output based on conditions provided: id, name (regular
    /// expressions), status, exited, label, ancestor, before, since, network, volume
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Format output: table (the default), table TEMPLATE, json, or a Go
    /// template ({{.ID}} {{.Names}} {{.Status}} {{.Image}} {{.Command}}
    /// {{.RunningFor}} {{.CreatedAt}} {{.Ports}} {{.State}} {{.Size}}
    /// {{.Labels}} {{.Mounts}} {{.Networks}})
    #[arg(long)]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short, long)]
    pub size: bool,
}

/// `glassbox ps`: the engine's list (dockerd's rules for `-a`, `-n`, `-l`
/// and `--filter`), printed as docker's table.
pub fn ps(root: &DataRoot, a: PsArgs) -> anyhow::Result<()> {
    let limit = if a.latest && a.last < 0 {
        Some(1)
    } else {
        usize::try_from(a.last).ok().filter(|n| *n > 0)
    };
    let opts = describe::ListOptions {
        all: a.all,
        limit,
        filters: describe::Filters::from_args(&a.filter)
            .map_err(|e| crate::engine::EngineError::Invalid(e.0))?,
    };
    let records = describe::list_containers(root, &opts)?;
    let trunc = !a.no_trunc;
    if a.quiet {
        for r in &records {
            crate::outln!("{}", if trunc { r.short_id() } else { &r.id });
        }
        return Ok(());
    }
    let size = a.size || format::uses_size(a.format.as_deref());
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|r| format::container_row(root, r, trunc, size))
        .collect();
    let mut fields = vec![
        "ID",
        "Image",
        "Command",
        "RunningFor",
        "Status",
        "Ports",
        "Names",
    ];
    if a.size {
        fields.push("Size");
    }
    format::print_rows(
        a.format.as_deref(),
        &fields,
        &format::container_headers(),
        &rows,
    )
}

/// `glassbox logs [-f] [--tail N] [-t] [--since T] [--until T]`: the
/// engine reads, this prints each line to stdout or stderr as it was written.
pub fn logs(
    root: &DataRoot,
    name: &str,
    opts: &crate::engine::logs::LogOptions,
    timestamps: bool,
) -> anyhow::Result<()> {
    let record = container::find(root, name)?;
    let mut emit = |e: &logs::Entry| -> std::io::Result<()> {
        let prefix = if timestamps {
            crate::engine::logs::timestamp_prefix(e)
        } else {
            String::new()
        };
        if e.stream == "stderr" {
            let mut err = std::io::stderr().lock();
            err.write_all(prefix.as_bytes())?;
            err.write_all(e.log.as_bytes())
        } else {
            let mut out = std::io::stdout().lock();
            out.write_all(prefix.as_bytes())?;
            out.write_all(e.log.as_bytes())?;
            out.flush()
        }
    };
    crate::engine::logs::read(root, &record, opts, &mut emit, &|| true)
}

/// `glassbox port`: the container's published ports, `80/tcp -> 0.0.0.0:8080`.
pub fn port(root: &DataRoot, name: &str) -> anyhow::Result<()> {
    let record = container::find(root, name)?;
    for line in crate::engine::network::port_lines(root, &record) {
        crate::outln!("{line}");
    }
    Ok(())
}

/// `glassbox top`: the container's processes as the host sees them, with
/// each one's PID inside the container beside its host PID.
pub fn top(root: &DataRoot, name: &str) -> anyhow::Result<()> {
    let record = container::find(root, name)?;
    let rows: Vec<Vec<String>> = describe::top(root, &record)?
        .into_iter()
        .map(|p| {
            vec![
                p.user,
                p.pid.to_string(),
                p.ppid.to_string(),
                p.pid_inside.to_string(),
                describe::cpu_time_text(p.cpu_secs),
                p.command,
            ]
        })
        .collect();
    table(&["UID", "PID", "PPID", "PID INSIDE", "TIME", "CMD"], &rows);
    Ok(())
}

fn host_memory() -> u64 {
    crate::inspect::meminfo::read_mem_total().unwrap_or(0)
}

/// `glassbox stats [--no-stream]`: CPU from two readings of the cgroup's CPU
/// time, memory and PIDs from its counters, network from /proc/PID/net/dev.
pub fn stats(root: &DataRoot, names: &[String], all: bool, no_stream: bool) -> anyhow::Result<()> {
    let layout = root.cgroup_layout()?;
    loop {
        let records: Vec<Record> = if names.is_empty() {
            container::list(root)?
                .into_iter()
                .filter(|r| all || r.is_running())
                .collect()
        } else {
            names
                .iter()
                .map(|n| container::find(root, n))
                .collect::<anyhow::Result<_>>()?
        };
        let groups: Vec<Cgroup> = records
            .iter()
            .map(|r| Cgroup::new(&layout, &r.cgroup))
            .collect();
        let first: Vec<u64> = groups
            .iter()
            .map(|g| g.usage().map(|u| u.cpu_usage_usec).unwrap_or(0))
            .collect();
        let t0 = std::time::Instant::now();
        std::thread::sleep(Duration::from_millis(500));
        let elapsed_us = t0.elapsed().as_micros().max(1) as f64;
        let host_mem = host_memory();
        let mut rows = Vec::new();
        for ((r, g), before) in records.iter().zip(&groups).zip(&first) {
            let running = r.is_running();
            let u = if running { g.usage().ok() } else { None };
            let (cpu, mem, limit, pids) = match u {
                Some(u) => (
                    (u.cpu_usage_usec.saturating_sub(*before)) as f64 / elapsed_us * 100.0,
                    u.memory_bytes,
                    u.memory_limit.unwrap_or(host_mem).min(host_mem.max(1)),
                    u.pids_current,
                ),
                None => (0.0, 0, 0, 0),
            };
            let net = if running {
                netdev::read_proc_net_dev(r.state.pid as u32)
                    .map(|devs| {
                        let (rx, tx) = devs
                            .iter()
                            .filter(|d| d.name != "lo")
                            .fold((0, 0), |(rx, tx), d| {
                                (rx + d.stats.rx_bytes, tx + d.stats.tx_bytes)
                            });
                        format!(
                            "{} / {}",
                            human_bytes(rx, SizeStyle::Docker),
                            human_bytes(tx, SizeStyle::Docker)
                        )
                    })
                    .unwrap_or_else(|_| "--".into())
            } else {
                "--".into()
            };
            let mem_pct = if limit > 0 {
                mem as f64 / limit as f64 * 100.0
            } else {
                0.0
            };
            rows.push(vec![
                r.short_id().to_string(),
                r.name.clone(),
                format!("{cpu:.2}%"),
                format!(
                    "{} / {}",
                    human_bytes(mem, SizeStyle::Docker),
                    human_bytes(limit, SizeStyle::Docker)
                ),
                format!("{mem_pct:.2}%"),
                net,
                pids.to_string(),
            ]);
        }
        if !no_stream {
            crate::out!("\x1b[2J\x1b[H");
        }
        table(
            &[
                "CONTAINER ID",
                "NAME",
                "CPU %",
                "MEM USAGE / LIMIT",
                "MEM %",
                "NET I/O",
                "PIDS",
            ],
            &rows,
        );
        if no_stream || crate::util::out::closed() {
            return Ok(());
        }
    }
}

/// `glassbox inspect [-f TEMPLATE] NAME|IMAGE…`: containers first, then
/// images, as docker; with `-f`, one line per object from the template
/// ([`super::template`]) over the same document.
pub fn inspect(root: &DataRoot, names: &[String], format: Option<&str>) -> anyhow::Result<i32> {
    let template = format.map(super::template::Template::parse).transpose()?;
    let mut docs = Vec::new();
    let mut code = 0;
    for n in names {
        if let Ok(r) = container::find(root, n) {
            docs.push(describe::container_json(root, &r));
        } else if let Ok((id, config)) = root.images().resolve(n) {
            docs.push(describe::image_json(root, &id, &config));
        } else {
            crate::errln!("glassbox: no such object: {n}");
            code = 1;
        }
    }
    match template {
        Some(t) => {
            for doc in &docs {
                crate::outln!("{}", t.render(doc)?);
            }
        }
        None => crate::outln!("{}", serde_json::to_string_pretty(&docs)?),
    }
    Ok(code)
}

/// `glassbox images`'s flags, docker's.
#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided: dangling=true|false,
    /// reference=PATTERN, label, before, since
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Format output: table (the default), table TEMPLATE, json, or a Go
    /// template ({{.Repository}} {{.Tag}} {{.ID}} {{.CreatedSince}}
    /// {{.CreatedAt}} {{.Size}} {{.Digest}} {{.Containers}})
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// REPOSITORY[:TAG]: only images with this name (a reference filter)
    pub repository: Option<String>,
}

/// `glassbox images`: a row per tag (and `<none>` for a dangling image),
/// newest image first, through the engine's filters.
pub fn images(root: &DataRoot, a: ImagesArgs) -> anyhow::Result<()> {
    let store = root.images();
    // A damaged repositories.json is said (and rebuilt) here, not skipped.
    store.tags()?;
    let mut filters = a.filter.clone();
    if let Some(r) = &a.repository {
        filters.push(format!("reference={r}"));
    }
    let filters = describe::Filters::from_args(&filters)
        .map_err(|e| crate::engine::EngineError::Invalid(e.0))?;
    let rows = filters
        .images(root, describe::image_rows(root, a.all))
        .map_err(|e| crate::engine::EngineError::Invalid(e.0))?;
    let mut rows: Vec<(u64, serde_json::Value)> = rows
        .iter()
        .filter_map(|(reference, id)| {
            let config = store.config(id).ok()?;
            let created = config
                .created
                .as_deref()
                .and_then(timefmt::parse_rfc3339)
                .unwrap_or(0);
            Some((
                created,
                format::image_row(root, reference.as_deref(), id, &config, !a.no_trunc),
            ))
        })
        .collect();
    rows.sort_by(|x, y| {
        y.0.cmp(&x.0)
            .then_with(|| x.1["Repository"].as_str().cmp(&y.1["Repository"].as_str()))
            .then_with(|| x.1["Tag"].as_str().cmp(&y.1["Tag"].as_str()))
    });
    let rows: Vec<serde_json::Value> = rows.into_iter().map(|(_, v)| v).collect();
    if a.quiet {
        for r in &rows {
            crate::outln!("{}", r["ID"].as_str().unwrap_or(""));
        }
        return Ok(());
    }
    let fields: &[&str] = if a.digests {
        &["Repository", "Tag", "Digest", "ID", "CreatedSince", "Size"]
    } else {
        &["Repository", "Tag", "ID", "CreatedSince", "Size"]
    };
    format::print_rows(a.format.as_deref(), fields, &format::image_headers(), &rows)
}
