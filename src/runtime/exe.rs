//! The runtime binary, out of the container's reach (the CVE-2019-5736 class).
//!
//! A process that glassbox starts in a container is, until its `execve`, a
//! copy of glassbox itself, and `/proc/PID/exe` of it names glassbox's binary.
//! If the container's command is `/proc/self/exe` (or a script whose `#!`
//! line says so), the kernel runs glassbox's binary again, now inside the
//! container; a process there can then open `/proc/PID/exe` of it and, once it
//! exits, write to the host's glassbox binary through that descriptor (runc's
//! CVE-2019-5736). Three things close it, as in runc:
//!
//! 1. No `execve` of a container's program resolves `/proc/self/exe` to a
//!    writable glassbox. `run` (without `--init`) makes that `execve` through
//!    the sealed exec trampoline ([`super::trampoline`]), a 135-byte program
//!    in a memfd, so that the whole of glassbox is loaded once per start. The
//!    other commands that start container processes (`exec`, `build`,
//!    `start`, `run --init`, whose PID 1 stays glassbox for the container's
//!    life, and `cp-helper`) re-execute themselves, once, from a **read-only
//!    bind mount of the binary** ([`seal`]): `open_tree(OPEN_TREE_CLONE)` makes a detached copy
//!    of the binary's mount (in no mount table, gone with its last user),
//!    `mount_setattr(MOUNT_ATTR_RDONLY)` makes it read-only, and
//!    `execveat(fd, "", AT_EMPTY_PATH)` runs the binary through it. Every
//!    later `/proc/PID/exe` of these processes is that read-only mount: a
//!    write fails with EROFS, whoever holds the descriptor. No copy is made
//!    (a kernel without the new mount API gets a sealed `memfd` copy instead).
//! 2. Before joining any namespace, the joining process makes itself
//!    non-dumpable (`PR_SET_DUMPABLE 0`, [`undumpable`]): until its `execve`
//!    only a process with CAP_SYS_PTRACE on the host may open its
//!    /proc/PID/{exe,environ,mem,fd}. `execve` makes it dumpable again, as
//!    the container's own program.
//! 3. It clears its environment and zeroes the block the CLI's environment
//!    was in ([`scrub_environment`]): the container's program gets config.json's
//!    environment only, and nothing of the admin's shell is left in memory.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

/// Where the binary runs from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// /proc/self/exe is on a read-only mount already (this process was
    /// re-executed, or glassbox is installed on a read-only filesystem).
    ReadOnly,
    /// A sealed memfd copy (no write, grow or shrink; seals sealed).
    Memfd,
}

/// How this process's binary is protected, if it is (found once: it
/// changes only with an `execve`, which starts the process image afresh).
pub fn sealed() -> Option<Sealed> {
    static SEALED: std::sync::OnceLock<Option<Sealed>> = std::sync::OnceLock::new();
    *SEALED.get_or_init(find_sealed)
}

fn find_sealed() -> Option<Sealed> {
    let exe = std::fs::File::open("/proc/self/exe").ok()?;
    if let Ok(vfs) = nix::sys::statvfs::fstatvfs(&exe)
        && vfs.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY)
    {
        return Some(Sealed::ReadOnly);
    }
    let seals = nix::fcntl::fcntl(&exe, nix::fcntl::FcntlArg::F_GET_SEALS).ok()?;
    (seals & libc::F_SEAL_WRITE != 0).then_some(Sealed::Memfd)
}

fn last(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// A detached, read-only bind mount of /proc/self/exe, opened as a file.
fn read_only_bind() -> io::Result<OwnedFd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    const MOUNT_ATTR_NOSUID: u64 = 0x2;
    const MOUNT_ATTR_NODEV: u64 = 0x4;
    // SAFETY: open_tree takes a NUL-terminated path and flags; it returns a new fd.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            c"/proc/self/exe".as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(last("open_tree(/proc/self/exe, OPEN_TREE_CLONE)"));
    }
    // SAFETY: the descriptor was just made and is owned by nobody else.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd; }
    let attr: [u64; 4] = [
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        0,
        0,
        0,
    ];
    // SAFETY: mount_setattr reads `attr` (its size passed) during the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            attr.as_ptr(),
            std::mem::size_of_val(&attr),
        )
    };
    if rc < 0 {
        return Err(last("mount_setattr(MOUNT_ATTR_RDONLY)"));
    }
    Ok(tree)
}

