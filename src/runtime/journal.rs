//! The journal: every kernel object glassbox makes is written down *before* it is made.
//!
//! A container leaves objects in the kernel that outlive the process that made
//! them: a mount stays mounted, a cgroup directory stays, a veth stays, an
//! iptables rule stays. If the CLI is killed half way through `run`, nobody is
//! left to remove them. So each step first appends one line to a journal file
//! ("cgroup /sys/fs/cgroup/memory/glassbox/…") and only then asks the kernel.
//! `glassbox cleanup` replays the journals backwards and undoes each line; every
//! undo is idempotent (removing what is already gone is success), so cleanup can
//! run any number of times, after a crash or after a clean exit.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// One kind of object, with what is needed to remove it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// A mount point (unmounted with MNT_DETACH).
    Mount(PathBuf),
    /// A cgroup directory (its processes killed, then rmdir).
    Cgroup(PathBuf),
    /// A directory tree glassbox created on disk.
    Dir(PathBuf),
    /// A network link in the host's namespace (a veth's host end), deleted by name.
    Link(String),
    /// A network namespace bind-mounted on this file (unmounted, then removed).
    Netns(PathBuf),
    /// A host-wide lease file (an address or a published port).
    Lease(PathBuf),
    /// One iptables rule: table, chain and the words after `-A CHAIN`.
    IptablesRule {
        table: String,
        chain: String,
        args: Vec<String>,
    },
    /// The bridge with its NAT chains, shared by every data root: removed by
    /// cleanup only when no container of any root still uses it.
    SharedNetwork(String),
}

impl Object {
    fn to_line(&self) -> String {
        match self {
            Object::Mount(p) => format!("mount\t{}", p.display()),
            Object::Cgroup(p) => format!("cgroup\t{}", p.display()),
            Object::Dir(p) => format!("dir\t{}", p.display()),
            Object::Link(name) => format!("link\t{name}"),
            Object::Netns(p) => format!("netns\t{}", p.display()),
            Object::Lease(p) => format!("lease\t{}", p.display()),
            Object::IptablesRule { table, chain, args } => {
                format!("iptables\t{table}/{chain}\t{}", args.join("\t"))
            }
            Object::SharedNetwork(bridge) => format!("network\t{bridge}"),
        }
    }

    /// Parses one journal line; `None` for a line this version does not know
    /// (a torn last line after a crash is simply skipped).
    pub fn parse_line(line: &str) -> Option<Object> {
        let mut parts = line.splitn(3, '\t');
        let kind = parts.next()?;
        let first = parts.next()?;
        let rest = parts.next();
        Some(match (kind, rest) {
            ("mount", None) => Object::Mount(first.into()),
            ("cgroup", None) => Object::Cgroup(first.into()),
            ("dir", None) => Object::Dir(first.into()),
            ("link", None) => Object::Link(first.into()),
            ("netns", None) => Object::Netns(first.into()),
            ("lease", None) => Object::Lease(first.into()),
            ("network", None) => Object::SharedNetwork(first.into()),
            ("iptables", Some(rest)) => {
                let (table, chain) = first.split_once('/')?;
                Object::IptablesRule {
                    table: table.into(),
                    chain: chain.into(),
                    args: rest.split('\t').map(String::from).collect(),
                }
            }
            _ => return None,
        })
    }
}

/// An append-only journal file.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path`.
    pub fn open(path: &Path) -> io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the object down. Called *before* the object is made. One `write`
    /// of one whole line, so a crash leaves at worst a torn last line.
    pub fn record(&self, object: &Object) -> io::Result<()> {
        let mut line = object.to_line();
        line.push('\n');
        (&self.file).write_all(line.as_bytes())
    }

    /// Writes down that an object was removed (`undone\t…`), so that a later
    /// replay skips it. Used where removing is costly to repeat (a NAT rule
    /// spawns iptables) or is finished by the kernel on its own (a veth whose
    /// namespace is going away).
    pub fn record_undone(&self, object: &Object) -> io::Result<()> {
        let line = format!("undone\t{}\n", object.to_line());
        (&self.file).write_all(line.as_bytes())
    }

    /// Every object in the journal not since marked undone, oldest first,
    /// duplicates removed.
    pub fn objects(path: &Path) -> io::Result<Vec<Object>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out: Vec<Object> = Vec::new();
        for line in text.lines() {
            if let Some(done) = line.strip_prefix("undone\t") {
                if let Some(obj) = Object::parse_line(done) {
                    out.retain(|o| *o != obj);
                }
            } else if let Some(obj) = Object::parse_line(line)
                && !out.contains(&obj)
            {
                out.push(obj);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let objects = [
            Object::Mount("/var/lib/glassbox/containers/ab/rootfs".into()),
            Object::Cgroup("/sys/fs/cgroup/glassbox/default/ab".into()),
            Object::Dir("/tmp/glassbox-x".into()),
            Object::Link("gb0123456789".into()),
            Object::Netns("/var/lib/glassbox/containers/ab/netns".into()),
            Object::Lease("/run/glassbox/net/leases/172.29.0.2".into()),
            Object::IptablesRule {
                table: "nat".into(),
                chain: "GLASSBOX".into(),
                args: vec![
                    "-p".into(),
                    "tcp".into(),
                    "--comment".into(),
                    "glassbox web 8080:80/tcp".into(),
                ],
            },
            Object::SharedNetwork("glassbox0".into()),
        ];
        for o in objects {
            assert_eq!(Object::parse_line(&o.to_line()), Some(o));
        }
    }

    #[test]
    fn undone_objects_are_not_replayed() {
        let dir = std::env::temp_dir().join(format!("glassbox-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal");
        let j = Journal::open(&path).unwrap();
        let (a, b) = (Object::Link("gba".into()), Object::Link("gbb".into()));
        j.record(&a).unwrap();
        j.record(&b).unwrap();
        j.record_undone(&a).unwrap();
        assert_eq!(Journal::objects(&path).unwrap(), vec![b]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn torn_and_unknown_lines_are_skipped() {
        assert_eq!(Object::parse_line("mou"), None);
        assert_eq!(Object::parse_line("teleport\t/x"), None);
    }
}
