//! One function per live panel, each drawing its part of the [`Sample`].
//!
//! A panel shows what the sampler read, or, in one sentence, why there is
//! nothing to read (no container yet, the container exited, a tool missing).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Sparkline, Widget, Wrap};

use super::{App, Pane, view};
use crate::inspect::proc_status::{CAPABILITIES, capability_names};
use crate::lab::lesson::PanelKind;
use crate::lab::sample::{Reading, Sample, UpperKind};
use crate::util::text::{SizeStyle, human_bytes};

/// Draws the panel `kind` (the step's panel `index`) of the current sample,
/// scrolled as the student left it (Tab focuses, PgDn scrolls).
pub fn render_panel(kind: PanelKind, app: &App, index: usize, area: Rect, buf: &mut Buffer) {
    let s = &app.sample;
    // Host-wide panels are not about the focused container.
    let label = if kind.host_wide() {
        String::new()
    } else {
        focus_label(s)
    };
    let title = format!(" {} {label}", kind.name());
    let pane = Pane::Panel(index);
    let focused = app.pane == pane;
    let inner = view::frame(focused).inner(area);
    if inner.height == 0 || inner.width == 0 {
        view::frame(focused).title(title).render(area, buf);
        return;
    }
    let Some(p) = paragraph(kind, app, inner.width) else {
        view::frame(focused).title(title).render(area, buf);
        cgroup(s, inner, buf);
        return;
    };
    view::scrolled(p, title, app, pane, app.panel_scroll(index), area, buf);
}

/// How many lines the panel `kind` has at `width` columns (0 for the
/// cgroup panel, whose gauge and sparkline fill what they get).
pub fn line_count(kind: PanelKind, app: &App, width: u16) -> usize {
    paragraph(kind, app, width).map_or(0, |p| p.line_count(width))
}

/// The panel's text, wrapped; `None` for the cgroup panel (drawn as a
/// gauge and a sparkline).
fn paragraph(kind: PanelKind, app: &App, width: u16) -> Option<Paragraph<'static>> {
    let s = &app.sample;
    let w = width as usize;
    let lines = match kind {
        PanelKind::Namespaces => with(&s.namespaces, namespaces),
        PanelKind::Processes => with(&s.processes, |p| processes(p, w)),
        PanelKind::Cgroup => return None,
        PanelKind::Layers => with(&s.layers, layers),
        PanelKind::Upper => with(&s.upper, upper),
        PanelKind::Network => with(&s.network, network),
        PanelKind::Nat => with(&s.nat, |r| nat(r)),
        PanelKind::Security => with(&s.security, security),
        PanelKind::Devices => with(&s.devices, devices),
        PanelKind::Timeline => timeline(app, w),
        PanelKind::Chain => with(&s.chain, |c| chain(c, w)),
        PanelKind::Bundle => with(&s.bundle, |b| {
            b.iter().map(|l| Line::from(l.clone())).collect()
        }),
        PanelKind::Dataroot => with(&s.dataroot, |r| dataroot(r)),
        PanelKind::Build => build(app),
        PanelKind::Trace => with(&s.trace, |e| trace(e, w)),
        PanelKind::Api => with(&s.api, |a| api(a, w)),
    };
    let lines = if lines.is_empty() {
        container_missing(s)
    } else {
        lines
    };
    Some(Paragraph::new(lines).wrap(Wrap { trim: false }))
}

fn focus_label(s: &Sample) -> String {
    match s.container.ready() {
        Some(c) if c.running => format!("· {} pid {} ", c.name, c.pid),
        Some(c) => format!("· {} {} ", c.name, c.status),
        None => String::new(),
    }
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// Why a panel is empty: the container's reason if there is one.
fn container_missing(s: &Sample) -> Vec<Line<'static>> {
    match &s.container {
        Reading::Missing(m) => vec![Line::from(m.clone())],
        _ => vec![Line::from("waiting for the first sample…")],
    }
}

