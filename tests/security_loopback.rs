//! Host loopback services are not reachable from containers (issue 9,
//! item 5; the CVE-2020-8558 class).
//!
//! `route_localnet=1` on glassbox0 lets `curl 127.0.0.1:PORT` on the host
//! reach a published port (the DNAT'd packet leaves by the bridge with its
//! 127.0.0.1 source). It also makes the host accept, from the bridge, packets
//! addressed to 127.0.0.1: a container with CAP_NET_RAW (one of docker's 14)
//! can write an Ethernet frame to the bridge's MAC carrying a TCP SYN for
//! 127.0.0.1:PORT, and reach a service the host meant for itself. glassbox
//! drops those, as kube-proxy does: packets to 127.0.0.0/8 that come in from
//! the bridge and are not DNAT'd (`! --ctstate RELATED,ESTABLISHED,DNAT`).
//!
//! The test sends that SYN from the container's network namespace, by an
//! AF_PACKET socket on its eth0 (what a process inside could do), and
//! listens for any answer (SYN-ACK or RST). The control: the same frame to
//! the bridge's own address is answered, so silence means the drop, not a
//! broken probe. Ports: 29101-29103 (this test's range).

mod common;
use common::{TestRoot, have_root};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The host service that must stay the host's own.
const LOOPBACK_PORT: u16 = 29101;
/// The control: a host service on the bridge's address.
const BRIDGE_PORT: u16 = 29102;
/// The published port the host reaches by 127.0.0.1.
const PUBLISHED_PORT: u16 = 29103;

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet frame carrying one TCP SYN.
fn syn_frame(
    dst_mac: [u8; 6],
    src_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
) -> Vec<u8> {
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = 0x02; // SYN
    tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 6, 0, 20]);
    pseudo.extend_from_slice(&tcp);
    let c = checksum(&pseudo);
    tcp[16..18].copy_from_slice(&c.to_be_bytes());

    let mut ip = vec![0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&40u16.to_be_bytes());
    ip[4..6].copy_from_slice(&0x4242u16.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());

    let mut frame = Vec::new();
    frame.extend_from_slice(&dst_mac);
    frame.extend_from_slice(&src_mac);
    frame.extend_from_slice(&0x0800u16.to_be_bytes());
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&tcp);
    frame
}

/// What came back for one SYN: the TCP flags of the answer, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    Flags(u8),
    Silence,
}

/// The MAC of `iface` in the current thread's network namespace.
fn mac_of(iface: &str) -> [u8; 6] {
    let addrs = nix::ifaddrs::getifaddrs().expect("getifaddrs");
    for a in addrs {
        if a.interface_name == iface
            && let Some(link) = a.address.as_ref().and_then(|s| s.as_link_addr())
            && let Some(mac) = link.addr()
        {
            return mac;
        }
    }
    panic!("no MAC for {iface}");
}

/// From inside the network namespace of `pid`: sends a SYN from the
/// container's own address to `dst:dport` as an Ethernet frame to
/// `gateway_mac`, on eth0, and waits up to 1.5 s for an answer.
fn probe_from(pid: u32, gateway_mac: [u8; 6], dst: Ipv4Addr, dport: u16, sport: u16) -> Answer {
    std::thread::scope(|s| {
        s.spawn(move || {
            let ns = std::fs::File::open(format!("/proc/{pid}/ns/net")).expect("open netns");
            // Only this thread moves into the container's network namespace.
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let src_mac = mac_of("eth0");
            let src = nix::ifaddrs::getifaddrs()
                .expect("getifaddrs")
                .find_map(|a| {
                    (a.interface_name == "eth0")
                        .then(|| a.address.and_then(|s| s.as_sockaddr_in().map(|i| i.ip())))
                        .flatten()
                })
                .expect("eth0's IPv4 address");
            let ifindex = nix::net::if_::if_nametoindex("eth0").expect("eth0") as i32;
            let proto = (libc::ETH_P_IP as u16).to_be();
            // SAFETY: socket(2) with constant arguments.
            let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
            assert!(
                fd >= 0,
                "AF_PACKET socket: {}",
                std::io::Error::last_os_error()
            );
            // SAFETY: a zeroed sockaddr_ll is valid; the fields set are plain integers.
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = proto;
            sll.sll_ifindex = ifindex;
            let sll_len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
            // SAFETY: bind(2) with a pointer to our local sockaddr_ll and its size.
            let rc = unsafe { libc::bind(fd, (&raw const sll).cast(), sll_len) };
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            let tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 100_000,
            };
            // SAFETY: setsockopt(2) with a pointer to a local timeval and its size.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    (&raw const tv).cast(),
                    std::mem::size_of::<libc::timeval>() as u32,
                )
            };
            let frame = syn_frame(gateway_mac, src_mac, src, dst, sport, dport);
            let mut to = sll;
            to.sll_halen = 6;
            to.sll_addr[..6].copy_from_slice(&gateway_mac);
            // SAFETY: sendto(2) of our frame buffer to our local sockaddr_ll.
            let sent = unsafe {
                libc::sendto(
                    fd,
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (&raw const to).cast(),
                    sll_len,
                )
            };
            assert_eq!(
                sent,
                frame.len() as isize,
                "sendto: {}",
                std::io::Error::last_os_error()
            );
            let deadline = Instant::now() + Duration::from_millis(1500);
            let mut buf = [0u8; 2048];
            let mut answer = Answer::Silence;
            while Instant::now() < deadline {
                // SAFETY: recv(2) into our local buffer, at most its length.
                let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
                if n < 54 {
                    continue;
                }
                let f = &buf[..n as usize];
                let ihl = usize::from(f[14] & 0x0f) * 4;
                if f[12..14] != [0x08, 0x00] || f[23] != 6 || f.len() < 14 + ihl + 20 {
                    continue;
                }
                let tcp = &f[14 + ihl..];
                let from = Ipv4Addr::new(f[26], f[27], f[28], f[29]);
                if from == dst
                    && tcp[0..2] == dport.to_be_bytes()
                    && tcp[2..4] == sport.to_be_bytes()
                {
                    answer = Answer::Flags(tcp[13]);
                    break;
                }
            }
            // SAFETY: closing the socket this thread made.
            unsafe { libc::close(fd) };
            answer
        })
        .join()
        .expect("probe thread")
    })
}

