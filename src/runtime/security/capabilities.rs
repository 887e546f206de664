//! Capabilities (capabilities(7)): root's privileges, one bit each.
//!
//! Every process has five sets. *Bounding* is the ceiling: a capability not in
//! it can never be gained again. *Permitted* is what the process may use,
//! *effective* what the kernel checks right now, *inheritable* and *ambient*
//! what passes across `execve` to a program that is not setuid-root. When root
//! runs `execve`, its permitted and effective sets become the bounding set; so a
//! container's process ends with exactly the bounding set we leave it — read
//! `CapBnd`, `CapPrm` and `CapEff` in /proc/PID/status to see it.

use crate::inspect::proc_status::capability_by_name;
use std::io;

/// The capabilities docker and containerd leave a container by default.
pub const DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

#[derive(Debug, thiserror::Error)]
pub enum CapError {
    #[error("unknown capability {0:?} in config.json (expected a name such as CAP_CHOWN)")]
    Unknown(String),
    #[error("{what} failed: {source}")]
    Syscall { what: String, source: io::Error },
}

/// The bit mask of a list of names (`CAP_CHOWN` or `chown`).
pub fn mask(names: &[String]) -> Result<u64, CapError> {
    names.iter().try_fold(0u64, |m, n| {
        capability_by_name(n)
            .map(|bit| m | (1u64 << bit))
            .ok_or_else(|| CapError::Unknown(n.clone()))
    })
}

/// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap;
/// 40, CAP_CHECKPOINT_RESTORE, where it cannot be read).
fn last_cap() -> u8 {
    crate::inspect::proc_status::read_last_cap().unwrap_or(40)
}

/// Step `drop_bounding_set`: prctl(PR_CAPBSET_DROP) for every capability not kept.
/// Must happen while we still hold CAP_SETPCAP, i.e. before changing user.
pub fn drop_bounding(keep: u64) -> Result<(), CapError> {
    for cap in 0..=last_cap() {
        if keep & (1u64 << cap) != 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } == -1 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINVAL) {
                continue; // unknown to this kernel
            }
            return Err(CapError::Syscall {
                what: format!("prctl(PR_CAPBSET_DROP, {cap})"),
                source: e,
            });
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// This process's effective capability set, from capget(2).
pub fn effective() -> Result<u64, CapError> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capget reads a v3 header and fills two data structs that we own.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) } == -1 {
        return Err(CapError::Syscall {
            what: "capget(this process)".into(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(u64::from(data[0].effective) | u64::from(data[1].effective) << 32)
}

/// Step `set_capabilities`: capset(2) the effective, permitted and inheritable
/// sets, then clear the ambient set.
pub fn set(effective: u64, permitted: u64, inheritable: u64) -> Result<(), CapError> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let split = |m: u64| [(m & 0xffff_ffff) as u32, (m >> 32) as u32];
    let (e, p, i) = (split(effective), split(permitted), split(inheritable));
    let data = [
        CapData {
            effective: e[0],
            permitted: p[0],
            inheritable: i[0],
        },
        CapData {
            effective: e[1],
            permitted: p[1],
            inheritable: i[1],
        },
    ];
    // SAFETY: capset reads a v3 header and two data structs that we own.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) } == -1 {
        return Err(CapError::Syscall {
            what: format!("capset(effective={effective:#x}, permitted={permitted:#x})"),
            source: io::Error::last_os_error(),
        });
    }
    // SAFETY: prctl with integer arguments only.
    if unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    } == -1
    {
        return Err(CapError::Syscall {
            what: "prctl(PR_CAP_AMBIENT_CLEAR_ALL)".into(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_mask() {
        let names: Vec<String> = DEFAULT.iter().map(|s| s.to_string()).collect();
        // The value docker containers show as CapBnd.
        assert_eq!(mask(&names).unwrap(), 0x00000000a80425fb);
    }

    #[test]
    fn unknown_names_are_refused() {
        assert!(matches!(
            mask(&["CAP_TELEPORT".to_string()]),
            Err(CapError::Unknown(_))
        ));
    }
}
