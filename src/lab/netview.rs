//! A network namespace's addresses and routes, as the kernel has them now.
//!
//! Routes come from /proc/PID/net/route: /proc/PID/net shows the network
//! namespace of PID, so the host reads a container's routing table without
//! entering it (addresses in little-endian hex).
//!
//! Addresses come from rtnetlink, as `ip addr` reads them: one `RTM_GETADDR`
//! dump names each address's link by its index, and one `RTM_GETLINK` dump
//! names the indexes. (/proc/PID/net/fib_trie lists a namespace's local
//! addresses too, but not which interface holds each one.) A netlink socket
//! talks to the namespace of the thread that opened it, so a container's are
//! read from a short-lived thread that has joined /proc/PID/ns/net
//! ([`crate::runtime::network::netns::run_in`]).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::inspect::{ParseError, ReadError};
use crate::runtime::network::NetworkError;
use crate::runtime::network::netlink::{LinkAddress, Netlink};
use crate::runtime::network::netns;

/// One IPv4 route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub iface: String,
    pub destination: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub mask: Ipv4Addr,
}

impl Route {
    /// As `ip route` prints it: `default via 172.29.0.1 dev eth0`, `172.29.0.0/16 dev eth0`.
    pub fn display(&self) -> String {
        let prefix = u32::from(self.mask).count_ones();
        let dest = if prefix == 0 && self.destination.is_unspecified() {
            "default".to_string()
        } else {
            format!("{}/{prefix}", self.destination)
        };
        if self.gateway.is_unspecified() {
            format!("{dest} dev {}", self.iface)
        } else {
            format!("{dest} via {} dev {}", self.gateway, self.iface)
        }
    }
}

fn hex_addr(field: &str, text: &str) -> Result<Ipv4Addr, ParseError> {
    let n = u32::from_str_radix(text, 16).map_err(|_| ParseError::Invalid {
        field: field.to_string(),
        value: text.to_string(),
        expected: "8 hex digits",
    })?;
    // The kernel prints the address as a host-order u32 of network-order bytes.
    Ok(Ipv4Addr::from(n.to_le_bytes()))
}

/// Parses /proc/net/route.
pub fn parse_route(text: &str) -> Result<Vec<Route>, ParseError> {
    let mut routes = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        routes.push(Route {
            iface: f[0].to_string(),
            destination: hex_addr("destination", f[1])?,
            gateway: hex_addr("gateway", f[2])?,
            mask: hex_addr("mask", f[7])?,
        });
    }
    Ok(routes)
}

/// Each interface's IPv4 addresses, by interface name, as `ip -4 -brief addr`
/// writes them (`172.29.0.2/16`), in the kernel's order.
pub type Addresses = BTreeMap<String, Vec<String>>;

/// Pure: joins the address dump to the link dump by ifindex. An address
/// whose link is not in `links` (deleted between the two dumps) is left out;
/// a link without an address gets an empty list.
pub fn addresses_by_link(links: &[(u32, String)], addresses: &[LinkAddress]) -> Addresses {
    let names: BTreeMap<u32, &str> = links.iter().map(|(i, n)| (*i, n.as_str())).collect();
    let mut out: Addresses = links.iter().map(|(_, n)| (n.clone(), Vec::new())).collect();
    for a in addresses {
        if let Some(name) = names.get(&a.index) {
            out.entry(name.to_string())
                .or_default()
                .push(format!("{}/{}", a.address, a.prefix));
        }
    }
    out
}

/// The addresses of the namespace this thread is in.
fn read_addresses_here() -> Result<Addresses, NetworkError> {
    let mut nl = Netlink::open()?;
    let links = nl.links()?;
    let addresses = nl.ipv4_addresses()?;
    Ok(addresses_by_link(&links, &addresses))
}

/// The addresses of the host's interfaces (the lab's own network namespace,
/// the one /sys/class/net shows it).
pub fn read_host_addresses() -> Result<Addresses, NetworkError> {
    read_addresses_here()
}

/// The addresses of the interfaces in PID's network namespace.
pub fn read_addresses(pid: u32) -> Result<Addresses, NetworkError> {
    let ns = PathBuf::from(format!("/proc/{pid}/ns/net"));
    netns::run_in(&ns, read_addresses_here)?
}

/// Reads the routes of PID's network namespace.
pub fn read_routes(pid: u32) -> Result<Vec<Route>, ReadError> {
    let path = std::path::PathBuf::from(format!("/proc/{pid}/net/route"));
    let text = std::fs::read_to_string(&path).map_err(|e| ReadError::Io {
        path: path.clone(),
        source: e,
    })?;
    parse_route(&text).map_err(|source| ReadError::Parse { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_read_like_ip_route() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t01001DAC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t00001DAC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        let routes = parse_route(text).expect("parse");
        let shown: Vec<String> = routes.iter().map(Route::display).collect();
        assert_eq!(
            shown,
            ["default via 172.29.0.1 dev eth0", "172.29.0.0/16 dev eth0"]
        );
    }

    #[test]
    fn each_interface_gets_its_own_addresses() {
        let links = [
            (1, "lo".to_string()),
            (2, "eth0".to_string()),
            (3, "eth1".to_string()),
        ];
        let addr = |index, a: [u8; 4], prefix| LinkAddress {
            index,
            address: Ipv4Addr::from(a),
            prefix,
        };
        let dump = [
            addr(1, [127, 0, 0, 1], 8),
            addr(2, [172, 29, 0, 2], 16),
            addr(2, [10, 0, 0, 5], 24),
            // On a link that went away between the two dumps.
            addr(9, [192, 168, 1, 1], 24),
        ];
        let by_link = addresses_by_link(&links, &dump);
        assert_eq!(by_link["lo"], ["127.0.0.1/8"]);
        assert_eq!(by_link["eth0"], ["172.29.0.2/16", "10.0.0.5/24"]);
        assert!(by_link["eth1"].is_empty());
        assert_eq!(by_link.len(), 3);
    }
}