/// The panel's lines, or why there are none.
fn with<T>(r: &Reading<T>, f: impl FnOnce(&T) -> Vec<Line<'static>>) -> Vec<Line<'static>> {
    match r {
        Reading::Ready(v) => {
            let lines = f(v);
            if lines.is_empty() {
                vec![Line::from("(nothing yet)")]
            } else {
                lines
            }
        }
        Reading::Missing(m) => vec![Line::from(m.clone())],
        Reading::Absent => Vec::new(),
    }
}

fn namespaces(v: &crate::lab::sample::NsView) -> Vec<Line<'static>> {
    let rows = &v.rows;
    let mut lines = vec![
        Line::from(format!(
            "/proc/PID/ns inodes: host ({}) against the container",
            v.host
        )),
        Line::from(Span::styled(
            format!("{:<7} {:<12} {:<12} {}", "TYPE", "HOST", "CONTAINER", "→"),
            bold(),
        )),
    ];
    let inode = |i: Option<u64>| i.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    for r in rows {
        let verdict = if r.a.is_none() || r.b.is_none() {
            Span::raw("not on this kernel")
        } else if r.shared {
            Span::raw("same: shared with the host")
        } else {
            Span::styled("own namespace", Style::default().fg(Color::Green))
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{:<7} {:<12} {:<12} ",
                r.kind.name(),
                inode(r.a),
                inode(r.b)
            )),
            verdict,
        ]));
    }
    lines
}

/// Cuts a line to `width` characters, marking the cut with `…`.
pub(crate) fn fit(text: String, width: usize) -> String {
    if text.chars().count() <= width || width == 0 {
        return text;
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn processes(v: &crate::lab::sample::ProcessesView, width: usize) -> Vec<Line<'static>> {
    let inside = v.rows.iter().filter(|r| r.ns_pid.is_some()).count();
    let mut lines = vec![
        Line::from(format!(
            "the host sees {} processes; the container sees {inside}",
            v.host_total
        )),
        Line::from(Span::styled(
            format!(
                "{:>9} {:>10} {:>5}  {}",
                "HOST PID", "PID INSIDE", "UID", "COMMAND"
            ),
            bold(),
        )),
    ];
    for r in &v.rows {
        let ns = match r.ns_pid {
            Some(p) => p.to_string(),
            None => "(outside)".into(),
        };
        lines.push(Line::from(fit(
            format!("{:>9} {:>10} {:>5}  {}", r.host_pid, ns, r.uid, r.command),
            width,
        )));
    }
    lines
}

fn cgroup(s: &Sample, area: Rect, buf: &mut Buffer) {
    let v = match &s.cgroup {
        Reading::Ready(v) => v,
        other => {
            let lines = match other {
                Reading::Missing(m) => vec![Line::from(m.clone())],
                _ => container_missing(s),
            };
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .render(area, buf);
            return;
        }
    };
    let u = &v.usage;
    let spark = area.height.saturating_sub(6).min(8);
    let rows = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(spark),
        Constraint::Min(0),
    ])
    .split(area);
    Paragraph::new(format!("cgroup v{} {}", v.version, v.dir)).render(rows[0], buf);
    let (ratio, label) = match u.memory_limit {
        Some(limit) if limit > 0 => (
            (u.memory_bytes as f64 / limit as f64).clamp(0.0, 1.0),
            format!(
                "memory {} of {} ({:.0}%)",
                human_bytes(u.memory_bytes, SizeStyle::Lab),
                human_bytes(limit, SizeStyle::Lab),
                u.memory_bytes as f64 * 100.0 / limit as f64
            ),
        ),
        _ => (
            0.0,
            format!(
                "memory {} (no limit)",
                human_bytes(u.memory_bytes, SizeStyle::Lab)
            ),
        ),
    };
    Gauge::default()
        .gauge_style(Style::default().fg(Color::Cyan).bg(Color::Black))
        .use_unicode(true)
        .ratio(ratio)
        .label(label)
        .render(rows[1], buf);
    if rows[2].height > 0 {
        let data: Vec<u64> = v
            .memory_history
            .iter()
            .rev()
            .take(rows[2].width as usize)
            .rev()
            .copied()
            .collect();
        Sparkline::default()
            .data(&data)
            .max(
                u.memory_limit
                    .unwrap_or(0)
                    .max(data.iter().copied().max().unwrap_or(1)),
            )
            .render(rows[2], buf);
    }
    let quota = match u.cpu_quota {
        Some((q, p)) => format!("quota {} ms per {} ms", q / 1000, p / 1000),
        None => "no quota".into(),
    };
    let pids = match u.pids_max {
        Some(m) => format!("{} of {m}", u.pids_current),
        None => format!("{} (no limit)", u.pids_current),
    };
    let lines = vec![
        Line::from(format!(
            "cpu {:.1}% of a core · used {:.2} s · {quota}",
            v.cpu_percent,
            u.cpu_usage_usec as f64 / 1e6
        )),
        Line::from(format!(
            "throttled {} times, {:.0} ms in all",
            u.nr_throttled,
            u.throttled_usec as f64 / 1000.0
        )),
        Line::from(format!("pids {pids}")),
        Line::from(vec![
            Span::raw("OOM kills "),
            Span::styled(
                u.oom_kills.to_string(),
                if u.oom_kills > 0 {
                    bold().fg(Color::Red)
                } else {
                    Style::default()
                },
            ),
        ]),
    ];
    Paragraph::new(lines).render(rows[3], buf);
}

