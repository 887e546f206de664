//! `-p HOST:CTR`: the host reaches a container's server through a DNAT rule.
//! Traffic goes only to 127.0.0.1 (the host's loopback) and to addresses of
//! containers these tests started on glassbox0.

mod common;
use common::{TestRoot, have_root};
use glassbox::inspect::iptables::read_iptables_save;
use glassbox::runtime::network::nat::dnat_rule_for;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One HTTP/1.0 GET to 127.0.0.1:port with a plain socket; the whole answer.
fn http_get(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
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

/// The packet counter of the GLASSBOX DNAT rule for `host_port`.
fn dnat_packets(host_port: u16) -> u64 {
    let save = read_iptables_save(Some("nat")).expect("iptables-save -c");
    dnat_rule_for(&save, host_port)
        .unwrap_or_else(|| panic!("no DNAT rule for port {host_port}"))
        .packets
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
    let before = dnat_packets(port);
    let n = 5;
    for _ in 0..n {
        assert!(http_get(port).expect("GET").contains("200 OK"));
    }
    // Only a connection's first packet passes the nat table.
    assert_eq!(dnat_packets(port), before + n);
}
