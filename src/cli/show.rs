//! What the read-only commands print: `ps`, `logs`, `top`, `stats`,
//! `inspect`, `images`, in docker's columns and field names.

use crate::engine::container::{self, Record};
use crate::engine::{DataRoot, describe};
use crate::image::store::digest_hex;
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
        println!("{}", out.trim_end());
    };
    line(header.iter().map(|s| s.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

/// docker's COMMAND column: quoted, cut at 20 characters with an ellipsis.
fn command_column(r: &Record) -> String {
    let full = std::iter::once(r.path.as_str())
        .chain(r.args.iter().map(|s| s.as_str()))
        .collect::<Vec<_>>()
        .join(" ");
    let cut: String = if full.chars().count() > 20 {
        format!("{}…", full.chars().take(19).collect::<String>())
    } else {
        full
    };
    format!("\"{cut}\"")
}

fn ago(ns: u64) -> String {
    format!(
        "{} ago",
        timefmt::human_duration(timefmt::now_unix_ns().saturating_sub(ns))
    )
}

/// `glassbox ps [-a] [-q]`.
pub fn ps(root: &DataRoot, all: bool, quiet: bool) -> anyhow::Result<()> {
    let records: Vec<Record> = container::list(root)?
        .into_iter()
        .filter(|r| all || r.is_running())
        .collect();
    if quiet {
        for r in &records {
            println!("{}", r.short_id());
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.short_id().to_string(),
                r.image.clone(),
                command_column(r),
                ago(r.created),
                r.status_line(),
                crate::engine::network::ports_column(root, r),
                r.name.clone(),
            ]
        })
        .collect();
    table(
        &[
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES",
        ],
        &rows,
    );
    Ok(())
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
        println!("{line}");
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
            print!("\x1b[2J\x1b[H");
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
        if no_stream {
            return Ok(());
        }
        let _ = std::io::stdout().flush();
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
            eprintln!("glassbox: no such object: {n}");
            code = 1;
        }
    }
    match template {
        Some(t) => {
            for doc in &docs {
                println!("{}", t.render(doc)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(&docs)?),
    }
    Ok(code)
}

/// `glassbox images`.
pub fn images(root: &DataRoot) -> anyhow::Result<()> {
    let store = root.images();
    let mut rows = Vec::new();
    for (reference, id) in store.tags()? {
        let Ok(config) = store.config(&id) else {
            continue;
        };
        let (repo, tag) = reference.rsplit_once(':').unwrap_or((&reference, "latest"));
        let size = store.image_size(&config);
        rows.push(vec![
            repo.to_string(),
            tag.to_string(),
            digest_hex(&id)[..12].to_string(),
            super::image::ago(config.created.as_deref()),
            super::image::size(size),
        ]);
    }
    table(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], &rows);
    Ok(())
}
