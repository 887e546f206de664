//! Devices: which device nodes the container's processes may open.
//!
//! A device node is only a name for a (type, major, minor) triple: with
//! CAP_MKNOD (one of docker's 14) root inside can make `b 7 0` (a loop device)
//! or `c 1 11` (/dev/kmsg) anywhere it can write, and the node works on any
//! filesystem mounted without `nodev`, such as the container's own overlay.
//! What stops it is the cgroup's device list, which the kernel checks on every
//! `open` and `mknod` of a device node (not on other files):
//!
//! - cgroup v1 has a `devices` controller: `devices.deny` and `devices.allow`
//!   take lines such as `a` (everything) or `c 1:3 rwm` (char 1:3: read,
//!   write, mknod), and `devices.list` shows what the group may use.
//! - cgroup v2 has no device files. Instead a small eBPF program of type
//!   `BPF_PROG_TYPE_CGROUP_DEVICE` is attached to the group; the kernel runs
//!   it with (access, type, major, minor) and it returns 1 (allow) or 0 (the
//!   call fails with EPERM). glassbox writes that program itself
//!   ([`program`]), one block of a few instructions per rule, as runc does,
//!   loads it with `bpf(BPF_PROG_LOAD)` and attaches it with
//!   `bpf(BPF_PROG_ATTACH)`; [`attached`] reads back what the kernel holds.
//!
//! The rules come from config.json's `linux.resources.devices`, in the OCI
//! order (later rules win). docker's default, [`default_rules`]: deny
//! everything, allow `mknod` of any node (so CAP_MKNOD keeps its meaning), and
//! allow read/write of null, zero, full, random, urandom, tty, console, ptmx
//! and the pty slaves (/dev/pts/*) only. `--device` adds one allow rule.

use super::{CgroupError, write_control};
use crate::runtime::spec::DeviceRule;
use crate::runtime::trace::{Trace, now_ns};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// docker's default device rules: deny all, mknod of anything, read/write of
/// the harmless nodes.
pub fn default_rules() -> Vec<DeviceRule> {
    let rule = |typ: &str, major: Option<i64>, minor: Option<i64>, access: &str| DeviceRule {
        allow: true,
        typ: Some(typ.to_string()),
        major,
        minor,
        access: Some(access.to_string()),
    };
    let mut rules = vec![DeviceRule {
        allow: false,
        typ: Some("a".into()),
        major: None,
        minor: None,
        access: Some("rwm".into()),
    }];
    rules.push(rule("c", None, None, "m"));
    rules.push(rule("b", None, None, "m"));
    for (major, minor) in [
        (1, 3), // null
        (1, 5), // zero
        (1, 7), // full
        (1, 8), // random
        (1, 9), // urandom
        (5, 0), // tty
        (5, 1), // console
        (5, 2), // ptmx
    ] {
        rules.push(rule("c", Some(major), Some(minor), "rwm"));
    }
    rules.push(rule("c", Some(136), None, "rwm")); // /dev/pts/*
    rules
}

/// A rule's type letter: `a` (all), `b` or `c`.
fn type_of(rule: &DeviceRule) -> Result<char, CgroupError> {
    match rule.typ.as_deref().unwrap_or("a") {
        "a" => Ok('a'),
        "b" => Ok('b'),
        "c" => Ok('c'),
        other => Err(bad_rule(rule, &format!("type {other:?} is not a, b or c"))),
    }
}

fn access_of(rule: &DeviceRule) -> Result<String, CgroupError> {
    let access = rule.access.as_deref().unwrap_or("rwm");
    if access.is_empty() || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(bad_rule(
            rule,
            &format!("access {access:?} is not made of r, w and m"),
        ));
    }
    Ok(access.to_string())
}

fn number(rule: &DeviceRule, n: Option<i64>) -> Result<Option<u32>, CgroupError> {
    match n {
        None | Some(-1) => Ok(None),
        Some(v) => u32::try_from(v)
            .map(Some)
            .map_err(|_| bad_rule(rule, &format!("device number {v} is out of range"))),
    }
}

