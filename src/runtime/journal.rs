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
//!
//! ## The format, and why a line can be trusted
//!
//! One object per line, tab-separated, ending in its own checksum:
//!
//! ```text
//! mount\t/var/lib/glassbox/containers/3f2a…/rootfs\tsum=9c1e07d2
//! undone\tlease\t/run/glassbox/net/leases/172.29.0.2\tsum=41aa0b93
//! ```
//!
//! `sum=` is the first 4 bytes of the sha256 of everything before the tab
//! that precedes it, in hex. A line is replayed only when it is complete
//! (ends in a newline) and its checksum matches: a crash can cut the last
//! line mid-way (`mount\t/var/lib/glas`), and replaying such a prefix would
//! unmount whatever file system it happens to name. Such lines are
//! [`Replay::refused`], never acted on. What a well-formed line may name is
//! checked again by whoever undoes it (the engine's `cleanup::Owner`).

use sha2::{Digest, Sha256};
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
    /// An image layer (its `diff` directory) that the container's overlay
    /// stacks: nothing to undo, but `rmi` must not delete it while the
    /// container exists, even when its record cannot be read.
    Layer(PathBuf),
    /// A process that stays with the container (its monitor), named by PID
    /// and start time (clock ticks since boot), so that a reused PID is never
    /// taken for it. Undone by SIGKILL.
    Process { pid: i32, start: u64 },
}

impl Object {
    /// One of a container's own network objects (its veth's host end, its
    /// namespace, its NAT rules, its leases): what stopping it undoes
    /// (`engine::network::teardown`). The shared bridge is not one: it stays
    /// while any container uses it.
    pub fn is_container_network(&self) -> bool {
        matches!(
            self,
            Object::IptablesRule { .. } | Object::Link(_) | Object::Netns(_) | Object::Lease(_)
        )
    }

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
            Object::Layer(p) => format!("layer\t{}", p.display()),
            Object::Process { pid, start } => format!("process\t{pid}\t{start}"),
        }
    }

    /// Parses one journal line's payload (without its checksum); `None` for
    /// a line this version does not know.
    pub fn parse_line(line: &str) -> Option<Object> {
        let mut parts = line.splitn(3, '\t');
        let kind = parts.next()?;
        let first = parts.next()?;
        let rest = parts.next();
        if first.is_empty() {
            return None;
        }
        Some(match (kind, rest) {
            ("mount", None) => Object::Mount(first.into()),
            ("cgroup", None) => Object::Cgroup(first.into()),
            ("dir", None) => Object::Dir(first.into()),
            ("link", None) => Object::Link(first.into()),
            ("netns", None) => Object::Netns(first.into()),
            ("lease", None) => Object::Lease(first.into()),
            ("network", None) => Object::SharedNetwork(first.into()),
            ("layer", None) => Object::Layer(first.into()),
            ("process", Some(start)) => Object::Process {
                pid: first.parse().ok()?,
                start: start.parse().ok()?,
            },
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

    /// How the object reads in a message: `mount /var/lib/…/rootfs`.
    pub fn describe(&self) -> String {
        self.to_line().replace('\t', " ")
    }
}

/// The checksum a line carries: 4 bytes of the sha256 of its payload, in hex.
fn checksum(payload: &str) -> String {
    Sha256::digest(payload.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A payload with its checksum and newline: one line of the file.
fn sealed(payload: &str) -> String {
    format!("{payload}\tsum={}\n", checksum(payload))
}

/// The payload of a complete line whose checksum matches; why not otherwise.
fn unseal(line: &str) -> Result<&str, &'static str> {
    let Some(body) = line.strip_suffix('\n') else {
        return Err("incomplete: cut off before its end (a crash while it was written)");
    };
    let Some((payload, sum)) = body.rsplit_once("\tsum=") else {
        return Err("without a checksum (written by an older glassbox, or damaged)");
    };
    if sum != checksum(payload) {
        return Err("damaged: its checksum does not match its content");
    }
    Ok(payload)
}

/// What a journal holds, as a replay sees it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replay {
    /// Every object not since marked undone, oldest first, duplicates removed.
    pub objects: Vec<Object>,
    /// The lines that are not replayed, each with its number and why.
    pub refused: Vec<String>,
}

/// An append-only journal file.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// The file ends in a torn line (a crash, or a short write when the disk
    /// filled up): the next line starts with a newline of its own, or it
    /// would be glued to the torn one and refused with it.
    torn: std::cell::Cell<bool>,
}

impl Journal {
    /// Opens (creating if needed) the journal at `path`.
    pub fn open(path: &Path) -> io::Result<Journal> {
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let torn = ends_torn(&file)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            torn: std::cell::Cell::new(torn),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the object down. Called *before* the object is made. One `write`
    /// of one whole line, so a crash leaves at worst a torn last line, which a
    /// replay refuses.
    pub fn record(&self, object: &Object) -> io::Result<()> {
        self.append(&object.to_line())
    }

    /// Writes down that an object was removed (`undone\t…`), so that a later
    /// replay skips it.
    pub fn record_undone(&self, object: &Object) -> io::Result<()> {
        self.append(&format!("undone\t{}", object.to_line()))
    }

    fn append(&self, payload: &str) -> io::Result<()> {
        let mut line = sealed(payload);
        if self.torn.get() {
            line.insert(0, '\n');
        }
        let n = (&self.file).write(line.as_bytes())?;
        if n > 0 {
            self.torn.set(line.as_bytes()[n - 1] != b'\n');
        }
        if n != line.len() {
            // A short write (the disk filled up): the part written is refused
            // by its missing newline and checksum; say that the line is not there.
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!("wrote {n} of {} bytes", line.len()),
            ));
        }
        Ok(())
    }

    /// Every object in the journal not since marked undone, oldest first
    /// (see [`Journal::replay`]; the refused lines are left out).
    pub fn objects(path: &Path) -> io::Result<Vec<Object>> {
        Ok(Journal::replay(path)?.objects)
    }

    /// Reads the journal: the objects to undo, and the lines refused. A
    /// journal that does not exist holds nothing.
    pub fn replay(path: &Path) -> io::Result<Replay> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Replay::default()),
            Err(e) => return Err(e),
        };
        Ok(parse(&String::from_utf8_lossy(&bytes)))
    }
}

