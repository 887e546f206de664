//! rtnetlink: how a program asks the kernel for links, addresses and routes.
//!
//! `ip link add`, `ip addr add` and `ip route add` do not edit files: they send
//! messages on a *netlink* socket (`socket(AF_NETLINK, SOCK_RAW,
//! NETLINK_ROUTE)`), and the kernel answers each one with an acknowledgement or
//! an error number. This module is a small synchronous client for the handful
//! of messages glassbox needs (rtnetlink(7)):
//!
//! | message       | what it asks                            | `ip` equivalent            |
//! |---------------|-----------------------------------------|----------------------------|
//! | `RTM_NEWLINK` | make a bridge or a veth pair; set flags, master | `ip link add`, `ip link set` |
//! | `RTM_DELLINK` | delete a link                           | `ip link del`              |
//! | `RTM_GETLINK` | find a link's index by its name; list every link | `ip link show [NAME]` |
//! | `RTM_NEWADDR` | put an IPv4 address on a link           | `ip addr add`              |
//! | `RTM_GETADDR` | list the addresses, each with its link's index | `ip addr show`      |
//! | `RTM_NEWROUTE`| add the default route                   | `ip route add default via` |
//!
//! A netlink socket belongs to the network namespace of the thread that opened
//! it: open one inside a new namespace and every message configures *that*
//! namespace. [`super::netns`] uses exactly this.

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::RawFd;

/// What went wrong talking to the kernel over netlink.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("cannot open a netlink socket (needs root): {0}")]
    Open(io::Error),
    #[error("netlink send/receive for {what} failed: {source}")]
    Io { what: String, source: io::Error },
    #[error("the kernel refused to {what}: {source}")]
    Refused { what: String, source: io::Error },
    #[error("the kernel's answer to {what} could not be decoded: {detail}")]
    Decode { what: String, detail: String },
    #[error("there is no network interface named {0:?}")]
    NoSuchLink(String),
}

impl NetlinkError {
    /// The kernel's error number, when the kernel refused.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Refused { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// One IPv4 address on a link, as `ip -4 addr` lists it: the kernel names the
/// link by its index (unique within the namespace), not by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkAddress {
    /// The ifindex of the link that carries the address.
    pub index: u32,
    pub address: Ipv4Addr,
    /// The prefix length: 16 for `172.29.0.1/16`.
    pub prefix: u8,
}

/// One rtnetlink socket, in the network namespace of the thread that opened it.
pub struct Netlink {
    socket: Socket,
    seq: u32,
}