/// `/var/lib/glassbox/layers/3f2a…/diff` -> `layers/3f2a9c01b7de…/diff`.
fn short_path(p: &str) -> String {
    let parts: Vec<&str> = p.rsplit('/').take(3).collect();
    let mut parts: Vec<String> = parts
        .into_iter()
        .rev()
        .map(|s| {
            if s.len() > 16 {
                format!("{}…", &s[..12])
            } else {
                s.to_string()
            }
        })
        .collect();
    if parts.len() == 3 {
        parts.insert(0, "…".into());
    }
    parts.join("/")
}

fn layers(v: &crate::lab::sample::LayersView) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(format!(
        "image {} · overlay lowerdir, {} layer(s), top first:",
        v.image,
        v.lower.len()
    ))];
    for (i, l) in v.lower.iter().enumerate() {
        let by = if l.created_by.is_empty() {
            "(no history)".to_string()
        } else {
            l.created_by.clone()
        };
        lines.push(Line::from(format!(
            "{:>2} {:>9}  {}  {by}",
            i + 1,
            human_bytes(l.size, SizeStyle::Lab),
            short_path(&l.dir)
        )));
    }
    lines.push(Line::from(format!("upperdir {}", short_path(&v.upperdir))));
    if !v.empty_history.is_empty() {
        lines.push(Line::from(format!(
            "no layer, config only: {}",
            v.empty_history.join(" · ")
        )));
    }
    lines
}

fn upper(v: &crate::lab::sample::UpperView) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(format!(
        "{} · {} entries, {}",
        short_path(&v.dir),
        v.entries.len(),
        human_bytes(v.total_bytes, SizeStyle::Lab)
    ))];
    for e in &v.entries {
        let (tag, style) = match e.kind {
            UpperKind::CopyUp => ("copy-up ", Style::default().fg(Color::Yellow)),
            UpperKind::Added => ("added   ", Style::default().fg(Color::Green)),
            UpperKind::Whiteout => ("whiteout", Style::default().fg(Color::Red)),
            UpperKind::Dir => ("new dir ", Style::default()),
        };
        let size = if e.kind == UpperKind::Whiteout {
            "char 0/0: hides the file below".to_string()
        } else if e.kind == UpperKind::Dir {
            String::new()
        } else {
            human_bytes(e.size, SizeStyle::Lab)
        };
        lines.push(Line::from(vec![
            Span::styled(tag, style),
            Span::raw(format!(" {} {size}", e.path)),
        ]));
    }
    lines
}

