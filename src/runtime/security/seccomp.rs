//! Seccomp (seccomp(2)): a filter on the system calls themselves.
//!
//! Capabilities decide what a call may do; seccomp decides which calls may be
//! made at all. The filter is a small classic-BPF program that the kernel runs
//! on every system call of the process (and of all its children, forever:
//! filters can be added, never removed). It sees the architecture, the call's
//! number and its six arguments, and returns a verdict: allow, fail with an
//! errno, or kill. `grep Seccomp /proc/PID/status` shows `2` (filter mode).
//!
//! docker's default profile is an allow-list of some 350 calls; everything
//! else fails with EPERM. The calls it leaves out for a container with the
//! default capabilities are the ones that reach kernel state no namespace
//! isolates: the keyring (`keyctl`), kernel modules, `bpf`, `perf_event_open`,
//! the clock, `reboot`, new mounts, `unshare`/`setns` and `clone` with
//! namespace flags (a user namespace needs no capability, and gives a fresh
//! set inside it), `io_uring`. glassbox writes the same policy the other way
//! round, as that deny-list on top of "allow" ([`default_profile`]), into the
//! bundle's `config.json` (`linux.seccomp`, the OCI format), so runc enforces
//! it too; the runtime compiles it to BPF ([`compile`]) and installs it just
//! before `execve`. `--security-opt seccomp=unconfined` leaves it out.
//!
//! Beyond whole calls, two take arguments docker's profile restricts:
//! `socket(AF_VSOCK, …)` (vsock reaches the hypervisor and the host's vsock
//! services from any network namespace) and `personality` (only docker's five
//! values: ADDR_NO_RANDOMIZE would turn off address randomisation for what is
//! exec'd next).
//!
//! Only the native architecture is allowed: a 32-bit (or x32) system call
//! has other numbers, which a filter written for 64-bit numbers would
//! misread, so the filter kills the process that makes one.
//!
//! No silent holes: names are looked up in the kernel's own tables (the
//! `syscalls` crate, every architecture); a name no architecture has is a typo
//! and the profile is refused ([`SeccompError::UnknownSyscall`]), since the
//! rule it was meant for would protect nothing; a call of another
//! architecture only is left out and said so. A program past the kernel's
//! 4096 instructions ([`MAX_INSTRUCTIONS`]) is refused by the compiler.

use super::super::spec::{Seccomp, SyscallArg, SyscallRule};
use std::io;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error(
        "seccomp action {0:?} is not one glassbox knows (SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_LOG)"
    )]
    Action(String),
    #[error(
        "seccomp argument operator {0:?} is not supported by glassbox's filter compiler (it knows SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_MASKED_EQ)"
    )]
    Operator(String),
    #[error("seccomp argument index {0} is out of range (a system call has 6 arguments, 0 to 5)")]
    ArgIndex(u32),
    #[error(
        "the seccomp profile lists architectures {listed:?}, without this machine's {native}: the filter would refuse every call"
    )]
    Architecture {
        listed: Vec<String>,
        native: &'static str,
    },
    #[error("the seccomp filter for {0} is too long for classic BPF jumps")]
    TooLong(String),
    #[error(
        "the seccomp profile names the system call {0:?}, which no Linux architecture has \
         (a typo?): the rule would protect nothing; fix the name in linux.seccomp of config.json"
    )]
    UnknownSyscall(String),
    #[error(
        "the seccomp filter compiles to {count} BPF instructions, past the kernel's limit of \
         {limit} (BPF_MAXINSNS): merge rules or list fewer calls"
    )]
    TooManyInstructions { count: usize, limit: usize },
    #[error("installing the seccomp filter failed: {0}")]
    Install(io::Error),
}

// Verdicts (linux/seccomp.h).
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0x0000_0000;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

// Classic BPF opcodes (linux/filter.h), class | size or operation | source.
const LD_W_ABS: u16 = 0x20; // BPF_LD (0x00) | BPF_W (0x00) | BPF_ABS (0x20)
const JEQ_K: u16 = 0x15; // BPF_JMP (0x05) | BPF_JEQ (0x10) | BPF_K (0x00)
const JGE_K: u16 = 0x35; // BPF_JMP (0x05) | BPF_JGE (0x30) | BPF_K (0x00)
const JGT_K: u16 = 0x25; // BPF_JMP (0x05) | BPF_JGT (0x20) | BPF_K (0x00)
const JA: u16 = 0x05; // BPF_JMP (0x05) | BPF_JA (0x00)
const AND_K: u16 = 0x54; // BPF_ALU (0x04) | BPF_AND (0x50) | BPF_K (0x00)
const RET_K: u16 = 0x06; // BPF_RET (0x06) | BPF_K (0x00)

// struct seccomp_data: nr at 0, arch at 4, instruction_pointer at 8, args at 16.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const OFFSET_ARGS: u32 = 16;

#[cfg(target_arch = "x86_64")]
const NATIVE: (&str, u32) = ("SCMP_ARCH_X86_64", 0xc000_003e);
#[cfg(target_arch = "aarch64")]
const NATIVE: (&str, u32) = ("SCMP_ARCH_AARCH64", 0xc000_00b7);

/// The most instructions the kernel takes in one classic-BPF program
/// (BPF_MAXINSNS in linux/bpf_common.h).
pub const MAX_INSTRUCTIONS: usize = 4096;

