//! NAT with iptables: how containers reach out, and how `-p 8080:80` reaches in.
//!
//! Containers have private addresses (172.29.0.x) that nothing outside the host
//! knows how to reach. Two kinds of *network address translation* rules, in
//! the `nat` table of the kernel's packet filter, fix that:
//!
//! - **MASQUERADE** (outbound): a packet from the subnet leaving by any
//!   interface other than the bridge gets the host's own address as its
//!   source; conntrack remembers the connection and rewrites the replies back.
//! - **DNAT** (inbound, one rule per published port): a packet for host port
//!   8080 gets `172.29.0.2:80` as its new destination, and routing then
//!   delivers it across the bridge. That rule *is* `-p 8080:80` (topic 11);
//!   its packet counter counts connections, because only the first packet of
//!   a connection traverses the nat table.
//!
//! Like docker's `DOCKER` chains, glassbox keeps its rules in chains of its own,
//! hooked once from the built-in ones, so they are easy to find (`iptables -t
//! nat -L -n -v`), to count, and to remove:
//!
//! ```text
//! nat    PREROUTING  -m addrtype --dst-type LOCAL -j GLASSBOX     (from outside)
//! nat    OUTPUT      -m addrtype --dst-type LOCAL -j GLASSBOX     (from the host itself)
//! nat    GLASSBOX    ! -i glassbox0 -p tcp --dport 8080 -j DNAT --to-destination 172.29.0.2:80
//! nat    POSTROUTING -j GLASSBOX-POSTROUTING
//! nat    GLASSBOX-POSTROUTING -s 172.29.0.0/16 ! -o glassbox0 -j MASQUERADE
//! nat    GLASSBOX-POSTROUTING -s 127.0.0.0/8 -o glassbox0 -j MASQUERADE
//! filter FORWARD     -j GLASSBOX-FORWARD   (first: accepts what a DROP policy would stop)
//! filter INPUT       -j GLASSBOX-INPUT     (first)
//! filter GLASSBOX-INPUT -d 127.0.0.0/8 -i glassbox0 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
//! ```
//!
//! ## `curl 127.0.0.1:8080` from the host itself
//!
//! A packet the host sends to itself never passes PREROUTING, so docker's
//! rules alone do not catch it. docker's answer is a *userland proxy*
//! (`docker-proxy`), a process per published port that listens on 8080 and
//! copies bytes to the container. glassbox instead makes the kernel do it,
//! as docker does with `--userland-proxy=false`: the same DNAT rule is also
//! reached from the OUTPUT hook; `route_localnet` on the bridge lets the
//! rewritten packet leave with its 127.0.0.1 source (see [`super::sysctl`]);
//! and the second MASQUERADE rule gives it the bridge's address as source, so
//! the container's reply comes back to the host rather than to the
//! container's own loopback. Why this way: the lesson is that a published
//! port *is* a DNAT rule, and with a proxy the student's curl would never
//! touch that rule (its counter would stay at zero) and a process would sit
//! in between. It also costs no process per port and nothing to supervise.
//!
//! ## What `route_localnet` must not open
//!
//! The same switch makes the host *accept* packets to 127.0.0.1 that come in
//! from the bridge. A container may write raw Ethernet frames (CAP_NET_RAW is
//! among docker's 14): a SYN for 127.0.0.1:PORT sent to the bridge's MAC would
//! reach a service the host bound to loopback only (CVE-2020-8558). The
//! GLASSBOX-INPUT chain drops such packets unless conntrack knows them as the
//! reply of the host's own DNAT'd curl ([`loopback_guard_rule`]), and it is in
//! place before `route_localnet` is switched on.
//!
//! iptables itself is a program (`iptables-restore`, `iptables -D`): the
//! kernel's nf_tables netlink interface is not something to hand-write, and
//! the `iptables` command is what the student reads the rules back with.

use crate::runtime::trace::{Trace, now_ns};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::ipam::Subnet;
use super::ports::{PortMapping, Protocol};
use crate::inspect::iptables::{IptablesSave, Rule as SavedRule};

/// The nat chain holding the DNAT rules of published ports.
pub const CHAIN: &str = "GLASSBOX";
/// The nat chain holding the MASQUERADE rules.
pub const CHAIN_POSTROUTING: &str = "GLASSBOX-POSTROUTING";
/// The filter chain that accepts forwarded traffic to and from the bridge.
pub const CHAIN_FORWARD: &str = "GLASSBOX-FORWARD";

