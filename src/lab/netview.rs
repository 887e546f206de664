//! A network namespace's addresses, as the kernel has them now (its routes
//! are read from /proc/PID/net/route by [`crate::inspect::net`]).
//!
//! Addresses come from rtnetlink, as `ip addr` reads them: one `RTM_GETADDR`
//! dump names each address's link by its index, and one `RTM_GETLINK` dump
//! names the indexes. (/proc/PID/net/fib_trie lists a namespace's local
//! addresses too, but not which interface holds each one.) A netlink socket
//! talks to the namespace of the thread that opened it, so a container's are
//! read from a short-lived thread that has joined /proc/PID/ns/net
//! ([`crate::runtime::network::netns::run_in`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::runtime::network::NetworkError;
use crate::runtime::network::netlink::{LinkAddress, Netlink};
use crate::runtime::network::netns;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

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
