//! The engine's side of networking: `--network`, `-p`, and what a container got.
//!
//! docker's daemon (libnetwork) decides the network of each container; glassbox's
//! engine does the same, in the order CNI plugins do it, *before* the
//! container's process exists:
//!
//! 1. preflight (nothing made yet): the mode, iptables where `-p` needs it,
//!    each host port free;
//! 2. under the host-wide lock: the shared bridge and NAT chains (made when
//!    first needed), the port leases and an address lease;
//! 3. a network namespace bind-mounted on `containers/<id>/netns`;
//! 4. the veth pair, its inside end born in the namespace as `eth0`, with address, route
//!    and `lo` up, its outside end plugged into `glassbox0`;
//! 5. the DNAT rules of `-p`;
//! 6. `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf` written beside the
//!    bundle, and config.json pointed at the namespace and those files.
//!
//! Every object is journaled before it is made; [`undo`] removes any of them
//! idempotently, so a failed start, `stop`, `rm` and `cleanup` all tear down
//! through the same code. What the container got is kept in
//! `containers/<id>/network.json` ([`NetworkSettings`]), which `inspect`,
//! `ps`, `port` and the lab read.

use super::DataRoot;
use super::container::{Paths, Record, RunConfig};
use crate::inspect::netdev::{self, NetDev};
use crate::runtime::journal::{Journal, Object};
use crate::runtime::network::ipam::{self, Allocator, Holder, Subnet};
use crate::runtime::network::nat::{self, Rule};
use crate::runtime::network::netlink::Netlink;
use crate::runtime::network::ports::PortMapping;
use crate::runtime::network::{
    self as net, BRIDGE, CONTAINER_IFNAME, NetworkError, STATE_DIR, bridge, netns, sysctl, veth,
};
use crate::runtime::spec::{Mount, Spec};
use crate::runtime::trace::{Trace, now_ns};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// What a container's network is: `containers/<id>/network.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkSettings {
    /// `bridge`, `none` or `host`.
    pub mode: String,
    pub ip_address: Option<Ipv4Addr>,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    pub mac_address: String,
    /// The host end of the veth pair (`gb…`).
    pub host_veth: String,
    pub bridge: String,
    /// The file the network namespace is bind-mounted on (docker's SandboxKey).
    pub netns: Option<PathBuf>,
    pub ports: Vec<PortMapping>,
}

/// The shared network's record, host-wide: what to put back when it goes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SharedState {
    subnet: String,
    /// Whether the GLASSBOX chains were installed (iptables was there).
    nat: bool,
    /// `ip_forward` before glassbox set it, when it changed it.
    ip_forward_was: Option<String>,
    /// Whether the loopback guard (GLASSBOX-INPUT) is in place. Absent in the
    /// record of an older glassbox, which did not make it: then it is made.
    #[serde(default)]
    loopback_guard: bool,
}

fn state_dir() -> PathBuf {
    PathBuf::from(STATE_DIR)
}

fn shared_state_path() -> PathBuf {
    state_dir().join("shared.json")
}

/// `containers/<id>/network.json`.
pub fn settings_path(paths: &Paths) -> PathBuf {
    paths.dir.join("network.json")
}

/// The file the container's network namespace is bound on.
pub fn netns_path(paths: &Paths) -> PathBuf {
    paths.dir.join("netns")
}

