//! /proc/PID/status: who a process is, in the kernel's own words.
//!
//! `NSpid` lists the process's pid in every pid namespace it is visible in,
//! outermost first: `NSpid: 4242 1` is host pid 4242 that sees itself as pid 1,
//! which is what "a container is a process" means. `Cap*` are the capability
//! sets as 64-bit masks (bit N = capability N, see [`CAPABILITIES`]);
//! `NoNewPrivs` and `Seccomp` show the other two locks a container runs under.

use std::path::Path;

use serde::Serialize;

use procfs_core::FromRead;
use procfs_core::process::Status;

use super::{ParseError, ReadError, parse_num, proc_dir, read_parsed};

/// Every Linux capability with its bit number (include/uapi/linux/capability.h).
/// This is the one table of capability numbers in glassbox; the runtime uses
/// it to build the sets it grants.
pub const CAPABILITIES: [(&str, u8); 41] = [
    ("CAP_CHOWN", 0),
    ("CAP_DAC_OVERRIDE", 1),
    ("CAP_DAC_READ_SEARCH", 2),
    ("CAP_FOWNER", 3),
    ("CAP_FSETID", 4),
    ("CAP_KILL", 5),
    ("CAP_SETGID", 6),
    ("CAP_SETUID", 7),
    ("CAP_SETPCAP", 8),
    ("CAP_LINUX_IMMUTABLE", 9),
    ("CAP_NET_BIND_SERVICE", 10),
    ("CAP_NET_BROADCAST", 11),
    ("CAP_NET_ADMIN", 12),
    ("CAP_NET_RAW", 13),
    ("CAP_IPC_LOCK", 14),
    ("CAP_IPC_OWNER", 15),
    ("CAP_SYS_MODULE", 16),
    ("CAP_SYS_RAWIO", 17),
    ("CAP_SYS_CHROOT", 18),
    ("CAP_SYS_PTRACE", 19),
    ("CAP_SYS_PACCT", 20),
    ("CAP_SYS_ADMIN", 21),
    ("CAP_SYS_BOOT", 22),
    ("CAP_SYS_NICE", 23),
    ("CAP_SYS_RESOURCE", 24),
    ("CAP_SYS_TIME", 25),
    ("CAP_SYS_TTY_CONFIG", 26),
    ("CAP_MKNOD", 27),
    ("CAP_LEASE", 28),
    ("CAP_AUDIT_WRITE", 29),
    ("CAP_AUDIT_CONTROL", 30),
    ("CAP_SETFCAP", 31),
    ("CAP_MAC_OVERRIDE", 32),
    ("CAP_MAC_ADMIN", 33),
    ("CAP_SYSLOG", 34),
    ("CAP_WAKE_ALARM", 35),
    ("CAP_BLOCK_SUSPEND", 36),
    ("CAP_AUDIT_READ", 37),
    ("CAP_PERFMON", 38),
    ("CAP_BPF", 39),
    ("CAP_CHECKPOINT_RESTORE", 40),
];

/// The names of the capabilities set in `mask`, lowest bit first. Bits above
/// the last known capability (40) have no name and are left out.
pub fn capability_names(mask: u64) -> Vec<&'static str> {
    CAPABILITIES
        .iter()
        .filter(|(_, bit)| mask & (1u64 << bit) != 0)
        .map(|(name, _)| *name)
        .collect()
}

/// The highest capability number the running kernel knows
/// (/proc/sys/kernel/cap_last_cap): an older kernel knows fewer than
/// [`CAPABILITIES`] lists, and a newer one may know more.
/// Read once per process (a start asks more than once: for the spec's
/// capability names, for the bounding set), as the kernel's value never
/// changes.
pub fn read_last_cap() -> Result<u8, ReadError> {
    static LAST: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    if let Some(last) = LAST.get() {
        return Ok(*last);
    }
    let last = read_parsed(Path::new("/proc/sys/kernel/cap_last_cap"), |text| {
        parse_num("cap_last_cap", text.trim())
    })?;
    Ok(*LAST.get_or_init(|| last))
}

