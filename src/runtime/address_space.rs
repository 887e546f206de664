//! A process's address space, and what its exit does with it.
//!
//! When a process exits, the kernel takes apart what it owns in a fixed
//! order (`do_exit`): its memory first (`exit_mm`: every page-table entry
//! of every mapping, a reference dropped on each page), then its open
//! files, and only then does it tell the parent (`exit_notify`), which is
//! when a waiting shell or script learns the exit status. glassbox's CLI
//! maps a 10 MB binary, its heap, and the pages its start touched: taking
//! them apart is some 0.1 ms between the container's exit and the prompt.
//!
//! An address space is freed when its last user lets go of it. A child
//! made with `clone(CLONE_VM)` shares its parent's instead of copying it
//! (threads are made so, and `posix_spawn`'s child): while it lives, the
//! parent's `exit` only drops a reference, and the pages are unmapped when
//! the child exits. [`hand_over`] makes such a child, `glassbox-unmap`,
//! whose whole life is to wait for the CLI's end (the last write end of a
//! pipe closes with it) and exit: the unmapping is then the child's work,
//! after the CLI's parent has the exit status. Nothing of the container
//! is in that memory; the child holds no descriptor but its pipe.
//!
//! The child runs in the CLI's memory beside it, so it touches nothing the
//! CLI uses: a stack of its own, every signal blocked (a handler would run
//! the CLI's code on the child's stack), and system calls made directly,
//! not through the C library (whose wrappers write `errno`, which is the
//! CLI's thread-local variable). glibc's own `clone` wrapper touches no
//! thread-local state in the child since 2.25 (before, it reset a cached
//! PID, the CLI's); glassbox is built against its host's glibc.

use std::os::fd::{AsRawFd, OwnedFd};

/// The child's name (`ps`, /proc/PID/comm).
const NAME: &[u8; 15] = b"glassbox-unmap\0";

/// Its stack: the few words [`wait_then_exit`] needs, with room to spare.
const STACK: usize = 16 * 1024;

/// Makes the child that holds this process's address space until this
/// process has exited ([module doc](self)). For a process that exits next
/// and forks nothing meanwhile (a fork would hold the pipe, and the child
/// would wait for that one too): a foreground `run`. Returns whether the
/// child was made; where it was not, the exit unmaps as always.
pub fn hand_over() -> bool {
    if !cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        return false;
    }
    let Ok((read_end, write_end)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) else {
        return false;
    };
    // SAFETY: a fresh anonymous mapping, checked below; it is the child's
    // stack and is never unmapped here (it goes with the address space).
    let stack = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if stack == libc::MAP_FAILED {
        return false;
    }
    // Every signal blocked across the clone: the child starts with this mask.
    let all = nix::sys::signal::SigSet::all();
    let mut before = nix::sys::signal::SigSet::empty();
    if nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&all),
        Some(&mut before),
    )
    .is_err()
    {
        // SAFETY: the mapping made above, which no child got.
        unsafe { libc::munmap(stack, STACK) };
        return false;
    }
    // SAFETY: the stack is STACK bytes, mapped above, and grows down from
    // its end; the child runs only `wait_then_exit`, which touches nothing
    // but that stack and its argument (the read end's number, passed by
    // value). No exit signal (the low byte of the flags is 0): this process
    // is not interrupted when the child ends, and whoever inherits it reaps
    // it.
    let pid = unsafe {
        libc::clone(
            wait_then_exit,
            stack.cast::<u8>().add(STACK).cast(),
            libc::CLONE_VM,
            read_end.as_raw_fd() as usize as *mut libc::c_void,
        )
    };
    let _ = nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&before),
        None,
    );
    drop(read_end);
    if pid == -1 {
        // SAFETY: the mapping made above, which no child got.
        unsafe { libc::munmap(stack, STACK) };
        return false;
    }
    // Closed by this process's exit (or an exec: it is close-on-exec).
    std::mem::forget::<OwnedFd>(write_end);
    true
}

/// The child's life: every descriptor closed but the pipe's read end
/// (`fd`), first and at the caller's priority (until then it holds copies of
/// the caller's descriptors, its pipes among them: a reader of one would
/// wait for it); then the idle scheduling class and its name (so the name
/// says it is ready); then a `read` that returns at end of file (once this
/// process, the last holder of the write end, has closed its descriptors
/// in its exit), and `exit`. The write end closes before the kernel tells
/// this process's parent, and a child woken then would take the CPU from
/// the exiting process and unmap first: at `SCHED_IDLE` it runs only where
/// nothing else wants to. If the descriptors cannot be closed (a kernel
/// before 5.9 has no `close_range`), it exits at once, and the caller's
/// exit unmaps as it always did.
extern "C" fn wait_then_exit(fd: *mut libc::c_void) -> libc::c_int {
    let fd = fd as usize;
    let mut byte = 0u8;
    // SAFETY: system calls on this child's own state: its descriptors (a
    // copy of the parent's table), its scheduling class, its name (from a
    // static), one byte on its own stack.
    unsafe {
        let below = if fd > 0 {
            raw::syscall3(libc::SYS_close_range, 0, fd - 1, 0)
        } else {
            0
        };
        let above = raw::syscall3(libc::SYS_close_range, fd + 1, u32::MAX as usize, 0);
        if below != 0 || above != 0 {
            raw::syscall3(libc::SYS_exit, 0, 0, 0);
        }
        let idle = libc::sched_param { sched_priority: 0 };
        raw::syscall3(
            libc::SYS_sched_setscheduler,
            0,
            libc::SCHED_IDLE as usize,
            (&raw const idle) as usize,
        );
        raw::syscall3(
            libc::SYS_prctl,
            libc::PR_SET_NAME as usize,
            NAME.as_ptr() as usize,
            0,
        );
        while raw::syscall3(libc::SYS_read, fd, (&raw mut byte) as usize, 1)
            == -(libc::EINTR as isize)
        {}
        raw::syscall3(libc::SYS_exit, 0, 0, 0);
    }
    0
}

