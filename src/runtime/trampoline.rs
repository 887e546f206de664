//! The exec trampoline: a 255-byte program (135 bytes of x86-64 code) that starts the container's program.
//!
//! Until its `execve`, the process that becomes the container's program is a
//! copy of glassbox, and `/proc/self/exe` names glassbox's binary. If the
//! program is `/proc/self/exe` itself, or a script whose `#!` line names it,
//! or an ELF file whose interpreter does, the kernel resolves that magic link
//! during the `execve` and runs glassbox's binary again, inside the container
//! (runc's CVE-2019-5736; see [`super::exe`]). Re-executing all of glassbox
//! from a read-only view of itself ([`super::exe::seal`]) closes that, but
//! loading an 11 MB program a second time is about 1.4 ms of every start.
//!
//! The trampoline closes it for the price of one tiny `execve`, as runc's
//! `runc-dmz` did (runc 1.1.x): the last `execve` is made by a program that
//! is not glassbox. It lives in a sealed memfd (no write, grow or shrink, the
//! seals themselves sealed), so during that `execve` `/proc/self/exe` names
//! the memfd: whatever the container's program resolves to, at worst it is
//! the trampoline again, and nothing can write through it.
//!
//! The whole file, built by [`elf_image`]:
//!
//! - the ELF header (64 bytes): a 64-bit little-endian executable for this
//!   machine, whose code starts at byte 120 of the file;
//! - one program header (56 bytes): `PT_LOAD`, map the file at 0x400000,
//!   readable and executable;
//! - the code, hand-assembled (the instructions are beside the bytes below).
//!   No C library and no dynamic loader: five system calls.
//!
//! It is run with `execveat(memfd, "", [path, arg0, arg1, …], env)`, with the
//! init's sync pipe (see [`super::sync`]) on descriptor 3, not close-on-exec:
//!
//! 1. `fcntl(3, F_SETFD, FD_CLOEXEC)`: the pipe closes when the next `execve`
//!    succeeds, which the runtime reads as "the program runs";
//! 2. `execve(argv[0], &argv[1], envp)`: the container's program, with its own
//!    argv and the environment unchanged;
//! 3. only if that failed: `write(3, "errno\tNNNN\n")` and `exit_group(127)`;
//!    the runtime turns the number into docker's message and exit code.
//!
//! Capabilities, user, seccomp filter and no_new_privs are set before the
//! trampoline runs and cross both `execve`s unchanged: for root the kernel
//! recomputes the permitted set from the bounding and inheritable sets at each
//! `execve` (the same both times); for other users only ambient capabilities
//! survive, and they survive both.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

/// The descriptor the trampoline reports a failed `execve` on.
pub const REPORT_FD: RawFd = 3;

/// Where the file is mapped, and where its code begins in it.
const BASE: u64 = 0x40_0000;
const HEADERS: usize = 64 + 56;

/// x86-64, assembled from (AT&T syntax):
#[cfg(target_arch = "x86_64")]
const CODE: (u16, &[u8]) = (
    62, // EM_X86_64
    &[
        0xb8, 0x48, 0x00, 0x00, 0x00, //       mov  $72, %eax          fcntl
        0xbf, 0x03, 0x00, 0x00, 0x00, //       mov  $3, %edi           fd 3
        0xbe, 0x02, 0x00, 0x00, 0x00, //       mov  $2, %esi           F_SETFD
        0xba, 0x01, 0x00, 0x00, 0x00, //       mov  $1, %edx           FD_CLOEXEC
        0x0f, 0x05, //                         syscall
        0x85, 0xc0, //                         test %eax, %eax
        0x75, 0x1a, //                         jnz  report
        0x48, 0x8b, 0x0c, 0x24, //             mov  (%rsp), %rcx       argc
        0x48, 0x8b, 0x7c, 0x24, 0x08, //       mov  8(%rsp), %rdi      argv[0]: the path
        0x48, 0x8d, 0x74, 0x24, 0x10, //       lea  16(%rsp), %rsi     &argv[1]
        0x48, 0x8d, 0x54, 0xcc, 0x10, //       lea  16(%rsp,%rcx,8), %rdx   envp
        0xb8, 0x3b, 0x00, 0x00, 0x00, //       mov  $59, %eax          execve
        0x0f, 0x05, //                         syscall
        0xf7, 0xd8, //             report:     neg  %eax               errno
        0x48, 0x8d, 0x74, 0x24,
        0xf0, //       lea  -16(%rsp), %rsi    the line, below the stack
        0xc7, 0x06, 0x65, 0x72, 0x72, 0x6e, // movl $"errn", (%rsi)
        0x66, 0xc7, 0x46, 0x04, 0x6f, 0x09, // movw $"o\t", 4(%rsi)
        0xb9, 0x0a, 0x00, 0x00, 0x00, //       mov  $10, %ecx
        0x41, 0xb8, 0x09, 0x00, 0x00, 0x00, // mov  $9, %r8d           last digit first
        0x31, 0xd2, //             digit:      xor  %edx, %edx
        0xf7, 0xf1, //                         div  %ecx
        0x80, 0xc2, 0x30, //                   add  $'0', %dl
        0x42, 0x88, 0x14, 0x06, //             mov  %dl, (%rsi,%r8)
        0x41, 0xff, 0xc8, //                   dec  %r8d
        0x41, 0x83, 0xf8, 0x05, //             cmp  $5, %r8d
        0x75, 0xec, //                         jne  digit
        0xc6, 0x46, 0x0a, 0x0a, //             movb $'\n', 10(%rsi)
        0xb8, 0x01, 0x00, 0x00, 0x00, //       mov  $1, %eax           write
        0xbf, 0x03, 0x00, 0x00, 0x00, //       mov  $3, %edi
        0xba, 0x0b, 0x00, 0x00, 0x00, //       mov  $11, %edx          11 bytes
        0x0f, 0x05, //                         syscall
        0xb8, 0xe7, 0x00, 0x00, 0x00, //       mov  $231, %eax         exit_group
        0xbf, 0x7f, 0x00, 0x00, 0x00, //       mov  $127, %edi
        0x0f, 0x05, //                         syscall
    ],
);

