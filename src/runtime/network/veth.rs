//! The veth pair: a virtual Ethernet cable with a plug at each end.
//!
//! Whatever goes into one end of a veth pair comes out of the other. One end
//! lives in the container's namespace as `eth0` (a link belongs to exactly
//! one namespace); the other stays on the host as `gb…` (docker's `vethXXXX`)
//! and is plugged into the bridge. Each end sees the other's ifindex as its
//! `iflink` (/sys/class/net/IFACE/iflink): that is how the lab pairs a
//! container's `eth0` with its host end.
//!
//! The textbook way is two steps, `ip link add gbX type veth peer name tmp`
//! and then `ip link set tmp netns CONTAINER name eth0`. glassbox asks for both
//! in one request: the veth driver can create the peer directly inside
//! another namespace (`IFLA_NET_NS_FD` in the peer's attributes, what `ip link
//! add … peer name eth0 netns X` sends). Same result, but moving an existing
//! link between namespaces makes the kernel unregister and re-register it,
//! waiting for RCU grace periods: about 30 ms here, against half a millisecond
//! for creating it in place.
//!
//! Inside, the container's end then gets what any network card needs: an
//! address with its prefix (which also adds the on-link route for the subnet),
//! the link up, and a default route via the bridge's address. `lo` is brought
//! up too: a new namespace's loopback starts down.

use super::netlink::Netlink;
use super::{CONTAINER_IFNAME, NetworkError, format_mac};
use crate::runtime::trace::{Trace, now_ns};
use std::net::Ipv4Addr;
use std::os::fd::RawFd;

/// The host-side name for a container: `gb` and the first 10 hex digits of its
/// ID (interface names are at most 15 bytes).
pub fn host_name(container_id: &str) -> String {
    format!(
        "{}{}",
        super::VETH_PREFIX,
        &container_id[..10.min(container_id.len())]
    )
}

/// Step `create_veth_pair`: the host end `host` in the host's namespace, the
/// container's end `eth0`, with its MAC address, born inside the namespace
/// `netns` (bound at `netns_path`).
pub fn create_veth_pair(
    nl: &mut Netlink,
    host: &str,
    mac: [u8; 6],
    netns: RawFd,
    netns_path: &str,
    trace: &mut Trace,
) -> Result<(), NetworkError> {
    let t = now_ns();
    nl.create_veth_pair(host, CONTAINER_IFNAME, mac, Some(netns))?;
    trace.step(
        "engine",
        t,
        "create_veth_pair",
        format!(
            "RTM_NEWLINK {host} kind veth, peer {CONTAINER_IFNAME} address {} IFLA_NET_NS_FD={netns_path} \
             (ip link add {host} type veth peer name {CONTAINER_IFNAME} netns …: created and moved in one request)",
            format_mac(&mac)
        ),
    );
    Ok(())
}

/// Step `attach_to_bridge`: the host end becomes a port of the bridge, up.
pub fn attach_to_bridge(
    nl: &mut Netlink,
    host: &str,
    bridge: &str,
    trace: &mut Trace,
) -> Result<(), NetworkError> {
    let t = now_ns();
    nl.set_master_up(host, bridge)?;
    trace.step(
        "engine",
        t,
        "attach_to_bridge",
        format!("RTM_NEWLINK {host} IFLA_MASTER={bridge} flags +UP (ip link set {host} master {bridge} up)"),
    );
    Ok(())
}

/// Steps `loopback_up`, `assign_address`, `set_link_up`, `add_default_route`,
/// through a netlink socket that lives in the container's namespace.
pub fn configure_inside(
    inside: &mut Netlink,
    address: Ipv4Addr,
    prefix: u8,
    gateway: Ipv4Addr,
    trace: &mut Trace,
) -> Result<(), NetworkError> {
    let t = now_ns();
    inside.set_up("lo")?;
    trace.step(
        "engine",
        t,
        "loopback_up",
        "RTM_NEWLINK lo flags +UP (in the container's netns)",
    );
    let t = now_ns();
    inside.add_address(CONTAINER_IFNAME, address, prefix)?;
    trace.step(
        "engine",
        t,
        "assign_address",
        format!("RTM_NEWADDR {address}/{prefix} dev {CONTAINER_IFNAME} (in the container's netns)"),
    );
    let t = now_ns();
    inside.set_up(CONTAINER_IFNAME)?;
    trace.step(
        "engine",
        t,
        "set_link_up",
        format!("RTM_NEWLINK {CONTAINER_IFNAME} flags +UP (in the container's netns)"),
    );
    let t = now_ns();
    inside.add_default_route(gateway)?;
    trace.step(
        "engine",
        t,
        "add_default_route",
        format!(
            "RTM_NEWROUTE default via {gateway} dev {CONTAINER_IFNAME} (in the container's netns)"
        ),
    );
    Ok(())
}

/// Step `delete_veth`: deleting either end deletes the pair.
pub fn delete_veth(nl: &mut Netlink, host: &str) -> Result<bool, NetworkError> {
    Ok(nl.delete_link(host)?)
}
