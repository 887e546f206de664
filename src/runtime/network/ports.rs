//! Published ports: `-p [IP:]HOST:CTR[/tcp|/udp]`, and whether HOST is free.
//!
//! A mapping says: traffic for this port of the host goes to that port of the
//! container. glassbox carries it out with a DNAT rule ([`super::nat`]), so no
//! process listens on the host port, and the kernel would not notice if
//! another program already did (or another container published the same
//! port). So before anything is made, glassbox checks the port both ways: it
//! tries to `bind(2)` it (a program listening there makes that fail with
//! EADDRINUSE), and it looks for a live glassbox lease on it.

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

/// What is wrong with a `-p` value or its host port.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error(
        "invalid port mapping {0:?}: use HOST:CTR, IP:HOST:CTR or just CTR (any free host port), optionally with /tcp or /udp (e.g. -p 8080:80)"
    )]
    Invalid(String),
    #[error("invalid port {port:?} in {spec:?}: a port is a number from 1 to 65535")]
    BadPort { spec: String, port: String },
    #[error(
        "host port {port}/{protocol} is already in use on the host{by}: nothing was made; choose another host port (-p OTHER:{container_port})"
    )]
    InUse {
        port: u16,
        protocol: String,
        container_port: u16,
        by: String,
    },
    #[error("cannot publish on {ip}: it is not an address of this host ({source})")]
    NotLocal {
        ip: Ipv4Addr,
        source: std::io::Error,
    },
}

/// TCP or UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(&self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One `-p` mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// The host address it listens on; `None` for every address (0.0.0.0).
    pub host_ip: Option<Ipv4Addr>,
    /// 0 when not given (`-p 80`, `-p IP::80`): a free port is chosen at start.
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl PortMapping {
    /// Parses docker's `-p` syntax: `8080:80`, `127.0.0.1:8080:80`, `53:53/udp`,
    /// and `80` or `127.0.0.1::80` for "any free host port".
    pub fn parse(spec: &str) -> Result<PortMapping, PortError> {
        let invalid = || PortError::Invalid(spec.to_string());
        let (addr, protocol) = match spec.rsplit_once('/') {
            Some((a, "tcp")) => (a, Protocol::Tcp),
            Some((a, "udp")) => (a, Protocol::Udp),
            Some(_) => return Err(invalid()),
            None => (spec, Protocol::Tcp),
        };
        let parts: Vec<&str> = addr.split(':').collect();
        let (ip, host, container) = match parts.as_slice() {
            [c] => (None, "", *c),
            [h, c] if !h.is_empty() => (None, *h, *c),
            [ip, h, c] => (Some(*ip), *h, *c),
            _ => return Err(invalid()),
        };
        let port = |p: &str| {
            p.parse::<u16>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| PortError::BadPort {
                    spec: spec.to_string(),
                    port: p.to_string(),
                })
        };
        let host_ip = match ip {
            None | Some("") | Some("0.0.0.0") => None,
            Some(ip) => Some(ip.parse::<Ipv4Addr>().map_err(|_| invalid())?),
        };
        Ok(PortMapping {
            host_ip,
            host_port: if host.is_empty() { 0 } else { port(host)? },
            container_port: port(container)?,
            protocol,
        })
    }

    /// The host address as docker prints it: `0.0.0.0` for all.
    pub fn host_ip_text(&self) -> String {
        self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string()
    }

    /// `80/tcp`: the key of docker's `Ports` map.
    pub fn container_key(&self) -> String {
        format!("{}/{}", self.container_port, self.protocol.as_str())
    }

    /// docker's PORTS column: `0.0.0.0:8080->80/tcp`.
    pub fn ps_text(&self) -> String {
        format!(
            "{}:{}->{}",
            self.host_ip_text(),
            self.host_port,
            self.container_key()
        )
    }

    /// `glassbox port`'s line: `80/tcp -> 0.0.0.0:8080`.
    pub fn port_line(&self) -> String {
        format!(
            "{} -> {}:{}",
            self.container_key(),
            self.host_ip_text(),
            self.host_port
        )
    }

    /// Fails when a program on the host already listens on this port (a
    /// test `bind(2)`, closed at once). SO_REUSEADDR, set by Rust's listener,
    /// keeps connections in TIME_WAIT from counting as "in use". Another
    /// glassbox starting a container on the same port makes the same test
    /// at the same moment, for microseconds: a port found in use is tried
    /// twice more, a millisecond apart, before a program is blamed (the
    /// port's lease then decides between the two starts).
    pub fn check_host_port_free(&self) -> Result<(), PortError> {
        if self.host_port == 0 {
            return Ok(());
        }
        let ip = self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let addr = SocketAddrV4::new(ip, self.host_port);
        let test_bind = || match self.protocol {
            Protocol::Tcp => TcpListener::bind(addr).map(drop),
            Protocol::Udp => UdpSocket::bind(addr).map(drop),
        };
        let mut result = test_bind();
        for _ in 0..2 {
            match &result {
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    result = test_bind();
                }
                _ => break,
            }
        }
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                Err(self.in_use(" by another program"))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable => {
                Err(PortError::NotLocal { ip, source: e })
            }
            // EACCES and the like: not our business to refuse for.
            Err(_) => Ok(()),
        }
    }

    /// A port the kernel says is free now (it picks one when asked to bind
    /// port 0), for a mapping that named none; the caller then leases it.
    pub fn pick_free_port(&self) -> Result<u16, PortError> {
        let ip = self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let addr = SocketAddrV4::new(ip, 0);
        let port = match self.protocol {
            Protocol::Tcp => TcpListener::bind(addr).and_then(|l| l.local_addr()),
            Protocol::Udp => UdpSocket::bind(addr).and_then(|u| u.local_addr()),
        };
        port.map(|a| a.port())
            .map_err(|source| PortError::NotLocal { ip, source })
    }

    /// The error for a port that is taken, naming by whom.
    pub fn in_use(&self, by: &str) -> PortError {
        PortError::InUse {
            port: self.host_port,
            protocol: self.protocol.as_str().to_string(),
            container_port: self.container_port,
            by: by.to_string(),
        }
    }
}