/// x32 system calls arrive with the x86_64 architecture and this bit set.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The namespace flags of clone(2) that the default profile refuses.
const CLONE_NAMESPACE_FLAGS: [(&str, u64); 7] = [
    ("CLONE_NEWNS", 0x0002_0000),
    ("CLONE_NEWCGROUP", 0x0200_0000),
    ("CLONE_NEWUTS", 0x0400_0000),
    ("CLONE_NEWIPC", 0x0800_0000),
    ("CLONE_NEWUSER", 0x1000_0000),
    ("CLONE_NEWPID", 0x2000_0000),
    ("CLONE_NEWNET", 0x4000_0000),
];

/// AF_VSOCK (linux/socket.h).
const AF_VSOCK: u64 = 40;

/// The personality(2) values docker's profile allows: PER_LINUX, PER_LINUX32,
/// UNAME26, UNAME26|PER_LINUX32, and 0xffffffff, which only asks for the current one.
const PERSONALITY_ALLOWED: [u64; 5] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// The calls docker's default profile does not allow a container with the
/// default capabilities, grouped by what they reach.
const DENIED: &[&str] = &[
    // The kernel keyring is not namespaced.
    "add_key",
    "keyctl",
    "request_key",
    // Kernel code and kernel programs.
    "bpf",
    "delete_module",
    "finit_module",
    "init_module",
    "kexec_file_load",
    "kexec_load",
    "perf_event_open",
    "lookup_dcookie",
    // The machine as a whole: clocks, reboot, swap, accounting, the kernel log.
    "acct",
    "clock_adjtime",
    "clock_settime",
    "settimeofday",
    "reboot",
    "swapoff",
    "swapon",
    "syslog",
    "quotactl",
    "nfsservctl",
    "_sysctl",
    "sysfs",
    "ustat",
    "uselib",
    "vhangup",
    "ioperm",
    "iopl",
    // Memory placement (CAP_SYS_NICE in docker's profile).
    "get_mempolicy",
    "mbind",
    "move_pages",
    "set_mempolicy",
    // Other processes' memory (CAP_SYS_PTRACE in docker's profile).
    "kcmp",
    "process_vm_readv",
    "process_vm_writev",
    // Mounts and namespaces.
    "mount",
    "umount2",
    "pivot_root",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "setns",
    "unshare",
    // File handles bypass path checks (the "shocker" escape).
    "name_to_handle_at",
    "open_by_handle_at",
    // Faults handled in user space widen kernel races.
    "userfaultfd",
    // io_uring (docker 25 and later).
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
];

/// The profile glassbox gives every container unless told otherwise.
pub fn default_profile() -> Seccomp {
    let eperm = |names: &[&str]| SyscallRule {
        names: names.iter().map(|s| s.to_string()).collect(),
        action: "SCMP_ACT_ERRNO".into(),
        errno_ret: Some(libc::EPERM as u32),
        args: Vec::new(),
    };
    let mut syscalls = vec![eperm(DENIED)];
    // clone with any namespace flag fails; plain fork, vfork and threads pass.
    for (_, flag) in CLONE_NAMESPACE_FLAGS {
        syscalls.push(SyscallRule {
            args: vec![SyscallArg {
                index: 0,
                value: flag,
                value_two: flag,
                op: "SCMP_CMP_MASKED_EQ".into(),
            }],
            ..eperm(&["clone"])
        });
    }
    // clone3 passes its flags in memory, out of a filter's reach: answer
    // "not implemented", and the C library falls back to clone (as docker does).
    syscalls.push(SyscallRule {
        errno_ret: Some(libc::ENOSYS as u32),
        ..eperm(&["clone3"])
    });
    // vsock talks to the hypervisor and the host's vsock services from any
    // network namespace: socket(AF_VSOCK, …) fails (docker's profile too).
    // The kernel reads the family as an int, so only the low 32 bits are
    // compared: junk in the high word cannot slip past the test.
    syscalls.push(SyscallRule {
        args: vec![SyscallArg {
            index: 0,
            value: 0xffff_ffff,
            value_two: AF_VSOCK,
            op: "SCMP_CMP_MASKED_EQ".into(),
        }],
        ..eperm(&["socket"])
    });
    // personality: only docker's values pass; others (ADDR_NO_RANDOMIZE
    // turns off ASLR for what is exec'd next, READ_IMPLIES_EXEC makes every
    // readable page executable) fail. The first matching rule decides.
    for value in PERSONALITY_ALLOWED {
        syscalls.push(SyscallRule {
            names: vec!["personality".into()],
            action: "SCMP_ACT_ALLOW".into(),
            errno_ret: None,
            args: vec![SyscallArg {
                index: 0,
                value,
                value_two: 0,
                op: "SCMP_CMP_EQ".into(),
            }],
        });
    }
    syscalls.push(eperm(&["personality"]));
    Seccomp {
        default_action: "SCMP_ACT_ALLOW".into(),
        default_errno_ret: None,
        architectures: vec![NATIVE.0.into()],
        syscalls,
    }
}

