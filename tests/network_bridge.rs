//! The bridge network: containers on glassbox0 reach each other by address,
//! parallel starts get distinct addresses, and `none`/`host` still work.

mod common;
use common::{TestRoot, have_root};
use std::collections::HashSet;

#[test]
fn containers_reach_each_other_by_ip() {
    if !have_root("containers_reach_each_other_by_ip") {
        return;
    }
    let root = TestRoot::new("net-c2c");
    root.ok(&[
        "run", "-d", "--name", "srv", "busybox", "httpd", "-f", "-p", "80", "-h", "/www",
    ]);
    let ip = root.inspect("srv")["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    let ping = root.ok(&["run", "--rm", "busybox", "ping", "-c", "1", "-W", "2", &ip]);
    assert!(ping.contains("1 packets received"), "{ping}");
    // httpd may take a moment to listen: retry inside the client container.
    let script = format!(
        "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://{ip}/ && exit 0; sleep 0.2; done; exit 1"
    );
    let page = root.ok(&["run", "--rm", "busybox", "sh", "-c", &script]);
    let inside = root.ok(&["exec", "srv", "cat", "/www/index.html"]);
    assert_eq!(page, inside);
    // The engine's /etc files are mounted over an init layer, not written
    // into the container's own layer: `diff` does not list them.
    let diff = root.ok(&["diff", "srv"]);
    assert!(
        !diff.contains("/etc/hosts") && !diff.contains("/etc/resolv.conf"),
        "{diff}"
    );
}

#[test]
fn the_container_gets_an_address_a_route_and_etc_files() {
    if !have_root("the_container_gets_an_address_a_route_and_etc_files") {
        return;
    }
    let root = TestRoot::new("net-inside");
    let out = root.ok(&[
        "run", "--rm", "-h", "box", "busybox", "sh", "-c",
        "ip -4 -o addr show eth0; ip route; cat /etc/hostname /etc/hosts /etc/resolv.conf; ip -o link show lo",
    ]);
    assert!(
        out.contains("eth0    inet 172.29.") || out.contains("eth0 inet 172.29."),
        "{out}"
    );
    assert!(out.contains("default via 172.29.0.1 dev eth0"), "{out}");
    assert!(out.contains("box\n127.0.0.1\tlocalhost"), "{out}");
    assert!(out.contains("\tbox\n"), "{out}");
    assert!(!out.contains("nameserver 127."), "{out}");
    assert!(out.contains("LOOPBACK,UP"), "{out}");
}

#[test]
fn twenty_parallel_starts_get_twenty_addresses() {
    if !have_root("twenty_parallel_starts_get_twenty_addresses") {
        return;
    }
    let root = TestRoot::new("net-parallel");
    let names: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
    std::thread::scope(|s| {
        for n in &names {
            let root = &root;
            s.spawn(move || root.ok(&["run", "-d", "--name", n, "busybox", "sleep", "60"]));
        }
    });
    let ips: HashSet<String> = names
        .iter()
        .map(|n| {
            root.inspect(n)["NetworkSettings"]["IPAddress"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ips.len(), 20, "{ips:?}");
    assert!(ips.iter().all(|ip| ip.starts_with("172.29.")), "{ips:?}");
    let mut args = vec!["rm", "-f"];
    args.extend(names.iter().map(String::as_str));
    root.ok(&args);
}

#[test]
fn none_and_host_networks_still_work() {
    if !have_root("none_and_host_networks_still_work") {
        return;
    }
    let root = TestRoot::new("net-modes");
    let none = root.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    assert!(none.contains("lo:") && !none.contains("eth0"), "{none}");
    let host_links: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("gb") && !n.starts_with("glassbox"))
        .collect();
    let host = root.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "ls",
        "/sys/class/net",
    ]);
    // The host's own interfaces (veths of parallel tests come and go).
    for name in &host_links {
        assert!(
            host.split_whitespace().any(|n| n == name),
            "{name} missing: {host}"
        );
    }
    // And, as docker's, the host's name (its own UTS namespace still: -h
    // names it otherwise).
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let named = root.ok(&["run", "--rm", "--network", "host", "busybox", "hostname"]);
    assert_eq!(named, host_name);
    let named = root.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "-h",
        "other",
        "busybox",
        "hostname",
    ]);
    assert_eq!(named, "other\n");
    let refused = root.glassbox(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-p",
        "28090:80",
        "busybox",
        "true",
    ]);
    assert_eq!(refused.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--network bridge"));
    assert_eq!(root.ok(&["ps", "-aq"]), "");
}

#[test]
fn without_iptables_only_port_publishing_is_refused() {
    if !have_root("without_iptables_only_port_publishing_is_refused") {
        return;
    }
    if std::path::Path::new("/usr/bin/iptables").exists() {
        eprintln!(
            "SKIPPED without_iptables_only_port_publishing_is_refused: iptables is in /usr/bin"
        );
        return;
    }
    let root = TestRoot::new("net-noipt");
    // iptables lives in /usr/sbin: a PATH without the sbin directories hides it.
    let run = |args: &[&str]| {
        root.cmd(args)
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap()
    };
    let out = run(&["run", "--rm", "-p", "28087:80", "busybox", "true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("apt-get install iptables"), "{err}");
    for mode in ["none", "host", "bridge"] {
        let out = run(&["run", "--rm", "--network", mode, "busybox", "echo", "ok"]);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "ok\n",
            "{mode}: {out:?}"
        );
    }
}

#[test]
fn a_subnet_that_overlaps_a_host_route_is_refused() {
    if !have_root("a_subnet_that_overlaps_a_host_route_is_refused") {
        return;
    }
    // A network the host already routes (not the default route, not ours).
    let routes = std::fs::read_to_string("/proc/net/route").unwrap();
    let Some(taken) = routes.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (iface, dest, mask) = (
            f[0],
            u32::from_str_radix(f[1], 16).ok()?,
            u32::from_str_radix(f[7], 16).ok()?,
        );
        (mask != 0 && !iface.starts_with("glassbox")).then(|| {
            // glassbox takes prefixes 8 to 28: widen a narrower route.
            let prefix = mask.count_ones().clamp(8, 28);
            let ip = u32::from(std::net::Ipv4Addr::from(dest.to_le_bytes()));
            let net = std::net::Ipv4Addr::from(ip & (u32::MAX << (32 - prefix)));
            format!("{net}/{prefix}")
        })
    }) else {
        eprintln!(
            "SKIPPED a_subnet_that_overlaps_a_host_route_is_refused: the host has no route but the default"
        );
        return;
    };
    let root = TestRoot::new("net-overlap");
    let out = root
        .cmd(&["run", "--rm", "busybox", "true"])
        .env("GLASSBOX_SUBNET", &taken)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    // Refused for the route, or (when glassbox0 already exists) for the bridge's own subnet.
    assert!(
        err.contains("overlaps the host's route") || err.contains("already exists with"),
        "{err}"
    );
    assert!(err.contains("GLASSBOX_SUBNET"), "{err}");
    assert_eq!(root.ok(&["ps", "-aq"]), "");
}
