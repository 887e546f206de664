//! IP address management: which address each container gets.
//!
//! All bridged containers share one subnet, the bridge's. The bridge holds the
//! first address (the gateway, `.0.1`); each container leases the lowest free
//! one after it. The allocator is host-wide, not per data root, because the
//! bridge is: two data roots (two test runs, say) start containers on the same
//! `glassbox0` at the same time. So a lease is a file,
//! `/run/glassbox/net/leases/172.29.0.7`, created with `O_EXCL` while holding
//! an exclusive `flock(2)` on `/run/glassbox/net/lock`; it records the data
//! root and the container that hold it. A lease whose container directory is
//! gone (a crash, a deleted root) is stale and is taken over.
//!
//! ## The default subnet: 172.29.0.0/16
//!
//! It looks like docker's (`docker0` is 172.17.0.0/16), which helps the lesson,
//! but is none of the usual ones: not docker's default bridge nor the first
//! networks docker hands out after it (172.18, 172.19, … in order), not
//! podman's 10.88.0.0/16, libvirt's 192.168.122.0/24, Kubernetes' 10.244/10.96,
//! nor the 192.168.x and 10.0.x of home and office routers. `GLASSBOX_SUBNET`
//! chooses another, and a subnet that overlaps a route the host already has
//! is refused before anything is made.

use crate::inspect::net::Route;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The subnet used when `GLASSBOX_SUBNET` is not set.
pub const DEFAULT_SUBNET: &str = "172.29.0.0/16";

/// Errors of parsing subnets and leasing addresses.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    #[error(
        "invalid subnet {0:?}: write it as an IPv4 network with a prefix, e.g. 172.29.0.0/16 (prefix 8 to 28)"
    )]
    BadSubnet(String),
    #[error(
        "the glassbox subnet {subnet} overlaps the host's route to {route} (on {iface}): \
         choose another with GLASSBOX_SUBNET (e.g. GLASSBOX_SUBNET=10.213.0.0/16)"
    )]
    Overlap {
        subnet: String,
        route: String,
        iface: String,
    },
    #[error(
        "every address of {0} is leased: remove containers (`glassbox rm`) or choose a larger GLASSBOX_SUBNET"
    )]
    Exhausted(String),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot read the host's routes")]
    Routes(#[from] crate::inspect::ReadError),
}

/// An IPv4 network: address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// Parses `172.29.0.0/16`. Host bits must be zero; prefixes 8 to 28.
    pub fn parse(text: &str) -> Result<Subnet, IpamError> {
        let bad = || IpamError::BadSubnet(text.to_string());
        let (ip, prefix) = text.trim().split_once('/').ok_or_else(bad)?;
        let network: Ipv4Addr = ip.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if !(8..=28).contains(&prefix) {
            return Err(bad());
        }
        let subnet = Subnet { network, prefix };
        if u32::from(network) & !subnet.mask() != 0 {
            return Err(bad());
        }
        Ok(subnet)
    }

    /// `GLASSBOX_SUBNET`, or the default.
    pub fn from_env() -> Result<Subnet, IpamError> {
        match std::env::var("GLASSBOX_SUBNET") {
            Ok(s) if !s.trim().is_empty() => Subnet::parse(&s),
            _ => Subnet::parse(DEFAULT_SUBNET),
        }
    }

    pub fn mask(&self) -> u32 {
        u32::MAX << (32 - u32::from(self.prefix))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network)
    }

    /// True when the two networks share any address.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        let mask = self.mask() & other.mask();
        u32::from(self.network) & mask == u32::from(other.network) & mask
    }

    /// The bridge's address: the first host address.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// The addresses containers may get: after the gateway, before broadcast.
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        let first = u32::from(self.network) + 2;
        let broadcast = u32::from(self.network) | !self.mask();
        (first..broadcast).map(Ipv4Addr::from)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Refuses a subnet that overlaps a host route, other than the default route
/// and routes on `bridge` itself.
pub fn check_overlap(subnet: &Subnet, routes: &[Route], bridge: &str) -> Result<(), IpamError> {
    for r in routes {
        let destination = Subnet {
            network: r.destination,
            prefix: r.prefix(),
        };
        if destination.prefix == 0 || r.iface == bridge {
            continue;
        }
        if subnet.overlaps(&destination) {
            return Err(IpamError::Overlap {
                subnet: subnet.to_string(),
                route: destination.to_string(),
                iface: r.iface.clone(),
            });
        }
    }
    Ok(())
}

/// Reads /proc/net/route and checks the subnet against it.
pub fn check_host_routes(subnet: &Subnet, bridge: &str) -> Result<(), IpamError> {
    check_overlap(subnet, &crate::inspect::net::read_host_routes()?, bridge)
}

