//! `-p HOST:CTR`: the host reaches a container's server through a DNAT rule.
//! Traffic goes only to 127.0.0.1 (the host's loopback) and to addresses of
//! containers these tests started on glassbox0.

mod common;
use common::{TestRoot, have_root};
use glassbox::inspect::iptables::read_iptables_save;
use glassbox::runtime::network::ipam::Subnet;
use glassbox::runtime::network::nat::dnat_rule_for;
use glassbox::runtime::network::ports::Protocol;
use glassbox::runtime::network::{BRIDGE, nat};
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// One HTTP/1.0 GET to 127.0.0.1:port with a plain socket; the whole answer.
fn http_get(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))?;
    // Generous: in the cgroup v2 lane the guest runs emulated (qemu TCG),
    // and busybox httpd's answer once took longer than 3 s there.
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// Waits until the published server answers (httpd may still be starting).
fn wait_for_page(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match http_get(port) {
            Ok(page) if page.contains("200 OK") => return page,
            other if Instant::now() > deadline => panic!("no page on 127.0.0.1:{port}: {other:?}"),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The packet counter of the GLASSBOX DNAT rule for `host_port`/`protocol`.
fn dnat_packets(host_port: u16, protocol: Protocol) -> u64 {
    let save = read_iptables_save(Some("nat")).expect("iptables-save -c");
    dnat_rule_for(&save, host_port, protocol)
        .unwrap_or_else(|| panic!("no DNAT rule for port {host_port}/{}", protocol.as_str()))
        .packets
}

/// What lets a container reach out while it runs: the kernel forwards
/// between interfaces (`ip_forward`), and packets from the containers'
/// subnet leaving by any interface but the bridge get the host's address
/// (the MASQUERADE rule, as `iptables-save -t nat` prints it).
fn assert_outbound_nat(container_ip: &str) {
    let subnet = Subnet::from_env().expect("GLASSBOX_SUBNET");
    assert!(
        subnet.contains(container_ip.parse().unwrap()),
        "{container_ip} outside {subnet}"
    );
    let forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    assert_eq!(
        forward.trim(),
        "1",
        "ip_forward is off while a container runs"
    );
    let rule = format!(
        "-A {} -s {subnet} ! -o {BRIDGE} -j MASQUERADE",
        nat::CHAIN_POSTROUTING
    );
    let saved = common::sh("iptables-save -t nat");
    assert!(
        saved.lines().any(|l| l == rule),
        "no `{rule}` in iptables-save -t nat:\n{saved}"
    );
}

/// UDP datagrams that reached the network namespace of process `pid`,
/// whether a socket took them (InDatagrams) or none was bound to the port
/// (NoPorts): the `Udp:` lines of its /proc/PID/net/snmp.
fn udp_datagrams_in(pid: u32) -> u64 {
    let snmp = std::fs::read_to_string(format!("/proc/{pid}/net/snmp")).unwrap();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (names, values) = (udp.next().unwrap(), udp.next().unwrap());
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .filter(|(name, _)| *name == "InDatagrams" || *name == "NoPorts")
        .map(|(_, v)| v.parse::<u64>().unwrap())
        .sum()
}

fn start_web(root: &TestRoot, name: &str, publish: &str) {
    root.ok(&[
        "run", "-d", "--name", name, "-p", publish, "busybox", "httpd", "-f", "-p", "80", "-h",
        "/www",
    ]);
}

#[test]
fn curl_on_the_host_gets_the_page_served_inside() {
    if !have_root("curl_on_the_host_gets_the_page_served_inside") {
        return;
    }
    let root = TestRoot::new("net-publish");
    let port = 28081;
    start_web(&root, "web", &format!("{port}:80"));
    let inside = root.ok(&["exec", "web", "cat", "/www/index.html"]);
    wait_for_page(port);
    // As the issue shows it: curl from the host.
    let url = format!("http://127.0.0.1:{port}/");
    let page = match std::process::Command::new("curl")
        .args(["-s", "-m", "5", &url])
        .output()
    {
        Ok(out) => {
            assert!(out.status.success(), "curl {url}: {out:?}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
        // No curl on this host: the same request by hand.
        Err(_) => {
            let answer = http_get(port).expect("GET");
            answer
                .split_once("\r\n\r\n")
                .map(|(_, b)| b.to_string())
                .unwrap_or_default()
        }
    };
    assert_eq!(page, inside, "the page on the host is the file inside");

    // docker's views of the mapping.
    assert_eq!(
        root.ok(&["port", "web"]),
        format!("80/tcp -> 0.0.0.0:{port}\n")
    );
    assert!(
        root.ok(&["ps"])
            .contains(&format!("0.0.0.0:{port}->80/tcp"))
    );
    let doc = root.inspect("web");
    let net = &doc["NetworkSettings"];
    assert_eq!(net["Ports"]["80/tcp"][0]["HostPort"], port.to_string());
    let ip = net["IPAddress"].as_str().unwrap();
    assert!(ip.starts_with("172.29."), "{net}");
    assert_eq!(net["Gateway"], "172.29.0.1");
    assert_eq!(net["Networks"]["bridge"]["IPAddress"], ip);
    assert_outbound_nat(ip);
    let mac = net["MacAddress"].as_str().unwrap();
    assert!(mac.starts_with("02:42:ac:1d:"), "{mac}");
    // The host end of the veth is on the bridge, paired with the container's eth0.
    let veth = net["Glassbox"]["HostVeth"].as_str().unwrap().to_string();
    let master =
        std::fs::read_link(format!("/sys/class/net/{veth}/master")).expect("veth on a bridge");
    assert!(master.ends_with("glassbox0"), "{master:?}");
    let host_ifindex = std::fs::read_to_string(format!("/sys/class/net/{veth}/ifindex")).unwrap();
    let peer = root.ok(&["exec", "web", "cat", "/sys/class/net/eth0/iflink"]);
    assert_eq!(peer.trim(), host_ifindex.trim());

    // The reader the lab's network panel uses finds the same pair.
    let data_root = glassbox::engine::DataRoot::open(root.path()).unwrap();
    let record = glassbox::engine::container::find(&data_root, "web").unwrap();
    let (host_end, inside_end) = glassbox::engine::network::veth_ends(&record).expect("veth ends");
    assert_eq!(host_end.name, veth);
    assert_eq!(inside_end.name, "eth0");
    assert!(host_end.stats.tx_bytes > 0 && inside_end.stats.rx_bytes > 0);

    root.ok(&["rm", "-f", "web"]);
    assert!(
        http_get(port).is_err(),
        "the port is closed once the container is gone"
    );
}

#[test]
fn the_dnat_counter_counts_connections() {
    if !have_root("the_dnat_counter_counts_connections") {
        return;
    }
    let root = TestRoot::new("net-counter");
    let port = 28082;
    start_web(&root, "counted", &format!("127.0.0.1:{port}:80"));
    wait_for_page(port);
    let before = dnat_packets(port, Protocol::Tcp);
    let n = 5;
    for _ in 0..n {
        assert!(http_get(port).expect("GET").contains("200 OK"));
    }
    // Only a connection's first packet passes the nat table.
    assert_eq!(dnat_packets(port, Protocol::Tcp), before + n);
}

#[test]
fn a_udp_datagram_to_a_published_udp_port_passes_its_dnat_rule() {
    if !have_root("a_udp_datagram_to_a_published_udp_port_passes_its_dnat_rule") {
        return;
    }
    let root = TestRoot::new("net-udp");
    let port = 28087;
    // No listener: Debian's busybox nc has no -u, and no other applet binds
    // a UDP port on request. The container's own UDP counters show the
    // datagram arriving instead (NoPorts: it came, nothing was bound).
    root.ok(&[
        "run",
        "-d",
        "--name",
        "dgram",
        "-p",
        &format!("{port}:9999/udp"),
        "busybox",
        "sleep",
        "600",
    ]);
    assert_eq!(
        root.ok(&["port", "dgram"]),
        format!("9999/udp -> 0.0.0.0:{port}\n")
    );
    let pid = root.pid_of("dgram");
    let rule_before = dnat_packets(port, Protocol::Udp);
    let arrived_before = udp_datagrams_in(pid);

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(b"one datagram\n", ("127.0.0.1", port))
        .unwrap();
    // The OUTPUT hook runs as the datagram is sent: the rule has counted it.
    let rule_after = dnat_packets(port, Protocol::Udp);
    assert!(
        rule_after > rule_before,
        "the udp DNAT rule's counter stayed at {rule_before}"
    );
    // Delivered across the bridge into the container's namespace.
    let deadline = Instant::now() + Duration::from_secs(3);
    while udp_datagrams_in(pid) == arrived_before {
        assert!(
            Instant::now() < deadline,
            "the datagram never reached the container's network namespace"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    root.ok(&["rm", "-f", "dgram"]);
    let save = read_iptables_save(Some("nat")).unwrap();
    assert!(
        dnat_rule_for(&save, port, Protocol::Udp).is_none(),
        "the udp rule is gone with the container"
    );
}

/// A throwaway network namespace playing a machine outside the host, wired
/// to the host by a veth pair on a /30 of 198.18.0.0/15 (RFC 2544's benchmark
/// range). Removed on drop.
struct OutsideClient {
    netns: String,
    host_if: String,
}

impl OutsideClient {
    fn new(n: u8) -> Option<OutsideClient> {
        let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
        if routes.lines().skip(1).any(|l| {
            // 198.18.0.0/15 as /proc/net/route prints it (little-endian hex).
            l.split_whitespace()
                .nth(1)
                .is_some_and(|d| d.ends_with("12C6"))
        }) {
            return None;
        }
        let c = OutsideClient {
            netns: format!("glassbox-test-client-{}", std::process::id()),
            host_if: format!("gbtest{}", std::process::id() % 100_000),
        };
        let ip = |args: &str| {
            let ok = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("ip {args}"))
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args}");
        };
        ip(&format!("netns add {}", c.netns));
        ip(&format!(
            "link add {} type veth peer name c0 netns {}",
            c.host_if, c.netns
        ));
        ip(&format!("addr add 198.18.{n}.1/30 dev {}", c.host_if));
        ip(&format!("link set {} up", c.host_if));
        ip(&format!("-n {} addr add 198.18.{n}.2/30 dev c0", c.netns));
        ip(&format!("-n {} link set c0 up", c.netns));
        ip(&format!("-n {} link set lo up", c.netns));
        Some(c)
    }

    /// Runs `f` inside the client's namespace.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = std::path::PathBuf::from(format!("/run/netns/{}", self.netns));
        glassbox::runtime::network::netns::run_in(&path, f).expect("enter the client's netns")
    }
}

impl Drop for OutsideClient {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
    }
}

#[test]
fn a_client_outside_the_host_reaches_the_published_port() {
    if !have_root("a_client_outside_the_host_reaches_the_published_port") {
        return;
    }
    let Some(client) = OutsideClient::new(77) else {
        eprintln!(
            "SKIPPED a_client_outside_the_host_reaches_the_published_port: 198.18.0.0/15 is routed here"
        );
        return;
    };
    let root = TestRoot::new("net-outside");
    let port = 28088;
    start_web(&root, "edge", &format!("{port}:80"));
    wait_for_page(port);
    // From "outside": to the host's address on the client's link, through
    // PREROUTING's DNAT, forwarding, and back.
    let answer = client.run(|| {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = (|| -> std::io::Result<String> {
                let mut s = TcpStream::connect_timeout(
                    &([198, 18, 77, 1], port).into(),
                    Duration::from_secs(2),
                )?;
                s.set_read_timeout(Some(Duration::from_secs(3)))?;
                s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
                let mut out = String::new();
                s.read_to_string(&mut out)?;
                Ok(out)
            })();
            match got {
                Ok(page) => return page,
                Err(e) if Instant::now() > deadline => return format!("error: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    });
    assert!(
        answer.contains("200 OK") && answer.contains("glassbox"),
        "{answer}"
    );
    let save = read_iptables_save(Some("nat")).unwrap();
    let prerouting_hook = save
        .table("nat")
        .and_then(|t| t.chain("PREROUTING"))
        .and_then(|c| {
            c.rules
                .iter()
                .find(|r| r.target.as_deref() == Some("GLASSBOX"))
        })
        .expect("the PREROUTING hook");
    assert!(prerouting_hook.packets > 0);
}

#[test]
fn p_without_a_host_port_gets_a_free_one() {
    if !have_root("p_without_a_host_port_gets_a_free_one") {
        return;
    }
    let root = TestRoot::new("net-anyport");
    start_web(&root, "anyport", "127.0.0.1::80");
    let line = root.ok(&["port", "anyport"]);
    let port: u16 = line
        .trim()
        .strip_prefix("80/tcp -> 127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("port printed {line:?}"));
    assert_ne!(port, 0);
    assert!(wait_for_page(port).contains("glassbox"));
    let doc = root.inspect("anyport");
    assert_eq!(
        doc["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"],
        ""
    );
    assert_eq!(
        doc["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"],
        port.to_string()
    );
}