fn network(v: &crate::lab::sample::NetworkView) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<9} {:<11} {:<15} {:>10} {:>10}  {}",
            "SIDE", "IFACE", "ADDRESS", "RX bytes", "TX bytes", "VETH PEER"
        ),
        bold(),
    ))];
    for i in &v.ifaces {
        let peer = if i.peer.is_empty() {
            String::new()
        } else {
            format!("⇄ {}", i.peer)
        };
        lines.push(Line::from(format!(
            "{:<9} {:<11} {:<15} {:>10} {:>10}  {peer}",
            i.side,
            i.name,
            i.addresses.first().cloned().unwrap_or_default(),
            i.stats.rx_bytes,
            i.stats.tx_bytes
        )));
        // An interface with several addresses: one more line for each.
        for more in i.addresses.iter().skip(1) {
            lines.push(Line::from(format!("{:<9} {:<11} {more}", "", "")));
        }
    }
    if !v.ifaces.iter().any(|i| i.side == "host") {
        lines.push(Line::from(
            "no glassbox0 bridge or gb… veth on the host: this container has no bridge network",
        ));
    }
    for r in &v.routes {
        lines.push(Line::from(format!("route: {r}")));
    }
    lines
}

fn nat(rules: &[crate::inspect::iptables::Rule]) -> Vec<Line<'static>> {
    if rules.is_empty() {
        return vec![Line::from(
            "no GLASSBOX rules in the nat table: no port is published",
        )];
    }
    let w = rules
        .iter()
        .map(|r| r.chain.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:>6} {:>8}  {:<w$} RULE (iptables-save -c -t nat)",
            "PKTS", "BYTES", "CHAIN"
        ),
        bold(),
    ))];
    for r in rules {
        let style = if r.target.as_deref() == Some("DNAT") && r.packets > 0 {
            bold().fg(Color::Green)
        } else {
            Style::default()
        };
        lines.push(Line::from(Span::styled(
            format!(
                "{:>6} {:>8}  {:<w$} {}",
                r.packets,
                r.bytes,
                r.chain,
                compact_rule(&r.args)
            ),
            style,
        )));
    }
    lines
}

/// A rule's words without the match-module noise (`-m tcp`, comments).
fn compact_rule(args: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1).map(String::as_str)) {
            ("-m", Some("tcp" | "udp")) => i += 2,
            ("-m", Some("comment")) => i += 4,
            _ => {
                out.push(args[i].clone());
                i += 1;
            }
        }
    }
    out.join(" ")
}

fn security(p: &crate::inspect::proc_status::ProcStatus) -> Vec<Line<'static>> {
    let caps = &p.capabilities;
    let eff = capability_names(caps.effective);
    let dropped: Vec<&str> = CAPABILITIES
        .iter()
        .filter(|(_, bit)| caps.bounding & (1u64 << bit) == 0)
        .map(|(n, _)| *n)
        .collect();
    let short = |v: &[&str]| {
        v.iter()
            .map(|n| n.trim_start_matches("CAP_").to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    vec![
        Line::from(format!(
            "uid {} (real {}, saved {}) · gid {}",
            p.uid.effective, p.uid.real, p.uid.saved, p.gid.effective
        )),
        Line::from(format!(
            "NoNewPrivs {} · Seccomp {} ({})",
            u8::from(p.no_new_privs),
            p.seccomp.number(),
            p.seccomp.name()
        )),
        Line::from(vec![
            Span::styled(
                format!(
                    "CapEff {:016x}: {} of {} ",
                    caps.effective,
                    eff.len(),
                    CAPABILITIES.len()
                ),
                bold(),
            ),
            Span::raw(short(&eff)),
        ]),
        Line::from(vec![
            Span::styled(
                format!("not in the bounding set ({}): ", dropped.len()),
                bold(),
            ),
            Span::raw(short(&dropped)),
        ]),
    ]
}

fn devices(v: &crate::lab::sample::DevicesView) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(v.source.clone(), bold()))];
    lines.extend(v.lines.iter().map(|l| Line::from(l.clone())));
    lines
}

