//! Unix domain sockets: `/proc/net/unix` lists every socket of the reader's
//! network namespace with its inode, flags, state and bound path (unix(7));
//! `/proc/PID/fd/N` is a `socket:[INODE]` link for each one a process holds.
//!
//! Topic 8 finds glassbox's daemon this way: the process that holds the
//! listening socket at the path `docker -H unix://PATH` connects to, and the
//! connections open to that path now (a server's accepted sockets carry the
//! path it listens on; a client's end has none).

use super::{ReadError, processes, read_text};
use std::path::Path;

/// `__SO_ACCEPTCON` in the Flags column: the socket listens (listen(2)).
const SO_ACCEPTCON: u32 = 0x0001_0000;
/// `SS_CONNECTED` in the St column.
const SS_CONNECTED: u8 = 3;

/// One line of `/proc/net/unix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixSocket {
    pub inode: u64,
    /// listen(2) was called on it.
    pub listening: bool,
    /// A connected stream: a client's end, or a connection a server accepted.
    pub connected: bool,
    /// The bound path (`@name` for an abstract one); empty when unbound.
    pub path: String,
}

/// Parses `/proc/net/unix` (`Num RefCount Protocol Flags Type St Inode Path`,
/// hex but for the inode); a line that does not parse is left out.
pub fn parse_net_unix(text: &str) -> Vec<UnixSocket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags = u32::from_str_radix(fields.get(3)?, 16).ok()?;
            let state = u8::from_str_radix(fields.get(5)?, 16).ok()?;
            let inode = fields.get(6)?.parse().ok()?;
            Some(UnixSocket {
                inode,
                listening: flags & SO_ACCEPTCON != 0,
                connected: state == SS_CONNECTED,
                path: fields.get(7..).map(|p| p.join(" ")).unwrap_or_default(),
            })
        })
        .collect()
}

/// Reads `/proc/net/unix`.
pub fn read_net_unix() -> Result<Vec<UnixSocket>, ReadError> {
    Ok(parse_net_unix(&read_text(Path::new("/proc/net/unix"))?))
}

/// The processes holding socket `inode`, by a scan of every `/proc/PID/fd`
/// (the processes this reader may look into: all of them as root).
pub fn holders(inode: u64) -> Result<Vec<u32>, ReadError> {
    let want = format!("socket:[{inode}]");
    let mut found = Vec::new();
    for pid in processes::list_pids()? {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == want.as_str())
        });
        if holds {
            found.push(pid);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_connected_and_unbound_sockets() {
        let text = "Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 5350285 /tmp/lab/docker.sock
0000000000000000: 00000003 00000000 00000000 0001 03 5351497 /tmp/lab/docker.sock
0000000000000000: 00000003 00000000 00000000 0001 03  5351496
0000000000000000: 00000002 00000000 00010000 0001 01 17 @/tmp/.X11-unix/X0
";
        let s = parse_net_unix(text);
        assert_eq!(s.len(), 4);
        assert_eq!(
            s[0],
            UnixSocket {
                inode: 5350285,
                listening: true,
                connected: false,
                path: "/tmp/lab/docker.sock".into()
            }
        );
        assert!(s[1].connected && !s[1].listening);
        assert_eq!(s[2].path, "");
        assert_eq!(s[3].path, "@/tmp/.X11-unix/X0");
    }
}