/// A compiled filter, ready for seccomp(2).
#[derive(Debug, Clone)]
pub struct Filter {
    program: Vec<libc::sock_filter>,
    /// Names in the profile that are another architecture's system calls
    /// (`arch_prctl` on arm64): left out here, where the number means another call.
    pub other_arch: Vec<String>,
    /// How many system-call numbers the filter tests.
    pub syscalls: usize,
}

impl Filter {
    /// The number of BPF instructions.
    pub fn len(&self) -> usize {
        self.program.len()
    }

    pub fn is_empty(&self) -> bool {
        self.program.is_empty()
    }
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

fn verdict(action: &str, errno: Option<u32>) -> Result<u32, SeccompError> {
    Ok(match action {
        "SCMP_ACT_ALLOW" => RET_ALLOW,
        "SCMP_ACT_ERRNO" => RET_ERRNO | (errno.unwrap_or(libc::EPERM as u32) & 0xffff),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => RET_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS" => RET_KILL_PROCESS,
        "SCMP_ACT_TRAP" => RET_TRAP,
        "SCMP_ACT_LOG" => RET_LOG,
        other => return Err(SeccompError::Action(other.to_string())),
    })
}

/// A test on the arguments: instructions that fall through when the test
/// holds and jump to `FAIL` (patched later) when it does not.
const FAIL: u8 = u8::MAX;

fn arg_test(arg: &SyscallArg) -> Result<Vec<libc::sock_filter>, SeccompError> {
    if arg.index > 5 {
        return Err(SeccompError::ArgIndex(arg.index));
    }
    // 64-bit arguments, little-endian: the low word first, then the high one.
    let low = OFFSET_ARGS + 8 * arg.index;
    let high = low + 4;
    let (v_lo, v_hi) = (arg.value as u32, (arg.value >> 32) as u32);
    Ok(match arg.op.as_str() {
        "SCMP_CMP_EQ" => vec![
            stmt(LD_W_ABS, high),
            jump(JEQ_K, v_hi, 0, FAIL),
            stmt(LD_W_ABS, low),
            jump(JEQ_K, v_lo, 0, FAIL),
        ],
        // Not equal: a differing high word is enough; else the low word decides.
        "SCMP_CMP_NE" => vec![
            stmt(LD_W_ABS, high),
            jump(JEQ_K, v_hi, 0, 2),
            stmt(LD_W_ABS, low),
            jump(JEQ_K, v_lo, FAIL, 0),
        ],
        // A word the mask clears to a zero that is also the word compared
        // with holds whatever the argument: it is not tested (clone's flags
        // and socket's family are all in the low word).
        "SCMP_CMP_MASKED_EQ" => {
            let (t_lo, t_hi) = (arg.value_two as u32, (arg.value_two >> 32) as u32);
            let mut test = Vec::with_capacity(6);
            for (offset, mask, want) in [(high, v_hi, t_hi), (low, v_lo, t_lo)] {
                if mask != 0 || want != 0 {
                    test.extend([
                        stmt(LD_W_ABS, offset),
                        stmt(AND_K, mask),
                        jump(JEQ_K, want, 0, FAIL),
                    ]);
                }
            }
            test
        }
        other => return Err(SeccompError::Operator(other.to_string())),
    })
}

/// One rule for one call: its argument tests, then its verdict. A failed test
/// jumps past the verdict, to the next rule.
fn rule_block(rule: &SyscallRule) -> Result<Vec<libc::sock_filter>, SeccompError> {
    let mut block = Vec::new();
    for arg in &rule.args {
        block.extend(arg_test(arg)?);
    }
    block.push(stmt(RET_K, verdict(&rule.action, rule.errno_ret)?));
    let end = block.len();
    for (i, ins) in block.iter_mut().enumerate() {
        for target in [&mut ins.jt, &mut ins.jf] {
            if *target == FAIL {
                *target = u8::try_from(end - (i + 1))
                    .map_err(|_| SeccompError::TooLong(rule.names.join(",")))?;
            }
        }
    }
    Ok(block)
}

/// The rules of one call number, compiled: its argument tests and verdicts,
/// ending in a verdict whatever the arguments; or of a range of consecutive
/// numbers whose rules compile alike (`nr` to `last`, [`merge_ranges`]).
struct Block<'a> {
    nr: u32,
    last: u32,
    name: &'a str,
    body: Vec<libc::sock_filter>,
}

/// Joins blocks of consecutive call numbers with the same instructions into
/// one range: docker's deny-list names neighbours alike (`mount`, `umount2`,
/// `swapon`, `swapoff`, `reboot` are 165 to 169 on x86_64), which one range
/// test (`nr >= 165 && nr <= 169`) decides instead of five. A shorter
/// program is quicker to install (the kernel checks it, translates it to
/// eBPF and compiles it, then runs it once per call number for its cache)
/// and a shorter search for every call the container makes.
fn merge_ranges(blocks: Vec<Block>) -> Vec<Block> {
    let same = |a: &[libc::sock_filter], b: &[libc::sock_filter]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x.code, x.jt, x.jf, x.k) == (y.code, y.jt, y.jf, y.k))
    };
    let mut merged: Vec<Block> = Vec::with_capacity(blocks.len());
    for block in blocks {
        match merged.last_mut() {
            // A range's lower test jumps past its block and the upper
            // test: a block of 255 instructions can only be tested alone.
            Some(prev)
                if prev.last + 1 == block.nr
                    && block.body.len() < usize::from(u8::MAX)
                    && same(&prev.body, &block.body) =>
            {
                prev.last = block.last;
            }
            _ => merged.push(block),
        }
    }
    merged
}