fn timeline(app: &App, width: usize) -> Vec<Line<'static>> {
    let s = &app.sample;
    let events = match &s.trace {
        Reading::Ready(e) => e,
        Reading::Missing(m) => {
            let mut lines = vec![Line::from(m.clone())];
            lines.extend(starts_timed(app, &Gantt::new(width, 0.0, app)));
            return lines;
        }
        Reading::Absent => {
            let mut lines = container_missing(s);
            lines.extend(starts_timed(app, &Gantt::new(width, 0.0, app)));
            return lines;
        }
    };
    let first = events.iter().map(|e| e.start_ns).min().unwrap_or(0);
    let last = events
        .iter()
        .map(|e| e.start_ns + e.dur_ns)
        .max()
        .unwrap_or(first);
    let total_ms = (last - first) as f64 / 1e6;
    let plain = app
        .plain_ms
        .map(|ms| format!("{ms:.2} ms"))
        .unwrap_or_else(|| "not measured yet (Enter)".into());
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("container start {total_ms:.1} ms"), bold()),
        Span::raw(format!(" · plain process {plain}")),
    ])];
    // A Gantt chart: each phase drawn where it happened in the start, on
    // one scale with the plain process and the starts timed live (which
    // start at 0).
    let gantt = Gantt::new(width, total_ms, app);
    let label_w = gantt.label_w;
    for e in events {
        let ms = e.dur_ns as f64 / 1e6;
        let from = (e.start_ns - first) as f64 / 1e6;
        let name: String = e.step.chars().take(label_w).collect();
        lines.push(Line::from(format!(
            "{name:<label_w$} {ms:>7.2} ms {}",
            gantt.bar(from, ms)
        )));
    }
    if let Some(ms) = app.plain_ms {
        lines.push(Line::from(Span::styled(
            format!(
                "{:<label_w$} {ms:>7.2} ms {}",
                "plain process (true)",
                gantt.bar(0.0, ms)
            ),
            bold(),
        )));
    }
    lines.extend(starts_timed(app, &gantt));
    lines
}

/// The timeline's scale: `bar_w` cells for the longest of the traced start,
/// the plain process and the starts timed live.
struct Gantt {
    label_w: usize,
    bar_w: usize,
    scale: f64,
}

impl Gantt {
    fn new(width: usize, traced_ms: f64, app: &App) -> Gantt {
        let label_w = 22usize;
        let scale = app
            .starts
            .iter()
            .map(|s| s.ms)
            .fold(traced_ms.max(app.plain_ms.unwrap_or(0.0)), f64::max)
            .max(0.001);
        Gantt {
            label_w,
            bar_w: width.saturating_sub(label_w + 12).max(4),
            scale,
        }
    }

    fn bar(&self, from: f64, ms: f64) -> String {
        let pad = ((from / self.scale) * self.bar_w as f64).floor() as usize;
        let len = ((ms / self.scale) * self.bar_w as f64).ceil().max(1.0) as usize;
        // A phase at the very end still gets one cell, inside the line.
        let pad = pad.min(self.bar_w - 1);
        format!(
            "{}{}",
            " ".repeat(pad),
            "█".repeat(len.min(self.bar_w - pad))
        )
    }
}