/// The bit number of a capability, by name: `CAP_NET_RAW`, `net_raw` and
/// `NET_RAW` are all accepted (docker's `--cap-add` takes either form).
pub fn capability_by_name(name: &str) -> Option<u8> {
    let upper = name.trim().to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    CAPABILITIES
        .iter()
        .find(|(known, _)| *known == full)
        .map(|(_, bit)| *bit)
}

/// The four ids the kernel keeps for a process (credentials(7)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ids {
    pub real: u32,
    pub effective: u32,
    pub saved: u32,
    pub fs: u32,
}

/// The five capability sets (capabilities(7)), as bit masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CapabilitySets {
    pub inheritable: u64,
    pub permitted: u64,
    pub effective: u64,
    pub bounding: u64,
    pub ambient: u64,
}

/// The seccomp mode of a process (seccomp(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeccompMode {
    /// 0: no filter; every system call reaches the kernel.
    Disabled = 0,
    /// 1: only read, write, _exit and sigreturn are allowed.
    Strict = 1,
    /// 2: a BPF filter decides each system call (what container runtimes use).
    Filter = 2,
}

impl SeccompMode {
    pub fn name(self) -> &'static str {
        match self {
            SeccompMode::Disabled => "disabled",
            SeccompMode::Strict => "strict",
            SeccompMode::Filter => "filter",
        }
    }

    pub fn number(self) -> u8 {
        self as u8
    }
}

/// The fields of /proc/PID/status that glassbox shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcStatus {
    /// The command name (at most 15 bytes, as the kernel truncates it).
    pub name: String,
    /// The state letter: R running, S sleeping, D disk sleep, Z zombie, T stopped, ...
    pub state: char,
    /// The pid as seen from the pid namespace of the reader's /proc.
    pub pid: u32,
    pub ppid: u32,
    /// The pid in each nested pid namespace, outermost (host) first, innermost last.
    pub nspid: Vec<u32>,
    pub uid: Ids,
    pub gid: Ids,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    pub capabilities: CapabilitySets,
    pub no_new_privs: bool,
    pub seccomp: SeccompMode,
    /// Resident memory in kB; absent for kernel threads and zombies.
    pub vm_rss_kb: Option<u64>,
}

impl ProcStatus {
    /// The pid inside the process's own (innermost) pid namespace: 1 for a
    /// container's init.
    pub fn pid_in_namespace(&self) -> u32 {
        self.nspid.last().copied().unwrap_or(self.pid)
    }
}

/// The lines every kernel writes and procfs-core needs; checked first so that
/// a missing one is named (procfs only says that something was missing).
const REQUIRED: [&str; 20] = [
    "Name",
    "State",
    "Tgid",
    "Pid",
    "PPid",
    "TracerPid",
    "Uid",
    "Gid",
    "FDSize",
    "Groups",
    "Threads",
    "SigQ",
    "SigPnd",
    "ShdPnd",
    "SigBlk",
    "SigIgn",
    "SigCgt",
    "CapInh",
    "CapPrm",
    "CapEff",
];

/// The signals a process ignores, from the `SigIgn` line of its
/// /proc/PID/status: a mask in hex, bit N-1 for signal N (SIGHUP is bit 0,
/// the real-time signals 32 to 64 the upper half). An ignored signal stays
/// ignored across `execve`, where a caught one goes back to its default.
/// `None` where the line is missing or not a mask.
pub fn parse_ignored_signals(text: &str) -> Option<u64> {
    let mask = text.lines().find_map(|line| line.strip_prefix("SigIgn:"))?;
    u64::from_str_radix(mask.trim(), 16).ok()
}