/// A sealed memfd copy of /proc/self/exe (for kernels without mount_setattr).
fn memfd_copy() -> io::Result<OwnedFd> {
    let mut exe = std::fs::File::open("/proc/self/exe")?;
    let memfd = nix::sys::memfd::memfd_create(
        c"glassbox",
        nix::sys::memfd::MFdFlags::MFD_CLOEXEC | nix::sys::memfd::MFdFlags::MFD_ALLOW_SEALING,
    )
    .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("memfd_create: {e}")))?;
    let mut copy = std::fs::File::from(memfd);
    io::copy(&mut exe, &mut copy)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    nix::fcntl::fcntl(
        &copy,
        nix::fcntl::FcntlArg::F_ADD_SEALS(nix::fcntl::SealFlag::from_bits_truncate(seals)),
    )
    .map_err(|e| io::Error::new(io::Error::from(e).kind(), format!("F_ADD_SEALS: {e}")))?;
    Ok(OwnedFd::from(copy))
}

/// The binary to run for a child glassbox. A sealed process names its
/// own read-only view, `/proc/self/exe` (its `current_exe()` would be a
/// path inside a detached mount, which nothing can execute), so the child is
/// sealed from its first instruction; an unsealed one names its path.
pub fn self_path() -> io::Result<std::path::PathBuf> {
    if sealed().is_some() {
        return Ok(std::path::PathBuf::from("/proc/self/exe"));
    }
    std::env::current_exe()
}

/// The subcommands that start processes in containers (`cp-helper` is
/// `cp`'s own, run inside a container's filesystem); the CLI seals for these.
const STARTS_CONTAINERS: &[&str] = &[
    "run",
    "create",
    "start",
    "restart",
    "exec",
    "build",
    "cp-helper",
];

/// Whether a command line (without the program's name) may be one that
/// starts processes in containers: true when any word of it is one of those
/// subcommands. It may say yes too often (`glassbox logs run`, for a
/// container named `run`, costs one needless re-execution and changes
/// nothing else), never too seldom: whatever the words, the CLI seals again
/// after its parse for every command that needs it.
pub fn may_start_containers<I, S>(args: I) -> bool
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    args.into_iter()
        .any(|a| STARTS_CONTAINERS.iter().any(|w| a.as_ref() == *w))
}

/// Whether a command line may be a `run` without `--init`, which starts its
/// program through the exec trampoline instead of re-executing glassbox
/// (see `cli::main`): its first word that names a command is `run`, and no
/// word is `--init`. It may say yes too often (`run` as the value of
/// `--root`): the CLI seals after its parse for every command that needs it,
/// at the cost of a second parse.
pub fn may_run_through_trampoline<I, S>(args: I) -> bool
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut first_command = None;
    for a in args {
        let a = a.as_ref();
        if a == "--init" {
            return false;
        }
        if first_command.is_none() && STARTS_CONTAINERS.iter().any(|w| a == *w) {
            first_command = Some(a == "run");
        }
    }
    first_command == Some(true) && super::trampoline::code().is_some()
}

/// [`seal`], before the command line is parsed, for a root process whose
/// words [may start containers](may_start_containers): the parse (every
/// subcommand's flags) then runs once, in the re-executed process, instead of
/// once on each side of the `execveat`. Does nothing in a sealed process,
/// which leaves `GLASSBOX_SEALED_AT` for the CLI's own `seal` to read into the trace.
/// A failure is left to that second call, which reports it.
pub fn seal_early() {
    let words: Vec<OsString> = std::env::args_os().skip(1).collect();
    if !nix::unistd::geteuid().is_root()
        || !may_start_containers(&words)
        || may_run_through_trampoline(&words)
        || sealed().is_some()
    {
        return;
    }
    let _ = seal();
}

/// Set by [`seal`] for the re-executed process only: when the re-execution
/// began (CLOCK_MONOTONIC ns) and how (`bind` or `memfd`), for the trace.
const SEAL_VAR: &str = "GLASSBOX_SEALED_AT";