/// Reads what a container got; `None` when it has no network.json.
pub fn load(paths: &Paths) -> Option<NetworkSettings> {
    let bytes = std::fs::read(settings_path(paths)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Checks `--network` and `-p` before anything is made: the mode, iptables
/// where ports need it, and every host port free.
pub fn preflight(config: &RunConfig) -> anyhow::Result<()> {
    let mode = effective_mode(config);
    if !["bridge", "none", "host"].contains(&mode) {
        bail!(
            "network {mode:?} is not available: use --network bridge (the default), none or host"
        );
    }
    if config.publish.is_empty() {
        return Ok(());
    }
    if mode != "bridge" {
        bail!(
            "-p publishes a port of the container's own network namespace, and --network {mode} has none of its own: \
             drop -p, or use --network bridge"
        );
    }
    nat::require("publishing a port (-p)")?;
    for (i, m) in config.publish.iter().enumerate() {
        if m.host_port != 0
            && config.publish[..i]
                .iter()
                .any(|o| o.host_port == m.host_port && o.protocol == m.protocol)
        {
            bail!(
                "host port {}/{} is published twice",
                m.host_port,
                m.protocol.as_str()
            );
        }
        m.check_host_port_free()?;
    }
    if let Ok(alloc) = Allocator::lock(&state_dir()) {
        for m in &config.publish {
            if let Some(h) = alloc.live_holder(&alloc.port_path(m.protocol.as_str(), m.host_port)) {
                return Err(m
                    .in_use(&format!(" by glassbox container {}", short(&h.container)))
                    .into());
            }
        }
    }
    Ok(())
}

fn short(id: &str) -> &str {
    &id[..12.min(id.len())]
}

/// `--network` as given, `bridge` when empty (docker's default).
pub fn effective_mode(config: &RunConfig) -> &str {
    if config.network.is_empty() {
        "bridge"
    } else {
        config.network.as_str()
    }
}

/// Whether a container's network leaves objects in its journal for
/// [`teardown`] to undo: only a bridge network does (its veth, namespace,
/// NAT rules, leases); `none` and `host` make nothing `setup` records.
pub fn journals_objects(config: &RunConfig) -> bool {
    effective_mode(config) == "bridge"
}

/// Makes the container's network (steps 2 to 6 of the module doc) and saves
/// `network.json`. For `none` and `host` only the /etc files are written.
pub fn setup(
    root: &DataRoot,
    paths: &Paths,
    id: &str,
    name: &str,
    config: &RunConfig,
    journal: &Journal,
    trace: &mut Trace,
) -> anyhow::Result<NetworkSettings> {
    let mode = effective_mode(config).to_string();
    let mut settings = NetworkSettings {
        mode: mode.clone(),
        ..Default::default()
    };
    if journals_objects(config) {
        connect_bridge(root, paths, id, name, config, journal, trace, &mut settings)?;
    }
    let t = now_ns();
    write_etc_files(paths, &config.hostname, &settings)?;
    trace.step(
        "engine",
        t,
        "write_etc_files",
        format!(
            "{0}/hosts, {0}/hostname, {0}/resolv.conf",
            paths.dir.display()
        ),
    );
    // `none` and `host` have nothing to remember beyond the mode, which the
    // record holds: no file (one fewer to create and delete per container).
    if mode == "bridge" {
        let bytes = serde_json::to_vec_pretty(&settings)?;
        crate::util::fs::write_atomic(&settings_path(paths), &bytes)?;
    }
    Ok(settings)
}

/// Writes `object` into the container's journal, before it is made.
fn record(journal: &Journal, object: &Object) -> anyhow::Result<()> {
    journal
        .record(object)
        .with_context(|| format!("cannot write the journal {}", journal.path().display()))
}

#[allow(clippy::too_many_arguments)]
fn connect_bridge(
    root: &DataRoot,
    paths: &Paths,
    id: &str,
    name: &str,
    config: &RunConfig,
    journal: &Journal,
    trace: &mut Trace,
    settings: &mut NetworkSettings,
) -> anyhow::Result<()> {
    let subnet = Subnet::from_env()?;
    let mut host = Netlink::open()?;
    let (ip, ports) = reserve(root, id, config, &subnet, &mut host, journal, trace)?;
    let nsfile = netns_path(paths);
    let host_if = veth::host_name(id);
    let mac = net::mac_for(ip);
    wire_namespace(
        &mut host, &nsfile, &host_if, mac, ip, &subnet, journal, trace,
    )?;
    publish_ports(&ports, ip, name, id, journal, trace)?;
    *settings = NetworkSettings {
        mode: "bridge".into(),
        ip_address: Some(ip),
        prefix_len: subnet.prefix,
        gateway: Some(subnet.gateway()),
        mac_address: net::format_mac(&mac),
        host_veth: host_if,
        bridge: BRIDGE.into(),
        netns: Some(nsfile),
        ports,
    };
    Ok(())
}

/// Under the host-wide lock: the shared network (made if missing), the
/// port leases, and an address lease. Returns the address, and the mappings
/// with a free host port chosen where `-p` named none.
fn reserve(
    root: &DataRoot,
    id: &str,
    config: &RunConfig,
    subnet: &Subnet,
    host: &mut Netlink,
    journal: &Journal,
    trace: &mut Trace,
) -> anyhow::Result<(Ipv4Addr, Vec<PortMapping>)> {
    let holder = Holder {
        root: root.path.clone(),
        key: root.key.clone(),
        container: id.to_string(),
    };
    let t = now_ns();
    let alloc = Allocator::lock(&state_dir())?;
    trace.step(
        "engine",
        t,
        "lock_allocator",
        format!("flock {STATE_DIR}/lock"),
    );
    // Once per data root: its cleanup then removes the shared network if unused.
    let shared = Object::SharedNetwork(BRIDGE.to_string());
    if !Journal::objects(&root.journal_path())?.contains(&shared) {
        root.journal()?
            .record(&shared)
            .context("cannot write the data root's journal")?;
    }
    ensure_shared(&alloc, host, subnet, trace)?;
    let mut ports = Vec::new();
    for asked in &config.publish {
        let mut m = asked.clone();
        if m.host_port == 0 {
            // The kernel's pick, unless a glassbox container leased it (a
            // DNAT'd port has no listener the kernel could know of).
            for _ in 0..32 {
                m.host_port = m.pick_free_port()?;
                let path = alloc.port_path(m.protocol.as_str(), m.host_port);
                if alloc.live_holder(&path).is_none() {
                    break;
                }
            }
        }
        let path = alloc.port_path(m.protocol.as_str(), m.host_port);
        if !alloc.take(&path, &holder)? {
            let by = alloc
                .live_holder(&path)
                .map(|h| format!(" by glassbox container {}", short(&h.container)))
                .unwrap_or_default();
            return Err(m.in_use(&by).into());
        }
        record(journal, &Object::Lease(path))?;
        ports.push(m);
    }
    let t = now_ns();
    let (ip, lease) = alloc.lease_address(subnet, &holder)?;
    record(journal, &Object::Lease(lease.clone()))?;
    trace.step(
        "engine",
        t,
        "lease_address",
        format!("{ip}/{} ({})", subnet.prefix, lease.display()),
    );
    Ok((ip, ports))
}

/// The namespace on `nsfile`, the veth pair into it, the inside configured,
/// the outside plugged into the bridge.
#[allow(clippy::too_many_arguments)]
fn wire_namespace(
    host: &mut Netlink,
    nsfile: &Path,
    host_if: &str,
    mac: [u8; 6],
    ip: Ipv4Addr,
    subnet: &Subnet,
    journal: &Journal,
    trace: &mut Trace,
) -> anyhow::Result<()> {
    record(journal, &Object::Netns(nsfile.to_path_buf()))?;
    let t = now_ns();
    let mut inside = netns::create_netns(nsfile)?;
    trace.step(
        "engine",
        t,
        "create_netns",
        format!(
            "unshare(CLONE_NEWNET) in a thread; mount --bind /proc/thread-self/ns/net {}",
            nsfile.display()
        ),
    );
    record(journal, &Object::Link(host_if.to_string()))?;
    let ns = std::fs::File::open(nsfile).map_err(NetworkError::io("cannot open", nsfile))?;
    veth::create_veth_pair(
        host,
        host_if,
        mac,
        ns.as_raw_fd(),
        &nsfile.display().to_string(),
        trace,
    )?;
    drop(ns);
    veth::configure_inside(&mut inside, ip, subnet.prefix, subnet.gateway(), trace)?;
    veth::attach_to_bridge(host, host_if, BRIDGE, trace)?;
    Ok(())
}

/// The NAT rules of `-p`, journaled, then added in one iptables-restore.
fn publish_ports(
    publish: &[PortMapping],
    ip: Ipv4Addr,
    name: &str,
    id: &str,
    journal: &Journal,
    trace: &mut Trace,
) -> anyhow::Result<()> {
    let rules: Vec<Rule> = publish
        .iter()
        .flat_map(|m| nat::port_rules(m, ip, BRIDGE, name, id))
        .collect();
    for r in &rules {
        record(
            journal,
            &Object::IptablesRule {
                table: r.table.clone(),
                chain: r.chain.clone(),
                args: r.args.clone(),
            },
        )?;
    }
    nat::add_rules(&rules, trace)?;
    Ok(())
}

/// Makes the bridge and its NAT chains if they are not there (the caller
/// holds the allocator's lock). A bridge that exists must carry our subnet.
fn ensure_shared(
    _alloc: &Allocator,
    host: &mut Netlink,
    subnet: &Subnet,
    trace: &mut Trace,
) -> anyhow::Result<()> {
    let state: Option<SharedState> = std::fs::read(shared_state_path())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(found) = bridge::existing(host, BRIDGE)? {
        bridge::check_matches(BRIDGE, &found, subnet)?;
        let mut s = state.unwrap_or_default();
        ensure_nat(&mut s, subnet, trace)?;
        return Ok(());
    }
    ipam::check_host_routes(subnet, BRIDGE)?;
    let made = (|| -> anyhow::Result<SharedState> {
        bridge::create_bridge(host, BRIDGE, trace)?;
        bridge::assign_gateway(host, BRIDGE, subnet, trace)?;
        bridge::bring_up(host, BRIDGE, trace)?;
        let t = now_ns();
        let was = sysctl::set(Path::new(sysctl::IP_FORWARD), "1")?;
        trace.step(
            "engine",
            t,
            "enable_ip_forward",
            format!("write 1 to {}", sysctl::IP_FORWARD),
        );
        let mut s = SharedState {
            subnet: subnet.to_string(),
            nat: false,
            // Keep an earlier record of the original value, if there is one.
            ip_forward_was: state
                .as_ref()
                .and_then(|s| s.ip_forward_was.clone())
                .or(was),
            loopback_guard: false,
        };
        save_shared(&s)?;
        ensure_nat(&mut s, subnet, trace)?;
        // Only for the DNAT rules (no iptables, no published ports), and only
        // now that the loopback guard is there.
        if s.nat && s.loopback_guard {
            bridge::enable_route_localnet(BRIDGE, trace)?;
        }
        Ok(s)
    })();
    if let Err(e) = made {
        let _ = bridge::delete_bridge(host, BRIDGE);
        return Err(e);
    }
    Ok(())
}

/// The NAT chains and the loopback guard, each made where the record says
/// it is missing (an older glassbox made no guard; `install_chains` starts
/// from scratch, so a guard must follow it). Without iptables, nothing.
fn ensure_nat(s: &mut SharedState, subnet: &Subnet, trace: &mut Trace) -> anyhow::Result<()> {
    if nat::iptables().is_none() {
        return Ok(());
    }
    if !s.nat {
        nat::install_chains(subnet, BRIDGE, trace)?;
        s.subnet = subnet.to_string();
        s.nat = true;
        s.loopback_guard = false;
        save_shared(s)?;
    }
    if !s.loopback_guard {
        nat::install_loopback_guard(BRIDGE, trace)?;
        s.loopback_guard = true;
        save_shared(s)?;
    }
    Ok(())
}

fn save_shared(s: &SharedState) -> anyhow::Result<()> {
    std::fs::create_dir_all(state_dir())?;
    crate::util::fs::write_atomic(&shared_state_path(), &serde_json::to_vec_pretty(s)?)?;
    Ok(())
}

/// Removes the bridge, the chains and the sysctl changes, if no container of
/// any data root holds a lease any more.
fn remove_shared_if_unused(bridge_name: &str) -> anyhow::Result<()> {
    let alloc = Allocator::lock(&state_dir())?;
    if !alloc.live_leases().is_empty() {
        return Ok(());
    }
    alloc.remove_stale();
    nat::remove_chains()?;
    let mut host = Netlink::open()?;
    bridge::delete_bridge(&mut host, bridge_name)?;
    let state: Option<SharedState> = std::fs::read(shared_state_path())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(old) = state.and_then(|s| s.ip_forward_was) {
        // Another bridge (docker0, a dockerd's own, libvirt's virbr0) routes
        // through the same switch, which its engine may have found on because
        // glassbox had turned it on: turning it off would cut its containers
        // off. It stays on while one is there.
        let others: Vec<String> = netdev::list_bridges(Path::new("/sys/class/net"))
            .unwrap_or_default()
            .into_iter()
            .filter(|b| b != bridge_name)
            .collect();
        if others.is_empty() {
            sysctl::write(Path::new(sysctl::IP_FORWARD), &old)?;
        }
    }
    let _ = std::fs::remove_file(shared_state_path());
    Ok(())
}

/// Undoes one network object of a journal (links, namespaces, NAT rules,
/// the shared bridge). Already gone is success. The caller has checked that
/// the journal's owner may (`cleanup::Owner::admits`); leases are released
/// there, only while they still name the owner.
pub fn undo(object: &Object) -> anyhow::Result<()> {
    match object {
        Object::Link(name) => {
            Netlink::open()?.delete_link(name)?;
        }
        Object::Netns(path) => netns::remove_netns(path)?,
        Object::IptablesRule { table, chain, args } => nat::delete_rule(&Rule {
            table: table.clone(),
            chain: chain.clone(),
            args: args.clone(),
        })?,
        Object::SharedNetwork(bridge_name) => remove_shared_if_unused(bridge_name)?,
        Object::Lease(_)
        | Object::Mount(_)
        | Object::Cgroup(_)
        | Object::Dir(_)
        | Object::Layer(_)
        | Object::Process { .. } => {}
    }
    Ok(())
}

/// Step `network_teardown`, as the container stops: its NAT rules (one
/// iptables-restore), the host end of its veth set down (it leaves the bridge's
/// forwarding at once), the namespace unmounted, the leases released. Each is
/// then marked undone in the journal, so `rm` does not repeat it.
///
/// The veth pair is not deleted here: with the container's processes gone and
/// the bind mount removed, nothing holds the namespace, and the kernel
/// destroys it with its `eth0`, which takes the host end with it. The kernel
/// does that asynchronously (net/core/net_namespace.c, `cleanup_net`), in
/// batches; an explicit RTM_DELLINK would make the caller wait ~20 ms for RCU
/// grace periods on every stop. (`rm` and `cleanup` still delete the link
/// themselves whenever its journal line has not been marked undone.)
pub fn teardown(root: &DataRoot, id: &str, trace: &mut Trace) -> Vec<String> {
    let mut errors = Vec::new();
    let paths = Paths::new(root, id);
    let owner = super::cleanup::Owner::container(root, id);
    let holder = Holder {
        root: root.path.clone(),
        key: root.key.clone(),
        container: id.to_string(),
    };
    let (Ok(journal), Ok(objects)) = (
        Journal::open(&paths.journal()),
        Journal::objects(&paths.journal()),
    ) else {
        return errors;
    };
    // Only what this container may undo (its own rules, namespace, veth,
    // leases). The network's objects only: checking a cgroup's claim reads
    // the mount table, and a container without a network has none of them.
    let objects: Vec<Object> = objects
        .into_iter()
        .filter(Object::is_container_network)
        .filter(|o| owner.admits(o).is_ok())
        .collect();
    let done = |o: &Object, errors: &mut Vec<String>| {
        if let Err(e) = journal.record_undone(o) {
            errors.push(format!("cannot write {}: {e}", journal.path().display()));
        }
    };
    let rule_objects: Vec<&Object> = objects
        .iter()
        .filter(|o| matches!(o, Object::IptablesRule { .. }))
        .collect();
    let rules: Vec<Rule> = rule_objects
        .iter()
        .filter_map(|o| match o {
            Object::IptablesRule { table, chain, args } => Some(Rule {
                table: table.clone(),
                chain: chain.clone(),
                args: args.clone(),
            }),
            _ => None,
        })
        .collect();
    if !rules.is_empty() {
        let t = now_ns();
        match nat::delete_rules(&rules) {
            Ok(()) => {
                trace.step(
                    "engine",
                    t,
                    "delete_nat_rule",
                    rules
                        .iter()
                        .map(|r| format!("iptables -t {} -D {} …", r.table, r.chain))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
                for o in rule_objects {
                    done(o, &mut errors);
                }
            }
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    let links: Vec<&Object> = objects
        .iter()
        .filter(|o| matches!(o, Object::Link(_)))
        .collect();
    for o in &links {
        if let Object::Link(name) = o {
            let t = now_ns();
            match Netlink::open()
                .map_err(NetworkError::from)
                .and_then(|mut nl| Ok(nl.set_down(name)?))
            {
                Ok(_) => trace.step(
                    "engine",
                    t,
                    "set_link_down",
                    format!("RTM_NEWLINK {name} flags -UP"),
                ),
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
    }
    for o in objects.iter().rev() {
        match o {
            Object::Netns(path) => {
                let t = now_ns();
                match netns::remove_netns(path) {
                    Ok(()) => {
                        trace.step(
                            "engine",
                            t,
                            "remove_netns",
                            format!("umount {}; the kernel then destroys the namespace and its veth pair", path.display()),
                        );
                        done(o, &mut errors);
                        for l in &links {
                            done(l, &mut errors);
                        }
                    }
                    Err(e) => errors.push(format!("{e:#}")),
                }
            }
            Object::Lease(path) => {
                let t = now_ns();
                match ipam::release_if_held(path, &holder) {
                    Ok(released) => {
                        let what = match released {
                            ipam::Released::HeldByOther(h) => format!(
                                "{} now names container {}: left to it",
                                path.display(),
                                short(&h.container)
                            ),
                            _ => format!("rm {}", path.display()),
                        };
                        trace.step("engine", t, "release_lease", what);
                        done(o, &mut errors);
                    }
                    Err(e) => errors.push(format!("removing the lease {}: {e}", path.display())),
                }
            }
            _ => {}
        }
    }
    errors
}

/// Points config.json at the namespace and adds the /etc files as bind mounts.
pub fn apply_to_spec(spec: &mut Spec, paths: &Paths, settings: &NetworkSettings) {
    if let Some(file) = &settings.netns {
        for ns in spec
            .linux
            .namespaces
            .iter_mut()
            .filter(|ns| ns.typ == "network")
        {
            ns.path = Some(file.display().to_string());
        }
    }
    for name in ETC_FILES {
        spec.mounts.push(Mount {
            destination: format!("/etc/{name}"),
            typ: "bind".into(),
            source: paths.dir.join(name).display().to_string(),
            options: vec!["rbind".into(), "rprivate".into()],
        });
    }
}

/// `/etc/hosts` of a container: localhost, and its own name on its address.
pub fn hosts_file(hostname: &str, settings: &NetworkSettings, host_hosts: &str) -> String {
    if settings.mode == "host" {
        return host_hosts.to_string();
    }
    let mut text = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    if let Some(ip) = settings.ip_address {
        text.push_str(&format!("{ip}\t{hostname}\n"));
    }
    text
}

/// `/etc/resolv.conf` of a container: the host's, without nameservers on
/// loopback (127.0.0.53 is systemd-resolved *in the host's namespace*, which a
/// container cannot reach), as docker does. With the host's network it is
/// the host's file unchanged.
pub fn resolv_conf(host: &str, mode: &str) -> String {
    if mode == "host" {
        return host.to_string();
    }
    let mut out = String::new();
    let mut nameservers = 0;
    for line in host.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["nameserver", addr, ..] = words.as_slice() {
            let loopback = addr.starts_with("127.") || *addr == "::1";
            if loopback {
                continue;
            }
            nameservers += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    if nameservers == 0 {
        out.push_str(
            "# glassbox: the host's only nameservers are on its loopback, which a container\n\
             # cannot reach; docker would put 8.8.8.8 here. Add one with a volume if needed.\n",
        );
    }
    out
}

fn write_etc_files(
    paths: &Paths,
    hostname: &str,
    settings: &NetworkSettings,
) -> anyhow::Result<()> {
    let host_hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let files = [
        ("hosts", hosts_file(hostname, settings, &host_hosts)),
        ("hostname", format!("{hostname}\n")),
        ("resolv.conf", resolv_conf(&host_resolv, &settings.mode)),
    ];
    for (name, text) in files {
        let path = paths.dir.join(name);
        // Before the init bind-mounts them; made ahead (empty) with the directory.
        crate::util::fs::write_in_place(&path, text.as_bytes(), 0o666)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The files every container gets from the engine, bind-mounted over the
/// image's (their mount points are in the container's init layer, see run.rs).
pub const ETC_FILES: [&str; 3] = ["hosts", "hostname", "resolv.conf"];

/// docker's `NetworkSettings` for `inspect`. Addresses are shown while the
/// container runs (its lease is released when it stops), as docker does.
pub fn settings_json(root: &DataRoot, record: &Record) -> serde_json::Value {
    let paths = Paths::new(root, &record.id);
    let s = load(&paths).unwrap_or_else(|| NetworkSettings {
        mode: effective_mode(&record.config).to_string(),
        ..Default::default()
    });
    let running = record.is_running();
    let text = |v: Option<Ipv4Addr>| match v {
        Some(ip) if running => ip.to_string(),
        _ => String::new(),
    };
    let mut ports = serde_json::Map::new();
    if running {
        for m in &s.ports {
            let entry = ports.entry(m.container_key()).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(json!({"HostIp": m.host_ip_text(), "HostPort": m.host_port.to_string()}));
            }
        }
    }
    let prefix = if running && s.ip_address.is_some() {
        s.prefix_len
    } else {
        0
    };
    let mac = if running {
        s.mac_address.clone()
    } else {
        String::new()
    };
    let endpoint = json!({
        "NetworkID": s.bridge,
        "Gateway": text(s.gateway),
        "IPAddress": text(s.ip_address),
        "IPPrefixLen": prefix,
        "MacAddress": mac,
    });
    json!({
        "Bridge": "",
        "SandboxKey": s.netns.as_ref().filter(|_| running).map(|p| p.display().to_string()).unwrap_or_default(),
        "Ports": ports,
        "Gateway": text(s.gateway),
        "IPAddress": text(s.ip_address),
        "IPPrefixLen": prefix,
        "MacAddress": mac,
        "Networks": { s.mode.clone(): endpoint },
        "Glassbox": {
            "Bridge": s.bridge,
            "HostVeth": if running { s.host_veth.clone() } else { String::new() },
            "ContainerInterface": if s.ip_address.is_some() { CONTAINER_IFNAME } else { "" },
        }
    })
}

/// docker's `HostConfig.PortBindings`: what `-p` asked, running or not.
pub fn port_bindings_json(config: &RunConfig) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for m in &config.publish {
        let entry = map.entry(m.container_key()).or_insert_with(|| json!([]));
        if let Some(list) = entry.as_array_mut() {
            let port = match m.host_port {
                0 => String::new(),
                p => p.to_string(),
            };
            list.push(json!({"HostIp": m.host_ip.map(|ip| ip.to_string()).unwrap_or_default(), "HostPort": port}));
        }
    }
    serde_json::Value::Object(map)
}

/// The published ports of a running container (none when it is not running).
pub fn published(root: &DataRoot, record: &Record) -> Vec<PortMapping> {
    if !record.is_running() {
        return Vec::new();
    }
    load(&Paths::new(root, &record.id))
        .map(|s| s.ports)
        .unwrap_or_default()
}

/// docker's PORTS column: `0.0.0.0:8080->80/tcp, …`.
pub fn ports_column(root: &DataRoot, record: &Record) -> String {
    published(root, record)
        .iter()
        .map(PortMapping::ps_text)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `glassbox port NAME`: one line per mapping, `80/tcp -> 0.0.0.0:8080`.
pub fn port_lines(root: &DataRoot, record: &Record) -> Vec<String> {
    published(root, record)
        .iter()
        .map(PortMapping::port_line)
        .collect()
}

/// The two ends of a running container's veth: the host's `gb…` (read from
/// /sys/class/net) and the container's `eth0` (read through the container's
/// own /sys, at /proc/PID/root/sys/class/net), with their byte counters. Each
/// one's `iflink` is the other's `ifindex`.
pub fn veth_ends(record: &Record) -> Option<(NetDev, NetDev)> {
    if !record.is_running() {
        return None;
    }
    let inside_root = PathBuf::from(format!("/proc/{}/root/sys/class/net", record.state.pid));
    let inside = netdev::read_netdev(&inside_root, CONTAINER_IFNAME).ok()?;
    let host = netdev::list_netdevs(Path::new("/sys/class/net")).ok()?;
    let peer = netdev::find_veth_peer(&host, &inside)?.clone();
    Some((peer, inside))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_nameservers() {
        let host = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
        let c = resolv_conf(host, "bridge");
        assert!(!c.contains("127.0.0.53"));
        assert!(c.contains("search lan") && c.contains("docker would put"));
        let host = "nameserver 10.0.2.3\nnameserver ::1\n";
        assert_eq!(resolv_conf(host, "bridge"), "nameserver 10.0.2.3\n");
        assert_eq!(resolv_conf(host, "host"), host);
    }

    #[test]
    fn hosts_names_the_container() {
        let s = NetworkSettings {
            mode: "bridge".into(),
            ip_address: Some(Ipv4Addr::new(172, 29, 0, 2)),
            ..Default::default()
        };
        let h = hosts_file("web", &s, "");
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.ends_with("172.29.0.2\tweb\n"));
        let none = NetworkSettings {
            mode: "none".into(),
            ..Default::default()
        };
        assert!(!hosts_file("web", &none, "").contains("web"));
        assert_eq!(
            hosts_file(
                "web",
                &NetworkSettings {
                    mode: "host".into(),
                    ..Default::default()
                },
                "1.2.3.4 h\n"
            ),
            "1.2.3.4 h\n"
        );
    }
}
