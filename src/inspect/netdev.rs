//! Network interfaces and their byte counters, from /sys/class/net and /proc/net/dev.
//!
//! Every interface has an `ifindex`, unique within its network namespace. A
//! veth is a cable with two ends, and each end's `iflink` is the ifindex of the
//! other: that is how the host's `gb…` veth is paired with a container's `eth0`.
//! /sys/class/net shows the namespace that mounted sysfs; /proc/PID/net/dev
//! shows the namespace of PID, so it reads a container's counters from the host.

use std::path::Path;
use std::str::FromStr;

use serde::Serialize;

use super::{ParseError, ReadError, parse_num, proc_dir, read_parsed, read_text};

/// Traffic counters of one interface, since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NetStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
}

/// One interface as /sys/class/net/IFACE describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetDev {
    pub name: String,
    pub ifindex: u32,
    /// The ifindex of the peer for a veth; equal to `ifindex` for most others.
    pub iflink: u32,
    /// `up`, `down`, `lowerlayerdown`, `unknown` (loopback reports `unknown`).
    pub operstate: String,
    /// The MAC address.
    pub address: String,
    pub stats: NetStats,
}

/// Reads /sys/class/net/NAME, with `root` standing for /sys/class/net.
pub fn read_netdev(root: &Path, name: &str) -> Result<NetDev, ReadError> {
    let dir = root.join(name);
    let number = |file: &str| read_number::<u64>(&dir, file);
    let text = |file: &str| read_text(&dir.join(file)).map(|t| t.trim().to_string());
    Ok(NetDev {
        name: name.to_string(),
        ifindex: read_number(&dir, "ifindex")?,
        iflink: read_number(&dir, "iflink")?,
        operstate: text("operstate")?,
        address: text("address")?,
        stats: NetStats {
            rx_bytes: number("statistics/rx_bytes")?,
            rx_packets: number("statistics/rx_packets")?,
            tx_bytes: number("statistics/tx_bytes")?,
            tx_packets: number("statistics/tx_packets")?,
        },
    })
}

fn read_number<T: FromStr>(dir: &Path, file: &str) -> Result<T, ReadError> {
    read_parsed(&dir.join(file), |text| parse_num(file, text))
}

