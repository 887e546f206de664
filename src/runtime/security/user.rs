//! The user the container's process runs as.
//!
//! A uid is only a number to the kernel; names live in the image's /etc/passwd.
//! Switching is three calls in a fixed order: `setgroups` (drop supplementary
//! groups, which would otherwise be inherited from whoever started glassbox),
//! `setresgid`, then `setresuid` last, because after it the process may no
//! longer be allowed to change groups. `PR_SET_KEEPCAPS` keeps the permitted
//! set across the uid change so the capability step can still run; `execve` of
//! a non-root user then ends with empty sets anyway.

use std::io;

fn check(ret: libc::c_int, what: String) -> Result<(), (String, io::Error)> {
    if ret == -1 {
        return Err((what, io::Error::last_os_error()));
    }
    Ok(())
}

/// Step `switch_user`.
pub fn switch(uid: u32, gid: u32, additional: &[u32]) -> Result<String, (String, io::Error)> {
    let groups: Vec<libc::gid_t> = additional.to_vec();
    // SAFETY: plain syscalls with integer arguments and a slice we own.
    unsafe {
        check(
            libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0),
            "prctl(PR_SET_KEEPCAPS)".into(),
        )?;
        check(
            libc::setgroups(groups.len(), groups.as_ptr()),
            format!("setgroups({groups:?})"),
        )?;
        check(libc::setresgid(gid, gid, gid), format!("setresgid({gid})"))?;
        check(libc::setresuid(uid, uid, uid), format!("setresuid({uid})"))?;
        check(
            libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0),
            "prctl(PR_SET_KEEPCAPS, 0)".into(),
        )?;
    }
    Ok(format!(
        "setgroups({groups:?}); setresgid({gid}); setresuid({uid})"
    ))
}