/// Up to this many call numbers are tested one by one (`JEQ`); more are
/// first halved (`JGE`).
const LINEAR: usize = 4;

/// The search for the call number in the accumulator among `blocks` (sorted
/// by number): a binary search, `if nr >= middle`, down to [`LINEAR`] blocks,
/// each then tested with `if nr == N { its block }` (a range: `if nr >= N &&
/// nr <= LAST`); a number not listed ends at the default verdict. A call
/// walks about log2(calls) + 4 tests, not all of
/// them: the kernel runs the filter on every system call the container makes,
/// and once per call number when it installs it (to learn which numbers the
/// filter always allows, so it need not run for those).
fn search(blocks: &[Block], default: u32) -> Result<Vec<libc::sock_filter>, SeccompError> {
    if blocks.len() <= LINEAR {
        let mut out = Vec::new();
        for block in blocks {
            let too_long = || SeccompError::TooLong(block.name.to_string());
            let skip = u8::try_from(block.body.len()).map_err(|_| too_long())?;
            if block.nr == block.last {
                out.push(jump(JEQ_K, block.nr, 0, skip));
            } else {
                // Below the range: past its upper test and its block, on
                // to the next (a number below this one is below that too).
                let below = u8::try_from(block.body.len() + 1).map_err(|_| too_long())?;
                out.push(jump(JGE_K, block.nr, 0, below));
                out.push(jump(JGT_K, block.last, skip, 0));
            }
            out.extend_from_slice(&block.body);
        }
        out.push(stmt(RET_K, default));
        return Ok(out);
    }
    let (below, above) = blocks.split_at(blocks.len() / 2);
    let below = search(below, default)?;
    let mut out = Vec::with_capacity(below.len() + 2);
    // Every branch ends in a verdict, so `below` never runs into `above`.
    match u8::try_from(below.len()) {
        Ok(skip) => out.push(jump(JGE_K, above[0].nr, skip, 0)),
        // Past a conditional jump's 255: through an unconditional one.
        Err(_) => {
            out.push(jump(JGE_K, above[0].nr, 0, 1));
            out.push(stmt(JA, below.len() as u32));
        }
    }
    out.extend(below);
    out.extend(search(above, default)?);
    Ok(out)
}

/// Compiles a profile for this machine's architecture.
///
/// Layout: check the architecture (kill on any other), load the call number
/// (on x86_64, kill x32 calls), then find the number's block by a binary
/// search (`search`): `if nr == N { rules of N, in profile order; first
/// match decides }`, or the default verdict for a number not listed.
/// Consecutive numbers whose rules compile alike share one range test
/// (`merge_ranges`). Every jump is forward.
pub fn compile(profile: &Seccomp) -> Result<Filter, SeccompError> {
    if !profile.architectures.is_empty() && !profile.architectures.iter().any(|a| a == NATIVE.0) {
        return Err(SeccompError::Architecture {
            listed: profile.architectures.clone(),
            native: NATIVE.0,
        });
    }
    let default = verdict(&profile.default_action, profile.default_errno_ret)?;
    // Group the rules by call number, keeping their order.
    let mut by_number: Vec<(u32, String, Vec<&SyscallRule>)> = Vec::new();
    let mut other_arch = Vec::new();
    for rule in &profile.syscalls {
        for name in &rule.names {
            let nr = match lookup(name) {
                Lookup::Native(nr) => nr,
                Lookup::OtherArch => {
                    if !other_arch.contains(name) {
                        other_arch.push(name.clone());
                    }
                    continue;
                }
                Lookup::Unknown => return Err(SeccompError::UnknownSyscall(name.clone())),
            };
            match by_number.iter_mut().find(|(n, _, _)| *n == nr) {
                Some((_, _, rules)) => rules.push(rule),
                None => by_number.push((nr, name.clone(), vec![rule])),
            }
        }
    }

    let mut program = vec![
        stmt(LD_W_ABS, OFFSET_ARCH),
        jump(JEQ_K, NATIVE.1, 1, 0),
        stmt(RET_K, RET_KILL_PROCESS),
        stmt(LD_W_ABS, OFFSET_NR),
    ];
    #[cfg(target_arch = "x86_64")]
    program.extend([
        jump(JGE_K, X32_SYSCALL_BIT, 0, 1),
        stmt(RET_K, RET_KILL_PROCESS),
    ]);
    by_number.sort_by_key(|(nr, _, _)| *nr);
    let mut blocks = Vec::with_capacity(by_number.len());
    for (nr, name, rules) in &by_number {
        let mut body = Vec::new();
        for rule in rules {
            body.extend(rule_block(rule)?);
        }
        // A last rule that did not match leaves an argument, not the call
        // number, in the accumulator: end the block with the default verdict
        // rather than go on testing numbers.
        if rules.last().is_some_and(|r| !r.args.is_empty()) {
            body.push(stmt(RET_K, default));
        }
        blocks.push(Block {
            nr: *nr,
            last: *nr,
            name,
            body,
        });
    }
    program.extend(search(&merge_ranges(blocks), default)?);
    if program.len() > MAX_INSTRUCTIONS {
        return Err(SeccompError::TooManyInstructions {
            count: program.len(),
            limit: MAX_INSTRUCTIONS,
        });
    }
    Ok(Filter {
        program,
        other_arch,
        syscalls: by_number.len(),
    })
}