/// True when the file's last byte is not a newline (an empty file is not torn).
fn ends_torn(file: &File) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, len - 1)?;
    Ok(last[0] != b'\n')
}

/// Pure: the replay of a journal's text.
pub fn parse(text: &str) -> Replay {
    let mut replay = Replay::default();
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let refuse = |why: &str, replay: &mut Replay| {
            let shown: String = line.trim_end().chars().take(120).collect();
            replay
                .refused
                .push(format!("line {} ({shown:?}) is {why}", n + 1));
        };
        let payload = match unseal(line) {
            Ok(p) => p,
            Err(why) => {
                refuse(why, &mut replay);
                continue;
            }
        };
        if let Some(done) = payload.strip_prefix("undone\t") {
            match Object::parse_line(done) {
                Some(obj) => replay.objects.retain(|o| *o != obj),
                None => refuse("not an object this glassbox knows", &mut replay),
            }
        } else {
            match Object::parse_line(payload) {
                Some(obj) if !replay.objects.contains(&obj) => replay.objects.push(obj),
                Some(_) => {}
                None => refuse("not an object this glassbox knows", &mut replay),
            }
        }
    }
    replay
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_written_after_a_torn_one_is_whole() {
        let dir =
            std::env::temp_dir().join(format!("glassbox-journal-torn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal");
        let a = Object::Dir(PathBuf::from("/tmp/a"));
        let b = Object::Dir(PathBuf::from("/tmp/b"));
        let whole = sealed(&a.to_line());
        // A crash cut the first line short, then the journal was opened again.
        std::fs::write(&path, &whole[..whole.len() - 5]).unwrap();
        let j = Journal::open(&path).unwrap();
        j.record(&b).unwrap();
        j.record(&a).unwrap();
        let replay = Journal::replay(&path).unwrap();
        assert_eq!(replay.objects, vec![b.clone(), a]);
        assert_eq!(replay.refused.len(), 1, "{:?}", replay.refused);
        assert!(
            replay.refused[0].starts_with("line 1 "),
            "{:?}",
            replay.refused
        );
        // A whole journal gains no blank line.
        drop(j);
        let before = std::fs::read(&path).unwrap();
        Journal::open(&path).unwrap().record_undone(&b).unwrap();
        let after = std::fs::read(&path).unwrap();
        assert_eq!(&after[..before.len()], &before[..]);
        assert_eq!(
            after[before.len()..],
            *sealed(&format!("undone\t{}", b.to_line())).as_bytes()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_containers_network_objects_are_its_link_namespace_rules_and_leases() {
        let p = || PathBuf::from("/x");
        let own = [
            Object::Link("gb0".into()),
            Object::Netns(p()),
            Object::Lease(p()),
            Object::IptablesRule {
                table: "nat".into(),
                chain: "GLASSBOX".into(),
                args: vec![],
            },
        ];
        assert!(own.iter().all(Object::is_container_network));
        let others = [
            Object::SharedNetwork("glassbox0".into()),
            Object::Mount(p()),
            Object::Cgroup(p()),
            Object::Dir(p()),
            Object::Layer(p()),
            Object::Process { pid: 1, start: 1 },
        ];
        assert!(!others.iter().any(Object::is_container_network));
    }

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

    #[test]
    fn only_complete_lines_with_their_checksum_are_replayed() {
        let rootfs = Object::Mount("/var/lib/glassbox/containers/ab/rootfs".into());
        let good = sealed(&rootfs.to_line());
        assert_eq!(parse(&good).objects, vec![rootfs.clone()]);
        // A crash cut the next line: the prefix names the data root itself.
        let torn = format!("{good}mount\t/var/lib/glassbox");
        let r = parse(&torn);
        assert_eq!(r.objects, vec![rootfs.clone()]);
        assert!(r.refused[0].starts_with("line 2") && r.refused[0].contains("incomplete"));
        // Complete, but cut inside and appended to: the checksum says so.
        let cut = format!("{}\n", &good[..good.len() - 20]);
        assert!(parse(&cut).objects.is_empty());
        assert!(parse(&cut).refused[0].contains("without a checksum"));
        let forged = good.replace("rootfs", "rootfX");
        assert!(parse(&forged).refused[0].contains("does not match"));
        // A line written by an older glassbox, without a checksum.
        assert!(parse("mount\t/var/lib/glassbox\n").objects.is_empty());
    }

    #[test]
    fn layers_and_processes_round_trip() {
        for o in [
            Object::Layer("/var/lib/glassbox/layers/ab/diff".into()),
            Object::Process {
                pid: 4242,
                start: 123456,
            },
        ] {
            assert_eq!(Object::parse_line(&o.to_line()), Some(o));
        }
        assert_eq!(Object::parse_line("process\tx\t1"), None);
    }
}