/// AArch64 (little-endian words), assembled from:
#[cfg(target_arch = "aarch64")]
const CODE: (u16, &[u8]) = (
    183, // EM_AARCH64
    &[
        0x28, 0x03, 0x80, 0xd2, // mov  x8, #25          fcntl
        0x60, 0x00, 0x80, 0xd2, // mov  x0, #3
        0x41, 0x00, 0x80, 0xd2, // mov  x1, #2           F_SETFD
        0x22, 0x00, 0x80, 0xd2, // mov  x2, #1           FD_CLOEXEC
        0x01, 0x00, 0x00, 0xd4, // svc  #0
        0x00, 0x01, 0x00, 0xb5, // cbnz x0, report
        0xe9, 0x03, 0x40, 0xf9, // ldr  x9, [sp]         argc
        0xe0, 0x07, 0x40, 0xf9, // ldr  x0, [sp, #8]     argv[0]: the path
        0xe1, 0x43, 0x00, 0x91, // add  x1, sp, #16      &argv[1]
        0xe2, 0x6f, 0x29, 0x8b, // add  x2, sp, x9, lsl #3
        0x42, 0x40, 0x00, 0x91, // add  x2, x2, #16      envp
        0xa8, 0x1b, 0x80, 0xd2, // mov  x8, #221         execve
        0x01, 0x00, 0x00, 0xd4, // svc  #0
        0xe0, 0x03, 0x00, 0xcb, // report: neg x0, x0    errno
        0xe1, 0x43, 0x00, 0xd1, // sub  x1, sp, #16      the line, below the stack
        0xa3, 0x4c, 0x8e, 0x52, // mov  w3, #0x7265      "er"
        0x43, 0xce, 0xad, 0x72, // movk w3, #0x6e72, lsl #16   "rn"
        0x23, 0x00, 0x00, 0xb9, // str  w3, [x1]
        0xe3, 0x2d, 0x81, 0x52, // mov  w3, #0x096f      "o\t"
        0x23, 0x08, 0x00, 0x79, // strh w3, [x1, #4]
        0x24, 0x01, 0x80, 0xd2, // mov  x4, #9           last digit first
        0x45, 0x01, 0x80, 0xd2, // mov  x5, #10
        0x06, 0x08, 0xc5, 0x9a, // digit: udiv x6, x0, x5
        0xc7, 0x80, 0x05, 0x9b, // msub x7, x6, x5, x0   x0 % 10
        0xe7, 0xc0, 0x00, 0x91, // add  x7, x7, #'0'
        0x27, 0x68, 0x24, 0x38, // strb w7, [x1, x4]
        0xe0, 0x03, 0x06, 0xaa, // mov  x0, x6
        0x84, 0x04, 0x00, 0xd1, // sub  x4, x4, #1
        0x9f, 0x14, 0x00, 0xf1, // cmp  x4, #5
        0x21, 0xff, 0xff, 0x54, // b.ne digit
        0x43, 0x01, 0x80, 0x52, // mov  w3, #'\n'
        0x23, 0x28, 0x00, 0x39, // strb w3, [x1, #10]
        0x60, 0x00, 0x80, 0xd2, // mov  x0, #3
        0x62, 0x01, 0x80, 0xd2, // mov  x2, #11          11 bytes
        0x08, 0x08, 0x80, 0xd2, // mov  x8, #64          write
        0x01, 0x00, 0x00, 0xd4, // svc  #0
        0xe0, 0x0f, 0x80, 0xd2, // mov  x0, #127
        0xc8, 0x0b, 0x80, 0xd2, // mov  x8, #94          exit_group
        0x01, 0x00, 0x00, 0xd4, // svc  #0
    ],
);

