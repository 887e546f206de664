//! Container networking: a namespace, a virtual cable, a switch and a few NAT rules.
//!
//! A container with `--network bridge` (docker's default) gets its own network
//! namespace: a private copy of the network stack with its own interfaces,
//! addresses, routes and ports. A new namespace holds only a loopback `lo`, so
//! the engine wires it to the host like this (topic 10):
//!
//! ```text
//!   container netns                 host netns
//!  ┌──────────────────┐
//!  │ eth0 172.29.0.2  │══ veth ══ gb3f2a…  ─┐
//!  └──────────────────┘                     ├── glassbox0 (bridge) 172.29.0.1/16
//!  ┌──────────────────┐                     │        │
//!  │ eth0 172.29.0.3  │══ veth ══ gb91c0…  ─┘        │ routing + iptables NAT
//!  └──────────────────┘                          the host's own interfaces
//! ```
//!
//! - [`netns`]: the namespace itself, kept alive by a bind mount (as `ip netns`
//!   and CNI plugins do), made before the container's process exists;
//! - [`veth`]: the virtual cable, one end (`eth0`) inside the namespace, the
//!   other (`gb…`) plugged into the bridge;
//! - [`bridge`]: `glassbox0`, a software switch with the gateway address, the
//!   counterpart of `docker0`;
//! - [`ipam`]: which address each container gets, from a host-wide allocator;
//! - [`nat`]: iptables rules in chains of our own (`GLASSBOX…`): MASQUERADE so
//!   containers reach out, DNAT for published ports (`-p 8080:80`, topic 11);
//! - [`ports`]: the `-p [IP:]HOST:CTR[/tcp|/udp]` mappings and the in-use check;
//! - [`sysctl`]: the two kernel switches routing needs (`ip_forward`, `route_localnet`);
//! - [`netlink`]: how all of the above is asked of the kernel (rtnetlink).
//!
//! The runtime only makes and removes these objects; the engine
//! (`crate::engine::network`) decides when, journals them and records what
//! a container got.

pub mod bridge;
pub mod ipam;
pub mod nat;
pub mod netlink;
pub mod netns;
pub mod ports;
pub mod sysctl;
pub mod veth;

use std::path::PathBuf;

/// The bridge every bridged container is plugged into (docker's `docker0`).
pub const BRIDGE: &str = "glassbox0";

/// Host-side veth names start with this (docker's `veth…`), so a person and
/// `leak-census` can tell them apart.
pub const VETH_PREFIX: &str = "gb";

/// The name of the container's end of its veth, inside its namespace.
pub const CONTAINER_IFNAME: &str = "eth0";

/// Host-wide run-time state shared by every data root: the lock, the address
/// and port leases, the shared network's record. Under /run, so a reboot
/// (which also removes every link and rule) clears it too.
pub const STATE_DIR: &str = "/run/glassbox/net";

/// What failed while wiring a container's network.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error(transparent)]
    Netlink(#[from] netlink::NetlinkError),
    #[error(transparent)]
    Ipam(#[from] ipam::IpamError),
    #[error(transparent)]
    Nat(#[from] nat::NatError),
    #[error(transparent)]
    Port(#[from] ports::PortError),
    #[error("{what} {path}: {source}")]
    Io {
        what: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the bridge {bridge} already exists with {found}, but this run asks for the subnet {wanted}: \
         run `glassbox cleanup` for every data root that uses it, or set GLASSBOX_SUBNET={found_subnet}"
    )]
    BridgeMismatch {
        bridge: String,
        found: String,
        wanted: String,
        found_subnet: String,
    },
}

impl NetworkError {
    pub(crate) fn io(
        what: impl Into<String>,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> NetworkError {
        let (what, path) = (what.into(), path.into());
        move |source| NetworkError::Io { what, path, source }
    }
}

/// `02:42:` followed by the IPv4 address, as docker derives a container's MAC:
/// the same address always has the same MAC, so a neighbour (ARP) entry the
/// host cached for a previous holder of the address stays right.
pub fn mac_for(ip: std::net::Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// `02:42:ac:1d:00:02`.
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_is_derived_from_the_address() {
        let mac = mac_for("172.29.0.2".parse().unwrap());
        assert_eq!(format_mac(&mac), "02:42:ac:1d:00:02");
    }
}