impl Netlink {
    /// Opens a `NETLINK_ROUTE` socket.
    pub fn open() -> Result<Netlink, NetlinkError> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(NetlinkError::Open)?;
        socket.bind_auto().map_err(NetlinkError::Open)?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(NetlinkError::Open)?;
        Ok(Netlink { socket, seq: 0 })
    }

    /// Sends one request and collects the kernel's answers until its ACK (or
    /// the end of a dump). A negative error number becomes `Refused`.
    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
        what: &str,
    ) -> Result<Vec<RouteNetlinkMessage>, NetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        let io_err = |source| NetlinkError::Io {
            what: what.to_string(),
            source,
        };
        self.socket.send(&buf, 0).map_err(io_err)?;
        let mut answers = Vec::new();
        loop {
            let (data, _) = self.socket.recv_from_full().map_err(io_err)?;
            let mut offset = 0;
            while offset < data.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[offset..])
                    .map_err(|e| NetlinkError::Decode {
                        what: what.to_string(),
                        detail: e.to_string(),
                    })?;
                // Messages in one datagram are 4-byte aligned (NLMSG_ALIGN).
                let len = reply.header.length as usize;
                offset += ((len + 3) & !3).max(16);
                if reply.header.sequence_number != self.seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(answers),
                            Some(_) => Err(NetlinkError::Refused {
                                what: what.to_string(),
                                source: e.to_io(),
                            }),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok(answers),
                    // A dump ends with DONE; a single answer is followed by the ACK.
                    NetlinkPayload::InnerMessage(m) => answers.push(m),
                    _ => {}
                }
            }
        }
    }

    /// The index of the link called `name` in this namespace, or `None`.
    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>, NetlinkError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(
            RouteNetlinkMessage::GetLink(msg),
            NLM_F_ACK,
            &format!("find link {name}"),
        ) {
            Ok(answers) => Ok(answers.into_iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l.header.index),
                _ => None,
            })),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn index_of(&mut self, name: &str) -> Result<u32, NetlinkError> {
        self.link_index(name)?
            .ok_or_else(|| NetlinkError::NoSuchLink(name.to_string()))
    }

    /// `ip link add NAME type bridge`.
    pub fn create_bridge(&mut self, name: &str) -> Result<(), NetlinkError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &format!("create bridge {name}"),
        )
        .map(|_| ())
    }

    /// `ip link add NAME type veth peer name PEER address MAC netns FD`: both
    /// ends are made at once, the peer directly inside the namespace
    /// `peer_netns` (or in this socket's namespace when `None`).
    pub fn create_veth_pair(
        &mut self,
        name: &str,
        peer: &str,
        peer_mac: [u8; 6],
        peer_netns: Option<RawFd>,
    ) -> Result<(), NetlinkError> {
        let mut peer_msg = LinkMessage::default();
        peer_msg
            .attributes
            .push(LinkAttribute::IfName(peer.to_string()));
        peer_msg
            .attributes
            .push(LinkAttribute::Address(peer_mac.to_vec()));
        if let Some(fd) = peer_netns {
            peer_msg.attributes.push(LinkAttribute::NetNsFd(fd));
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &format!("create veth pair {name} <-> {peer}"),
        )
        .map(|_| ())
    }

    /// Sets attributes of an existing link (`ip link set`), by name, and
    /// brings it up or down.
    fn set_link(
        &mut self,
        name: &str,
        up: bool,
        attributes: Vec<LinkAttribute>,
        what: &str,
    ) -> Result<(), NetlinkError> {
        let index = self.index_of(name)?;
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes = attributes;
        self.request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK, what)
            .map(|_| ())
    }

    /// `ip link set NAME down`. False when there is no such link.
    pub fn set_down(&mut self, name: &str) -> Result<bool, NetlinkError> {
        match self.set_link(name, false, Vec::new(), &format!("set {name} down")) {
            Ok(()) => Ok(true),
            Err(NetlinkError::NoSuchLink(_)) => Ok(false),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `ip link set NAME up`.
    pub fn set_up(&mut self, name: &str) -> Result<(), NetlinkError> {
        self.set_link(name, true, Vec::new(), &format!("set {name} up"))
    }

    /// `ip link set NAME master BRIDGE up`: plug a port into a bridge.
    pub fn set_master_up(&mut self, name: &str, bridge: &str) -> Result<(), NetlinkError> {
        let master = self.index_of(bridge)?;
        self.set_link(
            name,
            true,
            vec![LinkAttribute::Controller(master)],
            &format!("set {name} master {bridge} up"),
        )
    }

    /// `ip link del NAME`. Returns false when there was no such link.
    pub fn delete_link(&mut self, name: &str) -> Result<bool, NetlinkError> {
        let Some(index) = self.link_index(name)? else {
            return Ok(false);
        };
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        match self.request(
            RouteNetlinkMessage::DelLink(msg),
            NLM_F_ACK,
            &format!("delete link {name}"),
        ) {
            Ok(_) => Ok(true),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `ip addr add ADDRESS/PREFIX dev NAME`.
    pub fn add_address(
        &mut self,
        name: &str,
        address: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), NetlinkError> {
        let index = self.index_of(name)?;
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = prefix;
        msg.header.index = index;
        msg.attributes
            .push(AddressAttribute::Local(IpAddr::V4(address)));
        msg.attributes
            .push(AddressAttribute::Address(IpAddr::V4(address)));
        let host_bits = 32 - u32::from(prefix.min(32));
        let broadcast = if host_bits >= 2 {
            Ipv4Addr::from(u32::from(address) | ((1u64 << host_bits) - 1) as u32)
        } else {
            address
        };
        msg.attributes.push(AddressAttribute::Broadcast(broadcast));
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &format!("add address {address}/{prefix} to {name}"),
        )
        .map(|_| ())
    }

    /// Every link of this namespace: its index and name (`ip link show`).
    pub fn links(&mut self) -> Result<Vec<(u32, String)>, NetlinkError> {
        let answers = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
            "list the links",
        )?;
        Ok(answers
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => l.attributes.iter().find_map(|a| match a {
                    LinkAttribute::IfName(name) => Some((l.header.index, name.clone())),
                    _ => None,
                }),
                _ => None,
            })
            .collect())
    }

    /// Every IPv4 address of this namespace, on whichever link (`ip -4 addr show`).
    pub fn ipv4_addresses(&mut self) -> Result<Vec<LinkAddress>, NetlinkError> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        let answers = self.request(
            RouteNetlinkMessage::GetAddress(msg),
            NLM_F_DUMP,
            "list the IPv4 addresses",
        )?;
        let mut out = Vec::new();
        for answer in answers {
            if let RouteNetlinkMessage::NewAddress(a) = answer {
                for attr in &a.attributes {
                    // IFA_LOCAL is the interface's own address (IFA_ADDRESS is
                    // the peer's on a point-to-point link).
                    if let AddressAttribute::Local(IpAddr::V4(ip)) = attr {
                        out.push(LinkAddress {
                            index: a.header.index,
                            address: *ip,
                            prefix: a.header.prefix_len,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// The IPv4 addresses on link `name`, with their prefix lengths.
    pub fn addresses(&mut self, name: &str) -> Result<Vec<(Ipv4Addr, u8)>, NetlinkError> {
        let index = self.index_of(name)?;
        Ok(self
            .ipv4_addresses()?
            .into_iter()
            .filter(|a| a.index == index)
            .map(|a| (a.address, a.prefix))
            .collect())
    }

    /// `ip route add default via GATEWAY`.
    pub fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<(), NetlinkError> {
        let mut msg = RouteMessage::default();
        msg.header = RouteHeader {
            address_family: AddressFamily::Inet,
            destination_prefix_length: 0,
            table: RouteHeader::RT_TABLE_MAIN,
            protocol: RouteProtocol::Boot,
            scope: RouteScope::Universe,
            kind: RouteType::Unicast,
            ..RouteHeader::default()
        };
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &format!("add default route via {gateway}"),
        )
        .map(|_| ())
    }
}