/// Topic 7's `starts`: each contestant's median, as measured just now.
fn starts_timed(app: &App, gantt: &Gantt) -> Vec<Line<'static>> {
    if app.starts.is_empty() {
        return Vec::new();
    }
    let label_w = gantt.label_w;
    let mut lines = vec![Line::from(Span::styled(
        "timed just now, spawn to exit status (median):",
        bold(),
    ))];
    for s in &app.starts {
        lines.push(Line::from(format!(
            "{:<label_w$} {:>7.2} ms {}",
            format!("{} (×{})", s.who, s.runs),
            s.ms,
            gantt.bar(0.0, s.ms)
        )));
    }
    lines
}

fn chain(rows: &[crate::lab::sample::ChainRow], width: usize) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(
        "PID, comm, command line: from PID 1 down to the container by PPid (/proc)",
    )];
    for (depth, r) in rows.iter().rev().enumerate() {
        let indent = "  ".repeat(depth);
        let head = format!("{indent}└─ {} ", r.pid);
        let rest = fit(
            format!("  {}", r.command),
            width.saturating_sub(head.chars().count() + r.comm.chars().count()),
        );
        lines.push(Line::from(vec![
            Span::raw(head),
            Span::styled(r.comm.clone(), bold()),
            Span::raw(rest),
        ]));
        if !r.role.is_empty() {
            lines.push(Line::from(Span::styled(
                fit(format!("{indent}   ↑ {}", r.role), width),
                bold(),
            )));
        }
    }
    lines
}

/// Topic 8: the chain a docker command goes through, top down, then the
/// daemon's requests as they arrive (the newest last).
fn api(view: &crate::lab::sample::ApiView, width: usize) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(
        "docker CLI → socket → glassbox daemon → shim → container (/proc):",
        bold(),
    ))];
    for (i, link) in view.links.iter().enumerate() {
        let arrow = if i == 0 { " " } else { "↓" };
        let pid = link.pid.map(|p| p.to_string()).unwrap_or_default();
        lines.push(Line::from(fit(
            format!("{arrow} {:<15} {pid:>7}  {}", link.what, link.detail),
            width,
        )));
    }
    lines.push(Line::from(Span::styled(
        format!("API requests, as the daemon logs them ({}):", view.log),
        bold(),
    )));
    if view.requests.is_empty() {
        lines.push(Line::from(
            "  none yet: the daemon writes one line per request it answers",
        ));
    }
    for r in &view.requests {
        let style = if r.status >= 400 {
            Style::default().fg(Color::Red)
        } else {
            Style::default()
        };
        lines.push(Line::from(Span::styled(
            fit(
                format!(
                    "  {} {:<6} {:>3} {:>8.1} ms  {}",
                    r.time, r.method, r.status, r.ms, r.path
                ),
                width,
            ),
            style,
        )));
    }
    lines
}

fn dataroot(rows: &[crate::lab::sample::TreeRow]) -> Vec<Line<'static>> {
    rows.iter()
        .map(|r| {
            let indent = "  ".repeat(r.depth);
            let slash = if r.is_dir { "/" } else { "" };
            let size = if r.bytes > 0 {
                human_bytes(r.bytes, SizeStyle::Lab)
            } else {
                String::new()
            };
            Line::from(format!("{size:>10}  {indent}{}{slash}", r.name))
        })
        .collect()
}

fn build(app: &App) -> Vec<Line<'static>> {
    if app.builds.is_empty() {
        return vec![Line::from(
            "no build yet: Enter runs this step's build; each step then shows here as RAN or CACHED with its time",
        )];
    }
    let mut lines = Vec::new();
    // Newest first, so that a short panel still shows the latest build.
    for b in app.builds.iter().rev() {
        let mark = if b.ok { "✓" } else { "✗" };
        let cached = b.steps.iter().filter(|s| s.cached).count();
        lines.push(Line::from(Span::styled(
            format!(
                "{mark} {} · {:.2} s · {cached}/{} steps from the cache",
                b.tag,
                b.total_ms / 1000.0,
                b.steps.len()
            ),
            bold(),
        )));
        if b.steps.is_empty() {
            lines.push(Line::from("  (the builder printed no steps)"));
        }
        for st in &b.steps {
            let (tag, style) = if st.cached {
                ("CACHED", Style::default().fg(Color::Green))
            } else {
                ("RAN   ", Style::default().fg(Color::Yellow))
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {tag}"), style),
                Span::raw(format!(" {:>8.0} ms  {}", st.ms, st.instruction)),
            ]));
        }
    }
    lines
}

