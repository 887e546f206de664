//! The user the container's process runs as.
//!
//! A uid is only a number to the kernel; names live in the image's /etc/passwd.
//! Switching is three calls in a fixed order: `setgroups` (drop supplementary
//! groups, which would otherwise be inherited from whoever started glassbox),
//! `setresgid`, then `setresuid` last, because after it the process may no
//! longer be allowed to change groups. `PR_SET_KEEPCAPS` keeps the permitted
//! set across the uid change so the capability step can still run; `execve` of
//! a non-root user then ends with empty sets anyway.

use nix::sys::prctl::set_keepcaps;
use nix::unistd::{Gid, Uid, setgroups, setresgid, setresuid};
use std::io;

fn check(ret: nix::Result<()>, what: String) -> Result<(), (String, io::Error)> {
    ret.map_err(|e| (what, io::Error::from(e)))
}

/// Step `switch_user`. An id past 2^31-1 is refused: `(uid_t)-1` means
/// "leave unchanged" to setresuid, so `4294967295` in a config.json written by
/// anyone would otherwise leave the process as root.
pub fn switch(uid: u32, gid: u32, additional: &[u32]) -> Result<String, (String, io::Error)> {
    for (what, id) in [("uid", uid), ("gid", gid)]
        .into_iter()
        .chain(additional.iter().map(|g| ("additional gid", *g)))
    {
        if id > i32::MAX as u32 {
            return Err((
                format!("{what} {id}"),
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "past 2147483647, the largest id glassbox accepts ((uid_t)-1 means \"unchanged\" to setresuid)",
                ),
            ));
        }
    }
    let groups: Vec<u32> = additional.to_vec();
    let gids: Vec<Gid> = groups.iter().map(|&g| Gid::from_raw(g)).collect();
    let (u, g) = (Uid::from_raw(uid), Gid::from_raw(gid));
    check(set_keepcaps(true), "prctl(PR_SET_KEEPCAPS)".into())?;
    check(setgroups(&gids), format!("setgroups({groups:?})"))?;
    check(setresgid(g, g, g), format!("setresgid({gid})"))?;
    check(setresuid(u, u, u), format!("setresuid({uid})"))?;
    check(set_keepcaps(false), "prctl(PR_SET_KEEPCAPS, 0)".into())?;
    Ok(format!(
        "setgroups({groups:?}); setresgid({gid}); setresuid({uid})"
    ))
}