/// How this process came to run sealed, for the trace's `seal` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resealed {
    /// When the previous image of this process began the re-execution
    /// (CLOCK_MONOTONIC, ns).
    pub began_ns: u64,
    /// `bind` (a read-only bind mount) or `memfd` (a sealed copy).
    pub how: String,
}

/// Re-executes this process from a read-only bind mount of its own binary
/// (or a sealed memfd copy), with the same arguments and environment; returns
/// only when that is not needed (already sealed) or on failure. In the
/// re-executed process it returns when and how the re-execution began
/// (`None` where the binary was sealed already, e.g. installed read-only).
///
/// The caller must be single-threaded (it edits the environment).
pub fn seal() -> io::Result<Option<Resealed>> {
    if sealed().is_some() {
        // Named "glassbox" again (execveat from a descriptor names it "3").
        let _ = nix::sys::prctl::set_name(c"glassbox");
        let resealed = std::env::var(SEAL_VAR).ok().and_then(|v| {
            let (ns, how) = v.split_once(':')?;
            Some(Resealed {
                began_ns: ns.parse().ok()?,
                how: how.to_string(),
            })
        });
        // SAFETY: the caller is single-threaded (CLI start-up): nothing reads
        // the environment while it changes.
        unsafe { std::env::remove_var(SEAL_VAR) };
        return Ok(resealed);
    }
    let began = crate::runtime::trace::now_ns();
    let (fd, how) = match read_only_bind() {
        Ok(fd) => (fd, "bind"),
        Err(bind) => (
            memfd_copy().map_err(|memfd| {
                io::Error::other(format!(
                    "cannot run glassbox from a read-only copy of itself ({bind}; then {memfd}); \
                     glassbox needs Linux 5.12+ (mount_setattr) or memfd sealing"
                ))
            })?,
            "memfd",
        ),
    };
    let cstr = |s: OsString| CString::new(s.as_bytes()).map_err(io::Error::other);
    let argv: Vec<CString> = std::env::args_os().map(cstr).collect::<Result<_, _>>()?;
    let envp: Vec<CString> = std::env::vars_os()
        .filter(|(k, _)| k != SEAL_VAR)
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            cstr(kv)
        })
        .chain(std::iter::once(cstr(OsString::from(format!(
            "{SEAL_VAR}={began}:{how}"
        )))))
        .collect::<Result<_, _>>()?;
    let ptrs = |v: &[CString]| -> Vec<*const libc::c_char> {
        v.iter()
            .map(|c| c.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect()
    };
    let (argv_p, envp_p) = (ptrs(&argv), ptrs(&envp));
    // SAFETY: execveat with NUL-terminated arrays of pointers to CStrings that
    // outlive the call; it returns only on failure.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv_p.as_ptr(),
            envp_p.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Err(last("execveat of glassbox's read-only copy"))
}

/// `prctl(PR_SET_DUMPABLE, 0)`: from now until `execve`, /proc/PID/{exe,
/// environ,mem,fd} of this process are closed to everyone without
/// CAP_SYS_PTRACE on the host; forked children inherit it.
pub fn undumpable() -> io::Result<()> {
    nix::sys::prctl::set_dumpable(false).map_err(io::Error::from)
}

/// Where the kernel copied this process's environment strings at `execve`
/// (`[env_start, env_end)` of /proc/PID/stat), as `main` found them
/// ([`remember_environment`]); a forked child has them at the same addresses.
static ENVIRONMENT_BLOCK: std::sync::OnceLock<(usize, usize)> = std::sync::OnceLock::new();

/// Notes where the environment strings `envp` points to lie, before anything
/// changes the environment: the kernel copies them one after another, NUL
/// after each, the first at `env_start` and the last ending at `env_end`.
/// Called by `main` with its third argument; [`scrub_environment`] then
/// needs no read of /proc in the child it runs in.
///
/// # Safety
/// `envp` is the NULL-terminated array of C strings the process was started
/// with, none of them changed since.
pub unsafe fn remember_environment(envp: *const *const std::ffi::c_char) {
    // SAFETY: as the caller promises.
    if let Some(block) = unsafe { environment_block_of(envp) } {
        let _ = ENVIRONMENT_BLOCK.set(block);
    }
}