fn http_get(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.write_all(b"GET /hostname HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn bridge_mac() -> [u8; 6] {
    let text = std::fs::read_to_string("/sys/class/net/glassbox0/address").expect("glassbox0");
    let mut mac = [0u8; 6];
    for (i, part) in text.trim().split(':').enumerate() {
        mac[i] = u8::from_str_radix(part, 16).expect("hex");
    }
    mac
}

#[test]
fn a_container_cannot_reach_the_hosts_loopback() {
    if !have_root("a_container_cannot_reach_the_hosts_loopback") {
        return;
    }
    let root = TestRoot::new("loopback");
    root.ok(&[
        "run",
        "-d",
        "--name",
        "lo-web",
        "-p",
        &format!("{PUBLISHED_PORT}:80"),
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/etc",
    ]);
    let pid = root.pid_of("lo-web");
    let gateway: Ipv4Addr = root.inspect("lo-web")["NetworkSettings"]["Gateway"]
        .as_str()
        .expect("NetworkSettings.Gateway")
        .parse()
        .expect("gateway address");
    // A service only the host itself should reach, and the control on the
    // bridge's address. Both accept; a SYN to either is answered by a SYN-ACK.
    let private = TcpListener::bind((Ipv4Addr::LOCALHOST, LOOPBACK_PORT)).expect("bind 127.0.0.1");
    let public = TcpListener::bind((gateway, BRIDGE_PORT)).expect("bind the bridge's address");
    let mac = bridge_mac();

    let control = probe_from(pid, mac, gateway, BRIDGE_PORT, 40001);
    assert_eq!(
        control,
        Answer::Flags(0x12),
        "the control SYN to {gateway}:{BRIDGE_PORT} got no SYN-ACK: the probe itself is broken"
    );
    let attack = probe_from(pid, mac, Ipv4Addr::LOCALHOST, LOOPBACK_PORT, 40002);
    assert_eq!(
        attack,
        Answer::Silence,
        "a SYN from the container to 127.0.0.1:{LOOPBACK_PORT} was answered (flags {attack:?}): the host's loopback is reachable"
    );
    drop((private, public));

    // The rule that drops it, as iptables-save prints it.
    let saved = common::sh("iptables-save -t filter");
    assert!(
        saved.lines().any(|l| l.starts_with("-A GLASSBOX-INPUT")
            && l.contains("-d 127.0.0.0/8")
            && l.contains("-i glassbox0")
            && l.contains("! --ctstate RELATED,ESTABLISHED,DNAT")
            && l.ends_with("-j DROP")),
        "no loopback guard in iptables-save -t filter:\n{saved}"
    );
    // The host's own curl to the published port still works (its replies
    // come back DNAT'd, so the rule lets them in).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match http_get(PUBLISHED_PORT) {
            Ok(page) if page.contains("200 OK") => break,
            other if Instant::now() > deadline => {
                panic!("no page on 127.0.0.1:{PUBLISHED_PORT}: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    root.ok(&["rm", "-f", "lo-web"]);
}
