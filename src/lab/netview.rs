//! A network namespace's addresses and routes, read from /proc/PID/net.
//!
//! /proc/PID/net shows the network namespace of PID, so the host can read a
//! container's view without entering it: `route` is the IPv4 routing table
//! (addresses in little-endian hex), `fib_trie` the kernel's lookup tree,
//! where each local address is a `/32 host LOCAL` leaf.

use std::net::Ipv4Addr;

use crate::inspect::{ParseError, ReadError};

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

/// The local IPv4 addresses in /proc/net/fib_trie, without loopback, sorted.
pub fn parse_fib_trie_locals(text: &str) -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(addr) = t.strip_prefix("|-- ") {
            last = addr.trim().parse().ok();
        } else if t.starts_with("/32 host LOCAL")
            && let Some(a) = last
            && !a.is_loopback()
            && !out.contains(&a)
        {
            out.push(a);
        }
    }
    out.sort();
    out
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

/// Reads the local addresses of PID's network namespace.
pub fn read_local_addresses(pid: u32) -> Result<Vec<Ipv4Addr>, ReadError> {
    let path = std::path::PathBuf::from(format!("/proc/{pid}/net/fib_trie"));
    let text = std::fs::read_to_string(&path).map_err(|e| ReadError::Io { path, source: e })?;
    Ok(parse_fib_trie_locals(&text))
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
    fn fib_trie_local_addresses() {
        let text = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 127.0.0.0/8 2 0 2\n        |-- 127.0.0.1\n           /32 host LOCAL\n     |-- 172.29.0.2\n        /32 host LOCAL\nLocal:\n     |-- 172.29.0.2\n        /32 host LOCAL\n";
        assert_eq!(
            parse_fib_trie_locals(text),
            vec![Ipv4Addr::new(172, 29, 0, 2)]
        );
    }
}
