//! The two kernel switches that container networking turns on.
//!
//! - `net.ipv4.ip_forward`: a Linux host does not route packets between its
//!   interfaces unless asked. Traffic from a container to the outside world,
//!   and a published port reached from another machine, cross from
//!   `glassbox0` to the host's uplink and back: that is forwarding. docker sets
//!   it to 1 as well; glassbox remembers the old value and puts it back when
//!   the bridge is removed, unless another bridge (docker0) is there then:
//!   its engine may rely on the 1 glassbox wrote.
//! - `net.ipv4.conf.glassbox0.route_localnet`: addresses 127.0.0.0/8 normally
//!   never leave the loopback interface; the kernel drops a packet from
//!   127.0.0.1 that is routed out of any other interface as a "martian". For
//!   `curl 127.0.0.1:8080` to reach a container, the DNAT'd packet must go out
//!   of `glassbox0` still carrying 127.0.0.1 as its source (a MASQUERADE rule
//!   then rewrites it): so the bridge, and only the bridge, allows it. It goes
//!   with the bridge.
//!
//! Both are files under /proc/sys (sysctl(8) writes the same files).

use super::NetworkError;
use std::path::{Path, PathBuf};

/// `/proc/sys/net/ipv4/ip_forward`.
pub const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// `/proc/sys/net/ipv4/conf/IFACE/route_localnet`.
pub fn route_localnet(iface: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv4/conf/{iface}/route_localnet"))
}

/// Reads one sysctl, trimmed.
pub fn read(path: &Path) -> Result<String, NetworkError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(NetworkError::io("cannot read", path))
}

/// Writes one sysctl.
pub fn write(path: &Path, value: &str) -> Result<(), NetworkError> {
    std::fs::write(path, value).map_err(NetworkError::io(format!("cannot write {value} to"), path))
}

/// Sets `path` to `value`; returns the previous value when it changed.
pub fn set(path: &Path, value: &str) -> Result<Option<String>, NetworkError> {
    let old = read(path)?;
    if old == value {
        return Ok(None);
    }
    write(path, value)?;
    Ok(Some(old))
}