impl std::fmt::Display for PortMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(ip) = self.host_ip {
            write!(f, "{ip}:")?;
        }
        write!(
            f,
            "{}:{}/{}",
            self.host_port,
            self.container_port,
            self.protocol.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_syntax() {
        let m = PortMapping::parse("8080:80").unwrap();
        assert_eq!(
            (m.host_ip, m.host_port, m.container_port, m.protocol),
            (None, 8080, 80, Protocol::Tcp)
        );
        assert_eq!(m.ps_text(), "0.0.0.0:8080->80/tcp");
        assert_eq!(m.port_line(), "80/tcp -> 0.0.0.0:8080");
        let m = PortMapping::parse("127.0.0.1:5353:53/udp").unwrap();
        assert_eq!(m.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(m.protocol, Protocol::Udp);
        assert_eq!(m.to_string(), "127.0.0.1:5353:53/udp");
        assert_eq!(PortMapping::parse("0.0.0.0:1:2").unwrap().host_ip, None);
    }

    #[test]
    fn refuses_bad_mappings() {
        let any = PortMapping::parse("80").unwrap();
        assert_eq!((any.host_port, any.container_port), (0, 80));
        let any = PortMapping::parse("127.0.0.1::80/udp").unwrap();
        assert_eq!((any.host_ip, any.host_port), (Some(Ipv4Addr::LOCALHOST), 0));
        assert_ne!(any.pick_free_port().unwrap(), 0);
        for bad in [
            ":80",
            "a:80",
            "8080:80/sctp",
            "70000:80",
            "0:80",
            "1.2.3:80:80",
            "1:2:3:4",
        ] {
            assert!(PortMapping::parse(bad).is_err(), "{bad}");
        }
        let e = PortMapping::parse("99999:80").unwrap_err().to_string();
        assert!(e.contains("\"99999\""), "{e}");
    }

    #[test]
    fn a_listening_port_is_in_use() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let m = PortMapping::parse(&format!("127.0.0.1:{port}:80")).unwrap();
        let e = m.check_host_port_free().unwrap_err().to_string();
        assert!(e.contains("already in use"), "{e}");
        drop(l);
        // Free again. Tests running beside this one take ephemeral ports
        // too, and one may take this one for a moment (CI saw it once).
        let mut free = m.check_host_port_free().is_ok();
        for _ in 0..100 {
            if free {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            free = m.check_host_port_free().is_ok();
        }
        assert!(free, "port {port} stayed in use after its listener closed");
    }
}