/// The names of the interfaces in `root` (normally /sys/class/net), sorted.
pub fn list_interface_names(root: &Path) -> Result<Vec<String>, ReadError> {
    let entries = std::fs::read_dir(root).map_err(|e| ReadError::io(root, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ReadError::io(root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // /sys/class/net also holds the `bonding_masters` file, not an interface.
        if entry.path().join("ifindex").exists() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The bridges in `root` (normally /sys/class/net): the interfaces with a
/// `bridge/` directory of bridge attributes, sorted.
pub fn list_bridges(root: &Path) -> Result<Vec<String>, ReadError> {
    Ok(list_interface_names(root)?
        .into_iter()
        .filter(|name| root.join(name).join("bridge").is_dir())
        .collect())
}

/// Every interface in `root`, ordered by ifindex. One that comes or goes
/// while it is read (another container's veth, made or deleted meanwhile) is
/// left out; any other failure is an error.
pub fn list_netdevs(root: &Path) -> Result<Vec<NetDev>, ReadError> {
    let mut devs = Vec::new();
    for name in list_interface_names(root)? {
        let mut read = read_netdev(root, &name);
        // Once more: a new interface can take the name of one just deleted.
        if read.as_ref().is_err_and(in_flux) {
            read = read_netdev(root, &name);
        }
        match read {
            Ok(dev) => devs.push(dev),
            Err(e) if in_flux(&e) => {}
            Err(e) => return Err(e),
        }
    }
    devs.sort_by_key(|d| d.ifindex);
    Ok(devs)
}

/// True when a read under /sys/class/net/NAME failed the way the kernel
/// answers while the interface comes or goes: ENOENT (its directory is
/// gone, or is there before its attribute files are), EINVAL from each
/// attribute once it is unregistering (net-sysfs's `dev_isalive` check), or
/// ENODEV.
fn in_flux(e: &ReadError) -> bool {
    matches!(e, ReadError::Io { source, .. }
        if matches!(source.raw_os_error(), Some(libc::ENOENT | libc::EINVAL | libc::ENODEV)))
}

/// True when `a` and `b` are the two ends of one veth: each one's iflink is
/// the other's ifindex. (Ifindexes are per namespace, so both directions are checked.)
pub fn is_veth_pair(a: &NetDev, b: &NetDev) -> bool {
    a.iflink == b.ifindex && b.iflink == a.ifindex && a.ifindex != a.iflink
}

/// The interface in `candidates` (e.g. the host's) at the other end of `end`
/// (e.g. a container's eth0).
pub fn find_veth_peer<'a>(candidates: &'a [NetDev], end: &NetDev) -> Option<&'a NetDev> {
    candidates.iter().find(|c| is_veth_pair(c, end))
}

/// One row of /proc/net/dev.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcNetDev {
    pub name: String,
    pub stats: NetStats,
}

/// Parses /proc/net/dev: two header lines, then `NAME: ` and 16 counters
/// (8 receive, 8 transmit; bytes and packets come first in each half).
pub fn parse_proc_net_dev(text: &str) -> Result<Vec<ProcNetDev>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.contains('|'))
        .map(|(index, line)| {
            let at = |e: ParseError| e.at_line(index, line);
            let (name, counters) = line
                .split_once(':')
                .ok_or_else(|| at(ParseError::missing("`NAME:` before the counters")))?;
            let counters: Vec<&str> = counters.split_whitespace().collect();
            if counters.len() != 16 {
                return Err(at(ParseError::invalid(
                    "counter count",
                    &counters.len().to_string(),
                    "16 counters",
                )));
            }
            let number = |i: usize, field: &str| parse_num(field, counters[i]).map_err(at);
            Ok(ProcNetDev {
                name: name.trim().to_string(),
                stats: NetStats {
                    rx_bytes: number(0, "rx bytes")?,
                    rx_packets: number(1, "rx packets")?,
                    tx_bytes: number(8, "tx bytes")?,
                    tx_packets: number(9, "tx packets")?,
                },
            })
        })
        .collect()
}

/// Reads /proc/PID/net/dev: the interfaces of PID's network namespace.
pub fn read_proc_net_dev(pid: u32) -> Result<Vec<ProcNetDev>, ReadError> {
    read_parsed(&proc_dir(pid).join("net/dev"), parse_proc_net_dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_error(errno: i32) -> ReadError {
        ReadError::io(
            Path::new("/sys/class/net/gb1/statistics/rx_bytes"),
            std::io::Error::from_raw_os_error(errno),
        )
    }

    #[test]
    fn bridges_are_the_interfaces_with_bridge_attributes() {
        let dir = std::env::temp_dir().join(format!("glassbox-netdev-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (name, bridge) in [("docker0", true), ("eth0", false), ("glassbox0", true)] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("ifindex"), "3\n").unwrap();
            if bridge {
                std::fs::create_dir_all(dir.join(name).join("bridge")).unwrap();
            }
        }
        std::fs::write(dir.join("bonding_masters"), "").unwrap();
        assert_eq!(list_bridges(&dir).unwrap(), ["docker0", "glassbox0"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_interface_coming_or_going_is_in_flux_other_failures_are_not() {
        // Unregistering: the attributes answer EINVAL or ENODEV; gone, or
        // not all there yet: ENOENT.
        assert!(in_flux(&io_error(libc::EINVAL)));
        assert!(in_flux(&io_error(libc::ENODEV)));
        assert!(in_flux(&io_error(libc::ENOENT)));
        assert!(!in_flux(&io_error(libc::EACCES)));
        let parse = ReadError::Parse {
            path: "/sys/class/net/gb1/ifindex".into(),
            source: parse_num::<u32>("ifindex", "x").unwrap_err(),
        };
        assert!(!in_flux(&parse));
    }
}