/// What failed with iptables.
#[derive(Debug, thiserror::Error)]
pub enum NatError {
    #[error(
        "iptables is not installed, and {what} needs it: install the package `iptables` \
         (sudo apt-get install iptables); --network none and --network host work without it"
    )]
    Missing { what: String },
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} failed to {what} (exit {code}): {stderr}")]
    Failed {
        program: String,
        what: String,
        code: i32,
        stderr: String,
    },
}

/// One iptables rule: table, chain, and the words after `-A CHAIN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub table: String,
    pub chain: String,
    pub args: Vec<String>,
}

impl Rule {
    fn new(table: &str, chain: &str, args: &str) -> Rule {
        Rule {
            table: table.into(),
            chain: chain.into(),
            args: args.split_whitespace().map(String::from).collect(),
        }
    }

    /// The rule as iptables-restore reads it after `-A`/`-I`/`-D CHAIN`.
    fn restore_words(&self) -> String {
        self.args
            .iter()
            .map(|a| {
                if a.contains(' ') || a.contains('"') {
                    format!("\"{}\"", a.replace('"', ""))
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `iptables -t TABLE -A CHAIN ARGS`, for a person to read.
    pub fn describe(&self) -> String {
        format!(
            "iptables -t {} -A {} {}",
            self.table,
            self.chain,
            self.restore_words()
        )
    }
}

/// The `iptables` program, if installed.
pub fn iptables() -> Option<PathBuf> {
    find_program("iptables")
}

/// `name` in `$PATH` (as a shell finds it; sudo's PATH has the sbin directories).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|p| p.is_file())
}

/// The program, or a [`NatError::Missing`] saying what needed it.
pub fn require(what: &str) -> Result<PathBuf, NatError> {
    iptables().ok_or_else(|| NatError::Missing {
        what: what.to_string(),
    })
}

fn run(program: &str, args: &[&str], input: Option<&str>, what: &str) -> Result<String, NatError> {
    let path = find_program(program).ok_or_else(|| NatError::Missing {
        what: what.to_string(),
    })?;
    let spawn_err = |source| NatError::Spawn {
        program: path.display().to_string(),
        source,
    };
    let mut child = Command::new(&path)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_err)?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes()).map_err(spawn_err)?;
    }
    let out = child.wait_with_output().map_err(spawn_err)?;
    if !out.status.success() {
        return Err(NatError::Failed {
            program: program.to_string(),
            what: what.to_string(),
            code: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One `iptables-restore --noflush` of a batch, grouped by table: all or nothing.
fn restore(lines: &[(String, String)], what: &str) -> Result<(), NatError> {
    let mut text = String::new();
    for table in ["nat", "filter"] {
        let of_table: Vec<&String> = lines
            .iter()
            .filter(|(t, _)| t == table)
            .map(|(_, l)| l)
            .collect();
        if of_table.is_empty() {
            continue;
        }
        text.push_str(&format!("*{table}\n"));
        for l in of_table {
            text.push_str(l);
            text.push('\n');
        }
        text.push_str("COMMIT\n");
    }
    run("iptables-restore", &["-w", "--noflush"], Some(&text), what).map(|_| ())
}

/// The hooks from the built-in chains into ours, in the order they are made.
pub fn hook_rules() -> Vec<(Rule, bool)> {
    vec![
        (
            Rule::new(
                "nat",
                "PREROUTING",
                &format!("-m addrtype --dst-type LOCAL -j {CHAIN}"),
            ),
            false,
        ),
        (
            Rule::new(
                "nat",
                "OUTPUT",
                &format!("-m addrtype --dst-type LOCAL -j {CHAIN}"),
            ),
            false,
        ),
        (
            Rule::new("nat", "POSTROUTING", &format!("-j {CHAIN_POSTROUTING}")),
            false,
        ),
        // Inserted first: a host whose FORWARD policy is DROP (docker sets
        // that) would otherwise stop our containers' traffic.
        (
            Rule::new("filter", "FORWARD", &format!("-j {CHAIN_FORWARD}")),
            true,
        ),
    ]
}

/// The rules of our chains that do not depend on any container.
pub fn base_rules(subnet: &Subnet, bridge: &str) -> Vec<Rule> {
    vec![
        Rule::new(
            "nat",
            CHAIN_POSTROUTING,
            &format!("-s {subnet} ! -o {bridge} -j MASQUERADE"),
        ),
        Rule::new(
            "nat",
            CHAIN_POSTROUTING,
            &format!("-s 127.0.0.0/8 -o {bridge} -j MASQUERADE"),
        ),
        Rule::new(
            "filter",
            CHAIN_FORWARD,
            &format!("-o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
        ),
        Rule::new("filter", CHAIN_FORWARD, &format!("-i {bridge} -j ACCEPT")),
    ]
}

/// Step `install_nat_chains`: our three chains, their rules and the hooks,
/// in one iptables-restore. Leftovers of an earlier run are removed first.
pub fn install_chains(subnet: &Subnet, bridge: &str, trace: &mut Trace) -> Result<(), NatError> {
    require("the bridge network's NAT")?;
    remove_chains()?;
    let t = now_ns();
    let mut lines: Vec<(String, String)> = vec![
        ("nat".into(), format!(":{CHAIN} - [0:0]")),
        ("nat".into(), format!(":{CHAIN_POSTROUTING} - [0:0]")),
        ("filter".into(), format!(":{CHAIN_FORWARD} - [0:0]")),
    ];
    for r in base_rules(subnet, bridge) {
        lines.push((
            r.table.clone(),
            format!("-A {} {}", r.chain, r.restore_words()),
        ));
    }
    for (r, first) in hook_rules() {
        let op = if first { "-I" } else { "-A" };
        let pos = if first { " 1" } else { "" };
        lines.push((
            r.table.clone(),
            format!("{op} {}{pos} {}", r.chain, r.restore_words()),
        ));
    }
    restore(&lines, "install the GLASSBOX chains")?;
    trace.step(
        "engine",
        t,
        "install_nat_chains",
        format!("iptables-restore --noflush: {CHAIN}, {CHAIN_POSTROUTING} (MASQUERADE {subnet}), {CHAIN_FORWARD}, hooked from PREROUTING, OUTPUT, POSTROUTING, FORWARD"),
    );
    Ok(())
}

/// Removes our hooks and chains, whatever is left of them. Nothing there is
/// success; without iptables there is nothing to remove.
pub fn remove_chains() -> Result<(), NatError> {
    if iptables().is_none() {
        return Ok(());
    }
    let mut lines: Vec<(String, String)> = Vec::new();
    for table in ["nat", "filter"] {
        let saved = run("iptables-save", &["-t", table], None, "list the rules")?;
        let Ok(parsed) = crate::inspect::iptables::parse_iptables_save(&saved) else {
            continue;
        };
        let Some(t) = parsed.table(table) else {
            continue;
        };
        let ours = |name: &str| name.starts_with(CHAIN);
        for chain in &t.chains {
            for rule in &chain.rules {
                if !ours(&chain.name) && rule.target.as_deref().is_some_and(ours) {
                    lines.push((table.into(), rule.text.replacen("-A ", "-D ", 1)));
                }
            }
        }
        for chain in t.chains.iter().filter(|c| ours(&c.name)) {
            lines.push((table.into(), format!("-F {}", chain.name)));
        }
        for chain in t.chains.iter().filter(|c| ours(&c.name)) {
            lines.push((table.into(), format!("-X {}", chain.name)));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    restore(&lines, "remove the GLASSBOX chains")
}

/// The filter chain that keeps the host's loopback the host's
/// ([`loopback_guard_rule`]), reached first from INPUT.
pub const CHAIN_INPUT: &str = "GLASSBOX-INPUT";

/// The rule that drops what a container sends to the host's 127.0.0.0/8.
///
/// `route_localnet=1` on the bridge (see [`super::sysctl`]) is what lets a
/// DNAT'd `curl 127.0.0.1:PORT` leave by the bridge; it also makes the host
/// *accept* packets from the bridge addressed to 127.0.0.1. A container that
/// writes its own Ethernet frames (CAP_NET_RAW is one of docker's 14) could
/// then send a SYN for 127.0.0.1:PORT to the bridge's MAC and reach a
/// service the host bound to loopback only: CVE-2020-8558, found in
/// kube-proxy, which answered with this rule. A packet from the bridge to
/// 127.0.0.0/8 passes only if conntrack knows it: a reply of a connection
/// the host made (ESTABLISHED, RELATED), or one a DNAT rule rewrote.
pub fn loopback_guard_rule(bridge: &str) -> Rule {
    let mut rule = Rule::new(
        "filter",
        CHAIN_INPUT,
        &format!(
            "-d 127.0.0.0/8 -i {bridge} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment"
        ),
    );
    rule.args
        .push("glassbox: containers may not reach host loopback (CVE-2020-8558)".into());
    rule.args.extend(["-j".to_string(), "DROP".to_string()]);
    rule
}

/// Step `install_loopback_guard`: the [`CHAIN_INPUT`] chain with
/// [`loopback_guard_rule`], hooked first from INPUT (once). Idempotent:
/// iptables-restore `--noflush` empties an existing chain it declares, and
/// the hook is added only where `iptables -C` does not find it.
pub fn install_loopback_guard(bridge: &str, trace: &mut Trace) -> Result<(), NatError> {
    require("the loopback guard")?;
    let t = now_ns();
    let hooked = run(
        "iptables",
        &["-w", "-t", "filter", "-C", "INPUT", "-j", CHAIN_INPUT],
        None,
        "look for the INPUT hook",
    )
    .is_ok();
    let rule = loopback_guard_rule(bridge);
    let mut lines: Vec<(String, String)> = vec![
        ("filter".into(), format!(":{CHAIN_INPUT} - [0:0]")),
        (
            "filter".into(),
            format!("-A {CHAIN_INPUT} {}", rule.restore_words()),
        ),
    ];
    if !hooked {
        lines.push(("filter".into(), format!("-I INPUT 1 -j {CHAIN_INPUT}")));
    }
    restore(&lines, "install the loopback guard")?;
    trace.step(
        "engine",
        t,
        "install_loopback_guard",
        format!(
            "{}; iptables -t filter -I INPUT 1 -j {CHAIN_INPUT}",
            rule.describe()
        ),
    );
    Ok(())
}

/// The comment every per-container rule carries: `glassbox NAME ID12`
/// (the DNAT rule adds the mapping before the ID: `glassbox web
/// 8080:80/tcp 3f2a9c01b7de`), so that `iptables -L` shows whose it is, and
/// an undo can tell a rule of this container from an identical one of a
/// later container given the same address (`-D` matches the comment too).
/// See [`rule_owner`].
pub fn owner_comment(name: &str, id: &str) -> String {
    format!("glassbox {name} {}", &id[..12.min(id.len())])
}

/// The container ID (12 digits) a rule's comment names: the comment's last
/// word, in a comment that starts with `glassbox `.
pub fn rule_owner(args: &[String]) -> Option<&str> {
    let at = args.iter().position(|a| a == "--comment")?;
    let comment = args.get(at + 1)?;
    comment.strip_prefix("glassbox ")?;
    let id = comment.split_whitespace().last()?;
    (id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit())).then_some(id)
}

/// The rules that publish one port of a container: the DNAT rule and the
/// filter rule that lets forwarded traffic through to it, each with the
/// container's [`owner_comment`].
pub fn port_rules(
    mapping: &PortMapping,
    container_ip: Ipv4Addr,
    bridge: &str,
    name: &str,
    id: &str,
) -> Vec<Rule> {
    let proto = mapping.protocol.as_str();
    let short_id = &id[..12.min(id.len())];
    let dest = mapping
        .host_ip
        .map(|ip| format!("-d {ip}/32 "))
        .unwrap_or_default();
    let mut dnat = Rule::new(
        "nat",
        CHAIN,
        &format!(
            "{dest}! -i {bridge} -p {proto} -m {proto} --dport {} -m comment --comment",
            mapping.host_port
        ),
    );
    dnat.args.push(format!(
        "glassbox {name} {}:{} {short_id}",
        mapping.host_port,
        mapping.container_key()
    ));
    dnat.args.extend(
        ["-j", "DNAT", "--to-destination"]
            .iter()
            .map(|s| s.to_string())
            .chain([format!("{container_ip}:{}", mapping.container_port)]),
    );
    let mut accept = Rule::new(
        "filter",
        CHAIN_FORWARD,
        &format!(
            "-d {container_ip}/32 ! -i {bridge} -o {bridge} -p {proto} -m {proto} --dport {} -m comment --comment",
            mapping.container_port
        ),
    );
    accept.args.push(owner_comment(name, id));
    accept.args.extend(["-j".to_string(), "ACCEPT".to_string()]);
    vec![dnat, accept]
}

/// Step `add_dnat_rule`: appends the rules (one iptables-restore for all).
pub fn add_rules(rules: &[Rule], trace: &mut Trace) -> Result<(), NatError> {
    if rules.is_empty() {
        return Ok(());
    }
    let t = now_ns();
    let lines: Vec<(String, String)> = rules
        .iter()
        .map(|r| {
            (
                r.table.clone(),
                format!("-A {} {}", r.chain, r.restore_words()),
            )
        })
        .collect();
    restore(&lines, "add the port rules")?;
    trace.step(
        "engine",
        t,
        "add_dnat_rule",
        rules
            .iter()
            .map(Rule::describe)
            .collect::<Vec<_>>()
            .join("; "),
    );
    Ok(())
}

/// Step `delete_nat_rule`: deletes the rules in one iptables-restore; if that
/// fails (one of them is already gone), one by one.
pub fn delete_rules(rules: &[Rule]) -> Result<(), NatError> {
    if rules.is_empty() || iptables().is_none() {
        return Ok(());
    }
    let lines: Vec<(String, String)> = rules
        .iter()
        .map(|r| {
            (
                r.table.clone(),
                format!("-D {} {}", r.chain, r.restore_words()),
            )
        })
        .collect();
    if restore(&lines, "delete the port rules").is_ok() {
        return Ok(());
    }
    rules.iter().try_for_each(delete_rule)
}

/// Deletes one rule (`iptables -t T -D CHAIN ARGS`). A rule or chain that is
/// not there is success; so is a host without iptables.
///
/// Two processes may undo the same rule at once: `rm -f` and the monitor
/// tearing down the container it just killed. iptables-nft looks the rule up
/// in its own copy of the ruleset and then deletes it by handle, so the
/// slower of the two finds it gone from the kernel and exits 4 with
/// `RULE_DELETE failed (No such file or directory)` (two `-D`s of one rule
/// race so about one time in ten here). Whatever the failure, `iptables -C`
/// then asks whether the rule is still there: gone is success; still there,
/// the delete is tried again, three times in all, and the last failure is
/// the error.
pub fn delete_rule(rule: &Rule) -> Result<(), NatError> {
    if iptables().is_none() {
        return Ok(());
    }
    let mut tries = 0;
    loop {
        tries += 1;
        let err = match iptables_rule_op(rule, "-D", &format!("delete a rule of {}", rule.chain)) {
            Ok(_) => return Ok(()),
            Err(e) if is_absent(&e) => return Ok(()),
            Err(e) => e,
        };
        match iptables_rule_op(rule, "-C", &format!("look for a rule of {}", rule.chain)) {
            Err(e) if is_absent(&e) => return Ok(()),
            _ if tries < 3 => continue,
            _ => return Err(err),
        }
    }
}

/// `iptables -w -t T OP CHAIN ARGS` for one rule.
fn iptables_rule_op(rule: &Rule, op: &str, what: &str) -> Result<String, NatError> {
    let mut args: Vec<&str> = vec!["-w", "-t", &rule.table, op, &rule.chain];
    args.extend(rule.args.iter().map(String::as_str));
    run("iptables", &args, None, what)
}

/// Whether iptables failed because the rule (or its chain) is not there:
/// exit 1 with one of the messages iptables-legacy and iptables-nft print.
fn is_absent(e: &NatError) -> bool {
    matches!(e, NatError::Failed { code: 1, stderr, .. }
        if stderr.contains("does a matching rule exist")
            || stderr.contains("No chain/target/match")
            || stderr.contains("does not exist")
            || stderr.contains("Bad rule"))
}

/// The rules that are glassbox's in a parsed `iptables-save -c`: those of the
/// GLASSBOX chains, and the hooks that jump into them, with their counters:
/// what the lab's NAT panel shows.
pub fn glassbox_rules(save: &IptablesSave) -> Vec<&SavedRule> {
    let ours = |name: &str| name.starts_with(CHAIN);
    save.tables
        .iter()
        .flat_map(|t| t.chains.iter())
        .flat_map(|c| c.rules.iter())
        .filter(|r| ours(&r.chain) || r.target.as_deref().is_some_and(ours))
        .collect()
}

/// The DNAT rule that publishes `host_port`/`protocol`, if there is one.
/// A port number alone does not name a rule: TCP and UDP ports are separate
/// spaces, so `-p 8080:80 -p 8080:53/udp` makes two rules for host port 8080,
/// told apart only by their `-p tcp` / `-p udp` match.
pub fn dnat_rule_for(
    save: &IptablesSave,
    host_port: u16,
    protocol: Protocol,
) -> Option<&SavedRule> {
    let port = host_port.to_string();
    save.table("nat")?.chain(CHAIN)?.rules.iter().find(|r| {
        r.target.as_deref() == Some("DNAT")
            && r.protocol.as_deref() == Some(protocol.as_str())
            && r.dport.as_deref() == Some(port.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2a9c01b7de5566778899aabbccddeeff00112233445566778899aabbccddee";

    #[test]
    fn port_rules_read_like_docker() {
        let m = PortMapping::parse("8080:80").unwrap();
        let rules = port_rules(&m, Ipv4Addr::new(172, 29, 0, 2), "glassbox0", "web", ID);
        assert_eq!(
            rules[0].describe(),
            "iptables -t nat -A GLASSBOX ! -i glassbox0 -p tcp -m tcp --dport 8080 -m comment --comment \"glassbox web 8080:80/tcp 3f2a9c01b7de\" -j DNAT --to-destination 172.29.0.2:80"
        );
        assert_eq!(
            rules[1].describe(),
            "iptables -t filter -A GLASSBOX-FORWARD -d 172.29.0.2/32 ! -i glassbox0 -o glassbox0 -p tcp -m tcp --dport 80 -m comment --comment \"glassbox web 3f2a9c01b7de\" -j ACCEPT"
        );
        for r in &rules {
            assert_eq!(rule_owner(&r.args), Some("3f2a9c01b7de"));
        }
        let m = PortMapping::parse("127.0.0.1:5353:53/udp").unwrap();
        let rules = port_rules(&m, Ipv4Addr::new(172, 29, 0, 3), "glassbox0", "dns", ID);
        assert!(
            rules[0]
                .describe()
                .contains("-d 127.0.0.1/32 ! -i glassbox0 -p udp -m udp --dport 5353")
        );
    }

    #[test]
    fn finds_our_rules_among_dockers() {
        let text = include_str!("../../../tests/fixtures/inspect/iptables/docker_and_glassbox.txt");
        let save = crate::inspect::iptables::parse_iptables_save(text).unwrap();
        let ours = glassbox_rules(&save);
        assert!(ours.iter().all(|r| r.text.contains("GLASSBOX")), "{ours:?}");
        assert!(ours.iter().any(|r| r.chain == "PREROUTING"));
        assert!(!ours.iter().any(|r| r.text.contains("DOCKER")));
        let dnat = dnat_rule_for(&save, 8080, Protocol::Tcp).unwrap();
        assert_eq!(dnat.to_destination.as_deref(), Some("172.29.0.2:80"));
        assert!(
            dnat_rule_for(&save, 8081, Protocol::Tcp).is_none(),
            "8081 is docker's"
        );
        assert!(
            dnat_rule_for(&save, 8080, Protocol::Udp).is_none(),
            "nothing publishes 8080/udp there"
        );
    }

    #[test]
    fn the_same_host_port_over_tcp_and_udp_are_two_rules() {
        // The udp rule comes first in the chain: a lookup by port alone
        // would hand it to whoever asked for the tcp one.
        let text =
            include_str!("../../../tests/fixtures/inspect/iptables/glassbox_tcp_and_udp.txt");
        let save = crate::inspect::iptables::parse_iptables_save(text).unwrap();
        let tcp = dnat_rule_for(&save, 8080, Protocol::Tcp).expect("the tcp rule");
        assert_eq!(tcp.to_destination.as_deref(), Some("172.29.0.2:80"));
        assert_eq!(tcp.packets, 2);
        let udp = dnat_rule_for(&save, 8080, Protocol::Udp).expect("the udp rule");
        assert_eq!(udp.to_destination.as_deref(), Some("172.29.0.3:53"));
        assert_eq!(udp.packets, 1);
    }

    #[test]
    fn the_loopback_guard_reads_like_kube_proxys() {
        assert_eq!(
            loopback_guard_rule("glassbox0").describe(),
            "iptables -t filter -A GLASSBOX-INPUT -d 127.0.0.0/8 -i glassbox0 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment \"glassbox: containers may not reach host loopback (CVE-2020-8558)\" -j DROP"
        );
    }

    #[test]
    fn the_comment_survives_as_one_word() {
        let m = PortMapping::parse("8080:80").unwrap();
        let rules = port_rules(&m, Ipv4Addr::new(172, 29, 0, 2), "glassbox0", "web", ID);
        assert!(
            rules[0]
                .args
                .contains(&"glassbox web 8080:80/tcp 3f2a9c01b7de".to_string())
        );
        // A rule without glassbox's comment names no owner.
        let bare: Vec<String> = ["-d", "172.29.0.2/32", "-j", "ACCEPT"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(rule_owner(&bare), None);
    }
}