/// Step `install_seccomp`: seccomp(SECCOMP_SET_MODE_FILTER). The process
/// must have no_new_privs set or hold CAP_SYS_ADMIN.
pub fn install(filter: &Filter) -> Result<(), SeccompError> {
    // `compile` keeps programs within MAX_INSTRUCTIONS; a longer one would be
    // cut short by the cast below, so refuse it here as well.
    let len = u16::try_from(filter.program.len())
        .ok()
        .filter(|l| usize::from(*l) <= MAX_INSTRUCTIONS)
        .ok_or(SeccompError::TooManyInstructions {
            count: filter.program.len(),
            limit: MAX_INSTRUCTIONS,
        })?;
    let prog = libc::sock_fprog {
        len,
        filter: filter.program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: the kernel copies the program during the call; `prog` points
    // into `filter`, which outlives it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc == -1 {
        return Err(SeccompError::Install(io::Error::last_os_error()));
    }
    Ok(())
}

/// What a system-call name is on this machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lookup {
    /// A call of this architecture, with its number.
    Native(u32),
    /// A call only other architectures have (`arch_prctl` on arm64).
    OtherArch,
    /// No architecture's table has it.
    Unknown,
}

/// Looks a name up in the kernel's system-call tables (the `syscalls`
/// crate's, generated from the kernel sources): this architecture's first,
/// then every other one's.
pub fn lookup(name: &str) -> Lookup {
    use std::str::FromStr;
    if let Ok(nr) = syscalls::Sysno::from_str(name) {
        return Lookup::Native(nr.id() as u32);
    }
    let elsewhere = syscalls::x86_64::Sysno::from_str(name).is_ok()
        || syscalls::x86::Sysno::from_str(name).is_ok()
        || syscalls::aarch64::Sysno::from_str(name).is_ok()
        || syscalls::arm::Sysno::from_str(name).is_ok()
        || syscalls::riscv64::Sysno::from_str(name).is_ok()
        || syscalls::s390x::Sysno::from_str(name).is_ok()
        || syscalls::powerpc::Sysno::from_str(name).is_ok()
        || syscalls::powerpc64::Sysno::from_str(name).is_ok()
        || syscalls::mips::Sysno::from_str(name).is_ok()
        || syscalls::mips64::Sysno::from_str(name).is_ok()
        || syscalls::loongarch64::Sysno::from_str(name).is_ok()
        || syscalls::sparc64::Sysno::from_str(name).is_ok()
        // ARM's private calls (__ARM_NR_*), which docker's profile names.
        || ["breakpoint", "cacheflush", "set_tls", "usr26", "usr32"].contains(&name);
    if elsewhere {
        Lookup::OtherArch
    } else {
        Lookup::Unknown
    }
}