/// The machine (`e_machine`) and code for the architecture glassbox was
/// built for; `None` where there is no trampoline (glassbox then re-executes
/// itself from a read-only view, as before).
pub fn code() -> Option<(u16, &'static [u8])> {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    return Some(CODE);
    #[allow(unreachable_code)]
    None
}

/// Pure: a static ELF64 executable (little-endian) whose one segment is the
/// whole file, mapped at `BASE` readable and executable, starting at `code`.
pub fn elf_image(machine: u16, code: &[u8]) -> Vec<u8> {
    let size = (HEADERS + code.len()) as u64;
    let mut f = Vec::with_capacity(HEADERS + code.len());
    // ELF header.
    f.extend_from_slice(b"\x7fELF"); // magic
    f.extend_from_slice(&[2, 1, 1, 0]); // 64-bit, little-endian, version 1, System V ABI
    f.extend_from_slice(&[0; 8]); // ABI version, padding
    f.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    f.extend_from_slice(&machine.to_le_bytes()); // e_machine
    f.extend_from_slice(&1u32.to_le_bytes()); // e_version
    f.extend_from_slice(&(BASE + HEADERS as u64).to_le_bytes()); // e_entry: the code
    f.extend_from_slice(&64u64.to_le_bytes()); // e_phoff: program headers follow
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no section headers
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    f.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    f.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    f.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    f.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
    // Program header: one PT_LOAD of the whole file.
    f.extend_from_slice(&1u32.to_le_bytes()); // p_type: PT_LOAD
    f.extend_from_slice(&5u32.to_le_bytes()); // p_flags: PF_R | PF_X
    f.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    f.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    f.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    f.extend_from_slice(&size.to_le_bytes()); // p_filesz
    f.extend_from_slice(&size.to_le_bytes()); // p_memsz
    f.extend_from_slice(&0x1_0000u64.to_le_bytes()); // p_align: 64 KiB, any page size
    f.extend_from_slice(code);
    f
}

/// `MFD_EXEC` (Linux 6.3+): an executable memfd, where `vm.memfd_noexec` asks
/// memfds to say so; older kernels refuse the flag, and need none.
const MFD_EXEC: libc::c_uint = 0x10;

/// The trampoline in a sealed memfd, made once per process (close-on-exec:
/// only a clone of this process, the container's init, inherits it), or why
/// there is none.
pub fn sealed() -> Result<RawFd, &'static str> {
    static FD: OnceLock<Result<OwnedFd, String>> = OnceLock::new();
    match FD.get_or_init(|| make().map_err(|e| e.to_string())) {
        Ok(fd) => Ok(fd.as_raw_fd()),
        Err(e) => Err(e.as_str()),
    }
}

fn make() -> io::Result<OwnedFd> {
    use nix::fcntl::{FcntlArg, SealFlag, fcntl};
    let (machine, code) =
        code().ok_or_else(|| io::Error::other("no trampoline for this architecture"))?;
    let name = c"glassbox-trampoline";
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: memfd_create takes a NUL-terminated name and flags.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
    if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // SAFETY: as above, without the flag a kernel before 6.3 does not know.
        fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("memfd_create: {e}")));
    }
    // SAFETY: the descriptor was just made and is owned by nobody else.
    let mut owned = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    if fd <= REPORT_FD {
        // Out of the way of the descriptor the init hands the trampoline.
        owned = nix::fcntl::fcntl(&owned, FcntlArg::F_DUPFD_CLOEXEC(REPORT_FD + 1))
            // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor, owned by nobody else.
            .map(|fd| unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
            .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("F_DUPFD: {e}")))?;
    }
    let file = std::fs::File::from(owned);
    io::Write::write_all(&mut &file, &elf_image(machine, code))?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(&file, FcntlArg::F_ADD_SEALS(seals))
        .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("F_ADD_SEALS: {e}")))?;
    Ok(OwnedFd::from(file))
}

