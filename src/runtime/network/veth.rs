//! The veth pair: a virtual Ethernet cable with a plug at each end.
//!
//! Whatever goes into one end of a veth pair comes out of the other. Made in
//! the host's namespace, one end is then *moved* into the container's
//! namespace and renamed `eth0` (a link can belong to exactly one namespace);
//! the other end stays on the host as `gb…` (docker's `vethXXXX`) and is
//! plugged into the bridge. Each end sees the other's ifindex as its `iflink`
//! (/sys/class/net/IFACE/iflink): that is how the lab pairs a container's
//! `eth0` with its host end.
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

/// The peer's name while it is still in the host namespace, before the move.
pub fn temporary_peer_name(host: &str) -> String {
    format!("{host}c")
}

/// Step `create_veth_pair`: both ends in the host namespace; the container's
/// end already carries its MAC address.
pub fn create_veth_pair(
    nl: &mut Netlink,
    host: &str,
    peer: &str,
    mac: [u8; 6],
    trace: &mut Trace,
) -> Result<(), NetworkError> {
    let t = now_ns();
    nl.create_veth_pair(host, peer, mac)?;
    trace.step(
        "engine",
        t,
        "create_veth_pair",
        format!("RTM_NEWLINK {host} kind veth peer {peer} address {} (ip link add {host} type veth peer name {peer})", format_mac(&mac)),
    );
    Ok(())
}

/// Step `move_to_netns`: the peer leaves the host for the container's
/// namespace, as `eth0`.
pub fn move_to_netns(
    nl: &mut Netlink,
    peer: &str,
    netns: RawFd,
    netns_path: &str,
    trace: &mut Trace,
) -> Result<(), NetworkError> {
    let t = now_ns();
    nl.move_to_netns(peer, netns, CONTAINER_IFNAME)?;
    trace.step(
        "engine",
        t,
        "move_to_netns",
        format!("RTM_NEWLINK {peer} IFLA_NET_NS_FD={netns_path} IFLA_IFNAME={CONTAINER_IFNAME} (ip link set {peer} netns … name {CONTAINER_IFNAME})"),
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