/// System calls without the C library: the number and three arguments in
/// the registers the kernel reads, the result (or `-errno`) back.
mod raw {
    /// # Safety
    /// As the system call `nr` with these arguments.
    #[cfg(target_arch = "x86_64")]
    pub unsafe fn syscall3(nr: libc::c_long, a: usize, b: usize, c: usize) -> isize {
        let ret: isize;
        // SAFETY: the `syscall` instruction clobbers rcx and r11 (declared)
        // and uses no stack; the caller answers for the call itself.
        unsafe {
            core::arch::asm!(
                "syscall",
                inlateout("rax") nr as isize => ret,
                in("rdi") a,
                in("rsi") b,
                in("rdx") c,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    /// # Safety
    /// As the system call `nr` with these arguments.
    #[cfg(target_arch = "aarch64")]
    pub unsafe fn syscall3(nr: libc::c_long, a: usize, b: usize, c: usize) -> isize {
        let ret: isize;
        // SAFETY: `svc 0` takes the number in x8 and returns in x0, and
        // uses no stack; the caller answers for the call itself.
        unsafe {
            core::arch::asm!(
                "svc 0",
                in("x8") nr,
                inlateout("x0") a as isize => ret,
                in("x1") b,
                in("x2") c,
                options(nostack),
            );
        }
        ret
    }

    /// # Safety
    /// Never called: [`super::hand_over`] makes no child on this architecture.
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub unsafe fn syscall3(_: libc::c_long, _: usize, _: usize, _: usize) -> isize {
        -(libc::ENOSYS as isize)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    /// The child of `parent` named glassbox-unmap, once it holds only its pipe.
    fn holder_of(parent: u32) -> Option<(u32, usize)> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let holder = std::fs::read_dir("/proc")
                .ok()?
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .find(|p| {
                    crate::inspect::proc_stat::read_proc_stat(*p)
                        .is_ok_and(|s| s.ppid == parent && s.comm == "glassbox-unmap")
                });
            let fds =
                holder.map(|p| std::fs::read_dir(format!("/proc/{p}/fd")).map_or(0, |d| d.count()));
            if let (Some(p), Some(1)) = (holder, fds) {
                return Some((p, 1));
            }
            if Instant::now() > deadline {
                return holder.zip(fds);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The child shares the caller's memory (a word the caller writes after
    /// the clone reads the same through the child's /proc/PID/mem), is
    /// named, holds only its pipe, and ends once the caller has exited.
    /// The caller here is a forked child that plays the CLI and exits.
    #[test]
    fn the_child_holds_the_address_space_until_its_parent_exits() {
        use std::io::{Read, Write};
        use std::os::unix::fs::FileExt;
        let (mut report_r, report_w) = std::io::pipe().unwrap();
        // SAFETY: the forked child calls hand_over, writes what it saw and
        // leaves with _exit.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let word: &'static mut u64 = Box::leak(Box::new(0));
                let made = super::hand_over();
                let stamp = 0x5eed_0000_0000_0000 | u64::from(std::process::id());
                // SAFETY: a write to a live, leaked allocation of this process.
                unsafe { std::ptr::write_volatile(&raw mut *word, stamp) };
                let seen = holder_of(std::process::id()).map(|(holder, fds)| {
                    let mut bytes = [0u8; 8];
                    let read = std::fs::File::open(format!("/proc/{holder}/mem"))
                        .and_then(|m| m.read_exact_at(&mut bytes, (&raw const *word) as u64));
                    (
                        holder,
                        fds,
                        read.is_ok() && u64::from_ne_bytes(bytes) == stamp,
                    )
                });
                let (holder, fds, shared) = seen.unwrap_or((0, 0, false));
                let mut w = std::fs::File::from(std::os::fd::OwnedFd::from(report_w));
                let _ = writeln!(w, "{made} {holder} {fds} {shared}");
                // SAFETY: leave without the test harness's exit handlers.
                unsafe { libc::_exit(0) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                drop(report_w);
                let mut out = String::new();
                report_r.read_to_string(&mut out).unwrap();
                let _ = nix::sys::wait::waitpid(child, None);
                let f: Vec<&str> = out.split_whitespace().collect();
                assert_eq!(
                    f,
                    [f[0], f[1], "1", "true"],
                    "made, holder, fds, shared: {out}"
                );
                assert_eq!(f[0], "true", "{out}");
                let holder: u32 = f[1].parse().unwrap();
                // Its parent has exited: it ends too (a zombie until reaped).
                let deadline = Instant::now() + Duration::from_secs(5);
                while crate::inspect::proc_stat::read_proc_stat(holder)
                    .is_ok_and(|s| s.comm == "glassbox-unmap" && s.state != 'Z')
                {
                    assert!(
                        Instant::now() < deadline,
                        "glassbox-unmap outlived its parent"
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }
}