fn bad_rule(rule: &DeviceRule, why: &str) -> CgroupError {
    CgroupError::Write {
        path: "linux.resources.devices".into(),
        value: format!("{rule:?}"),
        source: io::Error::new(io::ErrorKind::InvalidInput, why.to_string()),
        hint: " (fix the rule in config.json)",
    }
}

/// The v1 line of a rule, as `devices.allow`/`devices.deny` take it:
/// `a`, `c 1:3 rwm`, `b *:* m`.
pub fn v1_line(rule: &DeviceRule) -> Result<String, CgroupError> {
    let typ = type_of(rule)?;
    let access = access_of(rule)?;
    if typ == 'a' {
        return Ok("a".into());
    }
    let show = |n: Option<u32>| n.map_or("*".to_string(), |v| v.to_string());
    Ok(format!(
        "{typ} {}:{} {access}",
        show(number(rule, rule.major)?),
        show(number(rule, rule.minor)?)
    ))
}

/// Step `write_device_rules` (cgroup v1): each rule into `devices.deny` or
/// `devices.allow` of the group's directory in the devices hierarchy.
pub fn apply_v1(dir: &Path, rules: &[DeviceRule], trace: &mut Trace) -> Result<(), CgroupError> {
    for rule in rules {
        let file = if rule.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        write_control(dir, file, &v1_line(rule)?, trace)?;
    }
    Ok(())
}

/// One eBPF instruction (struct bpf_insn): opcode, registers, offset, immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

// eBPF opcodes (linux/bpf_common.h, linux/bpf.h): class | operation | source.
/// BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off).
pub const LDX_W: u8 = 0x61;
/// BPF_ALU | BPF_AND | BPF_K: dst = (u32)dst & imm.
pub const AND32_K: u8 = 0x54;
/// BPF_ALU | BPF_RSH | BPF_K: dst = (u32)dst >> imm.
pub const RSH32_K: u8 = 0x74;
/// BPF_ALU | BPF_MOV | BPF_K: dst = imm.
pub const MOV32_K: u8 = 0xb4;
/// BPF_ALU | BPF_MOV | BPF_X: dst = (u32)src.
pub const MOV32_X: u8 = 0xbc;
/// BPF_JMP | BPF_JEQ | BPF_K: if dst == imm, pc += off.
pub const JEQ_K: u8 = 0x15;
/// BPF_JMP | BPF_JNE | BPF_K: if dst != imm, pc += off.
pub const JNE_K: u8 = 0x55;
/// BPF_JMP | BPF_JNE | BPF_X: if dst != src, pc += off.
pub const JNE_X: u8 = 0x5d;
/// BPF_JMP | BPF_EXIT: return r0.
pub const EXIT: u8 = 0x95;

// struct bpf_cgroup_dev_ctx: access_type (access << 16 | type), major, minor.
const CTX_ACCESS_TYPE: i16 = 0;
const CTX_MAJOR: i16 = 4;
const CTX_MINOR: i16 = 8;
/// BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
/// BPF_DEVCG_ACC_MKNOD, _READ, _WRITE.
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

fn access_mask(access: &str) -> i32 {
    access.chars().fold(0, |m, c| {
        m | match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => 0,
        }
    })
}

/// Is `rule` "deny everything" (`a`, all access)? What comes before it no
/// longer matters.
fn denies_all(rule: &DeviceRule) -> bool {
    !rule.allow
        && rule.typ.as_deref().unwrap_or("a") == "a"
        && access_mask(rule.access.as_deref().unwrap_or("rwm")) == 7
}

