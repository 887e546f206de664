//! `/volumes` and `/networks`: named volumes, and the three networks
//! glassbox has (`bridge`: glassbox0; `host`; `none`).

use super::ApiError;
use super::server::Ctx;
use crate::engine::{EngineError, container, volume};
use serde_json::{Value, json};

fn volume_json(v: &volume::Volume) -> Value {
    json!({
        "CreatedAt": crate::timefmt::rfc3339(v.created),
        "Driver": "local",
        "Labels": {},
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Options": {},
        "Scope": "local",
    })
}

fn find_volume(ctx: &Ctx, name: &str) -> Result<volume::Volume, ApiError> {
    volume::list(ctx.root())?
        .into_iter()
        .find(|v| v.name == name)
        .ok_or_else(|| EngineError::NoSuchVolume(name.to_string()).into())
        .map_err(|e: anyhow::Error| e.into())
}

/// `GET /volumes?filters=` (`name`, `dangling`).
pub fn volume_list(ctx: &mut Ctx) -> Result<(), ApiError> {
    let filters = crate::engine::describe::Filters::from_json(ctx.req.q("filters").unwrap_or(""))?;
    let root = ctx.root().clone();
    let mut out = Vec::new();
    for v in volume::list(&root)? {
        let name_ok = filters
            .get("name")
            .is_none_or(|ns| ns.iter().any(|n| v.name.contains(n.as_str())));
        let dangling_ok = match filters.get("dangling") {
            Some(d) => {
                let dangling = volume::users(&root, &v.name)?.is_empty();
                d.iter().any(|x| (x == "true" || x == "1") == dangling)
            }
            None => true,
        };
        if name_ok && dangling_ok {
            out.push(volume_json(&v));
        }
    }
    ctx.json(200, &json!({ "Volumes": out, "Warnings": [] }))
}

