//! The bridge: a software switch inside the kernel (`glassbox0`, docker's `docker0`).
//!
//! A bridge joins Ethernet interfaces the way a hardware switch joins cables:
//! a frame that comes in on one port goes out on the port where the
//! destination MAC was last seen. Each container's host-side veth end is a
//! port of `glassbox0`, so containers reach each other at layer 2, without
//! the host routing anything. The bridge is also an interface of the host
//! itself, with an address (the subnet's first, `172.29.0.1/16`): that makes
//! it the containers' gateway, and gives the host a route into the subnet
//! (`172.29.0.0/16 dev glassbox0`), which is how the host reaches them.

use super::NetworkError;
use super::ipam::Subnet;
use super::netlink::Netlink;
use super::sysctl;
use crate::runtime::trace::{Trace, now_ns};

/// Step `create_bridge`: `ip link add NAME type bridge`.
pub fn create_bridge(nl: &mut Netlink, name: &str, trace: &mut Trace) -> Result<(), NetworkError> {
    let t = now_ns();
    nl.create_bridge(name)?;
    trace.step(
        "engine",
        t,
        "create_bridge",
        format!("RTM_NEWLINK {name} kind bridge (ip link add {name} type bridge)"),
    );
    Ok(())
}

/// Step `assign_address`: the gateway address on the bridge.
pub fn assign_gateway(
    nl: &mut Netlink,
    name: &str,
    subnet: &Subnet,
    trace: &mut Trace,
) -> Result<(), NetworkError> {
    let t = now_ns();
    nl.add_address(name, subnet.gateway(), subnet.prefix)?;
    trace.step(
        "engine",
        t,
        "assign_address",
        format!(
            "RTM_NEWADDR {}/{} dev {name}",
            subnet.gateway(),
            subnet.prefix
        ),
    );
    Ok(())
}

/// Step `set_link_up` for the bridge.
pub fn bring_up(nl: &mut Netlink, name: &str, trace: &mut Trace) -> Result<(), NetworkError> {
    let t = now_ns();
    nl.set_up(name)?;
    trace.step(
        "engine",
        t,
        "set_link_up",
        format!("RTM_NEWLINK {name} flags +UP"),
    );
    Ok(())
}

/// Step `enable_route_localnet` on the bridge (see [`sysctl`]): only with the
/// NAT rules that need it, and only once the loopback guard drops what it
/// would otherwise let in ([`super::nat::install_loopback_guard`]).
pub fn enable_route_localnet(name: &str, trace: &mut Trace) -> Result<(), NetworkError> {
    let t = now_ns();
    let path = sysctl::route_localnet(name);
    sysctl::write(&path, "1")?;
    trace.step(
        "engine",
        t,
        "enable_route_localnet",
        format!("write 1 to {}", path.display()),
    );
    Ok(())
}

/// What the bridge has now: `None` when there is no bridge, else its IPv4
/// addresses.
pub fn existing(
    nl: &mut Netlink,
    name: &str,
) -> Result<Option<Vec<(std::net::Ipv4Addr, u8)>>, NetworkError> {
    if nl.link_index(name)?.is_none() {
        return Ok(None);
    }
    Ok(Some(nl.addresses(name)?))
}

/// Checks that an existing bridge carries `subnet`'s gateway.
pub fn check_matches(
    name: &str,
    found: &[(std::net::Ipv4Addr, u8)],
    subnet: &Subnet,
) -> Result<(), NetworkError> {
    if found
        .iter()
        .any(|(ip, p)| *ip == subnet.gateway() && *p == subnet.prefix)
    {
        return Ok(());
    }
    let (found_text, found_subnet) = match found.first() {
        Some((ip, p)) => {
            let net = std::net::Ipv4Addr::from(u32::from(*ip) & (u32::MAX << (32 - u32::from(*p))));
            (format!("{ip}/{p}"), format!("{net}/{p}"))
        }
        None => ("no address".to_string(), "…".to_string()),
    };
    Err(NetworkError::BridgeMismatch {
        bridge: name.to_string(),
        found: found_text,
        wanted: subnet.to_string(),
        found_subnet,
    })
}

/// Step `delete_bridge`: `ip link del NAME` (its ports are unplugged by the kernel).
pub fn delete_bridge(nl: &mut Netlink, name: &str) -> Result<bool, NetworkError> {
    Ok(nl.delete_link(name)?)
}