/// The number of a system call on this architecture; `None` for a call this
/// architecture does not have (or no architecture has).
pub fn syscall_number(name: &str) -> Option<u32> {
    match lookup(name) {
        Lookup::Native(nr) => Some(nr),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a compiled filter on one system call, as the kernel would: a small
    /// classic-BPF interpreter for the instructions `compile` emits, so verdicts
    /// are checked without installing anything.
    fn evaluate(filter: &Filter, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            let at = 16 + 8 * i;
            data[at..at + 8].copy_from_slice(&a.to_le_bytes());
        }
        let word = |k: u32| {
            let k = k as usize;
            u32::from_le_bytes([data[k], data[k + 1], data[k + 2], data[k + 3]])
        };
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let ins = filter.program[pc];
            pc += 1;
            match ins.code {
                LD_W_ABS => acc = word(ins.k),
                AND_K => acc &= ins.k,
                JEQ_K => pc += usize::from(if acc == ins.k { ins.jt } else { ins.jf }),
                JGE_K => pc += usize::from(if acc >= ins.k { ins.jt } else { ins.jf }),
                JGT_K => pc += usize::from(if acc > ins.k { ins.jt } else { ins.jf }),
                JA => pc += ins.k as usize,
                RET_K => return ins.k,
                other => panic!("opcode {other:#x} is not one compile() emits"),
            }
        }
    }

    /// The native architecture's audit number, for [`evaluate`].
    fn native_arch() -> u32 {
        NATIVE.1
    }

    /// The verdict `SCMP_ACT_ERRNO` with `errno`, as [`evaluate`] returns it.
    fn errno_verdict(errno: i32) -> u32 {
        RET_ERRNO | errno as u32
    }

    const ALLOW: u32 = RET_ALLOW;

    /// A real system call of another architecture than this one.
    #[cfg(target_arch = "x86_64")]
    const FOREIGN: &str = "arm_fadvise64_64";
    #[cfg(not(target_arch = "x86_64"))]
    const FOREIGN: &str = "arch_prctl";
    const KILL_PROCESS: u32 = RET_KILL_PROCESS;

    fn nr(name: &str) -> u32 {
        syscall_number(name).unwrap()
    }

    #[test]
    fn default_profile_denies_escapes_and_allows_ordinary_calls() {
        let f = compile(&default_profile()).unwrap();
        let arch = native_arch();
        let eperm = errno_verdict(libc::EPERM);
        for denied in [
            "keyctl",
            "mount",
            "unshare",
            "setns",
            "bpf",
            "reboot",
            "open_by_handle_at",
        ] {
            assert_eq!(evaluate(&f, arch, nr(denied), [0; 6]), eperm, "{denied}");
        }
        for allowed in [
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_openat,
            libc::SYS_execve,
        ] {
            assert_eq!(
                evaluate(&f, arch, allowed as u32, [0; 6]),
                ALLOW,
                "{allowed}"
            );
        }
        // fork (SIGCHLD only) and threads pass; a new namespace does not.
        let clone = nr("clone");
        assert_eq!(
            evaluate(&f, arch, clone, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
            ALLOW
        );
        let thread = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
        assert_eq!(evaluate(&f, arch, clone, [thread, 0, 0, 0, 0, 0]), ALLOW);
        for (name, flag) in CLONE_NAMESPACE_FLAGS {
            let flags = flag | libc::SIGCHLD as u64;
            assert_eq!(
                evaluate(&f, arch, clone, [flags, 0, 0, 0, 0, 0]),
                eperm,
                "{name}"
            );
        }
        assert_eq!(
            evaluate(&f, arch, nr("clone3"), [0; 6]),
            errno_verdict(libc::ENOSYS)
        );
        // vsock fails, whatever the high word says; other families pass.
        let socket = nr("socket");
        for family in [40u64, 0xffff_ffff_0000_0028] {
            assert_eq!(evaluate(&f, arch, socket, [family, 1, 0, 0, 0, 0]), eperm);
        }
        for family in [libc::AF_INET, libc::AF_UNIX, libc::AF_NETLINK] {
            assert_eq!(
                evaluate(&f, arch, socket, [family as u64, 1, 0, 0, 0, 0]),
                ALLOW
            );
        }
        // personality: docker's five values, nothing else.
        let persona = nr("personality");
        for ok in PERSONALITY_ALLOWED {
            assert_eq!(
                evaluate(&f, arch, persona, [ok, 0, 0, 0, 0, 0]),
                ALLOW,
                "{ok:#x}"
            );
        }
        for bad in [0x4_0000u64, 0x40_0000, 0x1, 0x1_0000_0000] {
            assert_eq!(
                evaluate(&f, arch, persona, [bad, 0, 0, 0, 0, 0]),
                eperm,
                "{bad:#x}"
            );
        }
        // Another architecture's numbers mean other calls: killed.
        assert_eq!(evaluate(&f, 0x4000_0003, 1, [0; 6]), KILL_PROCESS);
    }

    #[test]
    fn argument_operators_compare_all_64_bits() {
        let rule = |op: &str, value: u64, value_two: u64| Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            default_errno_ret: None,
            architectures: vec![],
            syscalls: vec![SyscallRule {
                names: vec!["personality".into()],
                action: "SCMP_ACT_ERRNO".into(),
                errno_ret: Some(13),
                args: vec![SyscallArg {
                    index: 1,
                    value,
                    value_two,
                    op: op.into(),
                }],
            }],
        };
        let (arch, p, hit) = (native_arch(), nr("personality"), errno_verdict(13));
        let with = |a1: u64| [0, a1, 0, 0, 0, 0];
        let eq = compile(&rule("SCMP_CMP_EQ", 0x1_0000_0002, 0)).unwrap();
        assert_eq!(evaluate(&eq, arch, p, with(0x1_0000_0002)), hit);
        assert_eq!(evaluate(&eq, arch, p, with(0x2)), ALLOW);
        assert_eq!(evaluate(&eq, arch, p, with(0x1_0000_0003)), ALLOW);
        let ne = compile(&rule("SCMP_CMP_NE", 0x1_0000_0002, 0)).unwrap();
        assert_eq!(evaluate(&ne, arch, p, with(0x1_0000_0002)), ALLOW);
        assert_eq!(evaluate(&ne, arch, p, with(0x2)), hit);
        assert_eq!(evaluate(&ne, arch, p, with(0x1_0000_0003)), hit);
        let masked = compile(&rule(
            "SCMP_CMP_MASKED_EQ",
            0xff00_0000_00f0,
            0x0100_0000_0010,
        ))
        .unwrap();
        assert_eq!(evaluate(&masked, arch, p, with(0x01ab_0000_001f)), hit);
        assert_eq!(evaluate(&masked, arch, p, with(0x0200_0000_0010)), ALLOW);
        // A mask of the low word only: the high word is not looked at (one
        // load, not two), whatever it holds.
        let low_only = compile(&rule("SCMP_CMP_MASKED_EQ", 0xf0, 0x10)).unwrap();
        let loads = |f: &Filter| f.program.iter().filter(|i| i.code == LD_W_ABS).count();
        assert_eq!(loads(&low_only), loads(&eq) - 1);
        assert_eq!(
            evaluate(&low_only, arch, p, with(0xffff_ffff_0000_001f)),
            hit
        );
        assert_eq!(evaluate(&low_only, arch, p, with(0x20)), ALLOW);
        // A high word wanted that the mask clears: never equal.
        let never = compile(&rule("SCMP_CMP_MASKED_EQ", 0xf0, 0x1_0000_0010)).unwrap();
        for a1 in [0x10, 0x1_0000_0010, u64::MAX] {
            assert_eq!(evaluate(&never, arch, p, with(a1)), ALLOW, "{a1:#x}");
        }
        // Another call is not touched.
        assert_eq!(
            evaluate(&masked, arch, nr("mount"), with(0x0100_0000_0010)),
            ALLOW
        );
        // What the compiler does not know, it says.
        assert!(matches!(
            compile(&rule("SCMP_CMP_GT", 1, 0)),
            Err(SeccompError::Operator(op)) if op == "SCMP_CMP_GT"
        ));
    }

    #[test]
    fn an_allow_list_with_an_errno_default() {
        let profile = Seccomp {
            default_action: "SCMP_ACT_ERRNO".into(),
            default_errno_ret: Some(libc::EPERM as u32),
            architectures: vec![NATIVE.0.into()],
            syscalls: vec![SyscallRule {
                names: vec!["execve".into(), FOREIGN.into()],
                action: "SCMP_ACT_ALLOW".into(),
                errno_ret: None,
                args: vec![],
            }],
        };
        let f = compile(&profile).unwrap();
        assert_eq!(f.other_arch, [FOREIGN]);
        assert_eq!(evaluate(&f, native_arch(), nr("execve"), [0; 6]), ALLOW);
        assert_eq!(
            evaluate(&f, native_arch(), nr("mount"), [0; 6]),
            errno_verdict(libc::EPERM)
        );
        let other = Seccomp {
            architectures: vec!["SCMP_ARCH_S390X".into()],
            ..profile
        };
        assert!(matches!(
            compile(&other),
            Err(SeccompError::Architecture { .. })
        ));
    }

    /// What a profile decides for one call, read straight from the profile:
    /// the first rule naming the call whose argument tests all hold, else
    /// the default. The compiled filter must agree for every call.
    fn decided_by_profile(profile: &Seccomp, nr: u32, args: [u64; 6]) -> u32 {
        let holds = |a: &SyscallArg| {
            let v = args[a.index as usize];
            match a.op.as_str() {
                "SCMP_CMP_EQ" => v == a.value,
                "SCMP_CMP_NE" => v != a.value,
                "SCMP_CMP_MASKED_EQ" => v & a.value == a.value_two,
                other => panic!("{other}"),
            }
        };
        profile
            .syscalls
            .iter()
            .filter(|r| r.names.iter().any(|n| syscall_number(n) == Some(nr)))
            .find(|r| r.args.iter().all(holds))
            .map(|r| verdict(&r.action, r.errno_ret).unwrap())
            .unwrap_or_else(|| verdict(&profile.default_action, profile.default_errno_ret).unwrap())
    }

    /// Every call number (and some past the last), with the arguments the
    /// profile's rules test and others.
    fn assert_filter_is_the_profile(profile: &Seccomp) {
        let f = compile(profile).unwrap();
        for nr in 0..1024 {
            let mut arg_values = vec![0u64, 1, u64::MAX, 0x1_0000_0000];
            let rules = profile
                .syscalls
                .iter()
                .filter(|r| r.names.iter().any(|n| syscall_number(n) == Some(nr)));
            for a in rules.flat_map(|r| &r.args) {
                arg_values.extend([a.value, a.value_two, a.value ^ 1, a.value | a.value_two]);
            }
            for &v in &arg_values {
                for index in [0, 1] {
                    let mut args = [0; 6];
                    args[index] = v;
                    assert_eq!(
                        evaluate(&f, native_arch(), nr, args),
                        decided_by_profile(profile, nr, args),
                        "call {nr}, args {args:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_binary_search_finds_every_call_the_profile_names() {
        assert_filter_is_the_profile(&default_profile());
        // An allow-list of every call this architecture has, some with
        // argument rules: halves longer than a conditional jump reaches.
        // Neighbours get different verdicts, so no two share a range.
        let mut syscalls: Vec<SyscallRule> = syscalls::Sysno::iter()
            .map(|call| SyscallRule {
                names: vec![call.name().into()],
                action: if call.id() % 2 == 0 {
                    "SCMP_ACT_ALLOW"
                } else {
                    "SCMP_ACT_LOG"
                }
                .into(),
                errno_ret: None,
                args: vec![],
            })
            .collect();
        for (i, rule) in syscalls.iter_mut().enumerate().filter(|(i, _)| i % 7 == 0) {
            rule.args.push(SyscallArg {
                index: (i % 2) as u32,
                value: i as u64,
                value_two: 0,
                op: "SCMP_CMP_EQ".into(),
            });
        }
        let allow_list = Seccomp {
            default_action: "SCMP_ACT_ERRNO".into(),
            default_errno_ret: Some(libc::EPERM as u32),
            architectures: vec![NATIVE.0.into()],
            syscalls,
        };
        let f = compile(&allow_list).unwrap();
        assert!(
            f.program.iter().any(|i| i.code == JA),
            "no half was long enough to need an unconditional jump"
        );
        assert_filter_is_the_profile(&allow_list);
    }

    /// A deny-list of `calls`, each failing with its errno.
    fn deny(calls: &[(u32, i32)]) -> Seccomp {
        Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            default_errno_ret: None,
            architectures: vec![],
            syscalls: calls
                .iter()
                .map(|(nr, errno)| SyscallRule {
                    names: vec![syscalls::Sysno::new(*nr as usize).unwrap().name().into()],
                    action: "SCMP_ACT_ERRNO".into(),
                    errno_ret: Some(*errno as u32),
                    args: vec![],
                })
                .collect(),
        }
    }

    #[test]
    fn consecutive_calls_with_one_verdict_share_a_range_test() {
        // Five consecutive numbers this architecture has, denied alike: one
        // range (two tests and a verdict) instead of five tests and verdicts.
        let first = (0..400u32)
            .find(|n| (*n..n + 5).all(|k| syscalls::Sysno::new(k as usize).is_some()))
            .unwrap();
        let alike: Vec<(u32, i32)> = (first..first + 5).map(|n| (n, libc::EPERM)).collect();
        let f = compile(&deny(&alike)).unwrap();
        assert_eq!(f.program.iter().filter(|i| i.code == JGT_K).count(), 1);
        let eperm = errno_verdict(libc::EPERM);
        assert_eq!(
            f.program
                .iter()
                .filter(|i| i.code == RET_K && i.k == eperm)
                .count(),
            1,
            "one verdict for the range"
        );
        assert_filter_is_the_profile(&deny(&alike));
        // A different verdict in the middle splits the range in three.
        let mut split = alike.clone();
        split[2].1 = libc::EACCES;
        let f = compile(&deny(&split)).unwrap();
        assert_eq!(f.program.iter().filter(|i| i.code == JGT_K).count(), 2);
        assert_eq!(
            evaluate(&f, native_arch(), first + 2, [0; 6]),
            errno_verdict(libc::EACCES)
        );
        assert_filter_is_the_profile(&deny(&split));
        // A gap between the numbers is no range either: the number in it is
        // allowed (the default).
        let gap = [(first, libc::EPERM), (first + 2, libc::EPERM)];
        let f = compile(&deny(&gap)).unwrap();
        assert!(f.program.iter().all(|i| i.code != JGT_K));
        assert_eq!(evaluate(&f, native_arch(), first + 1, [0; 6]), ALLOW);
        assert_filter_is_the_profile(&deny(&gap));
        // docker's profile, as glassbox writes it, is shorter for its ranges.
        let docker = compile(&default_profile()).unwrap();
        assert!(docker.program.iter().any(|i| i.code == JGT_K));
    }

    #[test]
    fn ranges_of_calls_with_argument_rules_in_a_long_search() {
        // Every call, in groups of four consecutive numbers that share one
        // masked argument test and verdict (so their blocks, jumps inside
        // and all, are alike); groups differ from each other. Long enough
        // that halves need unconditional jumps.
        let syscalls = syscalls::Sysno::iter()
            .map(|call| {
                let group = call.id() as u64 / 4;
                SyscallRule {
                    names: vec![call.name().into()],
                    action: "SCMP_ACT_ERRNO".into(),
                    errno_ret: Some(1 + (group % 30) as u32),
                    args: vec![SyscallArg {
                        index: (group % 2) as u32,
                        value: 0xff,
                        value_two: group & 0xff,
                        op: "SCMP_CMP_MASKED_EQ".into(),
                    }],
                }
            })
            .collect();
        let profile = Seccomp {
            default_action: "SCMP_ACT_ALLOW".into(),
            default_errno_ret: None,
            architectures: vec![NATIVE.0.into()],
            syscalls,
        };
        let f = compile(&profile).unwrap();
        assert!(f.program.iter().any(|i| i.code == JGT_K), "no range");
        assert!(f.program.iter().any(|i| i.code == JA), "no long half");
        assert_filter_is_the_profile(&profile);
    }

    #[test]
    fn a_block_too_long_for_a_range_is_tested_alone() {
        // Two neighbours with the same 255-instruction block: 61 `NE` tests
        // (4 instructions each) and 3 of the low word only (3 each), the
        // verdict and the default. A range would have to jump 256 past it.
        let first = (0..400u32)
            .find(|n| (*n..n + 2).all(|k| syscalls::Sysno::new(k as usize).is_some()))
            .unwrap();
        let test = |op: &str, value: u64, value_two: u64| SyscallArg {
            index: 0,
            value,
            value_two,
            op: op.into(),
        };
        let rule = |nr: u32| SyscallRule {
            names: vec![syscalls::Sysno::new(nr as usize).unwrap().name().into()],
            action: "SCMP_ACT_ERRNO".into(),
            errno_ret: Some(1),
            args: (1..=61)
                .map(|v| test("SCMP_CMP_NE", v, 0))
                .chain((0..3).map(|_| test("SCMP_CMP_MASKED_EQ", 0x100, 0)))
                .collect(),
        };
        let profile = deny(&[]);
        let profile = Seccomp {
            syscalls: vec![rule(first), rule(first + 1)],
            ..profile
        };
        let block = rule_block(&profile.syscalls[0]).unwrap().len() + 1;
        assert_eq!(block, 255, "the block with its default");
        let f = compile(&profile).unwrap();
        assert!(f.program.iter().all(|i| i.code != JGT_K));
        assert_filter_is_the_profile(&profile);
    }
}
