//! The list commands' output the way docker's CLI writes it: `ps` and
//! `images` rows as docker's formatter fields (`ID`, `Names`, `Status`,
//! `Repository`, …), the default tables made of those fields, and Go's
//! `tabwriter` alignment (cells at least 10 wide, 3 spaces of padding),
//! so `glassbox ps` and `docker ps` print the same columns.

use crate::engine::container::Record;
use crate::engine::{DataRoot, describe};
use crate::timefmt;
use crate::util::text::docker_size;
use serde_json::{Value, json};

/// Aligns tab-separated lines as docker's CLI does with Go's
/// `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`: every cell but a line's
/// last is padded to the column's widest cell plus 3, and to at least 10.
pub fn tabwriter(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for r in &rows {
        // The last cell of a line is not terminated by a tab: not a column.
        for (i, c) in r.iter().take(r.len().saturating_sub(1)).enumerate() {
            let w = c.chars().count();
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max(w);
        }
    }
    let mut out = String::new();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                out.push_str(c);
            } else {
                let width = (widths[i] + 3).max(10);
                out.push_str(c);
                out.push_str(&" ".repeat(width - c.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

/// Prints `rows` (objects of docker's formatter fields) as a table of
/// `fields` under `headers`' names for them.
pub fn print_table(fields: &[&str], headers: &Value, rows: &[Value]) {
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut lines = vec![
        fields
            .iter()
            .map(|f| cell(&headers[*f]))
            .collect::<Vec<_>>()
            .join("\t"),
    ];
    for r in rows {
        lines.push(
            fields
                .iter()
                .map(|f| cell(&r[*f]))
                .collect::<Vec<_>>()
                .join("\t"),
        );
    }
    crate::out!("{}", tabwriter(&lines));
}

/// Prints list rows the way `--format` asks, as docker's formatter does:
/// no format or `table`: the default table of `fields`; `json`: each row
/// as one JSON object (`{{json .}}`); `table TEMPLATE`: a header (the
/// template over the field names' headers), then a row per object,
/// aligned by the tabwriter; any other text: the template per row, as is.
/// `\t` and `\n` written out in the format are a tab and a newline.
pub fn print_rows(
    format: Option<&str>,
    fields: &[&str],
    headers: &Value,
    rows: &[Value],
) -> anyhow::Result<()> {
    let format = format.unwrap_or("table");
    if format.trim() == "table" {
        print_table(fields, headers, rows);
        return Ok(());
    }
    if format.trim() == "json" {
        for r in rows {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(());
    }
    let (table, text) = match format.trim_start().strip_prefix("table") {
        Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => (true, rest),
        _ => (false, format),
    };
    let text = text
        .trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n");
    let template = super::template::Template::parse(&text)?;
    let mut lines = Vec::new();
    if table {
        lines.push(template.render(headers)?);
    }
    for r in rows {
        lines.push(template.render(r)?);
    }
    if table {
        print!("{}", tabwriter(&lines));
    } else {
        for l in lines {
            println!("{l}");
        }
    }
    Ok(())
}

/// Whether a `--format` reads the `Size` field (docker then asks for sizes).
pub fn uses_size(format: Option<&str>) -> bool {
    format.is_some_and(|f| f.contains(".Size"))
}

/// `2026-11-27 20:31:04 +0000 UTC`: Go's `time.Time.String()` in UTC, as
/// docker's `CreatedAt` prints.
pub fn go_time(unix_ns: u64) -> String {
    let t = timefmt::rfc3339(unix_ns);
    format!("{} +0000 UTC", t.get(..19).unwrap_or(&t).replace('T', " "))
}

/// `Ellipsis`: at most `max` characters, the last one `…` when cut.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Go's `strconv.Quote` for the text docker quotes (`COMMAND`).
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The headers of docker's container fields (`table {{.ID}}` prints
/// `CONTAINER ID` above the IDs).
pub fn container_headers() -> Value {
    json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
        "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS",
        "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Names": "NAMES",
        "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
        "LocalVolumes": "LOCAL VOLUMES",
    })
}

/// One container as docker's formatter sees it: the fields a `--format`
/// template names. `trunc`: short ID and a command cut at 20 characters
/// (no `--no-trunc`); `size`: fill `Size` (`-s`, or a format that uses it).
pub fn container_row(root: &DataRoot, r: &Record, trunc: bool, size: bool) -> Value {
    let command = describe::command_line(r);
    let mounts: Vec<String> = r
        .config
        .volumes
        .iter()
        .map(|(s, d, _)| {
            crate::engine::volume::name_of(root, std::path::Path::new(s))
                .unwrap_or_else(|| if trunc { ellipsis(d, 15) } else { d.clone() })
        })
        .collect();
    let local_volumes = r
        .config
        .volumes
        .iter()
        .filter(|(s, _, _)| crate::engine::volume::name_of(root, std::path::Path::new(s)).is_some())
        .count();
    let size_text = if size {
        let rw = describe::size_rw(root, r);
        let virt = describe::size_root_fs(root, r);
        if virt > 0 {
            format!("{} (virtual {})", docker_size(rw), docker_size(virt))
        } else {
            docker_size(rw)
        }
    } else {
        String::new()
    };
    json!({
        "ID": if trunc { r.short_id().to_string() } else { r.id.clone() },
        "Image": r.image,
        "Command": quote(&if trunc { ellipsis(&command, 20) } else { command }),
        "CreatedAt": go_time(r.created),
        "RunningFor": format!("{} ago", timefmt::human_duration(timefmt::now_unix_ns().saturating_sub(r.created))),
        "Ports": crate::engine::network::ports_column(root, r),
        "State": describe::state_word(r),
        "Status": r.status_line(),
        "Size": size_text,
        "Names": r.name,
        "Labels": r.config.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
        "Mounts": mounts.join(","),
        "Networks": r.config.network,
        "LocalVolumes": local_volumes.to_string(),
    })
}

/// The headers of docker's image fields.
pub fn image_headers() -> Value {
    json!({
        "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
        "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
        "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
        "VirtualSize": "SIZE",
    })
}

/// One `images` row (a tag of an image, or a dangling image as
/// `<none>:<none>`) as docker's formatter sees it.
pub fn image_row(
    root: &DataRoot,
    reference: Option<&str>,
    id: &str,
    config: &crate::image::ImageConfig,
    trunc: bool,
) -> Value {
    let store = root.images();
    let (repo, tag) = match reference {
        Some(r) => {
            let (repo, tag) = r.rsplit_once(':').unwrap_or((r, "latest"));
            (repo.to_string(), tag.to_string())
        }
        None => ("<none>".to_string(), "<none>".to_string()),
    };
    let created = config
        .created
        .as_deref()
        .and_then(timefmt::parse_rfc3339)
        .unwrap_or(0);
    let size = docker_size(store.image_size(config));
    let containers = crate::engine::container::list(root)
        .map(|l| l.iter().filter(|r| r.image_id == id).count().to_string())
        .unwrap_or_else(|_| "N/A".into());
    json!({
        "ID": if trunc { describe::short_image_id(id) } else { id.to_string() },
        "Repository": repo,
        "Tag": tag,
        "Digest": "<none>",
        "CreatedSince": if created == 0 { "N/A".to_string() } else {
            format!("{} ago", timefmt::human_duration(timefmt::now_unix_ns().saturating_sub(created)))
        },
        "CreatedAt": if created == 0 { String::new() } else { go_time(created) },
        "Size": size,
        "VirtualSize": size,
        "Containers": containers,
        "SharedSize": "N/A",
        "UniqueSize": "N/A",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabwriter_pads_to_ten_and_three_past_the_widest() {
        let out = tabwriter(&[
            "CONTAINER ID\tIMAGE\tNAMES".to_string(),
            "abc\tbusybox\tweb".to_string(),
        ]);
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     NAMES\nabc            busybox   web\n"
        );
    }

    #[test]
    fn commands_are_quoted_and_cut_at_twenty() {
        assert_eq!(quote(&ellipsis("sh -c echo hi", 20)), "\"sh -c echo hi\"");
        assert_eq!(
            quote(&ellipsis("sh -c while true; do sleep 1; done", 20)),
            "\"sh -c while true; d…\""
        );
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn table_formats_render_headers_then_rows() {
        let rows = [json!({"ID": "abc", "Names": "web", "Status": "Up 1 second"})];
        let headers = container_headers();
        let t = super::super::template::Template::parse("{{.ID}}\t{{.Names}}").unwrap();
        assert_eq!(t.render(&headers).unwrap(), "CONTAINER ID\tNAMES");
        assert_eq!(t.render(&rows[0]).unwrap(), "abc\tweb");
    }

    #[test]
    fn created_at_is_go_s_time_string() {
        assert_eq!(
            go_time(1_700_000_000_000_000_000),
            "2023-11-14 22:13:20 +0000 UTC"
        );
    }
}
