//! `iptables-save -c`: the packet filter's rules, with how often each matched.
//!
//! Rules live in tables (`*nat`, `*filter`) and chains; each rule matches
//! packets and jumps (`-j`) to a target. Publishing a port is a `DNAT` rule in
//! the nat table that rewrites the destination to the container's address;
//! the `[packets:bytes]` counters in front of each rule rise as traffic hits it.

use std::process::Command;

use serde::Serialize;

use super::{ParseError, ReadError, parse_num};

/// Everything one `iptables-save -c` printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IptablesSave {
    pub tables: Vec<Table>,
}

impl IptablesSave {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// One table (`*nat`), from its header to `COMMIT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    pub name: String,
    pub chains: Vec<Chain>,
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// A chain, its policy and counters (`:PREROUTING ACCEPT [12:720]`) and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    pub name: String,
    /// `ACCEPT`/`DROP` for a built-in chain; `None` for a user chain (`-`).
    pub policy: Option<String>,
    /// Packets and bytes that reached the end of a built-in chain and got the policy.
    pub packets: u64,
    pub bytes: u64,
    pub rules: Vec<Rule>,
}

/// One rule, `[5:300] -A GLASSBOX ... -j DNAT --to-destination 172.29.0.2:80`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub chain: String,
    /// Packets and bytes that matched; 0 when the output had no counters (no `-c`).
    pub packets: u64,
    pub bytes: u64,
    /// The rule as `iptables -S` prints it, without counters: `-A CHAIN ...`.
    pub text: String,
    /// The words after `-A CHAIN`, quotes removed.
    pub args: Vec<String>,
    /// The `-j` target: `DNAT`, `MASQUERADE`, `ACCEPT`, another chain...
    pub target: Option<String>,
    /// `-p`: `tcp`, `udp`...
    pub protocol: Option<String>,
    /// `--dport`: a port, or a range `8000:8080`.
    pub dport: Option<String>,
    /// DNAT's `--to-destination ADDRESS[:PORT]`.
    pub to_destination: Option<String>,
}

impl Rule {
    /// The value after `flag` (e.g. `-i`, `-s`, `--comment`), if the rule has it.
    pub fn option(&self, flag: &str) -> Option<&str> {
        option(&self.args, flag)
    }

    /// True when `flag` is negated with `!` (`! -i glassbox0`: not from the bridge).
    pub fn is_negated(&self, flag: &str) -> bool {
        let i = self.args.iter().position(|a| a == flag);
        i.and_then(|i| i.checked_sub(1))
            .is_some_and(|before| self.args[before] == "!")
    }
}

fn option<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let i = args.iter().position(|a| a == flag)?;
    args.get(i + 1).map(String::as_str)
}

/// Parses the output of `iptables-save -c` (or without `-c`).
pub fn parse_iptables_save(text: &str) -> Result<IptablesSave, ParseError> {
    let mut save = IptablesSave::default();
    let mut open: Option<Table> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = |e: ParseError| e.at_line(index, raw);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            if let Some(table) = &open {
                return Err(at(ParseError::missing(format!(
                    "COMMIT ending table `{}`",
                    table.name
                ))));
            }
            open = Some(Table {
                name: name.to_string(),
                chains: Vec::new(),
            });
            continue;
        }
        let table = open
            .as_mut()
            .ok_or_else(|| at(ParseError::missing("`*TABLE` header before this line")))?;
        if line == "COMMIT" {
            save.tables.extend(open.take());
        } else if let Some(chain) = line.strip_prefix(':') {
            table.chains.push(parse_chain(chain).map_err(at)?);
        } else {
            let rule = parse_rule(line).map_err(at)?;
            let chain = table
                .chains
                .iter_mut()
                .find(|c| c.name == rule.chain)
                .ok_or_else(|| {
                    at(ParseError::invalid(
                        "chain",
                        &rule.chain,
                        "a chain declared with `:NAME` above",
                    ))
                })?;
            chain.rules.push(rule);
        }
    }
    match open {
        Some(table) => Err(ParseError::missing(format!(
            "COMMIT ending table `{}` at end of input",
            table.name
        ))),
        None => Ok(save),
    }
}

