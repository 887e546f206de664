//! `/images/…`, `/build`, `/commit`: the image store through the API.

use super::ApiError;
use super::server::Ctx;
use crate::engine::describe;
use crate::image::{archive, manage};
use serde_json::{Value, json};
use std::io::Write;

/// `GET /images/json?all=&filters=`: one entry per image, with all its tags.
pub fn list(ctx: &mut Ctx) -> Result<(), ApiError> {
    let root = ctx.root().clone();
    let filters = describe::Filters::from_json(ctx.req.q("filters").unwrap_or(""))?;
    let rows = filters.images(&root, describe::image_rows(&root, ctx.req.flag("all")))?;
    let store = root.images();
    let mut seen: Vec<String> = Vec::new();
    let mut out: Vec<Value> = Vec::new();
    for (_, id) in rows {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id.clone());
        if let Ok(config) = store.config(&id) {
            out.push(describe::image_summary(&root, &id, &config));
        }
    }
    out.sort_by_key(|v| std::cmp::Reverse(v["Created"].as_u64().unwrap_or(0)));
    ctx.json(200, &Value::Array(out))
}

/// `GET /images/NAME/json`.
pub fn inspect(ctx: &mut Ctx, name: &str) -> Result<(), ApiError> {
    let root = ctx.root().clone();
    let (id, config) = root.images().resolve(name)?;
    ctx.json(200, &describe::image_json(&root, &id, &config))
}

/// `GET /images/NAME/history`.
pub fn history(ctx: &mut Ctx, name: &str) -> Result<(), ApiError> {
    let root = ctx.root().clone();
    let store = root.images();
    let tags = store.tags().unwrap_or_default();
    let rows = manage::history(&store, name)?;
    let out: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let image_tags: Vec<&String> = match &r.image {
                Some(id) => tags.iter().filter(|(_, v)| *v == id).map(|(k, _)| k).collect(),
                None => Vec::new(),
            };
            json!({
                "Id": r.image.clone().unwrap_or_else(|| "<missing>".into()),
                "Created": r.created.as_deref().and_then(crate::timefmt::parse_rfc3339).map_or(0, |ns| ns / 1_000_000_000),
                "CreatedBy": r.created_by,
                "Tags": if image_tags.is_empty() { Value::Null } else { json!(image_tags) },
                "Size": r.size,
                "Comment": r.comment,
            })
        })
        .collect();
    ctx.json(200, &Value::Array(out))
}

/// `POST /images/NAME/tag?repo=&tag=`: 201.
pub fn tag(ctx: &mut Ctx, name: &str) -> Result<(), ApiError> {
    let repo = ctx
        .req
        .q("repo")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("repository name (repo) must have at least one component")
        })?
        .to_string();
    let target = match ctx.req.q("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{repo}:{t}"),
        None => repo,
    };
    let root = ctx.root().clone();
    manage::tag(&root, name, &target).map_err(|e| {
        let api: ApiError = e.into();
        if api.status == 500 {
            ApiError::bad_request(api.message)
        } else {
            api
        }
    })?;
    ctx.empty(201)
}

/// `DELETE /images/NAME?force=`: `[{"Untagged":…},{"Deleted":…}]`.
pub fn remove(ctx: &mut Ctx, name: &str) -> Result<(), ApiError> {
    let root = ctx.root().clone();
    // A conflict is the engine's typed refusal (409), as dockerd's.
    let lines = manage::rmi(&root, name, ctx.req.flag("force"))?;
    let out: Vec<Value> = lines
        .iter()
        .filter_map(|l| {
            if let Some(t) = l.strip_prefix("Untagged: ") {
                Some(json!({ "Untagged": t }))
            } else {
                l.strip_prefix("Deleted: ").map(|d| json!({ "Deleted": d }))
            }
        })
        .collect();
    ctx.json(200, &Value::Array(out))
}

/// `GET /images/NAME/get` and `GET /images/get?names=…`: a docker-archive tar.
pub fn get(ctx: &mut Ctx, name: Option<&str>) -> Result<(), ApiError> {
    let names: Vec<String> = match name {
        Some(n) => vec![n.to_string()],
        None => ctx.req.q_all("names"),
    };
    if names.is_empty() {
        return Err(ApiError::bad_request("no image names given (names=…)"));
    }
    let root = ctx.root().clone();
    for n in &names {
        root.images().resolve(n)?;
    }
    let out = ctx.stream("application/x-tar", &[])?;
    let out = archive::save(&root.images(), &names, archive::Format::Docker, out)?;
    let _ = out.finish();
    Ok(())
}