/// `POST /volumes/create` with `{"Name": …}`: 201 and the volume.
pub fn volume_create(ctx: &mut Ctx) -> Result<(), ApiError> {
    let body = ctx.body_json()?;
    let name = match body["Name"].as_str().filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        // docker names an anonymous volume by 64 random hex digits.
        None => container::new_id(),
    };
    if body["Driver"]
        .as_str()
        .is_some_and(|d| !d.is_empty() && d != "local")
    {
        return Err(ApiError::bad_request(format!(
            "volume driver {:?} is not available: glassbox has the local driver",
            body["Driver"].as_str().unwrap_or("")
        )));
    }
    if !volume::valid_name(&name) {
        return Err(ApiError::bad_request(format!(
            "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )));
    }
    let root = ctx.root().clone();
    volume::create(&root, &name)?;
    crate::engine::events::record(&root, "volume", "create", &name, &[("driver", "local")]);
    let v = find_volume(ctx, &name)?;
    ctx.json(201, &volume_json(&v))
}

/// `GET /volumes/NAME`.
pub fn volume_inspect(ctx: &mut Ctx, name: &str) -> Result<(), ApiError> {
    let v = find_volume(ctx, name)?;
    ctx.json(200, &volume_json(&v))
}

/// `DELETE /volumes/NAME`: 204; 409 while a container uses it.
pub fn volume_remove(ctx: &mut Ctx, name: &str) -> Result<(), ApiError> {
    let v = find_volume(ctx, name)?;
    let root = ctx.root().clone();
    let users = volume::users(&root, &v.name)?;
    if !users.is_empty() {
        let ids: Vec<&str> = users.iter().map(|r| r.id.as_str()).collect();
        return Err(ApiError::conflict(format!(
            "remove {}: volume is in use - [{}]",
            v.name,
            ids.join(", ")
        )));
    }
    volume::remove(&root, &v.name)?;
    crate::engine::events::record(&root, "volume", "destroy", &v.name, &[("driver", "local")]);
    ctx.empty(204)
}

/// The three networks: `bridge` is glassbox0 with its subnet.
fn networks(ctx: &Ctx) -> Vec<Value> {
    let root = ctx.root();
    let subnet = crate::runtime::network::ipam::Subnet::from_env();
    let (cidr, gateway) = match &subnet {
        Ok(s) => (s.to_string(), s.gateway().to_string()),
        Err(_) => (String::new(), String::new()),
    };
    let members = |mode: &str| -> Value {
        let mut m = serde_json::Map::new();
        for r in container::list(root).unwrap_or_default() {
            if r.is_running() && crate::engine::network::effective_mode(&r.config) == mode {
                let s = crate::engine::network::settings_json(root, &r);
                let ep = &s["Networks"][mode];
                m.insert(
                    r.id.clone(),
                    json!({
                        "Name": r.name,
                        "EndpointID": "",
                        "MacAddress": ep["MacAddress"],
                        "IPv4Address": match ep["IPAddress"].as_str() {
                            Some(ip) if !ip.is_empty() => format!("{ip}/{}", ep["IPPrefixLen"]),
                            _ => String::new(),
                        },
                        "IPv6Address": "",
                    }),
                );
            }
        }
        Value::Object(m)
    };
    let net = |name: &str, driver: &str, config: Value, options: Value| {
        json!({
            "Name": name,
            "Id": network_id(name),
            "Created": "0001-01-01T00:00:00Z",
            "Scope": "local",
            "Driver": driver,
            "EnableIPv6": false,
            "IPAM": { "Driver": "default", "Options": null, "Config": config },
            "Internal": false,
            "Attachable": false,
            "Ingress": false,
            "ConfigFrom": { "Network": "" },
            "ConfigOnly": false,
            "Containers": members(name),
            "Options": options,
            "Labels": {},
        })
    };
    vec![
        net(
            "bridge",
            "bridge",
            json!([{ "Subnet": cidr, "Gateway": gateway }]),
            json!({
                "com.docker.network.bridge.name": crate::runtime::network::BRIDGE,
                "com.docker.network.bridge.enable_ip_masquerade": "true",
                "com.docker.network.driver.mtu": "1500",
            }),
        ),
        net("host", "host", json!([]), json!({})),
        net("none", "null", json!([]), json!({})),
    ]
}

/// A stable 64-hex-digit ID for a network name.
fn network_id(name: &str) -> String {
    use sha2::Digest;
    crate::util::text::hex(&sha2::Sha256::digest(
        format!("glassbox network {name}").as_bytes(),
    ))
}

/// `GET /networks?filters=` (`name`, `id`, `driver`, `type`).
pub fn network_list(ctx: &mut Ctx) -> Result<(), ApiError> {
    let filters = crate::engine::describe::Filters::from_json(ctx.req.q("filters").unwrap_or(""))?;
    let list: Vec<Value> = networks(ctx)
        .into_iter()
        .filter(|n| {
            let field = |k: &str| n[k].as_str().unwrap_or("").to_string();
            filters.0.iter().all(|(k, vals)| {
                vals.iter().any(|v| match k.as_str() {
                    "name" => field("Name").contains(v.as_str()),
                    "id" => field("Id").starts_with(v.as_str()),
                    "driver" => field("Driver") == *v,
                    "type" => v == "builtin",
                    "scope" => v == "local",
                    _ => false,
                })
            })
        })
        .collect();
    ctx.json(200, &Value::Array(list))
}

/// `GET /networks/ID` (a name, an ID or an ID prefix).
pub fn network_inspect(ctx: &mut Ctx, id: &str) -> Result<(), ApiError> {
    let found = networks(ctx).into_iter().find(|n| {
        n["Name"].as_str() == Some(id) || n["Id"].as_str().is_some_and(|i| i.starts_with(id))
    });
    match found {
        Some(n) => ctx.json(200, &n),
        None => Err(ApiError::not_found(format!("network {id} not found"))),
    }
}