/// Runs `iptables-save -c` (for one table if given) and parses its output.
/// Needs root (CAP_NET_ADMIN).
pub fn read_iptables_save(table: Option<&str>) -> Result<IptablesSave, ReadError> {
    let mut args = vec!["-c"];
    if let Some(table) = table {
        args.extend(["-t", table]);
    }
    let shown = format!("iptables-save {}", args.join(" "));
    let output = Command::new("iptables-save")
        .args(&args)
        .output()
        .map_err(|e| ReadError::Command {
            command: shown.clone(),
            detail: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(ReadError::Command {
            command: shown,
            detail: format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    parse_iptables_save(&String::from_utf8_lossy(&output.stdout)).map_err(|e| ReadError::Command {
        command: shown,
        detail: format!("unexpected output: {e}"),
    })
}

/// `NAME POLICY [PACKETS:BYTES]` (the text after the `:`).
fn parse_chain(text: &str) -> Result<Chain, ParseError> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let (name, policy, counters) = match parts.as_slice() {
        [name, policy, counters] => (*name, *policy, Some(*counters)),
        [name, policy] => (*name, *policy, None),
        _ => {
            return Err(ParseError::invalid(
                "chain line",
                text,
                "`:NAME POLICY [PACKETS:BYTES]`",
            ));
        }
    };
    let (packets, bytes) = counters.map_or(Ok((0, 0)), parse_counters)?;
    Ok(Chain {
        name: name.to_string(),
        policy: (policy != "-").then(|| policy.to_string()),
        packets,
        bytes,
        rules: Vec::new(),
    })
}

/// `[PACKETS:BYTES] -A CHAIN ARGS...`, counters optional.
fn parse_rule(line: &str) -> Result<Rule, ParseError> {
    let (packets, bytes, text) = match line.strip_prefix('[') {
        Some(_) => {
            let (counters, text) = line
                .split_once(' ')
                .ok_or_else(|| ParseError::missing("rule after the counters"))?;
            let (packets, bytes) = parse_counters(counters)?;
            (packets, bytes, text.trim())
        }
        None => (0, 0, line),
    };
    let words = split_words(text)?;
    let (chain, args) = match words.as_slice() {
        [append, chain, args @ ..] if append == "-A" => (chain.clone(), args.to_vec()),
        _ => {
            return Err(ParseError::invalid(
                "rule",
                text,
                "`-A CHAIN ...`, a `:CHAIN` declaration or `COMMIT`",
            ));
        }
    };
    let get = |flag: &str| option(&args, flag).map(str::to_string);
    Ok(Rule {
        chain,
        packets,
        bytes,
        text: text.to_string(),
        target: get("-j"),
        protocol: get("-p"),
        dport: get("--dport"),
        to_destination: get("--to-destination"),
        args,
    })
}

fn parse_counters(text: &str) -> Result<(u64, u64), ParseError> {
    let expected = "`[PACKETS:BYTES]`";
    let (packets, bytes) = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.split_once(':'))
        .ok_or_else(|| ParseError::invalid("counters", text, expected))?;
    Ok((
        parse_num("packet count", packets)?,
        parse_num("byte count", bytes)?,
    ))
}

/// Splits a rule into words as iptables-save quotes them: `"a b"` is one word,
/// and `\"` or `\\` inside quotes stand for `"` and `\`.
fn split_words(text: &str) -> Result<Vec<String>, ParseError> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => word.extend(chars.next()),
                    Some(other) => word.push(other),
                    None => return Err(ParseError::missing("closing `\"` of a quoted word")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        words.push(word);
    }
    Ok(words)
}