/// `POST /images/load?quiet=`: reads a docker-archive or OCI layout tar from
/// the body; answers docker's JSON progress lines (`{"stream":"Loaded image: …\n"}`).
pub fn load(ctx: &mut Ctx) -> Result<(), ApiError> {
    let root = ctx.root().clone();
    let loaded = archive::load(&root.images(), ctx.conn.body())?;
    let mut text = Vec::new();
    for (tag, id) in &loaded {
        let line = match tag {
            Some(t) => format!("Loaded image: {t}\n"),
            None => format!("Loaded image ID: {id}\n"),
        };
        let _ = writeln!(text, "{}", json!({ "stream": line }));
        crate::engine::events::record(
            &root,
            "image",
            "load",
            id,
            &[("name", tag.as_deref().unwrap_or(id))],
        );
    }
    ctx.bytes(200, "application/json", &text)
}

/// `POST /images/create?fromImage=&tag=` (`docker pull`): glassbox has no
/// registry client, so an image that is not here is refused in dockerd's
/// words for a repository a registry does not have; one that is here is
/// reported as up to date.
pub fn pull(ctx: &mut Ctx) -> Result<(), ApiError> {
    if let Some(src) = ctx.req.q("fromSrc").map(str::to_string) {
        return import(ctx, &src);
    }
    let image = ctx.req.q("fromImage").unwrap_or("").to_string();
    let tag = ctx
        .req
        .q("tag")
        .filter(|t| !t.is_empty())
        .unwrap_or("latest");
    let reference =
        if image.contains('@') || image.rsplit('/').next().is_some_and(|l| l.contains(':')) {
            image.clone()
        } else {
            format!("{image}:{tag}")
        };
    let root = ctx.root().clone();
    if root.images().resolve(&reference).is_ok() {
        let body = format!(
            "{}\n{}\n",
            json!({ "status": format!("{tag}: Pulling from {image}"), "id": tag }),
            json!({ "status": format!("Status: Image is up to date for {reference}") })
        );
        return ctx.bytes(200, "application/json", body.as_bytes());
    }
    let repo = reference
        .rsplit_once(':')
        .map_or(reference.as_str(), |(r, _)| r);
    Err(ApiError::not_found(format!(
        "pull access denied for {repo}, repository does not exist or may require 'docker login': glassbox has no registry; load the image with `docker load -i FILE` (a `docker save` tar), or build it"
    )))
}

/// `POST /images/create?fromSrc=-&repo=&tag=&message=` (`docker import`):
/// the body is a root filesystem tar; the answer docker's progress line
/// with the new image's ID. A URL to fetch from is refused (glassbox works
/// offline), and so is `--change` (the image gets no config but its
/// filesystem; `run` names the command).
fn import(ctx: &mut Ctx, src: &str) -> Result<(), ApiError> {
    if src != "-" {
        return Err(ApiError::bad_request(format!(
            "glassbox imports from the request body only (docker import FILE or -), not from {src:?}"
        )));
    }
    if ctx.req.q_all("changes").iter().any(|c| !c.is_empty()) {
        return Err(ApiError::bad_request(
            "docker import --change is not supported by glassbox: import, then build FROM the image with the instructions",
        ));
    }
    let repo = ctx.req.q("repo").unwrap_or("").to_string();
    let tag = ctx.req.q("tag").filter(|t| !t.is_empty()).unwrap_or("");
    let reference = match (repo.as_str(), tag) {
        ("", _) => None,
        (r, "") => Some(r.to_string()),
        (r, t) => Some(format!("{r}:{t}")),
    };
    let message = ctx.req.q("message").unwrap_or("").to_string();
    let root = ctx.root().clone();
    let id = manage::import(&root, ctx.conn.body(), reference.as_deref(), &message, "-")
        .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
    crate::engine::events::record(
        &root,
        "image",
        "import",
        &id,
        &[("name", reference.as_deref().unwrap_or(&id))],
    );
    let body = format!("{}\n", json!({ "status": id }));
    ctx.bytes(200, "application/json", body.as_bytes())
}

/// `POST /commit?container=&repo=&tag=&comment=`: `{"Id": …}`, 201.
pub fn commit(ctx: &mut Ctx) -> Result<(), ApiError> {
    let container = ctx
        .req
        .q("container")
        .ok_or_else(|| ApiError::bad_request("container is required"))?
        .to_string();
    let reference = match (
        ctx.req.q("repo").filter(|r| !r.is_empty()),
        ctx.req.q("tag").filter(|t| !t.is_empty()),
    ) {
        (Some(r), Some(t)) => Some(format!("{r}:{t}")),
        (Some(r), None) => Some(r.to_string()),
        _ => None,
    };
    let comment = ctx.req.q("comment").unwrap_or("").to_string();
    // docker pauses a running container while it is committed unless pause=0.
    let pause = !matches!(ctx.req.q("pause"), Some("0" | "false" | "False"));
    let _ = ctx.body_json()?;
    let root = ctx.root().clone();
    crate::engine::container::find(&root, &container)?;
    let id = manage::commit(&root, &container, reference.as_deref(), &comment, pause)?;
    ctx.json(201, &json!({ "Id": id }))
}
