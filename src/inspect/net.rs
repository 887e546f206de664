//! A network namespace's sockets, routes and local addresses, from /proc/PID/net.
//!
//! /proc/PID/net shows the network namespace PID is in, so the host reads a
//! container's tables without entering it. `tcp` and `tcp6` list one socket
//! per line: `local_address rem_address st`, addresses as `HEXIP:HEXPORT`,
//! the state as the kernel's number (0A is LISTEN, 01 ESTABLISHED). `route`
//! is the IPv4 main table, each address a host-order number of network-order
//! bytes. `fib_trie` is the kernel's routing trie as text: under `Local:`, an
//! address marked `/32 host LOCAL` is one the namespace holds.
//!
//! tcp and route are read by procfs-core; fib_trie, which procfs does not
//! parse, is ours.

use std::net::Ipv4Addr;
use std::path::Path;

use procfs_core::net::{RouteEntries, TcpNetEntries};
use procfs_core::{ExplicitSystemInfo, FromBufRead, FromBufReadSI};
use serde::Serialize;

use super::{ParseError, ReadError, proc_dir, read_parsed, read_text};

/// A TCP socket of a network namespace, from /proc/PID/net/tcp or tcp6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TcpSocket {
    pub local_port: u16,
    pub remote_port: u16,
    /// The kernel's state number: 1 ESTABLISHED, 3 SYN_RECV, 10 LISTEN, …
    pub state: u8,
}

pub const TCP_ESTABLISHED: u8 = 0x01;
pub const TCP_LISTEN: u8 = 0x0A;

/// procfs-core needs the byte order only: tcp addresses are printed as
/// host-order numbers.
const THIS_MACHINE: ExplicitSystemInfo = ExplicitSystemInfo {
    boot_time_secs: 0,
    ticks_per_second: 100,
    page_size: 4096,
    is_little_endian: cfg!(target_endian = "little"),
};

/// Parses /proc/net/tcp or /proc/net/tcp6 (with procfs-core): after a header
/// line, one socket per line.
pub fn parse_proc_net_tcp(text: &str) -> Result<Vec<TcpSocket>, ParseError> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        // procfs-core skips a header line: give it an empty one.
        let one = format!("\n{line}");
        let entries = TcpNetEntries::from_buf_read(one.as_bytes(), &THIS_MACHINE)
            .map_err(|e| ParseError::procfs(e).at_line(index, line))?;
        out.extend(entries.0.into_iter().map(|e| TcpSocket {
            local_port: e.local_address.port(),
            remote_port: e.remote_address.port(),
            state: e.state.to_u8(),
        }));
    }
    Ok(out)
}

/// The TCP sockets of the network namespace `pid` is in (IPv4 and IPv6).
pub fn read_tcp_sockets(pid: u32) -> Result<Vec<TcpSocket>, ReadError> {
    let dir = proc_dir(pid).join("net");
    let mut out = read_parsed(&dir.join("tcp"), parse_proc_net_tcp)?;
    match read_parsed(&dir.join("tcp6"), parse_proc_net_tcp) {
        Ok(v6) => out.extend(v6),
        // A kernel without IPv6 has no tcp6.
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    Ok(out)
}

/// One IPv4 route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub iface: String,
    pub destination: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub mask: Ipv4Addr,
}

impl Route {
    /// The mask's length: 16 for 255.255.0.0.
    pub fn prefix(&self) -> u8 {
        u32::from(self.mask).count_ones() as u8
    }

    /// As `ip route` prints it: `default via 172.29.0.1 dev eth0`, `172.29.0.0/16 dev eth0`.
    pub fn display(&self) -> String {
        let prefix = self.prefix();
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

/// Parses /proc/net/route (with procfs-core): a header line, then `Iface
/// Destination Gateway Flags RefCnt Use Metric Mask …`.
pub fn parse_routes(text: &str) -> Result<Vec<Route>, ParseError> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let one = format!("\n{line}");
        let entries = RouteEntries::from_buf_read(one.as_bytes())
            .map_err(|e| ParseError::procfs(e).at_line(index, line))?;
        out.extend(entries.0.into_iter().map(|r| Route {
            iface: r.iface,
            destination: r.destination,
            gateway: r.gateway,
            mask: r.mask,
        }));
    }
    Ok(out)
}

/// Reads the IPv4 routes of `pid`'s network namespace.
pub fn read_routes(pid: u32) -> Result<Vec<Route>, ReadError> {
    read_parsed(&proc_dir(pid).join("net/route"), parse_routes)
}

/// Reads the IPv4 routes of the caller's network namespace (/proc/net/route).
pub fn read_host_routes() -> Result<Vec<Route>, ReadError> {
    read_parsed(Path::new("/proc/net/route"), parse_routes)
}

/// Parses /proc/net/fib_trie for the namespace's own IPv4 addresses: the
/// entries of the `Local:` table marked `/32 host LOCAL`, loopback left out.
pub fn parse_local_addresses(fib_trie: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let t = line.trim();
        if let Some(addr) = t.strip_prefix("|-- ") {
            last = addr.trim().parse().ok();
        } else if t.starts_with("/32 host LOCAL")
            && let Some(a) = last.filter(|a| !a.is_loopback())
            && !out.contains(&a)
        {
            out.push(a);
        }
    }
    out
}

/// The IPv4 addresses of `pid`'s network namespace (/proc/PID/net/fib_trie).
pub fn read_local_addresses(pid: u32) -> Result<Vec<Ipv4Addr>, ReadError> {
    read_text(&proc_dir(pid).join("net/fib_trie")).map(|t| parse_local_addresses(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_tcp() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n   1: 0200A8C0:0050 0100A8C0:D3A4 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1\n";
        let s = parse_proc_net_tcp(text).unwrap();
        assert_eq!(
            s,
            vec![
                TcpSocket {
                    local_port: 80,
                    remote_port: 0,
                    state: TCP_LISTEN
                },
                TcpSocket {
                    local_port: 80,
                    remote_port: 0xD3A4,
                    state: TCP_ESTABLISHED
                }
            ]
        );
        let bad = text.replace("0200A8C0:0050", "0200A8C0:zz");
        let e = parse_proc_net_tcp(&bad).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("zz"), "{e}");
    }

    #[test]
    fn parses_fib_trie_local_addresses() {
        let text = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 127.0.0.0/8 2 0 2\n        |-- 127.0.0.1\n           /32 host LOCAL\n     |-- 172.29.0.0\n        /16 link UNICAST\n     |-- 172.29.0.5\n        /32 host LOCAL\nLocal:\n     |-- 172.29.0.5\n        /32 host LOCAL\n";
        assert_eq!(
            parse_local_addresses(text),
            vec!["172.29.0.5".parse::<Ipv4Addr>().unwrap()]
        );
    }

    #[test]
    fn routes_read_like_ip_route() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t01001DAC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                    eth0\t00001DAC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        let routes = parse_routes(text).unwrap();
        let shown: Vec<String> = routes.iter().map(Route::display).collect();
        assert_eq!(
            shown,
            ["default via 172.29.0.1 dev eth0", "172.29.0.0/16 dev eth0"]
        );
        assert_eq!(routes[1].prefix(), 16);
        let e = parse_routes(&text.replace("0000FFFF", "nothex")).unwrap_err();
        assert!(e.to_string().contains("nothex"), "{e}");
    }
}