/// The start of `envp`'s first string and the end of its last, NUL
/// included; `None` for an empty environment.
///
/// # Safety
/// As [`remember_environment`].
unsafe fn environment_block_of(envp: *const *const std::ffi::c_char) -> Option<(usize, usize)> {
    if envp.is_null() {
        return None;
    }
    // SAFETY: a NULL-terminated array of valid C strings (the caller's promise).
    unsafe {
        let first = *envp;
        if first.is_null() {
            return None;
        }
        let mut last = first;
        let mut i = 1;
        while !(*envp.add(i)).is_null() {
            last = *envp.add(i);
            i += 1;
        }
        let end = last as usize + std::ffi::CStr::from_ptr(last).to_bytes_with_nul().len();
        Some((first as usize, end))
    }
}

/// Clears the environment and zeroes the memory the process's environment
/// strings were in (what /proc/PID/environ reads). For the child that joins a
/// container, which then gets config.json's environment by `execve` only.
/// The block is the one `main` noted, or (where it did not: tests) the one
/// /proc/self/stat gives.
pub fn scrub_environment() {
    // SAFETY: the caller is the single-threaded child of a fork; nothing else
    // reads the environment while it is cleared.
    unsafe { libc::clearenv() };
    let Some((start, end)) = ENVIRONMENT_BLOCK.get().copied().or_else(|| {
        crate::inspect::proc_stat::read_self_stat()
            .ok()
            .and_then(|s| s.env_block)
            .map(|(a, b)| (a as usize, b as usize))
    }) else {
        return;
    };
    if start == 0 || end <= start {
        return;
    }
    // SAFETY: [env_start, env_end) is the block the kernel copied the
    // environment strings into at execve, at the top of this process's stack:
    // mapped and writable, and no longer referenced (the environment was
    // cleared above).
    unsafe { std::ptr::write_bytes(start as *mut u8, 0, end - start) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_block_is_where_the_kernel_says() {
        // The test harness starts with the environment the kernel copied
        // (nothing has set a variable): glibc's `environ` still points at it.
        unsafe extern "C" {
            static environ: *const *const std::ffi::c_char;
        }
        let kernel = crate::inspect::proc_stat::read_self_stat()
            .unwrap()
            .env_block
            .map(|(a, b)| (a as usize, b as usize));
        // SAFETY: glibc's environment array, read while nothing changes it.
        let found = unsafe { environment_block_of(environ) };
        assert!(found.is_some());
        assert_eq!(found, kernel);
        let terminator_only = [std::ptr::null()];
        // SAFETY: an array holding only its terminator.
        let none = unsafe { environment_block_of(terminator_only.as_ptr()) };
        assert_eq!(none, None);
    }

    #[test]
    fn every_container_starting_word_asks_for_the_seal() {
        for words in [
            &["run", "--rm", "busybox", "true"][..],
            &["--root", "/tmp/r", "create", "busybox"],
            &["start", "-a", "web"],
            &["restart", "web"],
            &["exec", "-it", "web", "sh"],
            &["build", "-t", "x", "."],
            &["cp-helper", "get", "id", "/etc"],
        ] {
            assert!(may_start_containers(words), "{words:?}");
        }
    }

    #[test]
    fn other_commands_run_unsealed() {
        for words in [
            &["ps", "-a"][..],
            &["--root", "/tmp/r", "images"],
            &["inspect", "web"],
            &["logs", "-f", "web"],
            &["runner"],
            &[],
        ] {
            assert!(!may_start_containers(words), "{words:?}");
        }
    }

    #[test]
    fn only_a_plain_run_skips_the_early_seal() {
        if crate::runtime::trampoline::code().is_none() {
            return;
        }
        for words in [
            &["run", "--rm", "busybox", "true"][..],
            &["--root", "/tmp/r", "run", "-d", "busybox", "exec"],
            &["run", "busybox", "sh", "-c", "exec true"],
        ] {
            assert!(may_run_through_trampoline(words), "{words:?}");
        }
        for words in [
            &["run", "--init", "busybox", "true"][..],
            &["run", "busybox", "sh", "--init"],
            &["exec", "web", "run"],
            &["start", "run"],
            &["build", "-t", "run", "."],
            &["ps"],
        ] {
            assert!(!may_run_through_trampoline(words), "{words:?}");
        }
    }
}