/// Who holds a lease: written into the lease file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The data root's path.
    pub root: PathBuf,
    /// The data root's key (`default` or 8 hex digits).
    pub key: String,
    pub container: String,
}

impl Holder {
    fn to_text(&self) -> String {
        format!(
            "root={}\nkey={}\ncontainer={}\n",
            self.root.display(),
            self.key,
            self.container
        )
    }

    fn parse(text: &str) -> Option<Holder> {
        let mut root = None;
        let mut key = None;
        let mut container = None;
        for line in text.lines() {
            match line.split_once('=') {
                Some(("root", v)) => root = Some(PathBuf::from(v)),
                Some(("key", v)) => key = Some(v.to_string()),
                Some(("container", v)) => container = Some(v.to_string()),
                _ => {}
            }
        }
        Some(Holder {
            root: root?,
            key: key?,
            container: container?,
        })
    }

    /// A holder is alive while its container's directory exists.
    pub fn is_alive(&self) -> bool {
        self.root.join("containers").join(&self.container).is_dir()
    }
}

/// The host-wide allocator's directory, locked while it is open.
pub struct Allocator {
    dir: PathBuf,
    _lock: File,
}

impl Allocator {
    /// Takes the host-wide lock (waits for other glassbox processes).
    pub fn lock(dir: &Path) -> Result<Allocator, IpamError> {
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| IpamError::Io { what, path, source }
        };
        for sub in ["leases", "ports"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(io("cannot create", &dir.join(sub)))?;
        }
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io("cannot open", &lock_path))?;
        // flock(LOCK_EX); released when the file closes.
        lock.lock().map_err(io("cannot lock", &lock_path))?;
        Ok(Allocator {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the lease file for an address.
    pub fn lease_path(&self, ip: Ipv4Addr) -> PathBuf {
        self.dir.join("leases").join(ip.to_string())
    }

    /// The lease file for `(protocol, host port)`: one holder per port and protocol.
    pub fn port_path(&self, protocol: &str, port: u16) -> PathBuf {
        self.dir.join("ports").join(format!("{protocol}-{port}"))
    }

    /// Who holds the lease at `path`, if it is held by a live container.
    pub fn live_holder(&self, path: &Path) -> Option<Holder> {
        let text = std::fs::read_to_string(path).ok()?;
        Holder::parse(&text).filter(Holder::is_alive)
    }

    /// Creates the lease file at `path` for `holder`, taking over a stale one.
    /// `Ok(false)` when a live container holds it.
    pub fn take(&self, path: &Path, holder: &Holder) -> Result<bool, IpamError> {
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut f) => {
                    f.write_all(holder.to_text().as_bytes())
                        .map_err(|source| IpamError::Io {
                            what: "cannot write",
                            path: path.to_path_buf(),
                            source,
                        })?;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if self.live_holder(path).is_some() {
                        return Ok(false);
                    }
                    // Stale: its container is gone.
                    let _ = std::fs::remove_file(path);
                }
                Err(source) => {
                    return Err(IpamError::Io {
                        what: "cannot create",
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
        Ok(false)
    }

    /// Leases the lowest free address of `subnet` for `holder`. The caller
    /// journals the returned path before anything else uses the address.
    pub fn lease_address(
        &self,
        subnet: &Subnet,
        holder: &Holder,
    ) -> Result<(Ipv4Addr, PathBuf), IpamError> {
        for ip in subnet.hosts() {
            let path = self.lease_path(ip);
            if self.take(&path, holder)? {
                return Ok((ip, path));
            }
        }
        Err(IpamError::Exhausted(subnet.to_string()))
    }

    /// Every live lease (addresses and ports), by file.
    pub fn live_leases(&self) -> Vec<(PathBuf, Holder)> {
        let mut out = Vec::new();
        for sub in ["leases", "ports"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.join(sub)) {
                for e in entries.flatten() {
                    if let Some(h) = self.live_holder(&e.path()) {
                        out.push((e.path(), h));
                    }
                }
            }
        }
        out
    }

    /// Removes stale lease files (whose containers are gone).
    pub fn remove_stale(&self) {
        for sub in ["leases", "ports"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.join(sub)) {
                for e in entries.flatten() {
                    if self.live_holder(&e.path()).is_none() {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
    }
}

/// Removes a lease file. Already gone is success.
pub fn release(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// What [`release_if_held`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// The lease named the holder and is gone now.
    Released,
    /// There was no lease (a reboot cleared /run, or it was released before).
    Gone,
    /// The lease names someone else now (it was stale and taken over): left alone.
    HeldByOther(Holder),
}

/// Removes the lease at `path` only if it still names `holder`. After a
/// reboot (which empties /run) a new container can lease the address or port
/// an old record still names in its journal; removing the lease then would
/// give one address to two containers. Call with the allocator's lock held
/// (see [`Allocator::lock`]) so that no one takes the lease in between.
pub fn release_if_held(path: &Path, holder: &Holder) -> io::Result<Released> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Released::Gone),
        Err(e) => return Err(e),
    };
    match Holder::parse(&text) {
        Some(h) if h.root == holder.root && h.container == holder.container => {
            release(path)?;
            Ok(Released::Released)
        }
        Some(other) => Ok(Released::HeldByOther(other)),
        // A lease file cut short by a crash names no one: it is stale.
        None => {
            release(path)?;
            Ok(Released::Released)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::net::parse_routes;

    const ROUTES: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
";

    #[test]
    fn parses_routes() {
        let routes = parse_routes(ROUTES).unwrap();
        assert_eq!(routes.len(), 3);
        assert_eq!(routes[0].prefix(), 0);
        assert_eq!(
            (routes[1].destination, routes[1].prefix()),
            ("10.0.2.0".parse().unwrap(), 24)
        );
        assert_eq!(
            (routes[2].destination, routes[2].prefix()),
            ("172.17.0.0".parse().unwrap(), 16)
        );
        assert_eq!(routes[2].iface, "docker0");
    }

    #[test]
    fn refuses_overlap_but_not_the_default_route() {
        let routes = parse_routes(ROUTES).unwrap();
        let ours = Subnet::parse(DEFAULT_SUBNET).unwrap();
        check_overlap(&ours, &routes, "glassbox0").unwrap();
        let clash = Subnet::parse("172.16.0.0/12").unwrap();
        let err = check_overlap(&clash, &routes, "glassbox0").unwrap_err();
        assert!(
            err.to_string().contains("172.17.0.0/16 (on docker0)"),
            "{err}"
        );
        // A route on our own bridge is ours.
        check_overlap(&clash, &routes, "docker0").unwrap();
    }

    #[test]
    fn subnet_arithmetic() {
        let s = Subnet::parse("172.29.0.0/16").unwrap();
        assert_eq!(s.gateway(), Ipv4Addr::new(172, 29, 0, 1));
        assert_eq!(s.hosts().next(), Some(Ipv4Addr::new(172, 29, 0, 2)));
        assert_eq!(s.hosts().last(), Some(Ipv4Addr::new(172, 29, 255, 254)));
        assert!(s.contains(Ipv4Addr::new(172, 29, 9, 9)));
        assert!(!s.contains(Ipv4Addr::new(172, 30, 0, 1)));
        assert!(Subnet::parse("172.29.0.1/16").is_err());
        assert!(Subnet::parse("172.29.0.0").is_err());
        assert!(Subnet::parse("172.29.0.0/31").is_err());
    }

    #[test]
    fn leases_are_exclusive_and_stale_ones_are_taken_over() {
        let dir = std::env::temp_dir().join(format!("glassbox-ipam-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("containers/a")).unwrap();
        std::fs::create_dir_all(root.join("containers/b")).unwrap();
        let subnet = Subnet::parse("10.1.0.0/28").unwrap();
        let holder = |c: &str| Holder {
            root: root.clone(),
            key: "k".into(),
            container: c.into(),
        };
        let alloc = Allocator::lock(&dir.join("net")).unwrap();
        let (a, _) = alloc.lease_address(&subnet, &holder("a")).unwrap();
        let (b, _) = alloc.lease_address(&subnet, &holder("b")).unwrap();
        assert_eq!(
            (a, b),
            (Ipv4Addr::new(10, 1, 0, 2), Ipv4Addr::new(10, 1, 0, 3))
        );
        // "gone" has no container directory: its lease is stale and reused.
        let (c, _) = alloc.lease_address(&subnet, &holder("gone")).unwrap();
        assert_eq!(c, Ipv4Addr::new(10, 1, 0, 4));
        let (d, _) = alloc.lease_address(&subnet, &holder("a")).unwrap();
        assert_eq!(d, Ipv4Addr::new(10, 1, 0, 4));
        assert_eq!(alloc.live_leases().len(), 3);
        // Only the holder named in a lease releases it.
        let path = alloc.lease_path(d);
        assert_eq!(
            release_if_held(&path, &holder("gone")).unwrap(),
            Released::HeldByOther(holder("a"))
        );
        assert!(path.exists());
        assert_eq!(
            release_if_held(&path, &holder("a")).unwrap(),
            Released::Released
        );
        assert_eq!(
            release_if_held(&path, &holder("a")).unwrap(),
            Released::Gone
        );
        drop(alloc);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