/// Parses the text of /proc/PID/status (with procfs-core), keeping the fields
/// glassbox shows.
pub fn parse_proc_status(text: &str) -> Result<ProcStatus, ParseError> {
    // Each line is `Key:\tvalue`.
    let raw_field = |key: &str| -> Option<&str> {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k == key).then_some(v.strip_prefix('\t').unwrap_or(v))
        })
    };
    if let Some(key) = REQUIRED.iter().find(|k| raw_field(k).is_none()) {
        return Err(ParseError::missing(key));
    }
    for key in ["Uid", "Gid"] {
        let value = raw_field(key).unwrap_or_default().trim();
        if value.split_whitespace().count() != 4 {
            return Err(ParseError::invalid(
                key,
                value,
                "four ids: real, effective, saved, filesystem",
            ));
        }
    }
    let status = Status::from_read(text.as_bytes()).map_err(ParseError::procfs)?;

    let state = status
        .state
        .chars()
        .next()
        .filter(char::is_ascii_alphabetic)
        .ok_or_else(|| {
            ParseError::invalid(
                "State",
                &status.state,
                "a state letter such as `S (sleeping)`",
            )
        })?;
    let pid = pid_number("Pid", status.pid)?;
    let nspid = match status.nspid {
        Some(list) => list
            .into_iter()
            .map(|n| pid_number("NSpid", n))
            .collect::<Result<Vec<u32>, _>>()?,
        // Kernels before 4.1 have no NSpid: the process is in one namespace only.
        None => vec![pid],
    };
    if nspid.is_empty() {
        return Err(ParseError::invalid("NSpid", "", "at least one pid"));
    }
    let seccomp = match status.seccomp {
        None | Some(0) => SeccompMode::Disabled,
        Some(1) => SeccompMode::Strict,
        Some(2) => SeccompMode::Filter,
        Some(other) => {
            return Err(ParseError::invalid(
                "Seccomp",
                &other.to_string(),
                "0, 1 or 2",
            ));
        }
    };
    let no_new_privs = match status.nonewprivs {
        None | Some(0) => false,
        Some(1) => true,
        Some(other) => {
            return Err(ParseError::invalid(
                "NoNewPrivs",
                &other.to_string(),
                "0 or 1",
            ));
        }
    };

    Ok(ProcStatus {
        // procfs cuts the line at every `:`, and a name may hold one
        // (`kworker/0:1-events`): the name is taken from the line itself.
        name: raw_field("Name").unwrap_or_default().to_string(),
        state,
        pid,
        ppid: pid_number("PPid", status.ppid)?,
        nspid,
        uid: Ids {
            real: status.ruid,
            effective: status.euid,
            saved: status.suid,
            fs: status.fuid,
        },
        gid: Ids {
            real: status.rgid,
            effective: status.egid,
            saved: status.sgid,
            fs: status.fgid,
        },
        groups: status.groups,
        capabilities: CapabilitySets {
            inheritable: status.capinh,
            permitted: status.capprm,
            effective: status.capeff,
            bounding: status.capbnd.ok_or_else(|| ParseError::missing("CapBnd"))?,
            // CapAmb appeared in Linux 4.3; older kernels have no ambient set.
            ambient: status.capamb.unwrap_or(0),
        },
        no_new_privs,
        seccomp,
        vm_rss_kb: status.vmrss,
    })
}

/// A pid as procfs gives it (`i32`), as the non-negative number it is.
fn pid_number(field: &'static str, value: i32) -> Result<u32, ParseError> {
    u32::try_from(value).map_err(|_| ParseError::invalid(field, &value.to_string(), "a pid"))
}

/// Reads /proc/PID/status.
pub fn read_proc_status(pid: u32) -> Result<ProcStatus, ReadError> {
    read_proc_status_at(&proc_dir(pid).join("status"))
}

/// Reads a status file at any path (e.g. /proc/self/status).
pub fn read_proc_status_at(path: &Path) -> Result<ProcStatus, ReadError> {
    read_parsed(path, parse_proc_status)
}