/// Compiles device rules to a `BPF_PROG_TYPE_CGROUP_DEVICE` program (pure).
///
/// Prologue: r2 = type, r3 = requested access, r4 = major, r5 = minor. Then
/// one block per rule, the last rule first (in the OCI list, later rules win,
/// so the first block that matches decides): each test jumps to the next block
/// when it fails; an allow rule matches when the requested access is within
/// its own (`r3 & access == r3`), a deny rule when they share a bit. The end
/// returns the default: deny after an "a" deny rule, else allow (a new v1
/// group allows everything too).
pub fn program(rules: &[DeviceRule]) -> Result<Vec<Insn>, CgroupError> {
    let start = rules.iter().rposition(denies_all);
    let default_allow = start.is_none();
    let effective = &rules[start.map_or(0, |i| i + 1)..];
    let mut prog = vec![
        ins(LDX_W, 2, 1, CTX_ACCESS_TYPE, 0),
        ins(AND32_K, 2, 0, 0, 0xffff),
        ins(LDX_W, 3, 1, CTX_ACCESS_TYPE, 0),
        ins(RSH32_K, 3, 0, 0, 16),
        ins(LDX_W, 4, 1, CTX_MAJOR, 0),
        ins(LDX_W, 5, 1, CTX_MINOR, 0),
    ];
    for rule in effective.iter().rev() {
        let typ = type_of(rule)?;
        let access = access_mask(&access_of(rule)?);
        // Jumps hold this placeholder until the block's length is known.
        const NEXT: i16 = i16::MIN;
        let mut block = Vec::new();
        match typ {
            'b' => block.push(ins(JNE_K, 2, 0, NEXT, DEV_BLOCK)),
            'c' => block.push(ins(JNE_K, 2, 0, NEXT, DEV_CHAR)),
            _ => {}
        }
        if access != 7 {
            block.push(ins(MOV32_X, 1, 3, 0, 0));
            block.push(ins(AND32_K, 1, 0, 0, access));
            if rule.allow {
                block.push(ins(JNE_X, 1, 3, NEXT, 0));
            } else {
                block.push(ins(JEQ_K, 1, 0, NEXT, 0));
            }
        }
        if typ != 'a' {
            if let Some(major) = number(rule, rule.major)? {
                block.push(ins(JNE_K, 4, 0, NEXT, major as i32));
            }
            if let Some(minor) = number(rule, rule.minor)? {
                block.push(ins(JNE_K, 5, 0, NEXT, minor as i32));
            }
        }
        block.push(ins(MOV32_K, 0, 0, 0, i32::from(rule.allow)));
        block.push(ins(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, insn) in block.iter_mut().enumerate() {
            if insn.off == NEXT {
                insn.off = (len - (i + 1)) as i16;
            }
        }
        prog.extend(block);
    }
    prog.push(ins(MOV32_K, 0, 0, 0, i32::from(default_allow)));
    prog.push(ins(EXIT, 0, 0, 0, 0));
    Ok(prog)
}

/// Runs a program on one access, as the kernel would (for the tests and the
/// lab: what would `open` of c 1:11 for writing get?). Returns 1 or 0.
pub fn evaluate(prog: &[Insn], typ: char, access: &str, major: u32, minor: u32) -> Option<u32> {
    let dev_type = match typ {
        'b' => DEV_BLOCK,
        'c' => DEV_CHAR,
        _ => return None,
    } as u32;
    let ctx = [(access_mask(access) as u32) << 16 | dev_type, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    for _ in 0..prog.len() + 1 {
        let i = *prog.get(pc)?;
        pc += 1;
        let (d, s) = (usize::from(i.dst), usize::from(i.src));
        let jump = |pc: &mut usize, cond: bool| {
            if cond {
                *pc = (*pc as i64 + i64::from(i.off)) as usize;
            }
        };
        match i.code {
            LDX_W => r[d] = u64::from(*ctx.get(usize::try_from(i.off / 4).ok()?)?),
            AND32_K => r[d] = u64::from((r[d] as u32) & (i.imm as u32)),
            RSH32_K => r[d] = u64::from((r[d] as u32) >> i.imm),
            MOV32_K => r[d] = u64::from(i.imm as u32),
            MOV32_X => r[d] = u64::from(r[s] as u32),
            JEQ_K => jump(&mut pc, r[d] == u64::from(i.imm as u32)),
            JNE_K => jump(&mut pc, r[d] != u64::from(i.imm as u32)),
            JNE_X => jump(&mut pc, r[d] != r[s]),
            EXIT => return Some(r[0] as u32),
            _ => return None,
        }
    }
    None
}

/// One instruction as text, in bpftool's style (`r2 &= 0xffff`), for the lab
/// and the trace.
pub fn disassemble(i: &Insn) -> String {
    let (d, s) = (i.dst, i.src);
    match i.code {
        LDX_W => format!("w{d} = *(u32 *)(r{s} + {})", i.off),
        AND32_K => format!("w{d} &= {:#x}", i.imm),
        RSH32_K => format!("w{d} >>= {}", i.imm),
        MOV32_K => format!("w{d} = {}", i.imm),
        MOV32_X => format!("w{d} = w{s}"),
        JEQ_K => format!("if r{d} == {:#x} goto +{}", i.imm, i.off),
        JNE_K => format!("if r{d} != {:#x} goto +{}", i.imm, i.off),
        JNE_X => format!("if r{d} != r{s} goto +{}", i.off),
        EXIT => "exit".into(),
        other => format!(
            "(opcode {other:#04x} dst r{d} src r{s} off {} imm {:#x})",
            i.off, i.imm
        ),
    }
}

fn encode(prog: &[Insn]) -> Vec<u64> {
    prog.iter()
        .map(|i| {
            let mut b = [0u8; 8];
            b[0] = i.code;
            b[1] = (i.src << 4) | (i.dst & 0x0f);
            b[2..4].copy_from_slice(&i.off.to_ne_bytes());
            b[4..8].copy_from_slice(&i.imm.to_ne_bytes());
            u64::from_ne_bytes(b)
        })
        .collect()
}

fn decode(raw: &[u64]) -> Vec<Insn> {
    raw.iter()
        .map(|w| {
            let b = w.to_ne_bytes();
            Insn {
                code: b[0],
                dst: b[1] & 0x0f,
                src: b[1] >> 4,
                off: i16::from_ne_bytes([b[2], b[3]]),
                imm: i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            }
        })
        .collect()
}

// bpf(2) commands and constants (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// `union bpf_attr` as a zeroed buffer of 32-bit words (the kernel takes a
/// shorter attr than its own and reads the rest as zero).
#[repr(C, align(8))]
struct Attr([u32; 32]);

impl Attr {
    fn new() -> Attr {
        Attr([0; 32])
    }
    fn u32(&mut self, offset: usize, v: u32) -> &mut Attr {
        self.0[offset / 4] = v;
        self
    }
    fn u64(&mut self, offset: usize, v: u64) -> &mut Attr {
        self.0[offset / 4] = v as u32;
        self.0[offset / 4 + 1] = (v >> 32) as u32;
        self
    }
}

fn bpf(cmd: libc::c_long, attr: &mut Attr) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, 8-byte aligned buffer of the size passed; the
    // pointers written into it point to buffers that outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut Attr,
            std::mem::size_of::<Attr>(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc)
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: bpf(2) just returned this new descriptor; nobody else owns it.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

/// `bpf(BPF_PROG_LOAD)`: the verifier checks the program; on refusal it is
/// loaded again with the verifier's log, which the error then carries.
pub fn load(prog: &[Insn]) -> io::Result<OwnedFd> {
    let raw = encode(prog);
    let license = c"Dual MIT/GPL";
    let name = b"glassbox_dev\0\0\0\0";
    let attr_for = |log: Option<&mut Vec<u8>>| {
        let mut attr = Attr::new();
        attr.u32(0, BPF_PROG_TYPE_CGROUP_DEVICE)
            .u32(4, raw.len() as u32)
            .u64(8, raw.as_ptr() as u64)
            .u64(16, license.as_ptr() as u64)
            .u32(68, BPF_CGROUP_DEVICE);
        if let Some(log) = log {
            attr.u32(24, 1)
                .u32(28, log.len() as u32)
                .u64(32, log.as_mut_ptr() as u64);
        }
        for (k, chunk) in name.chunks(4).enumerate() {
            attr.u32(
                48 + 4 * k,
                u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
            );
        }
        attr
    };
    match bpf(BPF_PROG_LOAD, &mut attr_for(None)) {
        Ok(fd) => Ok(owned(fd)),
        Err(e) => {
            let mut log = vec![0u8; 16 * 1024];
            let _ = bpf(BPF_PROG_LOAD, &mut attr_for(Some(&mut log))).map(owned);
            let text = String::from_utf8_lossy(&log);
            let text = text.trim_end_matches('\0').trim();
            Err(if text.is_empty() {
                e
            } else {
                io::Error::new(e.kind(), format!("{e}; the verifier says: {text}"))
            })
        }
    }
}

/// `bpf(BPF_PROG_ATTACH, cgroup, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)`: the
/// cgroup holds the program from now on (until it is removed).
pub fn attach(cgroup: &std::fs::File, prog: &OwnedFd) -> io::Result<()> {
    let mut attr = Attr::new();
    attr.u32(0, cgroup.as_raw_fd() as u32)
        .u32(4, prog.as_raw_fd() as u32)
        .u32(8, BPF_CGROUP_DEVICE)
        .u32(12, BPF_F_ALLOW_MULTI);
    bpf(BPF_PROG_ATTACH, &mut attr).map(|_| ())
}

/// Step `attach_device_program` (cgroup v2): compile, load, attach.
pub fn apply_v2(dir: &Path, rules: &[DeviceRule], trace: &mut Trace) -> Result<(), CgroupError> {
    let t = now_ns();
    let prog = program(rules)?;
    let fail = |what: &str, source: io::Error| CgroupError::Write {
        path: dir.display().to_string(),
        value: format!(
            "{what} (a BPF_PROG_TYPE_CGROUP_DEVICE program of {} instructions)",
            prog.len()
        ),
        source,
        hint: " (cgroup v2 device rules need bpf(2): root, and a kernel with CONFIG_CGROUP_BPF)",
    };
    let fd = load(&prog).map_err(|e| fail("bpf(BPF_PROG_LOAD)", e))?;
    let group = std::fs::File::open(dir).map_err(|e| fail("open", e))?;
    attach(&group, &fd).map_err(|e| fail("bpf(BPF_PROG_ATTACH)", e))?;
    trace.step(
        "runtime",
        t,
        "attach_device_program",
        format!(
            "bpf(BPF_PROG_LOAD, CGROUP_DEVICE, {} instructions from {} rules); bpf(BPF_PROG_ATTACH, {}, BPF_CGROUP_DEVICE)",
            prog.len(),
            rules.len(),
            dir.display()
        ),
    );
    Ok(())
}

/// A device program the kernel holds for a cgroup, read back from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    pub id: u32,
    /// The instructions as the verifier left them (`xlated`); empty when the
    /// kernel does not show them (kernel.kptr_restrict=2).
    pub insns: Vec<Insn>,
}

/// The device programs attached to a cgroup directory (bpftool's `cgroup
/// show`): `BPF_PROG_QUERY`, then each program's instructions by id.
pub fn attached(dir: &Path) -> io::Result<Vec<Attached>> {
    let group = std::fs::File::open(dir)?;
    let mut ids = [0u32; 64];
    let mut attr = Attr::new();
    attr.u32(0, group.as_raw_fd() as u32)
        .u32(4, BPF_CGROUP_DEVICE)
        .u64(16, ids.as_mut_ptr() as u64)
        .u32(24, ids.len() as u32);
    bpf(BPF_PROG_QUERY, &mut attr)?;
    let count = (attr.0[6] as usize).min(ids.len());
    let mut out = Vec::new();
    for &id in &ids[..count] {
        let mut attr = Attr::new();
        attr.u32(0, id);
        let fd = owned(bpf(BPF_PROG_GET_FD_BY_ID, &mut attr)?);
        // struct bpf_prog_info: xlated_prog_len at byte 20, xlated_prog_insns at 32.
        let info_of = |info: &mut Attr| -> io::Result<()> {
            let mut attr = Attr::new();
            attr.u32(0, fd.as_raw_fd() as u32)
                .u32(4, std::mem::size_of::<Attr>() as u32)
                .u64(8, info as *mut Attr as u64);
            bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr).map(|_| ())
        };
        let mut info = Attr::new();
        info_of(&mut info)?;
        let xlated_len = info.0[5] as usize;
        let mut raw = vec![0u64; xlated_len / 8];
        if !raw.is_empty() {
            let mut info = Attr::new();
            info.u32(20, xlated_len as u32)
                .u64(32, raw.as_mut_ptr() as u64);
            info_of(&mut info)?;
        }
        out.push(Attached {
            id,
            insns: decode(&raw),
        });
    }
    Ok(out)
}