/// Pure: the runtime's reading of the trampoline's report, `errno\tNNNN`.
pub fn parse_report(line: &str) -> Option<i32> {
    line.strip_prefix("errno\t")?.trim_end().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_is_one_executable_segment_starting_at_the_code() {
        let img = elf_image(62, &[0x90; 10]);
        assert_eq!(img.len(), 130);
        assert_eq!(&img[..4], b"\x7fELF");
        let u16_at = |o: usize| u16::from_le_bytes([img[o], img[o + 1]]);
        let u64_at = |o: usize| u64::from_le_bytes(img[o..o + 8].try_into().unwrap());
        assert_eq!(u16_at(16), 2, "ET_EXEC");
        assert_eq!(u16_at(18), 62);
        assert_eq!(u64_at(24), 0x40_0078, "entry at byte 120");
        assert_eq!(u64_at(32), 64, "program header right after the ELF header");
        assert_eq!(u16_at(56), 1, "one program header");
        assert_eq!(
            u64_at(64 + 8),
            0,
            "the segment starts at the file's first byte"
        );
        assert_eq!(u64_at(64 + 32), 130, "and is the whole file");
        assert_eq!(&img[120..], &[0x90; 10]);
    }

    /// Runs the sealed trampoline as the init does: `argv` = [path, arg0, …],
    /// a pipe on descriptor 3; returns what the program printed, what the
    /// pipe carried and the exit code.
    fn through_trampoline(argv: &[&str]) -> (String, String, i32) {
        use std::io::Read;
        use std::os::unix::process::CommandExt;
        let fd = sealed().expect("the trampoline");
        let (mut report, pipe_w) = std::io::pipe().unwrap();
        let pipe_w = std::os::fd::OwnedFd::from(pipe_w);
        let w = pipe_w.as_raw_fd();
        let mut cmd = std::process::Command::new(format!("/proc/self/fd/{fd}"));
        cmd.arg0(argv[0]).args(&argv[1..]);
        cmd.stdout(std::process::Stdio::piped());
        // SAFETY: dup2 is async-signal-safe; it runs in the forked child.
        unsafe {
            cmd.pre_exec(move || match libc::dup2(w, REPORT_FD) {
                -1 => Err(io::Error::last_os_error()),
                _ => Ok(()),
            })
        };
        let child = cmd.spawn().unwrap();
        drop(cmd);
        drop(pipe_w);
        let out = child.wait_with_output().unwrap();
        let mut text = String::new();
        report.read_to_string(&mut text).unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            text,
            out.status.code().unwrap_or(-1),
        )
    }

    #[test]
    fn the_trampoline_execs_the_program_and_closes_the_pipe() {
        if code().is_none() {
            return;
        }
        // The program gets its own argv (argv[0] included) and no descriptor 3:
        // the pipe reached end-of-file at the program's execve.
        let (out, report, code) = through_trampoline(&[
            "/bin/sh",
            "my-name",
            "-c",
            "echo \"$0 $1\"; head -c 7 /proc/$$/cmdline; echo; [ -e /proc/$$/fd/3 ] && echo fd3-open; exit 7",
            "zero",
            "one",
        ]);
        assert_eq!(out, "zero one\nmy-name\n");
        assert_eq!(report, "");
        assert_eq!(code, 7);
    }

    #[test]
    fn a_failed_exec_is_reported_on_the_pipe() {
        if code().is_none() {
            return;
        }
        let (out, report, code) = through_trampoline(&["/nonexistent/program", "x"]);
        assert_eq!((out.as_str(), code), ("", 127));
        assert_eq!(report, "errno\t0002\n");
        assert_eq!(parse_report(&report), Some(libc::ENOENT));
        // A file nobody may execute: EACCES (13).
        let (_, report, _) = through_trampoline(&["/proc/self/status", "x"]);
        assert_eq!(parse_report(&report), Some(libc::EACCES), "{report:?}");
    }

    #[test]
    fn the_memfd_is_sealed_against_writes() {
        if code().is_none() {
            return;
        }
        let fd = sealed().unwrap();
        // SAFETY: the trampoline's descriptor stays open for the process's life.
        let memfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let seals = nix::fcntl::fcntl(memfd, nix::fcntl::FcntlArg::F_GET_SEALS).unwrap();
        for seal in [
            libc::F_SEAL_SEAL,
            libc::F_SEAL_SHRINK,
            libc::F_SEAL_GROW,
            libc::F_SEAL_WRITE,
        ] {
            assert_ne!(seals & seal, 0, "seal {seal:#x} missing");
        }
        // A write through the descriptor itself is refused. (Not through a
        // second, writable open of /proc/self/fd/N: while one is open, an
        // execve of the file fails with ETXTBSY, here in the other tests.)
        let written = nix::sys::uio::pwrite(memfd, b"x", 0);
        assert_eq!(written, Err(nix::errno::Errno::EPERM));
        assert!(fd > REPORT_FD);
    }

    #[test]
    fn reports_are_read_back_as_errno() {
        assert_eq!(parse_report("errno\t0002"), Some(libc::ENOENT));
        assert_eq!(parse_report("errno\t0008\n"), Some(libc::ENOEXEC));
        assert_eq!(parse_report("step\t1\t2\tx\ty"), None);
        assert_eq!(parse_report("errno\t"), None);
    }
}