/// One line per step: time, actor, step in bold, then what was asked of
/// the kernel, its continuation lines indented under the step's name so
/// that each event reads as one block. Long IDs are cut to docker's 12.
fn trace(events: &[crate::runtime::trace::Event], width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for e in events {
        let head = format!("{:>8.2} ms {:<7} ", e.dur_ns as f64 / 1e6, e.actor);
        let indent = head.chars().count();
        let head = vec![
            Span::raw(head),
            Span::styled(e.step.clone(), bold()),
            Span::raw(" "),
        ];
        lines.extend(hanging(head, &short_ids(&e.detail), width, indent));
    }
    lines
}

/// `text` with every run of 32 or more hex digits (a container or layer
/// ID) cut to its first 12, as `docker ps` shows them.
pub fn short_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 32 {
            out.push_str(&run[..12]);
            out.push('…');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `head`, then the words of `text` wrapped to `width` columns, each
/// continuation line indented by `indent`; a word longer than a line is
/// cut where the line ends.
fn hanging(
    head: Vec<Span<'static>>,
    text: &str,
    width: usize,
    indent: usize,
) -> Vec<Line<'static>> {
    let width = width.max(indent + 8);
    let mut lines = Vec::new();
    let mut used: usize = head.iter().map(|s| s.content.chars().count()).sum();
    let mut spans = head;
    let mut line = String::new();
    let mut at_start = true;
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let gap = usize::from(!at_start);
            if used + gap + word.len() <= width {
                line.push_str(if at_start { "" } else { " " });
                line.extend(word.iter());
                used += gap + word.len();
                at_start = false;
                break;
            }
            if word.len() > width - indent {
                // Too long for any line: fill this one, go on below.
                let room = width.saturating_sub(used + gap);
                if room > 0 {
                    line.push_str(if at_start { "" } else { " " });
                    line.extend(word.drain(..room));
                }
            }
            spans.push(Span::raw(std::mem::take(&mut line)));
            lines.push(Line::from(std::mem::take(&mut spans)));
            line = " ".repeat(indent);
            used = indent;
            at_start = true;
            if word.is_empty() {
                break;
            }
        }
    }
    spans.push(Span::raw(line));
    lines.push(Line::from(spans));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn ids_are_cut_to_twelve() {
        let id = "15f2fe437914db7975162cb2dfc8da8f717f5bec7ce04e06ca28629c694cf098";
        assert_eq!(
            short_ids(&format!("mount /r/containers/{id}/rootfs")),
            "mount /r/containers/15f2fe437914…/rootfs"
        );
        // Short hex words (addresses, masks) stay whole.
        assert_eq!(short_ids("bounding=0xa80425fb"), "bounding=0xa80425fb");
    }

    #[test]
    fn continuation_lines_hang_under_the_step() {
        let head = vec![Span::raw("  0.10 ms init    "), Span::raw("mount_proc ")];
        let lines = hanging(
            head,
            "mount proc proc on /proc in the new namespace",
            40,
            18,
        );
        assert_eq!(
            text(&lines),
            vec![
                "  0.10 ms init    mount_proc mount proc",
                "                  proc on /proc in the",
                "                  new namespace",
            ]
        );
        // A word longer than a line is cut where the line ends.
        let long = "/".repeat(30);
        let lines = hanging(vec![Span::raw("x ")], &long, 20, 4);
        assert!(text(&lines).iter().all(|l| l.chars().count() <= 20));
        assert_eq!(text(&lines).concat().matches('/').count(), 30);
    }
}
